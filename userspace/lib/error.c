// SPDX-License-Identifier: Apache-2.0
/*
 * vb_last_error(): a one-line description of the calling thread's last
 * failure, e.g. "bind vmm:fd=9: Bad file descriptor".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vb_internal.h"

static _Thread_local char vb_errbuf[256];

const char *vb_last_error(void)
{
	return vb_errbuf;
}

/* Keep the message on one line whatever the caller formatted into it. */
static void vb_error_oneline(void)
{
	char *p;

	for (p = vb_errbuf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static void vb_error_vfmt(int err, bool suffix, const char *fmt, va_list ap)
{
	char ebuf[96];
	size_t n;

	vsnprintf(vb_errbuf, sizeof(vb_errbuf), fmt, ap);
	if (suffix && err) {
		n = strlen(vb_errbuf);
		snprintf(vb_errbuf + n, sizeof(vb_errbuf) - n, ": %s",
			 strerror_r(err, ebuf, sizeof(ebuf)));
	}
	vb_error_oneline();
}

int vb_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vb_error_vfmt(err, true, fmt, ap);
	va_end(ap);
	return -err;
}

int vb_error_msg(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vb_error_vfmt(err, false, fmt, ap);
	va_end(ap);
	return -err;
}
