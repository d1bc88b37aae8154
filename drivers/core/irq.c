// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: interrupt eventfds. Writing one raises an interrupt in the
 * frontend through the session's provider.
 *
 * While armed, our entry on the eventfd's wait queue consumes each signal
 * and calls the provider, under the eventfd's wait-queue lock (atomic
 * context). Disarming removes the entry under that same lock, so once it
 * returns no callback runs or will run. The session holds a reference on the
 * eventfd's file, so the eventfd cannot go away under us (no EPOLLHUP
 * teardown path, unlike KVM's irqfd).
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/slab.h>
#include "vbackend_internal.h"

static int vbackend_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
				 int sync, void *key)
{
	struct vbackend_irqfd *irq = container_of(wait, struct vbackend_irqfd, wait);
	u64 cnt;

	if (key_to_poll(key) & EPOLLIN) {
		eventfd_ctx_do_read(irq->ctx, &cnt);
		irq->s->prov->irq_raise(irq->s, irq);
	}
	return 0;
}

static void vbackend_irqfd_queue(struct file *file, wait_queue_head_t *wqh,
				 poll_table *pt)
{
	struct vbackend_irqfd *irq = container_of(pt, struct vbackend_irqfd, pt);

	irq->wqh = wqh;
	add_wait_queue(wqh, &irq->wait);
}

static void vbackend_irqfd_arm(struct vbackend_irqfd *irq)
{
	u64 cnt = 0;

	lockdep_assert_held(&irq->s->lock);
	init_waitqueue_func_entry(&irq->wait, vbackend_irqfd_wakeup);
	init_poll_funcptr(&irq->pt, vbackend_irqfd_queue);
	irq->armed = true;
	if (!(vfs_poll(irq->file, &irq->pt) & EPOLLIN))
		return;
	/* signalled before we listened: deliver it now */
	spin_lock_irq(&irq->wqh->lock);
	eventfd_ctx_do_read(irq->ctx, &cnt);
	spin_unlock_irq(&irq->wqh->lock);
	if (cnt)
		irq->s->prov->irq_raise(irq->s, irq);
}

static void vbackend_irqfd_disarm(struct vbackend_irqfd *irq)
{
	u64 cnt;

	lockdep_assert_held(&irq->s->lock);
	if (!irq->armed)
		return;
	eventfd_ctx_remove_wait_queue(irq->ctx, &irq->wait, &cnt);
	irq->armed = false;
}

static int vbackend_irq_parse(struct vbackend_session *s,
			      const struct vbackend_irq *ui,
			      struct vbackend_irqfd *irq)
{
	if (ui->flags || !vbackend_is_zero(ui->reserved, sizeof(ui->reserved)))
		return -EINVAL;
	if (ui->type < VBACKEND_IRQ_TARGET_LINE || ui->type > VBACKEND_IRQ_TARGET_VECTOR)
		return -EINVAL;
	irq->s = s;
	irq->type = ui->type;
	irq->target[0] = ui->target[0];
	irq->target[1] = ui->target[1];
	INIT_LIST_HEAD(&irq->evnode.link);
	irq->evnode.type = VBACKEND_EVENT_IRQ;
	irq->file = fget(ui->fd);
	if (!irq->file)
		return -EBADF;
	irq->ctx = eventfd_ctx_fileget(irq->file);
	if (IS_ERR(irq->ctx)) {
		fput(irq->file);
		return -EINVAL;
	}
	return 0;
}

static bool vbackend_irq_exists(struct vbackend_session *s,
				struct eventfd_ctx *ctx)
{
	struct vbackend_irqfd *irq;
	unsigned long idx;

	lockdep_assert_held(&s->lock);
	xa_for_each(&s->irqs, idx, irq)
		if (irq->ctx == ctx)
			return true;
	return false;
}

static int vbackend_irq_insert(struct vbackend_session *s,
			       struct vbackend_irqfd *irq)
{
	int ret;

