// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: the event queue behind read(), write() and poll() of a session.
 *
 * A trapped access moves through three states, each owned by one party:
 *
 *   submitted --read()--> in flight --write() completion--> completed
 *   (queued: kernel)      (inflight: backend)               (provider)
 *
 * and from either of the first two straight to completed with -EPIPE when
 * the session shuts down, or out of the queue when the submitter cancels.
 * Other records (peer gone, reset, interrupts...) are nodes embedded in
 * their owner: queuing one that is already queued does nothing.
 */
#include <linux/fs.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "vbackend_internal.h"

/* records moved per pass under the lock; bounded to keep the stack small */
#define VBACKEND_READ_BATCH	4

static void vbackend_evnode_init(struct vbackend_evnode *n, u32 type)
{
	INIT_LIST_HEAD(&n->link);
	n->type = type;
}

/**
 * vbackend_evq_init() - set up an empty queue
 * @q: queue
 */
void vbackend_evq_init(struct vbackend_evq *q)
{
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->queued);
	INIT_LIST_HEAD(&q->inflight);
	init_waitqueue_head(&q->wq);
	vbackend_evnode_init(&q->gone, VBACKEND_EVENT_PEER_GONE);
	vbackend_evnode_init(&q->bound, VBACKEND_EVENT_PEER_BOUND);
	vbackend_evnode_init(&q->reset, VBACKEND_EVENT_RESET);
	vbackend_evnode_init(&q->failed, VBACKEND_EVENT_ERROR);
	vbackend_evnode_init(&q->notifiers, VBACKEND_EVENT_NOTIFIERS);
	vbackend_evnode_init(&q->memory, VBACKEND_EVENT_MEMORY);
}

static void vbackend_evq_wake(struct vbackend_evq *q)
{
	wake_up_interruptible_poll(&q->wq, EPOLLIN | EPOLLRDNORM);
}

/* Queue @n unless it already is; true when it was not. */
static bool vbackend_evq_push_locked(struct vbackend_evq *q,
				     struct vbackend_evnode *n)
{
	lockdep_assert_held(&q->lock);
	if (!list_empty(&n->link))
		return false;
	list_add_tail(&n->link, &q->queued);
	return true;
}

/**
 * vbackend_evq_push() - queue a non-trap record unless it already is
 * @q: queue
 * @n: node embedded in its owner
 *
 * Any context.
 */
void vbackend_evq_push(struct vbackend_evq *q, struct vbackend_evnode *n)
{
	unsigned long flags;
	bool queued;

	spin_lock_irqsave(&q->lock, flags);
	queued = vbackend_evq_push_locked(q, n);
	spin_unlock_irqrestore(&q->lock, flags);
	if (queued)
		vbackend_evq_wake(q);
}

/**
 * vbackend_evq_peer_state() - the peer is now bound, or gone
 * @q: queue
 * @bound: PEER_BOUND when true, PEER_GONE when false
 *
 * Only the latest of the two stays queued: the reader learns the state the
 * peer is in, not every change. Any context.
 */
void vbackend_evq_peer_state(struct vbackend_evq *q, bool bound)
{
	unsigned long flags;
	bool queued;

	spin_lock_irqsave(&q->lock, flags);
	list_del_init(bound ? &q->gone.link : &q->bound.link);
	queued = vbackend_evq_push_locked(q, bound ? &q->bound : &q->gone);
	spin_unlock_irqrestore(&q->lock, flags);
	if (queued)
		vbackend_evq_wake(q);
}

/**
 * vbackend_session_event() - queue one of a session's own records
 * @s: session
 * @type: VBACKEND_EVENT_RESET, VBACKEND_EVENT_MEMORY or
 *        VBACKEND_EVENT_NOTIFIERS
 *
 * The record is queued once however often this runs before it is read.
 * Any context.
 */
void vbackend_session_event(struct vbackend_session *s, u32 type)
{
	struct vbackend_evq *q = &s->evq;

	switch (type) {
	case VBACKEND_EVENT_RESET:
		vbackend_evq_push(q, &q->reset);
		break;
	case VBACKEND_EVENT_MEMORY:
		vbackend_evq_push(q, &q->memory);
		break;
	case VBACKEND_EVENT_NOTIFIERS:
		vbackend_evq_push(q, &q->notifiers);
		break;
	default:
		WARN_ONCE(1, "vbackend: no session record of type %u\n", type);
	}
}

/**
 * vbackend_evq_remove() - take a non-trap record back out of the queue
 * @q: queue
 * @n: node; nothing happens if it is not queued
 */
