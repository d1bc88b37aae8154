// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: memory windows, mmap-able views of frontend memory.
 *
 * Pages are inserted on fault, as raw pfns the provider vouches for until
 * the window is revoked. Revoking marks the window under revoke_sem, so no
 * fault inserts a page after it, then zaps every mapping through the
 * session's private address space; later faults raise SIGBUS.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/overflow.h>
#include "compat.h"
#include "vbackend_internal.h"

/**
 * struct vbackend_win - one window
 * @ref: the session's table holds one, each VMA one
 * @s: owning session; VMAs pin its file, so it outlives them
 * @id: id in &vbackend_session.windows
 * @flags: VBACKEND_WINDOW_F_*
 * @gpa: frontend-physical start
 * @size: bytes
 * @pgoff: mmap offset in pages
 * @revoked: no page may be inserted anymore; under &vbackend_session.revoke_sem
 */
struct vbackend_win {
	struct kref ref;
	struct vbackend_session *s;
	u32 id;
	u32 flags;
	u64 gpa;
	u64 size;
	unsigned long pgoff;
	bool revoked;
};

static void vbackend_window_free(struct kref *ref)
{
	kfree(container_of(ref, struct vbackend_win, ref));
	atomic_long_dec(&vbackend_stats.windows);
}

static void vbackend_window_put(struct vbackend_win *w)
{
	kref_put(&w->ref, vbackend_window_free);
}

static void vbackend_vma_open(struct vm_area_struct *vma)
{
	struct vbackend_win *w = vma->vm_private_data;

	kref_get(&w->ref);
}

static void vbackend_vma_close(struct vm_area_struct *vma)
{
	vbackend_window_put(vma->vm_private_data);
}

static vm_fault_t vbackend_vma_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vbackend_win *w = vma->vm_private_data;
	struct vbackend_session *s = w->s;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	u64 off;

	if (vmf->pgoff < w->pgoff)
		return VM_FAULT_SIGBUS;
	off = (u64)(vmf->pgoff - w->pgoff) << PAGE_SHIFT;
	if (off >= w->size)
		return VM_FAULT_SIGBUS;

	down_read(&s->revoke_sem);
	if (!w->revoked)
		ret = s->prov->window_fault(s, vma, vmf->address, w->gpa + off);
	up_read(&s->revoke_sem);
	return ret;
}

/* Moving a window mapping is fine; splitting one takes a reference (open). */
static const struct vm_operations_struct vbackend_vm_ops = {
	.open = vbackend_vma_open,
	.close = vbackend_vma_close,
	.fault = vbackend_vma_fault,
};

static int vbackend_window_parse(const struct vbackend_window *uw)
{
	u64 end;

	if ((uw->flags & ~(VBACKEND_WINDOW_F_READ | VBACKEND_WINDOW_F_WRITE)) ||
	    !(uw->flags & VBACKEND_WINDOW_F_READ) || uw->reserved)
		return -EINVAL;
	if (!uw->size || !PAGE_ALIGNED(uw->gpa) || !PAGE_ALIGNED(uw->size))
		return -EINVAL;
	if (check_add_overflow(uw->gpa, uw->size - 1, &end))
		return -EOVERFLOW;
	/* the page count must fit in an unsigned long (32-bit kernels) */
	if (uw->size >> PAGE_SHIFT != (unsigned long)(uw->size >> PAGE_SHIFT))
		return -EOVERFLOW;
	return 0;
}

static void vbackend_window_revoke(struct vbackend_session *s,
				   struct vbackend_win *w);

