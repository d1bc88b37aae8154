/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vbackend-vhost-user: the vhost-user protocol, as QEMU's
 * docs/interop/vhost-user.rst defines it, restricted to what the bridge
 * speaks; and the bridge's parts that are shared between its files.
 */
#ifndef VHOST_USER_H
#define VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Front-end requests (the ones the bridge knows by name). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SET_SLAVE_REQ_FD = 21,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_REQUEST_MAX = 41,	/* past the last one the spec defines */
};

/* Back-end requests, on the channel SET_SLAVE_REQ_FD gives. */
#define VU_SLAVE_CONFIG_CHANGE_MSG	2

/* Header flags. */
#define VU_VERSION		0x1
#define VU_VERSION_MASK		0x3
#define VU_FLAG_REPLY		(1U << 2)
#define VU_FLAG_NEED_REPLY	(1U << 3)

/* Virtio feature bit 30, meaning "protocol features" in vhost-user. */
#define VU_F_PROTOCOL_FEATURES	30

/* Protocol features. */
#define VU_PROTOCOL_F_MQ		0
#define VU_PROTOCOL_F_REPLY_ACK		3
#define VU_PROTOCOL_F_SLAVE_REQ		5
#define VU_PROTOCOL_F_CONFIG		9

/* The u64 of SET_VRING_KICK/CALL/ERR: vring index, and "no fd". */
#define VU_VRING_IDX_MASK	0xffULL
#define VU_VRING_NOFD		(1ULL << 8)

/* SET_MEM_TABLE carries at most this many regions (and fds). */
#define VU_MAX_REGIONS		8
/* GET_CONFIG/SET_CONFIG payloads, like QEMU's VHOST_USER_MAX_CONFIG_SIZE. */
#define VU_MAX_CONFIG		256
/* vrings the bridge tracks: libvbackend's queue limit. */
#define VU_MAX_VRINGS		16

struct vu_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

/* SET_VRING_ADDR: user addresses of the front-end's process. */
struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};

struct vu_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region regions[VU_MAX_REGIONS];
};

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VU_MAX_CONFIG];
};

union vu_payload {
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_memory memory;
	struct vu_config config;
};

/**
 * struct vu_msg - one message, as received or to be sent
 * @hdr: header; @hdr.size is the number of payload bytes that are valid
 * @p: payload
 * @fds: descriptors that came with it (owned by the message)
 * @nr_fds: how many
 */
struct vu_msg {
	struct vu_header hdr;
	union vu_payload p;
	int fds[VU_MAX_REGIONS];
	unsigned int nr_fds;
};

#define VU_PAYLOAD_MAX	sizeof(union vu_payload)

/* msg.c */
const char *vu_request_name(uint32_t request);
/* Receive one message: 1, 0 at a clean end of stream, or -1 with a
 * one-line reason in @err (malformed, oversized, wrong fds...). */
int vu_msg_recv(int sock, struct vu_msg *m, char *err, size_t errlen);
/* Close the message's descriptors. */
void vu_msg_close_fds(struct vu_msg *m);
/* Send @m's header and payload (no fds) as a reply to @request. */
int vu_msg_reply(int sock, uint32_t request, const void *payload,
		 uint32_t size);
/* Send a request of ours (the slave channel), waiting for no answer. */
int vu_msg_send(int sock, uint32_t request, const void *payload,
		uint32_t size);

/* Regions one VMM session holds: the kernel's limit. */
#define VU_MEMTABLE_MAX		64

/**
 * struct vu_memtable - front-end memory: the table SET_MEM_TABLE gave
 * last, or every region registered with the kernel so far
 * @nr: regions in @r
 * @r: gpa, size, user address and file offset of each
 * @dev: device of each region's file (with @ino, what "same file" means)
 * @ino: inode of each region's file
 */
struct vu_memtable {
	unsigned int nr;
	struct vu_region r[VU_MEMTABLE_MAX];
	uint64_t dev[VU_MEMTABLE_MAX];
	uint64_t ino[VU_MEMTABLE_MAX];
};

/* memtable.c */
/* Check a SET_MEM_TABLE payload: every region non-empty, page aligned
 * where the kernel needs it, no overflow, no two overlapping in guest or
 * user addresses. 0, or -1 with the reason. */
int vu_memtable_check(const struct vu_memory *mem, char *err, size_t errlen);
/* The gpa of [uaddr, uaddr + len) if it lies in one region; false if not. */
bool vu_memtable_to_gpa(const struct vu_memtable *t, uint64_t uaddr,
			uint64_t len, uint64_t *gpa);
/* Is @r (of the file @dev/@ino) in @t already? */
bool vu_memtable_has(const struct vu_memtable *t, const struct vu_region *r,
		     uint64_t dev, uint64_t ino);

#endif /* VHOST_USER_H */
