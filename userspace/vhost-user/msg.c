// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-vhost-user: framing and validation of vhost-user messages.
 *
 * The front-end is trusted to be a VMM, not to be correct: every message
 * is checked against the size and descriptors its request carries before
 * anything reads its payload, and a message that does not fit is refused
 * whole, its descriptors closed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "vhost_user.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const names[] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SET_SLAVE_REQ_FD] = "SET_SLAVE_REQ_FD",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
};

const char *vu_request_name(uint32_t request)
{
	if (request < ARRAY_SIZE(names) && names[request])
		return names[request];
	return "an unknown request";
}

/*
 * What a request carries. @size < 0: variable, checked by its own rule;
 * @fds < 0: one descriptor unless the u64 payload says VU_VRING_NOFD.
 */
struct vu_shape {
	int size;
	int fds;
};

static bool shape_of(uint32_t request, struct vu_shape *sh)
{
	switch (request) {
	case VU_GET_FEATURES:
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM:
		*sh = (struct vu_shape){ 0, 0 };
		return true;
	case VU_SET_FEATURES:
	case VU_SET_PROTOCOL_FEATURES:
		*sh = (struct vu_shape){ sizeof(uint64_t), 0 };
		return true;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		*sh = (struct vu_shape){ sizeof(struct vu_vring_state), 0 };
		return true;
	case VU_SET_VRING_ADDR:
		*sh = (struct vu_shape){ sizeof(struct vu_vring_addr), 0 };
		return true;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		*sh = (struct vu_shape){ sizeof(uint64_t), -1 };
		return true;
	case VU_SET_SLAVE_REQ_FD:
		*sh = (struct vu_shape){ 0, 1 };
		return true;
	case VU_SET_MEM_TABLE:
	case VU_GET_CONFIG:
	case VU_SET_CONFIG:
		*sh = (struct vu_shape){ -1, 0 };
		return true;
	default:
		return false;	/* unknown: any payload, no fds */
	}
}

/* The variable-size requests: 0 when @m is well formed. */
static int check_variable(const struct vu_msg *m, char *err, size_t errlen)
{
	const uint32_t mem_hdr = offsetof(struct vu_memory, regions);
	const uint32_t cfg_hdr = offsetof(struct vu_config, payload);
	uint32_t n;

	if (m->hdr.request == VU_SET_MEM_TABLE) {
		if (m->hdr.size < mem_hdr) {
			snprintf(err, errlen, "SET_MEM_TABLE of %u bytes", m->hdr.size);
			return -1;
		}
		n = m->p.memory.nregions;
		if (!n || n > VU_MAX_REGIONS ||
		    m->hdr.size != mem_hdr + n * sizeof(struct vu_region)) {
			snprintf(err, errlen,
				 "SET_MEM_TABLE of %u regions in %u bytes (1..%u regions)",
				 n, m->hdr.size, VU_MAX_REGIONS);
			return -1;
		}
		if (m->nr_fds != n) {
			snprintf(err, errlen, "SET_MEM_TABLE of %u regions with %u fds",
				 n, m->nr_fds);
			return -1;
		}
		return 0;
	}
	/* GET_CONFIG / SET_CONFIG */
	if (m->hdr.size < cfg_hdr || m->p.config.size > VU_MAX_CONFIG ||
	    m->hdr.size != cfg_hdr + m->p.config.size) {
		snprintf(err, errlen, "%s of %u bytes for %u config bytes (at most %u)",
			 vu_request_name(m->hdr.request), m->hdr.size,
			 m->hdr.size >= cfg_hdr ? m->p.config.size : 0, VU_MAX_CONFIG);
		return -1;
	}
	return 0;
}

