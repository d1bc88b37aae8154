// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: trap ranges, the frontend addresses a backend session serves.
 *
 * The id table is changed under the session lock; lookups from the access
 * path, which may run in interrupt context, walk an RCU list.
 */
#include <linux/slab.h>
#include <linux/rculist.h>
#include "vbackend_internal.h"

/**
 * struct vbackend_range - one claimed range
 * @link: on &vbackend_session.range_list
 * @rcu: deferred free
 * @id: id in &vbackend_session.traps
 * @space: VBACKEND_SPACE_*
 * @start: first address
 * @last: last address (inclusive, so a range may end at U64_MAX)
 */
struct vbackend_range {
	struct list_head link;
	struct rcu_head rcu;
	u32 id;
	u8 space;
	u64 start;
	u64 last;
};

static bool vbackend_range_overlaps(struct vbackend_session *s, u8 space,
				    u64 start, u64 last)
{
	struct vbackend_range *r;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(r, &s->range_list, link)
		if (r->space == space && start <= r->last && r->start <= last)
			return true;
	return false;
}

/**
 * vbackend_range_covers() - does one range of @s hold [addr, addr + len)?
 * @s: session
 * @space: VBACKEND_SPACE_*
 * @addr: first address
 * @len: bytes, non-zero and not wrapping
 *
 * Return: true when it does. Any context.
 */
bool vbackend_range_covers(struct vbackend_session *s, u8 space, u64 addr,
			   u64 len)
{
	struct vbackend_range *r;
	bool found = false;

	rcu_read_lock();
	list_for_each_entry_rcu(r, &s->range_list, link) {
		if (r->space == space && addr >= r->start &&
		    addr + len - 1 <= r->last) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static void vbackend_range_remove(struct vbackend_session *s,
				  struct vbackend_range *r);

/* What a provider needs to have for traps in each space. */
static const u32 vbackend_space_cap[] = {
	[VBACKEND_SPACE_MMIO] = VBACKEND_PROVIDER_CAP_MMIO,
	[VBACKEND_SPACE_PIO] = VBACKEND_PROVIDER_CAP_PIO,
	[VBACKEND_SPACE_VMM] = VBACKEND_PROVIDER_CAP_VMM_SPACE,
};

/**
 * vbackend_trap_add() - VBACKEND_TRAP_ADD
 * @s: session
 * @uarg: &struct vbackend_trap
 *
 * Return: 0 or a negative errno, see the uapi header.
 */
long vbackend_trap_add(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_range *r;
	struct vbackend_trap t;
	u8 space;
	int ret;

	ret = VBACKEND_ARGS_IN(t, uarg);
	if (ret)
		return ret;
	if ((t.flags & ~(VBACKEND_F_PIO | VBACKEND_F_VMM_SPACE)) || t.reserved)
		return -EINVAL;
	ret = vbackend_space_of(t.flags, &space) ?:
	      vbackend_access_check(space, t.addr, t.size);
	if (ret)
		return ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->space = space;
	r->start = t.addr;
	r->last = t.addr + t.size - 1;

	ret = vbackend_session_backend_lock(s);
	if (ret)
		goto out_free;
	if (!(s->prov->caps & vbackend_space_cap[space])) {
		ret = -EOPNOTSUPP;
		goto out_unlock;
	}
	if (vbackend_range_overlaps(s, space, r->start, r->last)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	ret = xa_alloc(&s->traps, &r->id, r,
		       XA_LIMIT(1, vbackend_limits.max_traps), GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY)
		ret = -ENOSPC;
	if (ret)
		goto out_unlock;
	ret = s->prov->range_claim ?
	      s->prov->range_claim(s, space, r->start, r->last) : 0;
	if (ret) {
		xa_erase(&s->traps, r->id);
		goto out_unlock;
	}
	list_add_tail_rcu(&r->link, &s->range_list);
	atomic_long_inc(&vbackend_stats.traps);
	t.id = r->id;
	mutex_unlock(&s->lock);
	ret = VBACKEND_ARGS_OUT(uarg, t);
	/* the caller cannot know the id: take the range back, as TRAP_DEL */
	if (ret && !vbackend_session_backend_lock(s)) {
		if (xa_load(&s->traps, t.id) == r &&
		    !vbackend_kicks_in(s, r->space, r->start, r->last)) {
			if (s->prov->range_release)
				s->prov->range_release(s, r->space, r->start, r->last);
			vbackend_range_remove(s, r);
		}
		mutex_unlock(&s->lock);
	}
	return ret;

out_unlock:
	mutex_unlock(&s->lock);
out_free:
	kfree(r);
	return ret;
}

static void vbackend_range_remove(struct vbackend_session *s,
				  struct vbackend_range *r)
{
	lockdep_assert_held(&s->lock);
	xa_erase(&s->traps, r->id);
	list_del_rcu(&r->link);
	kfree_rcu(r, rcu);
	atomic_long_dec(&vbackend_stats.traps);
}

/**
 * vbackend_trap_del() - VBACKEND_TRAP_DEL
 * @s: session
 * @uarg: &struct vbackend_id
 *
 * Return: 0, -ENOENT for an unknown id, -EBUSY while kicks lie inside.
 */
long vbackend_trap_del(struct vbackend_session *s, void __user *uarg)
{
	struct vbackend_range *r;
	u32 id;
	int ret;

	ret = vbackend_session_id_lock(s, uarg, &id);
	if (ret)
		return ret;
	r = xa_load(&s->traps, id);
	if (!r) {
		ret = -ENOENT;
	} else if (vbackend_kicks_in(s, r->space, r->start, r->last)) {
		ret = -EBUSY;
	} else {
		if (s->prov->range_release)
			s->prov->range_release(s, r->space, r->start, r->last);
		vbackend_range_remove(s, r);
	}
	mutex_unlock(&s->lock);
	return ret;
}

/**
 * vbackend_ranges_free() - drop every range of a closing session
 * @s: session, already unbound: the provider gave up its claims with it
 */
void vbackend_ranges_free(struct vbackend_session *s)
{
	struct vbackend_range *r, *tmp;

	mutex_lock(&s->lock);
	list_for_each_entry_safe(r, tmp, &s->range_list, link)
		vbackend_range_remove(s, r);
	mutex_unlock(&s->lock);
}
