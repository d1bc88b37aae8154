/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vbackend: one ioctl ABI for virtio (and other device) backends, whatever
 * the hypervisor that runs the frontend.
 *
 * Every open of /dev/vbackend is one session. A session is bound exactly
 * once to one frontend through one provider (VBACKEND_BIND), or becomes the
 * frontend side of a VMM-fed frontend (VBACKEND_VMM_CREATE). Everything the
 * session creates hangs off the file and dies when it is closed.
 *
 * Conventions for every ioctl argument:
 *  - @argsz is the size of the structure as the caller knows it. It must be
 *    at least the size of the first version of the structure; bytes past the
 *    size the kernel knows must be zero. Output is written back for at most
 *    @argsz bytes.
 *  - @flags bits that are not defined for that ioctl are refused (-EINVAL).
 *  - reserved fields must be zero (-EINVAL); the kernel writes them as zero.
 *  - all fields are fixed-size and naturally aligned; the layout is the same
 *    for i386 and x86_64.
 *  - commands are matched on their type and number alone: the size and
 *    direction bits are not checked, so a structure that grows keeps its
 *    command and @argsz alone tells its size (VBACKEND_FEATURE_IOCTL_NR;
 *    a kernel without that bit wants the v1 command, size included).
 *
 * Full documentation: Documentation/userspace-api/vbackend.rst
 */
#ifndef _UAPI_LINUX_VBACKEND_H
#define _UAPI_LINUX_VBACKEND_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VBACKEND_API_VERSION	1

/* Longest target string accepted by VBACKEND_BIND, without the NUL. */
#define VBACKEND_TARGET_MAX	256

/* Provider ids, as reported in &vbackend_info.providers (bit 1 << id). */
#define VBACKEND_PROVIDER_VMM		1	/* target "vmm:fd=N" */
#define VBACKEND_PROVIDER_XEN		2	/* target "xen:domid=N" */
#define VBACKEND_PROVIDER_IVSHMEM	3	/* target "ivshmem:<pci-bdf>" */

/*
 * Address spaces a trap, kick or access lives in. VBACKEND_SPACE_VMM holds
 * registers no guest can reach: only the frontend's VMM accesses them,
 * with VBACKEND_VMM_ACCESS (a VMM-side protocol's state, such as where a
 * queue resumes); providers that have it say VBACKEND_PROVIDER_CAP_VMM_SPACE.
 */
#define VBACKEND_SPACE_MMIO	0
#define VBACKEND_SPACE_PIO	1
#define VBACKEND_SPACE_VMM	2

/* Flag shared by trap and kick registration: the range is port I/O. */
#define VBACKEND_F_PIO		(1U << 0)
/* Trap registration and VMM accesses: VBACKEND_SPACE_VMM (not with F_PIO). */
#define VBACKEND_F_VMM_SPACE	(1U << 3)

/* Global features, &vbackend_info.features. */
#define VBACKEND_FEATURE_BATCH		(1ULL << 0) /* read()/write() move many records */
#define VBACKEND_FEATURE_KICK_DATAMATCH	(1ULL << 1) /* data-matched kicks beside wildcards */
#define VBACKEND_FEATURE_WINDOW_REVOKE	(1ULL << 2) /* windows SIGBUS after revocation */
#define VBACKEND_FEATURE_IRQ_LEVEL	(1ULL << 3) /* level interrupts with resample (not in v1) */
#define VBACKEND_FEATURE_IOCTL_NR	(1ULL << 4) /* commands matched on number: any size */
#define VBACKEND_FEATURE_NOTIFIER_FD	(1ULL << 5) /* kernel-issued kick/irq fds, VMM_SET_*_FD */
#define VBACKEND_FEATURE_SESSION_INFO	(1ULL << 6) /* VBACKEND_GET_SESSION */

/**
 * struct vbackend_info - what this kernel offers (VBACKEND_GET_INFO)
 * @argsz: size of the structure as the caller knows it
 * @flags: must be zero
 * @api_version: VBACKEND_API_VERSION of the running module
 * @providers: bit (1 << VBACKEND_PROVIDER_*) set for each provider present
 * @features: VBACKEND_FEATURE_* bits
 * @max_windows: memory windows per session
 * @max_traps: trap ranges per session
 * @max_kicks: kicks per session
 * @max_irqs: interrupts per session
 * @max_pending: trapped accesses queued or in flight per session
 * @event_size: sizeof(struct vbackend_event), the unit of read()
 * @completion_size: sizeof(struct vbackend_completion), the unit of write()
 * @reserved: written as zero
 */
