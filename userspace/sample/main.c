// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: a virtio-blk and virtio-rng backend that serves any
 * frontend /dev/vbackend can reach, through libvbackend alone.
 *
 * The main thread owns the signals (a signalfd) and every session fd,
 * where register accesses and lifecycle events arrive; each queue has
 * its own worker thread (device.c). Signals are blocked in every thread
 * before the first one starts.
 *
 *   SIGUSR1          one status line on stdout
 *   SIGTERM, SIGINT  finish the requests being served, stop every device,
 *                    exit 0
 *   frontend gone    stop that device (one line on stderr); exit 0 when
 *                    none is left
 *
 * A frontend's session descriptor inherited for the bind is closed once
 * every session is bound (inherit.c), so that the frontend can go away.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "sample.h"

static void __attribute__((noreturn))
setup_failed(struct sample_dev **devs, size_t n, const char *err)
{
	for (size_t i = 0; i < n; i++)
		device_stop(devs[i]);
	fprintf(stderr, PROG ": %s\n", err);
	options_free(devs, n);
	exit(EXIT_SETUP);
}

static int signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	/* A closed stdout must not kill us in the middle of a report. */
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

/* Read the pending signals: true when asked to stop. */
static bool signals_read(int fd, struct sample_dev **devs, size_t n)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			status_report(stdout, devs, n);
		else
			stop = true;
	}
	return stop;
}

/* The device that stands for its session in the poll set: the first
 * running one of that session. */
static bool polls_session(struct sample_dev **devs, size_t i)
{
	if (!devs[i]->running)
		return false;
	for (size_t j = 0; j < i; j++)
		if (devs[j]->running && devs[j]->sess == devs[i]->sess)
			return false;
	return true;
}

/* The session of @d failed or lost its frontend: stop its devices. */
static void session_lost(struct sample_dev **devs, size_t n,
			 struct sample_session *sess, int r)
{
	char why[ERR_MAX];

	if (r == -EPIPE)
		snprintf(why, sizeof(why), "frontend gone");
	else
		snprintf(why, sizeof(why), "%s", vb_last_error());
	for (size_t i = 0; i < n; i++) {
		if (!devs[i]->running || devs[i]->sess != sess)
			continue;
		fprintf(stderr, PROG ": %s: %s\n", devs[i]->name, why);
		device_stop(devs[i]);
	}
}

/* Serve until a signal stops us or no device is left; the exit status. */
static int event_loop(int sfd, struct sample_dev **devs, size_t n)
{
	struct pollfd *p = calloc(n + 1, sizeof(*p));
	struct sample_dev **polled = calloc(n + 1, sizeof(*polled));
	int status = EXIT_CLEAN;

	if (!p || !polled) {
		fprintf(stderr, PROG ": out of memory\n");
		free(p);
		free(polled);
		return EXIT_RUNTIME;
	}
	for (;;) {
		size_t np = 1;

		p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			if (!polls_session(devs, i))
				continue;
			polled[np] = devs[i];
			p[np++] = (struct pollfd){
				.fd = vb_session_fd(devs[i]->sess->vs),
				.events = POLLIN,
			};
		}
		if (np == 1)
			break;	/* every device has stopped */
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			status = EXIT_RUNTIME;
			break;
		}
		if (p[0].revents && signals_read(sfd, devs, n))
			break;
		for (size_t i = 1; i < np; i++) {
			int r;

			if (!p[i].revents)
				continue;
			r = device_handle_events(polled[i]);
			if (r < 0) {
				session_lost(devs, n, polled[i]->sess, r);
				if (r != -EPIPE)
					status = EXIT_RUNTIME;
			}
		}
	}
	free(p);
	free(polled);
	return status;
}

int main(int argc, char **argv)
{
	struct sample_dev **devs;
	char err[ERR_MAX];
	size_t n;
	int sfd, status;

	inherited_note();
	options_parse(argc, argv, &devs, &n);

	sfd = signals_open();
	if (sfd < 0) {
		snprintf(err, sizeof(err), "signalfd: %s", strerror(errno));
		setup_failed(devs, n, err);
	}
	/* Every image before any session: a typo costs no frontend. */
	for (size_t i = 0; i < n; i++)
		if (device_open_model(devs[i], err, sizeof(err)))
			setup_failed(devs, n, err);
	for (size_t i = 0; i < n; i++)
		if (device_start(devs[i], err, sizeof(err)))
			setup_failed(devs, n, err);
	/* Bound: a frontend's session inherited for the bind goes now. */
	for (size_t i = 0; i < n; i++)
		inherited_close_like(vb_session_fd(devs[i]->sess->vs));
	inherited_forget();

	status = event_loop(sfd, devs, n);

	for (size_t i = 0; i < n; i++)
		device_stop(devs[i]);
	close(sfd);
	options_free(devs, n);
	return status;
}