static int check(const struct vu_msg *m, char *err, size_t errlen)
{
	const char *name = vu_request_name(m->hdr.request);
	struct vu_shape sh;
	int fds;

	if (!shape_of(m->hdr.request, &sh)) {
		if (m->nr_fds) {
			snprintf(err, errlen, "request %u with %u fds",
				 m->hdr.request, m->nr_fds);
			return -1;
		}
		return 0;	/* the caller refuses it by name */
	}
	if (sh.size < 0)
		return check_variable(m, err, errlen);
	if (m->hdr.size != (uint32_t)sh.size) {
		snprintf(err, errlen, "%s of %u bytes (expected %d)", name,
			 m->hdr.size, sh.size);
		return -1;
	}
	fds = sh.fds >= 0 ? sh.fds : !(m->p.u64 & VU_VRING_NOFD);
	if (m->nr_fds != (unsigned int)fds) {
		snprintf(err, errlen, "%s with %u fds (expected %d)", name,
			 m->nr_fds, fds);
		return -1;
	}
	return 0;
}

void vu_msg_close_fds(struct vu_msg *m)
{
	for (unsigned int i = 0; i < m->nr_fds; i++)
		close(m->fds[i]);
	m->nr_fds = 0;
}

/* Read exactly @len bytes: 1, 0 on EOF before any, -1 on error or EOF
 * within. */
static int read_full(int sock, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = recv(sock, (char *)buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && !done ? 0 : -1;
		done += n;
	}
	return 1;
}

/* The header, with whatever fds came with its first byte. */
static int recv_header(int sock, struct vu_msg *m, char *err, size_t errlen)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &m->hdr, .iov_len = sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int r;

	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0) {
		snprintf(err, errlen, "reading a message: %s", strerror(errno));
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > VU_MAX_REGIONS - m->nr_fds)
			k = VU_MAX_REGIONS - m->nr_fds;	/* cannot happen: CTRUNC */
		memcpy(&m->fds[m->nr_fds], CMSG_DATA(c), k * sizeof(int));
		m->nr_fds += k;
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		snprintf(err, errlen, "a message with more than %u fds", VU_MAX_REGIONS);
		return -1;
	}
	if ((size_t)n < sizeof(m->hdr)) {
		r = read_full(sock, (char *)&m->hdr + n, sizeof(m->hdr) - n);
		if (r <= 0) {
			snprintf(err, errlen, "the front-end vanished mid-message");
			return -1;
		}
	}
	return 1;
}

int vu_msg_recv(int sock, struct vu_msg *m, char *err, size_t errlen)
{
	int r;

	memset(&m->hdr, 0, sizeof(m->hdr));
	m->nr_fds = 0;
	r = recv_header(sock, m, err, errlen);
	if (r <= 0)
		goto out;
	r = -1;
	if ((m->hdr.flags & VU_VERSION_MASK) != VU_VERSION) {
		snprintf(err, errlen, "%s of protocol version %u (expected %u)",
			 vu_request_name(m->hdr.request),
			 m->hdr.flags & VU_VERSION_MASK, VU_VERSION);
		goto out;
	}
	if (m->hdr.flags & VU_FLAG_REPLY) {
		snprintf(err, errlen, "a reply (%s) where a request was due",
			 vu_request_name(m->hdr.request));
		goto out;
	}
	if (m->hdr.size > VU_PAYLOAD_MAX) {
		snprintf(err, errlen, "%s of %u bytes (at most %zu)",
			 vu_request_name(m->hdr.request), m->hdr.size,
			 VU_PAYLOAD_MAX);
		goto out;
	}
	memset(&m->p, 0, sizeof(m->p));
	if (m->hdr.size && read_full(sock, &m->p, m->hdr.size) <= 0) {
		snprintf(err, errlen, "the front-end vanished mid-message");
		goto out;
	}
	r = check(m, err, errlen) ? -1 : 1;
out:
	if (r <= 0)
		vu_msg_close_fds(m);
	return r;
}

static int send_msg(int sock, uint32_t request, uint32_t flags,
		    const void *payload, uint32_t size)
{
	struct vu_header h = { .request = request, .flags = flags, .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* a unix stream socket takes a message this small whole */
	return (size_t)n == sizeof(h) + size ? 0 : -EIO;
}

int vu_msg_reply(int sock, uint32_t request, const void *payload, uint32_t size)
{
	return send_msg(sock, request, VU_VERSION | VU_FLAG_REPLY, payload, size);
}

int vu_msg_send(int sock, uint32_t request, const void *payload, uint32_t size)
{
	return send_msg(sock, request, VU_VERSION, payload, size);
}
