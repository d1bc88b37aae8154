// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: notifier files, the descriptors KICK_ADD and IRQ_ADD issue
 * with VBACKEND_{KICK,IRQ}_F_NOTIFIER.
 *
 * A kick notifier is an eventfd to its reader: an 8-byte counter that
 * read() drains, write() adds to and poll() reports. What an eventfd cannot
 * do is be signalled from inside another eventfd's wake-up (Linux refuses a
 * nested eventfd_signal()), which is exactly where a VMM's eventfd, fed by
 * KVM_IOEVENTFD, calls us: a notifier is woken directly there instead.
 *
 * An interrupt notifier raises its interrupt at each write(), at once and
 * in the writer's context, into the eventfd the VMM attached (KVM_IRQFD
 * injects an MSI there and then) or through the provider. Raising happens
 * under @raise_lock, so that unlinking the interrupt or swapping its sink
 * waits for a raise in flight; a kick notifier never takes that lock, so
 * the two kinds cannot make a lock cycle through the eventfds they meet.
 */
#include <linux/anon_inodes.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "compat.h"
#include "vbackend_internal.h"

/**
 * struct vbackend_notifier - what a notifier file is
 * @wqh: readers and pollers; its lock protects @count
 * @count: signals not read yet (kick notifiers)
 * @raise_lock: protects @irq and its &vbackend_irqfd.sink; held while
 *              raising (interrupt notifiers)
 * @irq: the interrupt a write raises; NULL once it is deleted
 * @is_irq: an interrupt notifier
 */
struct vbackend_notifier {
	wait_queue_head_t wqh;
	u64 count;
	spinlock_t raise_lock;		/* see @raise_lock above */
	struct vbackend_irqfd *irq;
	bool is_irq;
};

static const struct file_operations vbackend_notifier_fops;

static struct vbackend_notifier *vbackend_notifier_of(struct file *file)
{
	return file->private_data;
}

/**
 * vbackend_is_kick_notifier() - is @file a kick notifier?
 * @file: any file
 *
 * Return: true for a file vbackend_notifier_new(false) made.
 */
bool vbackend_is_kick_notifier(struct file *file)
{
	return file->f_op == &vbackend_notifier_fops &&
	       !vbackend_notifier_of(file)->is_irq;
}

/**
 * vbackend_notifier_signal() - add one to a kick notifier and wake it
 * @file: the notifier
 *
 * Any context, including an eventfd's wake-up callback.
 */
void vbackend_notifier_signal(struct file *file)
{
	struct vbackend_notifier *n = vbackend_notifier_of(file);
	unsigned long flags;

	spin_lock_irqsave(&n->wqh.lock, flags);
	if (n->count < ULLONG_MAX - 1)
		n->count++;
	wake_up_locked_poll(&n->wqh, EPOLLIN);
	spin_unlock_irqrestore(&n->wqh.lock, flags);
}

/**
 * vbackend_notifier_link() - set what an interrupt notifier raises
 * @file: the notifier
 * @irq: the interrupt, or NULL to unlink it
 *
 * Once it returns, no raise of the previous interrupt is in flight.
 */
void vbackend_notifier_link(struct file *file, struct vbackend_irqfd *irq)
{
	struct vbackend_notifier *n = vbackend_notifier_of(file);

	spin_lock(&n->raise_lock);
	n->irq = irq;
	spin_unlock(&n->raise_lock);
}

/**
 * vbackend_notifier_swap_sink() - route an interrupt into another eventfd
 * @file: the interrupt's notifier
 * @irq: the interrupt, linked to @file
 * @sink: the eventfd raising goes to, or NULL for the provider
 *
 * A new @sink is signalled once, under the lock raising takes: an
 * interrupt raised into the old one while the VMM swapped is duplicated,
 * never lost.
 *
 * Return: the previous sink, for the caller to put.
 */
struct eventfd_ctx *vbackend_notifier_swap_sink(struct file *file,
						struct vbackend_irqfd *irq,
						struct eventfd_ctx *sink)
{
	struct vbackend_notifier *n = vbackend_notifier_of(file);
	struct eventfd_ctx *old;

	spin_lock(&n->raise_lock);
	old = irq->sink;
	irq->sink = sink;
	if (sink)
		vbackend_eventfd_signal(sink);
	spin_unlock(&n->raise_lock);
	return old;
}

