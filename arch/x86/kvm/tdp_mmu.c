// SPDX-License-Identifier: GPL-2.0
/*
 * The two-dimensional paging MMU.  The table has the x86-64 4-level format
 * that AMD nested paging walks (APM: "Nested Paging"): every entry needs the
 * U/S bit, since nested walks are user accesses.  Leaves are 4 KiB and each
 * holds one reference on the host page it maps, taken by get_user_pages()
 * on the VMM's address space and dropped when the leaf is cleared.
 *
 * Locking: tdp->lock (a spinlock) protects all entries.  Faults resolve the
 * host page before taking it (get_user_pages() sleeps) and allocate table
 * pages before taking it too.  A fault holds the memslot SRCU read lock from
 * the slot lookup until its leaf is installed, so that a slot removal, which
 * waits for SRCU readers before unmapping, never misses a leaf.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/smp.h>
#include <linux/srcu.h>
#include <asm/io.h>

#include <kvmfork/kvmf_host.h>

#include "tdp_mmu.h"
#include "x86.h"

#define TDP_P		BIT_ULL(0)
#define TDP_RW		BIT_ULL(1)
#define TDP_US		BIT_ULL(2)
#define TDP_PFN_MASK	GENMASK_ULL(51, 12)
#define TDP_TABLE_FLAGS	(TDP_P | TDP_RW | TDP_US)
#define TDP_LEVELS	4
#define TDP_ENTRIES	512

/* Index of @gpa in a table at @level (4 = the root, 1 = the leaf table). */
static unsigned int tdp_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (TDP_ENTRIES - 1);
}

static u64 *tdp_table_of(u64 entry)
{
	return phys_to_virt(entry & TDP_PFN_MASK);
}

static void tdp_release_leaf(u64 leaf)
{
	struct page *page = pfn_to_page((leaf & TDP_PFN_MASK) >> PAGE_SHIFT);

	/* The guest may have written through a writable leaf. */
	if (leaf & TDP_RW)
		SetPageDirty(page);
	put_page(page);
}

int kvmf_tdp_init(struct kvmf_vm *vm)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;

	spin_lock_init(&tdp->lock);
	atomic64_set(&tdp->flush_generation, 0);
	tdp->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return tdp->root ? 0 : -ENOMEM;
}

phys_addr_t kvmf_tdp_root_pa(struct kvmf_vm *vm)
{
	return virt_to_phys(vm->arch.tdp.root);
}

static void tdp_free_table(u64 *table, int level)
{
	unsigned int i;

	for (i = 0; i < TDP_ENTRIES; i++) {
		if (!(table[i] & TDP_P))
			continue;
		if (level == 1)
			tdp_release_leaf(table[i]);
		else
			tdp_free_table(tdp_table_of(table[i]), level - 1);
	}
	free_page((unsigned long)table);
}

void kvmf_tdp_destroy(struct kvmf_vm *vm)
{
	if (vm->arch.tdp.root)
		tdp_free_table(vm->arch.tdp.root, TDP_LEVELS);
	vm->arch.tdp.root = NULL;
}

/*
 * The leaf entry for @gpa, creating missing tables from the pages in @spare
 * (each consumed and cleared as used); NULL when a table is missing and no
 * spare page is left.  Called with tdp->lock held.
 */
static u64 *tdp_leaf_entry(struct kvmf_tdp *tdp, u64 gpa, u64 **spare, unsigned int nr_spare)
{
	u64 *table = tdp->root;
	unsigned int i;
	int level;

	lockdep_assert_held(&tdp->lock);

	for (level = TDP_LEVELS; level > 1; level--) {
		u64 *entry = &table[tdp_index(gpa, level)];

		if (!(*entry & TDP_P)) {
			for (i = 0; i < nr_spare && !spare[i]; i++)
				;
			if (i == nr_spare)
				return NULL;
			*entry = virt_to_phys(spare[i]) | TDP_TABLE_FLAGS;
			spare[i] = NULL;
		}
		table = tdp_table_of(*entry);
	}
	return &table[tdp_index(gpa, 1)];
}

/* Fills the empty places of @spare with zeroed pages. */
static int tdp_topup_spare(u64 **spare, unsigned int nr_spare)
{
	unsigned int i;

	for (i = 0; i < nr_spare; i++) {
		if (!spare[i])
			spare[i] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!spare[i])
			return -ENOMEM;
	}
	return 0;
}

/* Gets the host page behind @hva; *writable says how it may be mapped. */
static int tdp_get_host_page(unsigned long hva, bool want_write, bool slot_writable,
			     struct page **page, bool *writable)
{
	long n;

	/* Map writable when the slot allows it, to spare a second fault. */
	if (slot_writable) {
		n = get_user_pages_unlocked(hva, 1, page, FOLL_WRITE);
		if (n == 1) {
			*writable = true;
			return 0;
		}
		if (want_write)
			return n < 0 ? n : -EFAULT;
	}
	n = get_user_pages_unlocked(hva, 1, page, 0);
	if (n != 1)
		return n < 0 ? n : -EFAULT;
	*writable = false;
	return 0;
}

static void tdp_flush_vcpus(struct kvmf_vm *vm);

