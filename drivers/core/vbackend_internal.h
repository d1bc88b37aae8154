/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbackend core: objects shared by the core files and the providers.
 *
 * Lock order (outermost first):
 *   session.lock (mutex) -> provider locks -> evq.lock (spinlock, irqsave)
 *   eventfd wait-queue lock -> provider locks -> evq.lock   (irqfd wakeups)
 *   eventfd wait-queue lock -> kick notifier's wait-queue lock
 *   interrupt notifier's raise_lock -> eventfd wait-queue lock | provider
 *                                      locks -> evq.lock
 *   mmap_lock -> session.revoke_sem                        (window faults)
 */
#ifndef VBACKEND_INTERNAL_H
#define VBACKEND_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/poll.h>
#include <linux/xarray.h>
#include <linux/atomic.h>
#include <linux/mm_types.h>
#include <linux/vbackend.h>

struct vbackend_session;
struct vbackend_irqfd;

/**
 * struct vbackend_limits - per-session caps, set by module parameters
 * @max_windows: memory windows
 * @max_traps: trap ranges
 * @max_kicks: kicks
 * @max_irqs: interrupts
 * @max_pending: accesses queued or in flight
 */
struct vbackend_limits {
	unsigned int max_windows;
	unsigned int max_traps;
	unsigned int max_kicks;
	unsigned int max_irqs;
	unsigned int max_pending;
};

extern struct vbackend_limits vbackend_limits;

/**
 * struct vbackend_stats - live object counts, shown in debugfs
 * @sessions: open sessions
 * @windows: memory windows
 * @traps: trap ranges
 * @kicks: kicks
 * @irqs: interrupts
 * @pending: accesses queued or in flight
 * @regions: VMM memory regions
 * @pages: frontend pages the module holds a reference on
 */
struct vbackend_stats {
	atomic_long_t sessions;
	atomic_long_t windows;
	atomic_long_t traps;
	atomic_long_t kicks;
	atomic_long_t irqs;
	atomic_long_t pending;
	atomic_long_t regions;
	atomic_long_t pages;
};

extern struct vbackend_stats vbackend_stats;

/**
 * struct vbackend_evnode - something that can sit on an event queue
 * @link: on &vbackend_evq.queued or (traps only) &vbackend_evq.inflight;
 *        empty while idle
 * @type: VBACKEND_EVENT_* it reads as
 *
 * Nodes are embedded in their owner, so queuing never allocates and an
 * event that is already queued is not queued twice (coalescing).
 */
struct vbackend_evnode {
	struct list_head link;
	u32 type;
};

/**
 * struct vbackend_trap_req - one frontend access on its way to the backend
 * @node: queue linkage
 * @seq: sequence id given at submission
 * @access: the access; @access.data is the written value
 * @complete: called exactly once unless vbackend_trap_cancel() wins, with
 *            the read value (masked to the access size) and 0, -EIO (the
 *            backend failed it) or -EPIPE (the backend went away). Called
 *            with &vbackend_evq.lock held and interrupts off: must not sleep.
 *
 * Owned by the provider that submits it; the core only links it.
 */
struct vbackend_trap_req {
	struct vbackend_evnode node;
	u64 seq;
	struct vbackend_access access;
	void (*complete)(struct vbackend_trap_req *req, u64 data, int err);
};

/**
 * struct vbackend_evq - the pollable record stream of one session
 * @lock: protects every field below and the links of all queued nodes
 * @queued: nodes not yet read
 * @inflight: trap requests read but not completed
 * @nr_traps: trap requests on @queued or @inflight
 * @next_seq: last sequence id handed out
 * @closed: no new trap requests are taken
 * @hup: the peer is gone for good: EPOLLHUP, and read() returns 0 once empty
 * @error: errno reported by the VBACKEND_EVENT_ERROR node
 * @wq: readers and pollers
 * @gone: VBACKEND_EVENT_PEER_GONE
 * @bound: VBACKEND_EVENT_PEER_BOUND
 * @reset: VBACKEND_EVENT_RESET
 * @failed: VBACKEND_EVENT_ERROR
 * @notifiers: VBACKEND_EVENT_NOTIFIERS
 * @memory: VBACKEND_EVENT_MEMORY
 */
