// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-frontend-sim: play the guest of a VMM-fed vbackend frontend and
 * drive a backend's virtio devices as a guest kernel would. See --help.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsim.h"

static const char usage_text[] =
"usage: vbackend-frontend-sim blk|rng|hostile [options]\n"
"\n"
"Plays the guest: creates a VMM session on /dev/vbackend with memfd guest RAM,\n"
"starts the backend with the session inherited as fd 3 (target vmm:fd=3),\n"
"and drives its virtio-mmio devices like a guest kernel, verifying every result.\n"
"\n"
"commands:\n"
"  blk       virtio-blk: write pseudo-random data in mixed sizes and offsets\n"
"            through every queue, read it back, FLUSH, check the image file\n"
"  rng       virtio-rng: read entropy, check it fits and is not all zero\n"
"  hostile   virtio-blk with a guest that breaks the rules (--case NAME|all|list)\n"
"\n"
"options:\n"
"  --backend PATH     the backend (default: $VBACKEND_SAMPLE, else vbackend-sample\n"
"                     next to this program, in /usr/bin, /bin or $PATH)\n"
"  --image PATH       blk: the disk image, (re)created: its content is lost\n"
"  --size SIZE        blk: image size (default 64M)\n"
"  --bytes SIZE       blk: data to write (default: the image size);\n"
"                     rng: entropy to read (default 1M)\n"
"  --queues N         blk: queues the backend is asked for (default 1)\n"
"  --qsize N          entries per queue (default 128, at most QueueNumMax)\n"
"  --scenario NAME    blk: integrity (default), get-id, discard, readonly, reset,\n"
"                     vmm-reset, kill, resume, sigterm-busy, frontend-gone,\n"
"                     status, soak\n"
"  --rounds N         blk soak: rounds of writes, an event (none, SIGKILL of the\n"
"                     backend mid-I/O, a reset) and the disk verified (default 6)\n"
"  --kick-churn MS    blk: the backend churns its kicks every MS ms (kick-churn=MS)\n"
"  --case NAME        hostile: one case, all, or list\n"
"  --readonly         blk: the backend serves the image read-only\n"
"  --with-rng         blk: a virtio-rng device in the same backend process too\n"
"  --verify           blk: read back and compare (the default)\n"
"  --no-verify        blk: only write\n"
"  --no-indirect      do not negotiate VIRTIO_RING_F_INDIRECT_DESC\n"
"  --no-event-idx     do not negotiate VIRTIO_RING_F_EVENT_IDX\n"
"  --no-vmm-fds       leave the backend's kicks and interrupts to the kernel\n"
"                     (VMM_ACCESS, IRQ records) instead of attaching our own\n"
"                     eventfds to its notifiers, as a KVM VMM does (default)\n"
"  --irq-per-queue    an interrupt per queue, as virtio-pci with MSI-X has\n"
"                     (VBACKEND_VMM_F_IRQ_PER_QUEUE)\n"
"  --ram SIZE         guest RAM (default 128M)\n"
"  --seed N           random seed (default 1)\n"
"  --timeout SECS     give up with exit status 3 after SECS (default 600)\n"
"  --backend-output   let the backend write to our stderr (default: captured,\n"
"                     shown on failure)\n"
"  -v, --verbose      debug lines on stderr\n"
"  -h, --help\n"
"\n"
"exit status: 0 pass, 1 a check failed, 2 usage, 3 timeout (something hung),\n"
"4 skipped (no /dev/vbackend, or the device lacks what the scenario needs)\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vbackend-frontend-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(FSIM_EXIT_USAGE);
}

static bool executable(const char *p)
{
	return p && !access(p, X_OK);
}

