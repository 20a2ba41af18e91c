// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packaging fixture: a module named "falco" that only loads and unloads, so
 * the package tests (DKMS builds on 5.10 and 6.1, install, upgrade, purge,
 * load/unload by the service) run while the real driver is not in the tree.
 * tests/package/run.sh uses it only when the repository has no dkms.conf.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init falco_fixture_init(void)
{
	pr_info("falco: packaging fixture module loaded\n");
	return 0;
}

static void __exit falco_fixture_exit(void)
{
	pr_info("falco: packaging fixture module unloaded\n");
}

module_init(falco_fixture_init);
module_exit(falco_fixture_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("falco packaging test fixture");
