// SPDX-License-Identifier: Apache-2.0
/*
 * A hostile driver: every malformed ring ends in DEVICE_NEEDS_RESET (and a
 * configuration interrupt), never in a crash, a hang or an access outside
 * the windows. Guest RAM is a malloc'ed buffer, so ASan flags any access
 * past it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest.h"
#include "tap.h"

static struct vb_vq_req req;

/* The pop fails, the device is broken and says so, and stays stopped. */
static void expect_broken(struct tguest *g, const char *what)
{
	int ret = vb_vq_pop(tg_vq(g), &req);

	if (ret >= 0)
		tap_fail(__FILE__, __LINE__, "%s: pop returned %d", what, ret);
	if (!tg_broken(g))
		tap_fail(__FILE__, __LINE__, "%s: device not broken", what);
	if (!(tg_rd(g, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG))
		tap_fail(__FILE__, __LINE__, "%s: no config interrupt", what);
	if (vb_vq_pop(tg_vq(g), &req) >= 0)
		tap_fail(__FILE__, __LINE__, "%s: queue not stopped", what);
	printf("# %s: %s\n", what, g->d->why);
}

static void t_loop(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_NEXT, 1);
	tg_desc(&g, 1, buf, 8, VRING_DESC_F_NEXT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "loop");
	tg_fini(&g);

	/* A self-loop of zero-length descriptors: no segment limit helps. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	tg_desc(&g, 4, 0, 0, VRING_DESC_F_NEXT, 4);
	tg_publish(&g, 4);
	expect_broken(&g, "zero-length self loop");
	tg_fini(&g);
}

static void t_chain_longer_than_ring(void)
{
	struct tguest g;
	uint64_t buf;
	unsigned int i;

	/* Every descriptor of the ring, then back to the start. */
	REQUIRE(!tg_start(&g, F_V1, 16));
	buf = tg_alloc(&g, 8);
	for (i = 0; i < 16; i++)
		tg_desc(&g, i, buf, 1, VRING_DESC_F_NEXT, (i + 1) % 16);
	tg_publish(&g, 0);
	expect_broken(&g, "chain longer than the ring");
	tg_fini(&g);

	/* Longer than VB_VQ_MAX_SEGS, shorter than the ring. */
	REQUIRE(!tg_start(&g, F_V1, 128));
	buf = tg_alloc(&g, 8);
	for (i = 0; i <= VB_VQ_MAX_SEGS; i++)
		tg_desc(&g, i, buf, 8, i < VB_VQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0,
			i + 1);
	tg_publish(&g, 0);
	expect_broken(&g, "chain longer than VB_VQ_MAX_SEGS");
	tg_fini(&g);
}

