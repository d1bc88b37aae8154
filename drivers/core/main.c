// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: the misc device, module parameters and the provider table.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include "vbackend_internal.h"

#define VBACKEND_FS_MAGIC	0x7662656e	/* "vben" */

struct vbackend_limits vbackend_limits = {
	.max_windows = 64,
	.max_traps = 64,
	.max_kicks = 256,
	.max_irqs = 256,
	.max_pending = 1024,
};

module_param_named(max_windows, vbackend_limits.max_windows, uint, 0444);
MODULE_PARM_DESC(max_windows, "Memory windows per session (default 64)");
module_param_named(max_traps, vbackend_limits.max_traps, uint, 0444);
MODULE_PARM_DESC(max_traps, "Trap ranges per session (default 64)");
module_param_named(max_kicks, vbackend_limits.max_kicks, uint, 0444);
MODULE_PARM_DESC(max_kicks, "Kicks per session (default 256)");
module_param_named(max_irqs, vbackend_limits.max_irqs, uint, 0444);
MODULE_PARM_DESC(max_irqs, "Interrupts per session (default 256)");
module_param_named(max_pending, vbackend_limits.max_pending, uint, 0444);
MODULE_PARM_DESC(max_pending, "Accesses queued or in flight per session (default 1024)");

static const struct vbackend_provider *const vbackend_providers[] = {
	&vbackend_vmm_provider,
#ifdef VBACKEND_XEN
	&vbackend_xen_provider,
#endif
};

/**
 * vbackend_provider_by_id() - find a provider built into this module
 * @id: VBACKEND_PROVIDER_*
 *
 * Return: the provider, or NULL when it is not present.
 */
const struct vbackend_provider *vbackend_provider_by_id(u32 id)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vbackend_providers); i++)
		if (vbackend_providers[i]->id == id)
			return vbackend_providers[i];
	return NULL;
}

/**
 * vbackend_provider_by_name() - find a provider by its target prefix
 * @name: prefix, e.g. "vmm"
 *
 * Return: the provider, or NULL when no provider has that name.
 */
const struct vbackend_provider *vbackend_provider_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vbackend_providers); i++)
		if (!strcmp(vbackend_providers[i]->name, name))
			return vbackend_providers[i];
	return NULL;
}

/**
 * vbackend_provider_mask() - the providers present
 *
 * Return: bit (1 << id) for each provider.
 */
u32 vbackend_provider_mask(void)
{
	unsigned int i;
	u32 mask = 0;

	for (i = 0; i < ARRAY_SIZE(vbackend_providers); i++)
		mask |= BIT(vbackend_providers[i]->id);
	return mask;
}

static const struct vbackend_frontend_ops *const vbackend_frontends[] = {
	&vbackend_vmm_frontend_ops,
};

/**
 * vbackend_frontend_ioctl() - a command the core does not own: the one that
 * makes a session a frontend, or a frontend's own
 * @s: session
 * @nr: the command's number, _IOC_NR() (see vbackend_ioctl())
 * @uarg: its argument
 *
 * Return: the frontend's answer, or -ENOTTY when the command is not one
 * of the frontend @s is (if any).
 */
long vbackend_frontend_ioctl(struct vbackend_session *s, unsigned int nr,
			     void __user *uarg)
{
	const struct vbackend_frontend_ops *ops;
	unsigned int i;
	long ret;

	for (i = 0; i < ARRAY_SIZE(vbackend_frontends); i++) {
		ops = vbackend_frontends[i];
		/* on any session: a bound one gets -EISCONN */
		if (nr == ops->create_nr)
			return ops->create(s, uarg);
		if (vbackend_session_frontend(s, ops)) {
			ret = ops->ioctl(s, nr, uarg);
			return ret == -ENOIOCTLCMD ? -ENOTTY : ret;
		}
	}
	return -ENOTTY;
}

static struct vfsmount *vbackend_mnt;

static int vbackend_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VBACKEND_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: the only mount is the module's own, made at load and dropped at
 * unload, and a mount pins its filesystem's owner, which would make the
 * module impossible to remove. Open files pin the module through fops.
 */
