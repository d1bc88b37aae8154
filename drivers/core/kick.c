// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: kicks. A frontend write that matches a kick signals its eventfd
 * (or notifier) inside the kernel and never reaches the trap queue.
 *
 * Matching runs on the access path, possibly in interrupt context, over an
 * RCU list; the id table and the list are changed under the session lock.
 * A notifier may also be fed by sources the frontend's VMM attaches: its
 * eventfds, which KVM's ioeventfd signals, whose wake-up signals the
 * notifier. A source belongs to the notifier and the match of the kick it
 * was attached through, not to the kick: a kick deleted and added again
 * (sharing its notifier) keeps it, so a write KVM took meanwhile still
 * wakes the backend.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/rculist.h>
#include "compat.h"
#include "vbackend_internal.h"

/**
 * struct vbackend_kick_entry - one registered kick
 * @link: on &vbackend_session.kick_list
 * @rcu: deferred release
 * @id: id in &vbackend_session.kicks
 * @space: VBACKEND_SPACE_*
 * @datamatch: only writes of @data match
 * @len: access size that matches
 * @addr: address written
 * @data: value for @datamatch
 * @file: the eventfd's file, handed out again by VBACKEND_VMM_GET_KICK; or
 *        the notifier's (VBACKEND_KICK_F_NOTIFIER)
 * @ctx: the eventfd's context; NULL for a notifier
 */
struct vbackend_kick_entry {
	struct list_head link;
	struct rcu_head rcu;
	u32 id;
	u8 space;
	bool datamatch;
	u8 len;
	u64 addr;
	u64 data;
	struct file *file;
	struct eventfd_ctx *ctx;
};

/**
 * struct vbackend_kick_source - a VMM's eventfd feeding a kick notifier
 * @link: on &vbackend_session.kick_sources
 * @hook: the VMM's eventfd, armed
 * @notifier: the notifier it signals (a reference)
 * @space: the match of the kick it was attached through
 * @datamatch: ditto
 * @len: ditto
 * @addr: ditto
 * @data: ditto
 */
struct vbackend_kick_source {
	struct list_head link;
	struct vbackend_evhook hook;
	struct file *notifier;
	u8 space;
	bool datamatch;
	u8 len;
	u64 addr;
	u64 data;
};

static void vbackend_kick_fire(struct vbackend_kick_entry *k)
{
	if (k->ctx)
		vbackend_eventfd_signal(k->ctx);
	else
		vbackend_notifier_signal(k->file);
}

/**
 * vbackend_kick_match() - signal the kick a frontend write matches, if any
 * @s: session
 * @a: the write
 *
 * A data-matched kick wins over a wildcard at the same address and size.
 *
 * Return: true when a kick consumed the write. Any context.
 */
bool vbackend_kick_match(struct vbackend_session *s,
			 const struct vbackend_access *a)
{
	struct vbackend_kick_entry *k, *hit = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(k, &s->kick_list, link) {
		if (k->space != a->space || k->addr != a->addr || k->len != a->size)
			continue;
		if (!k->datamatch) {
			hit = hit ?: k;
		} else if (k->data == a->data) {
			hit = k;
			break;
		}
	}
	if (hit)
		vbackend_kick_fire(hit);
	rcu_read_unlock();
	return hit;
}

/**
 * vbackend_kicks_in() - is any kick inside [start, last] of @space?
 * @s: session, locked
 * @space: VBACKEND_SPACE_*
 * @start: first address
 * @last: last address
 *
 * Return: true when one is.
 */
bool vbackend_kicks_in(struct vbackend_session *s, u8 space, u64 start,
		       u64 last)
{
	struct vbackend_kick_entry *k;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(k, &s->kick_list, link)
		if (k->space == space && k->addr >= start && k->addr <= last)
			return true;
	return false;
}

static bool vbackend_kick_exists(struct vbackend_session *s,
				 const struct vbackend_kick_entry *n)
{
	struct vbackend_kick_entry *k;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(k, &s->kick_list, link)
		if (k->space == n->space && k->addr == n->addr && k->len == n->len &&
		    k->datamatch == n->datamatch && (!k->datamatch || k->data == n->data))
			return true;
	return false;
}

static void vbackend_kick_release(struct rcu_head *rcu)
{
	struct vbackend_kick_entry *k = container_of(rcu, struct vbackend_kick_entry, rcu);

	if (k->ctx)
		eventfd_ctx_put(k->ctx);
	fput(k->file);
	kfree(k);
}

static int vbackend_kick_parse(const struct vbackend_kick *uk,
			       struct vbackend_kick_entry *k)
{
	int ret;