struct vbackend_info {
	__u32 argsz;
	__u32 flags;
	__u32 api_version;
	__u32 providers;
	__aligned_u64 features;
	__u32 max_windows;
	__u32 max_traps;
	__u32 max_kicks;
	__u32 max_irqs;
	__u32 max_pending;
	__u32 event_size;
	__u32 completion_size;
	__u32 reserved[5];
};

/* &vbackend_provider_info.caps */
#define VBACKEND_PROVIDER_CAP_MMIO	(1U << 0) /* MMIO traps and kicks */
#define VBACKEND_PROVIDER_CAP_PIO	(1U << 1) /* port I/O traps and kicks */
#define VBACKEND_PROVIDER_CAP_WINDOWS	(1U << 2) /* memory windows */
#define VBACKEND_PROVIDER_CAP_RESET	(1U << 3) /* VBACKEND_EVENT_RESET is delivered */
#define VBACKEND_PROVIDER_CAP_MEMORY	(1U << 4) /* VBACKEND_EVENT_MEMORY is delivered */
#define VBACKEND_PROVIDER_CAP_VMM_SPACE	(1U << 5) /* VBACKEND_SPACE_VMM traps */

/**
 * struct vbackend_provider_info - one provider (VBACKEND_GET_PROVIDER)
 * @argsz: size of the structure as the caller knows it
 * @flags: must be zero
 * @id: in: VBACKEND_PROVIDER_* to describe
 * @caps: VBACKEND_PROVIDER_CAP_* bits
 * @name: NUL-terminated prefix of its target strings, e.g. "vmm"
 * @irq_targets: bit (1 << VBACKEND_IRQ_TARGET_*) for each target type its
 *               sessions may take; VBACKEND_GET_SESSION tells what a bound
 *               one takes
 * @reserved: written as zero
 *
 * Return: 0, or -ENODEV when the provider is not present in this kernel.
 */
struct vbackend_provider_info {
	__u32 argsz;
	__u32 flags;
	__u32 id;
	__u32 caps;
	char name[16];
	__u32 irq_targets;
	__u32 reserved[3];
};

/**
 * struct vbackend_bind - bind the session to a frontend (VBACKEND_BIND)
 * @argsz: size of the structure as the caller knows it
 * @flags: must be zero
 * @target: user pointer to "<provider>:<arguments>", not NUL-terminated
 * @target_len: bytes at @target, 1..VBACKEND_TARGET_MAX
 * @provider: out: VBACKEND_PROVIDER_* that took the session
 * @reserved: must be zero
 *
 * A session is bound once; unbinding is close(). The kernel, not the caller,
 * parses the target, so backends carry no hypervisor-specific code.
 *
 * Return: 0; -EISCONN if already bound or a VMM session; -ENODEV for a
 * provider not present; -EINVAL for a malformed target; provider errors.
 */
struct vbackend_bind {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 target;
	__u32 target_len;
	__u32 provider;
	__u32 reserved[2];
};

/* &vbackend_session_info.role */
#define VBACKEND_SESSION_UNBOUND	0
#define VBACKEND_SESSION_BACKEND	1 /* bound with VBACKEND_BIND */
#define VBACKEND_SESSION_FRONTEND	2 /* a frontend: VBACKEND_VMM_CREATE */

/**
 * struct vbackend_session_info - what this session is (VBACKEND_GET_SESSION)
 * @argsz: size of the structure as the caller knows it
 * @flags: must be zero
 * @role: out: VBACKEND_SESSION_*
 * @provider: out: VBACKEND_PROVIDER_* behind it; 0 while unbound
 * @irq_targets: out: bit (1 << VBACKEND_IRQ_TARGET_*) for each target type
 *               VBACKEND_IRQ_ADD takes on this backend session: its
 *               provider's (&vbackend_provider_info.irq_targets), narrowed
 *               by its frontend; 0 for other roles
 * @reserved: written as zero
 *
 * A backend asks after binding: the VMM-fed provider, for one, offers
 * VBACKEND_IRQ_TARGET_QUEUE only to the backend of a VMM that asked for it.
 */
struct vbackend_session_info {
	__u32 argsz;
	__u32 flags;
	__u32 role;
	__u32 provider;
	__u32 irq_targets;
	__u32 reserved[3];
};