static void t_outside_windows(void)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		const char *what;
	} cases[] = {
		{ 0, 16, 0, "address 0" },
		{ G_RAM_GPA - 1, 2, 0, "straddling the start of RAM" },
		{ G_RAM_GPA + G_RAM_SIZE - 8, 16, 0, "straddling the end of RAM" },
		{ G_RAM_GPA + G_RAM_SIZE, 1, 0, "just past RAM" },
		{ G_RO_GPA, 16, VRING_DESC_F_WRITE, "writable in a read-only window" },
		{ ~0ULL - 4, 16, 0, "addr + len wraps" },
		{ G_RAM_GPA + 16, 0xffffffff, 0, "length 4 GiB - 1" },
		{ 0xfffffffffffff000ULL, 0x2000, VRING_DESC_F_WRITE, "wrap, writable" },
	};
	struct tguest g;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		REQUIRE(!tg_start(&g, F_V1, 8));
		tg_desc(&g, 0, cases[i].addr, cases[i].len, cases[i].flags, 0);
		tg_publish(&g, 0);
		expect_broken(&g, cases[i].what);
		tg_fini(&g);
	}

	/* Reading from the read-only window is fine. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	tg_desc(&g, 0, G_RO_GPA, G_RO_SIZE, 0, 0);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK(req.out[0].iov_base == g.ro);
	tg_fini(&g);
}

static void t_total_length_overflow(void)
{
	const uint64_t big_gpa = 0x200000000ULL, big_size = (5ULL << 30);
	struct tguest g;
	unsigned int i;
	void *big;

	/* 40 MiB made of one window forty times: big, but fine. */
	REQUIRE(!tg_start(&g, F_V1, 128));
	for (i = 0; i < 40; i++)
		tg_desc(&g, i, G_RAM_GPA, G_RAM_SIZE, i < 39 ? VRING_DESC_F_NEXT : 0,
			i + 1);
	tg_publish(&g, 0);
	CHECK_EQ(vb_vq_pop(tg_vq(&g), &req), 1);
	CHECK_EQ(req.out_len, 40u * G_RAM_SIZE);
	CHECK(!tg_broken(&g));
	tg_fini(&g);

	/* Two segments of 4 GiB - 1 each: the 32-bit total would wrap. A
	 * 5 GiB window of address space only (never touched). */
	big = mmap(NULL, big_size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REQUIRE(big != MAP_FAILED);
	REQUIRE(!tg_start(&g, F_V1, 8));
	REQUIRE(!vb_session_fake_window(g.s, big_gpa, big, big_size, true));
	tg_desc(&g, 0, big_gpa, 0xffffffff, VRING_DESC_F_NEXT, 1);
	tg_desc(&g, 1, big_gpa + 16, 0xffffffff, 0, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "total length over 4 GiB");
	tg_fini(&g);
	munmap(big, big_size);
}

static void t_indirect_bad(void)
{
	struct vring_desc *t;
	struct tguest g;
	uint64_t tbl, buf;

	/* Length not a multiple of 16. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 64);
	tg_desc(&g, 0, tbl, 24, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "indirect table of 24 bytes");
	tg_fini(&g);

	/* Empty table. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tg_desc(&g, 0, tg_alloc(&g, 16), 0, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "indirect table of 0 bytes");
	tg_fini(&g);

	/* Table outside memory. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tg_desc(&g, 0, G_RAM_GPA + G_RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "indirect table past RAM");
	tg_fini(&g);

	/* Nested indirect. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 32);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ tbl, 32, VRING_DESC_F_INDIRECT, 0 };
	tg_desc(&g, 0, tbl, 32, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "nested indirect");
	tg_fini(&g);

	/* INDIRECT together with NEXT. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 16);
	buf = tg_alloc(&g, 8);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ buf, 8, 0, 0 };
	tg_desc(&g, 0, tbl, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	tg_desc(&g, 1, buf, 8, 0, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "indirect with NEXT");
	tg_fini(&g);

	/* Indirect not negotiated. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	tbl = tg_alloc(&g, 16);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ tg_alloc(&g, 8), 8, 0, 0 };
	tg_desc(&g, 0, tbl, 16, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "indirect not negotiated");
	tg_fini(&g);

	/* Loop inside an indirect table. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 32);
	buf = tg_alloc(&g, 8);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ buf, 8, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ buf, 8, VRING_DESC_F_NEXT, 0 };
	tg_desc(&g, 0, tbl, 32, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "loop in an indirect table");
	tg_fini(&g);

	/* NEXT beyond the indirect table. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 32);
	buf = tg_alloc(&g, 8);
	t = tg_ptr(&g, tbl);
	t[0] = (struct vring_desc){ buf, 8, VRING_DESC_F_NEXT, 2 };
	tg_desc(&g, 0, tbl, 32, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "next beyond the indirect table");
	tg_fini(&g);

	/* A huge indirect table: bounded by VB_VQ_MAX_SEGS. */
	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT, 8));
	tbl = tg_alloc(&g, 1000 * 16);
	buf = tg_alloc(&g, 8);
	t = tg_ptr(&g, tbl);
	for (unsigned int i = 0; i < 1000; i++)
		t[i] = (struct vring_desc){ buf, 8, VRING_DESC_F_NEXT, (uint16_t)(i + 1) };
	t[999].flags = 0;
	tg_desc(&g, 0, tbl, 1000 * 16, VRING_DESC_F_INDIRECT, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "indirect chain of 1000");
	tg_fini(&g);
}

