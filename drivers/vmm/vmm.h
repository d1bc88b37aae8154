/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbackend VMM-fed frontend and provider: a userspace VMM (or test
 * frontend) drives a frontend through a session of its own (frontend.c);
 * backends bind to it through the "vmm" provider (provider.c).
 */
#ifndef VBACKEND_VMM_H
#define VBACKEND_VMM_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include "../core/vbackend_internal.h"

#define VBACKEND_VMM_MAX_REGIONS	64

/**
 * struct vbackend_vmm_region - guest RAM backed by a shmem file
 * @gpa: guest-physical start
 * @size: bytes
 * @pgoff: page offset in @file
 * @readonly: backends may only map it for reading
 * @file: the memfd (a reference)
 * @pages: page index -> referenced page, filled on first fault
 */
struct vbackend_vmm_region {
	u64 gpa;
	u64 size;
	pgoff_t pgoff;
	bool readonly;
	struct file *file;
	struct xarray pages;
};

/**
 * struct vbackend_vmm_memmap - the guest memory of one frontend
 * @lock: serialises additions; readers use @nr without it
 * @nr: regions in @regions, published with release semantics
 * @regions: append-only until the frontend dies
 */
struct vbackend_vmm_memmap {
	struct mutex lock;		/* see @lock above */
	unsigned int nr;
	struct vbackend_vmm_region *regions[VBACKEND_VMM_MAX_REGIONS];
};

/**
 * struct vbackend_vmm_frontend - one VMM-fed frontend
 * @ref: the VMM session and the bound backend session hold one each
 * @lock: protects @vmm and @backend; taken in irqfd wakeups (irqsave)
 * @vmm: the VMM's session, NULL once it closed
 * @backend: the backend bound to it, NULL when none
 * @mem: guest memory
 * @flags: VBACKEND_VMM_F_* it was created with
 */
struct vbackend_vmm_frontend {
	struct kref ref;
	u32 flags;
	spinlock_t lock;		/* see @lock above */
	struct vbackend_session *vmm;
	struct vbackend_session *backend;
	struct vbackend_vmm_memmap mem;
};

void vbackend_vmm_frontend_put(struct vbackend_vmm_frontend *fe);

void vbackend_vmm_mem_init(struct vbackend_vmm_memmap *m);
int vbackend_vmm_mem_add(struct vbackend_vmm_memmap *m,
			 const struct vbackend_vmm_memory *um);
int vbackend_vmm_mem_check(struct vbackend_vmm_memmap *m, u64 gpa, u64 size,
			   u32 flags);
int vbackend_vmm_mem_region(struct vbackend_vmm_memmap *m, u32 index,
			    struct vbackend_mem_region *out);
int vbackend_vmm_mem_pfn(struct vbackend_vmm_memmap *m, u64 gpa,
			 unsigned long *pfn);
void vbackend_vmm_mem_free(struct vbackend_vmm_memmap *m);

#endif /* VBACKEND_VMM_H */
