// SPDX-License-Identifier: Apache-2.0
/*
 * Host unit tests of vbackend-vhost-user's message framing and memory
 * table: messages written into a socketpair as a front-end would (or as a
 * broken one would), read back with vu_msg_recv().
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "tap.h"
#include "vhost_user.h"

struct pair {
	int fe;		/* the front-end's end */
	int be;		/* the bridge's */
};

static void pair_open(struct pair *p)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		tap_fail(__FILE__, __LINE__, "socketpair");
	p->fe = sv[0];
	p->be = sv[1];
}

static void pair_close(struct pair *p)
{
	close(p->fe);
	close(p->be);
}

/* Send a header of @request/@flags/@size, @len payload bytes and @nfds. */
static void fe_send(struct pair *p, uint32_t request, uint32_t flags,
		    uint32_t size, const void *payload, size_t len,
		    const int *fds, unsigned int nfds)
{
	struct vu_header h = { .request = request, .flags = flags, .size = size };
	char buf[sizeof(h) + VU_PAYLOAD_MAX + 64];
	union {
		char c[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(h) + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	if (nfds) {
		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(p->fe, &mh, 0) != (ssize_t)iov.iov_len)
		tap_fail(__FILE__, __LINE__, "sendmsg");
}

/* Open descriptors of this process. */
static unsigned int open_fds(void)
{
	unsigned int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_u64_request(void)
{
	struct pair p;
	struct vu_msg m;
	uint64_t f = 0x130000000ULL;
	char err[256];

	pair_open(&p);
	fe_send(&p, VU_SET_FEATURES, VU_VERSION, 8, &f, 8, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), 1);
	CHECK_EQ(m.hdr.request, VU_SET_FEATURES);
	CHECK_EQ(m.p.u64, f);
	CHECK_EQ(m.nr_fds, 0);
	pair_close(&p);
}

static void test_kick_fd_arrives(void)
{
	struct pair p;
	struct vu_msg m;
	uint64_t idx = 1, v = 0;
	int efd = eventfd(0, EFD_CLOEXEC);
	char err[256];

	pair_open(&p);
	fe_send(&p, VU_SET_VRING_KICK, VU_VERSION, 8, &idx, 8, &efd, 1);
	REQUIRE(vu_msg_recv(p.be, &m, err, sizeof(err)) == 1);
	CHECK_EQ(m.nr_fds, 1);
	/* the same eventfd: a write to ours is read on theirs */
	CHECK_EQ(eventfd_write(efd, 3), 0);
	CHECK_EQ(eventfd_read(m.fds[0], &v), 0);
	CHECK_EQ(v, 3);
	CHECK(fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC);
	vu_msg_close_fds(&m);
	close(efd);
	pair_close(&p);
}

static void test_nofd_kick_has_no_fd(void)
{
	struct pair p;
	struct vu_msg m;
	uint64_t idx = 1 | VU_VRING_NOFD;
	int efd = eventfd(0, EFD_CLOEXEC);
	char err[256];

	pair_open(&p);
	fe_send(&p, VU_SET_VRING_CALL, VU_VERSION, 8, &idx, 8, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), 1);
	CHECK_EQ(m.nr_fds, 0);
	/* NOFD with an fd after all: refused, and the fd closed */
	fe_send(&p, VU_SET_VRING_CALL, VU_VERSION, 8, &idx, 8, &efd, 1);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "SET_VRING_CALL with 1 fds (expected 0)"));
	close(efd);
	pair_close(&p);
}

static void test_wrong_sizes_refused(void)
{
	struct pair p;
	struct vu_msg m;
	char payload[64] = { 0 };
	char err[256];

	pair_open(&p);
	fe_send(&p, VU_SET_VRING_NUM, VU_VERSION, 4, payload, 4, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "SET_VRING_NUM of 4 bytes (expected 8)"));
	pair_close(&p);

	pair_open(&p);
	fe_send(&p, VU_SET_VRING_ADDR, VU_VERSION, 48, payload, 48, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "SET_VRING_ADDR of 48 bytes (expected 40)"));
	pair_close(&p);
}

static void test_oversized_refused_before_reading(void)
{
	struct pair p;
	struct vu_msg m;
	char err[256];

	pair_open(&p);
	/* a size far past any payload: refused from the header alone */
	fe_send(&p, VU_SET_MEM_TABLE, VU_VERSION, 1u << 30, NULL, 0, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "SET_MEM_TABLE of 1073741824 bytes (at most"));
	pair_close(&p);
}

static void test_version_and_reply_flag(void)
{
	struct pair p;
	struct vu_msg m;
	char err[256];

	pair_open(&p);
	fe_send(&p, VU_GET_FEATURES, 0x2, 0, NULL, 0, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "protocol version 2 (expected 1)"));
	fe_send(&p, VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 0, NULL, 0, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "a reply (GET_FEATURES) where a request was due"));
	pair_close(&p);
}

