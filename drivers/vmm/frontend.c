// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend VMM-fed frontend: the VMM's session.
 *
 * The VMM turns a fresh session into a frontend (VBACKEND_VMM_CREATE),
 * registers guest memory and forwards the accesses its vCPUs make to the
 * backend bound to it (provider.c). The VMM can fetch the backend's kick and interrupt eventfds
 * to hand them to KVM_IOEVENTFD / KVM_IRQFD, or, when the backend asked for
 * notifiers, attach its own eventfds to them (VMM_SET_KICK_FD/IRQ_FD), the
 * way QEMU hands its fds to a vhost-user backend; either way kicks and
 * interrupts then bypass it entirely. Until then the kernel matches kicks
 * on the forwarded writes and turns interrupts into VBACKEND_EVENT_IRQ
 * records.
 */
#include <linux/completion.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "vmm.h"

static void vbackend_vmm_frontend_free(struct kref *ref)
{
	kfree(container_of(ref, struct vbackend_vmm_frontend, ref));
}

/**
 * vbackend_vmm_frontend_put() - drop a reference on a VMM-fed frontend
 * @fe: frontend; the last reference frees it
 */
void vbackend_vmm_frontend_put(struct vbackend_vmm_frontend *fe)
{
	kref_put(&fe->ref, vbackend_vmm_frontend_free);
}

/* The bound backend with a reference, or NULL. */
static struct vbackend_session *
vbackend_vmm_backend_get(struct vbackend_vmm_frontend *fe)
{
	struct vbackend_session *b;

	spin_lock_irq(&fe->lock);
	b = fe->backend;
	if (b)
		vbackend_session_get(b);
	spin_unlock_irq(&fe->lock);
	return b;
}

static void vbackend_vmm_release(struct vbackend_session *s)
{
	struct vbackend_vmm_frontend *fe = s->prov_data;
	struct vbackend_session *b;

	spin_lock_irq(&fe->lock);
	fe->vmm = NULL;
	/* unlink the backend's interrupt records from our dying stream */
	vbackend_evq_drain(&s->evq);
	/* a backend unbinds under this lock before its last reference goes */
	b = fe->backend;
	if (b)
		vbackend_session_get(b);
	fe->backend = NULL;
	spin_unlock_irq(&fe->lock);

	if (b) {
		/*
		 * revokes its windows before the memory below goes, and lets
		 * go of the eventfds this VMM attached
		 */
		vbackend_session_peer_gone(b, 0);
		vbackend_session_put(b);
	}
	vbackend_vmm_mem_free(&fe->mem);
	vbackend_vmm_frontend_put(fe);
}

