// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: sessions. One per open file; everything a session creates hangs
 * off it and is torn down at release.
 */
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "vbackend_internal.h"

/**
 * vbackend_session_open() - create the session of a new open file
 * @inode: the misc device inode
 * @file: the new file
 *
 * Return: 0 or -ENOMEM.
 */
int vbackend_session_open(struct inode *inode, struct file *file)
{
	struct vbackend_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	s->inode = vbackend_alloc_inode();
	if (IS_ERR(s->inode)) {
		int ret = PTR_ERR(s->inode);

		kfree(s);
		return ret;
	}
	kref_init(&s->ref);
	mutex_init(&s->lock);
	init_rwsem(&s->revoke_sem);
	xa_init_flags(&s->windows, XA_FLAGS_ALLOC1);
	xa_init_flags(&s->traps, XA_FLAGS_ALLOC1);
	xa_init_flags(&s->kicks, XA_FLAGS_ALLOC1);
	xa_init_flags(&s->irqs, XA_FLAGS_ALLOC1);
	INIT_LIST_HEAD(&s->range_list);
	INIT_LIST_HEAD(&s->kick_list);
	INIT_LIST_HEAD(&s->kick_sources);
	vbackend_evq_init(&s->evq);

	file->private_data = s;
	/* window mmaps go through the session's own address space */
	file->f_mapping = s->inode->i_mapping;
	/* read_iter/write_iter honour IOCB_NOWAIT (io_uring's inline tries) */
	file->f_mode |= FMODE_NOWAIT;
	atomic_long_inc(&vbackend_stats.sessions);
	return stream_open(inode, file);
}

static void vbackend_session_free(struct kref *ref)
{
	struct vbackend_session *s = container_of(ref, struct vbackend_session, ref);

	xa_destroy(&s->windows);
	xa_destroy(&s->traps);
	xa_destroy(&s->kicks);
	xa_destroy(&s->irqs);
	iput(s->inode);
	mutex_destroy(&s->lock);
	kfree(s);
	atomic_long_dec(&vbackend_stats.sessions);
}

/**
 * vbackend_session_get() - take a reference on a session
 * @s: session
 */
void vbackend_session_get(struct vbackend_session *s)
{
	kref_get(&s->ref);
}

/**
 * vbackend_session_put() - drop a reference; the last one frees the session
 * @s: session
 */
void vbackend_session_put(struct vbackend_session *s)
{
	kref_put(&s->ref, vbackend_session_free);
}

/**
 * vbackend_session_release() - the file is closed: unbind and free it all
 * @inode: the misc device inode
 * @file: the file
 *
 * Every mmap holds a reference on the file, so no window is mapped anymore.
 *
 * Return: 0.
 */
int vbackend_session_release(struct inode *inode, struct file *file)
{
	struct vbackend_session *s = file->private_data;

	switch (s->role) {
	case VBACKEND_ROLE_BACKEND:
		/* fail what the frontend waits for, then stop new accesses */
		vbackend_evq_shutdown(&s->evq, false);
		vbackend_irqs_free(s);
		vbackend_kicks_free(s);
		s->prov->unbind(s);
		break;
	case VBACKEND_ROLE_FRONTEND:
		s->fe_ops->release(s);
		break;
	case VBACKEND_ROLE_UNBOUND:
		break;
	}
	vbackend_ranges_free(s);
	vbackend_windows_free(s);
	vbackend_session_put(s);
	return 0;
}

/**
 * vbackend_session_from_file() - the session behind a file, if it is one
 * @file: any file
 *
 * Return: the session, or NULL when @file is not a /dev/vbackend file. The
 * caller's reference on @file keeps the session alive.
 */
struct vbackend_session *vbackend_session_from_file(struct file *file)
{
	return file->f_op == &vbackend_fops ? file->private_data : NULL;
}

/**
 * vbackend_session_frontend() - the data of a frontend session
 * @s: session
 * @ops: what it must be a frontend of
 *
 * Return: its &vbackend_session.prov_data, or NULL when @s is not a
 * frontend of @ops.
 */
