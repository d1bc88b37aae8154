/* SPDX-License-Identifier: Apache-2.0 */
/*
 * frontend-sim: a userspace virtio-mmio *driver* that plays the guest of a
 * VMM-fed vbackend frontend.
 *
 * It creates a VMM session on /dev/vbackend, starts a backend (any program
 * that takes "vmm:fd=N" targets) with the session inherited as descriptor
 * N, registers a memfd as guest RAM once the backend's registers answer
 * (as QEMU does, at driver start), and then drives the backend's
 * virtio-mmio devices exactly as a guest kernel would: every register
 * access is a VBACKEND_VMM_ACCESS, QueueNotify writes are consumed by the
 * backend's kicks, and interrupts arrive as VBACKEND_EVENT_IRQ records on
 * the session. Rings and buffers live in the guest RAM.
 *
 * The library is single-threaded by design (one "vCPU"), except that any
 * thread may issue register accesses; a watchdog thread turns every wait
 * that outlives its deadline into exit status FSIM_EXIT_TIMEOUT with a
 * message, so a misbehaving backend fails a run instead of hanging it.
 *
 * Conventions: functions returning int give 0 (or a count) or a negative
 * errno; the first failure of a run is described by fsim_fail() and kept
 * in fsim_first_failure().
 */
#ifndef FSIM_H
#define FSIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "frontend-sim writes virtio rings in host order: little-endian hosts only"
#endif

/* Exit statuses of the CLI. */
#define FSIM_EXIT_PASS		0	/* everything verified */
#define FSIM_EXIT_FAIL		1	/* a check failed (mismatch, error) */
#define FSIM_EXIT_USAGE		2	/* bad command line */
#define FSIM_EXIT_TIMEOUT	3	/* the watchdog fired: something hung */
#define FSIM_EXIT_SKIP		4	/* no /dev/vbackend (module not loaded) */

#define FSIM_RAM_GPA		0x40000000ULL
#define FSIM_PAGE		4096ULL
#define FSIM_MAX_DEVS		4
#define FSIM_MAX_QUEUES		16
#define FSIM_MAX_IRQS		16
#define FSIM_MAX_KICKS		64
/* Longest chain the simulator builds for a request (data + header + status). */
#define FSIM_MAX_CHAIN		128
/* The descriptor the backend inherits the VMM session as. */
#define FSIM_CHILD_FD		3

/* ---- messages -------------------------------------------------------- */

