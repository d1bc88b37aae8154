// SPDX-License-Identifier: GPL-2.0
/*
 * vbackend: live object counts in debugfs (vbackend/stats), so that tests
 * can prove that closing everything leaves nothing behind.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include "vbackend_internal.h"

struct vbackend_stats vbackend_stats;

static struct dentry *vbackend_debugfs;

static int vbackend_stats_show(struct seq_file *m, void *unused)
{
	static const struct {
		const char *name;
		atomic_long_t *val;
	} rows[] = {
		{ "sessions", &vbackend_stats.sessions },
		{ "windows", &vbackend_stats.windows },
		{ "traps", &vbackend_stats.traps },
		{ "kicks", &vbackend_stats.kicks },
		{ "irqs", &vbackend_stats.irqs },
		{ "pending", &vbackend_stats.pending },
		{ "regions", &vbackend_stats.regions },
		{ "pages", &vbackend_stats.pages },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++)
		seq_printf(m, "%s %ld\n", rows[i].name, atomic_long_read(rows[i].val));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vbackend_stats);

/**
 * vbackend_stats_init() - create vbackend/stats in debugfs
 */
void vbackend_stats_init(void)
{
	vbackend_debugfs = debugfs_create_dir("vbackend", NULL);
	debugfs_create_file("stats", 0400, vbackend_debugfs, NULL,
			    &vbackend_stats_fops);
}

/**
 * vbackend_stats_exit() - remove it
 */
void vbackend_stats_exit(void)
{
	debugfs_remove_recursive(vbackend_debugfs);
}
