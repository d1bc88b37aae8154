// SPDX-License-Identifier: GPL-2.0
/*
 * blkbench: the guest side of the Xen benchmark. Runs in the PVH domU on a
 * virtio-blk disk served by vbackend-sample or by the baseline, and prints
 * one machine-parsable line per test:
 *
 *   blkbench: label=L test=T bs=B ops=N secs=S iops=X mibps=Y
 *             lat_mean_us=M lat_p50_us=P lat_p99_us=Q
 *
 * Tests, in this order, each for -t seconds, at queue depth 1, O_DIRECT:
 *   seqwrite1m   1 MiB sequential writes over the region (at least one
 *                whole pass, so that every sector read later is known;
 *                that pass runs even when -T leaves seqwrite1m out)
 *   seqread1m    1 MiB sequential reads
 *   randread4k   4 KiB random reads
 *   randwrite4k  4 KiB random writes
 *   rtt512       a 512-byte read of sector 0, over and over: the cheapest
 *                request the device has, i.e. the kick -> backend wakeup
 *                -> interrupt round trip (plus a cached 512-byte pread in
 *                the backend)
 *
 * THE REGION IS OVERWRITTEN. Every 512-byte sector written carries a stamp
 * (seed, sector number); every read checks the stamps of what it read, so
 * a lost, misplaced or stale transfer is a functional failure: a
 * "blkbench: label=L result=FAIL ..." line and exit status 1. Success ends
 * with "blkbench: label=L result=ok".
 *
 *   blkbench [-d DEV] [-t SECS] [-s MIB] [-l LABEL] [-S SEED] [-T LIST] [-b]
 *     -d  device or file (default /dev/vda)   -t  seconds per test (3)
 *     -s  region in MiB from offset 0 (32)    -l  label in the lines ("-")
 *     -S  stamp seed                          -T  tests, comma-separated
 *     -b  buffered I/O instead of O_DIRECT (host tests on tmpfs)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECTOR		512
#define MIB		(1024 * 1024)
#define MAX_SAMPLES	(1 << 20)
#define STAMP_MAGIC	0x6b6e656276626b62ULL	/* "bkbvbenk" */

static const char *label = "-";
static uint64_t seed = 0x5eed;
static uint64_t *lat;		/* ns per op of the current test */
static char *buf;		/* 1 MiB, aligned */
static int fd = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	printf("blkbench: label=%s result=FAIL ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

/* Stamps: word 0 and the last word name the seed, word 1 the sector. */
static void stamp(char *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i += SECTOR) {
		uint64_t w[2] = { seed ^ STAMP_MAGIC, (off + i) / SECTOR };
		uint64_t t = ~w[1] ^ seed;

		memcpy(p + i, w, sizeof(w));
		memcpy(p + i + SECTOR - sizeof(t), &t, sizeof(t));
	}
}

static void unstamp(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += SECTOR) {
		memset(p + i, 0, 16);
		memset(p + i + SECTOR - 8, 0, 8);
	}
}

static void check(const char *p, uint64_t off, size_t len, const char *test)
{
	for (size_t i = 0; i < len; i += SECTOR) {
		uint64_t w[2], t, sec = (off + i) / SECTOR;

		memcpy(w, p + i, sizeof(w));
		memcpy(&t, p + i + SECTOR - sizeof(t), sizeof(t));
		if (w[0] != (seed ^ STAMP_MAGIC) || w[1] != sec ||
		    t != (~sec ^ seed))
			fail("test=%s sector=%" PRIu64 " stamp=%016" PRIx64 "/%"
			     PRIu64 "/%016" PRIx64 " (data mismatch)", test, sec,
			     w[0], w[1], t);
	}
}