extern int fsim_verbose;
/* A readable report line on stdout ("%-9s" label, then the text). */
void fsim_say(const char *label, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A debug line on stderr when fsim_verbose. */
void fsim_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record a failure (the first one is kept) and print it on stderr. */
void fsim_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fsim_first_failure(void);
unsigned int fsim_failures(void);
long fsim_now_ms(void);
void fsim_sleep_ms(long ms);
/* "64M", "1G", "4096", "0x1000" -> bytes; -1 when malformed. */
long long fsim_parse_size(const char *s);
/* "12.3 MiB" into @buf. */
const char *fsim_mib(uint64_t bytes, char *buf, size_t len);

/* ---- watchdog ------------------------------------------------------- */

/* Start the watchdog: the whole run may take @total_ms (0: no limit). */
int fsim_watchdog_start(long total_ms);
/* Arm a deadline for the calling thread's next blocking step; returns a
 * slot to pass to fsim_watch_end(). The message says what hung. */
int fsim_watch_begin(long ms, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fsim_watch_end(int slot);
/* Called by the watchdog before it exits (kills the backends). */
void fsim_on_timeout(void (*fn)(void));

/* ---- the VM: VMM session, guest RAM, backend process ----------------- */

struct fsim_dev;

struct fsim_irq_map {
	uint32_t id;		/* kernel interrupt id */
	uint32_t type;
	uint64_t target0;	/* line number for VBACKEND_IRQ_TARGET_LINE */
	int efd;		/* our eventfd on its notifier, -1: IRQ records */
};

/* A kick whose notifier has our eventfd attached (KVM_IOEVENTFD's part). */
struct fsim_kick_map {
	uint32_t id;
	uint64_t addr;
	uint32_t len;
	bool datamatch;
	uint64_t data;
	int efd;
};

struct fsim_vm_stats {
	uint64_t accesses;	/* VMM_ACCESS calls */
	uint64_t kicked;	/* ... that a kick consumed */
	uint64_t irq_events;	/* VBACKEND_EVENT_IRQ records */
	uint64_t spurious_irqs;	/* ... for which InterruptStatus was 0 */
	uint64_t notifier_events;
	uint64_t bound_events, gone_events;
	uint64_t attaches;	/* eventfds attached to the backend's notifiers */
	uint64_t fd_kicks;	/* guest writes signalled into our kick eventfds */
	uint64_t fd_irqs;	/* interrupts read from our call eventfds */
	uint64_t queue_irqs;	/* interrupts of one queue (IRQ_TARGET_QUEUE) */
};

struct fsim_vm {
	int fd;			/* VMM session, O_CLOEXEC */
	int memfd;		/* guest RAM */
	bool ram_added;		/* VMM_ADD_MEMORY done (fsim_backend_wait_ready) */
	uint8_t *ram;
	uint64_t ram_gpa, ram_size;
	uint8_t *page_used;	/* allocator: one byte per guest page */
	uint64_t nr_pages;

	/* backend process */
	char *backend;		/* program path */
	char *backend_extra[8];	/* extra arguments before the --device list */
	pid_t pid;		/* 0 when none */
	int exit_status;	/* wait status of the last backend that exited */
	bool exited;
	int logfd;		/* memfd with the backend's stdout+stderr, -1: inherit */
	uint64_t log_seen;	/* bytes of the log already scanned */
	unsigned int starts;	/* backends started so far */

	/* session state from the event stream */
	bool bound;
	bool peer_gone;
	struct fsim_irq_map irqs[FSIM_MAX_IRQS];
	unsigned int nr_irqs;
	struct fsim_kick_map kicks[FSIM_MAX_KICKS];
	unsigned int nr_kicks;
	bool irqs_stale;	/* irqs[] and kicks[] are to be refreshed */
	bool vmm_fds;		/* attach our own eventfds (notifiers.c) */

	struct fsim_dev *devs[FSIM_MAX_DEVS];
	unsigned int nr_devs;
	long access_timeout_ms;
	struct fsim_vm_stats st;
};

struct fsim_vm_opts {
	uint64_t ram_size;	/* default 128 MiB */
	const char *backend;	/* vbackend-sample path */
	bool backend_log_inherit; /* backend output on our stderr, not captured */
	long access_timeout_ms;	/* default 20 s */
	bool no_vmm_fds;	/* leave kicks and interrupts to the kernel */
	bool irq_per_queue;	/* VBACKEND_VMM_F_IRQ_PER_QUEUE */
};

/* Open /dev/vbackend, VMM_CREATE, memfd guest RAM (registered by
 * fsim_backend_wait_ready). -ENOENT when /dev/vbackend is missing. */
int fsim_vm_create(const struct fsim_vm_opts *o, struct fsim_vm **out);
/* Kill a running backend (SIGKILL), close everything. */
void fsim_vm_destroy(struct fsim_vm *vm);

/* Guest RAM: page-granular allocator; memory comes back zeroed.
 * Return: gpa, or 0 when the RAM is full. */
uint64_t fsim_ram_alloc(struct fsim_vm *vm, uint64_t size);
void fsim_ram_free(struct fsim_vm *vm, uint64_t gpa, uint64_t size);
/* Host pointer for [gpa, gpa + len) inside guest RAM, NULL otherwise. */
void *fsim_gpa(struct fsim_vm *vm, uint64_t gpa, uint64_t len);

/* Fork+exec the backend with "--device <spec>" for every device of the VM
 * (each spec gets target=vmm:fd=FSIM_CHILD_FD), the session inherited as
 * FSIM_CHILD_FD. Does not wait. */
int fsim_backend_start(struct fsim_vm *vm);
/* Wait for PEER_BOUND and for every device's registers to answer, then
 * register guest RAM (once: the backend learns of it by an event). */
int fsim_backend_wait_ready(struct fsim_vm *vm, long timeout_ms);
int fsim_backend_signal(struct fsim_vm *vm, int sig);
/* true while the backend process has not exited (reaps it otherwise). */
bool fsim_backend_alive(struct fsim_vm *vm);
/* Wait for the backend to exit: 0 with vm->exit_status, -ETIMEDOUT. */
int fsim_backend_wait_exit(struct fsim_vm *vm, long timeout_ms);
/* SIGTERM, wait, and check the exit status is 0. Prints a line. */
/* Wait for the backend to exit by itself: status 0, no sanitizer report. */
int fsim_backend_expect_exit(struct fsim_vm *vm, long timeout_ms,
			     const char *after);
int fsim_backend_stop(struct fsim_vm *vm, long timeout_ms);
/* Describe a wait status: "exit status 0", "killed by signal 9". */
const char *fsim_wait_str(int status, char *buf, size_t len);
/* Copy of the captured log from @from (malloc'ed, NUL-terminated). */
char *fsim_backend_log(struct fsim_vm *vm, uint64_t from);
uint64_t fsim_backend_log_size(struct fsim_vm *vm);
/* Print the captured log (prefixed) on stderr, the last @max_lines. */
void fsim_backend_log_dump(struct fsim_vm *vm, unsigned int max_lines);
/* Sanitizer reports (ASan, UBSan, LSan) in the log: the first such line. */
bool fsim_backend_log_has_sanitizer_report(struct fsim_vm *vm, char *line,
					   size_t len);
/* SIGUSR1 and wait for one new log line: 0 with @line, -ETIMEDOUT. */
int fsim_backend_status(struct fsim_vm *vm, char *line, size_t len,
			long timeout_ms);

/* One register access, as a vCPU: blocks until the backend answers.
 * @result gets VBACKEND_VMM_ACCESS_* bits. -EPIPE/-ENOTCONN/-EIO/-ENXIO. */
int fsim_access(struct fsim_vm *vm, uint64_t addr, unsigned int size,
		bool write, uint64_t *val, uint32_t *result);
/* The same in VBACKEND_SPACE_VMM: registers of ours no guest reaches. */
int fsim_access_vmm(struct fsim_vm *vm, uint64_t addr, unsigned int size,
		    bool write, uint64_t *val);
/* The VMM-fed provider has that space (VBACKEND_PROVIDER_CAP_VMM_SPACE). */
bool fsim_vm_has_vmm_space(struct fsim_vm *vm);

/* Read the session's records for up to @timeout_ms (0: only what is
 * queued): IRQs are dispatched to their devices (irq_pending), PEER_GONE
 * and PEER_BOUND update the VM. Return: records handled. */
int fsim_vm_pump(struct fsim_vm *vm, long timeout_ms);
/* notifiers.c: refresh the interrupt id -> device map and the kicks
 * (VBACKEND_VMM_GET_IRQ/GET_KICK), attaching new eventfds of ours to the
 * backend's notifiers over the old ones. */
int fsim_vm_refresh(struct fsim_vm *vm);
void fsim_vm_notifiers_close(struct fsim_vm *vm);
/* A guest write KVM would take as an ioeventfd: signalled, true. */
bool fsim_vm_fd_kick(struct fsim_vm *vm, uint64_t addr, unsigned int size,
		     uint64_t val);
/* Our attached call eventfds, for poll(); and one that polled readable:
 * consumed, 1 with its interrupt id. */
unsigned int fsim_vm_irq_pollfds(struct fsim_vm *vm, struct pollfd *pfd,
				 unsigned int max);
int fsim_vm_irq_fd_fired(struct fsim_vm *vm, int efd, uint32_t *id);

/* ---- virtio-mmio device and split virtqueues -------------------------- */

struct fsim_desc_state {
	void *token;		/* NULL: head free */
	uint16_t ndescs;	/* descriptors of the chain in the ring */
	uint16_t last;		/* last descriptor of the chain */
	bool indirect;
};

struct fsim_vq_stats {
	uint64_t added, completed, kicks, kicks_trapped, kicks_suppressed;
	uint64_t indirect;
};

struct fsim_vq {
	struct fsim_dev *dev;
	unsigned int index;
	unsigned int num;	/* queue size, a power of two */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa, indirect_gpa;
	uint64_t ring_bytes;	/* allocated at desc_gpa */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *indirect_pool; /* num tables of FSIM_MAX_CHAIN */
	uint16_t *next_shadow;	/* driver's copy of desc[i].next (free list) */
	struct fsim_desc_state *state;
	uint16_t free_head, num_free;
	uint16_t avail_idx;	/* next avail->idx to publish */
	uint16_t kicked_idx;	/* avail_idx at the last notification */
	uint16_t last_used;	/* next used entry to harvest */
	struct fsim_vq_stats st;
};

struct fsim_dev_stats {
	uint64_t irqs, config_irqs, vring_irqs;
};

struct fsim_dev {
	struct fsim_vm *vm;
	const char *type;	/* "blk", "rng": the backend's --device type */
	char spec_extra[384];	/* ",image=...,queues=N" after the common part */
	uint64_t base;		/* MMIO base */
	uint32_t irq_line;
	uint32_t device_id;	/* expected DeviceID */
	uint32_t vendor_id;

	uint64_t dev_features;	/* offered */
	uint64_t features;	/* negotiated */
	uint32_t status;	/* last written */
	int io_err;		/* first register access error since cleared */
	unsigned int irq_pending; /* IRQ records not handled yet */

	struct fsim_vq vqs[FSIM_MAX_QUEUES];
	unsigned int nr_vqs;
	struct fsim_dev_stats st;
	struct fsim_vq_stats vq_gone;	/* counters of queues set up before */
};

/* Describe a device of the VM (before fsim_backend_start()). */
struct fsim_dev *fsim_dev_add(struct fsim_vm *vm, const char *type,
			      uint32_t device_id, uint64_t base,
			      uint32_t irq_line, const char *spec_extra);

/* Register helpers: errors go to dev->io_err (first one kept). */
uint32_t fsim_rd32(struct fsim_dev *d, uint32_t off);
void fsim_wr32(struct fsim_dev *d, uint32_t off, uint32_t val);
int fsim_reg_read(struct fsim_dev *d, uint32_t off, unsigned int size,
		  uint64_t *val);
int fsim_reg_write(struct fsim_dev *d, uint32_t off, unsigned int size,
		   uint64_t val, uint32_t *result);
/* Device config space, generation-checked. */
int fsim_cfg_read(struct fsim_dev *d, uint32_t off, unsigned int size,
		  void *out);

/* MagicValue, Version 2, DeviceID, VendorID. */
int fsim_dev_probe(struct fsim_dev *d);
/* Status 0, then read Status back until it is 0. Forgets the queues. */
int fsim_dev_reset(struct fsim_dev *d, long timeout_ms);
/* Reset, ACKNOWLEDGE|DRIVER, features (offered & @wanted & known),
 * FEATURES_OK and check it stuck. */
int fsim_dev_negotiate(struct fsim_dev *d, uint64_t wanted);
/* Set up queue @index with min(QueueNumMax, @num) entries in guest RAM. */
int fsim_dev_setup_queue(struct fsim_dev *d, unsigned int index,
			 unsigned int num);
int fsim_dev_driver_ok(struct fsim_dev *d);
/* vhost-user's GET_VRING_BASE: QueueReady=0, which returns once the device
 * has used every request it took, then where it stopped (libvbackend's
 * VB_VMM_QUEUE_BASE) in *@base. The ring stays ours: fsim_vq_get()
 * harvests what was used. */
int fsim_vq_stop(struct fsim_vq *vq, uint16_t *base);
/* The queue, rings as they are, to a device that starts afresh (a backend
 * restarted under us): its size and addresses, VB_VMM_QUEUE_BASE = @base
 * (vhost-user's SET_VRING_BASE), QueueReady=1. */
int fsim_vq_resume(struct fsim_vq *vq, uint16_t base);
/* Free the guest memory of every queue (after a reset). */
void fsim_dev_free_queues(struct fsim_dev *d);
uint32_t fsim_dev_status(struct fsim_dev *d);
/* Queue counters of the device since it was added, summed. */
void fsim_dev_vq_totals(const struct fsim_dev *d, struct fsim_vq_stats *t);
/* Human-readable names of feature bits of a device type. */
const char *fsim_features_str(const struct fsim_dev *d, uint64_t f, char *buf,
			      size_t len);

/* Wait for an interrupt of @d (handles InterruptStatus/ACK).
 * Return: the InterruptStatus bits (> 0), -ETIMEDOUT, -EPIPE (backend
 * gone), or a register access error. */
int fsim_dev_wait_irq(struct fsim_dev *d, long timeout_ms);
/* Handle a pending interrupt, if any: the InterruptStatus bits or 0. */
int fsim_dev_handle_irq(struct fsim_dev *d);

/* One buffer of a chain. */
struct fsim_sg {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
};

#define FSIM_ADD_DIRECT		0
#define FSIM_ADD_INDIRECT	1
/* Post a chain (device-readable first, then device-writable). Return: the
 * head, -ENOSPC when the ring is full, -EINVAL when the chain is too long. */
int fsim_vq_add(struct fsim_vq *vq, const struct fsim_sg *sg, unsigned int n,
		void *token, int mode);
/* Notify the device if it wants it (EVENT_IDX / NO_NOTIFY) or if @force. */
int fsim_vq_kick(struct fsim_vq *vq, bool force);
/* Harvest one used entry: 1 with @token/@len, 0 when none, -EPROTO when the
 * device broke the ring rules (id out of range, not in use, idx jump). */
int fsim_vq_get(struct fsim_vq *vq, void **token, uint32_t *len);
/* Re-arm the used-buffer interrupt; true when nothing is pending. */
bool fsim_vq_enable_cb(struct fsim_vq *vq);
unsigned int fsim_vq_inflight(const struct fsim_vq *vq);
/* Write every descriptor the sim owns back to a free list (after a reset). */
void fsim_vq_forget(struct fsim_vq *vq);

/* ---- pseudo-random data ------------------------------------------------ */

static inline uint64_t fsim_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t fsim_rand(uint64_t *s, uint64_t n)
{
	return n ? fsim_splitmix(s) % n : 0;
}

/* ---- device models ---------------------------------------------------- */

struct fsim_blk_opts {
	const char *image;
	uint64_t size;		/* image size, bytes (created / truncated) */
	uint64_t bytes;		/* bytes to write in the workload */
	unsigned int queues;
	unsigned int qsize;
	bool indirect;		/* negotiate INDIRECT_DESC when offered */
	bool event_idx;		/* negotiate EVENT_IDX when offered */
	bool verify;
	bool readonly;
	uint64_t seed;
	const char *scenario;
	const char *hostile;	/* hostile case name, "all" or "list" */
	bool with_rng;		/* a virtio-rng device in the same backend */
	unsigned int rounds;	/* soak: rounds of I/O and events */
	unsigned int kick_churn_ms; /* the backend's kick-churn=MS, 0: none */
};

int fsim_blk_main(struct fsim_vm *vm, const struct fsim_blk_opts *o);
/* The hostile cases, one line each, on stdout. */
void fsim_hostile_list(void);

struct fsim_rng_opts {
	uint64_t bytes;
	bool event_idx, indirect;
	uint64_t seed;
};

int fsim_rng_main(struct fsim_vm *vm, const struct fsim_rng_opts *o);
/* Drive an rng device of a running backend: probe, set up, read, check. */
int fsim_rng_check(struct fsim_vm *vm, struct fsim_dev *d,
		   const struct fsim_rng_opts *o, bool quiet);

#endif /* FSIM_H */
