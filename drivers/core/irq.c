// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: interrupts. Writing the eventfd (or notifier) of one raises an
 * interrupt in the frontend through the session's provider.
 *
 * An eventfd is consumed by a hook on its wait queue (evhook.c) while
 * armed, which calls the provider under the eventfd's wait-queue lock
 * (atomic context). A notifier (notifier.c) raises from its write(), into
 * the sink the frontend's VMM attached if there is one.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/slab.h>
#include "vbackend_internal.h"

static int vbackend_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
				 int sync, void *key)
{
	struct vbackend_evhook *h = vbackend_evhook_fired(wait, key);
	struct vbackend_irqfd *irq;

	if (h) {
		irq = container_of(h, struct vbackend_irqfd, src);
		irq->s->prov->irq_raise(irq->s, irq);
	}
	return 0;
}

static void vbackend_irqfd_arm(struct vbackend_irqfd *irq)
{
	lockdep_assert_held(&irq->s->lock);
	if (irq->notifier)
		vbackend_notifier_link(irq->notifier, irq);
	/* signalled before we listened: deliver it now */
	else if (vbackend_evhook_arm(&irq->src, vbackend_irqfd_wakeup))
		irq->s->prov->irq_raise(irq->s, irq);
}

static void vbackend_irqfd_disarm(struct vbackend_irqfd *irq)
{
	lockdep_assert_held(&irq->s->lock);
	if (irq->notifier)
		vbackend_notifier_link(irq->notifier, NULL);
	else
		vbackend_evhook_disarm(&irq->src);
}

/* What vbackend_irq_parse() took, and the sink the VMM attached. */
static void vbackend_irqfd_put(struct vbackend_irqfd *irq)
{
	if (irq->sink)
		eventfd_ctx_put(irq->sink);
	if (irq->notifier)
		fput(irq->notifier);
	else
		vbackend_evhook_put(&irq->src);
}

static int vbackend_irq_parse(struct vbackend_session *s,
			      const struct vbackend_irq *ui,
			      struct vbackend_irqfd *irq)
{
	if ((ui->flags & ~VBACKEND_IRQ_F_NOTIFIER) ||
	    !vbackend_is_zero(ui->reserved, sizeof(ui->reserved)))
		return -EINVAL;
	if (ui->type < VBACKEND_IRQ_TARGET_LINE || ui->type > VBACKEND_IRQ_TARGET_QUEUE)
		return -EINVAL;
	irq->s = s;
	irq->type = ui->type;
	irq->target[0] = ui->target[0];
	irq->target[1] = ui->target[1];
	INIT_LIST_HEAD(&irq->evnode.link);
	irq->evnode.type = VBACKEND_EVENT_IRQ;
	if (!(ui->flags & VBACKEND_IRQ_F_NOTIFIER))
		return vbackend_evhook_get(&irq->src, ui->fd);
	if (ui->fd != -1)
		return -EINVAL;
	irq->notifier = vbackend_notifier_new(true);
	if (IS_ERR(irq->notifier)) {
		irq->notifier = NULL;
		return -ENOMEM;
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
		if (!irq->notifier && irq->src.ctx == ctx)
			return true;
	return false;
}

static int vbackend_irq_insert(struct vbackend_session *s,
			       struct vbackend_irqfd *irq)
{
	int ret;

	lockdep_assert_held(&s->lock);
	if (!(vbackend_session_irq_targets(s) & BIT(irq->type)))
		return -EOPNOTSUPP;
	if (!irq->notifier && vbackend_irq_exists(s, irq->src.ctx))
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
	struct file *notifier = NULL;
	struct vbackend_irqfd *irq;
	struct vbackend_irq ui;
	int ret, fd = -1;

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
	if (irq->notifier) {
		fd = get_unused_fd_flags(O_CLOEXEC);
		if (fd < 0) {
			ret = fd;
			goto out_put;
		}
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
	if (irq->notifier) {
		ui.fd = fd;
		notifier = get_file(irq->notifier);
	}
	vbackend_session_notifiers_changed(s);
	mutex_unlock(&s->lock);
	ret = vbackend_notifier_hand_out(notifier, fd, VBACKEND_ARGS_OUT(uarg, ui));
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
	if (fd >= 0)
		put_unused_fd(fd);
	vbackend_irqfd_put(irq);
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
	vbackend_irqfd_put(irq);
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
 * @file: a new reference on the interrupt's eventfd file; NULL for a
 *        notifier
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
	if (irq && irq->notifier) {
		out->flags = VBACKEND_IRQ_F_NOTIFIER;
		*file = NULL;
	} else if (irq) {
		out->flags = irq->src.armed && !direct ? 0 : VBACKEND_IRQ_F_DIRECT;
		*file = get_file(irq->src.file);
	}
	if (irq) {
		out->type = irq->type;
		out->target[0] = irq->target[0];
		out->target[1] = irq->target[1];
		out->id = irq->id;
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
	if (irq && !irq->notifier && irq->src.file == file)
		vbackend_irqfd_disarm(irq);
	mutex_unlock(&s->lock);
}

/* Route @irq's notifier into @sink (NULL: back to the provider). */
static void vbackend_irq_sink(struct vbackend_irqfd *irq,
			      struct eventfd_ctx *sink)
{
	struct eventfd_ctx *old;

	lockdep_assert_held(&irq->s->lock);
	old = vbackend_notifier_swap_sink(irq->notifier, irq, sink);
	if (old)
		eventfd_ctx_put(old);
}

/**
 * vbackend_irq_set_sink() - VBACKEND_VMM_SET_IRQ_FD on a backend
 * @s: backend session
 * @id: interrupt id
 * @fd: the VMM's eventfd in the caller's table, or -1 to detach
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
int vbackend_irq_set_sink(struct vbackend_session *s, u32 id, int fd)
{
	struct eventfd_ctx *sink = NULL;
	struct vbackend_irqfd *irq;

	if (fd != -1) {
		sink = eventfd_ctx_fdget(fd);
		if (IS_ERR(sink))
			return PTR_ERR(sink);
	}
	mutex_lock(&s->lock);
	irq = xa_load(&s->irqs, id);
	if (!irq || !irq->notifier) {
		mutex_unlock(&s->lock);
		if (sink)
			eventfd_ctx_put(sink);
		return irq ? -EOPNOTSUPP : -ENOENT;
	}
	vbackend_irq_sink(irq, sink);
	mutex_unlock(&s->lock);
	return 0;
}

/**
 * vbackend_irq_sinks_detach() - detach every sink the VMM attached
 * @s: backend session, locked, whose frontend is gone
 */
void vbackend_irq_sinks_detach(struct vbackend_session *s)
{
	struct vbackend_irqfd *irq;
	unsigned long idx;

	lockdep_assert_held(&s->lock);
	xa_for_each(&s->irqs, idx, irq)
		if (irq->notifier)
			vbackend_irq_sink(irq, NULL);
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