/* &vbackend_window.flags */
#define VBACKEND_WINDOW_F_READ	(1U << 0)
#define VBACKEND_WINDOW_F_WRITE	(1U << 1)

/**
 * struct vbackend_window - map frontend memory (VBACKEND_WINDOW_MAP)
 * @argsz: size of the structure as the caller knows it
 * @flags: VBACKEND_WINDOW_F_* (at least READ)
 * @gpa: frontend-physical start, page aligned
 * @size: bytes, page aligned, non-zero
 * @offset: out: pass to mmap() on the session fd (MAP_SHARED only; never
 *          PROT_EXEC: -EPERM; an O_RDONLY session maps for reading only)
 * @id: out: window id for VBACKEND_WINDOW_UNMAP
 * @reserved: must be zero
 *
 * Pages are mapped on first touch. When the window is unmapped, the session
 * closes or the frontend disappears, every mapping of it is zapped and later
 * accesses raise SIGBUS.
 */
struct vbackend_window {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 gpa;
	__aligned_u64 size;
	__aligned_u64 offset;
	__u32 id;
	__u32 reserved;
};

/* &vbackend_mem_region.flags (out) */
#define VBACKEND_MEM_F_READONLY	(1U << 0) /* windows over it must be read-only */

/**
 * struct vbackend_mem_region - enumerate frontend memory (VBACKEND_MEM_REGION)
 * @argsz: size of the structure as the caller knows it
 * @flags: in: must be zero; out: VBACKEND_MEM_F_*
 * @index: in: 0, 1, 2... until -ENOENT
 * @reserved: must be zero
 * @gpa: out: frontend-physical start of the region
 * @size: out: its size in bytes
 *
 * Lets a backend find the frontend's memory without hypervisor knowledge;
 * mapping a window over all of it is cheap since pages map on first touch.
 * Return: 0, -ENOENT past the last region, -EOPNOTSUPP when the provider
 * cannot enumerate memory.
 */
struct vbackend_mem_region {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 reserved;
	__aligned_u64 gpa;
	__aligned_u64 size;
};

/**
 * struct vbackend_id - name an object by id (the *_DEL and UNMAP ioctls)
 * @argsz: size of the structure as the caller knows it
 * @flags: must be zero
 * @id: the id returned when the object was created
 * @reserved: must be zero
 */
struct vbackend_id {
	__u32 argsz;
	__u32 flags;
	__u32 id;
	__u32 reserved;
};

/**
 * struct vbackend_trap - claim a range of frontend accesses (VBACKEND_TRAP_ADD)
 * @argsz: size of the structure as the caller knows it
 * @flags: VBACKEND_F_PIO for port I/O, VBACKEND_F_VMM_SPACE for the VMM's
 *         own registers (-EOPNOTSUPP where the provider has no such space),
 *         otherwise MMIO
 * @addr: first address
 * @size: bytes, non-zero; port I/O ends at or below 0x10000
 * @id: out: trap id for VBACKEND_TRAP_DEL
 * @reserved: must be zero
 *
 * Every frontend access in the range that no kick consumes arrives as a
 * VBACKEND_EVENT_TRAP record on the session fd. Ranges of one session never
 * overlap (-EEXIST).
 */
struct vbackend_trap {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 size;
	__u32 id;
	__u32 reserved;
};

/* &vbackend_kick.flags, beside VBACKEND_F_PIO */
#define VBACKEND_KICK_F_DATAMATCH	(1U << 1)
#define VBACKEND_KICK_F_NOTIFIER	(1U << 2) /* the kernel issues @fd: see below */

