// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: a minimal KVM VMM, the kvmtool way, over VMM-owned notifiers
 * ([kvm-vmm]). The test owns /dev/kvm (kvm-amd under the TCG guest's
 * emulated SVM + NPT), backs its guest's RAM with a memfd it also gives
 * vbackend, and serves a backend bound to it:
 *  - its guest (32-bit protected mode, a hundred bytes) writes a
 *    queue-notify register NKICKS times: KVM_IOEVENTFD -> the VMM's
 *    eventfd -> the backend's kick notifier, with no KVM_EXIT_MMIO for any
 *    of them, counted;
 *  - it reads a config register: a KVM_EXIT_MMIO the VMM forwards with
 *    VBACKEND_VMM_ACCESS, answered with the backend's value;
 *  - it kicks on while the VMM swaps its kick eventfd SWAPS times (KVM
 *    deassign, VMM_SET_KICK_FD, KVM assign, as QEMU re-sends them): the
 *    backend counts every kick, plus the one re-scan each attach makes;
 *    kicks in the windows exit to the VMM and reach the backend through
 *    the kernel's kick match;
 *  - the backend writes its interrupt notifier NIRQS times: the VMM's
 *    eventfd -> KVM_IRQFD, a GSI routed as an MSI -> the in-kernel local
 *    APIC -> the guest's handler, which counts them;
 *  - and with the VMM a process of its own: killed while its guest kicks,
 *    the backend sees PEER_GONE, no kick comes after, nothing is left.
 * SKIP without /dev/kvm (the KVM modules are loaded from /lib/kvm when the
 * guest has them).
 *
 * "kvm_vmm_test --hold" is what the test guest's init runs first, for an
 * emulator bug (README, Known): QEMU 7.2's TCG can go on executing a
 * translation of kernel text that another vCPU has just patched, the int3
 * of text_poke_bp() that is no longer there. Linux's int3 handler sees no
 * int3 and steps back onto it: both vCPUs loop with interrupts off, seen
 * as an RCU stall, a soft lockup or a silent hang (3 of 34 runs of this
 * test under host load). KVM patches core text when it loads (perf's
 * guest callbacks) and when the first VM and vCPU come and the last go
 * (preempt notifiers, the local APIC's keys). --hold loads the modules and
 * makes one VM with a vCPU while every other CPU is offline, and keeps
 * them until poweroff: the tests' VMs then patch nothing.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/kvm.h>
#include "vbackend_util.h"

#define STR_(x)		#x
#define STR(x)		STR_(x)

#define RAM_SIZE	0x10000
#define CODE_GPA	0x1000
#define STACK_TOP	0x0ff0
#define GDT_GPA		0x4000
#define IDT_GPA		0x4100
#define COUNTER_GPA	0x500	/* u16: interrupts the guest's handler took */
#define CONFIG_SEEN_GPA	0x504	/* u32: what the guest read */
#define STOP_GPA	0x508	/* u8: the VMM tells the guest to stop kicking */
#define KICKED_GPA	0x50c	/* u32: kicks of the second phase */
#define MMIO_GPA	0xd0000
#define NOTIFY_GPA	0xd0050	/* MMIO_GPA + virtio-mmio QueueNotify */
#define CONFIG_GPA	0xd0100	/* MMIO_GPA + the device's config space */
#define LAPIC_SVR	0xfee000f0
#define LAPIC_EOI	0xfee000b0
#define MSI_ADDR	0xfee00000	/* fixed, to APIC id 0 */
#define MSI_VECTOR	0x30
#define MSI_GSI		24
#define NKICKS		1000	/* the guest's first loop */
#define SWAPS		200
#define NIRQS		50
#define DONE_PORT	0xf4	/* the guest's "phase done" (1, then 2) */
#define CONFIG_VALUE	0x12345678U

/*
 * The guest, 32-bit protected mode without paging (the VMM sets up its
 * GDT and IDT), loaded at CODE_GPA; its counters below it.
 */
asm(".pushsection .rodata\n"
    ".globl guest_start, guest_handler, guest_end\n"
    ".code32\n"
    "guest_start:\n"
    "movl $0x1ff, " STR(LAPIC_SVR) "\n"	/* its local APIC on */
    "movl $" STR(NKICKS) ", %ecx\n"
    "1: movl $0, " STR(NOTIFY_GPA) "\n"
    "loop 1b\n"
    "movl " STR(CONFIG_GPA) ", %eax\n"
    "movl %eax, " STR(CONFIG_SEEN_GPA) "\n"
    "movb $1, %al\n outb %al, $" STR(DONE_PORT) "\n"
    "2: movl $0, " STR(NOTIFY_GPA) "\n"
    "incl " STR(KICKED_GPA) "\n"
    "cmpb $0, " STR(STOP_GPA) "\n"
    "je 2b\n"
    "movb $2, %al\n outb %al, $" STR(DONE_PORT) "\n"
    "sti\n"
    "3: hlt\n jmp 3b\n"
    "guest_handler:\n"
    "incw " STR(COUNTER_GPA) "\n"
    "movl $0, " STR(LAPIC_EOI) "\n"
    "iret\n"
    "guest_end:\n"
    ".code64\n"
    ".popsection\n");
extern const unsigned char guest_start[], guest_handler[], guest_end[];

/**
 * struct kvm_vmm - the test's VMM, its guest and the backend it serves
 * @vmm: the VMM's vbackend session
 * @be: the backend's session, bound to @vmm
 * @memfd: guest RAM, for KVM and for vbackend
 * @kick_nf: the backend's kick notifier (QueueNotify writes of 0)
 * @irq_nf: the backend's interrupt notifier
 * @kvm: /dev/kvm, @vm, @vcpu, @run: the VMM's KVM objects
 * @kick_efd: the VMM's eventfd KVM_IOEVENTFD signals, attached to @kick_nf
 * @call_efd: the VMM's eventfd KVM_IRQFD injects from, attached to @irq_nf
 * @ioev: the KVM_IOEVENTFD of @kick_efd, to deassign it
 * @child: a VMM process of its own, when there is one
 */
struct kvm_vmm {
	int vmm, be, memfd, kick_nf, irq_nf;
	__u32 kick_id, irq_id;
	uint8_t *ram;
	int kvm, vm, vcpu, kick_efd, call_efd;
	struct kvm_run *run;
	long run_size;
	struct kvm_ioeventfd ioev;
	pid_t child;
	pthread_t vcpu_th, be_th;
	atomic_int phase, stop, peer_gone;
	atomic_long backend_kicks, traps, mmio_exits, kick_exits, bad;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

/*
 * The backend: counts its kick notifier, answers the config read, notes
 * when its frontend is gone.
 */
static void *backend_run(void *arg)
{
	struct kvm_vmm *m = arg;
	struct pollfd p[2] = {
		{ .fd = m->be, .events = POLLIN },
		{ .fd = m->kick_nf, .events = POLLIN },
	};
	struct vbackend_event ev;

	while (!m->stop) {
		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[1].revents & POLLIN)
			m->backend_kicks += vb_efd_take(m->kick_nf);
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		if (read(m->be, &ev, sizeof(ev)) != sizeof(ev)) {
			p[0].fd = -1;	/* end of file, after PEER_GONE */
		} else if (ev.type == VBACKEND_EVENT_PEER_GONE) {
			m->peer_gone = 1;
		} else if (ev.type == VBACKEND_EVENT_TRAP) {
			m->traps++;
			if (vb_complete(m->be, ev.seq, ev.u.access.addr == CONFIG_GPA &&
					ev.u.access.dir == VBACKEND_DIR_READ ?
					CONFIG_VALUE : 0, 0) != VB_COMP_SIZE)
				m->bad++;
		}
	}
	return NULL;
}

/* The vCPU: MMIO exits go to the backend through VMM_ACCESS. */
static void *vcpu_run(void *arg)
{
	struct kvm_vmm *m = arg;
	struct kvm_run *run = m->run;

	for (;;) {
		if (ioctl(m->vcpu, KVM_RUN, 0)) {
			if (errno == EINTR && !m->stop)
				continue;
			if (errno != EINTR)
				m->bad++;
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			__u64 data = 0;
			__u32 result = 0;

			m->mmio_exits++;
			m->kick_exits += run->mmio.phys_addr == NOTIFY_GPA;
			memcpy(&data, run->mmio.data, run->mmio.len);
			if (vmm_access_sync(m->vmm, 0, run->mmio.phys_addr, run->mmio.len,
					    run->mmio.is_write ? VBACKEND_DIR_WRITE :
					    VBACKEND_DIR_READ, &data, &result, VB_WAIT_MS))
				m->bad++;
			if (!run->mmio.is_write)
				memcpy(run->mmio.data, &data, run->mmio.len);
		} else if (run->exit_reason == KVM_EXIT_IO && run->io.port == DONE_PORT) {
			m->phase = *((uint8_t *)run + run->io.data_offset);
		} else {
			m->bad++;
			return NULL;
		}
	}
}

/* Loads what /lib/kvm has; NULL, or the module that does not load. */
static const char *load_kvm(void)
{
	static const char *const mods[] = {
		"irqbypass.ko", "kvm.ko", "ccp.ko", "kvm-amd.ko",
	};
	char path[64];

	for (size_t i = 0; i < VB_ARRAY_SIZE(mods); i++) {
		int fd, ret;

		snprintf(path, sizeof(path), "/lib/kvm/%s", mods[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ret = syscall(SYS_finit_module, fd, "", 0);
		close(fd);
		if (ret && errno != EEXIST)
			return mods[i];
	}
	return NULL;
}

/* Writes "0" or "1" to the online file of every CPU but CPU 0. */
static bool set_others_online(const char *v)
{
	char path[64];
	bool ok = true;

	for (int cpu = 1; cpu < 64; cpu++) {
		int fd;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ok &= write(fd, v, 1) == 1;
		close(fd);
	}
	return ok;
}

/* The held VM: the modules, a VM with an in-kernel irqchip, one vCPU. */
static const char *kvm_hold_make(void)
{
	const char *mod = load_kvm();
	int kvm, vm;

	if (mod)
		return mod;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return "no /dev/kvm";
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return "KVM_CREATE_VM";
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return "KVM_CREATE_IRQCHIP";
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return "KVM_CREATE_VCPU";
	return NULL;
}

/*
 * --hold (see the top of this file): a child makes the VM, with the other
 * CPUs offline, tells how it went and sleeps until poweroff.
 */
static int kvm_hold(void)
{
	char msg[128] = "";
	int p[2];
	pid_t pid;

	if (pipe(p))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);
		const char *err = NULL;

		/* nobody waits for the output of a process that never ends */
		close(p[0]);
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
		setsid();
		if (!set_others_online("0"))
			err = "taking the other CPUs offline";
		err = err ?: kvm_hold_make();
		snprintf(msg, sizeof(msg), err ? "%s: %s" : "ok", err, strerror(errno));
		if (!set_others_online("1") && !err) {
			err = "bringing the other CPUs back";
			snprintf(msg, sizeof(msg), "%s: %s", err, strerror(errno));
		}
		if (write(p[1], msg, strlen(msg)) < 0 || err)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], msg, sizeof(msg) - 1) < 0 || strcmp(msg, "ok")) {
		printf("kvm-hold: no VM held (%s)\n", msg[0] ? msg : "the child died");
		return 1;
	}
	printf("kvm-hold: pid %d holds a VM with a vCPU until poweroff\n", pid);
	return 0;
}

