// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-info: what the running vbackend module offers (GET_INFO) and
 * every provider it knows of (GET_PROVIDER), "absent" for those not built
 * in or not usable on this machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vbackend.h>

#define DEV "/dev/vbackend"

static void print_bits(unsigned long long bits, const char *const *names, unsigned int n)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (bits & (1ull << i) && names[i]) {
			printf("%s%s", sep, names[i]);
			sep = " ";
			bits &= ~(1ull << i);
		}
	}
	if (bits)
		printf("%s0x%llx", sep, bits);
	else if (!*sep)
		printf("none");
	printf("\n");
}

int main(void)
{
	static const char *const features[] = {
		"batch", "kick-datamatch", "window-revoke", "irq-level",
	};
	static const char *const caps[] = { "mmio", "pio", "windows", "reset" };
	static const char *const irq_targets[] = {
		NULL, "line", "msi", "evtchn", "vector",
	};
	struct vbackend_info info = { .argsz = sizeof(info) };
	unsigned int id;
	int fd;

	fd = open(DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vbackend-info: FAILED: open %s: %s\n", DEV, strerror(errno));
		return 1;
	}
	if (ioctl(fd, VBACKEND_GET_INFO, &info)) {
		fprintf(stderr, "vbackend-info: FAILED: VBACKEND_GET_INFO: %s\n", strerror(errno));
		return 1;
	}
	printf("vbackend api version %u (this program: %d)\n", info.api_version,
	       VBACKEND_API_VERSION);
	printf("  features:        ");
	print_bits(info.features, features, sizeof(features) / sizeof(features[0]));
	printf("  providers:       0x%x\n", info.providers);
	printf("  max_windows:     %u\n", info.max_windows);
	printf("  max_traps:       %u\n", info.max_traps);
	printf("  max_kicks:       %u\n", info.max_kicks);
	printf("  max_irqs:        %u\n", info.max_irqs);
	printf("  max_pending:     %u\n", info.max_pending);
	printf("  event_size:      %u\n", info.event_size);
	printf("  completion_size: %u\n", info.completion_size);

	for (id = VBACKEND_PROVIDER_VMM; id <= VBACKEND_PROVIDER_IVSHMEM; id++) {
		struct vbackend_provider_info p = { .argsz = sizeof(p), .id = id };

		if (ioctl(fd, VBACKEND_GET_PROVIDER, &p)) {
			if (errno == ENODEV) {
				printf("provider %u: absent\n", id);
				continue;
			}
			fprintf(stderr, "vbackend-info: FAILED: VBACKEND_GET_PROVIDER %u: %s\n",
				id, strerror(errno));
			return 1;
		}
		printf("provider %u: %.*s\n", id, (int)sizeof(p.name), p.name);
		printf("  caps:        ");
		print_bits(p.caps, caps, sizeof(caps) / sizeof(caps[0]));
		printf("  irq targets: ");
		print_bits(p.irq_targets, irq_targets, sizeof(irq_targets) / sizeof(irq_targets[0]));
	}
	close(fd);
	return 0;
}
