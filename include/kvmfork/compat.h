/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels kvmfork builds against, in one place.
 * Code elsewhere calls the kvmf_compat_*() helpers below and never tests
 * LINUX_VERSION_CODE itself, so that a new kernel means editing this file
 * and nothing else (the lesson of kvm-kmod, which drowned in #if forests).
 *
 * The oldest kernel served is Debian 12's 6.1.
 *
 * No locks of its own: each helper says which of the kernel's it takes.
 */
#ifndef KVMFORK_COMPAT_H
#define KVMFORK_COMPAT_H

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/version.h>

/*
 * Takes @mm's mmap lock for writing, or gives up with -EINTR when a fatal
 * signal arrives while waiting for it.  Every kvmfork path that takes the
 * mmap lock for writing goes through here, so that a VMM stuck behind a
 * long-held lock can still be killed.
 */
static inline int __must_check kvmf_compat_mmap_write_lock_killable(struct mm_struct *mm)
{
	return mmap_write_lock_killable(mm);
}

/*
 * Write-locks @vma (held with the mmap lock for writing) before its flags or
 * range change, killable: 0 or -EINTR.  On -EINTR the mmap lock is still
 * held and nothing has changed yet; VMAs locked before stay locked until
 * mmap_write_unlock().
 *
 * Kernels without per-VMA locks (before 6.4, so 6.1) need nothing beyond
 * the mmap write lock.  From 6.4 VMAs have their own write lock, taken by
 * vma_start_write(), which waits for readers uninterruptibly; the killable
 * form appeared in 6.19.  Between the two only the uninterruptible form
 * exists, and it is what those kernels' own mm code uses.
 */
static inline int __must_check kvmf_compat_vma_start_write_killable(struct vm_area_struct *vma)
{
	mmap_assert_write_locked(vma->vm_mm);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
	return vma_start_write_killable(vma);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	vma_start_write(vma);
	return 0;
#else
	return 0;
#endif
}

/*
 * get_user_pages_remote() for one page with the caller's mmap read lock,
 * which *@locked says is held (1).  The lock may be dropped and retaken
 * while a fault waits (for I/O, a userfaultfd handler...); such waits are
 * killable, and a fatal signal ends the call with -EINTR and the lock
 * dropped (*@locked 0).  The vmas argument disappeared in 6.5.
 */
static inline long kvmf_compat_gup_remote_locked(struct mm_struct *mm, unsigned long addr,
						 unsigned int gup_flags, struct page **page,
						 int *locked)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, locked);
#else
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL, locked);
#endif
}

#endif /* KVMFORK_COMPAT_H */
