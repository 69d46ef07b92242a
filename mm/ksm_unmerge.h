/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Taking guest memory out of KSM (mm/ksm_unmerge.c), which the secure-guest
 * backends do before memory is handed to an Ultravisor: s390 when a VM
 * becomes protected (KVM_PV_ENABLE), powerpc when a VM starts going secure
 * (H_SVM_INIT_START).  A page that KSM merged is shared with other
 * processes and write-protected, and an Ultravisor cannot take such a page
 * over; afterwards KSM must not merge guest pages again.
 */
#ifndef KVMFORK_MM_KSM_UNMERGE_H
#define KVMFORK_MM_KSM_UNMERGE_H

#include <linux/types.h>

struct mm_struct;

/* A range of host virtual addresses [@start, @end) to take out of KSM. */
struct kvmf_ksm_range {
	unsigned long start, end;
	/* Out: how many of the VMAs that meet the range were mergeable. */
	unsigned int mergeable;
};

/*
 * Takes every VMA of @mm that meets one of the @nr @ranges out of KSM: the
 * pages KSM merged are broken out into private copies, then VM_MERGEABLE is
 * cleared so that ksmd leaves the VMA alone.  VM_MERGEABLE belongs to a
 * whole VMA, so whole VMAs change, parts outside the ranges included; none
 * is split.  All ranges are done under one hold of the mmap lock: either
 * every VMA changes or none does.
 *
 * With @need_all, every byte of every range must be mapped: a hole gives
 * -EFAULT.
 *
 * Returns 0 with each range's count filled in, or a negative errno with the
 * flags of every VMA as they were: -EINTR when a fatal signal arrives while
 * waiting for the mmap lock or for a VMA's lock, or when any signal stops
 * KSM copying pages out; -EFAULT (above); -ENOMEM.  Pages that were already
 * copied out stay private copies, which changes no content: ksmd merges
 * them again later.
 *
 * Takes @mm's mmap lock for writing (killable); the caller must not hold it.
 */
int kvmf_ksm_unmerge(struct mm_struct *mm, struct kvmf_ksm_range *ranges, unsigned int nr,
		     bool need_all);

/*
 * Marks the VMAs of @mm that meet [@start, @end) mergeable again, as far as
 * KSM allows (it ignores shared and special mappings): undoes
 * kvmf_ksm_unmerge() of a range that held mergeable VMAs.  0, -EINTR (fatal
 * signal while waiting for the mmap lock) or -ENOMEM, in which case some
 * VMAs may be marked and others not.
 */
int kvmf_ksm_remerge(struct mm_struct *mm, unsigned long start, unsigned long end);

#endif /* KVMFORK_MM_KSM_UNMERGE_H */
