// SPDX-License-Identifier: Apache-2.0
/*
 * Host unit tests of libvbackend, and of vbackend-vhost-user's protocol
 * parts: no kernel, no /dev/vbackend. The virtio
 * code runs over malloc'ed "guest RAM" through a fake session
 * (vb_internal.h); each test is forked so that a crash or a sanitizer
 * report is one "not ok" line. Usage: vb-unit [substring]
 */
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define TEST_TIMEOUT_S	30

static bool tap_failed;

/* Sanitizer defaults when run by hand: the library's SIGBUS guard must
 * see SIGBUS first; ASan still reports any SIGBUS the guard passes on. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0:allow_user_segv_handler=1:detect_leaks=1:abort_on_error=1";
}

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_failed = true;
}

static const struct vb_test *const suites[] = {
	session_tests, mmio_tests, vq_tests, resume_tests, hostile_tests,
	vhost_user_tests,
};

static bool selected(const struct vb_test *t, const char *filter)
{
	return !filter || strstr(t->name, filter);
}

static bool run_one(const struct vb_test *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return false;
	}
	if (!pid) {
		alarm(TEST_TIMEOUT_S);
		t->fn();
		fflush(stdout);
		exit(tap_failed ? 1 : 0);	/* exit(): LeakSanitizer runs */
	}
	if (waitpid(pid, &status, 0) < 0)
		return false;
	if (WIFSIGNALED(status)) {
		printf("# killed by signal %d%s\n", WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout: hang?)" : "");
		return false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) > 1)
		printf("# exit status %d (sanitizer report above?)\n",
		       WEXITSTATUS(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	unsigned int i, n = 0, passed = 0, failed = 0;
	const struct vb_test *t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		for (t = suites[i]; t->name; t++)
			n += selected(t, filter);
	printf("1..%u\n", n);
	n = 0;
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		for (t = suites[i]; t->name; t++) {
			if (!selected(t, filter))
				continue;
			if (run_one(t)) {
				printf("ok %u %s\n", ++n, t->name);
				passed++;
			} else {
				printf("not ok %u %s\n", ++n, t->name);
				failed++;
			}
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
