// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: a minimal KVM VMM, the kvmtool way, over VMM-owned notifiers
 * ([kvm-vmm]). The test owns /dev/kvm (kvm-amd under the TCG guest's
 * emulated SVM + NPT), backs its guest's RAM with a memfd it also gives
 * vbackend, and serves a backend bound to it in the same process:
 *  - its guest (real mode, a hundred bytes) writes a queue-notify register
 *    NKICKS times: KVM_IOEVENTFD -> the VMM's eventfd -> the backend's kick
 *    notifier, with no KVM_EXIT_MMIO for any of them, counted;
 *  - it reads a config register: a KVM_EXIT_MMIO the VMM forwards with
 *    VBACKEND_VMM_ACCESS, answered with the backend's value;
 *  - it kicks on while the VMM swaps its kick eventfd SWAPS times (KVM
 *    deassign, VMM_SET_KICK_FD, KVM assign, as QEMU re-sends them): the
 *    backend counts every kick, plus the one re-scan each attach makes;
 *    kicks in the windows exit to the VMM and reach the backend through
 *    the kernel's kick match;
 *  - the backend writes its interrupt notifier NIRQS times: the VMM's
 *    eventfd -> KVM_IRQFD -> the in-kernel PIC -> the guest's handler,
 *    which counts them.
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
#include <sys/syscall.h>
#include <linux/kvm.h>
#include "vbackend_util.h"

#define RAM_SIZE	0x10000ULL
#define CODE_GPA	0x1000ULL
#define MMIO_GPA	0xd0000ULL
#define NOTIFY_GPA	(MMIO_GPA + 0x50)
#define CONFIG_GPA	(MMIO_GPA + 0x100)
#define COUNTER_GPA	0x500	/* u16: interrupts the guest's handler took */
#define CONFIG_SEEN_GPA	0x504	/* u32: what the guest read */
#define STOP_GPA	0x508	/* u8: the VMM tells the guest to stop kicking */
#define KICKED_GPA	0x50c	/* u32: kicks of the second phase */
#define NKICKS		1000	/* the guest's first loop (CX) */
#define SWAPS		200
#define NIRQS		50
#define DONE_PORT	0xf4	/* the guest's "phase done" (1, then 2) */
#define CONFIG_VALUE	0x12345678U

/* The guest, real mode, loaded at CODE_GPA; its IVT and counters below. */
asm(".pushsection .rodata\n"
    ".globl guest_start, guest_end\n"
    "guest_start:\n"
    ".code16\n"
    "cli\n"
    "xorw %ax, %ax\n"
    "movw %ax, %ds\n"
    "movw %ax, %ss\n"
    "movw $0x0ff0, %sp\n"
    "movw $(handler - guest_start + 0x1000), 0x94\n"
    "movw $0, 0x96\n"
    "movb $0x11, %al\n outb %al, $0x20\n"
    "movb $0x20, %al\n outb %al, $0x21\n"
    "movb $0x04, %al\n outb %al, $0x21\n"
    "movb $0x01, %al\n outb %al, $0x21\n"
    "movb $0xdf, %al\n outb %al, $0x21\n"
    "movw $0xd000, %ax\n movw %ax, %es\n"
    "movw $1000, %cx\n"
    "1: xorl %eax, %eax\n"
    "movl %eax, %es:0x50\n"
    "loop 1b\n"
    "movl %es:0x100, %eax\n"
    "movl %eax, 0x504\n"
    "movb $1, %al\n outb %al, $0xf4\n"
    "3: xorl %eax, %eax\n"
    "movl %eax, %es:0x50\n"
    "incl 0x50c\n"
    "cmpb $0, 0x508\n"
    "je 3b\n"
    "movb $2, %al\n outb %al, $0xf4\n"
    "sti\n"
    "2: hlt\n jmp 2b\n"
    "handler:\n"
    "incw 0x500\n"
    "pushw %ax\n movb $0x20, %al\n outb %al, $0x20\n popw %ax\n"
    "iret\n"
    ".code64\n"
    "guest_end:\n"
    ".popsection\n");
