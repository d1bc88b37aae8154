/* SPDX-License-Identifier: Apache-2.0 */
/*
 * frontend-sim internals: the virtio-blk driver, shared by the workloads
 * (blk.c) and the hostile cases (hostile.c).
 */
#ifndef FSIM_BLK_H
#define FSIM_BLK_H

#include <linux/virtio_blk.h>

#include "fsim.h"

#define BLK_SECTOR		512u
#define BLK_MAX_REQ		(1u << 20)	/* largest request the workloads make */
#define BLK_BUF_SLACK		(64u << 10)	/* room for the gaps between segments */
#define BLK_META_SIZE		4096u
#define BLK_META_STATUS		16u		/* offsets in a request's meta page */
#define BLK_META_SEGS		64u		/* discard / write-zeroes segments */
#define BLK_META_ID		1024u		/* GET_ID buffer */
#define BLK_GUARD		16u		/* bytes checked after each in-buffer */
#define BLK_GUARD_BYTE		0xa5
#define BLK_POISON_BYTE		0xcc
#define BLK_STATUS_UNSET	0xff

/* What a sector holds, as far as the driver knows. */
#define GEN_ZERO		0u		/* never written: zeroes */
#define GEN_UNKNOWN		0xffffffffu	/* a write was lost in a reset */
#define GEN_OR_ZERO		0x80000000u	/* discarded: zeroes or the old data */

struct blk;

struct blk_req {
	struct blk *b;
	unsigned int q;
	bool busy;
	uint32_t type;		/* VIRTIO_BLK_T_* */
	uint64_t sector;
	uint32_t nsec;		/* data sectors of IN / OUT */
	uint32_t gen;		/* OUT: pattern generation written */
	uint32_t data_len;	/* bytes of the data descriptors */
	uint64_t meta_gpa;	/* header, status, segments, id */
	uint64_t buf_gpa;	/* data buffer */
	struct fsim_sg sg[FSIM_MAX_CHAIN];
	unsigned int nsg;
	bool force_direct;
	long t0;
	/* completion */
	uint8_t status;
	uint32_t used_len;
};

/* A generator: 1 with @r filled, 0 when done, -EAGAIN to try later. */
typedef int (*blk_next_fn)(struct blk *b, struct blk_req *r, void *ctx);
/* A completion check: 0, or negative to stop the run. */
typedef int (*blk_done_fn)(struct blk *b, struct blk_req *r, void *ctx);

struct blk {
	struct fsim_vm *vm;
	struct fsim_dev *d;
	const struct fsim_blk_opts *o;
	uint64_t rnd;		/* choices: sizes, offsets, queues, layout */
	uint64_t pat_seed;	/* data pattern */

	/* device config */
	uint64_t capacity;	/* sectors */
	uint32_t size_max, seg_max, blk_size;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_align;
	uint32_t max_wz_sectors, max_wz_seg;
	char id[VIRTIO_BLK_ID_BYTES + 1];

	/* what the driver does with it */
	unsigned int nq, slots;
	unsigned int qsize;
	uint32_t max_req;	/* bytes */
	uint32_t seg_limit;	/* bytes per data segment */
	unsigned int max_segs;	/* data segments per request */
	struct blk_req *reqs;	/* nq * slots */
	uint64_t slot_ram;	/* guest RAM of the slots */
	uint64_t slot_ram_size;

	uint32_t *gen;		/* per sector */
	uint32_t next_gen;
	uint8_t *scratch, *expect;
	int image_fd;
	long wait_ms;		/* longest wait for an interrupt */
	bool quiet;

	/* totals */
	uint64_t nreq, bytes_out, bytes_in;
	unsigned int mismatches, len_errors;
	uint64_t sectors_checked;	/* compared with what they must hold */
	uint64_t sum_read, sum_expect;
};

int blk_init(struct blk *b);			/* negotiate, config, queues, DRIVER_OK */
void blk_release_slots(struct blk *b);
int blk_run(struct blk *b, blk_next_fn next, blk_done_fn done, void *ctx);
/* Fill @r's chain for its type; the data pattern for OUT. */
void blk_prep(struct blk *b, struct blk_req *r);
int blk_submit(struct blk *b, struct blk_req *r);
/* Prepare, post, notify and wait for @r (a free slot, described): its
 * status byte (>= 0) or a negative errno. */
int blk_req_run(struct blk *b, struct blk_req *r);
struct blk_req *blk_free_slot(struct blk *b, unsigned int q);
/* One request of @type, waited for: its status (>= 0) or a negative errno. */
int blk_simple(struct blk *b, unsigned int q, uint32_t type, uint64_t sector,
	       uint32_t nsec, struct blk_req **out);
/* Write then read back @bytes of data; verified. */
int blk_quick_io(struct blk *b, uint64_t bytes);
int blk_verify_in(struct blk *b, struct blk_req *r);
bool blk_backend_ok(struct blk *b);

int blk_hostile(struct blk *b, const char *name);

#endif /* FSIM_BLK_H */
