// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: virtio-blk on a file or a block device.
 *
 * Requests: IN, OUT, FLUSH (fdatasync), GET_ID ("vbackend-<inode>"),
 * DISCARD (punched holes) and WRITE_ZEROES. Every request is checked
 * against the capacity before it touches the image; the request header
 * and discard ranges are copied out of frontend memory once, before use.
 * A request without room for its status byte is returned with nothing
 * written; every other one gets a status.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <endian.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "sample.h"

#define SECTOR_SHIFT		9
#define SECTOR_SIZE		(1u << SECTOR_SHIFT)
#define QUEUE_SIZE		256
#define DEFAULT_QUEUES		2
/* Header and status take a segment each at least. */
#define SEG_MAX			(VB_VQ_MAX_SEGS - 2)
#define MAX_RANGE_SECTORS	(1u << 22)	/* 2 GiB per discard range */
#define MAX_RANGES		32		/* per discard/write-zeroes */

struct blk {
	/* options */
	char *image;
	unsigned int queues;
	bool readonly;

	/* open */
	int fd;
	uint64_t capacity;	/* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
};

static int blk_option(struct sample_dev *d, const char *key, const char *val,
		      char *err, size_t errlen)
{
	struct blk *b = d->state;

	if (!strcmp(key, "image")) {
		if (b->image) {
			snprintf(err, errlen, "image given twice");
			return -1;
		}
		if (!val || !*val) {
			snprintf(err, errlen, "image needs a path");
			return -1;
		}
		b->image = strdup(val);
		if (!b->image) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "queues")) {
		char *end;
		unsigned long n;

		errno = 0;
		n = val && *val >= '0' && *val <= '9' ?
			strtoul(val, &end, 10) : 0;
		if (b->queues || !n || errno || *end || n > VB_MAX_QUEUES) {
			snprintf(err, errlen, b->queues ?
				 "queues given twice" :
				 "queues needs a number from 1 to %d, not '%s'",
				 VB_MAX_QUEUES, val ? val : "");
			return -1;
		}
		b->queues = (unsigned int)n;
		return 0;
	}
	if (!strcmp(key, "readonly")) {
		if (val) {
			snprintf(err, errlen, "readonly takes no value");
			return -1;
		}
		b->readonly = true;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' for %s (see --help)", key,
		 d->model->kind);
	return -1;
}

static int blk_open(struct sample_dev *d, char *err, size_t errlen)
{
	struct blk *b = d->state;
	struct virtio_blk_config *c = &b->config;
	uint64_t features, size;
	uint32_t align;
	struct stat st;

	b->fd = -1;
	if (!b->image) {
		snprintf(err, errlen, "image=PATH is missing");
		return -1;
	}
	if (!b->queues)
		b->queues = DEFAULT_QUEUES;

	b->fd = open(b->image, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st)) {
		snprintf(err, errlen, "image '%s': %s", b->image,
			 strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size)) {
			snprintf(err, errlen, "image '%s': size: %s",
				 b->image, strerror(errno));
			return -1;
		}
	} else {
		snprintf(err, errlen,
			 "image '%s': not a regular file or block device",
			 b->image);
		return -1;
	}
	/* Two writers on one image would corrupt it. */
	if (flock(b->fd, (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		snprintf(err, errlen, "image '%s': %s", b->image,
			 errno == EWOULDBLOCK ? "in use by another backend" :
			 strerror(errno));
		return -1;
	}
	b->capacity = size >> SECTOR_SHIFT;
	snprintf(b->serial, sizeof(b->serial), "vbackend-%" PRIu64,
		 (uint64_t)st.st_ino);

	align = st.st_blksize >= SECTOR_SIZE ?
		(uint32_t)(st.st_blksize >> SECTOR_SHIFT) : 1;
	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->capacity);
	c->seg_max = htole32(SEG_MAX);
	c->blk_size = htole32(SECTOR_SIZE);
	c->num_queues = htole16((uint16_t)b->queues);
	c->max_discard_sectors = htole32(MAX_RANGE_SECTORS);
	c->max_discard_seg = htole32(MAX_RANGES);
	c->discard_sector_alignment = htole32(align);
	c->max_write_zeroes_sectors = htole32(MAX_RANGE_SECTORS);
	c->max_write_zeroes_seg = htole32(MAX_RANGES);
	c->write_zeroes_may_unmap = 1;

	features = 1ULL << VIRTIO_F_VERSION_1 |
		   1ULL << VIRTIO_RING_F_INDIRECT_DESC |
		   1ULL << VIRTIO_RING_F_EVENT_IDX |
		   1ULL << VIRTIO_BLK_F_SEG_MAX |
		   1ULL << VIRTIO_BLK_F_BLK_SIZE |
		   1ULL << VIRTIO_BLK_F_FLUSH |
		   1ULL << VIRTIO_BLK_F_MQ;
	if (b->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= 1ULL << VIRTIO_BLK_F_DISCARD |
			    1ULL << VIRTIO_BLK_F_WRITE_ZEROES;

	d->ops.device_id = VIRTIO_ID_BLOCK;
	d->ops.features = features;
	d->ops.num_queues = (uint16_t)b->queues;
	d->ops.queue_num_max = QUEUE_SIZE;
	d->ops.config_size = sizeof(*c);
	d->config = c;
	return 0;
}

static void blk_close(struct sample_dev *d)
{
	struct blk *b = d->state;

	if (b->fd >= 0) {
		if (!b->readonly)
			fdatasync(b->fd);
		close(b->fd);	/* drops the flock too */
	}
	b->fd = -1;
	free(b->image);
	b->image = NULL;
}

/* ---- iovec helpers ---------------------------------------------------- */

/*
 * Copy @len bytes starting @off bytes into @src (@n segments) to @dst.
 * Returns the bytes copied (less when the segments end first).
 */
static size_t iov_to_buf(const struct iovec *src, unsigned int n, size_t off,
			 void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = src[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy((char *)dst + done, (char *)src[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

static size_t buf_to_iov(const struct iovec *dst, unsigned int n,
			 const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = dst[i].iov_len;

		if (l > len - done)
			l = len - done;
		memcpy(dst[i].iov_base, (const char *)src + done, l);
		done += l;
	}
	return done;
}

/*
 * The bytes [off, off + len) of @src as segments in @dst (at most @max).
 * Returns the number of segments.
 */
static unsigned int iov_slice(const struct iovec *src, unsigned int n,
			      size_t off, size_t len, struct iovec *dst,
			      unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len && k < max; i++) {
		size_t l = src[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		dst[k].iov_base = (char *)src[i].iov_base + off;
		dst[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}

/* Transfer every byte of @iov at @pos, resuming after short transfers. */
static int rw_all(int fd, bool write, struct iovec *iov, unsigned int n,
		  off_t pos)
{
	while (n) {
		ssize_t r = write ? pwritev(fd, iov, (int)n, pos) :
				    preadv(fd, iov, (int)n, pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;	/* the image shrank under us */
		pos += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* ---- requests --------------------------------------------------------- */

static bool in_bounds(const struct blk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* IN or OUT: @data is the payload, @len bytes of it. */
static uint8_t blk_rw(struct blk *b, bool write, uint64_t sector,
		      struct iovec *data, unsigned int n, size_t len)
{
	if (write && b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR_SIZE || !in_bounds(b, sector, len >> SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (!len)
		return VIRTIO_BLK_S_OK;
	if (rw_all(b->fd, write, data, n, (off_t)(sector << SECTOR_SHIFT)))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static int write_zeroes(int fd, off_t pos, off_t len)
{
	static const char zero[64 * 1024];

	while (len) {
		size_t l = len > (off_t)sizeof(zero) ? sizeof(zero) :
						       (size_t)len;
		ssize_t r = pwrite(fd, zero, l, pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		pos += r;
		len -= r;
	}
	return 0;
}

static int zero_range(struct blk *b, bool discard, bool unmap, off_t pos,
		      off_t len)
{
	const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	const int zero = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (discard) {
		/* A hint: a file system that cannot punch loses nothing. */
		if (!fallocate(b->fd, punch, pos, len) || errno == EOPNOTSUPP)
			return 0;
		return -1;
	}
	/* Reads must return zeroes afterwards, whatever gets there first. */
	if (!fallocate(b->fd, unmap ? punch : zero, pos, len) ||
	    !fallocate(b->fd, unmap ? zero : punch, pos, len))
		return 0;
	return write_zeroes(b->fd, pos, len);
}

/* DISCARD or WRITE_ZEROES: @data holds the ranges. */
static uint8_t blk_ranges(struct blk *b, bool discard,
			  const struct iovec *data, unsigned int n,
			  size_t len)
{
	struct virtio_blk_discard_write_zeroes r[MAX_RANGES];
	size_t nr = len / sizeof(r[0]);

	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!nr || len % sizeof(r[0]) || nr > MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	/* One copy: the frontend may change its buffer meanwhile. */
	if (iov_to_buf(data, n, 0, r, len) != len)
		return VIRTIO_BLK_S_IOERR;

	for (size_t i = 0; i < nr; i++) {
		uint32_t flags = le32toh(r[i].flags);
		uint32_t sectors = le32toh(r[i].num_sectors);
		uint64_t sector = le64toh(r[i].sector);

		/* Only write zeroes may ask to unmap; no other bit exists. */
		if (flags & ~(discard ? 0u : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
			return VIRTIO_BLK_S_UNSUPP;
		if (sectors > MAX_RANGE_SECTORS ||
		    !in_bounds(b, sector, sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	for (size_t i = 0; i < nr; i++) {
		uint32_t sectors = le32toh(r[i].num_sectors);
		bool unmap = le32toh(r[i].flags) &
			     VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

		if (sectors &&
		    zero_range(b, discard, unmap,
			       (off_t)(le64toh(r[i].sector) << SECTOR_SHIFT),
			       (off_t)sectors << SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint32_t blk_serve(struct sample_dev *d, struct vb_vq_req *req)
{
	struct blk *b = d->state;
	struct virtio_blk_outhdr hdr;
	struct iovec data[VB_VQ_MAX_SEGS];
	unsigned int n;
	size_t len;
	uint8_t status;

	/* No room for a status: nothing can be reported, fail it as is. */
	if (req->in_len < 1)
		return 0;
	if (iov_to_buf(req->out, req->nr_out, 0, &hdr, sizeof(hdr)) !=
	    sizeof(hdr)) {
		status = VIRTIO_BLK_S_IOERR;
		goto done;
	}

	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		/* Data: the in buffers but their last byte (the status). */
		len = req->in_len - 1;
		n = iov_slice(req->in, req->nr_in, 0, len, data,
			      VB_VQ_MAX_SEGS);
		if (le32toh(hdr.type) == VIRTIO_BLK_T_GET_ID) {
			buf_to_iov(data, n, b->serial,
				   len < sizeof(b->serial) ? len :
							     sizeof(b->serial));
			status = VIRTIO_BLK_S_OK;
		} else {
			status = blk_rw(b, false, le64toh(hdr.sector), data,
					n, len);
		}
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		/* Data: the out buffers after the header. */
		len = req->out_len - sizeof(hdr);
		n = iov_slice(req->out, req->nr_out, sizeof(hdr), len, data,
			      VB_VQ_MAX_SEGS);
		if (le32toh(hdr.type) == VIRTIO_BLK_T_OUT)
			status = blk_rw(b, true, le64toh(hdr.sector), data,
					n, len);
		else
			status = blk_ranges(b, le32toh(hdr.type) ==
					    VIRTIO_BLK_T_DISCARD, data, n,
					    len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR :
					    VIRTIO_BLK_S_OK;
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	/* The status is the last byte of the in buffers. */
	for (unsigned int i = req->nr_in; i-- > 0;) {
		if (req->in[i].iov_len) {
			((uint8_t *)req->in[i].iov_base)[req->in[i].iov_len - 1] =
				status;
			break;
		}
	}
	return req->in_len;
}

const struct sample_model blk_model = {
	.kind = "blk",
	.state_size = sizeof(struct blk),
	.option = blk_option,
	.open = blk_open,
	.close = blk_close,
	.serve = blk_serve,
};
