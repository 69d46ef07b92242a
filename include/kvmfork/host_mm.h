/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's glue to the host's memory management (mm/host_mm.c): the
 * host page behind a guest frame, and registering on the VMM's address
 * space.  Everything here that may wait for the mmap lock or for a page
 * fault gives up on a fatal signal with -EINTR, so a VMM that is being
 * killed never stays stuck inside kvmfork.
 */
#ifndef KVMFORK_HOST_MM_H
#define KVMFORK_HOST_MM_H

#include <linux/mm_types.h>
#include <linux/types.h>

struct mmu_notifier;

/* The host page behind one guest frame, with one reference (FOLL_GET). */
struct kvmf_host_page {
	struct page *page;
	/* Whether the host mapping let it be written (the guest may map it RW). */
	bool writable;
	/*
	 * The size of the host mapping the page was found in, as a shift:
	 * PAGE_SHIFT, PMD_SHIFT (a transparent or hugetlb huge page mapped by
	 * one PMD) or PUD_SHIFT; the frames of such a mapping are contiguous
	 * and aligned to its size.  @map_writable: that whole mapping is
	 * writable.  A snapshot: only an MMU-notifier sequence check tells
	 * whether it still holds.
	 */
	unsigned int map_shift;
	bool map_writable;
};

/*
 * Finds and, if needed, faults in the page of @mm at @hva.  A write fault
 * (@write_fault) needs a writable host mapping and breaks copy-on-write;
 * a read fault only reads, and @hp->writable then says whether the host
 * maps the page writable already (and @slot_writable allows it), so that
 * the guest may write it without a second fault.  Returns 0 with
 * @hp->page referenced, -EINTR on a fatal signal, -EFAULT when the host
 * mapping is missing or forbids the access, or another GUP errno
 * (-ENOMEM, -EHWPOISON).  May sleep; the caller must not hold the mmap lock.
 */
int kvmf_host_page_get(struct mm_struct *mm, unsigned long hva, bool write_fault,
		       bool slot_writable, struct kvmf_host_page *hp);

/* Drops the reference kvmf_host_page_get() took. */
void kvmf_host_page_put(struct kvmf_host_page *hp);

/*
 * mmu_notifier_register() with the mmap write lock taken killable: 0,
 * -EINTR (a fatal signal while waiting for the lock, or any signal while
 * the registration walks the address space), or -ENOMEM.  On error nothing
 * is registered.
 */
int kvmf_host_mmu_notifier_register(struct mmu_notifier *mn, struct mm_struct *mm);

#endif /* KVMFORK_HOST_MM_H */