static ssize_t vbackend_notifier_read(struct file *file, char __user *buf,
				      size_t len, loff_t *ppos)
{
	struct vbackend_notifier *n = vbackend_notifier_of(file);
	ssize_t ret;
	u64 cnt;

	if (n->is_irq || len < sizeof(cnt))
		return -EINVAL;
	spin_lock_irq(&n->wqh.lock);
	if (!n->count && (file->f_flags & O_NONBLOCK))
		ret = -EAGAIN;
	else
		ret = wait_event_interruptible_locked_irq(n->wqh, n->count);
	cnt = n->count;
	if (!ret)
		n->count = 0;
	spin_unlock_irq(&n->wqh.lock);
	if (ret)
		return ret;
	if (copy_to_user(buf, &cnt, sizeof(cnt)))
		return -EFAULT;
	return sizeof(cnt);
}

static ssize_t vbackend_notifier_raise(struct vbackend_notifier *n)
{
	struct vbackend_irqfd *irq;

	spin_lock(&n->raise_lock);
	irq = n->irq;
	if (irq && irq->sink)
		vbackend_eventfd_signal(irq->sink);
	else if (irq)
		irq->s->prov->irq_raise(irq->s, irq);
	spin_unlock(&n->raise_lock);
	return irq ? sizeof(u64) : -EPIPE;
}

static ssize_t vbackend_notifier_write(struct file *file,
				       const char __user *buf, size_t len,
				       loff_t *ppos)
{
	struct vbackend_notifier *n = vbackend_notifier_of(file);
	ssize_t ret = sizeof(u64);
	u64 cnt;

	if (len < sizeof(cnt))
		return -EINVAL;
	if (copy_from_user(&cnt, buf, sizeof(cnt)))
		return -EFAULT;
	if (cnt == ULLONG_MAX)
		return -EINVAL;
	if (!cnt)
		return ret;
	if (n->is_irq)
		return vbackend_notifier_raise(n);

	spin_lock_irq(&n->wqh.lock);
	if (ULLONG_MAX - n->count > cnt) {
		n->count += cnt;
		wake_up_locked_poll(&n->wqh, EPOLLIN);
	} else {
		ret = -EAGAIN;
	}
	spin_unlock_irq(&n->wqh.lock);
	return ret;
}

static __poll_t vbackend_notifier_poll(struct file *file, poll_table *wait)
{
	struct vbackend_notifier *n = vbackend_notifier_of(file);

	if (n->is_irq)
		return EPOLLOUT | EPOLLWRNORM;
	poll_wait(file, &n->wqh, wait);
	/* pairs with the wait-queue lock the signaller holds */
	return (READ_ONCE(n->count) ? EPOLLIN | EPOLLRDNORM : 0) |
	       EPOLLOUT | EPOLLWRNORM;
}

static int vbackend_notifier_release(struct inode *inode, struct file *file)
{
	kfree(vbackend_notifier_of(file));
	return 0;
}

static const struct file_operations vbackend_notifier_fops = {
	.owner = THIS_MODULE,
	.read = vbackend_notifier_read,
	.write = vbackend_notifier_write,
	.poll = vbackend_notifier_poll,
	.release = vbackend_notifier_release,
	.llseek = noop_llseek,
};

/**
 * vbackend_notifier_new() - a notifier file, not installed in any table
 * @is_irq: an interrupt notifier (link it with vbackend_notifier_link())
 *
 * Return: the file (one reference) or an ERR_PTR().
 */
struct file *vbackend_notifier_new(bool is_irq)
{
	struct vbackend_notifier *n;
	struct file *file;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return ERR_PTR(-ENOMEM);
	init_waitqueue_head(&n->wqh);
	spin_lock_init(&n->raise_lock);
	n->is_irq = is_irq;
	file = anon_inode_getfile(is_irq ? "[vbackend-irq]" : "[vbackend-kick]",
				  &vbackend_notifier_fops, n, O_RDWR);
	if (IS_ERR(file))
		kfree(n);
	return file;
}

/**
 * vbackend_notifier_hand_out() - finish an ADD that issued a notifier
 * @file: a reference on the notifier, taken under the session lock; NULL
 *        when the ADD issued none (nothing happens then)
 * @fd: the descriptor reserved for it (get_unused_fd_flags())
 * @err: the result of writing the argument back
 *
 * Installs @file at @fd when @err is 0; otherwise releases both, and the
 * caller takes the kick or interrupt back.
 *
 * Return: @err.
 */
int vbackend_notifier_hand_out(struct file *file, int fd, int err)
{
	if (!file)
		return err;
	if (err) {
		put_unused_fd(fd);
		fput(file);
	} else {
		fd_install(fd, file);
	}
	return err;
}
