// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: the command line.
 *
 *   vbackend-sample [--help] --device SPEC [--device SPEC...]
 *
 * A SPEC is "KIND,key=value,...,flag"; a ',' inside a value is written
 * ",,". The keys every device takes (target, mmio, irq) are parsed here,
 * the others by the device's model.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sample.h"

/*
 * Interrupt target kinds by name: the VBACKEND_IRQ_TARGET_* macros of the
 * uapi header, lowercased. The build generates the table from the header
 * itself, so the names follow the uapi and this file carries none of them.
 */
static const struct {
	const char *name;
	uint32_t type;
} irq_types[] = {
#include "irq-types.h"
	{ NULL, 0 }
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const struct sample_model *const models[] = { &blk_model, &rng_model };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [--help] --device SPEC [--device SPEC...]\n"
		"\n"
		"Serve virtio-mmio devices to frontends through /dev/vbackend.\n"
		"One process serves every device given; devices of the same target\n"
		"share one session, each other target gets its own.\n"
		"\n"
		"SPEC:\n"
		"  blk,target=T,mmio=ADDR,irq=TYPE:N[:M],image=PATH[,queues=N][,readonly]\n"
		"  rng,target=T,mmio=ADDR,irq=TYPE:N[:M]\n"
		"\n"
		"  target=T        the frontend, handed to the kernel as it is\n"
		"                  (e.g. vmm:fd=3)\n"
		"  mmio=ADDR       base of the device's 0x200-byte virtio-mmio window\n"
		"  irq=TYPE:N[:M]  its interrupt: TYPE is ");
	for (size_t i = 0; irq_types[i].name; i++)
		fprintf(out, "%s%s", i ? "|" : "", irq_types[i].name);
	fprintf(out,
		"\n"
		"                  (VBACKEND_IRQ_TARGET_*) or a number, N and M the\n"
		"                  target words (M defaults to 0)\n"
		"  image=PATH      blk: backing file or block device\n"
		"  queues=N        blk: request queues, 1..%d (default 2)\n"
		"  readonly        blk: a read-only disk\n"
		"  kick-churn=MS   test: unregister and register again every queue's\n"
		"                  kick every MS ms, under traffic (QueueNotify then\n"
		"                  arrives as a trap meanwhile)\n"
		"  A ',' inside a value is written ',,'. Numbers may be 0x-prefixed.\n"
		"\n"
		"Signals: SIGUSR1 prints one status line on stdout (requests, bytes,\n"
		"kicks and interrupts per queue); SIGTERM or SIGINT stops cleanly.\n"
		"The process exits when every device's frontend has gone.\n"
		"\n"
		"Exit status: 0 clean stop, 1 a device failed, 2 bad command line,\n"
		"target or image.\n",
		VB_MAX_QUEUES);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bad(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SETUP);
}

/* A whole unsigned number, decimal or 0x-prefixed. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/* TYPE:N[:M] */
static int parse_irq(struct sample_dev *d, const char *val)
{
	char buf[128], *f[4];
	unsigned int n = 0;
	uint64_t t;

	if (strlen(val) >= sizeof(buf))
		return -1;
	strcpy(buf, val);
	/* strtok_r() would merge empty fields; a plain split keeps them. */
	f[n++] = buf;
	for (char *p = buf; *p; p++) {
		if (*p != ':')
			continue;
		if (n == 4)
			return -1;
		*p = '\0';
		f[n++] = p + 1;
	}
	if (n < 2 || n > 3)
		return -1;

	d->params.irq_type = 0;
	for (size_t i = 0; irq_types[i].name; i++)
		if (!strcasecmp(f[0], irq_types[i].name))
			d->params.irq_type = irq_types[i].type;
	if (!d->params.irq_type) {
		if (parse_u64(f[0], &t) || !t || t > UINT32_MAX)
			return -1;
		d->params.irq_type = (uint32_t)t;
	}
	if (parse_u64(f[1], &d->params.irq_target[0]))
		return -1;
	d->params.irq_target[1] = 0;
	if (n == 3 && parse_u64(f[2], &d->params.irq_target[1]))
		return -1;
	return 0;
}

static void common_key(struct sample_dev *d, const char *key, const char *val)
{
	if (!strcmp(key, "target")) {
		if (d->sess)
			bad("%s: target given twice", d->name);
		if (!val || !*val)
			bad("%s: target needs a value (e.g. target=vmm:fd=3)",
			    d->name);
		d->sess = calloc(1, sizeof(*d->sess));
		if (!d->sess)
			bad("out of memory");
		d->sess->target = strdup(val);
		if (!d->sess->target)
			bad("out of memory");
		d->sess->owner = d;
	} else if (!strcmp(key, "mmio")) {
		if (d->have_mmio)
			bad("%s: mmio given twice", d->name);
		if (parse_u64(val, &d->params.mmio_base))
			bad("%s: mmio needs an address (e.g. mmio=0x10000000), not '%s'",
			    d->name, val ? val : "");
		d->have_mmio = true;
	} else if (!strcmp(key, "kick-churn")) {
		uint64_t ms;

		if (!val || parse_u64(val, &ms) || !ms || ms > 60000)
			bad("%s: kick-churn needs a period in ms (1..60000), not '%s'",
			    d->name, val ? val : "");
		d->kick_churn_ms = (unsigned int)ms;
	} else {	/* irq */
		if (d->have_irq)
			bad("%s: irq given twice", d->name);
		if (!val || parse_irq(d, val))
			bad("%s: irq needs TYPE:N[:M] (e.g. irq=line:5), not '%s'",
			    d->name, val ? val : "");
		d->have_irq = true;
	}
}