/**
 * vbackend_window_map() - VBACKEND_WINDOW_MAP
 * @s: session
 * @uarg: &struct vbackend_window
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
long vbackend_window_map(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_window uw;
	struct vbackend_win *w;
	unsigned long npages, end;
	int ret;

	ret = VBACKEND_ARGS_IN(uw, uarg);
	if (ret)
		return ret;
	ret = vbackend_window_parse(&uw);
	if (ret)
		return ret;
	npages = uw.size >> PAGE_SHIFT;

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return -ENOMEM;
	kref_init(&w->ref);
	w->s = s;
	w->flags = uw.flags;
	w->gpa = uw.gpa;
	w->size = uw.size;

	ret = vbackend_session_backend_lock(s);
	if (ret)
		goto out_free;
	if (!(s->prov->caps & VBACKEND_PROVIDER_CAP_WINDOWS)) {
		ret = -EOPNOTSUPP;
		goto out_unlock;
	}
	/* offsets are never reused within a session */
	if (check_add_overflow(s->next_pgoff, npages, &end) ||
	    end > (ULONG_MAX >> 1) || (u64)end << PAGE_SHIFT > (U64_MAX >> 1)) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	ret = s->prov->window_check(s, uw.gpa, uw.size, uw.flags);
	if (ret)
		goto out_unlock;
	ret = xa_alloc(&s->windows, &w->id, w,
		       XA_LIMIT(1, vbackend_limits.max_windows), GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY)
		ret = -ENOSPC;
	if (ret)
		goto out_unlock;
	w->pgoff = s->next_pgoff;
	s->next_pgoff = end;
	atomic_long_inc(&vbackend_stats.windows);
	/* once unlocked, a WINDOW_UNMAP of a guessed id may free @w */
	uw.offset = (u64)w->pgoff << PAGE_SHIFT;
	uw.id = w->id;
	mutex_unlock(&s->lock);

	ret = VBACKEND_ARGS_OUT(uarg, uw);
	/* the caller cannot know the id: take it back, as WINDOW_UNMAP */
	if (ret && !vbackend_session_backend_lock(s)) {
		if (xa_load(&s->windows, uw.id) == w) {
			xa_erase(&s->windows, uw.id);
			vbackend_window_revoke(s, w);
			vbackend_window_put(w);
		}
		mutex_unlock(&s->lock);
	}
	return ret;

out_unlock:
	mutex_unlock(&s->lock);
out_free:
	kfree(w);
	return ret;
}

static void vbackend_window_revoke(struct vbackend_session *s,
				   struct vbackend_win *w)
{
	lockdep_assert_held(&s->lock);
	down_write(&s->revoke_sem);
	w->revoked = true;
	up_write(&s->revoke_sem);
	unmap_mapping_range(s->inode->i_mapping, (loff_t)w->pgoff << PAGE_SHIFT,
			    w->size, 1);
}

/**
 * vbackend_window_unmap() - VBACKEND_WINDOW_UNMAP
 * @s: session
 * @uarg: &struct vbackend_id
 *
 * Return: 0 or -ENOENT for an unknown id.
 */