/**
 * struct vbackend_kick - an eventfd the frontend's writes signal (VBACKEND_KICK_ADD)
 * @argsz: size of the structure as the caller knows it
 * @flags: VBACKEND_F_PIO, VBACKEND_KICK_F_DATAMATCH, VBACKEND_KICK_F_NOTIFIER
 * @addr: address written; the kick must lie inside one trap range
 * @data: with DATAMATCH, the value the write must carry (low @len bytes);
 *        zero without it (-EINVAL)
 * @fd: eventfd to signal. With NOTIFIER: -1 in, and out a new notifier fd;
 *      or a kick notifier an earlier KICK_ADD issued, which kicks share
 * @len: access size that matches: 1, 2, 4 or 8
 * @id: out: kick id for VBACKEND_KICK_DEL
 * @reserved: must be zero
 *
 * A matching write is consumed in the kernel and never reaches the trap
 * queue. A data-matched kick takes precedence over a wildcard one at the same
 * address and length; each (address, length, match) exists once (-EEXIST).
 *
 * A notifier fd (VBACKEND_FEATURE_NOTIFIER_FD) reads, polls and writes as
 * an eventfd, and the frontend's VMM can attach its own eventfds to it as
 * sources (VBACKEND_VMM_SET_KICK_FD), any time, without the backend
 * noticing. The descriptor is the caller's, close-on-exec; the kick keeps
 * its file until it is deleted. Given back in @fd, an issued notifier is
 * shared: the queues of one device can wake one thread through one fd.
 */
struct vbackend_kick {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 data;
	__s32 fd;
	__u32 len;
	__u32 id;
	__u32 reserved;
};

/* Interrupt target types, &vbackend_irq.type */
#define VBACKEND_IRQ_TARGET_LINE	1 /* target[0]: GSI / SPI / ISA line */
#define VBACKEND_IRQ_TARGET_MSI		2 /* target[0]: address, target[1]: data */
#define VBACKEND_IRQ_TARGET_EVTCHN	3 /* target[0]: the frontend's port (Xen) */
#define VBACKEND_IRQ_TARGET_VECTOR	4 /* target[0]: vector, target[1]: peer (ivshmem) */
#define VBACKEND_IRQ_TARGET_QUEUE	5 /* target[0]: device base, target[1]: queue */
/*
 * VBACKEND_IRQ_TARGET_QUEUE: the interrupt of one queue of the device whose
 * registers start at target[0], for a frontend with one per queue (a VMM
 * created with VBACKEND_VMM_F_IRQ_PER_QUEUE: virtio-pci's MSI-X vectors,
 * vhost-user's call fd per vring).
 */

/* &vbackend_irq.flags */
#define VBACKEND_IRQ_F_DIRECT	(1U << 0) /* VMM_GET_IRQ: caller consumes the eventfd */
#define VBACKEND_IRQ_F_NOTIFIER	(1U << 1) /* the kernel issues @fd: see below */

/**
 * struct vbackend_irq - an eventfd that interrupts the frontend (VBACKEND_IRQ_ADD)
 * @argsz: size of the structure as the caller knows it
 * @flags: zero or VBACKEND_IRQ_F_NOTIFIER for VBACKEND_IRQ_ADD (edge
 *         triggered)
 * @fd: eventfd; each write raises the interrupt once. With NOTIFIER, -1 in
 *      and out a new notifier fd
 * @type: VBACKEND_IRQ_TARGET_*, one the provider lists in irq_targets
 * @target: type-specific, see VBACKEND_IRQ_TARGET_*
 * @id: out: interrupt id for VBACKEND_IRQ_DEL
 * @reserved: must be zero; level triggering and a resample fd will use it
 *
 * Each write() to a notifier fd (VBACKEND_FEATURE_NOTIFIER_FD) raises the
 * interrupt at once, in the writer's context, and the frontend's VMM can
 * attach its own eventfd to it as the sink (VBACKEND_VMM_SET_IRQ_FD), any
 * time, without the backend noticing. It never reads anything (read():
 * -EINVAL); once the interrupt is deleted, write() fails with -EPIPE.
 */
struct vbackend_irq {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 type;
	__aligned_u64 target[2];
	__u32 id;
	__u32 reserved[3];
};

/* Event types, &vbackend_event.type */
#define VBACKEND_EVENT_TRAP		1 /* backend: an access to complete */
#define VBACKEND_EVENT_PEER_GONE	2 /* the other side is gone for good */
#define VBACKEND_EVENT_RESET		3 /* backend: the frontend was reset */
#define VBACKEND_EVENT_ERROR		4 /* backend: provider failure, see status */
#define VBACKEND_EVENT_PEER_BOUND	5 /* VMM: a backend bound to this frontend */
#define VBACKEND_EVENT_IRQ		6 /* VMM: the backend raised interrupt irq.id */
#define VBACKEND_EVENT_NOTIFIERS	7 /* VMM: the backend's kicks or irqs changed */
#define VBACKEND_EVENT_MEMORY		8 /* backend: the frontend has new memory */

/* &vbackend_access.dir */
#define VBACKEND_DIR_READ	0
#define VBACKEND_DIR_WRITE	1