static void t_bad_indexes(void)
{
	struct tguest g;
	uint64_t buf;

	/* Avail index jumping by more than the queue size. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	g.avail->idx = 9;
	expect_broken(&g, "avail idx + 9 on a ring of 8");
	tg_fini(&g);

	/* Avail index going backwards (= a huge jump forward). */
	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	g.avail->idx = 0;
	expect_broken(&g, "avail idx backwards");
	tg_fini(&g);

	/* Head beyond the ring. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	tg_publish(&g, 8);
	expect_broken(&g, "head 8 on a ring of 8");
	tg_fini(&g);

	/* Next beyond the ring. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_NEXT, 200);
	tg_publish(&g, 0);
	expect_broken(&g, "next 200 on a ring of 8");
	tg_fini(&g);

	/* The same head made available twice while in flight. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	tg_publish(&g, 0);
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	expect_broken(&g, "head in flight made available again");
	tg_fini(&g);

	/* Readable after writable. */
	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 8);
	tg_desc(&g, 0, buf, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	tg_desc(&g, 1, buf, 8, 0, 0);
	tg_publish(&g, 0);
	expect_broken(&g, "readable after writable");
	tg_fini(&g);
}

/*
 * The driver scribbles over the used ring (its index, its entries, the
 * avail_event word) and used_event: the device keeps its own used index,
 * never reads used entries back, and carries on.
 */
static void t_used_ring_corruption(void)
{
	struct tguest g;
	uint64_t buf;
	unsigned int i;

	REQUIRE(!tg_start(&g, F_V1 | F_EVENT_IDX, 8));
	buf = tg_alloc(&g, 8);
	for (i = 0; i < 20; i++) {
		tg_desc(&g, i % 8, buf, 8, VRING_DESC_F_WRITE, 0);
		tg_publish(&g, i % 8);
		g.used->idx = (uint16_t)(0x8000 + i * 977);	/* backwards, forwards */
		g.used->ring[i % 8].id = 0xffffffff;
		*tg_used_event(&g) = (uint16_t)(i * 31337);
		*tg_avail_event(&g) = 0xdead;
		REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
		vb_vq_push(tg_vq(&g), &req, 8);
		vb_vq_notify(tg_vq(&g));
		CHECK_EQ(tg_used_idx(&g), i + 1);
		CHECK_EQ(g.used->ring[i % 8].id, i % 8);
	}
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

/*
 * A descriptor rewritten after the device read it: the request keeps what
 * was validated. (The copy is what vb_walk uses; a second read of len
 * would give an iovec past RAM here.)
 */
static void t_rewrite_after_pop(void)
{
	struct tguest g;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1, 8));
	buf = tg_alloc(&g, 64);
	tg_desc(&g, 0, buf, 64, VRING_DESC_F_WRITE, 0);
	tg_publish(&g, 0);
	REQUIRE(vb_vq_pop(tg_vq(&g), &req) == 1);
	tg_desc(&g, 0, buf, 0x7fffffff, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(req.in[0].iov_len, 64);
	memset(req.in[0].iov_base, 0, req.in[0].iov_len);
	vb_vq_push(tg_vq(&g), &req, 64);
	CHECK_EQ(g.used->ring[0].len, 64);
	tg_fini(&g);
}

/* ------------------------------------------------------------------ */
/* A ring that changes under the backend                               */
/* ------------------------------------------------------------------ */

