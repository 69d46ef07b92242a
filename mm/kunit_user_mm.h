/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User memory for the KUnit cases of kvmfork-test.ko that need a real
 * address space: copies from and to userspace (bad pointers included), and
 * VMAs with their locks (the KSM unmerge).
 *
 * KUnit runs each case in a kernel thread, which has no address space of its
 * own.  A suite using this header borrows the address space of the process
 * that loads the module (KUnit runs a module's suites from the module
 * loader, in insmod's context): suite_init takes a reference on it, and each
 * case enters it with kthread_use_mm() and maps and unmaps its own anonymous
 * memory there.  Nothing a case maps outlives the case.
 *
 * Between kvmf_test_mm_enter() and kvmf_test_mm_leave() a case must not use
 * KUNIT_ASSERT_*(): an abort ends the kernel thread with the borrowed mm
 * still in use.  Use KUNIT_EXPECT_*() and leave through one exit path.
 */
#ifndef KVMFORK_MM_KUNIT_USER_MM_H
#define KVMFORK_MM_KUNIT_USER_MM_H

#include <kunit/test.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

/* The loader's address space, from suite_init to suite_exit; NULL if none. */
static struct mm_struct *kvmf_test_mm;

/* suite_init: borrow the loader's address space, if there is one. */
static inline int kvmf_test_mm_grab(struct kunit_suite *suite)
{
	if (current->mm) {
		mmget(current->mm);
		kvmf_test_mm = current->mm;
	}
	return 0;
}

/* suite_exit */
static inline void kvmf_test_mm_drop(struct kunit_suite *suite)
{
	if (kvmf_test_mm)
		mmput(kvmf_test_mm);
	kvmf_test_mm = NULL;
}

/* Enters the borrowed address space, or skips the case (it does not return). */
static inline void kvmf_test_mm_enter(struct kunit *test)
{
	if (!kvmf_test_mm)
		kunit_skip(test, "no process address space to borrow (module not loaded by a process)");
	kthread_use_mm(kvmf_test_mm);
}

static inline void kvmf_test_mm_leave(void)
{
	kthread_unuse_mm(kvmf_test_mm);
}

/* @len bytes of fresh anonymous memory with @prot: its address, or 0. */
static inline unsigned long kvmf_test_mmap(unsigned long len, unsigned long prot)
{
	unsigned long addr = vm_mmap(NULL, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, 0);

	return IS_ERR_VALUE(addr) ? 0 : addr;
}

static inline void kvmf_test_munmap(unsigned long addr, unsigned long len)
{
	if (addr)
		vm_munmap(addr, len);
}

/*
 * An address at which nothing is mapped: a page mapped, then unmapped.  (No
 * one else maps into the borrowed space while the case runs: the loader is
 * inside init_module.)
 */
static inline unsigned long kvmf_test_unmapped_addr(void)
{
	unsigned long addr = kvmf_test_mmap(PAGE_SIZE, PROT_READ);

	kvmf_test_munmap(addr, PAGE_SIZE);
	return addr;
}

/*
 * Makes a fatal signal pending on the calling kernel thread, as on a VMM
 * being killed (kernel threads ignore signals unless they allow them), or
 * takes it away again.
 */
static inline void kvmf_test_fatal_signal(bool pending)
{
	if (pending) {
		allow_signal(SIGKILL);
		send_sig(SIGKILL, current, 1);
	} else {
		flush_signals(current);
		disallow_signal(SIGKILL);
	}
}

#endif /* KVMFORK_MM_KUNIT_USER_MM_H */