static void io(bool wr, uint64_t off, size_t len, const char *test)
{
	ssize_t n;

	if (wr)
		stamp(buf, off, len);
	else
		unstamp(buf, len);
	do {
		n = wr ? pwrite(fd, buf, len, (off_t)off) :
			 pread(fd, buf, len, (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		fail("test=%s %s offset=%" PRIu64 " len=%zu: %s", test,
		     wr ? "pwrite" : "pread", off, len, strerror(errno));
	if ((size_t)n != len)
		fail("test=%s short %s offset=%" PRIu64 ": %zd of %zu", test,
		     wr ? "write" : "read", off, n, len);
	if (!wr)
		check(buf, off, len, test);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *test, size_t bs, size_t ops, uint64_t ns)
{
	double secs = (double)ns / 1e9, sum = 0;

	for (size_t i = 0; i < ops; i++)
		sum += (double)lat[i];
	qsort(lat, ops, sizeof(*lat), cmp_u64);
	printf("blkbench: label=%s test=%s bs=%zu ops=%zu secs=%.3f iops=%.1f "
	       "mibps=%.2f lat_mean_us=%.1f lat_p50_us=%.1f lat_p99_us=%.1f\n",
	       label, test, bs, ops, secs, (double)ops / secs,
	       (double)ops * (double)bs / MIB / secs, sum / (double)ops / 1e3,
	       (double)lat[(ops - 1) / 2] / 1e3,
	       (double)lat[(ops - 1) * 99 / 100] / 1e3);
	fflush(stdout);
}

static uint64_t rnd(void)
{
	/* xorshift64* */
	static uint64_t s = 0x9e3779b97f4a7c15ULL;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dULL;
}

/*
 * One test: ops of @bs bytes at offsets from @next until @budget ns are
 * spent (and, with @min_ops, at least that many ops).
 */
static void run(const char *test, bool wr, size_t bs, uint64_t region,
		uint64_t budget, size_t min_ops,
		uint64_t (*next)(size_t i, size_t bs, uint64_t region))
{
	uint64_t start = now_ns(), t0, t1 = start;
	size_t ops = 0;

	while (ops < MAX_SAMPLES && (t1 - start < budget || ops < min_ops)) {
		uint64_t off = next(ops, bs, region);

		t0 = now_ns();
		io(wr, off, bs, test);
		t1 = now_ns();
		lat[ops++] = t1 - t0;
	}
	if (wr && fdatasync(fd))
		fail("test=%s fdatasync: %s", test, strerror(errno));
	report(test, bs, ops, t1 - start);
}

static uint64_t seq_next(size_t i, size_t bs, uint64_t region)
{
	return (uint64_t)i * bs % region;
}

static uint64_t rand_next(size_t i, size_t bs, uint64_t region)
{
	(void)i;
	return rnd() % (region / bs) * bs;
}

static uint64_t zero_next(size_t i, size_t bs, uint64_t region)
{
	(void)i, (void)bs, (void)region;
	return 0;
}

static bool wanted(const char *list, const char *test)
{
	size_t n = strlen(test);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, test, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static void usage(void)
{
	fprintf(stderr, "usage: blkbench [-d DEV] [-t SECS] [-s MIB] [-l LABEL] "
		"[-S SEED] [-T seqwrite1m,seqread1m,randread4k,randwrite4k,rtt512] [-b]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/vda";
	const char *tests = "seqwrite1m,seqread1m,randread4k,randwrite4k,rtt512";
	double secs = 3;
	uint64_t region = 32, budget, size = 0;
	int opt, flags = O_RDWR | O_DIRECT | O_CLOEXEC;
	struct stat st;

	while ((opt = getopt(argc, argv, "d:t:s:l:S:T:b")) != -1) {
		switch (opt) {
		case 'd': dev = optarg; break;
		case 't': secs = strtod(optarg, NULL); break;
		case 's': region = strtoull(optarg, NULL, 0); break;
		case 'l': label = optarg; break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'T': tests = optarg; break;
		case 'b': flags &= ~O_DIRECT; break;
		default: usage();
		}
	}
	if (optind != argc || secs < 0 || secs > 3600 || !region)
		usage();
	budget = (uint64_t)(secs * 1e9);

	fd = open(dev, flags);
	if (fd < 0)
		fail("open %s: %s", dev, strerror(errno));
	if (fstat(fd, &st))
		fail("fstat %s: %s", dev, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size))
			fail("BLKGETSIZE64 %s: %s", dev, strerror(errno));
	} else {
		size = (uint64_t)st.st_size;
	}
	region = region * MIB < size ? region * MIB : size / MIB * MIB;
	if (region < MIB)
		fail("%s: %" PRIu64 " bytes, need at least 1 MiB", dev, size);
	if (posix_memalign((void **)&buf, 4096, MIB))
		fail("out of memory");
	memset(buf, 0xa5, MIB);
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	if (!lat)
		fail("out of memory");
	printf("# blkbench: %s, region %" PRIu64 " MiB, %.1f s per test, QD1, %s\n",
	       dev, region / MIB, secs, flags & O_DIRECT ? "O_DIRECT" : "buffered");
	printf("# rtt512 = kick->backend wakeup->interrupt round trip "
	       "(one 512-byte read of sector 0 per op)\n");

	/* Always one whole pass first (only that when not in -T): the
	 * reads check the stamps it wrote. */
	run("seqwrite1m", true, MIB, region,
	    wanted(tests, "seqwrite1m") ? budget : 0, region / MIB, seq_next);
	if (wanted(tests, "seqread1m"))
		run("seqread1m", false, MIB, region, budget, 1, seq_next);
	if (wanted(tests, "randread4k"))
		run("randread4k", false, 4096, region, budget, 1, rand_next);
	if (wanted(tests, "randwrite4k"))
		run("randwrite4k", true, 4096, region, budget, 1, rand_next);
	if (wanted(tests, "rtt512"))
		run("rtt512", false, SECTOR, region, budget, 1, zero_next);
	close(fd);
	free(lat);
	free(buf);
	printf("blkbench: label=%s result=ok\n", label);
	return 0;
}
