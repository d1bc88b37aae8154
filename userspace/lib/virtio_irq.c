// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mmio interrupts: InterruptStatus bits (bit 0 used buffer, bit 1
 * configuration change) and the interrupt eventfd registered with
 * vb_irq_add() at the params' target. Also the two ways the model (or the
 * library itself) reports a device-level event: a config change and a
 * failure (DEVICE_NEEDS_RESET).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <unistd.h>

#include "vb_internal.h"

static void vb_irq_signal(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	if (fd < 0)
		return;
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN means the counter is saturated: an interrupt is pending. */
}

/*
 * Always signal, even when the bits were already set: the driver may have
 * read InterruptStatus and be about to acknowledge them, and an edge that
 * is skipped now would be lost.
 */
void vb_virtio_interrupt(struct vb_virtio_dev *d, uint32_t bits)
{
	atomic_fetch_or(&d->isr, bits);
	vb_irq_signal(d->irq_fd);
}

/* A used buffer in @vq: its own interrupt, or the device's. */
void vb_vq_interrupt(struct vb_vq *vq)
{
	atomic_fetch_or(&vq->dev->isr, VIRTIO_MMIO_INT_VRING);
	vb_irq_signal(vq->irq_fd >= 0 ? vq->irq_fd : vq->dev->irq_fd);
}

void vb_virtio_config_changed(struct vb_virtio_dev *d)
{
	atomic_fetch_add(&d->config_gen, 1);
	vb_virtio_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

void vb_virtio_fail(struct vb_virtio_dev *d, const char *why)
{
	uint32_t status;

	if (atomic_exchange(&d->broken, true))
		return;		/* already broken: keep the first reason */
	snprintf(d->why, sizeof(d->why), "%s", why ? why : "failed");
	vb_error_msg(EIO, "virtio device %u at 0x%" PRIx64 " broken: %s",
		     d->ops.device_id, d->params.mmio_base, d->why);
	status = atomic_fetch_or(&d->status, VIRTIO_CONFIG_S_NEEDS_RESET);
	/* virtio 1.2, 2.1.2: with DRIVER_OK, tell the driver. */
	if (status & VIRTIO_CONFIG_S_DRIVER_OK)
		vb_virtio_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}
