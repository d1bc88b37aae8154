// SPDX-License-Identifier: Apache-2.0
/*
 * vbackend-sample: descriptors inherited from the parent.
 *
 * A target may name a descriptor the backend inherited (a frontend's own
 * session, passed down to be bound to). Once bound, the backend must not
 * keep that descriptor: a frontend lives as long as its file is open, so a
 * copy held here would keep it alive after it closed its side, and the
 * backend would never learn that it went away.
 *
 * So the descriptors above stderr this process started with are noted
 * first, and after every session is bound those that are the same
 * character device as a session of ours are closed. Nothing here reads a
 * target string; other inherited descriptors are left alone.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sample.h"

#define SCAN_MAX	1024	/* without /proc: descriptors looked at */

static int *noted;
static size_t nr_noted;

static void note(int fd)
{
	int *n = realloc(noted, (nr_noted + 1) * sizeof(*noted));

	if (!n)
		return;		/* only hygiene: keep going without it */
	noted = n;
	noted[nr_noted++] = fd;
}

void inherited_note(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (!dir) {
		for (int fd = STDERR_FILENO + 1; fd < SCAN_MAX; fd++) {
			struct stat st;

			if (!fstat(fd, &st))
				note(fd);
		}
		return;
	}
	while ((e = readdir(dir))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd <= STDERR_FILENO ||
		    fd == dirfd(dir))
			continue;
		note((int)fd);
	}
	closedir(dir);
}

void inherited_close_like(int fd)
{
	struct stat ours, st;

	if (fstat(fd, &ours) || !S_ISCHR(ours.st_mode))
		return;
	for (size_t i = 0; i < nr_noted; i++) {
		if (noted[i] < 0 || noted[i] == fd || fstat(noted[i], &st))
			continue;
		if (S_ISCHR(st.st_mode) && st.st_rdev == ours.st_rdev) {
			close(noted[i]);
			noted[i] = -1;
		}
	}
}

void inherited_forget(void)
{
	free(noted);
	noted = NULL;
	nr_noted = 0;
}
