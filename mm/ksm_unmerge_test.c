// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the KSM unmerge of guest memory (ksm_unmerge.c), part of
 * kvmfork-test.ko, never of kvmfork.ko.  ksm_unmerge.c is compiled into this
 * object by the #include below.
 *
 * The cases work on real VMAs of a borrowed address space
 * (mm/kunit_user_mm.h) and check the promise that matters to a VMM being
 * killed in the middle: a fatal signal, while waiting for the mmap lock or
 * while KSM copies pages out, gets -EINTR and leaves every VMA's flags as
 * they were.  The cases that need VM_MERGEABLE skip on kernels without KSM.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>

#include "ksm_unmerge.c"
#include "kunit_user_mm.h"

/* Two VMAs of one page with a one-page hole between them: [a] [ ] [b]. */
struct two_vmas {
	unsigned long base, a, b;
};

static bool two_vmas_map(struct kunit *test, struct two_vmas *v)
{
	v->base = kvmf_test_mmap(3 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	if (!v->base) {
		KUNIT_FAIL(test, "cannot map test memory");
		return false;
	}
	v->a = v->base;
	v->b = v->base + 2 * PAGE_SIZE;
	vm_munmap(v->base + PAGE_SIZE, PAGE_SIZE);
	return true;
}

static void two_vmas_unmap(struct two_vmas *v)
{
	kvmf_test_munmap(v->base, 3 * PAGE_SIZE);
}

static unsigned long vma_flags_at(unsigned long addr)
{
	struct vm_area_struct *vma;
	unsigned long flags = 0;

	mmap_read_lock(kvmf_test_mm);
	vma = vma_lookup(kvmf_test_mm, addr);
	if (vma)
		flags = vma->vm_flags;
	mmap_read_unlock(kvmf_test_mm);
	return flags;
}

static bool mergeable_at(unsigned long addr)
{
	return vma_flags_at(addr) & VM_MERGEABLE;
}

/* One range: how many VMAs were mergeable, or the error. */
static int unmerge(unsigned long start, unsigned long end, bool need_all)
{
	struct kvmf_ksm_range r = { .start = start, .end = end };
	int err = kvmf_ksm_unmerge(kvmf_test_mm, &r, 1, need_all);

	return err ?: r.mergeable;
}

/* A thread that holds the mmap lock for reading until told to let go. */
struct mmap_holder {
	struct completion held, release, done;
};

static int mmap_holder_fn(void *data)
{
	struct mmap_holder *h = data;

	mmap_read_lock(kvmf_test_mm);
	complete(&h->held);
	wait_for_completion(&h->release);
	mmap_read_unlock(kvmf_test_mm);
	complete(&h->done);
	return 0;
}

/*
 * The VMM is killed while kvmfork waits for the mmap lock that another
 * thread holds: -EINTR, and nothing has changed.  Needs no KSM.
 */
static void ksm_unmerge_killed_waiting_test(struct kunit *test)
{
	struct mmap_holder h;
	struct task_struct *t;
	struct two_vmas v;
	unsigned long fa, fb;

	init_completion(&h.held);
	init_completion(&h.release);
	init_completion(&h.done);

	kvmf_test_mm_enter(test);
	if (!two_vmas_map(test, &v))
		goto out;
	if (IS_ENABLED(CONFIG_KSM))
		KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.b + PAGE_SIZE), 0);
	fa = vma_flags_at(v.a);
	fb = vma_flags_at(v.b);

	t = kthread_run(mmap_holder_fn, &h, "kvmf-mmap-holder");
	if (IS_ERR(t)) {
		KUNIT_FAIL(test, "cannot start the lock holder: %ld", PTR_ERR(t));
		goto out_unmap;
	}
	wait_for_completion(&h.held);

	kvmf_test_fatal_signal(true);
	KUNIT_EXPECT_EQ(test, unmerge(v.a, v.b + PAGE_SIZE, false), -EINTR);
	KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.b + PAGE_SIZE), -EINTR);
	kvmf_test_fatal_signal(false);

	complete(&h.release);
	wait_for_completion(&h.done);
	KUNIT_EXPECT_EQ(test, vma_flags_at(v.a), fa);
	KUNIT_EXPECT_EQ(test, vma_flags_at(v.b), fb);
out_unmap:
	two_vmas_unmap(&v);
out:
	kvmf_test_mm_leave();
}

/*
 * The VMM is killed while KSM copies pages out: the first VMA (no pages, so
 * nothing to copy) would be done, the second (one page) is interrupted.
 * Both must still be mergeable: the all-or-nothing promise.
 */
static void ksm_unmerge_killed_copying_test(struct kunit *test)
{
	struct two_vmas v;

	if (!IS_ENABLED(CONFIG_KSM))
		kunit_skip(test, "the kernel has no KSM (CONFIG_KSM)");

	kvmf_test_mm_enter(test);
	if (!two_vmas_map(test, &v))
		goto out;
	KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.b + PAGE_SIZE), 0);
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.a));
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.b));
	/* A page in b gives it an anon_vma: KSM has pages to look at. */
	KUNIT_EXPECT_EQ(test, put_user(1, (int __user *)v.b), 0);

	kvmf_test_fatal_signal(true);
	KUNIT_EXPECT_EQ(test, unmerge(v.a, v.b + PAGE_SIZE, false), -EINTR);
	kvmf_test_fatal_signal(false);
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.a));
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.b));
	two_vmas_unmap(&v);
out:
	kvmf_test_mm_leave();
}