	if ((uk->flags & ~(VBACKEND_F_PIO | VBACKEND_KICK_F_DATAMATCH |
			   VBACKEND_KICK_F_NOTIFIER)) || uk->reserved)
		return -EINVAL;
	if (uk->len != 1 && uk->len != 2 && uk->len != 4 && uk->len != 8)
		return -EINVAL;
	k->space = uk->flags & VBACKEND_F_PIO ? VBACKEND_SPACE_PIO : VBACKEND_SPACE_MMIO;
	k->datamatch = uk->flags & VBACKEND_KICK_F_DATAMATCH;
	k->len = uk->len;
	k->addr = uk->addr;
	/* without DATAMATCH there is no value to match: data must be zero */
	if (!k->datamatch && uk->data)
		return -EINVAL;
	k->data = uk->data;
	if (uk->len < 8 && (k->data >> (uk->len * 8)))
		return -EINVAL;
	ret = vbackend_access_check(k->space, k->addr, k->len);
	if (ret)
		return ret;

	k->file = uk->fd == -1 && (uk->flags & VBACKEND_KICK_F_NOTIFIER) ?
		  vbackend_notifier_new(false) : fget(uk->fd);
	if (IS_ERR(k->file))
		return PTR_ERR(k->file);
	if (!k->file)
		return -EBADF;
	if (uk->flags & VBACKEND_KICK_F_NOTIFIER) {
		/* a new one, or one an earlier kick got: kicks may share it */
		if (vbackend_is_kick_notifier(k->file))
			return 0;
		fput(k->file);
		return -EINVAL;
	}
	k->ctx = eventfd_ctx_fileget(k->file);
	if (IS_ERR(k->ctx)) {
		fput(k->file);
		return -EINVAL;
	}
	return 0;
}

static void vbackend_kick_remove(struct vbackend_session *s,
				 struct vbackend_kick_entry *k);

/**
 * vbackend_kick_add() - VBACKEND_KICK_ADD
 * @s: session
 * @uarg: &struct vbackend_kick
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
long vbackend_kick_add(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_kick_entry *k;
	struct file *notifier = NULL;
	struct vbackend_kick uk;
	int ret, fd = -1;

	ret = VBACKEND_ARGS_IN(uk, uarg);
	if (ret)
		return ret;
	k = kzalloc(sizeof(*k), GFP_KERNEL_ACCOUNT);
	if (!k)
		return -ENOMEM;
	ret = vbackend_kick_parse(&uk, k);
	if (ret) {
		kfree(k);
		return ret;
	}
	if (!k->ctx && uk.fd == -1) {
		fd = get_unused_fd_flags(O_CLOEXEC);
		if (fd < 0) {
			ret = fd;
			goto out_put;
		}
	}

	ret = vbackend_session_backend_lock(s);
	if (ret)
		goto out_put;
	if (!vbackend_range_covers(s, k->space, k->addr, k->len)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (vbackend_kick_exists(s, k)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	ret = xa_alloc(&s->kicks, &k->id, k,
		       XA_LIMIT(1, vbackend_limits.max_kicks), GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY)
		ret = -ENOSPC;
	if (ret)
		goto out_unlock;
	list_add_tail_rcu(&k->link, &s->kick_list);
	atomic_long_inc(&vbackend_stats.kicks);
	uk.id = k->id;
	if (fd >= 0) {
		uk.fd = fd;
		notifier = get_file(k->file);
	}
	vbackend_session_notifiers_changed(s);
	mutex_unlock(&s->lock);
	ret = vbackend_notifier_hand_out(notifier, fd, VBACKEND_ARGS_OUT(uarg, uk));
	/* the caller cannot know the id: take the kick back, as KICK_DEL */
	if (ret && !vbackend_session_backend_lock(s)) {
		if (xa_load(&s->kicks, uk.id) == k) {
			vbackend_kick_remove(s, k);
			vbackend_session_notifiers_changed(s);
		}
		mutex_unlock(&s->lock);
	}
	return ret;

out_unlock:
	mutex_unlock(&s->lock);
out_put:
	if (fd >= 0)
		put_unused_fd(fd);
	if (k->ctx)
		eventfd_ctx_put(k->ctx);
	fput(k->file);
	kfree(k);
	return ret;
}

static void vbackend_kick_remove(struct vbackend_session *s,
				 struct vbackend_kick_entry *k)
{
	lockdep_assert_held(&s->lock);
	xa_erase(&s->kicks, k->id);
	list_del_rcu(&k->link);
	call_rcu(&k->rcu, vbackend_kick_release);
	atomic_long_dec(&vbackend_stats.kicks);
}

/**
 * vbackend_kick_del() - VBACKEND_KICK_DEL
 * @s: session
 * @uarg: &struct vbackend_id
 *
 * Return: 0 or -ENOENT for an unknown id.
 */