void vbackend_evq_remove(struct vbackend_evq *q, struct vbackend_evnode *n)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	list_del_init(&n->link);
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * vbackend_evq_drain() - unlink every non-trap record (owner going away)
 * @q: queue
 */
void vbackend_evq_drain(struct vbackend_evq *q)
{
	struct vbackend_evnode *n, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	list_for_each_entry_safe(n, tmp, &q->queued, link)
		if (n->type != VBACKEND_EVENT_TRAP)
			list_del_init(&n->link);
	spin_unlock_irqrestore(&q->lock, flags);
}

static void vbackend_trap_finish(struct vbackend_evq *q,
				 struct vbackend_trap_req *req, u64 data,
				 int err)
{
	u8 size = req->access.size;

	lockdep_assert_held(&q->lock);
	list_del_init(&req->node.link);
	q->nr_traps--;
	atomic_long_dec(&vbackend_stats.pending);
	if (size < 8)
		data &= (1ULL << (size * 8)) - 1;
	req->complete(req, data, err);
}

static void vbackend_trap_fail_list(struct vbackend_evq *q,
				    struct list_head *list)
{
	struct vbackend_evnode *n, *tmp;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(n, tmp, list, link)
		if (n->type == VBACKEND_EVENT_TRAP)
			vbackend_trap_finish(q, container_of(n, struct vbackend_trap_req, node),
					     ~0ULL, -EPIPE);
}

/**
 * vbackend_evq_shutdown() - take no more accesses and fail those pending
 * @q: queue
 * @hup: the peer is gone for good: queue PEER_GONE and report EPOLLHUP
 *
 * Every queued or in-flight access completes with -EPIPE, so no vCPU waits
 * on a backend that will never answer.
 */
void vbackend_evq_shutdown(struct vbackend_evq *q, bool hup)
{
	spin_lock_irq(&q->lock);
	q->closed = true;
	vbackend_trap_fail_list(q, &q->queued);
	vbackend_trap_fail_list(q, &q->inflight);
	if (hup) {
		q->hup = true;
		if (list_empty(&q->gone.link))
			list_add_tail(&q->gone.link, &q->queued);
	}
	spin_unlock_irq(&q->lock);
	wake_up_interruptible_poll(&q->wq, EPOLLIN | EPOLLRDNORM | EPOLLHUP);
}

/**
 * vbackend_evq_error() - report a provider failure to the reader
 * @q: queue
 * @error: negative errno
 */
void vbackend_evq_error(struct vbackend_evq *q, int error)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->error = error;
	spin_unlock_irqrestore(&q->lock, flags);
	vbackend_evq_push(q, &q->failed);
}

/**
 * vbackend_trap_submit() - hand a frontend access to the backend
 * @s: backend session
 * @req: the access; the provider keeps it alive until completed or cancelled
 *
 * A write that matches a kick is consumed here and never queued.
 *
 * Return: 1 when a kick consumed it (@req->complete is not called); 0 when
 * queued (@req->complete will be called once, unless cancelled); -ENXIO when
 * no trap range covers it; -EBUSY when too many are pending; -EPIPE when the
 * session takes no more. Any context.
 */
int vbackend_trap_submit(struct vbackend_session *s,
			 struct vbackend_trap_req *req)
{
	struct vbackend_access *a = &req->access;
	struct vbackend_evq *q = &s->evq;
	unsigned long flags;
	int ret = 0;

	if (!vbackend_range_covers(s, a->space, a->addr, a->size)) {
		/* a closing session frees its ranges after closing the queue */
		spin_lock_irqsave(&q->lock, flags);
		ret = q->closed ? -EPIPE : -ENXIO;
		spin_unlock_irqrestore(&q->lock, flags);
		return ret;
	}
	if (a->dir == VBACKEND_DIR_WRITE && vbackend_kick_match(s, a))
		return 1;

	vbackend_evnode_init(&req->node, VBACKEND_EVENT_TRAP);
	spin_lock_irqsave(&q->lock, flags);
	if (q->closed) {
		ret = -EPIPE;
	} else if (q->nr_traps >= vbackend_limits.max_pending) {
		ret = -EBUSY;
	} else {
		req->seq = ++q->next_seq;
		list_add_tail(&req->node.link, &q->queued);
		q->nr_traps++;
		atomic_long_inc(&vbackend_stats.pending);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (!ret)
		vbackend_evq_wake(q);
	return ret;
}

/**
 * vbackend_trap_cancel() - withdraw an access whose submitter gave up
 * @s: backend session
 * @req: a request that vbackend_trap_submit() queued
 *
 * Return: true when withdrawn (->complete will not run); false when it has
 * already completed (->complete ran, under the lock this function takes).
 */
bool vbackend_trap_cancel(struct vbackend_session *s,
			  struct vbackend_trap_req *req)
{
	struct vbackend_evq *q = &s->evq;
	unsigned long flags;
	bool pending;

