// SPDX-License-Identifier: Apache-2.0
/*
 * frontend-sim: the backend's kicks and interrupts, seen from the VMM.
 *
 * A VMM that owns KVM creates its own kick and call eventfds, registers
 * them with KVM_IOEVENTFD / KVM_IRQFD, and attaches them to the backend's
 * notifiers (VBACKEND_VMM_SET_KICK_FD / VBACKEND_VMM_SET_IRQ_FD), making new
 * ones at every start the way QEMU does for a vhost-user backend. So does
 * the simulator, playing KVM's part itself: a guest write that matches a
 * kick signals our eventfd instead of going through VMM_ACCESS (no exit),
 * and an interrupt is our eventfd becoming readable. Each refresh (the
 * backend bound, or its kicks or interrupts changed) makes new eventfds and
 * attaches them over the old ones, so every run swaps them under traffic.
 *
 * Kicks and interrupts the backend registered with its own eventfds (no
 * notifier), and all of them with --no-vmm-fds, take the kernel's path:
 * kicks matched on VMM_ACCESS, interrupts as VBACKEND_EVENT_IRQ records.
 *
 * Main thread only, as are fsim_vm_pump() and the register writes that kick.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/vbackend.h>
#include "fsim.h"

/* A new eventfd attached to the notifier @id with @cmd; -1 when not. */
static int attach_new(struct fsim_vm *vm, unsigned long cmd, uint32_t id)
{
	struct vbackend_vmm_notifier n = {
		.argsz = sizeof(n),
		.id = id,
	};

	if (!vm->vmm_fds)
		return -1;
	n.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n.fd < 0)
		return -1;
	if (ioctl(vm->fd, cmd, &n)) {
		fsim_dbg("attach to notifier %u: %s", id, strerror(errno));
		close(n.fd);
		return -1;
	}
	vm->st.attaches++;
	return n.fd;
}

static void close_efd(int *efd)
{
	if (*efd >= 0)
		close(*efd);
	*efd = -1;
}

static int refresh_irqs(struct fsim_vm *vm)
{
	struct vbackend_irq ui;
	uint32_t cursor = 0;

	while (vm->nr_irqs < FSIM_MAX_IRQS) {
		struct fsim_irq_map *m = &vm->irqs[vm->nr_irqs];

		memset(&ui, 0, sizeof(ui));
		ui.argsz = sizeof(ui);
		ui.id = cursor;
		if (ioctl(vm->fd, VBACKEND_VMM_GET_IRQ, &ui))
			return errno == ENOENT || errno == ENOTCONN ? 0 : -errno;
		if (ui.fd >= 0)
			close(ui.fd);
		m->id = ui.id;
		m->type = ui.type;
		m->target0 = ui.target[0];
		m->efd = ui.flags & VBACKEND_IRQ_F_NOTIFIER ?
			 attach_new(vm, VBACKEND_VMM_SET_IRQ_FD, ui.id) : -1;
		vm->nr_irqs++;
		cursor = ui.id + 1;
	}
	return 0;
}

static int refresh_kicks(struct fsim_vm *vm)
{
	struct vbackend_kick uk;
	uint32_t cursor = 0;

	while (vm->nr_kicks < FSIM_MAX_KICKS) {
		struct fsim_kick_map *m = &vm->kicks[vm->nr_kicks];

		memset(&uk, 0, sizeof(uk));
		uk.argsz = sizeof(uk);
		uk.id = cursor;
		if (ioctl(vm->fd, VBACKEND_VMM_GET_KICK, &uk))
			return errno == ENOENT || errno == ENOTCONN ? 0 : -errno;
		if (uk.fd >= 0)
			close(uk.fd);
		cursor = uk.id + 1;
		if (!(uk.flags & VBACKEND_KICK_F_NOTIFIER) || (uk.flags & VBACKEND_F_PIO))
			continue;
		m->efd = attach_new(vm, VBACKEND_VMM_SET_KICK_FD, uk.id);
		if (m->efd < 0)
			continue;
		m->id = uk.id;
		m->addr = uk.addr;
		m->len = uk.len;
		m->datamatch = uk.flags & VBACKEND_KICK_F_DATAMATCH;
		m->data = uk.data;
		vm->nr_kicks++;
	}
	return 0;
}

int fsim_vm_refresh(struct fsim_vm *vm)
{
	int old_irq[FSIM_MAX_IRQS], old_kick[FSIM_MAX_KICKS];
	unsigned int i, nr_irqs = vm->nr_irqs, nr_kicks = vm->nr_kicks;
	int ret;

	/* the old eventfds go once the new ones are attached over them */
	for (i = 0; i < nr_irqs; i++)
		old_irq[i] = vm->irqs[i].efd;
	for (i = 0; i < nr_kicks; i++)
		old_kick[i] = vm->kicks[i].efd;
	vm->nr_irqs = vm->nr_kicks = 0;
	vm->irqs_stale = false;
	ret = refresh_irqs(vm);
	if (!ret)
		ret = refresh_kicks(vm);
	for (i = 0; i < nr_irqs; i++)
		close_efd(&old_irq[i]);
	for (i = 0; i < nr_kicks; i++)
		close_efd(&old_kick[i]);
	return ret;
}

void fsim_vm_notifiers_close(struct fsim_vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_irqs; i++)
		close_efd(&vm->irqs[i].efd);
	for (i = 0; i < vm->nr_kicks; i++)
		close_efd(&vm->kicks[i].efd);
	vm->nr_irqs = vm->nr_kicks = 0;
}

bool fsim_vm_fd_kick(struct fsim_vm *vm, uint64_t addr, unsigned int size,
		     uint64_t val)
{
	const struct fsim_kick_map *hit = NULL;
	uint64_t one = 1;
	unsigned int i;

	/* as KVM matches: a data-matched kick before a wildcard */
	for (i = 0; i < vm->nr_kicks; i++) {
		const struct fsim_kick_map *k = &vm->kicks[i];

		if (k->addr != addr || k->len != size)
			continue;
		if (k->datamatch && k->data == val) {
			hit = k;
			break;
		}
		if (!k->datamatch && !hit)
			hit = k;
	}
	if (!hit || write(hit->efd, &one, sizeof(one)) != sizeof(one))
		return false;
	vm->st.fd_kicks++;
	return true;
}

unsigned int fsim_vm_irq_pollfds(struct fsim_vm *vm, struct pollfd *pfd,
				 unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_irqs && n < max; i++) {
		if (vm->irqs[i].efd < 0)
			continue;
		pfd[n].fd = vm->irqs[i].efd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

int fsim_vm_irq_fd_fired(struct fsim_vm *vm, int efd, uint32_t *id)
{
	uint64_t cnt;
	unsigned int i;

	/* (one of ours still: a refresh may have replaced it since the poll) */
	for (i = 0; i < vm->nr_irqs; i++) {
		if (vm->irqs[i].efd != efd)
			continue;
		if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			return 0;
		*id = vm->irqs[i].id;
		vm->st.fd_irqs++;
		return 1;
	}
	return 0;
}