long vbackend_kick_del(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_kick_entry *k;
	u32 id;
	int ret;

	ret = vbackend_session_id_lock(s, uarg, &id);
	if (ret)
		return ret;
	k = xa_load(&s->kicks, id);
	if (k) {
		vbackend_kick_remove(s, k);
		vbackend_session_notifiers_changed(s);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_kick_export() - describe the first kick with an id >= @cursor
 * @s: backend session
 * @cursor: lowest id wanted
 * @out: filled with the kick's registration, id included
 * @file: a new reference on the kick's eventfd file; NULL for a notifier
 *
 * Return: 0 or -ENOENT past the last kick.
 */
int vbackend_kick_export(struct vbackend_session *s, u32 cursor,
			 struct vbackend_kick *out, struct file **file)
{
	struct vbackend_kick_entry *k;
	unsigned long idx = cursor;

	mutex_lock(&s->lock);
	k = xa_find(&s->kicks, &idx, U32_MAX, XA_PRESENT);
	if (k) {
		out->flags = (k->space == VBACKEND_SPACE_PIO ? VBACKEND_F_PIO : 0) |
			     (k->datamatch ? VBACKEND_KICK_F_DATAMATCH : 0) |
			     (k->ctx ? 0 : VBACKEND_KICK_F_NOTIFIER);
		out->addr = k->addr;
		out->data = k->data;
		out->len = k->len;
		out->id = k->id;
		*file = k->ctx ? get_file(k->file) : NULL;
	}
	mutex_unlock(&s->lock);
	return k ? 0 : -ENOENT;
}

static int vbackend_kick_source_wakeup(wait_queue_entry_t *wait,
				       unsigned int mode, int sync, void *key)
{
	struct vbackend_evhook *h = vbackend_evhook_fired(wait, key);

	if (h)
		vbackend_notifier_signal(container_of(h, struct vbackend_kick_source,
						      hook)->notifier);
	return 0;
}

static void vbackend_kick_source_free(struct vbackend_session *s,
				      struct vbackend_kick_source *src)
{
	lockdep_assert_held(&s->lock);
	list_del(&src->link);
	s->nr_kick_sources--;
	vbackend_evhook_put(&src->hook);
	fput(src->notifier);
	kfree(src);
}

/* The source attached through a kick of @k's notifier and match. */
static struct vbackend_kick_source *
vbackend_kick_source_find(struct vbackend_session *s,
			  const struct vbackend_kick_entry *k)
{
	struct vbackend_kick_source *src;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(src, &s->kick_sources, link)
		if (src->notifier == k->file && src->space == k->space &&
		    src->addr == k->addr && src->len == k->len &&
		    src->datamatch == k->datamatch && src->data == k->data)
			return src;
	return NULL;
}

/**
 * vbackend_kick_set_source() - VBACKEND_VMM_SET_KICK_FD on a backend
 * @s: backend session
 * @id: kick id
 * @fd: the VMM's eventfd in the caller's table, or -1 to detach
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
int vbackend_kick_set_source(struct vbackend_session *s, u32 id, int fd)
{
	struct vbackend_kick_source *src, *n = NULL;
	struct vbackend_kick_entry *k;
	int ret;

	if (fd != -1) {
		n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
		if (!n)
			return -ENOMEM;
		ret = vbackend_evhook_get(&n->hook, fd);
		if (ret) {
			kfree(n);
			return ret;
		}
	}
	mutex_lock(&s->lock);
	k = xa_load(&s->kicks, id);
	ret = !k ? -ENOENT : k->ctx ? -EOPNOTSUPP : 0;
	if (ret)
		goto out;
	src = vbackend_kick_source_find(s, k);
	if (src)
		vbackend_kick_source_free(s, src);
	if (n && s->nr_kick_sources >= vbackend_limits.max_kicks)
		ret = -ENOSPC;
	if (n && !ret) {
		n->notifier = get_file(k->file);
		n->space = k->space;
		n->datamatch = k->datamatch;
		n->len = k->len;
		n->addr = k->addr;
		n->data = k->data;
		list_add_tail(&n->link, &s->kick_sources);
		s->nr_kick_sources++;
		vbackend_evhook_arm(&n->hook, vbackend_kick_source_wakeup);
		/* whatever reached the old source: the backend re-scans */
		vbackend_notifier_signal(k->file);
		n = NULL;
	}
out:
	mutex_unlock(&s->lock);
	if (n) {
		vbackend_evhook_put(&n->hook);
		kfree(n);
	}
	return ret;
}

/**
 * vbackend_kick_sources_detach() - detach every source the VMM attached
 * @s: backend session, locked; its frontend is gone or it is closing
 */
void vbackend_kick_sources_detach(struct vbackend_session *s)
{
	struct vbackend_kick_source *src, *tmp;

	lockdep_assert_held(&s->lock);
	list_for_each_entry_safe(src, tmp, &s->kick_sources, link)
		vbackend_kick_source_free(s, src);
}

/**
 * vbackend_kicks_free() - drop every kick of a closing session
 * @s: session
 */
void vbackend_kicks_free(struct vbackend_session *s)
{
	struct vbackend_kick_entry *k, *tmp;

	mutex_lock(&s->lock);
	vbackend_kick_sources_detach(s);
	list_for_each_entry_safe(k, tmp, &s->kick_list, link)
		vbackend_kick_remove(s, k);
	mutex_unlock(&s->lock);
}
