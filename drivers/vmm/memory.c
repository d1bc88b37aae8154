// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend VMM-fed provider: guest memory registered as memfd ranges.
 *
 * A page is looked up and referenced the first time a backend window
 * faults on it, and released when the frontend dies, after every window of
 * its backend has been revoked. Holding the reference keeps the pfn valid
 * whatever the VMM does to its memfd meanwhile: there is no notifier for
 * shmem truncation, so a window mapping pfns without a reference would
 * keep mapping pages the memfd freed.
 *
 * Truncation would therefore leave the backend on pages the VMM no longer
 * sees, so only memfds sealed with F_SEAL_SHRINK are taken (-EBADFD): a
 * registered range never goes past EOF. A hole punched in a registered
 * range (balloon, free page reporting, virtio-mem) frees the VMM's copy
 * only: a page a window already faulted stays held and is what the backend
 * keeps seeing until the frontend dies; a page no window faulted yet is
 * looked up when one does. See Documentation/userspace-api/vbackend.rst.
 *
 * A writable region counts as a writable shared mapping of its memfd
 * (mapping_map_writable()), as a MAP_SHARED PROT_WRITE mmap() would: while
 * it exists, F_SEAL_WRITE fails with -EBUSY. Writable windows check the
 * memfd's seals each time one is made or mmap()ed, so F_SEAL_FUTURE_WRITE
 * stops new ones (-EPERM) and leaves those already mapped, as for a memfd.
 */
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <uapi/linux/fcntl.h>
#include "vmm.h"

/**
 * vbackend_vmm_mem_init() - an empty memory map
 * @m: map
 */
void vbackend_vmm_mem_init(struct vbackend_vmm_memmap *m)
{
	mutex_init(&m->lock);
	m->nr = 0;
}

/*
 * Regions never overlap (vbackend_vmm_mem_add() refuses it), so the window
 * check and the fault always find the same region for a gpa.
 */