	lockdep_assert_held(&s->lock);
	if (!(s->prov->irq_targets & BIT(irq->type)))
		return -EOPNOTSUPP;
	if (vbackend_irq_exists(s, irq->ctx))
		return -EEXIST;
	ret = xa_alloc(&s->irqs, &irq->id, irq,
		       XA_LIMIT(1, vbackend_limits.max_irqs), GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret == -EBUSY ? -ENOSPC : ret;
	ret = s->prov->irq_attach ? s->prov->irq_attach(s, irq) : 0;
	if (ret)
		xa_erase(&s->irqs, irq->id);
	return ret;
}

static void vbackend_irq_remove(struct vbackend_session *s,
				struct vbackend_irqfd *irq);

/**
 * vbackend_irq_add() - VBACKEND_IRQ_ADD
 * @s: session
 * @uarg: &struct vbackend_irq
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
long vbackend_irq_add(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_irqfd *irq;
	struct vbackend_irq ui;
	int ret;

	ret = VBACKEND_ARGS_IN(ui, uarg);
	if (ret)
		return ret;
	irq = kzalloc(sizeof(*irq), GFP_KERNEL_ACCOUNT);
	if (!irq)
		return -ENOMEM;
	ret = vbackend_irq_parse(s, &ui, irq);
	if (ret) {
		kfree(irq);
		return ret;
	}

	ret = vbackend_session_backend_lock(s);
	if (ret)
		goto out_put;
	ret = vbackend_irq_insert(s, irq);
	if (ret) {
		mutex_unlock(&s->lock);
		goto out_put;
	}
	atomic_long_inc(&vbackend_stats.irqs);
	vbackend_irqfd_arm(irq);
	ui.id = irq->id;
	vbackend_session_notifiers_changed(s);
	mutex_unlock(&s->lock);
	ret = VBACKEND_ARGS_OUT(uarg, ui);
	/* the caller cannot know the id: take it back, as IRQ_DEL */
	if (ret && !vbackend_session_backend_lock(s)) {
		if (xa_load(&s->irqs, ui.id) == irq) {
			vbackend_irq_remove(s, irq);
			vbackend_session_notifiers_changed(s);
		}
		mutex_unlock(&s->lock);
	}
	return ret;

out_put:
	eventfd_ctx_put(irq->ctx);
	fput(irq->file);
	kfree(irq);
	return ret;
}

static void vbackend_irq_remove(struct vbackend_session *s,
				struct vbackend_irqfd *irq)
{
	lockdep_assert_held(&s->lock);
	xa_erase(&s->irqs, irq->id);
	vbackend_irqfd_disarm(irq);
	if (s->prov->irq_detach)
		s->prov->irq_detach(s, irq);
	eventfd_ctx_put(irq->ctx);
	fput(irq->file);
	kfree(irq);
	atomic_long_dec(&vbackend_stats.irqs);
}

/**
 * vbackend_irq_del() - VBACKEND_IRQ_DEL
 * @s: session
 * @uarg: &struct vbackend_id
 *
 * Return: 0 or -ENOENT for an unknown id.
 */
long vbackend_irq_del(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_irqfd *irq;
	u32 id;
	int ret;

	ret = vbackend_session_id_lock(s, uarg, &id);
	if (ret)
		return ret;
	irq = xa_load(&s->irqs, id);
	if (irq) {
		vbackend_irq_remove(s, irq);
		vbackend_session_notifiers_changed(s);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_irq_export() - describe the first interrupt with an id >= @cursor
 * @s: backend session
 * @cursor: lowest id wanted
 * @direct: report it as VBACKEND_IRQ_F_DIRECT, as vbackend_irq_direct()
 *          will make it; nothing changes here
 * @out: filled with the interrupt's registration, id included
 * @file: a new reference on the interrupt's eventfd file
 *
 * Return: 0 or -ENOENT past the last interrupt.
 */
int vbackend_irq_export(struct vbackend_session *s, u32 cursor, bool direct,
			struct vbackend_irq *out, struct file **file)
{
	struct vbackend_irqfd *irq;
	unsigned long idx = cursor;

	mutex_lock(&s->lock);
	irq = xa_find(&s->irqs, &idx, U32_MAX, XA_PRESENT);
	if (irq) {
		out->flags = irq->armed && !direct ? 0 : VBACKEND_IRQ_F_DIRECT;
		out->type = irq->type;
		out->target[0] = irq->target[0];
		out->target[1] = irq->target[1];
		out->id = irq->id;
		*file = get_file(irq->file);
	}
	mutex_unlock(&s->lock);
	return irq ? 0 : -ENOENT;
}

/**
 * vbackend_irq_direct() - stop consuming an interrupt's eventfd in the
 * kernel: its new owner (a VMM's KVM_IRQFD) does from now on
 * @s: backend session
 * @id: the interrupt vbackend_irq_export() described
 * @file: the eventfd file it returned; nothing happens unless interrupt
 *        @id still has it (it may have been deleted, its id reused)
 *
 * Cannot fail, so a caller does it once nothing else can.
 */
void vbackend_irq_direct(struct vbackend_session *s, u32 id, struct file *file)
{
	struct vbackend_irqfd *irq;

	mutex_lock(&s->lock);
	irq = xa_load(&s->irqs, id);
	if (irq && irq->file == file)
		vbackend_irqfd_disarm(irq);
	mutex_unlock(&s->lock);
}

/**
 * vbackend_irqs_free() - drop every interrupt of a closing session
 * @s: session
 */
void vbackend_irqs_free(struct vbackend_session *s)
{
	struct vbackend_irqfd *irq;
	unsigned long idx;

	mutex_lock(&s->lock);
	xa_for_each(&s->irqs, idx, irq)
		vbackend_irq_remove(s, irq);
	mutex_unlock(&s->lock);
}
