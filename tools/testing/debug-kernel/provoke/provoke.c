// SPDX-License-Identifier: GPL-2.0
/*
 * provoke: a module that commits one deliberate bug when it is loaded, picked
 * by the parameter what=, so that the debug kernel's checkers report it and
 * the test VM runner (tools/testing/vm/kvmf-vm) fails the run:
 *
 *   none        nothing (the control: the run must pass)
 *   kasan       reads one byte past a kmalloc()ed object (KASAN)
 *   lockdep     takes two mutexes in both orders (lockdep: circular)
 *   sleep       might_sleep() under a spinlock (DEBUG_ATOMIC_SLEEP)
 *   list        list_add() with a broken neighbour (DEBUG_LIST)
 *   leak        loses an allocation at load (kmemleak, module loaded)
 *   exit_leak   keeps an allocation that module exit never frees (kmemleak,
 *               after the unload)
 *
 * Every case leaves the kernel usable: nothing is overwritten, the locks are
 * released, and the module unloads.
 */
#include <linux/compiler.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *what = "none";
module_param(what, charp, 0444);
MODULE_PARM_DESC(what, "none, kasan, lockdep, sleep, list, leak or exit_leak");

/* Referenced from the module's data until the unload: then it leaks. */
static void *provoke_kept;

static void provoke_kasan(void)
{
	char *p = kmalloc(16, GFP_KERNEL);

	if (!p)
		return;
	/* Hidden from the compiler, which would warn about the bound. */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("provoke: byte past the end: %d\n", READ_ONCE(p[16]));
	kfree(p);
}

static DEFINE_MUTEX(provoke_a);
static DEFINE_MUTEX(provoke_b);

static void provoke_lockdep(void)
{
	/* One after the other, so nothing deadlocks; lockdep sees A->B, B->A. */
	mutex_lock(&provoke_a);
	mutex_lock(&provoke_b);
	mutex_unlock(&provoke_b);
	mutex_unlock(&provoke_a);
	mutex_lock(&provoke_b);
	mutex_lock(&provoke_a);
	mutex_unlock(&provoke_a);
	mutex_unlock(&provoke_b);
}

static DEFINE_SPINLOCK(provoke_lock);

static void provoke_sleep(void)
{
	spin_lock(&provoke_lock);
	/* The check alone: nothing actually sleeps. */
	might_sleep();
	spin_unlock(&provoke_lock);
}

static void provoke_list(void)
{
	LIST_HEAD(head);
	struct list_head a, b;

	list_add(&a, &head);
	/* head.next->prev should be &head; point it elsewhere. */
	a.prev = &b;
	/* DEBUG_LIST refuses the add and warns; the list is left alone. */
	list_add(&b, &head);
	a.prev = &head;
	list_del(&a);
}

/*
 * The allocations of the two leaks are made here, in the module's .text
 * rather than its init code, so that kmemleak's backtraces show this
 * function by name while the module is loaded, and an address inside the
 * module's .text after it is gone.
 */
static noinline void *provoke_alloc(size_t size)
{
	void *p = kmalloc(size, GFP_KERNEL);

	/* Touched, so that the allocation is not optimised away. */
	OPTIMIZER_HIDE_VAR(p);
	if (p)
		memset(p, 0x5a, size);
	return p;
}

static void provoke_leak(void)
{
	void *p = provoke_alloc(128);

	/* ...and lost. */
	OPTIMIZER_HIDE_VAR(p);
}

static int __init provoke_init(void)
{
	if (!strcmp(what, "kasan"))
		provoke_kasan();
	else if (!strcmp(what, "lockdep"))
		provoke_lockdep();
	else if (!strcmp(what, "sleep"))
		provoke_sleep();
	else if (!strcmp(what, "list"))
		provoke_list();
	else if (!strcmp(what, "leak"))
		provoke_leak();
	else if (!strcmp(what, "exit_leak"))
		/* A volatile store: the compiler sees no reader of it. */
		WRITE_ONCE(provoke_kept, provoke_alloc(256));
	else if (strcmp(what, "none"))
		return -EINVAL;
	return 0;
}

static void __exit provoke_exit(void)
{
	/* exit_leak: provoke_kept is deliberately not freed. */
}

module_init(provoke_init);
module_exit(provoke_exit);

MODULE_DESCRIPTION("Commit one deliberate bug for the debug kernel's checkers");
MODULE_LICENSE("GPL");