static struct vbackend_vmm_region *
vbackend_vmm_region_find(struct vbackend_vmm_memmap *m, u64 gpa)
{
	/* pairs with the smp_store_release() in vbackend_vmm_mem_add() */
	unsigned int i, nr = smp_load_acquire(&m->nr);

	for (i = 0; i < nr; i++) {
		struct vbackend_vmm_region *r = m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

static int vbackend_vmm_mem_parse(const struct vbackend_vmm_memory *um)
{
	u64 end;

	if ((um->flags & ~VBACKEND_VMM_MEM_F_READONLY) || um->reserved)
		return -EINVAL;
	if (!um->size || !PAGE_ALIGNED(um->gpa) || !PAGE_ALIGNED(um->size) ||
	    !PAGE_ALIGNED(um->offset))
		return -EINVAL;
	if (check_add_overflow(um->gpa, um->size - 1, &end) ||
	    check_add_overflow(um->offset, um->size, &end))
		return -EOVERFLOW;
	/* the file's page indices must fit a pgoff_t (32-bit kernels) */
	if (end >> PAGE_SHIFT != (pgoff_t)(end >> PAGE_SHIFT))
		return -EOVERFLOW;
	return 0;
}

/* Is the memfd sealed against writes (now, or future ones)? */
static bool vbackend_vmm_write_sealed(struct file *file)
{
	return READ_ONCE(SHMEM_I(file_inode(file))->seals) &
	       (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);
}

static int vbackend_vmm_file_check(struct file *file, bool readonly, u64 end)
{
	struct inode *inode = file_inode(file);

	if (inode->i_sb->s_magic != TMPFS_MAGIC || !S_ISREG(inode->i_mode))
		return -EINVAL;
	/* the seal cannot be removed: the range stays inside the file */
	if (!(READ_ONCE(SHMEM_I(inode)->seals) & F_SEAL_SHRINK))
		return -EBADFD;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if (!readonly) {
		if (!(file->f_mode & FMODE_WRITE))
			return -EACCES;
		/* a write-sealed memfd stays sealed through us too */
		if (vbackend_vmm_write_sealed(file))
			return -EPERM;
	}
	if (end > i_size_read(inode))
		return -EINVAL;
	return 0;
}

/*
 * Inclusive last addresses: a region may end exactly at 2^64, where
 * gpa + size wraps to 0.
 */
static bool vbackend_vmm_overlaps(struct vbackend_vmm_memmap *m, u64 gpa,
				  u64 size)
{
	u64 last = gpa + size - 1;
	unsigned int i;

	lockdep_assert_held(&m->lock);
	for (i = 0; i < m->nr; i++) {
		const struct vbackend_vmm_region *r = m->regions[i];

		if (gpa <= r->gpa + r->size - 1 && r->gpa <= last)
			return true;
	}
	return false;
}

/**
 * vbackend_vmm_mem_add() - VBACKEND_VMM_ADD_MEMORY
 * @m: map
 * @um: the user's request
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
int vbackend_vmm_mem_add(struct vbackend_vmm_memmap *m,
			 const struct vbackend_vmm_memory *um)
{
	bool readonly = um->flags & VBACKEND_VMM_MEM_F_READONLY;
	struct vbackend_vmm_region *r;
	struct file *file;
	int ret;

	ret = vbackend_vmm_mem_parse(um);
	if (ret)
		return ret;
	file = fget(um->fd);
	if (!file)
		return -EBADF;
	ret = vbackend_vmm_file_check(file, readonly, um->offset + um->size);
	if (ret)
		goto out_put;
	/* F_SEAL_WRITE may have come after the check: it wins, or waits for us */
	if (!readonly && mapping_map_writable(file->f_mapping)) {
		ret = -EPERM;
		goto out_put;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		ret = -ENOMEM;
		goto out_writable;
	}
	r->gpa = um->gpa;
	r->size = um->size;
	r->pgoff = um->offset >> PAGE_SHIFT;
	r->readonly = readonly;
	r->file = file;
	xa_init(&r->pages);

	mutex_lock(&m->lock);
	if (m->nr >= VBACKEND_VMM_MAX_REGIONS)
		ret = -ENOSPC;
	else if (vbackend_vmm_overlaps(m, um->gpa, um->size))
		ret = -EEXIST;
	if (ret) {
		mutex_unlock(&m->lock);
		kfree(r);
		goto out_writable;
	}
	m->regions[m->nr] = r;
	/* lock-free readers must see the region before the count */
	smp_store_release(&m->nr, m->nr + 1);
	mutex_unlock(&m->lock);
	atomic_long_inc(&vbackend_stats.regions);
	return 0;

out_writable:
	if (!readonly)
		mapping_unmap_writable(file->f_mapping);
out_put:
	fput(file);
	return ret;
}

/**
 * vbackend_vmm_mem_check() - may a backend map [gpa, gpa + size)?
 * @m: map
 * @gpa: start
 * @size: bytes, not wrapping
 * @flags: VBACKEND_WINDOW_F_*
 *
 * Return: 0; -ENXIO when part of it is not guest memory; -EACCES for a
 * writable window over read-only memory; -EPERM for a writable window over
 * a memfd sealed with F_SEAL_FUTURE_WRITE since it was registered.
 */
int vbackend_vmm_mem_check(struct vbackend_vmm_memmap *m, u64 gpa, u64 size,
			   u32 flags)
{
	u64 cur = gpa, last = gpa + size - 1;

	for (;;) {
		struct vbackend_vmm_region *r = vbackend_vmm_region_find(m, cur);
		u64 r_last;

		if (!r)
			return -ENXIO;
		if (r->readonly && (flags & VBACKEND_WINDOW_F_WRITE))
			return -EACCES;
		if ((flags & VBACKEND_WINDOW_F_WRITE) &&
		    vbackend_vmm_write_sealed(r->file))
			return -EPERM;
		r_last = r->gpa + r->size - 1;
		if (r_last >= last)
			return 0;
		cur = r_last + 1;
	}
}

/**
 * vbackend_vmm_mem_region() - describe the @index-th region
 * @m: map
 * @index: 0-based, in registration order
 * @out: gpa, size and flags filled in
 *
 * Return: 0 or -ENOENT past the last region.
 */
int vbackend_vmm_mem_region(struct vbackend_vmm_memmap *m, u32 index,
			    struct vbackend_mem_region *out)
{
	struct vbackend_vmm_region *r;

	/* pairs with the smp_store_release() in vbackend_vmm_mem_add() */
	if (index >= smp_load_acquire(&m->nr))
		return -ENOENT;
	r = m->regions[index];
	out->gpa = r->gpa;
	out->size = r->size;
	out->flags = r->readonly ? VBACKEND_MEM_F_READONLY : 0;
	return 0;
}

/**
 * vbackend_vmm_mem_pfn() - the pfn of the guest page at @gpa
 * @m: map
 * @gpa: guest-physical address
 * @pfn: result; valid until vbackend_vmm_mem_free()
 *
 * Return: 0, -ENXIO outside guest memory, or the error of the page lookup.
 */
int vbackend_vmm_mem_pfn(struct vbackend_vmm_memmap *m, u64 gpa,
			 unsigned long *pfn)
{
	struct vbackend_vmm_region *r = vbackend_vmm_region_find(m, gpa);
	struct address_space *mapping;
	struct page *page, *old;
	pgoff_t idx;

	if (!r)
		return -ENXIO;
	idx = (gpa - r->gpa) >> PAGE_SHIFT;
	page = xa_load(&r->pages, idx);
	if (!page) {
		mapping = r->file->f_mapping;
		page = shmem_read_mapping_page_gfp(mapping, r->pgoff + idx,
						   mapping_gfp_mask(mapping));
		if (IS_ERR(page))
			return PTR_ERR(page);
		old = xa_cmpxchg(&r->pages, idx, NULL, page, GFP_KERNEL);
		if (xa_is_err(old)) {
			put_page(page);
			return xa_err(old);
		}
		if (old) {
			put_page(page);
			page = old;
		} else {
			atomic_long_inc(&vbackend_stats.pages);
		}
	}
	*pfn = page_to_pfn(page);
	return 0;
}

/**
 * vbackend_vmm_mem_free() - release all guest memory of a dead frontend
 * @m: map; no window may map any of it anymore
 */
void vbackend_vmm_mem_free(struct vbackend_vmm_memmap *m)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		struct vbackend_vmm_region *r = m->regions[i];
		struct page *page;
		unsigned long idx;

		xa_for_each(&r->pages, idx, page) {
			/* the backend may have written it through a pfn mapping */
			if (!r->readonly)
				set_page_dirty_lock(page);
			put_page(page);
			atomic_long_dec(&vbackend_stats.pages);
		}
		xa_destroy(&r->pages);
		if (!r->readonly)
			mapping_unmap_writable(r->file->f_mapping);
		fput(r->file);
		kfree(r);
		atomic_long_dec(&vbackend_stats.regions);
	}
	m->nr = 0;
	mutex_destroy(&m->lock);
}
