// SPDX-License-Identifier: GPL-2.0
/*
 * kvmfork-test.ko: kvmfork's KUnit suites in one module.  The suites live in
 * the *_test.c files next to the code they test, each compiling that code
 * into itself; KUnit runs every suite of the module when it is loaded and
 * shows the results in /sys/kernel/debug/kunit/<suite>/results until it is
 * unloaded.  Built only against a kernel with KUnit (see the Kbuild file
 * and Documentation/debug-kernel.rst).
 */
#include <linux/module.h>

MODULE_DESCRIPTION("KUnit suites of kvmfork: memslots, emulator, CPUID, nested SVM, secure guests");
MODULE_LICENSE("GPL");