/**
 * struct vbackend_access - one frontend access
 * @addr: address accessed
 * @data: value written (DIR_WRITE), zero for reads
 * @vcpu: frontend vCPU that made the access
 * @size: 1, 2, 4 or 8
 * @space: VBACKEND_SPACE_*
 * @dir: VBACKEND_DIR_*
 * @reserved0: zero
 * @reserved: zero
 */
struct vbackend_access {
	__aligned_u64 addr;
	__aligned_u64 data;
	__u32 vcpu;
	__u8 size;
	__u8 space;
	__u8 dir;
	__u8 reserved0;
	__u32 reserved[2];
};

/**
 * struct vbackend_event - one record read() from a session fd
 * @type: VBACKEND_EVENT_*
 * @flags: zero
 * @seq: TRAP: the sequence id to complete; zero otherwise
 * @u: type-specific payload
 * @u.access: TRAP: the access
 * @u.status: PEER_GONE, RESET, ERROR: @error is a negative errno or zero
 * @u.irq: IRQ: the interrupt id that was raised
 * @u.raw: size of the payload
 *
 * read() (and readv(), io_uring) returns whole records only, as many as
 * fit in all the buffers, and blocks (unless
 * O_NONBLOCK) while none is queued; one that fails (-EFAULT) consumes no
 * record, of any type. Once the peer is gone and the queue is
 * empty, read() returns 0. poll() reports EPOLLIN while records are queued,
 * EPOLLHUP once the peer is gone, and EPOLLOUT always on a backend session
 * (writing completions never blocks).
 */
struct vbackend_event {
	__u32 type;
	__u32 flags;
	__aligned_u64 seq;
	union {
		struct vbackend_access access;
		struct {
			__s32 error;
			__u32 reserved;
		} status;
		struct {
			__u32 id;
			__u32 reserved;
		} irq;
		__u8 raw[48];
	} u;
};

/* &vbackend_completion.flags */
#define VBACKEND_COMPLETION_F_ERROR	(1U << 0) /* fail the access (bus error) */

/**
 * struct vbackend_completion - one record write()n to complete a trap
 * @seq: &vbackend_event.seq of the TRAP being completed
 * @data: value returned to a read access (low @size bytes used)
 * @flags: VBACKEND_COMPLETION_F_*
 * @reserved: must be zero
 *
 * write() takes whole records; it stops at the first bad one and returns
 * the bytes of the records completed before it, or the error if none was:
 * -ENOENT for a sequence id not in flight, -EINVAL for bad flags, -EPIPE
 * once the frontend is gone (every access in flight was failed then).
 */
struct vbackend_completion {
	__aligned_u64 seq;
	__aligned_u64 data;
	__u32 flags;
	__u32 reserved;
};

/*
 * VMM-fed provider, frontend side. A VMM (or a test frontend) turns a
 * fresh session into a frontend with VBACKEND_VMM_CREATE, registers guest
 * memory and forwards the accesses its vCPUs make. A backend binds to it with
 * the target "vmm:fd=N", N being its own descriptor for the VMM session
 * (inherited or received over SCM_RIGHTS): there is no global name.
 */

/* &vbackend_vmm_ctl.flags of VBACKEND_VMM_CREATE */
#define VBACKEND_VMM_F_IRQ_PER_QUEUE	(1U << 0) /* backends may add QUEUE interrupts */

/**
 * struct vbackend_vmm_ctl - argument-less VMM operations
 * @argsz: size of the structure as the caller knows it
 * @flags: VBACKEND_VMM_F_* for VBACKEND_VMM_CREATE, otherwise zero
 * @reserved: must be zero
 *
 * With VBACKEND_VMM_F_IRQ_PER_QUEUE the frontend has one interrupt per
 * queue, as a virtio-pci device with MSI-X does (vhost-user: a call fd per
 * vring): its backend may add VBACKEND_IRQ_TARGET_QUEUE interrupts, and
 * sees it in VBACKEND_GET_SESSION's irq_targets.
 */
struct vbackend_vmm_ctl {
	__u32 argsz;
	__u32 flags;
	__u32 reserved[2];
};

/* &vbackend_vmm_memory.flags */
#define VBACKEND_VMM_MEM_F_READONLY	(1U << 0) /* backends may only map it read-only */