static void flat_segment(struct kvm_segment *seg, __u16 selector, __u8 type)
{
	*seg = (struct kvm_segment){
		.limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
}

/* Guest RAM: the code, a flat GDT, an IDT with the handler at MSI_VECTOR. */
static void guest_load(uint8_t *ram)
{
	uint64_t *gdt = (uint64_t *)(ram + GDT_GPA);
	uint64_t *idt = (uint64_t *)(ram + IDT_GPA);
	uint64_t h = CODE_GPA + (guest_handler - guest_start);

	memcpy(ram + CODE_GPA, guest_start, guest_end - guest_start);
	gdt[1] = 0x00cf9b000000ffffULL;	/* code, 4 GiB */
	gdt[2] = 0x00cf93000000ffffULL;	/* data, 4 GiB */
	/* a 32-bit interrupt gate to selector 8 */
	idt[MSI_VECTOR] = (h & 0xffff) | (8ULL << 16) | (0x8eULL << 40) |
			  ((h >> 16) << 48);
}

/* KVM_IRQFD's GSI as an MSI to MSI_VECTOR, the only route. */
static int route_msi(int vm)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + sizeof(r->entries[0]));
	int ret;

	if (!r)
		return -1;
	r->nr = 1;
	r->entries[0].gsi = MSI_GSI;
	r->entries[0].type = KVM_IRQ_ROUTING_MSI;
	r->entries[0].u.msi.address_lo = MSI_ADDR;
	r->entries[0].u.msi.data = MSI_VECTOR;
	ret = ioctl(vm, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

/*
 * The VMM's KVM side, in the calling process: a VM on the guest RAM, its
 * own kick and call eventfds registered with KVM_IOEVENTFD and KVM_IRQFD
 * and attached to the backend's notifiers, one vCPU at the guest's start.
 * Return: NULL, or what failed (errno says why).
 */
static const char *kvm_side_setup(struct kvm_vmm *m)
{
	struct kvm_userspace_memory_region slot = {
		.memory_size = RAM_SIZE, .userspace_addr = (uintptr_t)m->ram,
	};
	struct kvm_irqfd irqfd = { .gsi = MSI_GSI };
	struct kvm_regs regs = { .rip = CODE_GPA, .rsp = STACK_TOP, .rflags = 2 };
	struct kvm_sregs sregs;

	m->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm < 0)
		return "/dev/kvm";
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, 0);
	if (m->vm < 0)
		return "KVM_CREATE_VM";
	if (ioctl(m->vm, KVM_CREATE_IRQCHIP, 0))
		return "KVM_CREATE_IRQCHIP";
	if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &slot))
		return "KVM_SET_USER_MEMORY_REGION";
	if (route_msi(m->vm))
		return "KVM_SET_GSI_ROUTING";
	m->kick_efd = vb_eventfd();
	m->call_efd = vb_eventfd();
	if (m->kick_efd < 0 || m->call_efd < 0)
		return "eventfd";
	m->ioev = (struct kvm_ioeventfd){
		.addr = NOTIFY_GPA, .len = 4, .fd = m->kick_efd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(m->vm, KVM_IOEVENTFD, &m->ioev))
		return "KVM_IOEVENTFD";
	irqfd.fd = m->call_efd;
	if (ioctl(m->vm, KVM_IRQFD, &irqfd))
		return "KVM_IRQFD";
	if (vmm_set_fd(m->vmm, VBACKEND_VMM_SET_KICK_FD, m->kick_id, m->kick_efd))
		return "VBACKEND_VMM_SET_KICK_FD";
	if (vmm_set_fd(m->vmm, VBACKEND_VMM_SET_IRQ_FD, m->irq_id, m->call_efd))
		return "VBACKEND_VMM_SET_IRQ_FD";
	m->vcpu = ioctl(m->vm, KVM_CREATE_VCPU, 0);
	if (m->vcpu < 0)
		return "KVM_CREATE_VCPU";
	m->run_size = ioctl(m->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->run_size <= 0)
		return "KVM_GET_VCPU_MMAP_SIZE";
	m->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->vcpu, 0);
	if (m->run == MAP_FAILED) {
		m->run = NULL;
		return "mmap of kvm_run";
	}
	if (ioctl(m->vcpu, KVM_GET_SREGS, &sregs))
		return "KVM_GET_SREGS";
	sregs.cr0 |= 1;		/* protected mode, no paging */
	flat_segment(&sregs.cs, 8, 11);
	flat_segment(&sregs.ds, 16, 3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = IDT_GPA;
	sregs.idt.limit = (MSI_VECTOR + 1) * 8 - 1;
	if (ioctl(m->vcpu, KVM_SET_SREGS, &sregs))
		return "KVM_SET_SREGS";
	if (ioctl(m->vcpu, KVM_SET_REGS, &regs))
		return "KVM_SET_REGS";
	return NULL;
}

