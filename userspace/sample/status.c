// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: the SIGUSR1 report, one line for the whole process:
 *
 *   vbackend-sample: blk0 q0 req=12 bytes=49152 kicks=7 irqs=7 q1 ...; rng0 q0 ...
 *
 * (with kick-churn=MS, "kick-churn=N" after the device name: its kicks
 * unregistered and registered again so far)
 *
 * A device whose frontend went away reports its last counters after
 * "gone".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sample.h"

static void report_device(FILE *f, const struct sample_dev *d)
{
	fprintf(f, " %s", d->name);
	if (!d->running)
		fputs(" gone", f);
	if (d->kick_churn_ms)
		fprintf(f, " kick-churn=%lu", atomic_load(&d->churn_cycles));
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct vb_vq_stats st = d->final[i];

		if (d->running)
			vb_vq_get_stats(d->queues[i].vq, &st);
		fprintf(f, " q%u req=%" PRIu64 " bytes=%" PRIu64
			" kicks=%" PRIu64 " irqs=%" PRIu64, i, st.requests,
			st.bytes, st.kicks, st.interrupts);
	}
}

void status_report(FILE *out, struct sample_dev *const *devs, size_t n)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	bool first = true;

	if (!f)
		return;
	fputs(PROG ":", f);
	for (size_t i = 0; i < n; i++) {
		if (!devs[i]->running && !devs[i]->stopped)
			continue;
		if (!first)
			fputc(';', f);
		report_device(f, devs[i]);
		first = false;
	}
	fputc('\n', f);
	if (fclose(f) == 0) {
		/* One write(), so that the line never interleaves with others. */
		fflush(out);
		for (size_t done = 0; done < len;) {
			ssize_t r = write(fileno(out), line + done, len - done);

			if (r <= 0)
				break;
			done += (size_t)r;
		}
	}
	free(line);
}