/* Without a signal: both VMAs out of KSM, then back in. */
static void ksm_unmerge_remerge_test(struct kunit *test)
{
	struct two_vmas v;

	if (!IS_ENABLED(CONFIG_KSM))
		kunit_skip(test, "the kernel has no KSM (CONFIG_KSM)");

	kvmf_test_mm_enter(test);
	if (!two_vmas_map(test, &v))
		goto out;
	KUNIT_EXPECT_EQ(test, put_user(1, (int __user *)v.b), 0);
	/* Only a is mergeable: one VMA reported. */
	KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.a + PAGE_SIZE), 0);
	KUNIT_EXPECT_FALSE(test, mergeable_at(v.b));
	KUNIT_EXPECT_EQ(test, unmerge(v.a, v.b + PAGE_SIZE, false), 1);
	KUNIT_EXPECT_FALSE(test, mergeable_at(v.a));

	KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.b + PAGE_SIZE), 0);
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.a));
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.b));
	KUNIT_EXPECT_EQ(test, unmerge(v.a, v.b + PAGE_SIZE, false), 2);
	KUNIT_EXPECT_FALSE(test, mergeable_at(v.a));
	KUNIT_EXPECT_FALSE(test, mergeable_at(v.b));
	/* The page's content survived. */
	{
		int x = 0;

		KUNIT_EXPECT_EQ(test, get_user(x, (int __user *)v.b), 0);
		KUNIT_EXPECT_EQ(test, x, 1);
	}
	two_vmas_unmap(&v);
out:
	kvmf_test_mm_leave();
}

/*
 * Several ranges are one transaction: a hole in the second leaves the first
 * as it was, and counts are per range.
 */
static void ksm_unmerge_ranges_test(struct kunit *test)
{
	struct kvmf_ksm_range r[2];
	struct two_vmas v;

	if (!IS_ENABLED(CONFIG_KSM))
		kunit_skip(test, "the kernel has no KSM (CONFIG_KSM)");

	kvmf_test_mm_enter(test);
	if (!two_vmas_map(test, &v))
		goto out;
	KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.b + PAGE_SIZE), 0);

	r[0] = (struct kvmf_ksm_range){ .start = v.a, .end = v.a + PAGE_SIZE };
	r[1] = (struct kvmf_ksm_range){ .start = v.b - PAGE_SIZE, .end = v.b + PAGE_SIZE };
	KUNIT_EXPECT_EQ(test, kvmf_ksm_unmerge(kvmf_test_mm, r, 2, true), -EFAULT);
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.a));
	KUNIT_EXPECT_TRUE(test, mergeable_at(v.b));

	r[1].start = v.b;
	KUNIT_EXPECT_EQ(test, kvmf_ksm_unmerge(kvmf_test_mm, r, 2, true), 0);
	KUNIT_EXPECT_EQ(test, r[0].mergeable, 1U);
	KUNIT_EXPECT_EQ(test, r[1].mergeable, 1U);
	KUNIT_EXPECT_FALSE(test, mergeable_at(v.a));
	KUNIT_EXPECT_FALSE(test, mergeable_at(v.b));
	two_vmas_unmap(&v);
out:
	kvmf_test_mm_leave();
}

/* A range with a hole, when all of it must be mapped: -EFAULT, no change. */
static void ksm_unmerge_hole_test(struct kunit *test)
{
	struct two_vmas v;
	unsigned long fa, fb;

	kvmf_test_mm_enter(test);
	if (!two_vmas_map(test, &v))
		goto out;
	if (IS_ENABLED(CONFIG_KSM))
		KUNIT_EXPECT_EQ(test, kvmf_ksm_remerge(kvmf_test_mm, v.a, v.b + PAGE_SIZE), 0);
	fa = vma_flags_at(v.a);
	fb = vma_flags_at(v.b);

	KUNIT_EXPECT_EQ(test, unmerge(v.a, v.b + PAGE_SIZE, true), -EFAULT);
	/* A hole at either end too. */
	KUNIT_EXPECT_EQ(test, unmerge(v.a + PAGE_SIZE, v.b + PAGE_SIZE, true), -EFAULT);
	KUNIT_EXPECT_EQ(test, unmerge(v.a, v.a + 2 * PAGE_SIZE, true), -EFAULT);
	KUNIT_EXPECT_EQ(test, vma_flags_at(v.a), fa);
	KUNIT_EXPECT_EQ(test, vma_flags_at(v.b), fb);

	/* Each VMA on its own is fully mapped. */
	KUNIT_EXPECT_GE(test, unmerge(v.a, v.a + PAGE_SIZE, true), 0);
	KUNIT_EXPECT_GE(test, unmerge(v.b, v.b + PAGE_SIZE, true), 0);
	two_vmas_unmap(&v);
out:
	kvmf_test_mm_leave();
}

static struct kunit_case ksm_unmerge_cases[] = {
	KUNIT_CASE(ksm_unmerge_killed_waiting_test),
	KUNIT_CASE(ksm_unmerge_killed_copying_test),
	KUNIT_CASE(ksm_unmerge_remerge_test),
	KUNIT_CASE(ksm_unmerge_ranges_test),
	KUNIT_CASE(ksm_unmerge_hole_test),
	{}
};

static struct kunit_suite ksm_unmerge_suite = {
	.name = "kvmf_ksm_unmerge",
	.suite_init = kvmf_test_mm_grab,
	.suite_exit = kvmf_test_mm_drop,
	.test_cases = ksm_unmerge_cases,
};

kunit_test_suite(ksm_unmerge_suite);