static long vbackend_vmm_create(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_vmm_frontend *fe;
	struct vbackend_vmm_ctl c;
	int ret;

	ret = VBACKEND_ARGS_IN(c, uarg);
	if (ret)
		return ret;
	if ((c.flags & ~VBACKEND_VMM_F_IRQ_PER_QUEUE) ||
	    !vbackend_is_zero(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	fe = kzalloc(sizeof(*fe), GFP_KERNEL_ACCOUNT);
	if (!fe)
		return -ENOMEM;
	kref_init(&fe->ref);
	fe->flags = c.flags;
	spin_lock_init(&fe->lock);
	fe->vmm = s;
	vbackend_vmm_mem_init(&fe->mem);

	ret = vbackend_session_become_frontend(s, &vbackend_vmm_frontend_ops, fe);
	if (ret)
		kfree(fe);
	return ret;
}

/**
 * struct vbackend_vmm_waiter - a forwarded access and the vCPU waiting on it
 * @req: what the backend sees
 * @done: completed by the backend (or its death)
 * @data: value read
 * @err: 0, -EIO or -EPIPE
 */
struct vbackend_vmm_waiter {
	struct vbackend_trap_req req;
	struct completion done;
	u64 data;
	int err;
};

static void vbackend_vmm_access_done(struct vbackend_trap_req *req, u64 data,
				     int err)
{
	struct vbackend_vmm_waiter *w = container_of(req, struct vbackend_vmm_waiter, req);

	w->data = data;
	w->err = err;
	complete(&w->done);
}

static int vbackend_vmm_access_parse(const struct vbackend_vmm_access *ua,
				     struct vbackend_access *a)
{
	if ((ua->flags & ~(VBACKEND_F_PIO | VBACKEND_F_VMM_SPACE)) ||
	    !vbackend_is_zero(ua->reserved, sizeof(ua->reserved)))
		return -EINVAL;
	if (!vbackend_access_size_valid(ua->size))
		return -EINVAL;
	if (ua->dir != VBACKEND_DIR_READ && ua->dir != VBACKEND_DIR_WRITE)
		return -EINVAL;
	if (ua->dir == VBACKEND_DIR_WRITE && ua->size < 8 &&
	    ua->data >> (ua->size * 8))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->addr = ua->addr;
	a->data = ua->dir == VBACKEND_DIR_WRITE ? ua->data : 0;
	a->vcpu = ua->vcpu;
	a->size = ua->size;
	a->dir = ua->dir;
	return vbackend_space_of(ua->flags, &a->space) ?:
	       vbackend_access_check(a->space, a->addr, a->size);
}

/* Submit and wait, as the vCPU would. Returns 1 when a kick took it. */
static int vbackend_vmm_forward(struct vbackend_session *b,
				struct vbackend_vmm_waiter *w)
{
	int ret;

	w->req.complete = vbackend_vmm_access_done;
	init_completion(&w->done);
	ret = vbackend_trap_submit(b, &w->req);
	if (ret)
		return ret;
	/* if cancelling fails, ->complete already ran under the queue lock */
	if (wait_for_completion_killable(&w->done) &&
	    vbackend_trap_cancel(b, &w->req))
		return -EINTR;
	return w->err;
}

static long vbackend_vmm_access(struct vbackend_vmm_frontend *fe,
				void __user *uarg)
{
	struct vbackend_vmm_waiter w;
	struct vbackend_vmm_access ua;
	struct vbackend_session *b;
	int ret;

	ret = VBACKEND_ARGS_IN(ua, uarg);
	if (ret)
		return ret;
	ret = vbackend_vmm_access_parse(&ua, &w.req.access);
	if (ret)
		return ret;
	b = vbackend_vmm_backend_get(fe);
	if (!b)
		return -ENOTCONN;
	ret = vbackend_vmm_forward(b, &w);
	vbackend_session_put(b);
	if (ret < 0)
		return ret;

	ua.result = ret ? VBACKEND_VMM_ACCESS_KICKED : 0;
	if (!ret && ua.dir == VBACKEND_DIR_READ)
		ua.data = w.data;
	return VBACKEND_ARGS_OUT(uarg, ua);
}

/*
 * Write @karg back with a new descriptor for @file in *@fdp, or -1 when
 * there is no @file (a notifier: the VMM attaches its own eventfd). Once
 * nothing can fail anymore, and only then, @commit (if any) runs with @b,
 * @id and @file: a failed call changes nothing.
 */
static int vbackend_vmm_hand_out(void __user *uarg, void *karg, size_t ksize,
				 s32 *fdp, struct file *file,
				 void (*commit)(struct vbackend_session *b, u32 id,
						struct file *file),
				 struct vbackend_session *b, u32 id)
{
	int fd;

	if (!file) {
		*fdp = -1;
		return vbackend_args_out(uarg, karg, ksize);
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	*fdp = fd;
	if (vbackend_args_out(uarg, karg, ksize)) {
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
	}
	if (commit)
		commit(b, id, file);
	fd_install(fd, file);
	return 0;
}

static long vbackend_vmm_get_kick(struct vbackend_vmm_frontend *fe,
				  void __user *uarg)
{
	struct vbackend_session *b;
	struct vbackend_kick uk;
	struct file *file;
	int ret;

	ret = VBACKEND_ARGS_IN(uk, uarg);
	if (ret)
		return ret;
	if (uk.flags || uk.reserved)
		return -EINVAL;
	b = vbackend_vmm_backend_get(fe);
	if (!b)
		return -ENOTCONN;
	ret = vbackend_kick_export(b, uk.id, &uk, &file);
	vbackend_session_put(b);
	if (ret)
		return ret;
	return vbackend_vmm_hand_out(uarg, &uk, sizeof(uk), &uk.fd, file,
				     NULL, NULL, 0);
}

static long vbackend_vmm_get_irq(struct vbackend_vmm_frontend *fe,
				 void __user *uarg)
{
	struct vbackend_session *b;
	struct vbackend_irq ui;
	struct file *file;
	bool direct;
	int ret;

	ret = VBACKEND_ARGS_IN(ui, uarg);
	if (ret)
		return ret;
	if ((ui.flags & ~VBACKEND_IRQ_F_DIRECT) ||
	    !vbackend_is_zero(ui.reserved, sizeof(ui.reserved)))
		return -EINVAL;
	b = vbackend_vmm_backend_get(fe);
	if (!b)
		return -ENOTCONN;
	direct = ui.flags & VBACKEND_IRQ_F_DIRECT;
	ret = vbackend_irq_export(b, ui.id, direct, &ui, &file);
	if (!ret)
		ret = vbackend_vmm_hand_out(uarg, &ui, sizeof(ui), &ui.fd, file,
					    direct ? vbackend_irq_direct : NULL,
					    b, ui.id);
	vbackend_session_put(b);
	return ret;
}

/* VMM_SET_KICK_FD and VMM_SET_IRQ_FD: @set attaches on the backend. */
static long vbackend_vmm_set_fd(struct vbackend_vmm_frontend *fe,
				void __user *uarg,
				int (*set)(struct vbackend_session *b, u32 id, int fd))
{
	struct vbackend_vmm_notifier un;
	struct vbackend_session *b;
	int ret;

	ret = VBACKEND_ARGS_IN(un, uarg);
	if (ret)
		return ret;
	if (un.flags || !vbackend_is_zero(un.reserved, sizeof(un.reserved)))
		return -EINVAL;
	b = vbackend_vmm_backend_get(fe);
	if (!b)
		return -ENOTCONN;
	ret = set(b, un.id, un.fd);
	vbackend_session_put(b);
	return ret;
}

static long vbackend_vmm_set_kick_fd(struct vbackend_vmm_frontend *fe,
				     void __user *uarg)
{
	return vbackend_vmm_set_fd(fe, uarg, vbackend_kick_set_source);
}

static long vbackend_vmm_set_irq_fd(struct vbackend_vmm_frontend *fe,
				    void __user *uarg)
{
	return vbackend_vmm_set_fd(fe, uarg, vbackend_irq_set_sink);
}

static long vbackend_vmm_reset(struct vbackend_vmm_frontend *fe,
			       void __user *uarg)
{
	struct vbackend_session *b;
	struct vbackend_vmm_ctl c;
	int ret;

	ret = VBACKEND_ARGS_IN(c, uarg);
	if (ret)
		return ret;
	if (c.flags || !vbackend_is_zero(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	b = vbackend_vmm_backend_get(fe);
	if (!b)
		return -ENOTCONN;
	vbackend_session_event(b, VBACKEND_EVENT_RESET);
	vbackend_session_put(b);
	return 0;
}

/*
 * A VMM may register memory late: QEMU sends its memory table only when the
 * guest driver starts the device, long after the backend bound to answer
 * config reads. The region is listed (MEM_REGION) before the event is
 * read, and the event goes before any access the VMM forwards later.
 */
static long vbackend_vmm_add_memory(struct vbackend_vmm_frontend *fe,
				    void __user *uarg)
{
	struct vbackend_vmm_memory um;
	struct vbackend_session *b;
	int ret;

	ret = VBACKEND_ARGS_IN(um, uarg);
	if (ret)
		return ret;
	ret = vbackend_vmm_mem_add(&fe->mem, &um);
	if (ret)
		return ret;
	b = vbackend_vmm_backend_get(fe);
	if (b) {
		vbackend_session_event(b, VBACKEND_EVENT_MEMORY);
		vbackend_session_put(b);
	}
	return 0;
}

/* A VMM session's commands after VBACKEND_VMM_CREATE, by number. */
#define VBACKEND_VMM_CMD(cmd)	(_IOC_NR(cmd) - _IOC_NR(VBACKEND_VMM_ADD_MEMORY))

static long (*const vbackend_vmm_cmds[])(struct vbackend_vmm_frontend *fe,
					 void __user *uarg) = {
	[VBACKEND_VMM_CMD(VBACKEND_VMM_ADD_MEMORY)] = vbackend_vmm_add_memory,
	[VBACKEND_VMM_CMD(VBACKEND_VMM_ACCESS)] = vbackend_vmm_access,
	[VBACKEND_VMM_CMD(VBACKEND_VMM_GET_KICK)] = vbackend_vmm_get_kick,
	[VBACKEND_VMM_CMD(VBACKEND_VMM_GET_IRQ)] = vbackend_vmm_get_irq,
	[VBACKEND_VMM_CMD(VBACKEND_VMM_RESET)] = vbackend_vmm_reset,
	[VBACKEND_VMM_CMD(VBACKEND_VMM_SET_KICK_FD)] = vbackend_vmm_set_kick_fd,
	[VBACKEND_VMM_CMD(VBACKEND_VMM_SET_IRQ_FD)] = vbackend_vmm_set_irq_fd,
};

static long vbackend_vmm_ioctl(struct vbackend_session *s, unsigned int nr,
			       void __user *uarg)
{
	unsigned int i = nr - _IOC_NR(VBACKEND_VMM_ADD_MEMORY);

	if (i >= ARRAY_SIZE(vbackend_vmm_cmds))
		return -ENOIOCTLCMD;
	i = array_index_nospec(i, ARRAY_SIZE(vbackend_vmm_cmds));
	if (!vbackend_vmm_cmds[i])
		return -ENOIOCTLCMD;
	return vbackend_vmm_cmds[i](s->prov_data, uarg);
}

const struct vbackend_frontend_ops vbackend_vmm_frontend_ops = {
	.prov = &vbackend_vmm_provider,
	.create_nr = _IOC_NR(VBACKEND_VMM_CREATE),
	.create = vbackend_vmm_create,
	.ioctl = vbackend_vmm_ioctl,
	.release = vbackend_vmm_release,
};