/* $VBACKEND_SAMPLE, next to us, /usr/bin, /bin, $PATH. */
static char *find_backend(void)
{
	static char buf[PATH_MAX + 32];
	const char *env = getenv("VBACKEND_SAMPLE");
	char self[PATH_MAX], *slash, *path, *dir, *save;
	ssize_t n;

	if (env && *env)
		return strdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, sizeof(buf), "%s/vbackend-sample", self);
			if (executable(buf))
				return strdup(buf);
		}
	}
	if (executable("/usr/bin/vbackend-sample"))
		return strdup("/usr/bin/vbackend-sample");
	if (executable("/bin/vbackend-sample"))
		return strdup("/bin/vbackend-sample");
	path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/vbackend-sample", dir);
		if (executable(buf)) {
			free(path);
			return strdup(buf);
		}
	}
	free(path);
	return strdup("vbackend-sample");
}

static uint64_t size_arg(const char *opt, const char *v)
{
	long long n = fsim_parse_size(v);

	if (n <= 0)
		usage_error("%s: bad size '%s'", opt, v);
	return (uint64_t)n;
}

static unsigned long num_arg(const char *opt, const char *v, unsigned long min,
			     unsigned long max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 0);
	if (errno || *end || end == v || n < min || n > max)
		usage_error("%s: '%s' is not a number in %lu..%lu", opt, v, min, max);
	return n;
}

enum {
	O_BACKEND = 256, O_IMAGE, O_SIZE, O_BYTES, O_QUEUES, O_QSIZE, O_SCENARIO,
	O_CASE, O_READONLY, O_WITH_RNG, O_VERIFY, O_NO_VERIFY, O_NO_INDIRECT,
	O_NO_EVENT_IDX, O_RAM, O_SEED, O_TIMEOUT, O_BACKEND_OUTPUT, O_ROUNDS,
	O_KICK_CHURN, O_NO_VMM_FDS, O_IRQ_PER_QUEUE,
};

