// SPDX-License-Identifier: Apache-2.0
/*
 * What a session tells about itself, whichever implementation of the
 * session API opened it (session.c over /dev/vbackend, or a replacement
 * such as the one the benchmarks link instead).
 */
#include "vb_internal.h"

int vb_session_fd(const struct vb_session *s)
{
	return s->fd;
}

const struct vbackend_info *vb_session_info(const struct vb_session *s)
{
	return &s->info;
}
