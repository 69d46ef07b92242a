// SPDX-License-Identifier: GPL-2.0
/*
 * warn_test: a module whose only job is to emit one kernel warning when it
 * is loaded. kvmf-vm's self-test loads it to check that a run whose
 * command succeeds is still failed when the kernel log shows a WARN().
 *
 * Loading succeeds (init returns 0), so the module can be unloaded again.
 */
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init warn_test_init(void)
{
	WARN(1, "warn_test: deliberate warning, for testing kvmf-vm\n");
	return 0;
}

static void __exit warn_test_exit(void)
{
}

module_init(warn_test_init);
module_exit(warn_test_exit);

MODULE_DESCRIPTION("Emit one deliberate WARN() on load (kvmf-vm self-test)");
MODULE_LICENSE("GPL");
