// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: copying ioctl arguments and checking the values every ioctl
 * shares (argsz, reserved fields, address ranges).
 */
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/overflow.h>
#include "vbackend_internal.h"

/*
 * The uapi layout is frozen: these sizes hold on every architecture (no
 * implicit padding, 64-bit fields 8-aligned), so i386 and x86_64 share
 * one ioctl encoding and compat_ptr_ioctl() suffices.
 */
static_assert(sizeof(struct vbackend_info) == 72);
static_assert(sizeof(struct vbackend_provider_info) == 48);
static_assert(sizeof(struct vbackend_bind) == 32);
static_assert(sizeof(struct vbackend_window) == 40);
static_assert(sizeof(struct vbackend_id) == 16);
static_assert(sizeof(struct vbackend_mem_region) == 32);
static_assert(sizeof(struct vbackend_trap) == 32);
static_assert(sizeof(struct vbackend_kick) == 40);
static_assert(sizeof(struct vbackend_irq) == 48);
static_assert(sizeof(struct vbackend_access) == 32);
static_assert(sizeof(struct vbackend_event) == 64);
static_assert(sizeof(struct vbackend_completion) == 24);
static_assert(sizeof(struct vbackend_vmm_ctl) == 16);
static_assert(sizeof(struct vbackend_vmm_memory) == 40);
static_assert(sizeof(struct vbackend_vmm_access) == 48);

/**
 * vbackend_args_in() - fetch an ioctl argument that starts with argsz
 * @karg: kernel copy
 * @ksize: size of the kernel's structure
 * @uarg: user pointer
 *
 * Every v1 structure is its own minimum size. A caller that knows a larger
 * structure may pass it if the bytes past @ksize are zero.
 *
 * Return: 0, -EFAULT, -EINVAL (argsz too small) or -E2BIG (argsz above a
 * page, or non-zero bytes past @ksize).
 */
int vbackend_args_in(void *karg, size_t ksize, const void __user *uarg)
{
	u32 argsz;

	if (get_user(argsz, (const u32 __user *)uarg))
		return -EFAULT;
	if (argsz < ksize)
		return -EINVAL;
	if (argsz > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, argsz);
}

/**
 * vbackend_args_out() - write an ioctl argument back
 * @uarg: user pointer
 * @karg: kernel copy, whose argsz is the caller's
 * @ksize: size of the kernel's structure
 *
 * Return: 0 or -EFAULT.
 */
int vbackend_args_out(void __user *uarg, const void *karg, size_t ksize)
{
	return copy_to_user(uarg, karg, ksize) ? -EFAULT : 0;
}

/**
 * vbackend_is_zero() - are @n bytes at @p all zero (reserved fields)?
 * @p: start
 * @n: length
 *
 * Return: true when they are.
 */
bool vbackend_is_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

/**
 * vbackend_access_check() - validate an address range in a space
 * @space: VBACKEND_SPACE_*
 * @addr: first address
 * @len: length in bytes, non-zero
 *
 * Return: 0, -EINVAL (empty, unknown space, port I/O past 0x10000) or
 * -EOVERFLOW (the range wraps).
 */
int vbackend_access_check(u8 space, u64 addr, u64 len)
{
	u64 end;

	if (!len || space > VBACKEND_SPACE_VMM)
		return -EINVAL;
	if (check_add_overflow(addr, len - 1, &end))
		return -EOVERFLOW;
	if (space == VBACKEND_SPACE_PIO && end > 0xffff)
		return -EINVAL;
	return 0;
}

/**
 * vbackend_space_of() - the space the VBACKEND_F_PIO and VBACKEND_F_VMM_SPACE
 * bits of @flags name
 * @flags: a trap's or an access's flags
 * @space: out: VBACKEND_SPACE_*
 *
 * Return: 0, or -EINVAL when both are set.
 */
int vbackend_space_of(u32 flags, u8 *space)
{
	if ((flags & VBACKEND_F_PIO) && (flags & VBACKEND_F_VMM_SPACE))
		return -EINVAL;
	*space = flags & VBACKEND_F_PIO ? VBACKEND_SPACE_PIO :
		 flags & VBACKEND_F_VMM_SPACE ? VBACKEND_SPACE_VMM :
		 VBACKEND_SPACE_MMIO;
	return 0;
}
