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
 * "kvm_vmm_test --hold" is what the test guest's init runs first: the KVM
 * modules and a VM held until poweroff, for QEMU 7.2's TCG (mini_vmm.h).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include "vbackend_util.h"
#include "mini_vmm.h"

#define COUNTER_GPA	0x500	/* u16: interrupts the guest's handler took */
#define CONFIG_SEEN_GPA	0x504	/* u32: what the guest read */
#define STOP_GPA	0x508	/* u8: the VMM tells the guest to stop kicking */
#define KICKED_GPA	0x50c	/* u32: kicks of the second phase */
#define NKICKS		1000	/* the guest's first loop */
#define SWAPS		200
#define NIRQS		50
#define DONE_PORT	0xf4	/* the guest's "phase done" (1, then 2) */
#define CONFIG_VALUE	0x12345678U

/*
 * The guest, 32-bit protected mode without paging (the VMM sets up its
 * GDT and IDT), loaded at MV_CODE_GPA; its counters below it.
 */
asm(".pushsection .rodata\n"
    ".globl guest_start, guest_handler, guest_end\n"
    ".code32\n"
    "guest_start:\n"
    "movl $0x1ff, " MV_STR(MV_LAPIC_SVR) "\n"	/* its local APIC on */
    "movl $" MV_STR(NKICKS) ", %ecx\n"
    "1: movl $0, " MV_STR(MV_NOTIFY_GPA) "\n"
    "loop 1b\n"
    "movl " MV_STR(MV_CONFIG_GPA) ", %eax\n"
    "movl %eax, " MV_STR(CONFIG_SEEN_GPA) "\n"
    "movb $1, %al\n outb %al, $" MV_STR(DONE_PORT) "\n"
    "2: movl $0, " MV_STR(MV_NOTIFY_GPA) "\n"
    "incl " MV_STR(KICKED_GPA) "\n"
    "cmpb $0, " MV_STR(STOP_GPA) "\n"
    "je 2b\n"
    "movb $2, %al\n outb %al, $" MV_STR(DONE_PORT) "\n"
    "sti\n"
    "3: hlt\n jmp 3b\n"
    "guest_handler:\n"
    "incw " MV_STR(COUNTER_GPA) "\n"
    "movl $0, " MV_STR(MV_LAPIC_EOI) "\n"
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
 * @v: the VMM's KVM side, its eventfds attached to @kick_nf and @irq_nf
 * @child: a VMM process of its own, when there is one
 */
struct kvm_vmm {
	int vmm, be, memfd, kick_nf, irq_nf;
	__u32 kick_id, irq_id;
	uint8_t *ram;
	struct mini_vm v;
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
			if (vb_complete(m->be, ev.seq, ev.u.access.addr == MV_CONFIG_GPA &&
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
	struct kvm_run *run = m->v.run;

	for (;;) {
		if (ioctl(m->v.vcpu, KVM_RUN, 0)) {
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
			m->kick_exits += run->mmio.phys_addr == MV_NOTIFY_GPA;
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
	mini_vm_init(&m->v);
	m->vmm = m->be = m->memfd = m->kick_nf = m->irq_nf = -1;
	VB_REQUIRE_DEVICE();
	self->refcnt0 = vb_refcnt_read();
	mod = mini_vm_load_kvm();
	if (mod)
		VB_SETUP_SKIP("%s does not load: %s", mod, strerror(errno));
	if (access("/dev/kvm", R_OK | W_OK))
		VB_SETUP_SKIP("no /dev/kvm: %s", strerror(errno));

	/* guest RAM: one memfd, for KVM and for vbackend */
	m->vmm = vmm_create();
	ASSERT_LE(0, m->vmm);
	m->memfd = vmm_add_memfd(m->vmm, 0, MV_RAM_SIZE);
	ASSERT_LE(0, m->memfd);
	m->ram = mmap(NULL, MV_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->memfd, 0);
	ASSERT_NE(MAP_FAILED, m->ram);
	mini_vm_guest_load(m->ram, guest_start, guest_end, guest_handler);

	/* the backend: a trap range, a kick and an interrupt with notifiers */
	m->be = backend_bind_to(m->vmm);
	ASSERT_LE(0, m->be);
	ASSERT_EQ(0, vb_trap_add(m->be, 0, MV_MMIO_GPA, 0x1000, NULL));
	m->kick_nf = vb_kick_notifier(m->be, VBACKEND_KICK_F_DATAMATCH, MV_NOTIFY_GPA,
				      4, 0, &m->kick_id);
	ASSERT_LE(0, m->kick_nf);
	m->irq_nf = vb_irq_notifier(m->be, VBACKEND_IRQ_TARGET_MSI, MV_MSI_ADDR,
				    MV_MSI_VECTOR, &m->irq_id);
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
	mini_vm_close(&m->v);
	vb_close(&m->be);
	vb_close(&m->vmm);
	vb_close(&m->kick_nf);
	vb_close(&m->irq_nf);
	if (m->ram && m->ram != MAP_FAILED)
		munmap(m->ram, MV_RAM_SIZE);
	vb_close(&m->memfd);
	VB_EXPECT_NO_LEAKS(self->refcnt0);
}

TEST_F_TIMEOUT(kvm_vmm, kicks_config_swaps_interrupts, 120)
{
	struct kvm_vmm *m = &self->m;
	volatile uint16_t *handled = (uint16_t *)(m->ram + COUNTER_GPA);
	volatile uint32_t *kicked = (uint32_t *)(m->ram + KICKED_GPA);
	const char *err = mini_vm_create(&m->v, m->ram, m->vmm, m->kick_id, m->irq_id);
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
		ASSERT_EQ(0, mini_vm_ioeventfd(&m->v, false));
		ASSERT_EQ(0, vmm_set_fd(m->vmm, VBACKEND_VMM_SET_KICK_FD, m->kick_id, nfd));
		m->v.ioev.fd = nfd;
		ASSERT_EQ(0, mini_vm_ioeventfd(&m->v, true));
		close(m->v.kick_efd);
		m->v.kick_efd = nfd;
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
	       NIRQS, delivered, MV_MSI_VECTOR);
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
	volatile uint32_t *seen = (uint32_t *)(m->ram + CONFIG_SEEN_GPA);
	char msg[128] = "";
	int p[2], status;
	long after, t0;

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
		err = mini_vm_create(&m->v, m->ram, m->vmm, m->kick_id, m->irq_id);
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

	/*
	 * its guest in its second phase, kicking until it is told to stop;
	 * the bounds are wide: one run in 36 had a nested guest 25 times
	 * slower than usual (745 kicks in 20 s), cause not found
	 */
	t0 = vb_now_ms();
	for (long end = t0 + VB_WAIT_MS * 12; *seen != CONFIG_VALUE && vb_now_ms() < end;)
		vb_sleep_ms(1);
	EXPECT_EQ(CONFIG_VALUE, *seen) TH_LOG("the guest got no answer to its config read");
	EXPECT_EQ(1, m->traps) TH_LOG("the config read, through the child's VMM_ACCESS");
	EXPECT_TRUE(wait_for(&m->backend_kicks, NKICKS + 20, VB_WAIT_MS * 2));
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
	TH_LOG("killed after %u kicks of its second phase, %ld ms after its start; the "
	       "backend counted %ld in all", *kicked, vb_now_ms() - t0, after);
	m->stop = 1;
	pthread_join(m->be_th, NULL);
	m->be_th = 0;
	EXPECT_EQ(0, m->bad);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--hold"))
		return mini_vm_hold();
	return test_harness_run(argc, argv);
}