extern const unsigned char guest_start[], guest_end[];

struct kvm_vmm {
	int kvm, vm, vcpu, vmm, be, memfd, kick_nf, irq_nf, kick_efd, call_efd;
	__u32 kick_id, irq_id;
	uint8_t *ram;
	struct kvm_run *run;
	struct kvm_ioeventfd ioev;
	pthread_t vcpu_th, be_th;
	atomic_int phase, stop;
	atomic_long backend_kicks, traps, mmio_exits, kick_exits, bad;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* The backend: counts its kick notifier, answers the config read. */
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
		if ((p[0].revents & POLLIN) &&
		    read(m->be, &ev, sizeof(ev)) == sizeof(ev) &&
		    ev.type == VBACKEND_EVENT_TRAP) {
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

static bool wait_for(atomic_long *v, long want, int ms)
{
	for (long end = vb_now_ms() + ms; *v < want && vb_now_ms() < end;)
		vb_sleep_ms(1);
	return *v >= want;
}

FIXTURE(kvm_vmm) {
	struct kvm_vmm m;
	long refcnt0;
};

FIXTURE_SETUP(kvm_vmm)
{
	struct kvm_vmm *m = &self->m;
	struct kvm_userspace_memory_region slot = { .memory_size = RAM_SIZE };
	struct kvm_irqfd irqfd = { .gsi = 5 };
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2 };
	struct kvm_sregs sregs;
	const char *mod;
	long size;

	memset(m, 0, sizeof(*m));
	m->kvm = m->vm = m->vcpu = m->vmm = m->be = m->memfd = -1;
	m->kick_nf = m->irq_nf = m->kick_efd = m->call_efd = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	mod = load_kvm();
	if (mod)
		VB_SETUP_SKIP("%s does not load: %s", mod, strerror(errno));
	m->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm < 0)
		VB_SETUP_SKIP("no /dev/kvm: %s", strerror(errno));
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, m->vm) TH_LOG("KVM_CREATE_VM: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(m->vm, KVM_CREATE_IRQCHIP, 0));

	/* guest RAM: one memfd, for KVM and for vbackend */
	m->vmm = vmm_create();
	ASSERT_LE(0, m->vmm);
	m->memfd = vmm_add_memfd(m->vmm, 0, RAM_SIZE);
	ASSERT_LE(0, m->memfd);
	m->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->memfd, 0);
	ASSERT_NE(MAP_FAILED, m->ram);
	memcpy(m->ram + CODE_GPA, guest_start, guest_end - guest_start);
	slot.userspace_addr = (uintptr_t)m->ram;
	ASSERT_EQ(0, ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &slot));

	/* the backend: a trap range, a kick and an interrupt with notifiers */
	m->be = backend_bind_to(m->vmm);
	ASSERT_LE(0, m->be);
	ASSERT_EQ(0, vb_trap_add(m->be, 0, MMIO_GPA, 0x1000, NULL));
	m->kick_nf = vb_kick_notifier(m->be, VBACKEND_KICK_F_DATAMATCH, NOTIFY_GPA,
				      4, 0, &m->kick_id);
	ASSERT_LE(0, m->kick_nf);
	m->irq_nf = vb_irq_notifier(m->be, VBACKEND_IRQ_TARGET_LINE, 5, 0, &m->irq_id);
	ASSERT_LE(0, m->irq_nf);

	/* the VMM's own eventfds: KVM's, attached to the backend's notifiers */
	m->kick_efd = vb_eventfd();
	m->call_efd = vb_eventfd();
	ASSERT_LE(0, m->kick_efd);
	ASSERT_LE(0, m->call_efd);
	m->ioev.addr = NOTIFY_GPA;
	m->ioev.len = 4;
	m->ioev.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
	m->ioev.fd = m->kick_efd;
	ASSERT_EQ(0, ioctl(m->vm, KVM_IOEVENTFD, &m->ioev));
	irqfd.fd = m->call_efd;
	ASSERT_EQ(0, ioctl(m->vm, KVM_IRQFD, &irqfd));
	ASSERT_EQ(0, vmm_set_fd(m->vmm, VBACKEND_VMM_SET_KICK_FD, m->kick_id,
				m->kick_efd));
	ASSERT_EQ(0, vmm_set_fd(m->vmm, VBACKEND_VMM_SET_IRQ_FD, m->irq_id,
				m->call_efd));
	ASSERT_EQ(1ULL, vb_efd_take(m->kick_nf)) TH_LOG("no re-scan at attach");

	m->vcpu = ioctl(m->vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, m->vcpu);
	size = ioctl(m->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, size);
	m->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->vcpu, 0);
	ASSERT_NE(MAP_FAILED, m->run);
	ASSERT_EQ(0, ioctl(m->vcpu, KVM_GET_SREGS, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	ASSERT_EQ(0, ioctl(m->vcpu, KVM_SET_SREGS, &sregs));
	ASSERT_EQ(0, ioctl(m->vcpu, KVM_SET_REGS, &regs));
	signal(SIGUSR1, on_sigusr1);
	ASSERT_EQ(0, pthread_create(&m->be_th, NULL, backend_run, m));
	ASSERT_EQ(0, pthread_create(&m->vcpu_th, NULL, vcpu_run, m));
}

FIXTURE_TEARDOWN(kvm_vmm)
{
	struct kvm_vmm *m = &self->m;

	m->stop = 1;
	if (m->vcpu_th) {
		pthread_kill(m->vcpu_th, SIGUSR1);
		pthread_join(m->vcpu_th, NULL);
	}
	if (m->be_th)
		pthread_join(m->be_th, NULL);
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
	struct kvm_ioeventfd io;
	long swaps = 0, exits0;
	uint16_t base;
	int delivered = 0;

	/* 1: NKICKS kicks, no exit for any; the config read, forwarded */
	for (long end = vb_now_ms() + VB_WAIT_MS * 4; m->phase < 1 && vb_now_ms() < end;)
		vb_sleep_ms(1);
	ASSERT_EQ(1, m->phase) TH_LOG("the guest did not finish its kicks");
	EXPECT_TRUE(wait_for(&m->backend_kicks, NKICKS, VB_WAIT_MS));
	EXPECT_EQ(0, m->kick_exits) TH_LOG("kicks that took KVM_EXIT_MMIO");
	EXPECT_EQ(1, m->mmio_exits) TH_LOG("only the config read exits");
	EXPECT_EQ(CONFIG_VALUE, *(volatile uint32_t *)(m->ram + CONFIG_SEEN_GPA));
	EXPECT_EQ(1, m->traps);
	TH_LOG("%d kicks, %ld counted by the backend, %ld MMIO exits",
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
	for (long end = vb_now_ms() + VB_WAIT_MS; m->phase < 2 && vb_now_ms() < end;)
		vb_sleep_ms(1);
	ASSERT_EQ(2, m->phase) TH_LOG("the guest did not stop kicking");
	/* every kick, and the one re-scan signal of each attach */
	EXPECT_TRUE(wait_for(&m->backend_kicks, NKICKS + *kicked + swaps, VB_WAIT_MS));
	EXPECT_EQ(NKICKS + *kicked + swaps, m->backend_kicks);
	TH_LOG("%ld swaps under %u more kicks: the backend counted %ld (%ld kicks exited in the windows)",
	       swaps, *kicked, (long)m->backend_kicks, (long)(m->kick_exits - exits0));

	/* 3: the backend's interrupts reach the guest's handler, one by one */
	base = *handled;
	for (int i = 1; i <= NIRQS; i++) {
		ASSERT_EQ(0, vb_efd_signal(m->irq_nf, 1));
		for (long end = vb_now_ms() + VB_WAIT_MS; *handled < base + i &&
		     vb_now_ms() < end;)
			vb_sleep_ms(1);
		delivered += *handled >= base + i;
	}
	EXPECT_EQ(NIRQS, delivered);
	TH_LOG("%d interrupts raised, %d reached the guest's handler", NIRQS, delivered);
	EXPECT_EQ(0, m->bad);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--hold"))
		return kvm_hold();
	return test_harness_run(argc, argv);
}
