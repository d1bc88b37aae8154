/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vbackend-vhost-user: what the bridge's files share.
 */
#ifndef VU_BRIDGE_H
#define VU_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vhost_user.h"

#define PROG		"vbackend-vhost-user"
#define VU_NO_ID	UINT32_MAX
/* Where the device sits in the VMM's address space: nobody else sees it. */
#define VU_MMIO_BASE	0x10000000ULL

/**
 * struct vu_vmm - the VMM-fed frontend and the backend serving it
 * @fd: the VMM session (non-blocking)
 * @pid: the backend, -1 once reaped
 * @base: the device's virtio-mmio base
 * @bound: the backend bound (PEER_BOUND, no PEER_GONE since)
 * @notifiers_changed: a NOTIFIERS record came: list them again
 * @nr_queues: queues of the device
 * @queue_num_max: QueueNumMax of each
 * @kick_id: id of each queue's kick notifier, VU_NO_ID if none
 * @irq_id: id of each queue's interrupt notifier
 * @config_irq_id: id of the configuration-change interrupt
 * @accesses: VMM_ACCESS calls made (the bridge's control-path cost)
 */
struct vu_vmm {
	int fd;
	pid_t pid;
	uint64_t base;
	bool bound;
	bool notifiers_changed;
	unsigned int nr_queues;
	uint32_t queue_num_max[VU_MAX_VRINGS];
	uint32_t kick_id[VU_MAX_VRINGS];
	uint32_t irq_id[VU_MAX_VRINGS];
	uint32_t config_irq_id;
	uint64_t accesses;
};

/* vmm.c: 0 or a negative errno unless said otherwise */
int vu_vmm_open(struct vu_vmm *v, char *err, size_t errlen);	/* 0 or -1 */
int vu_vmm_spawn(struct vu_vmm *v, const char *backend, const char *spec,
		 char *err, size_t errlen);			/* 0 or -1 */
int vu_vmm_wait_ready(struct vu_vmm *v, long timeout_ms, char *err,
		      size_t errlen);				/* 0 or -1 */
/* Read the session's records; -EPIPE once the backend is gone. */
int vu_vmm_events(struct vu_vmm *v);
int vu_vmm_refresh(struct vu_vmm *v);
int vu_reg_read(struct vu_vmm *v, uint32_t off, uint32_t *val);
int vu_reg_write(struct vu_vmm *v, uint32_t off, uint32_t val);
int vu_config_access(struct vu_vmm *v, uint32_t off, uint32_t size, bool write,
		     uint64_t *val);
int vu_vmm_reg_access(struct vu_vmm *v, uint32_t off, bool write, uint32_t *val);
int vu_vmm_attach(struct vu_vmm *v, bool kick, uint32_t id, int fd);
int vu_vmm_add_memory(struct vu_vmm *v, const struct vu_region *r, int fd);
void vu_vmm_close(struct vu_vmm *v, long timeout_ms);

/**
 * struct vu_vring - what the front-end said of one vring
 * @num: SET_VRING_NUM
 * @desc: guest-physical addresses, from SET_VRING_ADDR
 * @avail: (driver area)
 * @used: (device area)
 * @base: where the ring starts (SET_VRING_BASE) or stopped
 * @has_addr: SET_VRING_ADDR came
 * @enabled: SET_VRING_ENABLE(1) came, and no GET_VRING_BASE since
 * @started: the device's queue is ready (QueueReady=1)
 * @kick_fd: the front-end's kick eventfd (ours to close), -1 if none
 * @call_fd: its call eventfd, -1 if none
 */
struct vu_vring {
	uint32_t num;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	uint16_t base;
	bool has_addr;
	bool enabled;
	bool started;
	int kick_fd;
	int call_fd;
};

/**
 * struct vu_conn - one front-end connection and the device it drives
 * @sock: the vhost-user socket
 * @slave_fd: the back-end request channel, -1 if none
 * @vmm: the frontend and backend
 * @dev_features: what the device offers
 * @features: what the front-end acked (SET_FEATURES), without bit 30
 * @protocol: protocol features acked
 * @running: the device is DRIVER_OK with @features
 * @cur: the memory table SET_MEM_TABLE gave last
 * @reg: every region registered with the kernel
 * @vr: vrings
 * @config_efd: our eventfd behind the config interrupt
 * @messages: messages handled
 */
struct vu_conn {
	int sock;
	int slave_fd;
	struct vu_vmm vmm;
	uint64_t dev_features;
	uint64_t features;
	uint64_t protocol;
	bool running;
	struct vu_memtable cur;
	struct vu_memtable reg;
	struct vu_vring vr[VU_MAX_VRINGS];
	int config_efd;
	uint64_t messages;
};

/* bridge.c */
/* Set @c up for a front-end on @sock, @c->vmm ready; 0, or -1 with the
 * reason. Either way vu_conn_fini() undoes it. */
int vu_conn_init(struct vu_conn *c, int sock, char *err, size_t errlen);
/* Handle one message: 0, or -1 with the reason (the connection ends). */
int vu_conn_handle(struct vu_conn *c, struct vu_msg *m, char *err,
		   size_t errlen);
/* The backend's records; -1 with the reason when it is gone. */
int vu_conn_vmm_events(struct vu_conn *c, char *err, size_t errlen);
/* The config interrupt fired: tell the front-end. */
void vu_conn_config_changed(struct vu_conn *c);
void vu_conn_fini(struct vu_conn *c);

#endif /* VU_BRIDGE_H */
