/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbackend Xen provider: the parts of Xen's public device-model ABI
 * (xen/include/public/hvm/dm_op.h and hvm/ioreq.h, both stable interfaces)
 * that Linux 6.1 does not carry. Names are prefixed so that a kernel which
 * grows its own copies does not clash with ours.
 */
#ifndef VBACKEND_XEN_ABI_H
#define VBACKEND_XEN_ABI_H

#include <linux/build_bug.h>
#include <linux/types.h>

#define VBX_DMOP_create_ioreq_server		1
#define VBX_DMOP_map_io_range_to_ioreq_server	3
#define VBX_DMOP_unmap_io_range_from_ioreq_server 4
#define VBX_DMOP_set_ioreq_server_state		5
#define VBX_DMOP_destroy_ioreq_server		6
#define VBX_DMOP_set_isa_irq_level		9
#define VBX_DMOP_inject_msi			14
#define VBX_DMOP_set_irq_level			19
#define VBX_DMOP_nr_vcpus			20

#define VBX_DMOP_IO_RANGE_PORT		0
#define VBX_DMOP_IO_RANGE_MEMORY	1

/* XENMEM_maximum_gpfn: the highest frame a domain has used (memory.h) */
#define VBX_XENMEM_maximum_gpfn		14

/* ioreq pages are reached through XENMEM_acquire_resource frames 1, 2... */
#define VBX_RESOURCE_IOREQ_FRAME(n)	(1 + (n))

/**
 * struct vbx_dm_op - one XEN_DMOP_* request; Xen reads only the bytes the
 * op needs, so only the ops we issue are spelled out
 * @op: VBX_DMOP_*
 * @pad: zero
 * @u: per-op arguments
 */
struct vbx_dm_op {
	u32 op;
	u32 pad;
	union {
		struct {
			u8 handle_bufioreq;
			u8 pad[3];
			u16 id;			/* out */
		} create;
		struct {
			u16 id;
			u16 pad;
			u32 type;		/* VBX_DMOP_IO_RANGE_* */
			u64 start;		/* inclusive */
			u64 end;		/* inclusive */
		} range;
		struct {
			u16 id;
			u8 enabled;
			u8 pad;
		} state;
		struct {
			u16 id;
			u16 pad;
		} destroy;
		struct {
			u8 isa_irq;
			u8 level;
		} isa_irq;
		struct {
			u32 irq;
			u8 level;
			u8 pad[3];
		} irq;
		struct {
			u32 data;
			u32 pad;
			u64 addr;
		} msi;
		struct {
			u32 vcpus;		/* out */
		} nr_vcpus;
	} u;
};

#define VBX_IOREQ_TYPE_PIO		0
#define VBX_IOREQ_TYPE_COPY		1	/* MMIO */
#define VBX_IOREQ_TYPE_INVALIDATE	8	/* mapcache flush broadcast */

#define VBX_STATE_IOREQ_NONE		0
#define VBX_STATE_IOREQ_READY		1
#define VBX_STATE_IOREQ_INPROCESS	2
#define VBX_STATE_IORESP_READY		3

/* &vbx_ioreq.bits: Xen's state:4, data_is_ptr:1, dir:1, df:1 bitfields */
#define VBX_IOREQ_STATE_MASK		0x0f
#define VBX_IOREQ_DATA_IS_PTR		0x10
#define VBX_IOREQ_DIR_READ		0x20

/**
 * struct vbx_ioreq - one vCPU's slot of the shared ioreq page
 * @addr: guest-physical address or port
 * @data: data, or with DATA_IS_PTR a guest address (refused)
 * @count: repetitions (rep prefixes)
 * @size: bytes per repetition
 * @vp_eport: the vCPU's event channel port in the emulator's domain view
 * @pad0: unused
 * @bits: state, data_is_ptr, dir, df
 * @type: VBX_IOREQ_TYPE_*
 */
struct vbx_ioreq {
	u64 addr;
	u64 data;
	u32 count;
	u32 size;
	u32 vp_eport;
	u16 pad0;
	u8 bits;
	u8 type;
};

static_assert(sizeof(struct vbx_ioreq) == 32);
static_assert(offsetof(struct vbx_dm_op, u) == 8);
static_assert(sizeof(((struct vbx_dm_op *)0)->u.range) == 24);

#endif /* VBACKEND_XEN_ABI_H */
