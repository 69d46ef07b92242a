// SPDX-License-Identifier: GPL-2.0
/*
 * Taking guest memory out of KSM before an Ultravisor takes it over, and
 * putting it back: see ksm_unmerge.h.
 *
 * The promise is all or nothing for the VMAs: when unmerging fails (most
 * often because the VMM is being killed), every VMA keeps the flags it had.
 * ksm_madvise() breaks the merged pages of one VMA out and clears its
 * VM_MERGEABLE in one go, so the walk is done in three passes under one
 * hold of the mmap write lock:
 *
 *  1. check the ranges and write-lock each VMA (killable);
 *  2. break the merged pages out, VMA by VMA, letting ksm_madvise() clear
 *     VM_MERGEABLE in a copy of the flags only: a failure here leaves
 *     every VMA as it was;
 *  3. clear VM_MERGEABLE in the VMAs themselves, which cannot fail.
 *
 * Nothing can merge pages again between 2 and 3: ksmd scans an address
 * space with its mmap lock held for reading.
 *
 * Locks: @mm's mmap lock, for writing, taken and released here; each VMA's
 * own write lock on kernels that have one (released with the mmap lock).
 */
#include <linux/ksm.h>
#include <linux/mm.h>
#include <linux/mman.h>

#include <kvmfork/compat.h>

#include "ksm_unmerge.h"

/*
 * A VMA's flags change only here.  6.1 writes them directly under the mmap
 * write lock; from 6.3 this becomes vm_flags_reset(), a compat.h matter.
 */
static void ksm_vma_set_flags(struct vm_area_struct *vma, unsigned long flags)
{
	vma->vm_flags = flags;
}

/* Pass 1: every VMA of the range write-locked, and no hole if @need_all. */
static int ksm_lock_range(struct mm_struct *mm, const struct kvmf_ksm_range *r, bool need_all)
{
	unsigned long covered = r->start;
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, r->start);
	int err;

	for_each_vma_range(vmi, vma, r->end) {
		if (need_all && vma->vm_start > covered)
			return -EFAULT;
		err = kvmf_compat_vma_start_write_killable(vma);
		if (err)
			return err;
		covered = vma->vm_end;
	}
	if (need_all && covered < r->end)
		return -EFAULT;
	return 0;
}

/*
 * Pass 2: the merged pages of every mergeable VMA copied out, flags kept;
 * the range's mergeable VMAs counted.
 */
static int ksm_break_out_range(struct mm_struct *mm, struct kvmf_ksm_range *r)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, r->start);
	unsigned long flags;
	int err;

	for_each_vma_range(vmi, vma, r->end) {
		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		flags = vma->vm_flags;
		err = ksm_madvise(vma, vma->vm_start, vma->vm_end, MADV_UNMERGEABLE, &flags);
		if (err)
			/* KSM stops at any pending signal with -ERESTARTSYS. */
			return err == -ERESTARTSYS ? -EINTR : err;
		r->mergeable++;
	}
	return 0;
}

/* Pass 3, which cannot fail. */
static void ksm_clear_range(struct mm_struct *mm, const struct kvmf_ksm_range *r)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, r->start);

	for_each_vma_range(vmi, vma, r->end)
		if (vma->vm_flags & VM_MERGEABLE)
			ksm_vma_set_flags(vma, vma->vm_flags & ~VM_MERGEABLE);
}

int kvmf_ksm_unmerge(struct mm_struct *mm, struct kvmf_ksm_range *ranges, unsigned int nr,
		     bool need_all)
{
	unsigned int i;
	int err;

	for (i = 0; i < nr; i++)
		ranges[i].mergeable = 0;

	err = kvmf_compat_mmap_write_lock_killable(mm);
	if (err)
		return err;

	for (i = 0; i < nr && !err; i++)
		if (ranges[i].start < ranges[i].end)
			err = ksm_lock_range(mm, &ranges[i], need_all);
	/* A VMA that two ranges share is looked at twice, harmlessly. */
	for (i = 0; i < nr && !err; i++)
		if (ranges[i].start < ranges[i].end)
			err = ksm_break_out_range(mm, &ranges[i]);
	if (!err)
		for (i = 0; i < nr; i++)
			if (ranges[i].start < ranges[i].end)
				ksm_clear_range(mm, &ranges[i]);

	mmap_write_unlock(mm);
	return err;
}

int kvmf_ksm_remerge(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, start);
	unsigned long flags;
	int r;

	r = kvmf_compat_mmap_write_lock_killable(mm);
	if (r)
		return r;

	for_each_vma_range(vmi, vma, end) {
		r = kvmf_compat_vma_start_write_killable(vma);
		if (r)
			break;
		flags = vma->vm_flags;
		r = ksm_madvise(vma, vma->vm_start, vma->vm_end, MADV_MERGEABLE, &flags);
		if (r)
			break;
		ksm_vma_set_flags(vma, flags);
	}
	mmap_write_unlock(mm);
	return r;
}
