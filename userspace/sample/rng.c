// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: virtio-rng. One queue; every buffer the driver offers
 * is filled from getrandom() and returned whole.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "sample.h"

#define QUEUE_SIZE	64

/* No config space; the library wants a pointer all the same. */
struct rng {
	uint8_t config[1];
};

static int rng_option(struct sample_dev *d, const char *key, const char *val,
		      char *err, size_t errlen)
{
	(void)val;
	snprintf(err, errlen, "unknown key '%s' for %s (see --help)", key,
		 d->model->kind);
	return -1;
}

static int rng_open(struct sample_dev *d, char *err, size_t errlen)
{
	struct rng *r = d->state;

	(void)err;
	(void)errlen;
	d->ops.device_id = VIRTIO_ID_RNG;
	d->ops.features = 1ULL << VIRTIO_F_VERSION_1;
	d->ops.num_queues = 1;
	d->ops.queue_num_max = QUEUE_SIZE;
	d->ops.config_size = 0;
	d->config = r->config;
	return 0;
}

static void rng_close(struct sample_dev *d)
{
	(void)d;
}

static int fill(void *buf, size_t len)
{
	while (len) {
		ssize_t r = getrandom(buf, len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf = (char *)buf + r;
		len -= (size_t)r;
	}
	return 0;
}

static uint32_t rng_serve(struct sample_dev *d, struct vb_vq_req *req)
{
	uint32_t done = 0;

	(void)d;
	for (unsigned int i = 0; i < req->nr_in; i++) {
		if (fill(req->in[i].iov_base, req->in[i].iov_len))
			break;
		done += (uint32_t)req->in[i].iov_len;
	}
	return done;
}

const struct sample_model rng_model = {
	.kind = "rng",
	.state_size = sizeof(struct rng),
	.option = rng_option,
	.open = rng_open,
	.close = rng_close,
	.serve = rng_serve,
};
