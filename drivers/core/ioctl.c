// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: ioctl dispatch and discovery.
 *
 * The core owns the discovery, binding and backend commands; whatever it
 * does not know goes to the frontend the session is, or may become (the
 * vhost pattern of layered -ENOIOCTLCMD), so a frontend's commands live
 * with the frontend.
 *
 * Commands are matched on their type and number alone (the DRM and pidfs
 * way). The size and direction bits only say which version of the
 * structure the caller was built with; argsz says the same, and it is what
 * the kernel copies. So a structure that grows keeps its command, and a
 * caller built against a newer header still reaches a kernel that predates
 * the new fields, which accepts the larger structure when they are zero.
 */
#include <linux/fs.h>
#include <linux/string.h>
#include "vbackend_internal.h"

static long vbackend_get_info(void __user *uarg)
{
	struct vbackend_info info;
	int ret;

	ret = VBACKEND_ARGS_IN(info, uarg);
	if (ret)
		return ret;
	if (info.flags || !vbackend_is_zero(info.reserved, sizeof(info.reserved)))
		return -EINVAL;

	info.api_version = VBACKEND_API_VERSION;
	info.providers = vbackend_provider_mask();
	info.features = VBACKEND_FEATURE_BATCH | VBACKEND_FEATURE_KICK_DATAMATCH |
			VBACKEND_FEATURE_WINDOW_REVOKE | VBACKEND_FEATURE_IOCTL_NR |
			VBACKEND_FEATURE_NOTIFIER_FD | VBACKEND_FEATURE_SESSION_INFO;
	info.max_windows = vbackend_limits.max_windows;
	info.max_traps = vbackend_limits.max_traps;
	info.max_kicks = vbackend_limits.max_kicks;
	info.max_irqs = vbackend_limits.max_irqs;
	info.max_pending = vbackend_limits.max_pending;
	info.event_size = sizeof(struct vbackend_event);
	info.completion_size = sizeof(struct vbackend_completion);
	return VBACKEND_ARGS_OUT(uarg, info);
}

static long vbackend_get_provider(void __user *uarg)
{
	const struct vbackend_provider *prov;
	struct vbackend_provider_info pi;
	int ret;

	ret = VBACKEND_ARGS_IN(pi, uarg);
	if (ret)
		return ret;
	if (pi.flags || !vbackend_is_zero(pi.reserved, sizeof(pi.reserved)))
		return -EINVAL;
	prov = vbackend_provider_by_id(pi.id);
	if (!prov)
		return -ENODEV;

	pi.caps = prov->caps;
	pi.irq_targets = prov->irq_targets;
	memset(pi.name, 0, sizeof(pi.name));
	strscpy(pi.name, prov->name, sizeof(pi.name));
	return VBACKEND_ARGS_OUT(uarg, pi);
}

/**
 * vbackend_ioctl() - the session's ioctl entry point
 * @file: session file
 * @cmd: VBACKEND_*, of any size and direction
 * @arg: user pointer to the command's structure
 *
 * Return: per command; -ENOTTY for commands nobody knows.
 */
long vbackend_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vbackend_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != VBACKEND_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(VBACKEND_GET_INFO):
		return vbackend_get_info(uarg);
	case _IOC_NR(VBACKEND_GET_PROVIDER):
		return vbackend_get_provider(uarg);
	case _IOC_NR(VBACKEND_BIND):
		return vbackend_session_bind(s, uarg);
	case _IOC_NR(VBACKEND_GET_SESSION):
		return vbackend_session_get_info(s, uarg);
	case _IOC_NR(VBACKEND_WINDOW_MAP):
		return vbackend_window_map(s, uarg);
	case _IOC_NR(VBACKEND_WINDOW_UNMAP):
		return vbackend_window_unmap(s, uarg);
	case _IOC_NR(VBACKEND_MEM_REGION):
		return vbackend_mem_region(s, uarg);
	case _IOC_NR(VBACKEND_TRAP_ADD):
		return vbackend_trap_add(s, uarg);
	case _IOC_NR(VBACKEND_TRAP_DEL):
		return vbackend_trap_del(s, uarg);
	case _IOC_NR(VBACKEND_KICK_ADD):
		return vbackend_kick_add(s, uarg);
	case _IOC_NR(VBACKEND_KICK_DEL):
		return vbackend_kick_del(s, uarg);
	case _IOC_NR(VBACKEND_IRQ_ADD):
		return vbackend_irq_add(s, uarg);
	case _IOC_NR(VBACKEND_IRQ_DEL):
		return vbackend_irq_del(s, uarg);
	default:
		return vbackend_frontend_ioctl(s, _IOC_NR(cmd), uarg);
	}
}