static bool wait_for(atomic_long *v, long want, int ms)
{
	for (long end = vb_now_ms() + ms; *v < want && vb_now_ms() < end;)
		vb_sleep_ms(1);
	return *v >= want;
}

static bool wait_phase(struct kvm_vmm *m, int phase, int ms)
{
	for (long end = vb_now_ms() + ms; m->phase < phase && vb_now_ms() < end;)
		vb_sleep_ms(1);
	return m->phase >= phase;
}

FIXTURE(kvm_vmm) {
	struct kvm_vmm m;
	long refcnt0;
};

/* The backend's side; each test makes the VMM's KVM side where it runs. */
FIXTURE_SETUP(kvm_vmm)
{
	struct kvm_vmm *m = &self->m;
	const char *mod;

	memset(m, 0, sizeof(*m));
	m->kvm = m->vm = m->vcpu = m->vmm = m->be = m->memfd = -1;
	m->kick_nf = m->irq_nf = m->kick_efd = m->call_efd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	mod = load_kvm();
	if (mod)
		VB_SETUP_SKIP("%s does not load: %s", mod, strerror(errno));
	if (access("/dev/kvm", R_OK | W_OK))
		VB_SETUP_SKIP("no /dev/kvm: %s", strerror(errno));

	/* guest RAM: one memfd, for KVM and for vbackend */
	m->vmm = vmm_create();
	ASSERT_LE(0, m->vmm);
	m->memfd = vmm_add_memfd(m->vmm, 0, RAM_SIZE);
	ASSERT_LE(0, m->memfd);
	m->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->memfd, 0);
	ASSERT_NE(MAP_FAILED, m->ram);
	guest_load(m->ram);

	/* the backend: a trap range, a kick and an interrupt with notifiers */
	m->be = backend_bind_to(m->vmm);
	ASSERT_LE(0, m->be);
	ASSERT_EQ(0, vb_trap_add(m->be, 0, MMIO_GPA, 0x1000, NULL));
	m->kick_nf = vb_kick_notifier(m->be, VBACKEND_KICK_F_DATAMATCH, NOTIFY_GPA,
				      4, 0, &m->kick_id);
	ASSERT_LE(0, m->kick_nf);
	m->irq_nf = vb_irq_notifier(m->be, VBACKEND_IRQ_TARGET_MSI, MSI_ADDR,
				    MSI_VECTOR, &m->irq_id);
	ASSERT_LE(0, m->irq_nf);
	signal(SIGUSR1, on_sigusr1);
}

