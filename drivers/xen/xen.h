/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbackend Xen provider: a backend session bound to one frontend domain
 * through an IOREQ server (traps and kicks), interdomain event channels and
 * device-model ops (interrupts) and foreign mappings (windows).
 */
#ifndef VBACKEND_XEN_H
#define VBACKEND_XEN_H

#include <linux/types.h>
#include <linux/workqueue.h>
#include <xen/xenbus.h>
#include "../core/vbackend_internal.h"
#include "xen_abi.h"

struct vbackend_xen;

/**
 * struct vbackend_xen_vcpu - one frontend vCPU's ioreq slot and channel
 * @xen: owner
 * @slot: the vCPU's slot in the mapped ioreq page(s)
 * @port: our end of the vCPU's event channel
 * @irq: Linux irq bound (late EOI) to @port, or 0
 * @bits: flags of the request being served, as we copied them
 * @req: the access forwarded to the backend; at most one per vCPU, since
 *       Xen sends the next ioreq only after our response
 * @name: irq name, "vbackend-d<domid>v<vcpu>" (sized for any two u32s)
 */
struct vbackend_xen_vcpu {
	struct vbackend_xen *xen;
	struct vbx_ioreq *slot;
	evtchn_port_t port;
	int irq;
	u8 bits;
	struct vbackend_trap_req req;
	char name[32];
};

/**
 * struct vbackend_xen - provider state of one bound backend session
 * @s: the session
 * @domid: the frontend domain; the only one this session may touch
 * @ioservid: our IOREQ server in @domid
 * @server: @ioservid exists and must be destroyed
 * @nr_vcpus: entries of @vcpus
 * @vcpus: per-vCPU state
 * @nr_pages: ioreq pages mapped at @ioreq_va
 * @ioreq_va: kernel mapping of the ioreq pages (foreign frames)
 * @ioreq_pages: local pages whose vmap() slots carry that mapping
 * @max_gfn: highest frontend frame at bind time (the memory region)
 * @watch: @releaseDomain watch, to notice the frontend's death
 * @gone_work: checks, in process context, whether the frontend died
 * @gone: the frontend is gone; set once
 */
struct vbackend_xen {
	struct vbackend_session *s;
	domid_t domid;
	u16 ioservid;
	bool server;
	unsigned int nr_vcpus;
	struct vbackend_xen_vcpu *vcpus;
	unsigned int nr_pages;
	void *ioreq_va;
	struct page **ioreq_pages;
	u64 max_gfn;
	struct xenbus_watch watch;
	struct work_struct gone_work;
	bool gone;
};

/* dmop.c */
int vbackend_xen_dm_op(domid_t domid, struct vbx_dm_op *op, size_t size);
#define VBX_DM_OP(domid, op, member) \
	vbackend_xen_dm_op((domid), (op), \
			   offsetof(struct vbx_dm_op, u) + sizeof((op)->u.member))

/* ioreq.c */
int vbackend_xen_ioreq_start(struct vbackend_xen *x);
void vbackend_xen_ioreq_stop(struct vbackend_xen *x);
int vbackend_xen_range_claim(struct vbackend_session *s, u8 space, u64 start,
			     u64 last);
void vbackend_xen_range_release(struct vbackend_session *s, u8 space,
				u64 start, u64 last);

/* foreign.c */
void *vbackend_xen_map_frames(domid_t domid, xen_pfn_t *mfns,
			      unsigned int nr, struct page ***pagesp);
void vbackend_xen_unmap_frames(void *va, struct page **pages,
			       unsigned int nr);
vm_fault_t vbackend_xen_window_fault(struct vbackend_session *s,
				     struct vm_area_struct *vma,
				     unsigned long addr, u64 gpa);

/* irq.c */
int vbackend_xen_irq_attach(struct vbackend_session *s,
			    struct vbackend_irqfd *irq);
void vbackend_xen_irq_raise(struct vbackend_session *s,
			    struct vbackend_irqfd *irq);
void vbackend_xen_irq_detach(struct vbackend_session *s,
			     struct vbackend_irqfd *irq);

#endif /* VBACKEND_XEN_H */
