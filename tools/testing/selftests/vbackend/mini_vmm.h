/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KVM VMM, the kvmtool way, for kvm_vmm_test.c and for
 * vbackend-bench (tools/testing/bench): one VM on guest RAM that the caller
 * mapped from the memfd it also gave vbackend, one vCPU in 32-bit protected
 * mode without paging, and, as QEMU does for a vhost-user device, the VMM's
 * own kick eventfd (KVM_IOEVENTFD on a QueueNotify address) and call
 * eventfd (KVM_IRQFD on a GSI routed as an MSI) attached to a backend's
 * notifiers. The guest's code is the caller's; this lays out its RAM.
 *
 * And mini_vm_hold(), which the test guest's init runs before anything
 * else, for an emulator bug (README, Known): QEMU 7.2's TCG can go on
 * executing a translation of kernel text that another vCPU has just
 * patched, the int3 of text_poke_bp() that is no longer there. Linux's
 * int3 handler sees no int3 and steps back onto it: both vCPUs loop with
 * interrupts off, seen as an RCU stall, a soft lockup or a silent hang (3
 * of 34 runs of kvm_vmm_test under host load). KVM patches core text when
 * it loads (perf's guest callbacks) and when the first VM and vCPU come and
 * the last go (preempt notifiers, the local APIC's keys). The hold loads
 * the modules and makes one VM with a vCPU while every other CPU is
 * offline, and keeps them until poweroff: later VMs patch nothing.
 *
 * Needs only libc, <linux/kvm.h> and <linux/vbackend.h>.
 */
#ifndef MINI_VMM_H
#define MINI_VMM_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/kvm.h>
#include <linux/vbackend.h>

#define MV_STR_(x)	#x
#define MV_STR(x)	MV_STR_(x)	/* for the guests' asm */

/* Guest physical layout; the 0x500-0xfff area is the guest's own. */
#define MV_RAM_SIZE	0x10000
#define MV_STACK_TOP	0x0ff0
#define MV_CODE_GPA	0x1000
#define MV_GDT_GPA	0x4000
#define MV_IDT_GPA	0x4100
#define MV_MMIO_GPA	0xd0000	/* a virtio-mmio window, trapped */
#define MV_NOTIFY_GPA	0xd0050	/* its QueueNotify: KVM_IOEVENTFD, data 0 */
#define MV_CONFIG_GPA	0xd0100	/* its device config space */
#define MV_LAPIC_SVR	0xfee000f0
#define MV_LAPIC_EOI	0xfee000b0
#define MV_MSI_ADDR	0xfee00000	/* fixed, to APIC id 0 */
#define MV_MSI_VECTOR	0x30
#define MV_MSI_GSI	24

/**
 * struct mini_vm - the VMM's KVM side
 * @kvm: /dev/kvm
 * @vm: the VM
 * @vcpu: its one vCPU
 * @run: @vcpu's kvm_run, @run_size bytes
 * @run_size: see @run
 * @kick_efd: the VMM's eventfd KVM_IOEVENTFD signals
 * @call_efd: the VMM's eventfd KVM_IRQFD injects from
 * @ioev: the KVM_IOEVENTFD of @kick_efd (mini_vm_ioeventfd())
 */
struct mini_vm {
	int kvm, vm, vcpu, kick_efd, call_efd;
	struct kvm_run *run;
	long run_size;
	struct kvm_ioeventfd ioev;
};

static inline void mini_vm_init(struct mini_vm *v)
{
	memset(v, 0, sizeof(*v));
	v->kvm = v->vm = v->vcpu = v->kick_efd = v->call_efd = -1;
}

static inline void mini_vm_close(struct mini_vm *v)
{
	int *fds[] = { &v->vcpu, &v->vm, &v->kvm, &v->kick_efd, &v->call_efd };

	if (v->run)
		munmap(v->run, v->run_size);
	v->run = NULL;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Loads what /lib/kvm has; NULL, or the module that does not load. */
static inline const char *mini_vm_load_kvm(void)
{
	static const char *const mods[] = {
		"irqbypass.ko", "kvm.ko", "ccp.ko", "kvm-amd.ko",
	};
	char path[64];

	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
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
static inline bool mini_vm_others_online(const char *v)
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
static inline const char *mini_vm_hold_make(void)
{
	const char *mod = mini_vm_load_kvm();
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
 * The hold (see the top of this file): a child makes the VM, with the other
 * CPUs offline, tells how it went and sleeps until poweroff. Prints one
 * line. Return: 0 when a VM is held.
 */
static inline int mini_vm_hold(void)
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
		if (!mini_vm_others_online("0"))
			err = "taking the other CPUs offline";
		err = err ?: mini_vm_hold_make();
		snprintf(msg, sizeof(msg), err ? "%s: %s" : "ok", err, strerror(errno));
		if (!mini_vm_others_online("1") && !err) {
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

/*
 * Guest RAM: the code from @start to @end at MV_CODE_GPA, a flat GDT, an
 * IDT whose MV_MSI_VECTOR gate goes to @handler (within the code).
 */
static inline void mini_vm_guest_load(uint8_t *ram, const unsigned char *start,
				      const unsigned char *end,
				      const unsigned char *handler)
{
	uint64_t *gdt = (uint64_t *)(ram + MV_GDT_GPA);
	uint64_t *idt = (uint64_t *)(ram + MV_IDT_GPA);
	uint64_t h = MV_CODE_GPA + (handler - start);

	memcpy(ram + MV_CODE_GPA, start, end - start);
	gdt[1] = 0x00cf9b000000ffffULL;	/* code, 4 GiB */
	gdt[2] = 0x00cf93000000ffffULL;	/* data, 4 GiB */
	/* a 32-bit interrupt gate to selector 8 */
	idt[MV_MSI_VECTOR] = (h & 0xffff) | (8ULL << 16) | (0x8eULL << 40) |
			     ((h >> 16) << 48);
}

/* KVM_IRQFD's GSI as an MSI to MV_MSI_VECTOR, the only route. */
static inline int mini_vm_route_msi(int vm)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + sizeof(r->entries[0]));
	int ret;

	if (!r)
		return -1;
	r->nr = 1;
	r->entries[0].gsi = MV_MSI_GSI;
	r->entries[0].type = KVM_IRQ_ROUTING_MSI;
	r->entries[0].u.msi.address_lo = MV_MSI_ADDR;
	r->entries[0].u.msi.data = MV_MSI_VECTOR;
	ret = ioctl(vm, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

/* KVM_IOEVENTFD of the kick eventfd, on (@assign) or off. */
static inline int mini_vm_ioeventfd(struct mini_vm *v, bool assign)
{
	struct kvm_ioeventfd io = v->ioev;

	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(v->vm, KVM_IOEVENTFD, &io);
}

/* VBACKEND_VMM_SET_KICK_FD / _SET_IRQ_FD (@cmd) of @fd for notifier @id */
static inline int mini_vm_attach(int vmm, unsigned long cmd, __u32 id, int fd)
{
	struct vbackend_vmm_notifier n = { .argsz = sizeof(n), .id = id, .fd = fd };

	return ioctl(vmm, cmd, &n);
}

static inline void mini_vm_segment(struct kvm_segment *seg, __u16 selector,
				   __u8 type)
{
	*seg = (struct kvm_segment){
		.limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
}

/*
 * The VM on @ram (MV_RAM_SIZE bytes, mini_vm_guest_load() done), in the
 * calling process: its kick and call eventfds registered with
 * KVM_IOEVENTFD (on) and KVM_IRQFD, and attached through the VMM session
 * @vmm to the backend's kick notifier @kick_id and interrupt notifier
 * @irq_id; one vCPU at the guest's start. Return: NULL, or what failed
 * (errno says why); mini_vm_close() either way.
 */
static inline const char *mini_vm_create(struct mini_vm *v, uint8_t *ram, int vmm,
					 __u32 kick_id, __u32 irq_id)
{
	struct kvm_userspace_memory_region slot = {
		.memory_size = MV_RAM_SIZE, .userspace_addr = (uintptr_t)ram,
	};
	struct kvm_irqfd irqfd = { .gsi = MV_MSI_GSI };
	struct kvm_regs regs = { .rip = MV_CODE_GPA, .rsp = MV_STACK_TOP, .rflags = 2 };
	struct kvm_sregs sregs;

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return "/dev/kvm";
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return "KVM_CREATE_VM";
	if (ioctl(v->vm, KVM_CREATE_IRQCHIP, 0))
		return "KVM_CREATE_IRQCHIP";
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &slot))
		return "KVM_SET_USER_MEMORY_REGION";
	if (mini_vm_route_msi(v->vm))
		return "KVM_SET_GSI_ROUTING";
	v->kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->call_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->kick_efd < 0 || v->call_efd < 0)
		return "eventfd";
	v->ioev = (struct kvm_ioeventfd){
		.addr = MV_NOTIFY_GPA, .len = 4, .fd = v->kick_efd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (mini_vm_ioeventfd(v, true))
		return "KVM_IOEVENTFD";
	irqfd.fd = v->call_efd;
	if (ioctl(v->vm, KVM_IRQFD, &irqfd))
		return "KVM_IRQFD";
	if (mini_vm_attach(vmm, VBACKEND_VMM_SET_KICK_FD, kick_id, v->kick_efd))
		return "VBACKEND_VMM_SET_KICK_FD";
	if (mini_vm_attach(vmm, VBACKEND_VMM_SET_IRQ_FD, irq_id, v->call_efd))
		return "VBACKEND_VMM_SET_IRQ_FD";
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return "KVM_CREATE_VCPU";
	v->run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->run_size <= 0)
		return "KVM_GET_VCPU_MMAP_SIZE";
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return "mmap of kvm_run";
	}
	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs))
		return "KVM_GET_SREGS";
	sregs.cr0 |= 1;		/* protected mode, no paging */
	mini_vm_segment(&sregs.cs, 8, 11);
	mini_vm_segment(&sregs.ds, 16, 3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = MV_GDT_GPA;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = MV_IDT_GPA;
	sregs.idt.limit = (MV_MSI_VECTOR + 1) * 8 - 1;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs))
		return "KVM_SET_SREGS";
	if (ioctl(v->vcpu, KVM_SET_REGS, &regs))
		return "KVM_SET_REGS";
	return NULL;
}

#endif /* MINI_VMM_H */