/*
 * Split @spec at single commas, ",," standing for a literal comma.
 * Returns the number of fields written to @field (pointers into @buf).
 */
static size_t split_spec(const char *spec, char *buf, char **field,
			 size_t max)
{
	size_t n = 0;
	char *o = buf;

	field[n++] = o;
	for (const char *p = spec; *p; p++) {
		if (*p == ',' && p[1] == ',') {
			*o++ = ',';
			p++;
		} else if (*p == ',') {
			*o++ = '\0';
			if (n == max)
				return max + 1;
			field[n++] = o;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return n;
}

#define MAX_FIELDS	32

static struct sample_dev *parse_device(const char *spec, unsigned int *count)
{
	char *field[MAX_FIELDS], *buf;
	const struct sample_model *m = NULL;
	struct sample_dev *d;
	size_t nf;
	char err[ERR_MAX];

	buf = malloc(strlen(spec) + 1);
	d = calloc(1, sizeof(*d));
	if (!buf || !d)
		bad("out of memory");
	nf = split_spec(spec, buf, field, MAX_FIELDS);
	if (nf > MAX_FIELDS)
		bad("--device '%s': more than %d fields", spec, MAX_FIELDS);

	for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
		if (!strcmp(field[0], models[i]->kind)) {
			m = models[i];
			snprintf(d->name, sizeof(d->name), "%s%u", m->kind,
				 count[i]++);
		}
	}
	if (!m)
		bad("--device '%s': unknown device kind '%s' (blk or rng)",
		    spec, field[0]);
	d->model = m;
	d->stop_fd = -1;
	d->state = calloc(1, m->state_size);
	if (!d->state)
		bad("out of memory");

	for (size_t i = 1; i < nf; i++) {
		char *key = field[i], *val = strchr(key, '=');

		if (val)
			*val++ = '\0';
		if (!*key)
			bad("%s: empty field in '%s'", d->name, spec);
		if (!strcmp(key, "target") || !strcmp(key, "mmio") ||
		    !strcmp(key, "irq") || !strcmp(key, "kick-churn")) {
			common_key(d, key, val);
			continue;
		}
		if (m->option(d, key, val, err, sizeof(err)))
			bad("%s: %s", d->name, err);
	}
	if (!d->sess)
		bad("%s: target=T is missing (e.g. target=vmm:fd=3)", d->name);
	if (!d->have_mmio)
		bad("%s: mmio=ADDR is missing", d->name);
	if (!d->have_irq)
		bad("%s: irq=TYPE:N[:M] is missing", d->name);
	free(buf);
	return d;
}

void options_parse(int argc, char **argv, struct sample_dev ***devs,
		   size_t *n)
{
	unsigned int count[ARRAY_SIZE(models)] = { 0 };
	struct sample_dev **v;
	size_t nd = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
	}

	v = calloc((size_t)argc, sizeof(*v));
	if (!v)
		bad("out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *spec;

		if (!strcmp(a, "--device") || !strcmp(a, "-d")) {
			if (i + 1 == argc)
				bad("%s needs a SPEC (see --help)", a);
			spec = argv[++i];
		} else if (!strncmp(a, "--device=", 9)) {
			spec = a + 9;
		} else {
			bad("unknown option '%s' (see --help)", a);
		}
		v[nd++] = parse_device(spec, count);
	}
	/* Devices of one target share its session. */
	for (size_t i = 0; i < nd; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(v[i]->sess->target, v[j]->sess->target))
				continue;
			free(v[i]->sess->target);
			free(v[i]->sess);
			v[i]->sess = v[j]->sess;
			break;
		}
	}
	if (!nd) {
		free(v);
		bad("no --device given (see --help)");
	}
	*devs = v;
	*n = nd;
}

void options_free(struct sample_dev **devs, size_t n)
{
	/* Backwards: a session's owner comes before the devices sharing it. */
	for (size_t i = n; i-- > 0;) {
		if (devs[i]->sess && devs[i]->sess->owner == devs[i]) {
			free(devs[i]->sess->target);
			free(devs[i]->sess);
		}
		free(devs[i]->state);
		free(devs[i]);
	}
	free(devs);
}
