// SPDX-License-Identifier: Apache-2.0
/*
 * Sessions without a kernel: address translation, error messages, the
 * record stream (over a socketpair standing in for the session fd) and
 * the SIGBUS guard (over a truncated memfd standing in for a revoked
 * window).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"
#include "tap.h"

static void t_translate(void)
{
	struct vb_session *s = vb_session_fake(-1);
	static uint8_t rw[0x2000], ro[0x1000];

	REQUIRE(s);
	REQUIRE(!vb_session_fake_window(s, 0x10000, rw, sizeof(rw), true));
	REQUIRE(!vb_session_fake_window(s, 0x20000, ro, sizeof(ro), false));
	CHECK(vb_translate(s, 0x10000, 0x2000, true) == rw);
	CHECK(vb_translate(s, 0x11fff, 1, true) == rw + 0x1fff);
	CHECK(vb_translate(s, 0x11fff, 2, false) == NULL);
	CHECK(vb_translate(s, 0xffff, 1, false) == NULL);
	CHECK(vb_translate(s, 0xffff, 2, false) == NULL);
	CHECK(vb_translate(s, 0x12000, 1, false) == NULL);
	CHECK(vb_translate(s, 0x10000, 0x2001, false) == NULL);
	CHECK(vb_translate(s, 0x10001, ~0ULL, false) == NULL);
	CHECK(vb_translate(s, ~0ULL, 2, false) == NULL);
	CHECK(vb_translate(s, ~0ULL - 0x10, 0x20, false) == NULL);
	/* Two windows side by side are not one range. */
	CHECK(vb_translate(s, 0x11000, 0x2000, false) == NULL);
	/* Read-only window. */
	CHECK(vb_translate(s, 0x20000, 0x1000, false) == ro);
	CHECK(vb_translate(s, 0x20000, 1, true) == NULL);
	CHECK(vb_translate(s, 0x20fff, 1, false) == ro + 0xfff);
	/* A window that wraps is refused. */
	CHECK(vb_session_fake_window(s, ~0ULL - 0xfff, ro, 0x2000, false) == -EOVERFLOW);
	vb_session_close(s);
}

static bool one_line(const char *msg)
{
	return msg[0] && !strchr(msg, '\n');
}

static void t_open_errors(void)
{
	struct vb_session *s = (struct vb_session *)1;
	int ret;

	CHECK_EQ(vb_session_open(NULL, &s), -EINVAL);
	CHECK(s == NULL);
	CHECK(one_line(vb_last_error()));
	printf("# %s\n", vb_last_error());

	ret = vb_session_open("vmm:fd=9", &s);
	if (access(VB_DEV_PATH, F_OK)) {
		CHECK_EQ(ret, -ENOENT);
		CHECK(!strcmp(vb_last_error(), "open " VB_DEV_PATH ": No such file or directory"));
	} else if (ret) {
		/* On a machine with the module: "bind vmm:fd=9: ..." or EACCES. */
		CHECK(!strncmp(vb_last_error(), "bind vmm:fd=9: ", 15) ||
		      !strncmp(vb_last_error(), "open ", 5));
	}
	CHECK(ret || s);
	if (!ret)
		vb_session_close(s);
	CHECK(one_line(vb_last_error()));
	printf("# %s\n", vb_last_error());
	vb_session_close(NULL);
}

static void t_error_format(void)
{
	CHECK_EQ(vb_error(EBADF, "bind %s", "vmm:fd=9"), -EBADF);
	CHECK(!strcmp(vb_last_error(), "bind vmm:fd=9: Bad file descriptor"));
	vb_error(EINVAL, "bind %s", "a\nb");
	CHECK(one_line(vb_last_error()));
}

static void send_event(int fd, uint32_t type, uint64_t seq, uint64_t addr,
		       uint8_t size, uint8_t dir, uint64_t data)
{
	struct vbackend_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.seq = seq;
	ev.u.access.addr = addr;
	ev.u.access.size = size;
	ev.u.access.dir = dir;
	ev.u.access.data = data;
	ev.u.access.space = VBACKEND_SPACE_MMIO;
	if (write(fd, &ev, sizeof(ev)) != sizeof(ev))
		tap_fail(__FILE__, __LINE__, "send_event");
}