/**
 * struct vbackend_vmm_memory - guest RAM backed by a memfd (VBACKEND_VMM_ADD_MEMORY)
 * @argsz: size of the structure as the caller knows it
 * @flags: VBACKEND_VMM_MEM_F_*
 * @gpa: guest-physical start, page aligned
 * @size: bytes, page aligned, non-zero
 * @offset: offset in the memfd, page aligned
 * @fd: a memfd sealed with F_SEAL_SHRINK (-EBADFD otherwise)
 * @reserved: must be zero
 *
 * The memfd must be sealed against shrinking, so no registered page is ever
 * past its end. A hole punched in a registered range is not seen by the
 * backend for pages its windows already touched (they stay held until the
 * frontend is gone); see Documentation/userspace-api/vbackend.rst.
 * Regions never overlap, including one that ends exactly at 2^64 (-EEXIST).
 * A write-sealed memfd is only taken read-only (-EPERM). A writable region
 * counts as a writable shared mapping of the memfd: F_SEAL_WRITE fails with
 * -EBUSY while it exists. After F_SEAL_FUTURE_WRITE, writable windows over
 * it and PROT_WRITE mmap()s of older ones fail with -EPERM.
 */
struct vbackend_vmm_memory {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 gpa;
	__aligned_u64 size;
	__aligned_u64 offset;
	__s32 fd;
	__u32 reserved;
};

/* &vbackend_vmm_access.result */
#define VBACKEND_VMM_ACCESS_KICKED	(1U << 0) /* consumed by a kick */

/**
 * struct vbackend_vmm_access - forward one vCPU access (VBACKEND_VMM_ACCESS)
 * @argsz: size of the structure as the caller knows it
 * @flags: VBACKEND_F_PIO, or VBACKEND_F_VMM_SPACE for an access of the
 *         VMM's own (no kick matches there)
 * @addr: address accessed
 * @data: in: value written; out: value read
 * @vcpu: the vCPU making the access
 * @size: 1, 2, 4 or 8
 * @dir: VBACKEND_DIR_*
 * @result: out: VBACKEND_VMM_ACCESS_* bits
 * @reserved: must be zero
 *
 * Blocks, as the vCPU would, until the backend completes the access.
 * Return: 0; -ENXIO when no trap range of the backend covers it; -ENOTCONN
 * with no backend bound; -EPIPE when the backend went away first; -EIO when
 * the backend failed it; -EINTR when a fatal signal interrupted the wait.
 */
struct vbackend_vmm_access {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 data;
	__u32 vcpu;
	__u32 size;
	__u32 dir;
	__u32 result;
	__u32 reserved[2];
};

/**
 * struct vbackend_vmm_notifier - attach a VMM eventfd to a backend's
 * notifier (VBACKEND_VMM_SET_KICK_FD, VBACKEND_VMM_SET_IRQ_FD)
 * @argsz: size of the structure as the caller knows it
 * @flags: must be zero
 * @id: the kick or interrupt id, as VMM_GET_KICK / VMM_GET_IRQ list it
 * @fd: the VMM's eventfd; -1 detaches the one attached
 * @reserved: must be zero
 *
 * SET_KICK_FD: each signal of @fd (a KVM_IOEVENTFD, say) signals the kick's
 * notifier from the signaller's context, with no thread in between; and
 * the notifier is signalled once at every attach, so that a kick that
 * reached the fd being replaced is never lost (the backend re-scans).
 * SET_IRQ_FD: each write to the interrupt's notifier signals @fd (a
 * KVM_IRQFD: MSIs are injected there and then) instead of queuing
 * VBACKEND_EVENT_IRQ, which detaching brings back; @fd is signalled once
 * at attach, so an interrupt may be duplicated by a swap, never dropped.
 * Attaching replaces, atomically for the backend, whatever was attached.
 * A kick source belongs to the notifier and the kick's match (address,
 * size, data), not to the kick: it stays when the kick is deleted, so a
 * write KVM took while the backend adds the kick again (sharing its
 * notifier) is not lost, and attaching through the new kick replaces it.
 * The kernel holds its own reference on @fd until it is replaced or
 * detached, or, for a kick source, the backend session or the VMM's
 * closes; for an interrupt sink, also until the interrupt is deleted.
 *
 * Return: 0; -ENOENT for an unknown id; -EOPNOTSUPP when the backend gave
 * its own eventfd instead of asking for a notifier (VMM_GET_KICK/IRQ hand
 * that one out); -EBADF, or -EINVAL when @fd is not an eventfd; -ENOSPC
 * past max_kicks kick sources; -ENOTCONN with no backend bound.
 */
