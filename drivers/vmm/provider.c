// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend VMM-fed provider: the backend side.
 *
 * A backend binds with "vmm:fd=N", N being its own descriptor of the VMM's
 * session (frontend.c), so the link is made by passing an fd and never by
 * a name anyone could guess. Its windows map the memfds the VMM registered;
 * its interrupts, until the VMM attaches eventfds of its own, become
 * VBACKEND_EVENT_IRQ records on the VMM's stream.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/string.h>
#include "vmm.h"

/* Queue @n on the VMM's stream if @b is still the frontend's backend. */
static void vbackend_vmm_notify(struct vbackend_vmm_frontend *fe,
				struct vbackend_session *b,
				struct vbackend_evnode *n)
{
	unsigned long flags;

	spin_lock_irqsave(&fe->lock, flags);
	if (fe->vmm && fe->backend == b)
		vbackend_evq_push(&fe->vmm->evq, n);
	spin_unlock_irqrestore(&fe->lock, flags);
}

static int vbackend_vmm_bind(struct vbackend_session *s, char *args)
{
	struct vbackend_vmm_frontend *fe = NULL;
	struct vbackend_session *vs;
	struct file *file;
	int fd, ret;

	if (strncmp(args, "fd=", 3) || kstrtoint(args + 3, 10, &fd))
		return -EINVAL;
	file = fget(fd);
	if (!file)
		return -EBADF;
	vs = vbackend_session_from_file(file);
	if (vs)
		fe = vbackend_session_frontend(vs, &vbackend_vmm_frontend_ops);
	if (!fe) {
		ret = -EINVAL;
		goto out;
	}

	spin_lock_irq(&fe->lock);
	if (fe->backend) {
		ret = -EBUSY;
	} else {
		fe->backend = s;
		kref_get(&fe->ref);
		s->prov_data = fe;
		/* under fe->lock: the VMM sees binds and unbinds in order */
		vbackend_evq_peer_state(&fe->vmm->evq, true);
		ret = 0;
	}
	spin_unlock_irq(&fe->lock);
out:
	fput(file);
	return ret;
}

static void vbackend_vmm_unbind(struct vbackend_session *s)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;

	spin_lock_irq(&fe->lock);
	if (fe->backend == s) {
		fe->backend = NULL;
		if (fe->vmm)
			vbackend_evq_peer_state(&fe->vmm->evq, false);
	}
	spin_unlock_irq(&fe->lock);
	vbackend_vmm_frontend_put(fe);
}

static int vbackend_vmm_window_check(struct vbackend_session *s, u64 gpa,
				     u64 size, u32 flags)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;

	return vbackend_vmm_mem_check(&fe->mem, gpa, size, flags);
}

static int vbackend_vmm_window_may_write(struct vbackend_session *s, u64 gpa,
					 u64 size)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;

	return vbackend_vmm_mem_check(&fe->mem, gpa, size,
				      VBACKEND_WINDOW_F_READ | VBACKEND_WINDOW_F_WRITE);
}

static int vbackend_vmm_region_info(struct vbackend_session *s, u32 index,
				    struct vbackend_mem_region *out)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;

	return vbackend_vmm_mem_region(&fe->mem, index, out);
}

static vm_fault_t vbackend_vmm_window_fault(struct vbackend_session *s,
					    struct vm_area_struct *vma,
					    unsigned long addr, u64 gpa)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;
	unsigned long pfn;
	int ret;

	/* -ENOMEM is VM_FAULT_OOM: the access is retried, not a SIGBUS */
	ret = vbackend_vmm_mem_pfn(&fe->mem, gpa, &pfn);
	if (ret)
		return vmf_error(ret);
	return vmf_insert_pfn(vma, addr, pfn);
}

static void vbackend_vmm_irq_raise(struct vbackend_session *s,
				   struct vbackend_irqfd *irq)
{
	vbackend_vmm_notify(s->prov_data, s, &irq->evnode);
}

static void vbackend_vmm_irq_detach(struct vbackend_session *s,
				    struct vbackend_irqfd *irq)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;

	spin_lock_irq(&fe->lock);
	if (fe->vmm)
		vbackend_evq_remove(&fe->vmm->evq, &irq->evnode);
	spin_unlock_irq(&fe->lock);
}

static void vbackend_vmm_notifiers_changed(struct vbackend_session *s)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;

	spin_lock_irq(&fe->lock);
	if (fe->vmm && fe->backend == s)
		vbackend_session_event(fe->vmm, VBACKEND_EVENT_NOTIFIERS);
	spin_unlock_irq(&fe->lock);
}

/* QUEUE interrupts only for a VMM that has an interrupt per queue. */
static u32 vbackend_vmm_session_irq_targets(struct vbackend_session *s)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;
	u32 targets = vbackend_vmm_provider.irq_targets;

	if (!(fe->flags & VBACKEND_VMM_F_IRQ_PER_QUEUE))
		targets &= ~BIT(VBACKEND_IRQ_TARGET_QUEUE);
	return targets;
}

const struct vbackend_provider vbackend_vmm_provider = {
	.id = VBACKEND_PROVIDER_VMM,
	.name = "vmm",
	.caps = VBACKEND_PROVIDER_CAP_MMIO | VBACKEND_PROVIDER_CAP_PIO |
		VBACKEND_PROVIDER_CAP_VMM_SPACE |
		VBACKEND_PROVIDER_CAP_WINDOWS | VBACKEND_PROVIDER_CAP_RESET |
		VBACKEND_PROVIDER_CAP_MEMORY,
	/* the target is the VMM's business: it hands the eventfd to KVM_IRQFD */
	.irq_targets = BIT(VBACKEND_IRQ_TARGET_LINE) | BIT(VBACKEND_IRQ_TARGET_MSI) |
		       BIT(VBACKEND_IRQ_TARGET_EVTCHN) | BIT(VBACKEND_IRQ_TARGET_VECTOR) |
		       BIT(VBACKEND_IRQ_TARGET_QUEUE),
	.bind = vbackend_vmm_bind,
	.unbind = vbackend_vmm_unbind,
	.window_check = vbackend_vmm_window_check,
	.window_may_write = vbackend_vmm_window_may_write,
	.mem_region = vbackend_vmm_region_info,
	.window_fault = vbackend_vmm_window_fault,
	.irq_raise = vbackend_vmm_irq_raise,
	.irq_detach = vbackend_vmm_irq_detach,
	.notifiers_changed = vbackend_vmm_notifiers_changed,
	.session_irq_targets = vbackend_vmm_session_irq_targets,
};