struct scribbler {
	struct tguest *g;
	atomic_bool stop;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Rewrite one descriptor field or avail entry with a plausible or absurd value. */
static void scribble_once(struct tguest *g, uint64_t *seed)
{
	struct vring_desc *d;
	uint64_t r;

	{
		r = xorshift(seed);
		d = &g->desc[r % g->num];
		r = xorshift(seed);
		switch (r % 6) {
		case 0:
			__atomic_store_n(&d->len, (uint32_t)(r >> 8), __ATOMIC_RELAXED);
			break;
		case 1:
			__atomic_store_n(&d->len, (uint32_t)(r >> 40) % 4096, __ATOMIC_RELAXED);
			break;
		case 2:
			__atomic_store_n(&d->addr, G_RAM_GPA + (r >> 12) % (G_RAM_SIZE + 8192) - 4096,
					 __ATOMIC_RELAXED);
			break;
		case 3:
			__atomic_store_n(&d->flags, (uint16_t)(r >> 20) & 7, __ATOMIC_RELAXED);
			break;
		case 4:
			__atomic_store_n(&d->next, (uint16_t)(r >> 24) % (g->num + 2),
					 __ATOMIC_RELAXED);
			break;
		default:
			__atomic_store_n(&g->avail->ring[(r >> 8) % g->num],
					 (uint16_t)(r >> 30) % (g->num + 1), __ATOMIC_RELAXED);
			break;
		}
	}
}

static void *scribble(void *arg)
{
	struct scribbler *sc = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	while (!atomic_load(&sc->stop))
		scribble_once(sc->g, &seed);
	return NULL;
}

static bool iov_inside(struct tguest *g, const struct iovec *v, unsigned int n)
{
	const uint8_t *p;
	unsigned int i;

	for (i = 0; i < n; i++) {
		p = v[i].iov_base;
		if (p >= g->ram && p + v[i].iov_len <= g->ram + G_RAM_SIZE)
			continue;
		if (p >= g->ro && p + v[i].iov_len <= g->ro + G_RO_SIZE)
			continue;
		return false;
	}
	return true;
}

static void t_ring_changes_under_backend(void)
{
	struct scribbler sc;
	struct tguest g;
	pthread_t th;
	unsigned int i, popped = 0, broken = 0, j;
	volatile uint8_t sink = 0;
	uint64_t seed = 12345, buf;
	bool inside = true;
	int ret;

	REQUIRE(!tg_start(&g, F_V1 | F_INDIRECT | F_EVENT_IDX, 16));
	buf = tg_alloc(&g, 4096);
	for (i = 0; i < 16; i++)
		tg_desc(&g, i, buf, 64, VRING_DESC_F_WRITE, 0);
	sc.g = &g;
	atomic_store(&sc.stop, false);
	REQUIRE(!pthread_create(&th, NULL, scribble, &sc));

	for (i = 0; i < 200000; i++) {
		/* Deterministic damage as well, whatever the scheduler does. */
		if (i % 4 == 0)
			scribble_once(&g, &seed);
		g.avail->ring[g.avail_idx % g.num] = (uint16_t)(i % 16);
		__atomic_store_n(&g.avail->idx, ++g.avail_idx, __ATOMIC_RELEASE);
		ret = vb_vq_pop(tg_vq(&g), &req);
		if (ret == 1) {
			popped++;
			inside &= iov_inside(&g, req.out, req.nr_out);
			inside &= iov_inside(&g, req.in, req.nr_in);
			/* Touch every byte: ASan catches anything past RAM. */
			for (j = 0; j < req.nr_out; j++)
				sink ^= ((uint8_t *)req.out[j].iov_base)[req.out[j].iov_len - 1];
			for (j = 0; j < req.nr_in; j++)
				memset(req.in[j].iov_base, 0x77, req.in[j].iov_len);
			vb_vq_push(tg_vq(&g), &req, req.in_len);
			vb_vq_notify(tg_vq(&g));
		} else if (ret < 0) {
			/* The driver's way out: reset and start again. */
			broken++;
			CHECK(tg_broken(&g));
			tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
			tg_negotiate(&g, F_V1 | F_INDIRECT | F_EVENT_IDX);
			for (j = 0; j < 16; j++)
				tg_desc(&g, (uint16_t)j, buf, 64, VRING_DESC_F_WRITE, 0);
			tg_queue_regs(&g, 0, 16, G_RAM_GPA + G_DESC_OFF,
				      G_RAM_GPA + G_AVAIL_OFF, G_RAM_GPA + G_USED_OFF);
			__atomic_store_n(&g.avail->idx, 0, __ATOMIC_RELAXED);
			g.avail_idx = 0;
			tg_wr(&g, VIRTIO_MMIO_QUEUE_READY, 1);
			tg_wr(&g, VIRTIO_MMIO_STATUS, 0xf);
		}
	}
	atomic_store(&sc.stop, true);
	pthread_join(th, NULL);
	(void)sink;
	printf("# %u requests popped, %u times broken and reset\n", popped, broken);
	CHECK(inside);
	CHECK(popped > 0);
	CHECK(broken > 0);
	tg_fini(&g);
}

/* Queue threads popping and pushing while the register thread resets. */
struct qworker {
	struct tguest *g;
	atomic_bool stop;
	unsigned long done;
};

static void *queue_thread(void *arg)
{
	struct qworker *w = arg;
	static struct vb_vq_req r;

	while (!atomic_load(&w->stop)) {
		if (vb_vq_pop(tg_vq(w->g), &r) == 1) {
			memset(r.in[0].iov_base, 1, r.in[0].iov_len);
			vb_vq_push(tg_vq(w->g), &r, r.in_len);
			vb_vq_notify(tg_vq(w->g));
			w->done++;
		}
	}
	return NULL;
}

static void t_reset_races_queue_thread(void)
{
	struct qworker w;
	struct tguest g;
	pthread_t th;
	unsigned int i, k;
	uint64_t buf;

	REQUIRE(!tg_start(&g, F_V1 | F_EVENT_IDX, 16));
	buf = tg_alloc(&g, 64);
	w.g = &g;
	w.done = 0;
	atomic_store(&w.stop, false);
	REQUIRE(!pthread_create(&th, NULL, queue_thread, &w));
	for (i = 0; i < 2000; i++) {
		for (k = 0; k < 8; k++) {
			tg_desc(&g, (uint16_t)k, buf, 64, VRING_DESC_F_WRITE, 0);
			tg_publish(&g, (uint16_t)k);
		}
		/* Half the time let the queue thread finish, half the time
		 * reset under its feet. */
		for (k = 0; i % 2 == 0 && k < 1000000 && tg_used_idx(&g) != 8; k++)
			sched_yield();
		tg_wr(&g, VIRTIO_MMIO_STATUS, 0);
		CHECK_EQ(tg_negotiate(&g, F_V1 | F_EVENT_IDX) & VIRTIO_CONFIG_S_FEATURES_OK,
			 VIRTIO_CONFIG_S_FEATURES_OK);
		tg_setup_queue(&g, 0, 16);
		tg_wr(&g, VIRTIO_MMIO_STATUS, 0xf);
		/* A fresh ring: nothing used, nothing pushed from before. */
		CHECK_EQ(tg_used_idx(&g), 0);
	}
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	printf("# %lu requests served across 2000 resets\n", w.done);
	CHECK(!tg_broken(&g));
	tg_fini(&g);
}

const struct vb_test hostile_tests[] = {
	{ "hostile: descriptor loops", t_loop },
	{ "hostile: chain longer than the ring or VB_VQ_MAX_SEGS", t_chain_longer_than_ring },
	{ "hostile: buffers outside the windows, wrapping lengths", t_outside_windows },
	{ "hostile: large totals do not overflow", t_total_length_overflow },
	{ "hostile: bad indirect tables", t_indirect_bad },
	{ "hostile: avail index jumps, bad heads and nexts", t_bad_indexes },
	{ "hostile: used ring corrupted by the driver", t_used_ring_corruption },
	{ "hostile: descriptor rewritten after pop", t_rewrite_after_pop },
	{ "hostile: ring changing under the backend", t_ring_changes_under_backend },
	{ "hostile: reset racing a queue thread", t_reset_races_queue_thread },
	{ NULL, NULL },
};