struct vbackend_vmm_notifier {
	__u32 argsz;
	__u32 flags;
	__u32 id;
	__s32 fd;
	__u32 reserved[2];
};

/*
 * ioctl numbers. Magic 0xBE; grouped as 0x0x discovery and binding,
 * 0x1x windows, 0x2x traps, 0x3x kicks, 0x4x interrupts, 0x8x VMM side.
 */
#define VBACKEND_MAGIC	0xBE

#define VBACKEND_GET_INFO	_IOWR(VBACKEND_MAGIC, 0x00, struct vbackend_info)
#define VBACKEND_GET_PROVIDER	_IOWR(VBACKEND_MAGIC, 0x01, struct vbackend_provider_info)
#define VBACKEND_BIND		_IOWR(VBACKEND_MAGIC, 0x02, struct vbackend_bind)
#define VBACKEND_GET_SESSION	_IOWR(VBACKEND_MAGIC, 0x03, struct vbackend_session_info)

#define VBACKEND_WINDOW_MAP	_IOWR(VBACKEND_MAGIC, 0x10, struct vbackend_window)
#define VBACKEND_WINDOW_UNMAP	_IOW(VBACKEND_MAGIC, 0x11, struct vbackend_id)
#define VBACKEND_MEM_REGION	_IOWR(VBACKEND_MAGIC, 0x12, struct vbackend_mem_region)

#define VBACKEND_TRAP_ADD	_IOWR(VBACKEND_MAGIC, 0x20, struct vbackend_trap)
#define VBACKEND_TRAP_DEL	_IOW(VBACKEND_MAGIC, 0x21, struct vbackend_id)

#define VBACKEND_KICK_ADD	_IOWR(VBACKEND_MAGIC, 0x30, struct vbackend_kick)
#define VBACKEND_KICK_DEL	_IOW(VBACKEND_MAGIC, 0x31, struct vbackend_id)

#define VBACKEND_IRQ_ADD	_IOWR(VBACKEND_MAGIC, 0x40, struct vbackend_irq)
#define VBACKEND_IRQ_DEL	_IOW(VBACKEND_MAGIC, 0x41, struct vbackend_id)

/* VMM side. VMM_GET_KICK/IRQ: @id in is a cursor (the first id >= it is
 * returned, -ENOENT past the last); @fd out is a new O_CLOEXEC descriptor
 * for the same eventfd, to hand to KVM_IOEVENTFD / KVM_IRQFD. With
 * VBACKEND_IRQ_F_DIRECT the kernel stops delivering VBACKEND_EVENT_IRQ for
 * that interrupt: the caller now consumes the eventfd itself. A call that
 * fails (-EMFILE, -EFAULT writing the argument back...) changes nothing.
 * A notifier the backend asked for is listed with the NOTIFIER flag and
 * @fd -1 (DIRECT does not apply): the VMM attaches its own eventfds to it
 * with VMM_SET_KICK_FD / VMM_SET_IRQ_FD.
 */
#define VBACKEND_VMM_CREATE	_IOW(VBACKEND_MAGIC, 0x80, struct vbackend_vmm_ctl)
#define VBACKEND_VMM_ADD_MEMORY	_IOW(VBACKEND_MAGIC, 0x81, struct vbackend_vmm_memory)
#define VBACKEND_VMM_ACCESS	_IOWR(VBACKEND_MAGIC, 0x82, struct vbackend_vmm_access)
#define VBACKEND_VMM_GET_KICK	_IOWR(VBACKEND_MAGIC, 0x83, struct vbackend_kick)
#define VBACKEND_VMM_GET_IRQ	_IOWR(VBACKEND_MAGIC, 0x84, struct vbackend_irq)
#define VBACKEND_VMM_RESET	_IOW(VBACKEND_MAGIC, 0x85, struct vbackend_vmm_ctl)
#define VBACKEND_VMM_SET_KICK_FD _IOW(VBACKEND_MAGIC, 0x86, struct vbackend_vmm_notifier)
#define VBACKEND_VMM_SET_IRQ_FD	_IOW(VBACKEND_MAGIC, 0x87, struct vbackend_vmm_notifier)

#endif /* _UAPI_LINUX_VBACKEND_H */