static struct file_system_type vbackend_fs_type = {
	.name = "vbackend",
	.init_fs_context = vbackend_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * vbackend_alloc_inode() - a private inode for one session's mmaps
 *
 * Each session maps its windows through the address space of its own inode,
 * so that revoking them zaps that session's mappings and nobody else's.
 *
 * Return: the inode or an ERR_PTR.
 */
struct inode *vbackend_alloc_inode(void)
{
	return alloc_anon_inode(vbackend_mnt->mnt_sb);
}

/*
 * EPOLLOUT on a backend session: writing completions never blocks (it
 * succeeds or fails at once), so io_uring and epoll writers do not wait.
 */
static __poll_t vbackend_poll(struct file *file, poll_table *wait)
{
	struct vbackend_session *s = file->private_data;
	__poll_t mask = vbackend_evq_poll(&s->evq, file, wait);

	if (READ_ONCE(s->role) == VBACKEND_ROLE_BACKEND)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static bool vbackend_nowait(struct kiocb *iocb)
{
	return (iocb->ki_filp->f_flags & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT);
}

static ssize_t vbackend_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct vbackend_session *s = iocb->ki_filp->private_data;

	if (READ_ONCE(s->role) == VBACKEND_ROLE_UNBOUND)
		return -ENOTCONN;
	return vbackend_evq_read(&s->evq, to, vbackend_nowait(iocb));
}

static ssize_t vbackend_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vbackend_session *s = iocb->ki_filp->private_data;

	switch (READ_ONCE(s->role)) {
	case VBACKEND_ROLE_UNBOUND:
		return -ENOTCONN;
	case VBACKEND_ROLE_FRONTEND:
		return -EINVAL;	/* nothing to complete on the frontend side */
	default:
		return vbackend_evq_write(&s->evq, from);
	}
}

static int vbackend_mmap(struct file *file, struct vm_area_struct *vma)
{
	return vbackend_window_mmap(file->private_data, vma);
}

const struct file_operations vbackend_fops = {
	.owner = THIS_MODULE,
	.open = vbackend_session_open,
	.release = vbackend_session_release,
	.read_iter = vbackend_read_iter,
	.write_iter = vbackend_write_iter,
	.poll = vbackend_poll,
	.mmap = vbackend_mmap,
	.unlocked_ioctl = vbackend_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vbackend_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vbackend",
	.fops = &vbackend_fops,
	.mode = 0600,
};

/**
 * vbackend_provider_valid() - does @p have every op it must have?
 * @p: provider
 *
 * Return: true when it does (see &struct vbackend_provider).
 */
static bool vbackend_provider_valid(const struct vbackend_provider *p)
{
	bool windows = p->caps & VBACKEND_PROVIDER_CAP_WINDOWS;

	return p->bind && p->unbind &&
	       (!windows || (p->window_check && p->window_fault)) &&
	       (!p->range_claim || p->range_release) &&
	       (!p->irq_targets || p->irq_raise);
}

/* Every frontend op is mandatory. */
static bool vbackend_frontend_valid(const struct vbackend_frontend_ops *f)
{
	return f->prov && f->create && f->ioctl && f->release;
}

static int __init vbackend_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vbackend_providers); i++)
		if (WARN(!vbackend_provider_valid(vbackend_providers[i]),
			 "vbackend: provider %s lacks a mandatory op\n",
			 vbackend_providers[i]->name))
			return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(vbackend_frontends); i++)
		if (WARN(!vbackend_frontend_valid(vbackend_frontends[i]),
			 "vbackend: frontend %s lacks a mandatory op\n",
			 vbackend_frontends[i]->prov->name))
			return -EINVAL;
	vbackend_mnt = kern_mount(&vbackend_fs_type);
	if (IS_ERR(vbackend_mnt))
		return PTR_ERR(vbackend_mnt);
	vbackend_stats_init();
	ret = misc_register(&vbackend_misc);
	if (ret) {
		vbackend_stats_exit();
		kern_unmount(vbackend_mnt);
	}
	return ret;
}

static void __exit vbackend_exit(void)
{
	misc_deregister(&vbackend_misc);
	/* kicks are freed through RCU callbacks that live in this module */
	rcu_barrier();
	vbackend_stats_exit();
	kern_unmount(vbackend_mnt);
}

module_init(vbackend_init);
module_exit(vbackend_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("One ioctl ABI for virtio backends on Xen, ivshmem and KVM");
MODULE_AUTHOR("vbackend developers");