static void test_mem_table_fds_match_regions(void)
{
	struct vu_memory mem = { .nregions = 2 };
	uint32_t size = 8 + 2 * sizeof(struct vu_region);
	int fds[3] = { eventfd(0, 0), eventfd(0, 0), eventfd(0, 0) };
	unsigned int before;
	struct pair p;
	struct vu_msg m;
	char err[256];

	pair_open(&p);
	before = open_fds();
	fe_send(&p, VU_SET_MEM_TABLE, VU_VERSION, size, &mem, size, fds, 3);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "SET_MEM_TABLE of 2 regions with 3 fds"));
	/* every fd that came with it is closed again */
	CHECK_EQ(open_fds(), before);
	fe_send(&p, VU_SET_MEM_TABLE, VU_VERSION, size, &mem, size, fds, 2);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), 1);
	CHECK_EQ(m.nr_fds, 2);
	vu_msg_close_fds(&m);
	mem.nregions = VU_MAX_REGIONS + 1;
	fe_send(&p, VU_SET_MEM_TABLE, VU_VERSION, 8, &mem, 8, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "SET_MEM_TABLE of 9 regions in 8 bytes"));
	pair_close(&p);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

static void test_too_many_fds_refused(void)
{
	int fds[VU_MAX_REGIONS + 2];
	unsigned int before;
	struct pair p;
	struct vu_msg m;
	uint64_t idx = 0;
	char err[256];

	for (int i = 0; i < VU_MAX_REGIONS + 2; i++)
		fds[i] = eventfd(0, 0);
	pair_open(&p);
	before = open_fds();
	fe_send(&p, VU_SET_VRING_KICK, VU_VERSION, 8, &idx, 8, fds, VU_MAX_REGIONS + 2);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than 8 fds"));
	/* what the kernel passed before truncating is closed */
	CHECK_EQ(open_fds(), before);
	pair_close(&p);
	for (int i = 0; i < VU_MAX_REGIONS + 2; i++)
		close(fds[i]);
}

static void test_config_bounds(void)
{
	struct vu_config cfg = { .offset = 0, .size = 8 };
	struct pair p;
	struct vu_msg m;
	char err[256];

	pair_open(&p);
	fe_send(&p, VU_GET_CONFIG, VU_VERSION, 12 + 8, &cfg, 12 + 8, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), 1);
	CHECK_EQ(m.p.config.size, 8);
	cfg.size = 300;
	fe_send(&p, VU_GET_CONFIG, VU_VERSION, 12 + 8, &cfg, 12 + 8, NULL, 0);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "GET_CONFIG of 20 bytes for 300 config bytes"));
	pair_close(&p);
}

static void test_eof_and_vanishing(void)
{
	struct pair p;
	struct vu_msg m;
	struct vu_header h = { .request = VU_SET_FEATURES, .flags = VU_VERSION, .size = 8 };
	char err[256];

	pair_open(&p);
	close(p.fe);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), 0);
	close(p.be);

	pair_open(&p);
	/* the header, then the front-end dies before its payload */
	CHECK_EQ(write(p.fe, &h, sizeof(h)), (ssize_t)sizeof(h));
	close(p.fe);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "vanished mid-message"));
	close(p.be);

	pair_open(&p);
	/* half a header */
	CHECK_EQ(write(p.fe, &h, 5), 5);
	close(p.fe);
	CHECK_EQ(vu_msg_recv(p.be, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "vanished mid-message"));
	close(p.be);
}

