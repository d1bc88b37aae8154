// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend_xen_front: the frontend side of the vbackend Xen test topology.
 *
 * A test helper, not part of the product. The Debian kernel that runs in
 * the PVH test domU cannot declare a virtio-mmio device on its command line
 * (no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES) and has no emulated interrupt
 * controller: its interrupts come through event channels. This module does
 * what that option would do, with an event channel for the interrupt:
 *
 *  1. allocate an unbound event channel for the backend domain and bind it
 *     to a Linux irq (a plain binding: virtio_mmio never calls
 *     xen_irq_lateeoi());
 *  2. publish the port at data/vbackend/<index>/evtchn (relative to this
 *     domain's xenstore home) for the backend's launcher;
 *  3. wait until the launcher writes "1" to data/vbackend/<index>/ready
 *     (the backend serves the MMIO window and raises that port);
 *  4. register the platform device "virtio-mmio".<index> with the window
 *     and the irq, which the stock virtio_mmio driver then probes.
 *
 * Unloading unregisters the device, closes the port and removes the keys.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/ioport.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/sched/signal.h>
#include <xen/events.h>
#include <xen/xen.h>
#include <xen/xenbus.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>

static unsigned int backend;
module_param(backend, uint, 0444);
MODULE_PARM_DESC(backend, "domid of the backend domain (default 0)");

static unsigned long base = 0xfe000000UL;
module_param(base, ulong, 0444);
MODULE_PARM_DESC(base, "physical base of the virtio-mmio window (default 0xfe000000)");

static unsigned long size = 0x200;
module_param(size, ulong, 0444);
MODULE_PARM_DESC(size, "size of the virtio-mmio window (default 0x200)");

static unsigned int index;
module_param(index, uint, 0444);
MODULE_PARM_DESC(index, "device index: xenstore data/vbackend/<index>, virtio-mmio.<index>");

/* How long the backend's launcher has to write the ready key. */
#define READY_TIMEOUT_MS	(120 * 1000)
#define READY_POLL_MS		100

static char front_dir[32];
static evtchn_port_t front_port;
static struct platform_device *front_pdev;

static int front_alloc_port(evtchn_port_t *port)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = backend,
	};
	int err;

	err = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (err)
		return err;
	*port = alloc.port;
	return 0;
}

static void front_close_port(evtchn_port_t port)
{
	struct evtchn_close close = { .port = port };

	if (HYPERVISOR_event_channel_op(EVTCHNOP_close, &close))
		pr_warn("closing event channel %u failed\n", port);
}

/* Poll data/vbackend/<index>/ready until it reads 1. */
static int front_wait_ready(void)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(READY_TIMEOUT_MS);

	for (;;) {
		if (xenbus_read_unsigned(front_dir, "ready", 0) == 1)
			return 0;
		if (fatal_signal_pending(current))
			return -EINTR;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		msleep_interruptible(READY_POLL_MS);
	}
}

/* data/vbackend/<index> and everything under it */
static void front_remove_keys(void)
{
	xenbus_rm(XBT_NIL, front_dir, "");
}

static int __init front_init(void)
{
	struct resource res[2] = {};
	int irq, err;

	if (!xen_domain())
		return -ENODEV;
	if (!size || base + size - 1 < base || backend >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	snprintf(front_dir, sizeof(front_dir), "data/vbackend/%u", index);

	err = front_alloc_port(&front_port);
	if (err) {
		pr_err("EVTCHNOP_alloc_unbound for domain %u failed: %d\n",
		       backend, err);
		return err;
	}
	/*
	 * A plain binding: virtio_mmio's handler never calls
	 * xen_irq_lateeoi(). Reference-counted, so that evtchn_put() can
	 * unbind the irq and close the port without an irq handler of ours.
	 */
	irq = bind_evtchn_to_irq(front_port);
	if (irq < 0) {
		pr_err("binding event channel %u failed: %d\n", front_port, irq);
		front_close_port(front_port);
		return irq;
	}
	err = evtchn_make_refcounted(front_port);
	if (err) {
		/* -ENOENT: no irq holds the port after all */
		pr_err("event channel %u: no irq to refcount: %d\n",
		       front_port, err);
		front_close_port(front_port);
		return err;
	}

	err = xenbus_printf(XBT_NIL, front_dir, "evtchn", "%u", front_port);
	if (err) {
		pr_err("writing %s/evtchn failed: %d\n", front_dir, err);
		goto out_put;
	}
	pr_info("%s/evtchn = %u (irq %d), waiting for %s/ready\n",
		front_dir, front_port, irq, front_dir);

	err = front_wait_ready();
	if (err) {
		pr_err("no backend: %s/ready never became 1 (%d)\n",
		       front_dir, err);
		goto out_keys;
	}

	res[0].flags = IORESOURCE_MEM;
	res[0].start = base;
	res[0].end = base + size - 1;
	res[1].flags = IORESOURCE_IRQ;
	res[1].start = irq;
	res[1].end = irq;
	front_pdev = platform_device_register_resndata(NULL, "virtio-mmio",
						       index, res,
						       ARRAY_SIZE(res), NULL, 0);
	if (IS_ERR(front_pdev)) {
		err = PTR_ERR(front_pdev);
		pr_err("registering virtio-mmio.%u failed: %d\n", index, err);
		goto out_keys;
	}
	pr_info("virtio-mmio.%u at 0x%lx-0x%lx, event channel %u (irq %d), backend domain %u\n",
		index, base, base + size - 1, front_port, irq, backend);
	return 0;

out_keys:
	front_remove_keys();
out_put:
	evtchn_put(front_port);	/* unbinds the irq and closes the port */
	return err;
}
module_init(front_init);

static void __exit front_exit(void)
{
	platform_device_unregister(front_pdev);
	evtchn_put(front_port);	/* unbinds the irq and closes the port */
	front_remove_keys();
	pr_info("virtio-mmio.%u removed, event channel %u closed\n", index,
		front_port);
}
module_exit(front_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vbackend Xen test topology: virtio-mmio device with an event channel interrupt");
