// SPDX-License-Identifier: Apache-2.0
/*
 * SIGBUS guard for revoked windows.
 *
 * When the frontend dies, the kernel zaps every window mapping and a touch
 * raises SIGBUS. A worker may be in the middle of a memcpy() into a guest
 * buffer at that moment; killing the whole daemon for it would be wrong.
 * The handler looks the faulting address up in a lock-free table of
 * windows, maps anonymous zero pages over that window (MAP_FIXED: the
 * faulting instruction is restarted and now succeeds harmlessly) and marks
 * the session gone, so the worker's next library call returns -EPIPE.
 * Addresses that are not ours go to the previous handler, or kill the
 * process as SIG_DFL would.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vb_internal.h"

#define VB_GUARD_SLOTS	256

struct vb_guard {
	_Atomic uintptr_t start;	/* 0: free slot */
	_Atomic size_t len;
	_Atomic(atomic_bool *) gone;
};

static struct vb_guard vb_guards[VB_GUARD_SLOTS];
static pthread_mutex_t vb_guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction vb_old_sigbus;
static pthread_once_t vb_guard_once = PTHREAD_ONCE_INIT;
static int vb_guard_err;

static void vb_sigbus_chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;

	if ((vb_old_sigbus.sa_flags & SA_SIGINFO) && vb_old_sigbus.sa_sigaction) {
		vb_old_sigbus.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(vb_old_sigbus.sa_flags & SA_SIGINFO) &&
	    vb_old_sigbus.sa_handler != SIG_DFL &&
	    vb_old_sigbus.sa_handler != SIG_IGN) {
		vb_old_sigbus.sa_handler(sig);
		return;
	}
	/* Default action: the faulting access is restarted and kills us;
	 * a SIGBUS sent by kill() is raised again. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

static void vb_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;
	atomic_bool *gone;
	uintptr_t start;
	size_t len;
	unsigned int i;
	void *p;

	if (si->si_code <= 0)
		goto chain;
	for (i = 0; i < VB_GUARD_SLOTS; i++) {
		start = atomic_load(&vb_guards[i].start);
		if (!start)
			continue;
		len = atomic_load(&vb_guards[i].len);
		if (a - start >= len)
			continue;
		p = mmap((void *)start, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
			 -1, 0);
		if (p == MAP_FAILED)
			break;
		gone = atomic_load(&vb_guards[i].gone);
		if (gone)
			atomic_store(gone, true);
		errno = saved;
		return;
	}
chain:
	errno = saved;
	vb_sigbus_chain(sig, si, uc);
}

static void vb_guard_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vb_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &vb_old_sigbus))
		vb_guard_err = errno;
}

int vb_guard_install(void)
{
	pthread_once(&vb_guard_once, vb_guard_setup);
	if (vb_guard_err)
		return vb_error(vb_guard_err, "SIGBUS handler");
	return 0;
}

int vb_guard_add(void *host, size_t len, atomic_bool *gone)
{
	unsigned int i;
	int ret = -ENOSPC;

	pthread_mutex_lock(&vb_guard_lock);
	for (i = 0; i < VB_GUARD_SLOTS; i++) {
		if (atomic_load(&vb_guards[i].start))
			continue;
		atomic_store(&vb_guards[i].len, len);
		atomic_store(&vb_guards[i].gone, gone);
		atomic_store(&vb_guards[i].start, (uintptr_t)host);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&vb_guard_lock);
	return ret;
}

void vb_guard_del(void *host)
{
	unsigned int i;

	pthread_mutex_lock(&vb_guard_lock);
	for (i = 0; i < VB_GUARD_SLOTS; i++) {
		if (atomic_load(&vb_guards[i].start) != (uintptr_t)host)
			continue;
		atomic_store(&vb_guards[i].start, 0);
		atomic_store(&vb_guards[i].gone, NULL);
		break;
	}
	pthread_mutex_unlock(&vb_guard_lock);
}