static void test_reply_framing(void)
{
	struct pair p;
	struct vu_header h;
	uint64_t v = 0x1234, got = 0;

	pair_open(&p);
	CHECK_EQ(vu_msg_reply(p.be, VU_GET_FEATURES, &v, sizeof(v)), 0);
	CHECK_EQ(read(p.fe, &h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK_EQ(h.request, VU_GET_FEATURES);
	CHECK_EQ(h.flags, VU_VERSION | VU_FLAG_REPLY);
	CHECK_EQ(h.size, 8);
	CHECK_EQ(read(p.fe, &got, 8), 8);
	CHECK_EQ(got, v);
	pair_close(&p);
}

static void test_memtable_check(void)
{
	struct vu_memory mem = { .nregions = 2 };
	char err[256];

	mem.regions[0] = (struct vu_region){ 0, 0xa0000, 0x7f0000000000, 0 };
	mem.regions[1] = (struct vu_region){ 0xc0000, 0x1000000, 0x7f00000c0000, 0xc0000 };
	CHECK_EQ(vu_memtable_check(&mem, err, sizeof(err)), 0);
	mem.regions[1].gpa = 0x9f000;
	CHECK_EQ(vu_memtable_check(&mem, err, sizeof(err)), -1);
	CHECK(strstr(err, "memory regions 0 and 1 overlap"));
	mem.regions[1].gpa = 0xc0000;
	mem.regions[1].uaddr = 0x7f0000001000;
	CHECK_EQ(vu_memtable_check(&mem, err, sizeof(err)), -1);
	CHECK(strstr(err, "overlap"));
	mem.regions[1].uaddr = 0x7f00000c0000;
	mem.regions[1].size = 0x1000001;
	CHECK_EQ(vu_memtable_check(&mem, err, sizeof(err)), -1);
	CHECK(strstr(err, "not page aligned"));
	mem.regions[1].size = 0;
	CHECK_EQ(vu_memtable_check(&mem, err, sizeof(err)), -1);
	CHECK(strstr(err, "empty or wraps"));
	mem.regions[1].size = 0x2000;
	mem.regions[1].gpa = UINT64_MAX - 0xfff;
	CHECK_EQ(vu_memtable_check(&mem, err, sizeof(err)), -1);
	CHECK(strstr(err, "empty or wraps"));
}

static void test_memtable_translation(void)
{
	struct vu_memtable t = { .nr = 2 };
	uint64_t gpa = 0;

	t.r[0] = (struct vu_region){ 0, 0xa0000, 0x7f0000000000, 0 };
	t.r[1] = (struct vu_region){ 0x100000, 0x100000, 0x7f1000000000, 0x100000 };
	CHECK(vu_memtable_to_gpa(&t, 0x7f0000001000, 16, &gpa));
	CHECK_EQ(gpa, 0x1000);
	CHECK(vu_memtable_to_gpa(&t, 0x7f1000000ff0, 0x10, &gpa));
	CHECK_EQ(gpa, 0x100ff0);
	/* the last byte of a region, and one past it */
	CHECK(vu_memtable_to_gpa(&t, 0x7f10000fffff, 1, &gpa));
	CHECK(!vu_memtable_to_gpa(&t, 0x7f10000fffff, 2, &gpa));
	/* straddling two regions, below, and wrapping */
	CHECK(!vu_memtable_to_gpa(&t, 0x7f000009fff0, 0x20, &gpa));
	CHECK(!vu_memtable_to_gpa(&t, 0x1000, 1, &gpa));
	CHECK(!vu_memtable_to_gpa(&t, UINT64_MAX, 2, &gpa));
	CHECK(!vu_memtable_to_gpa(&t, 0x7f0000001000, 0, &gpa));
	CHECK(!vu_memtable_to_gpa(&t, 0x7f0000001000, UINT64_MAX, &gpa));
}

static void test_memtable_same_file(void)
{
	struct vu_memtable t = { .nr = 1, .dev = { 5 }, .ino = { 42 } };
	struct vu_region r = { 0, 0x100000, 0x7f0000000000, 0 };

	t.r[0] = r;
	CHECK(vu_memtable_has(&t, &r, 5, 42));
	/* another mapping address of the same region is the same region */
	r.uaddr = 0x7e0000000000;
	CHECK(vu_memtable_has(&t, &r, 5, 42));
	CHECK(!vu_memtable_has(&t, &r, 5, 43));
	r.mmap_offset = 0x1000;
	CHECK(!vu_memtable_has(&t, &r, 5, 42));
}

const struct vb_test vhost_user_tests[] = {
	{ "vhost_user.msg_u64_request", test_u64_request },
	{ "vhost_user.msg_kick_fd_arrives", test_kick_fd_arrives },
	{ "vhost_user.msg_nofd_has_no_fd", test_nofd_kick_has_no_fd },
	{ "vhost_user.msg_wrong_sizes_refused", test_wrong_sizes_refused },
	{ "vhost_user.msg_oversized_refused", test_oversized_refused_before_reading },
	{ "vhost_user.msg_version_and_reply_flag", test_version_and_reply_flag },
	{ "vhost_user.msg_mem_table_fds_match", test_mem_table_fds_match_regions },
	{ "vhost_user.msg_too_many_fds_closed", test_too_many_fds_refused },
	{ "vhost_user.msg_config_bounds", test_config_bounds },
	{ "vhost_user.msg_eof_and_vanishing", test_eof_and_vanishing },
	{ "vhost_user.msg_reply_framing", test_reply_framing },
	{ "vhost_user.memtable_check", test_memtable_check },
	{ "vhost_user.memtable_translation", test_memtable_translation },
	{ "vhost_user.memtable_same_file", test_memtable_same_file },
	{ NULL, NULL },
};
