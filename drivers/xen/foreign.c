// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend Xen provider: foreign mappings of frontend frames, into the
 * kernel (the ioreq pages) and into the backend's window mmaps.
 *
 * A PV backend domain maps a foreign frame by writing a page-table entry
 * with Xen's help (mmu_update naming the frame's owner); Xen takes a
 * reference on the frame for as long as the entry exists. Clearing the
 * entry - vunmap() for the kernel, the core's zap at window revocation for
 * user mappings - drops it, so a dead frontend's memory is freed as soon as
 * the session lets go.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <xen/xen-ops.h>
#include <xen/page.h>
#include <xen/interface/xen.h>
#include <asm/xen/hypercall.h>
#include <asm/xen/page.h>
#include "xen.h"

static void vbackend_xen_free_pages(struct page **pages, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (pages[i])
			__free_page(pages[i]);
	kfree(pages);
}

/* Point the kernel page-table entries of @va at foreign frames. */
static int vbackend_xen_remap_kernel(domid_t domid, void *va, xen_pfn_t *mfns,
				     unsigned int nr)
{
	struct mmu_update *mmu;
	struct mmuext_op flush = { .cmd = MMUEXT_TLB_FLUSH_ALL };
	unsigned int i, level;
	pte_t *ptep;
	int ret;

	mmu = kcalloc(nr, sizeof(*mmu), GFP_KERNEL);
	if (!mmu)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		ptep = lookup_address((unsigned long)va + i * PAGE_SIZE, &level);
		if (!ptep || level != PG_LEVEL_4K) {
			kfree(mmu);
			return -EFAULT;
		}
		/* machine frames: a translated frontend's p2m does not hold them */
		mmu[i].ptr = arbitrary_virt_to_machine(ptep).maddr |
			     MMU_PT_UPDATE_NO_TRANSLATE;
		mmu[i].val = pte_val_ma(mfn_pte(mfns[i], PAGE_KERNEL));
	}
	ret = HYPERVISOR_mmu_update(mmu, nr, NULL, domid);
	kfree(mmu);
	/* no CPU may keep the place holders' translations */
	HYPERVISOR_mmuext_op(&flush, 1, NULL, DOMID_SELF);
	return ret;
}

/**
 * vbackend_xen_map_frames() - map foreign machine frames into the kernel
 * @domid: owner of the frames
 * @mfns: the frames
 * @nr: how many
 * @pagesp: out: local pages that hold the mapping's place (free with
 *          vbackend_xen_unmap_frames())
 *
 * vmap() of @nr local pages provides the virtual range and its page tables;
 * the entries are then pointed at the foreign frames.
 *
 * Return: the mapping, or an ERR_PTR().
 */
void *vbackend_xen_map_frames(domid_t domid, xen_pfn_t *mfns,
			      unsigned int nr, struct page ***pagesp)
{
	struct page **pages;
	unsigned int i;
	void *va;
	int ret;

	pages = kcalloc(nr, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < nr; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i])
			goto nomem;
	}
	va = vmap(pages, nr, VM_MAP, PAGE_KERNEL);
	if (!va)
		goto nomem;
	ret = vbackend_xen_remap_kernel(domid, va, mfns, nr);
	if (ret) {
		vbackend_xen_unmap_frames(va, pages, nr);
		return ERR_PTR(ret);
	}
	*pagesp = pages;
	return va;

nomem:
	vbackend_xen_free_pages(pages, nr);
	return ERR_PTR(-ENOMEM);
}

/**
 * vbackend_xen_unmap_frames() - undo vbackend_xen_map_frames()
 * @va: the mapping
 * @pages: its place holders
 * @nr: how many
 */
void vbackend_xen_unmap_frames(void *va, struct page **pages, unsigned int nr)
{
	vunmap(va);
	vbackend_xen_free_pages(pages, nr);
}

/**
 * vbackend_xen_window_fault() - map one frontend page into a window mmap
 * @s: bound session
 * @vma: the window mapping (VM_IO | VM_PFNMAP)
 * @addr: faulting address
 * @gpa: frontend-physical address of the page
 *
 * Return: VM_FAULT_NOPAGE once mapped; VM_FAULT_SIGBUS when the frontend
 * has no page there (a hole) or Xen refuses.
 */
vm_fault_t vbackend_xen_window_fault(struct vbackend_session *s,
				     struct vm_area_struct *vma,
				     unsigned long addr, u64 gpa)
{
	struct vbackend_xen *x = s->prov_data;
	xen_pfn_t gfn = gpa >> XEN_PAGE_SHIFT;
	int err = 0;
	int ret;

	ret = xen_remap_domain_gfn_array(vma, addr & PAGE_MASK, &gfn, 1, &err,
					 vma->vm_page_prot, x->domid, NULL);
	return ret == 1 && !err ? VM_FAULT_NOPAGE : VM_FAULT_SIGBUS;
}