static void t_event_stream(void)
{
	struct vb_virtio_params p = { .mmio_base = G_MMIO_BASE };
	struct vb_virtio_ops ops = { .device_id = VIRTIO_ID_RNG, .num_queues = 1,
				     .queue_num_max = 64 };
	struct vbackend_completion c[8];
	struct vb_virtio_dev *d, *d2;
	struct vb_session *s;
	int sv[2];
	ssize_t n;

	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	REQUIRE(!fcntl(sv[0], F_SETFL, O_NONBLOCK));
	s = vb_session_fake(sv[0]);
	REQUIRE(s);
	REQUIRE(!vb_virtio_create(s, &p, &ops, NULL, NULL, &d));
	p.mmio_base = G_MMIO_BASE + 0x1000;
	ops.device_id = VIRTIO_ID_BLOCK;
	REQUIRE(!vb_virtio_create(s, &p, &ops, NULL, NULL, &d2));

	CHECK_EQ(vb_virtio_handle_events(d), 0);	/* nothing queued */
	send_event(sv[1], VBACKEND_EVENT_TRAP, 1, G_MMIO_BASE, 4, VBACKEND_DIR_READ, 0);
	send_event(sv[1], VBACKEND_EVENT_TRAP, 2, G_MMIO_BASE + 0x1008, 4, VBACKEND_DIR_READ, 0);
	send_event(sv[1], VBACKEND_EVENT_TRAP, 3, G_MMIO_BASE + VIRTIO_MMIO_STATUS, 4,
		   VBACKEND_DIR_WRITE, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	send_event(sv[1], VBACKEND_EVENT_TRAP, 4, G_MMIO_BASE + VIRTIO_MMIO_STATUS, 4,
		   VBACKEND_DIR_READ, 0);
	send_event(sv[1], VBACKEND_EVENT_TRAP, 5, 0x1234, 4, VBACKEND_DIR_READ, 0);
	/* Straddling the end of the register window: nobody's. */
	send_event(sv[1], VBACKEND_EVENT_TRAP, 6, G_MMIO_BASE + 0x1fc, 8, VBACKEND_DIR_READ, 0);
	CHECK_EQ(vb_virtio_handle_events(d2), 0);
	n = read(sv[1], c, sizeof(c));
	REQUIRE(n == 6 * (ssize_t)sizeof(c[0]));
	CHECK_EQ(c[0].seq, 1);
	CHECK_EQ(c[0].data, 0x74726976);
	CHECK_EQ(c[1].seq, 2);
	CHECK_EQ(c[1].data, VIRTIO_ID_BLOCK);
	CHECK_EQ(c[2].seq, 3);
	CHECK_EQ(c[3].data, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	CHECK_EQ(c[4].data, 0);
	CHECK_EQ(c[5].data, 0);
	CHECK_EQ(c[0].flags | c[5].flags | c[0].reserved, 0);

	/* A frontend reset resets every device of the session. */
	send_event(sv[1], VBACKEND_EVENT_RESET, 0, 0, 0, 0, 0);
	CHECK_EQ(vb_virtio_handle_events(d), 0);
	CHECK_EQ(atomic_load(&d->status), 0);

	send_event(sv[1], VBACKEND_EVENT_PEER_GONE, 0, 0, 0, 0, 0);
	CHECK_EQ(vb_virtio_handle_events(d), -EPIPE);
	CHECK(atomic_load(&s->gone));
	vb_virtio_destroy(d2);
	vb_virtio_destroy(d);
	vb_session_close(s);
	close(sv[1]);
}

static void t_event_eof(void)
{
	struct vbackend_event ev;
	struct vb_session *s;
	int sv[2];

	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	REQUIRE(!fcntl(sv[0], F_SETFL, O_NONBLOCK));
	s = vb_session_fake(sv[0]);
	REQUIRE(s);
	CHECK_EQ(vb_events_read(s, &ev, 1), 0);
	close(sv[1]);
	CHECK_EQ(vb_events_read(s, &ev, 1), -EPIPE);
	CHECK(atomic_load(&s->gone));
	vb_session_close(s);
}

/* A shared mapping whose file shrank behaves like a revoked window. */
static uint8_t *revoked_mapping(size_t len)
{
	int fd = memfd_create("vb-test", MFD_CLOEXEC);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, (off_t)len))
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0xaa, len);
	if (ftruncate(fd, 0))
		return NULL;
	close(fd);
	return p;
}

static void t_sigbus_guard(void)
{
	struct vbackend_event ev;
	struct tguest g;
	volatile uint8_t *p;
	uint8_t v;
	int status;
	pid_t pid;

	REQUIRE(!tg_start(&g, F_V1, 8));
	p = revoked_mapping(2 * 4096);
	REQUIRE(p);
	REQUIRE(!vb_session_fake_window(g.s, 0x100000000ULL, (void *)p, 2 * 4096, true));
	CHECK(!atomic_load(&g.s->gone));
	v = p[4097];		/* SIGBUS, handled: zero pages now */
	CHECK_EQ(v, 0);
	p[5] = 1;		/* writable, harmless */
	CHECK_EQ(p[5], 1);
	CHECK(atomic_load(&g.s->gone));
	CHECK_EQ(vb_events_read(g.s, &ev, 1), -EPIPE);
	/* Workers see -EPIPE next. */
	g.avail->idx = 1;
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &(struct vb_vq_req){ 0 }), -EPIPE);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
	munmap((void *)p, 2 * 4096);

	/* A SIGBUS elsewhere still kills (default action, or a sanitizer's
	 * report when it had a handler first). */
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		volatile uint8_t *q = revoked_mapping(4096);

		if (q)
			v = q[0];
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) ||
	      (WIFEXITED(status) && WEXITSTATUS(status) != 0));
}

const struct vb_test session_tests[] = {
	{ "session: vb_translate bounds", t_translate },
	{ "session: open errors are one line", t_open_errors },
	{ "session: error format", t_error_format },
	{ "session: trap records dispatched and completed", t_event_stream },
	{ "session: EOF on the record stream", t_event_eof },
	{ "session: SIGBUS guard over a revoked window", t_sigbus_guard },
	{ NULL, NULL },
};