FIXTURE_TEARDOWN(kvm_vmm)
{
	struct kvm_vmm *m = &self->m;

	m->stop = 1;
	if (m->child > 0) {
		kill(m->child, SIGKILL);
		waitpid(m->child, NULL, 0);
	}
	if (m->vcpu_th) {
		pthread_kill(m->vcpu_th, SIGUSR1);
		pthread_join(m->vcpu_th, NULL);
	}
	if (m->be_th)
		pthread_join(m->be_th, NULL);
	if (m->run)
		munmap(m->run, m->run_size);
	vb_close(&m->vcpu);
	vb_close(&m->vm);
	vb_close(&m->kvm);
	vb_close(&m->be);
	vb_close(&m->vmm);
	vb_close(&m->kick_nf);
	vb_close(&m->irq_nf);
	vb_close(&m->kick_efd);
	vb_close(&m->call_efd);
	if (m->ram && m->ram != MAP_FAILED)
		munmap(m->ram, RAM_SIZE);
	vb_close(&m->memfd);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

TEST_F_TIMEOUT(kvm_vmm, kicks_config_swaps_interrupts, 120)
{
	struct kvm_vmm *m = &self->m;
	volatile uint16_t *handled = (uint16_t *)(m->ram + COUNTER_GPA);
	volatile uint32_t *kicked = (uint32_t *)(m->ram + KICKED_GPA);
	const char *err = kvm_side_setup(m);
	struct kvm_ioeventfd io;
	long swaps = 0, exits0;
	uint16_t base;
	int delivered = 0;

	ASSERT_TRUE(!err) TH_LOG("%s: %s", err, strerror(errno));
	ASSERT_EQ(1ULL, vb_efd_take(m->kick_nf)) TH_LOG("no re-scan at attach");
	ASSERT_EQ(0, pthread_create(&m->be_th, NULL, backend_run, m));
	ASSERT_EQ(0, pthread_create(&m->vcpu_th, NULL, vcpu_run, m));

	/* 1: NKICKS kicks, no exit for any; the config read, forwarded */
	ASSERT_TRUE(wait_phase(m, 1, VB_WAIT_MS * 4)) TH_LOG("the guest did not finish its kicks");
	EXPECT_TRUE(wait_for(&m->backend_kicks, NKICKS, VB_WAIT_MS));
	EXPECT_EQ(0, m->kick_exits) TH_LOG("kicks that took KVM_EXIT_MMIO");
	EXPECT_EQ(1, m->mmio_exits) TH_LOG("only the config read exits");
	EXPECT_EQ(CONFIG_VALUE, *(volatile uint32_t *)(m->ram + CONFIG_SEEN_GPA));
	EXPECT_EQ(1, m->traps);
	TH_LOG("%d kicks: the backend counted %ld by the end of them; %ld MMIO exits",
	       NKICKS, (long)m->backend_kicks, (long)m->mmio_exits);

	/* 2: the guest kicks on while the VMM swaps its eventfd, as QEMU does */
	exits0 = m->kick_exits;
	for (; swaps < SWAPS; swaps++) {
		int nfd = vb_eventfd();

		ASSERT_LE(0, nfd);
		io = m->ioev;
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		ASSERT_EQ(0, ioctl(m->vm, KVM_IOEVENTFD, &io));
		ASSERT_EQ(0, vmm_set_fd(m->vmm, VBACKEND_VMM_SET_KICK_FD, m->kick_id, nfd));
		m->ioev.fd = nfd;
		ASSERT_EQ(0, ioctl(m->vm, KVM_IOEVENTFD, &m->ioev));
		close(m->kick_efd);
		m->kick_efd = nfd;
		vb_sleep_ms(2);
	}
	*(volatile uint8_t *)(m->ram + STOP_GPA) = 1;
	ASSERT_TRUE(wait_phase(m, 2, VB_WAIT_MS)) TH_LOG("the guest did not stop kicking");
	/* every kick, and the one re-scan signal of each attach */
	EXPECT_TRUE(wait_for(&m->backend_kicks, NKICKS + *kicked + swaps, VB_WAIT_MS));
	EXPECT_EQ(NKICKS + *kicked + swaps, m->backend_kicks);
	TH_LOG("%ld swaps under %u more kicks: the backend counted %ld (%ld kicks exited in the windows)",
	       swaps, *kicked, (long)m->backend_kicks, (long)(m->kick_exits - exits0));

	/* 3: the backend's interrupts reach the guest's handler, as MSIs */
	base = *handled;
	for (int i = 1; i <= NIRQS; i++) {
		ASSERT_EQ(0, vb_efd_signal(m->irq_nf, 1));
		for (long end = vb_now_ms() + VB_WAIT_MS; *handled < base + i &&
		     vb_now_ms() < end;)
			vb_sleep_ms(1);
		delivered += *handled >= base + i;
	}
	EXPECT_EQ(NIRQS, delivered);
	EXPECT_EQ(NIRQS, *handled - base) TH_LOG("interrupts the guest took twice");
	TH_LOG("%d interrupts raised, %d reached the guest's handler (MSI vector 0x%x)",
	       NIRQS, delivered, MSI_VECTOR);
	EXPECT_EQ(0, m->bad);
}

/*
 * The VMM, a process of its own, is killed while its guest kicks: the
 * backend sees its frontend gone, no kick comes after, and everything of
 * both is freed (the teardown's leak check).
 */
TEST_F_TIMEOUT(kvm_vmm, vmm_killed_while_kicking, 120)
{
	struct kvm_vmm *m = &self->m;
	volatile uint32_t *kicked = (uint32_t *)(m->ram + KICKED_GPA);
	char msg[128] = "";
	int p[2], status;
	long after;

	ASSERT_EQ(0, pipe(p));
	m->child = fork();
	ASSERT_LE(0, m->child);
	if (!m->child) {
		const char *err;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		/* the VMM has nothing of the backend's */
		close(m->be);
		close(m->kick_nf);
		close(m->irq_nf);
		err = kvm_side_setup(m);
		snprintf(msg, sizeof(msg), err ? "%s: %s" : "ok", err, strerror(errno));
		if (write(p[1], msg, strlen(msg)) < 0 || err)
			_exit(1);
		vcpu_run(m);	/* until it is killed */
		_exit(2);
	}
	close(p[1]);
	ASSERT_LT(0, read(p[0], msg, sizeof(msg) - 1));
	close(p[0]);
	ASSERT_STREQ("ok", msg);
	vb_close(&m->vmm);	/* the VMM's session is the child's alone */
	ASSERT_EQ(0, pthread_create(&m->be_th, NULL, backend_run, m));

	/* its guest is in its second phase, kicking until it is told to stop */
	EXPECT_TRUE(wait_for(&m->backend_kicks, NKICKS + 200, VB_WAIT_MS * 4));
	EXPECT_EQ(1, m->traps) TH_LOG("the config read, through the child's VMM_ACCESS");
	EXPECT_EQ(CONFIG_VALUE, *(volatile uint32_t *)(m->ram + CONFIG_SEEN_GPA));
	ASSERT_EQ(0, kill(m->child, SIGKILL));
	ASSERT_EQ(m->child, waitpid(m->child, &status, 0));
	m->child = 0;
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	for (long end = vb_now_ms() + VB_WAIT_MS; !m->peer_gone && vb_now_ms() < end;)
		vb_sleep_ms(1);
	EXPECT_TRUE(m->peer_gone) TH_LOG("the backend did not see its frontend go");

	/* whatever was in flight has landed by now; then nothing more */
	after = m->backend_kicks;
	vb_sleep_ms(200);
	EXPECT_EQ(after, m->backend_kicks) TH_LOG("kicks after the VMM was gone");
	TH_LOG("killed after %u kicks of its second phase; the backend counted %ld in all",
	       *kicked, after);
	m->stop = 1;
	pthread_join(m->be_th, NULL);
	m->be_th = 0;
	EXPECT_EQ(0, m->bad);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--hold"))
		return kvm_hold();
	return test_harness_run(argc, argv);
}
