// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-vhost-user: the front-end's memory table.
 *
 * vhost-user gives ring addresses as user addresses of the front-end's
 * process; the backend knows guest-physical ones. A region maps
 * [uaddr, uaddr + size) to [gpa, gpa + size), and a ring is translated
 * only when it lies in one region whole. All arithmetic is overflow safe:
 * the table comes from another process.
 */
#include <stdio.h>
#include <inttypes.h>
#include "vhost_user.h"

#define PAGE_MASK_4K	0xfffULL

/* [a, a + n) with n > 0 fits in 64 bits. */
static bool range_ok(uint64_t a, uint64_t n)
{
	return n && a + n - 1 >= a;
}

static bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a <= b + bn - 1 && b <= a + an - 1;
}

int vu_memtable_check(const struct vu_memory *mem, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct vu_region *r = &mem->regions[i];

		if (!range_ok(r->gpa, r->size) || !range_ok(r->uaddr, r->size) ||
		    !range_ok(r->mmap_offset, r->size)) {
			snprintf(err, errlen,
				 "memory region %u: size 0x%" PRIx64 " at gpa 0x%" PRIx64
				 " is empty or wraps", i, r->size, r->gpa);
			return -1;
		}
		if ((r->gpa | r->size | r->mmap_offset) & PAGE_MASK_4K) {
			snprintf(err, errlen,
				 "memory region %u: gpa 0x%" PRIx64 ", size 0x%" PRIx64
				 " or offset 0x%" PRIx64 " not page aligned",
				 i, r->gpa, r->size, r->mmap_offset);
			return -1;
		}
		for (uint32_t j = 0; j < i; j++) {
			const struct vu_region *o = &mem->regions[j];

			if (overlap(r->gpa, r->size, o->gpa, o->size) ||
			    overlap(r->uaddr, r->size, o->uaddr, o->size)) {
				snprintf(err, errlen, "memory regions %u and %u overlap",
					 j, i);
				return -1;
			}
		}
	}
	return 0;
}

bool vu_memtable_to_gpa(const struct vu_memtable *t, uint64_t uaddr,
			uint64_t len, uint64_t *gpa)
{
	if (!range_ok(uaddr, len))
		return false;
	for (unsigned int i = 0; i < t->nr; i++) {
		const struct vu_region *r = &t->r[i];

		/* uaddr >= r->uaddr first, so that the subtraction is safe */
		if (uaddr >= r->uaddr && uaddr - r->uaddr < r->size &&
		    len <= r->size - (uaddr - r->uaddr)) {
			*gpa = r->gpa + (uaddr - r->uaddr);
			return true;
		}
	}
	return false;
}

bool vu_memtable_has(const struct vu_memtable *t, const struct vu_region *r,
		     uint64_t dev, uint64_t ino)
{
	for (unsigned int i = 0; i < t->nr; i++) {
		const struct vu_region *o = &t->r[i];

		if (o->gpa == r->gpa && o->size == r->size &&
		    o->mmap_offset == r->mmap_offset && t->dev[i] == dev &&
		    t->ino[i] == ino)
			return true;
	}
	return false;
}