struct vbackend_evq {
	spinlock_t lock;		/* see @lock above */
	struct list_head queued;
	struct list_head inflight;
	unsigned int nr_traps;
	u64 next_seq;
	bool closed;
	bool hup;
	int error;
	wait_queue_head_t wq;
	struct vbackend_evnode gone;
	struct vbackend_evnode bound;
	struct vbackend_evnode reset;
	struct vbackend_evnode failed;
	struct vbackend_evnode notifiers;
	struct vbackend_evnode memory;
};

enum vbackend_role {
	VBACKEND_ROLE_UNBOUND,
	VBACKEND_ROLE_BACKEND,	/* bound to a frontend through a provider */
	VBACKEND_ROLE_FRONTEND,	/* frontend side, owned by a provider (VMM) */
};

/**
 * struct vbackend_provider - one mechanism that reaches frontends
 *
 * Every op is mandatory unless marked optional (the include/linux/vdpa.h
 * convention); vbackend_provider_valid() checks that at load. All ops act
 * on backend sessions: a frontend that is itself a session (the VMM) is a
 * &struct vbackend_frontend_ops, not more ops here.
 *
 * @id: VBACKEND_PROVIDER_*
 * @name: target-string prefix
 * @caps: VBACKEND_PROVIDER_CAP_*
 * @irq_targets: bit per VBACKEND_IRQ_TARGET_* accepted
 * @bind: attach a backend session to the frontend named by @args; called
 *        with the session lock held
 * @unbind: detach a backend session; after it returns no new access is
 *          submitted to it. Called at release, without the session lock.
 * @window_check: may [gpa, gpa + size) with @flags be mapped? Session lock
 *                held; mandatory with VBACKEND_PROVIDER_CAP_WINDOWS
 * @window_may_write: may a window over [gpa, gpa + size), accepted as
 *                    writable, still be mmap()ed for writing? Optional,
 *                    session lock held; 0 or the errno to refuse with
 * @mem_region: describe the @index-th region of frontend memory (-ENOENT
 *              past the last); optional
 * @range_claim: start routing [start, last] of @space to this session;
 *               optional, session lock held
 * @range_release: stop routing a range @range_claim took; session lock
 *                 held; mandatory with @range_claim
 * @window_fault: map the frontend page at @gpa at @addr of @vma; called
 *                under the session's revoke_sem (read), and the mapping
 *                must stay valid until the session's windows are revoked
 *                (revocation zaps it); mandatory with
 *                VBACKEND_PROVIDER_CAP_WINDOWS
 * @irq_attach: accept @irq's target and set up what raising it needs
 *              (&vbackend_irqfd.prov_handle); optional, session lock held
 * @irq_raise: the backend signalled @irq; atomic context; mandatory when
 *             @irq_targets is not empty
 * @irq_detach: @irq is going away; undo what @irq_raise may have queued;
 *              optional
 * @notifiers_changed: kicks or interrupts of the session changed; optional
 * @session_irq_targets: the target types this backend session takes, when
 *                       narrower than @irq_targets; optional, session lock
 *                       held
 */
struct vbackend_provider {
	u32 id;
	const char *name;
	u32 caps;
	u32 irq_targets;
	int (*bind)(struct vbackend_session *s, char *args);
	void (*unbind)(struct vbackend_session *s);
	int (*window_check)(struct vbackend_session *s, u64 gpa, u64 size,
			    u32 flags);
	int (*window_may_write)(struct vbackend_session *s, u64 gpa, u64 size);
	int (*mem_region)(struct vbackend_session *s, u32 index,
			  struct vbackend_mem_region *out);
	int (*range_claim)(struct vbackend_session *s, u8 space, u64 start,
			   u64 last);
	void (*range_release)(struct vbackend_session *s, u8 space, u64 start,
			      u64 last);
	vm_fault_t (*window_fault)(struct vbackend_session *s,
				   struct vm_area_struct *vma,
				   unsigned long addr, u64 gpa);
	int (*irq_attach)(struct vbackend_session *s,
			  struct vbackend_irqfd *irq);
	void (*irq_raise)(struct vbackend_session *s,
			  struct vbackend_irqfd *irq);
	void (*irq_detach)(struct vbackend_session *s,
			   struct vbackend_irqfd *irq);
	void (*notifiers_changed)(struct vbackend_session *s);
	u32 (*session_irq_targets)(struct vbackend_session *s);
};