	spin_lock_irqsave(&q->lock, flags);
	pending = !list_empty(&req->node.link);
	if (pending) {
		list_del_init(&req->node.link);
		q->nr_traps--;
		atomic_long_dec(&vbackend_stats.pending);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return pending;
}

static void vbackend_evnode_fill(struct vbackend_evq *q,
				 struct vbackend_evnode *n,
				 struct vbackend_event *ev)
{
	struct vbackend_trap_req *req;

	memset(ev, 0, sizeof(*ev));
	ev->type = n->type;
	switch (n->type) {
	case VBACKEND_EVENT_TRAP:
		req = container_of(n, struct vbackend_trap_req, node);
		ev->seq = req->seq;
		ev->u.access = req->access;
		break;
	case VBACKEND_EVENT_IRQ:
		ev->u.irq.id = container_of(n, struct vbackend_irqfd, evnode)->id;
		break;
	case VBACKEND_EVENT_PEER_GONE:
	case VBACKEND_EVENT_ERROR:
		ev->u.status.error = q->error;
		break;
	}
}

/*
 * Move up to @max records into @ev; traps go in flight, other nodes onto
 * the reader's @taken list until the copy to userspace is known to have
 * worked. @nodes gets each record's node, only to be compared with: an
 * owner may unlink (and free) a node on @taken meanwhile, under the lock.
 */
static unsigned int vbackend_evq_take(struct vbackend_evq *q,
				      struct vbackend_event *ev,
				      struct vbackend_evnode **nodes,
				      struct list_head *taken,
				      unsigned int max)
{
	struct vbackend_evnode *n;
	unsigned int i;

	lockdep_assert_held(&q->lock);
	for (i = 0; i < max && !list_empty(&q->queued); i++) {
		n = list_first_entry(&q->queued, struct vbackend_evnode, link);
		vbackend_evnode_fill(q, n, &ev[i]);
		nodes[i] = n;
		if (n->type == VBACKEND_EVENT_TRAP)
			list_move_tail(&n->link, &q->inflight);
		else
			list_move_tail(&n->link, taken);
	}
	return i;
}

/* The records reached the reader: they are consumed. */
static void vbackend_evq_commit(struct vbackend_evq *q, struct list_head *taken)
{
	struct vbackend_evnode *n, *tmp;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(n, tmp, taken, link)
		list_del_init(&n->link);
}

/* Is @node still on @list? Compares pointers only: @node may be gone. */
static struct vbackend_evnode *vbackend_evq_find(struct list_head *list,
						 const struct vbackend_evnode *node)
{
	struct vbackend_evnode *n;

	list_for_each_entry(n, list, link)
		if (n == node)
			return n;
	return NULL;
}

static struct vbackend_evnode *vbackend_evq_find_trap(struct vbackend_evq *q,
						      u64 seq)
{
	struct vbackend_evnode *n;

	list_for_each_entry(n, &q->inflight, link)
		if (container_of(n, struct vbackend_trap_req, node)->seq == seq)
			return n;
	return NULL;
}

/*
 * The copy to userspace failed: put @nr records back at the queue's head,
 * in their order, except those their owner withdrew (or a completion took)
 * meanwhile.
 */
static void vbackend_evq_untake(struct vbackend_evq *q,
				const struct vbackend_event *ev,
				struct vbackend_evnode *const *nodes,
				struct list_head *taken, unsigned int nr)
{
	struct vbackend_evnode *n;
	unsigned int i;