void *vbackend_session_frontend(struct vbackend_session *s,
				const struct vbackend_frontend_ops *ops)
{
	/* pairs with the smp_store_release() that publishes the role */
	if (smp_load_acquire(&s->role) != VBACKEND_ROLE_FRONTEND ||
	    s->fe_ops != ops)
		return NULL;
	return s->prov_data;
}

/**
 * vbackend_session_backend_lock() - lock a session for a backend command
 * @s: session
 *
 * Return: 0 with the session lock held; otherwise, unlocked, -ENOTCONN for
 * an unbound session, -ENOTTY for a frontend-side one, -EPIPE once the
 * frontend is gone.
 */
int vbackend_session_backend_lock(struct vbackend_session *s)
{
	int ret;

	mutex_lock(&s->lock);
	switch (s->role) {
	case VBACKEND_ROLE_BACKEND:
		if (!s->dead)
			return 0;
		ret = -EPIPE;
		break;
	case VBACKEND_ROLE_FRONTEND:
		ret = -ENOTTY;
		break;
	default:
		ret = -ENOTCONN;
		break;
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_session_id_lock() - fetch a &struct vbackend_id and lock the
 * session for a backend command on that id
 * @s: session
 * @uarg: user pointer to the &struct vbackend_id
 * @id: the id
 *
 * Return: 0 with the session lock held, or an error (unlocked).
 */
int vbackend_session_id_lock(struct vbackend_session *s, void __user *uarg,
			     u32 *id)
{
	struct vbackend_id uid;
	int ret;

	ret = VBACKEND_ARGS_IN(uid, uarg);
	if (ret)
		return ret;
	if (uid.flags || uid.reserved)
		return -EINVAL;
	*id = uid.id;
	return vbackend_session_backend_lock(s);
}

/**
 * vbackend_session_notifiers_changed() - tell the provider that the kicks
 * or interrupts of a backend session changed
 * @s: session, locked
 */
void vbackend_session_notifiers_changed(struct vbackend_session *s)
{
	lockdep_assert_held(&s->lock);
	if (s->prov->notifiers_changed)
		s->prov->notifiers_changed(s);
}

static const struct vbackend_provider *vbackend_parse_target(char *target,
							     char **args)
{
	char *colon = strchr(target, ':');

	if (!colon)
		return ERR_PTR(-EINVAL);
	*colon = '\0';
	*args = colon + 1;
	return vbackend_provider_by_name(target) ?: ERR_PTR(-ENODEV);
}

/*
 * An unbound session takes @role with @prov, once. The provider, the
 * frontend ops and their data are published before the role; see
 * vbackend_session_frontend().
 */
static void vbackend_session_set_role(struct vbackend_session *s,
				      enum vbackend_role role)
{
	lockdep_assert_held(&s->lock);
	/* pairs with the smp_load_acquire() in vbackend_session_frontend() */
	smp_store_release(&s->role, role);
}

/**
 * vbackend_session_become_frontend() - make an unbound session a
 * frontend of @ops (VBACKEND_VMM_CREATE)
 * @s: session
 * @ops: what the frontend is
 * @data: its per-frontend data, &vbackend_session.prov_data
 *
 * Return: 0, or -EISCONN when @s is bound already (@data is then not used).
 */
int vbackend_session_become_frontend(struct vbackend_session *s,
				     const struct vbackend_frontend_ops *ops,
				     void *data)
{
	int ret = 0;

	mutex_lock(&s->lock);
	if (s->role != VBACKEND_ROLE_UNBOUND) {
		ret = -EISCONN;
	} else {
		s->prov = ops->prov;
		s->fe_ops = ops;
		s->prov_data = data;
		vbackend_session_set_role(s, VBACKEND_ROLE_FRONTEND);
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_session_bind() - VBACKEND_BIND
 * @s: session
 * @uarg: &struct vbackend_bind
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
long vbackend_session_bind(struct vbackend_session *s, void __user *uarg)
{
	const struct vbackend_provider *prov;
	struct vbackend_bind b;
	char *target, *args;
	int ret;

	ret = VBACKEND_ARGS_IN(b, uarg);
	if (ret)
		return ret;
	if (b.flags || !vbackend_is_zero(b.reserved, sizeof(b.reserved)))
		return -EINVAL;
	if (!b.target_len || b.target_len > VBACKEND_TARGET_MAX)
		return -EINVAL;

	target = memdup_user_nul(u64_to_user_ptr(b.target), b.target_len);
	if (IS_ERR(target))
		return PTR_ERR(target);
	if (strlen(target) != b.target_len) {
		ret = -EINVAL;
		goto out;
	}
	prov = vbackend_parse_target(target, &args);
	if (IS_ERR(prov)) {
		ret = PTR_ERR(prov);
		goto out;
	}
	/* before binding: a bound session must not report -EFAULT */
	b.provider = prov->id;
	ret = VBACKEND_ARGS_OUT(uarg, b);
	if (ret)
		goto out;

	mutex_lock(&s->lock);
	if (s->role != VBACKEND_ROLE_UNBOUND) {
		ret = -EISCONN;
	} else {
		s->prov = prov;
		ret = prov->bind(s, args);
		if (ret)
			s->prov = NULL;
		else
			vbackend_session_set_role(s, VBACKEND_ROLE_BACKEND);
	}
	mutex_unlock(&s->lock);
out:
	kfree(target);
	return ret;
}

/**
 * vbackend_session_irq_targets() - the interrupt targets IRQ_ADD takes here
 * @s: session, locked
 *
 * Return: bit (1 << VBACKEND_IRQ_TARGET_*) per type; 0 unless a backend.
 */
u32 vbackend_session_irq_targets(struct vbackend_session *s)
{
	lockdep_assert_held(&s->lock);
	if (s->role != VBACKEND_ROLE_BACKEND)
		return 0;
	if (s->prov->session_irq_targets)
		return s->prov->session_irq_targets(s);
	return s->prov->irq_targets;
}

/**
 * vbackend_session_get_info() - VBACKEND_GET_SESSION
 * @s: session
 * @uarg: &struct vbackend_session_info
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
long vbackend_session_get_info(struct vbackend_session *s, void __user *uarg)
{
	static const u32 roles[] = {
		[VBACKEND_ROLE_UNBOUND] = VBACKEND_SESSION_UNBOUND,
		[VBACKEND_ROLE_BACKEND] = VBACKEND_SESSION_BACKEND,
		[VBACKEND_ROLE_FRONTEND] = VBACKEND_SESSION_FRONTEND,
	};
	struct vbackend_session_info si;
	int ret;

	ret = VBACKEND_ARGS_IN(si, uarg);
	if (ret)
		return ret;
	if (si.flags || !vbackend_is_zero(si.reserved, sizeof(si.reserved)))
		return -EINVAL;
	mutex_lock(&s->lock);
	si.role = roles[s->role];
	si.provider = s->role == VBACKEND_ROLE_UNBOUND ? 0 : s->prov->id;
	si.irq_targets = vbackend_session_irq_targets(s);
	mutex_unlock(&s->lock);
	return VBACKEND_ARGS_OUT(uarg, si);
}

/**
 * vbackend_session_peer_gone() - the frontend of a backend session is gone
 * @s: backend session
 * @error: zero, or the negative errno of the failure that ended it
 *
 * Revokes every window (later touches SIGBUS), lets go of the eventfds the
 * frontend's VMM attached to the notifiers, fails the accesses still queued,
 * and leaves a PEER_GONE record; the session stays until closed, failing
 * backend commands with -EPIPE. Process context.
 */
void vbackend_session_peer_gone(struct vbackend_session *s, int error)
{
	mutex_lock(&s->lock);
	if (s->dead) {
		mutex_unlock(&s->lock);
		return;
	}
	WRITE_ONCE(s->dead, true);
	vbackend_windows_revoke_all(s);
	vbackend_kick_sources_detach(s);
	vbackend_irq_sinks_detach(s);
	mutex_unlock(&s->lock);

	spin_lock_irq(&s->evq.lock);
	s->evq.error = error;
	spin_unlock_irq(&s->evq.lock);
	vbackend_evq_shutdown(&s->evq, true);
}