/**
 * struct vbackend_frontend_ops - a frontend that is itself a session
 *
 * The VMM-fed frontend: a process drives it through a session of its own
 * and backends reach it through @prov. Every op is mandatory.
 *
 * @prov: the provider backends bind to this frontend through
 * @create_nr: _IOC_NR() of the command that makes an unbound session
 *             this frontend
 * @create: that command; makes the session the frontend with
 *          vbackend_session_become_frontend()
 * @ioctl: the frontend's other commands, by number (_IOC_NR());
 *         -ENOIOCTLCMD for others
 * @release: tear the frontend down when its file is released
 */
struct vbackend_frontend_ops {
	const struct vbackend_provider *prov;
	unsigned int create_nr;
	long (*create)(struct vbackend_session *s, void __user *uarg);
	long (*ioctl)(struct vbackend_session *s, unsigned int nr,
		      void __user *uarg);
	void (*release)(struct vbackend_session *s);
};

/**
 * struct vbackend_session - everything one open file of /dev/vbackend owns
 * @ref: the file holds one; so does anyone who reaches the session through
 *       a provider link (e.g. a VMM forwarding an access)
 * @inode: private inode whose mapping carries this session's window mmaps,
 *         so revocation zaps this session's mappings only
 * @lock: protects @role, @prov, @fe_ops, @dead, @next_pgoff and the id
 *        tables
 * @role: what the session is; set once, under @lock
 * @dead: the frontend is gone; backend operations fail with -EPIPE
 * @prov: provider behind the session, set together with @role: the one a
 *        backend bound through, or the one a frontend's backends bind
 *        through
 * @fe_ops: what a frontend session is, set together with @role
 * @prov_data: the provider's (or the frontend's) per-session state
 * @revoke_sem: window faults (read) against window revocation (write)
 * @next_pgoff: mmap offset (in pages) of the next window
 * @windows: id -> &struct vbackend_window
 * @traps: id -> &struct vbackend_range
 * @kicks: id -> &struct vbackend_kick_entry
 * @irqs: id -> &struct vbackend_irqfd
 * @range_list: RCU list of the trap ranges, for lookups in atomic context
 * @kick_list: RCU list of the kicks, for matching in atomic context
 * @kick_sources: the eventfds the frontend's VMM attached to kick
 *                notifiers (kick.c), under @lock
 * @nr_kick_sources: their number, under @lock
 * @evq: the record stream read() and write() work on
 */
struct vbackend_session {
	struct kref ref;
	struct inode *inode;
	struct mutex lock;		/* see @lock above */
	enum vbackend_role role;
	bool dead;
	const struct vbackend_provider *prov;
	const struct vbackend_frontend_ops *fe_ops;
	void *prov_data;
	struct rw_semaphore revoke_sem;
	unsigned long next_pgoff;
	struct xarray windows;
	struct xarray traps;
	struct xarray kicks;
	struct xarray irqs;
	struct list_head range_list;
	struct list_head kick_list;
	struct list_head kick_sources;
	unsigned int nr_kick_sources;
	struct vbackend_evq evq;
};

/**
 * struct vbackend_evhook - a callback on an eventfd's wait queue (evhook.c)
 * @file: the eventfd's file (a reference)
 * @ctx: its eventfd context (a reference)
 * @wait: our entry on the eventfd's wait queue while @armed
 * @wqh: that wait queue
 * @pt: poll table used once to find @wqh
 * @armed: @wait is on @wqh; changed under the owner's lock
 */
struct vbackend_evhook {
	struct file *file;
	struct eventfd_ctx *ctx;
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table pt;
	bool armed;
};