int kvmf_tdp_fault(struct kvmf_vm *vm, u64 gpa, bool write)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;
	u64 *spare[TDP_LEVELS - 1] = {};
	const struct kvmf_memslot *slot;
	u64 gfn = gpa >> PAGE_SHIFT;
	bool slot_writable, writable;
	struct page *page;
	u64 *leaf, new, old = 0;
	int idx, r, i;

	idx = srcu_read_lock(&vm->mem.srcu);
	slot = kvmf_memslot_find_gfn(kvmf_memslots_get(&vm->mem), gfn);
	slot_writable = slot && !(slot->flags & KVM_MEM_READONLY);
	if (!slot || (write && !slot_writable)) {
		r = KVMF_TDP_MMIO;
		goto out_unlock_srcu;
	}

	r = tdp_get_host_page(kvmf_memslot_gfn_to_hva(slot, gfn), write, slot_writable,
			      &page, &writable);
	if (r)
		goto out_unlock_srcu;

	new = page_to_phys(page) | TDP_P | TDP_US | (writable ? TDP_RW : 0);

	/*
	 * Table pages are allocated outside the lock, and only when the walk
	 * finds a level missing: once the tables exist, a fault allocates none.
	 */
	for (;;) {
		spin_lock(&tdp->lock);
		leaf = tdp_leaf_entry(tdp, gpa, spare, ARRAY_SIZE(spare));
		if (leaf)
			break;
		spin_unlock(&tdp->lock);
		r = tdp_topup_spare(spare, ARRAY_SIZE(spare));
		if (r) {
			put_page(page);
			goto out_unlock_srcu;
		}
	}
	if ((*leaf & TDP_P) && ((*leaf & TDP_RW) || !writable)) {
		/* Another vCPU mapped it first, at least as permissively. */
		put_page(page);
	} else {
		/* Empty, or read-only and now writable (perhaps another page after COW). */
		old = *leaf;
		WRITE_ONCE(*leaf, new);
	}
	spin_unlock(&tdp->lock);
	r = KVMF_TDP_MAPPED;

	/* A vCPU may still read the old page through its TLB until flushed. */
	if (old & TDP_P) {
		tdp_flush_vcpus(vm);
		tdp_release_leaf(old);
	}

out_unlock_srcu:
	srcu_read_unlock(&vm->mem.srcu, idx);
	for (i = 0; i < ARRAY_SIZE(spare); i++)
		if (spare[i])
			free_page((unsigned long)spare[i]);
	return r;
}

/*
 * Makes every vCPU of @vm drop its cached translations before its next guest
 * instruction.  A vCPU in guest mode is sent an IPI, which forces a #VMEXIT,
 * and this waits until it has been taken; every vCPU then flushes on entry
 * because the generation moved.  Pages unmapped before this call may be
 * released after it returns.
 */
static void tdp_flush_vcpus(struct kvmf_vm *vm)
{
	atomic64_inc(&vm->arch.tdp.flush_generation);
	smp_mb__after_atomic();
	kvmf_x86_kick_vcpus(vm);
}

/* Pages unmapped but not yet released: released only after a flush. */
struct tdp_release_batch {
	struct page **pages;
	unsigned int count, capacity;
};

static void tdp_release_batch(struct kvmf_vm *vm, struct tdp_release_batch *b)
{
	unsigned int i;

	if (!b->count)
		return;
	tdp_flush_vcpus(vm);
	for (i = 0; i < b->count; i++)
		put_page(b->pages[i]);
	b->count = 0;
}

/*
 * Clears the leaves of [gfn, gfn + npages) that exist, a batch at a time;
 * tables stay.  A batch's pages are released only once no vCPU can still
 * reach them through its TLB.
 */
static void tdp_unmap_range(struct kvmf_vm *vm, u64 gfn, u64 npages)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;
	struct page *stack_pages[16];
	struct tdp_release_batch b = {
		.pages = (struct page **)__get_free_page(GFP_KERNEL),
		.capacity = PAGE_SIZE / sizeof(struct page *),
	};
	u64 end = gfn + npages;

	if (!b.pages) {
		b.pages = stack_pages;
		b.capacity = ARRAY_SIZE(stack_pages);
	}

	while (gfn < end) {
		spin_lock(&tdp->lock);
		while (gfn < end && b.count < b.capacity) {
			u64 *table = tdp->root, *entry;
			int level;

			for (level = TDP_LEVELS; level > 1; level--) {
				entry = &table[tdp_index(gfn << PAGE_SHIFT, level)];
				if (!(*entry & TDP_P))
					break;
				table = tdp_table_of(*entry);
			}
			if (level > 1) {
				/* No table at @level: skip all it would cover. */
				gfn = (gfn | ((1ull << (9 * (level - 1))) - 1)) + 1;
				continue;
			}
			entry = &table[tdp_index(gfn << PAGE_SHIFT, 1)];
			if (*entry & TDP_P) {
				struct page *page = pfn_to_page((*entry & TDP_PFN_MASK) >> PAGE_SHIFT);

				if (*entry & TDP_RW)
					SetPageDirty(page);
				b.pages[b.count++] = page;
				WRITE_ONCE(*entry, 0);
			}
			gfn++;
		}
		spin_unlock(&tdp->lock);
		tdp_release_batch(vm, &b);
		cond_resched();
	}

	if (b.pages != stack_pages)
		free_page((unsigned long)b.pages);
}

void kvmf_tdp_unmap_slot(struct kvmf_vm *vm, const struct kvmf_memslot *slot)
{
	tdp_unmap_range(vm, slot->base_gfn, slot->npages);
}
