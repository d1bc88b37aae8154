// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: hooks on eventfds, the way KVM's irqfd listens to one. An armed
 * hook's callback runs on every signal, under the eventfd's wait-queue lock
 * and in the signaller's context (KVM's ioeventfd, a write()...). Disarming
 * takes the entry off under that same lock, so once it returns no callback
 * runs or will run. The hook holds a reference on the eventfd's file, so
 * the eventfd cannot go away under it (no EPOLLHUP teardown path, unlike
 * KVM's irqfd).
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include "vbackend_internal.h"

/**
 * vbackend_evhook_get() - take the eventfd @fd for a hook, unarmed
 * @h: the hook
 * @fd: descriptor in the caller's table
 *
 * Return: 0, -EBADF, or -EINVAL when @fd is not an eventfd.
 */
int vbackend_evhook_get(struct vbackend_evhook *h, int fd)
{
	h->armed = false;
	h->file = fget(fd);
	if (!h->file)
		return -EBADF;
	h->ctx = eventfd_ctx_fileget(h->file);
	if (IS_ERR(h->ctx)) {
		fput(h->file);
		h->file = NULL;
		return -EINVAL;
	}
	return 0;
}

/**
 * vbackend_evhook_put() - disarm a hook and drop its eventfd
 * @h: a hook vbackend_evhook_get() filled
 */
void vbackend_evhook_put(struct vbackend_evhook *h)
{
	vbackend_evhook_disarm(h);
	eventfd_ctx_put(h->ctx);
	fput(h->file);
}

static void vbackend_evhook_queue(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct vbackend_evhook *h = container_of(pt, struct vbackend_evhook, pt);

	h->wqh = wqh;
	add_wait_queue(wqh, &h->wait);
}

/**
 * vbackend_evhook_arm() - start calling @func on each signal of the eventfd
 * @h: an unarmed hook
 * @func: the callback; vbackend_evhook_fired() tells it what happened
 *
 * Return: the count the eventfd held already, now consumed: the caller
 * delivers what was signalled before it listened.
 */
u64 vbackend_evhook_arm(struct vbackend_evhook *h, wait_queue_func_t func)
{
	u64 cnt = 0;

	init_waitqueue_func_entry(&h->wait, func);
	init_poll_funcptr(&h->pt, vbackend_evhook_queue);
	h->armed = true;
	if (!(vfs_poll(h->file, &h->pt) & EPOLLIN))
		return 0;
	spin_lock_irq(&h->wqh->lock);
	eventfd_ctx_do_read(h->ctx, &cnt);
	spin_unlock_irq(&h->wqh->lock);
	return cnt;
}

/**
 * vbackend_evhook_disarm() - no callback runs once this returns
 * @h: the hook, armed or not
 */
void vbackend_evhook_disarm(struct vbackend_evhook *h)
{
	u64 cnt;

	if (!h->armed)
		return;
	eventfd_ctx_remove_wait_queue(h->ctx, &h->wait, &cnt);
	h->armed = false;
}

/**
 * vbackend_evhook_fired() - in the callback: was the eventfd signalled?
 * @wait: the callback's wait-queue entry
 * @key: the callback's key
 *
 * Consumes the count (under the wait-queue lock the callback runs with).
 *
 * Return: the hook when it was signalled, NULL for other wakeups.
 */
struct vbackend_evhook *vbackend_evhook_fired(wait_queue_entry_t *wait,
					      void *key)
{
	struct vbackend_evhook *h = container_of(wait, struct vbackend_evhook, wait);
	u64 cnt;

	if (!(key_to_poll(key) & EPOLLIN))
		return NULL;
	eventfd_ctx_do_read(h->ctx, &cnt);
	return h;
}
