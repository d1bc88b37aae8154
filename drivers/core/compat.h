/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbackend: the kernel interfaces that changed between the kernels vbackend
 * builds for (Debian 12's 6.1 and 6.12 lines), each shim named by the
 * version that changed it. Every other file uses the newest spelling.
 *
 * Kbuild tells which spelling the kernel has by looking at its headers
 * (VBACKEND_HAVE_*), not at its version number, so that a stable kernel
 * that backported a change is handled too.
 */
#ifndef VBACKEND_COMPAT_H
#define VBACKEND_COMPAT_H

#include <linux/eventfd.h>
#include <linux/mm.h>

#ifndef VBACKEND_HAVE_VM_FLAGS_SET
/* 6.3 made vm_area_struct.vm_flags read-only behind these two helpers. */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/**
 * vbackend_eventfd_signal() - add one to an eventfd's counter
 * @ctx: the eventfd
 *
 * 6.8 dropped eventfd_signal()'s count argument: it always adds one now.
 */
static inline void vbackend_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef VBACKEND_HAVE_EVENTFD_SIGNAL_COUNT
	eventfd_signal(ctx, 1);
#else
	eventfd_signal(ctx);
#endif
}

#endif /* VBACKEND_COMPAT_H */