/**
 * struct vbackend_irqfd - what interrupts the frontend when written
 * @s: owning session
 * @id: id in &vbackend_session.irqs
 * @type: VBACKEND_IRQ_TARGET_*
 * @target: type-specific target
 * @notifier: with VBACKEND_IRQ_F_NOTIFIER, its file (a reference); NULL
 *            when the backend gave an eventfd
 * @src: that eventfd, consumed by the kernel while armed (under the
 *       session lock); unused with @notifier
 * @sink: with @notifier, the VMM's eventfd raising goes to (a reference),
 *        NULL for the provider; under the notifier's raise lock
 * @prov_handle: what the provider's @irq_attach set up (e.g. a port)
 * @evnode: VBACKEND_EVENT_IRQ node a provider may queue on a peer
 */
struct vbackend_irqfd {
	struct vbackend_session *s;
	u32 id;
	u32 type;
	u64 target[2];
	struct file *notifier;
	struct vbackend_evhook src;
	struct eventfd_ctx *sink;
	unsigned long prov_handle;
	struct vbackend_evnode evnode;
};

/* main.c */
extern const struct file_operations vbackend_fops;
struct inode *vbackend_alloc_inode(void);
const struct vbackend_provider *vbackend_provider_by_id(u32 id);
const struct vbackend_provider *vbackend_provider_by_name(const char *name);
u32 vbackend_provider_mask(void);
long vbackend_frontend_ioctl(struct vbackend_session *s, unsigned int nr,
			     void __user *uarg);

/* args.c */
int vbackend_args_in(void *karg, size_t ksize, const void __user *uarg);
int vbackend_args_out(void __user *uarg, const void *karg, size_t ksize);
#define VBACKEND_ARGS_IN(k, u)	vbackend_args_in(&(k), sizeof(k), (u))
#define VBACKEND_ARGS_OUT(u, k)	vbackend_args_out((u), &(k), sizeof(k))
bool vbackend_is_zero(const void *p, size_t n);
int vbackend_access_check(u8 space, u64 addr, u64 len);
int vbackend_space_of(u32 flags, u8 *space);

