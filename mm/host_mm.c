// SPDX-License-Identifier: GPL-2.0
/*
 * Memory-management glue: resolving a guest frame's host virtual address to
 * the host page behind it, and registering kvmfork's MMU notifier on the
 * VMM's address space.
 *
 * Pages are looked up with FOLL_GET references that the caller drops as
 * soon as its nested page table entry is in place: guest mappings do not
 * keep pages alive, the MMU notifier removes them before the host changes
 * or frees a page (virt/kvm/mmu_notifier.c).
 *
 * Killable waits.  On 6.1, get_user_pages_unlocked() takes the mmap read
 * lock with mmap_read_lock(), which a fatal signal does not interrupt: a
 * vCPU whose fault queues behind a writer (a long munmap, mprotect or fork
 * of a large address space) could only die once the writer is done.  Past
 * the lock it is killable (faults get FAULT_FLAG_KILLABLE, __get_user_pages()
 * checks fatal_signal_pending() before each page, and it retakes the lock
 * with mmap_read_lock_killable()).  So the slow path here takes the lock
 * itself with mmap_read_lock_killable() and then uses the "locked" form of
 * get_user_pages_remote(), which has those same killable waits.  The mmap
 * write lock is taken only to register the notifier, killable too.
 *
 * Locks: the mmap lock of the VMM's mm, read (GUP) or write (registration),
 * never held on return.
 */
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/sched.h>

#include <kvmfork/compat.h>
#include <kvmfork/host_mm.h>

/*
 * One page at @hva with @gup_flags (0 or FOLL_WRITE): 0 with *@page
 * referenced, or a negative errno.
 */
static int host_page_lookup(struct mm_struct *mm, unsigned long hva, unsigned int gup_flags,
			    struct page **page)
{
	int locked = 1;
	long n;

	/*
	 * Lockless first: a page that is present (and writable, if asked)
	 * is found without the mmap lock.  This walks current->mm, which is
	 * the VMM's own mm on the vCPU thread.
	 */
	if (current->mm == mm && get_user_page_fast_only(hva, gup_flags, page))
		return 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	/*
	 * get_user_pages_remote() adds FOLL_REMOTE, which ignores the calling
	 * thread's protection keys: the guest is not that thread, and its
	 * accesses are not subject to the VMM's PKRU.
	 */
	n = kvmf_compat_gup_remote_locked(mm, hva, gup_flags, page, &locked);
	if (locked)
		mmap_read_unlock(mm);
	if (n == 1)
		return 0;
	/* Zero pages for one asked is not supposed to happen; call it a bad address. */
	return n < 0 ? n : -EFAULT;
}

/*
 * The size of the mapping of @hva in @mm's page tables, if it is a huge one
 * holding @pfn, and whether it is writable; see struct kvmf_host_page.
 *
 * The walk is lockless, like GUP-fast: with interrupts off no page table
 * can be freed under it (x86 frees them after an IPI or an RCU grace
 * period, and either waits for this CPU), and each level is read once.
 * What it finds may be out of date by the time the caller uses it; the
 * caller validates it with the MMU-notifier sequence, since every change
 * of a huge mapping (split, zap, write-protect) notifies.
 */
static unsigned int host_mapping_shift(struct mm_struct *mm, unsigned long hva,
				       unsigned long pfn, bool *writable)
{
#ifdef CONFIG_X86
	unsigned int shift = PAGE_SHIFT;
	unsigned long flags;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	*writable = false;
	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	/* With 4-level paging this returns &pgd itself: the copy is read. */
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (!pud_present(pud))
		goto out;
	if (pud_large(pud)) {
		if ((pud_pfn(pud) ^ pfn) >> (PUD_SHIFT - PAGE_SHIFT))
			goto out;
		shift = PUD_SHIFT;
		*writable = pud_write(pud);
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (!pmd_present(pmd) || !pmd_large(pmd))
		goto out;
	if ((pmd_pfn(pmd) ^ pfn) >> (PMD_SHIFT - PAGE_SHIFT))
		goto out;
	shift = PMD_SHIFT;
	*writable = pmd_write(pmd);
out:
	local_irq_restore(flags);
	return shift;
#else
	/*
	 * Only x86 maps guest memory with large pages so far, and the walk
	 * above uses x86's page-table helpers (pud_large(), pud_pfn()): other
	 * architectures map 4 KiB pages, which need no walk.
	 */
	*writable = false;
	return PAGE_SHIFT;
#endif
}

/*
 * Whether @page, just found at @hva for reading, may be written there as it
 * is: the host maps it writable already.  Asked without faulting, so that
 * nothing changes on the host's side.
 */
static bool host_page_writable_as_is(struct mm_struct *mm, unsigned long hva,
				     struct page *page)
{
	struct page *wpage;
	bool same;

	if (current->mm != mm || !get_user_page_fast_only(hva, FOLL_WRITE, &wpage))
		return false;
	same = wpage == page;
	put_page(wpage);
	return same;
}

int kvmf_host_page_get(struct mm_struct *mm, unsigned long hva, bool write_fault,
		       bool slot_writable, struct kvmf_host_page *hp)
{
	int r;

	if (write_fault) {
		if (!slot_writable)
			return -EFAULT;
		r = host_page_lookup(mm, hva, FOLL_WRITE, &hp->page);
		if (r)
			return r;
		hp->writable = true;
	} else {
		/*
		 * A read never breaks the sharing of a copy-on-write page (the
		 * zero page, a KSM page, a page shared with a forked child):
		 * that would allocate memory for nothing and undo KSM.  Write
		 * access comes along only if the host grants it as things are.
		 */
		r = host_page_lookup(mm, hva, 0, &hp->page);
		if (r)
			return r;
		hp->writable = slot_writable && host_page_writable_as_is(mm, hva, hp->page);
	}
	hp->map_shift = host_mapping_shift(mm, hva, page_to_pfn(hp->page), &hp->map_writable);
	return 0;
}

void kvmf_host_page_put(struct kvmf_host_page *hp)
{
	put_page(hp->page);
	hp->page = NULL;
}

int kvmf_host_mmu_notifier_register(struct mmu_notifier *mn, struct mm_struct *mm)
{
	int r;

	r = kvmf_compat_mmap_write_lock_killable(mm);
	if (r)
		return r;
	r = __mmu_notifier_register(mn, mm);
	mmap_write_unlock(mm);
	return r;
}
