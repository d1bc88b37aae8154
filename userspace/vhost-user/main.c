// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-vhost-user: serve a vhost-user socket with an unchanged
 * vbackend backend.
 *
 * For each front-end that connects (QEMU with -chardev socket,path=P,
 * reconnect=N), the bridge makes a VMM-fed frontend of /dev/vbackend,
 * starts the backend on it (target=vmm:fd=3), and turns the front-end's
 * requests into register accesses; the kick and call eventfds go to the
 * backend's notifiers, so I/O never passes through the bridge. One
 * front-end at a time; when it goes, so does its backend.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "bridge.h"

#define VERSION		"0.1"
#define READY_MS	10000	/* the backend's device up, after its start */
#define EXIT_MS		5000	/* the backend gone, after its frontend */

struct opts {
	const char *socket;
	const char *device;
	const char *backend;
	bool once;
	bool verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --socket PATH --device SPEC [--backend PROG] [--once]\n"
		"       " PROG " --help | --version\n"
		"\n"
		"Serve the vhost-user socket PATH with a vbackend backend: for each\n"
		"front-end that connects, a VMM-fed frontend of /dev/vbackend and a\n"
		"new backend process serving it. The front-end's kick and call\n"
		"eventfds are handed to the backend's notifiers: I/O never goes\n"
		"through this process.\n"
		"\n"
		"  --socket PATH   the UNIX socket to listen on (a stale one is\n"
		"                  replaced)\n"
		"  --device SPEC   the backend's device, as vbackend-sample takes it\n"
		"                  but without target, mmio and irq: blk,image=F[,queues=N]\n"
		"                  or rng\n"
		"  --backend PROG  the backend (default: vbackend-sample beside this\n"
		"                  program, else from PATH)\n"
		"  --once          exit when the first front-end goes\n"
		"  --verbose       a line per request\n"
		"\n"
		"Signals: SIGUSR1 prints a status line (requests and register\n"
		"accesses of the current front-end); SIGTERM or SIGINT stops.\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT, or --once after a clean\n"
		"end; 1 a front-end or backend failed under --once, or the socket\n"
		"could not be served; 2 bad command line.\n");
}

static void __attribute__((noreturn)) bad_usage(const char *what)
{
	fprintf(stderr, PROG ": %s (see --help)\n", what);
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "backend", required_argument, NULL, 'b' },
		{ "once", no_argument, NULL, '1' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'd': o->device = optarg; break;
		case 'b': o->backend = optarg; break;
		case '1': o->once = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf(PROG " " VERSION "\n"); exit(0);
		default:
			bad_usage(optopt ? "an option lacks its argument" :
				  "unknown option");
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument");
	if (!o->socket)
		bad_usage("--socket is required");
	if (!o->device)
		bad_usage("--device is required");
	if (strstr(o->device, "target=") || strstr(o->device, "mmio=") ||
	    strstr(o->device, "irq="))
		bad_usage("--device takes no target, mmio or irq: the bridge sets them");
}

/* vbackend-sample beside us if there is one, else the name for PATH. */
static const char *default_backend(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	char *slash;

	if (n > 0) {
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (slash) {
			strcpy(slash + 1, "vbackend-sample");
			if (!access(path, X_OK))
				return path;
		}
	}
	return "vbackend-sample";
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, PROG ": socket path %s too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, PROG ": %s exists and is not a socket\n", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

enum end { END_CLEAN, END_FAILED, END_SIGNAL };

/* A signal came: true for SIGTERM/SIGINT; SIGUSR1 prints @c's status. */
static bool stop_signal(int sigfd, const struct vu_conn *c)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGUSR1) {
			stop = true;
		} else if (c) {
			printf(PROG ": status: %llu requests, %llu register accesses\n",
			       (unsigned long long)c->messages,
			       (unsigned long long)c->vmm.accesses);
			fflush(stdout);
		}
	}
	return stop;
}

/* Serve one front-end until it, or its backend, goes. */
static enum end serve(const struct opts *o, int sock, int sigfd)
{
	static struct vu_conn c;	/* large: not on the stack */
	struct vu_msg m;
	struct pollfd p[4];
	enum end end = END_FAILED;
	char err[256];
	int r;

	if (vu_vmm_open(&c.vmm, err, sizeof(err)) ||
	    vu_vmm_spawn(&c.vmm, o->backend, o->device, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		vu_vmm_close(&c.vmm, EXIT_MS);
		return END_FAILED;
	}
	if (vu_vmm_wait_ready(&c.vmm, READY_MS, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		vu_vmm_close(&c.vmm, EXIT_MS);
		return END_FAILED;
	}
	/* (from here on vu_conn_fini() undoes whatever vu_conn_init() did) */
	if (vu_conn_init(&c, sock, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	printf(PROG ": front-end connected; backend %d serves %u queues\n",
	       (int)c.vmm.pid, c.vmm.nr_queues);
	fflush(stdout);
	for (;;) {
		p[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = c.vmm.fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = c.config_efd, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, sizeof(err), "poll: %s", strerror(errno));
			break;
		}
		if (p[3].revents && stop_signal(sigfd, &c)) {
			end = END_SIGNAL;
			snprintf(err, sizeof(err), "stopped by a signal");
			break;
		}
		if (p[1].revents && vu_conn_vmm_events(&c, err, sizeof(err)))
			break;
		if (p[2].revents)
			vu_conn_config_changed(&c);
		if (!p[0].revents)
			continue;
		r = vu_msg_recv(sock, &m, err, sizeof(err));
		if (r == 0) {
			end = END_CLEAN;
			snprintf(err, sizeof(err), "the front-end closed the connection");
			break;
		}
		if (r < 0)
			break;
		if (o->verbose)
			fprintf(stderr, PROG ": %s\n", vu_request_name(m.hdr.request));
		r = vu_conn_handle(&c, &m, err, sizeof(err));
		vu_msg_close_fds(&m);
		if (r)
			break;
	}
	printf(PROG ": %s%s (%llu requests, %llu register accesses)\n",
	       end == END_FAILED ? "error: " : "", err,
	       (unsigned long long)c.messages, (unsigned long long)c.vmm.accesses);
	fflush(stdout);
	if (end == END_FAILED)
		fprintf(stderr, PROG ": %s\n", err);
out:
	vu_conn_fini(&c);
	vu_vmm_close(&c.vmm, EXIT_MS);
	return end;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	enum end end = END_CLEAN;
	struct pollfd p[2];
	sigset_t sigs;
	int lfd, sigfd, sock;

	parse(argc, argv, &o);
	if (!o.backend)
		o.backend = default_backend();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	lfd = listen_on(o.socket);
	if (sigfd < 0 || lfd < 0)
		return 1;
	printf(PROG ": listening on %s (pid %d)\n", o.socket, (int)getpid());
	fflush(stdout);
	for (;;) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents && stop_signal(sigfd, NULL))
			break;
		if (!p[0].revents)
			continue;
		sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (sock < 0)
			continue;
		end = serve(&o, sock, sigfd);
		close(sock);
		if (end == END_SIGNAL || o.once)
			break;
	}
	close(lfd);
	unlink(o.socket);
	return end == END_FAILED ? 1 : 0;
}