/* A trapped access is 1, 2, 4 or 8 bytes wide. */
static inline bool vbackend_access_size_valid(u64 size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* session.c */
struct vbackend_session *vbackend_session_from_file(struct file *file);
void vbackend_session_get(struct vbackend_session *s);
void vbackend_session_put(struct vbackend_session *s);
void *vbackend_session_frontend(struct vbackend_session *s,
				const struct vbackend_frontend_ops *ops);
int vbackend_session_backend_lock(struct vbackend_session *s);
int vbackend_session_id_lock(struct vbackend_session *s, void __user *uarg,
			     u32 *id);
void vbackend_session_notifiers_changed(struct vbackend_session *s);
long vbackend_session_bind(struct vbackend_session *s, void __user *uarg);
long vbackend_session_get_info(struct vbackend_session *s, void __user *uarg);
u32 vbackend_session_irq_targets(struct vbackend_session *s);
int vbackend_session_become_frontend(struct vbackend_session *s,
				     const struct vbackend_frontend_ops *ops,
				     void *data);
void vbackend_session_peer_gone(struct vbackend_session *s, int error);
int vbackend_session_open(struct inode *inode, struct file *file);
int vbackend_session_release(struct inode *inode, struct file *file);

/* evq.c */
void vbackend_evq_init(struct vbackend_evq *q);
void vbackend_evq_push(struct vbackend_evq *q, struct vbackend_evnode *n);
void vbackend_evq_peer_state(struct vbackend_evq *q, bool bound);
void vbackend_session_event(struct vbackend_session *s, u32 type);
void vbackend_evq_remove(struct vbackend_evq *q, struct vbackend_evnode *n);
void vbackend_evq_drain(struct vbackend_evq *q);
void vbackend_evq_shutdown(struct vbackend_evq *q, bool hup);
void vbackend_evq_error(struct vbackend_evq *q, int error);
int vbackend_trap_submit(struct vbackend_session *s,
			 struct vbackend_trap_req *req);
bool vbackend_trap_cancel(struct vbackend_session *s,
			  struct vbackend_trap_req *req);
ssize_t vbackend_evq_read(struct vbackend_evq *q, struct iov_iter *to,
			  bool nonblock);
ssize_t vbackend_evq_write(struct vbackend_evq *q, struct iov_iter *from);
__poll_t vbackend_evq_poll(struct vbackend_evq *q, struct file *file,
			   poll_table *wait);

/* window.c */
long vbackend_window_map(struct vbackend_session *s, void __user *uarg);
long vbackend_window_unmap(struct vbackend_session *s, void __user *uarg);
long vbackend_mem_region(struct vbackend_session *s, void __user *uarg);
int vbackend_window_mmap(struct vbackend_session *s,
			 struct vm_area_struct *vma);
void vbackend_windows_revoke_all(struct vbackend_session *s);
void vbackend_windows_free(struct vbackend_session *s);

/* range.c */
long vbackend_trap_add(struct vbackend_session *s, void __user *uarg);
long vbackend_trap_del(struct vbackend_session *s, void __user *uarg);
bool vbackend_range_covers(struct vbackend_session *s, u8 space, u64 addr,
			   u64 len);
void vbackend_ranges_free(struct vbackend_session *s);

/* evhook.c */
int vbackend_evhook_get(struct vbackend_evhook *h, int fd);
void vbackend_evhook_put(struct vbackend_evhook *h);
u64 vbackend_evhook_arm(struct vbackend_evhook *h, wait_queue_func_t func);
void vbackend_evhook_disarm(struct vbackend_evhook *h);
struct vbackend_evhook *vbackend_evhook_fired(wait_queue_entry_t *wait,
					      void *key);

/* notifier.c */
struct file *vbackend_notifier_new(bool is_irq);
bool vbackend_is_kick_notifier(struct file *file);
void vbackend_notifier_signal(struct file *file);
void vbackend_notifier_link(struct file *file, struct vbackend_irqfd *irq);
struct eventfd_ctx *vbackend_notifier_swap_sink(struct file *file,
						struct vbackend_irqfd *irq,
						struct eventfd_ctx *sink);
int vbackend_notifier_hand_out(struct file *file, int fd, int err);

/* kick.c */
long vbackend_kick_add(struct vbackend_session *s, void __user *uarg);
long vbackend_kick_del(struct vbackend_session *s, void __user *uarg);
bool vbackend_kick_match(struct vbackend_session *s,
			 const struct vbackend_access *a);
bool vbackend_kicks_in(struct vbackend_session *s, u8 space, u64 start,
		       u64 last);
int vbackend_kick_export(struct vbackend_session *s, u32 cursor,
			 struct vbackend_kick *out, struct file **file);
int vbackend_kick_set_source(struct vbackend_session *s, u32 id, int fd);
void vbackend_kick_sources_detach(struct vbackend_session *s);
void vbackend_kicks_free(struct vbackend_session *s);

/* irq.c */
long vbackend_irq_add(struct vbackend_session *s, void __user *uarg);
long vbackend_irq_del(struct vbackend_session *s, void __user *uarg);
int vbackend_irq_export(struct vbackend_session *s, u32 cursor, bool direct,
			struct vbackend_irq *out, struct file **file);
void vbackend_irq_direct(struct vbackend_session *s, u32 id, struct file *file);
int vbackend_irq_set_sink(struct vbackend_session *s, u32 id, int fd);
void vbackend_irq_sinks_detach(struct vbackend_session *s);
void vbackend_irqs_free(struct vbackend_session *s);

/* ioctl.c */
long vbackend_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* stats.c */
void vbackend_stats_init(void);
void vbackend_stats_exit(void);

/* providers, and the frontend that is a session */
extern const struct vbackend_provider vbackend_vmm_provider;
extern const struct vbackend_provider vbackend_xen_provider;
extern const struct vbackend_frontend_ops vbackend_vmm_frontend_ops;

#endif /* VBACKEND_INTERNAL_H */