long vbackend_window_unmap(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_win *w;
	u32 id;
	int ret;

	ret = vbackend_session_id_lock(s, uarg, &id);
	if (ret)
		return ret;
	w = xa_erase(&s->windows, id);
	if (w) {
		vbackend_window_revoke(s, w);
		vbackend_window_put(w);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_mem_region() - VBACKEND_MEM_REGION
 * @s: session
 * @uarg: &struct vbackend_mem_region
 *
 * Return: 0, -ENOENT past the last region, -EOPNOTSUPP when the provider
 * cannot enumerate, or a session state error.
 */
long vbackend_mem_region(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_mem_region mr;
	int ret;

	ret = VBACKEND_ARGS_IN(mr, uarg);
	if (ret)
		return ret;
	if (mr.flags || mr.reserved)
		return -EINVAL;
	ret = vbackend_session_backend_lock(s);
	if (ret)
		return ret;
	if (s->prov->mem_region)
		ret = s->prov->mem_region(s, mr.index, &mr);
	else
		ret = -EOPNOTSUPP;
	mutex_unlock(&s->lock);
	return ret ?: VBACKEND_ARGS_OUT(uarg, mr);
}

static struct vbackend_win *vbackend_window_find(struct vbackend_session *s,
						 unsigned long pgoff,
						 unsigned long npages)
{
	struct vbackend_win *w;
	unsigned long idx;

	lockdep_assert_held(&s->lock);
	xa_for_each(&s->windows, idx, w) {
		unsigned long wpages = w->size >> PAGE_SHIFT;

		/* [pgoff, pgoff + npages) inside the window, without wrapping */
		if (pgoff >= w->pgoff && pgoff - w->pgoff < wpages &&
		    npages <= wpages - (pgoff - w->pgoff))
			return w;
	}
	return NULL;
}

/*
 * A writable window whose memory became write-sealed since it was made maps
 * for reading only, as a sealed memfd does: -EPERM for PROT_WRITE, and no
 * mprotect() to it later.
 */
static int vbackend_window_mmap_write(struct vbackend_session *s,
				      struct vbackend_win *w,
				      struct vm_area_struct *vma)
{
	int ret;

	lockdep_assert_held(&s->lock);
	if (!(vma->vm_flags & VM_MAYWRITE) || !s->prov->window_may_write)
		return 0;
	ret = s->prov->window_may_write(s, w->gpa, w->size);
	if (ret && (vma->vm_flags & VM_WRITE))
		return ret;
	if (ret)
		vm_flags_clear(vma, VM_MAYWRITE);
	return 0;
}

/**
 * vbackend_window_mmap() - mmap() on a session: map part of one window
 * @s: session
 * @vma: the new mapping
 *
 * Return: 0; -EINVAL unless MAP_SHARED and inside one live window; -EPERM
 * for PROT_EXEC; -EACCES for PROT_WRITE on a read-only window; the provider's errno (-EPERM: the
 * memory became write-sealed) for PROT_WRITE on a writable one.
 */
int vbackend_window_mmap(struct vbackend_session *s, struct vm_area_struct *vma)
{
	struct vbackend_win *w;
	int ret = 0;

	/* VM_MAYSHARE: an O_RDONLY session's MAP_SHARED loses VM_SHARED */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* guest memory is data: never executable, not even later */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);

	mutex_lock(&s->lock);
	w = vbackend_window_find(s, vma->vm_pgoff, vma_pages(vma));
	if (!w || w->revoked) {
		ret = -EINVAL;
	} else if (!(w->flags & VBACKEND_WINDOW_F_WRITE)) {
		if (vma->vm_flags & VM_WRITE)
			ret = -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	} else {
		ret = vbackend_window_mmap_write(s, w, vma);
	}
	if (!ret) {
		/* no fork inheritance, no growth, no core dumps of guest memory */
		vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND |
			     VM_DONTDUMP | VM_DONTCOPY);
		vma->vm_ops = &vbackend_vm_ops;
		vma->vm_private_data = w;
		kref_get(&w->ref);
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_windows_revoke_all() - revoke every window (the frontend is gone)
 * @s: session, locked
 */
void vbackend_windows_revoke_all(struct vbackend_session *s)
{
	struct vbackend_win *w;
	unsigned long idx;

	lockdep_assert_held(&s->lock);
	down_write(&s->revoke_sem);
	xa_for_each(&s->windows, idx, w)
		w->revoked = true;
	up_write(&s->revoke_sem);
	unmap_mapping_range(s->inode->i_mapping, 0, 0, 1);
}

/**
 * vbackend_windows_free() - drop the table's windows of a closing session
 * @s: session; no VMA maps it anymore
 */
void vbackend_windows_free(struct vbackend_session *s)
{
	struct vbackend_win *w;
	unsigned long idx;

	mutex_lock(&s->lock);
	xa_for_each(&s->windows, idx, w) {
		xa_erase(&s->windows, idx);
		vbackend_window_put(w);
	}
	mutex_unlock(&s->lock);
}