	lockdep_assert_held(&q->lock);
	for (i = nr; i-- > 0;) {
		if (ev[i].type == VBACKEND_EVENT_TRAP)
			n = vbackend_evq_find_trap(q, ev[i].seq);
		else
			n = vbackend_evq_find(taken, nodes[i]);
		if (n)
			list_move(&n->link, &q->queued);
	}
}

/*
 * Copy @nr taken records to @to. Those that did not make it whole go back
 * to the queue, the others are consumed. Return: how many made it.
 */
static unsigned int vbackend_evq_deliver(struct vbackend_evq *q,
					 const struct vbackend_event *ev,
					 struct vbackend_evnode *const *nodes,
					 struct list_head *taken,
					 unsigned int nr, struct iov_iter *to)
{
	size_t copied = copy_to_iter(ev, nr * sizeof(ev[0]), to);
	unsigned int whole = copied / sizeof(ev[0]);

	spin_lock_irq(&q->lock);
	if (whole < nr)
		vbackend_evq_untake(q, ev + whole, nodes + whole, taken,
				    nr - whole);
	vbackend_evq_commit(q, taken);
	spin_unlock_irq(&q->lock);
	return whole;
}

/**
 * vbackend_evq_read() - read() on a session: whole records only
 * @q: queue
 * @to: user buffers (read(), readv(), io_uring)
 * @nonblock: O_NONBLOCK or IOCB_NOWAIT
 *
 * Return: bytes read; 0 once the peer is gone and nothing is left; -EINVAL,
 * -EAGAIN, -ERESTARTSYS or -EFAULT. A failed read consumes no record.
 */
ssize_t vbackend_evq_read(struct vbackend_evq *q, struct iov_iter *to,
			  bool nonblock)
{
	struct vbackend_evnode *nodes[VBACKEND_READ_BATCH];
	struct vbackend_event ev[VBACKEND_READ_BATCH];
	size_t want = iov_iter_count(to) / sizeof(ev[0]);
	LIST_HEAD(taken);
	unsigned int nr, got;
	size_t done = 0;
	int ret;

	if (!want)
		return -EINVAL;

	spin_lock_irq(&q->lock);
	while (list_empty(&q->queued)) {
		bool hup = q->hup;

		spin_unlock_irq(&q->lock);
		if (hup)
			return 0;
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(q->wq, !list_empty_careful(&q->queued) ||
					       READ_ONCE(q->hup));
		if (ret)
			return ret;
		spin_lock_irq(&q->lock);
	}

	while (done < want) {
		nr = vbackend_evq_take(q, ev, nodes, &taken,
				       min_t(size_t, want - done, ARRAY_SIZE(ev)));
		if (!nr)
			break;
		spin_unlock_irq(&q->lock);
		got = vbackend_evq_deliver(q, ev, nodes, &taken, nr, to);
		done += got;
		if (got < nr)
			return done ? done * sizeof(ev[0]) : -EFAULT;
		spin_lock_irq(&q->lock);
	}
	spin_unlock_irq(&q->lock);
	return done * sizeof(ev[0]);
}

/* Return: 0, -ENOENT for a seq not in flight, -EPIPE once the peer is gone. */
static int vbackend_trap_complete(struct vbackend_evq *q,
				  const struct vbackend_completion *c)
{
	struct vbackend_trap_req *req;
	int ret;

	spin_lock_irq(&q->lock);
	/* shut down: everything in flight was already failed */
	ret = q->closed ? -EPIPE : -ENOENT;
	list_for_each_entry(req, &q->inflight, node.link) {
		if (req->seq == c->seq) {
			vbackend_trap_finish(q, req, c->data,
					     c->flags & VBACKEND_COMPLETION_F_ERROR ?
					     -EIO : 0);
			ret = 0;
			break;
		}
	}
	spin_unlock_irq(&q->lock);
	return ret;
}

/**
 * vbackend_evq_write() - write() on a backend session: complete accesses
 * @q: queue
 * @from: user buffers of &struct vbackend_completion records, a non-zero
 *        multiple of the record size in all; never blocks
 *
 * Return: bytes of the records completed before the first bad one, or its
 * error when it is the first: -EINVAL, -ENOENT, -EPIPE (the peer is gone)
 * or -EFAULT.
 */
ssize_t vbackend_evq_write(struct vbackend_evq *q, struct iov_iter *from)
{
	size_t len = iov_iter_count(from);
	struct vbackend_completion c;
	size_t done;
	int ret = 0;

	if (!len || len % sizeof(c))
		return -EINVAL;

	for (done = 0; done < len; done += sizeof(c)) {
		if (copy_from_iter(&c, sizeof(c), from) != sizeof(c)) {
			ret = -EFAULT;
			break;
		}
		if ((c.flags & ~VBACKEND_COMPLETION_F_ERROR) || c.reserved) {
			ret = -EINVAL;
			break;
		}
		ret = vbackend_trap_complete(q, &c);
		if (ret)
			break;
	}
	return done ? done : ret;
}

/**
 * vbackend_evq_poll() - poll() on a session
 * @q: queue
 * @file: session file
 * @wait: poll table
 *
 * Return: EPOLLIN when a record is queued, EPOLLHUP once the peer is gone.
 */
__poll_t vbackend_evq_poll(struct vbackend_evq *q, struct file *file,
			   poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &q->wq, wait);
	spin_lock_irq(&q->lock);
	if (!list_empty(&q->queued))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (q->hup)
		mask |= EPOLLHUP;
	spin_unlock_irq(&q->lock);
	return mask;
}