static const struct option longopts[] = {
	{ "backend", required_argument, NULL, O_BACKEND },
	{ "image", required_argument, NULL, O_IMAGE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "bytes", required_argument, NULL, O_BYTES },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "qsize", required_argument, NULL, O_QSIZE },
	{ "scenario", required_argument, NULL, O_SCENARIO },
	{ "case", required_argument, NULL, O_CASE },
	{ "readonly", no_argument, NULL, O_READONLY },
	{ "with-rng", no_argument, NULL, O_WITH_RNG },
	{ "verify", no_argument, NULL, O_VERIFY },
	{ "no-verify", no_argument, NULL, O_NO_VERIFY },
	{ "no-indirect", no_argument, NULL, O_NO_INDIRECT },
	{ "no-event-idx", no_argument, NULL, O_NO_EVENT_IDX },
	{ "ram", required_argument, NULL, O_RAM },
	{ "seed", required_argument, NULL, O_SEED },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "backend-output", no_argument, NULL, O_BACKEND_OUTPUT },
	{ "rounds", required_argument, NULL, O_ROUNDS },
	{ "kick-churn", required_argument, NULL, O_KICK_CHURN },
	{ "no-vmm-fds", no_argument, NULL, O_NO_VMM_FDS },
	{ "irq-per-queue", no_argument, NULL, O_IRQ_PER_QUEUE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct fsim_blk_opts bo = {
		.size = 64ULL << 20, .queues = 1, .qsize = 128, .indirect = true,
		.event_idx = true, .verify = true, .seed = 1, .rounds = 6,
	};
	struct fsim_rng_opts ro = { .bytes = 1 << 20, .indirect = true, .event_idx = true };
	struct fsim_vm_opts vo = { 0 };
	struct fsim_vm *vm = NULL;
	const char *cmd;
	bool bytes_set = false;
	long timeout_s = 600;
	char *backend = NULL;
	int opt, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		usage_error("a command comes first: blk, rng or hostile");
	cmd = argv[1];
	if (strcmp(cmd, "blk") && strcmp(cmd, "rng") && strcmp(cmd, "hostile"))
		usage_error("unknown command '%s'", cmd);
	optind = 2;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case O_BACKEND: free(backend); backend = strdup(optarg); break;
		case O_IMAGE: bo.image = optarg; break;
		case O_SIZE: bo.size = size_arg("--size", optarg); break;
		case O_BYTES:
			bo.bytes = ro.bytes = size_arg("--bytes", optarg);
			bytes_set = true;
			break;
		case O_QUEUES: bo.queues = num_arg("--queues", optarg, 1, FSIM_MAX_QUEUES); break;
		case O_QSIZE: bo.qsize = num_arg("--qsize", optarg, 4, 32768); break;
		case O_SCENARIO: bo.scenario = optarg; break;
		case O_CASE: bo.hostile = optarg; break;
		case O_READONLY: bo.readonly = true; break;
		case O_WITH_RNG: bo.with_rng = true; break;
		case O_VERIFY: bo.verify = true; break;
		case O_NO_VERIFY: bo.verify = false; break;
		case O_NO_INDIRECT: bo.indirect = ro.indirect = false; break;
		case O_NO_EVENT_IDX: bo.event_idx = ro.event_idx = false; break;
		case O_RAM: vo.ram_size = size_arg("--ram", optarg); break;
		case O_SEED: bo.seed = ro.seed = num_arg("--seed", optarg, 0, ULONG_MAX); break;
		case O_TIMEOUT: timeout_s = num_arg("--timeout", optarg, 1, 86400); break;
		case O_BACKEND_OUTPUT: vo.backend_log_inherit = true; break;
		case O_NO_VMM_FDS: vo.no_vmm_fds = true; break;
		case O_IRQ_PER_QUEUE: vo.irq_per_queue = true; break;
		case O_ROUNDS: bo.rounds = num_arg("--rounds", optarg, 1, 1000000); break;
		case O_KICK_CHURN:
			bo.kick_churn_ms = num_arg("--kick-churn", optarg, 1, 60000);
			break;
		case 'v': fsim_verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: usage_error("bad option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!strcmp(cmd, "hostile")) {
		if (!bo.hostile)
			bo.hostile = "all";
		if (!strcmp(bo.hostile, "list")) {
			bo.image = NULL;
			fsim_hostile_list();
			return 0;
		}
	}
	if (strcmp(cmd, "rng")) {
		if (!bo.image)
			usage_error("%s needs --image PATH", cmd);
		if (bo.size % 512 || bo.size < (1 << 20))
			usage_error("--size must be a multiple of 512, at least 1M");
		if (!bytes_set)
			bo.bytes = bo.size;
	}
	if (!strcmp(cmd, "blk") && bo.scenario && !strcmp(bo.scenario, "readonly"))
		bo.readonly = true;

	signal(SIGPIPE, SIG_IGN);
	vo.backend = backend ? backend : find_backend();
	fsim_watchdog_start(timeout_s * 1000);

	ret = fsim_vm_create(&vo, &vm);
	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO) {
		fsim_say("result", "SKIP: /dev/vbackend: %s (is vbackend.ko loaded?)",
			 strerror(-ret));
		return FSIM_EXIT_SKIP;
	}
	if (ret) {
		if (!fsim_failures())
			fsim_fail("setting up the VM: %s", strerror(-ret));
		fsim_say("result", "FAIL: %s", fsim_first_failure());
		return FSIM_EXIT_FAIL;
	}
	if (!strcmp(cmd, "rng"))
		ret = fsim_rng_main(vm, &ro);
	else
		ret = fsim_blk_main(vm, &bo);
	fsim_vm_destroy(vm);

	if (ret == -ENOTSUP && !fsim_failures()) {
		fsim_say("result", "SKIP: the device does not offer what this scenario needs");
		return FSIM_EXIT_SKIP;
	}
	if (ret || fsim_failures()) {
		if (!fsim_failures())
			fsim_fail("%s", strerror(-ret));
		fsim_say("result", "FAIL: %s", fsim_first_failure());
		return FSIM_EXIT_FAIL;
	}
	fsim_say("result", "PASS");
	return FSIM_EXIT_PASS;
}
