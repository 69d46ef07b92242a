// SPDX-License-Identifier: GPL-2.0
/*
 * The two-dimensional paging MMU.  The table has the x86-64 4-level format
 * that AMD nested paging walks (APM: "Nested Paging"): every entry needs the
 * U/S bit, since nested walks are user accesses.  Leaves map 4 KiB, or
 * 2 MiB where the host backs the whole 2 MiB frame with one huge page
 * (THP or hugetlbfs) and the slot does not log dirty pages.
 *
 * Leaves hold no reference on the pages they map.  A fault takes one while
 * it resolves the page (mm/host_mm.c) and drops it once the leaf is in
 * place; from then on the core's MMU notifier (virt/kvm/mmu_notifier.c)
 * calls kvmf_tdp_unmap_range() before the host changes or frees the page,
 * and that removes the leaf and flushes every vCPU's TLB before returning.
 * A fault that raced with such a change sees it at install time through
 * the invalidation sequence (kvmf_mem_invalidate_retry()) and retries.
 *
 * Bits in leaves beyond the hardware's: TDP_HOST_W (an available bit)
 * records that the host page was resolved for writing, so that a write
 * fault on a read-only leaf (a page written for the first time since dirty
 * logging protected it) can grant write access without asking the host
 * again: the leaf would not be there any more if the host had taken write
 * access away.  The accessed bit is set on install and cleared by page
 * aging; the processor sets it again on the next access.
 *
 * Dirty logging keeps one invariant: a leaf of a logging slot is writable
 * only while the page's dirty bit is set.  Faults set the bit before they
 * grant write access, under the lock; collectors clear bits, then remove
 * write access under the lock, then flush (virt/kvm/dirty_log.c).  Logging
 * slots are mapped with 4 KiB leaves only.
 *
 * Locking: tdp->lock (a raw spinlock; MMU notifiers take it in non-blocking
 * mode) protects all entries.  Faults resolve the host page and allocate
 * table pages before taking it.  A fault holds the memslot SRCU read lock
 * from the slot lookup until its leaf is installed, so that a slot removal,
 * which waits for SRCU readers before unmapping, never misses a leaf.
 * Inside tdp->lock only mem.inval.lock is taken (to check for concurrent
 * invalidations).  Vendor code reads entries only through the hardware.
 */
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/srcu.h>
#include <asm/io.h>

#include <kvmfork/host_mm.h>
#include <kvmfork/kvmf_host.h>

#include "tdp_mmu.h"
#include "x86.h"

#define TDP_P		BIT_ULL(0)
#define TDP_RW_BIT	1
#define TDP_RW		BIT_ULL(TDP_RW_BIT)
#define TDP_US		BIT_ULL(2)
#define TDP_A_BIT	5
#define TDP_A		BIT_ULL(TDP_A_BIT)
#define TDP_PS		BIT_ULL(7)	/* at level 2: a 2 MiB leaf */
#define TDP_HOST_W_BIT	9
#define TDP_HOST_W	BIT_ULL(TDP_HOST_W_BIT)	/* available to software: see the top */
#define TDP_PFN_MASK	GENMASK_ULL(51, 12)
#define TDP_TABLE_FLAGS	(TDP_P | TDP_RW | TDP_US)
#define TDP_LEVELS	4
#define TDP_ENTRIES	512
/* Frames of a 2 MiB leaf. */
#define TDP_HUGE_PAGES	512ull
/* Entries a range walk visits before it lets others have the lock. */
#define TDP_WALK_BATCH	4096

/* Index of frame @gfn in a table at @level (4 = the root, 1 = a leaf table). */
static unsigned int tdp_index(u64 gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (TDP_ENTRIES - 1);
}

/* The first frame past the part of the address space one entry at @level maps. */
static u64 tdp_next_entry_gfn(u64 gfn, int level)
{
	return (gfn | ((1ull << (9 * (level - 1))) - 1)) + 1;
}

static u64 *tdp_table_of(u64 entry)
{
	return phys_to_virt(entry & TDP_PFN_MASK);
}

/* Table pages a fault may need, allocated before taking the lock. */
struct tdp_spares {
	u64 *page[TDP_LEVELS - 1];
};

static u64 *tdp_spare_take(struct tdp_spares *sp)
{
	unsigned int i;
	u64 *page;

	for (i = 0; i < ARRAY_SIZE(sp->page); i++) {
		if (sp->page[i]) {
			page = sp->page[i];
			sp->page[i] = NULL;
			return page;
		}
	}
	return NULL;
}

static int tdp_spares_topup(struct tdp_spares *sp)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sp->page); i++) {
		if (!sp->page[i])
			sp->page[i] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!sp->page[i])
			return -ENOMEM;
	}
	return 0;
}

static void tdp_spares_free(struct tdp_spares *sp)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sp->page); i++)
		if (sp->page[i])
			free_page((unsigned long)sp->page[i]);
}

int kvmf_tdp_init(struct kvmf_vm *vm)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;

	raw_spin_lock_init(&tdp->lock);
	atomic64_set(&tdp->flush_generation, 0);
	tdp->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return tdp->root ? 0 : -ENOMEM;
}

phys_addr_t kvmf_tdp_root_pa(struct kvmf_vm *vm)
{
	return virt_to_phys(vm->arch.tdp.root);
}

/* Frees the tables under @table; leaves own nothing. */
static void tdp_free_table(u64 *table, int level)
{
	unsigned int i;

	for (i = 0; level > 1 && i < TDP_ENTRIES; i++)
		if ((table[i] & TDP_P) && !(level == 2 && (table[i] & TDP_PS)))
			tdp_free_table(tdp_table_of(table[i]), level - 1);
	free_page((unsigned long)table);
}

/* At VM destruction, after the MMU notifier's release dropped every leaf. */
void kvmf_tdp_destroy(struct kvmf_vm *vm)
{
	if (vm->arch.tdp.root)
		tdp_free_table(vm->arch.tdp.root, TDP_LEVELS);
	vm->arch.tdp.root = NULL;
}

/*
 * Makes every vCPU of @vm drop its cached translations before its next guest
 * instruction; mappings removed before the call cannot be used once it
 * returns.  Each vCPU takes a fresh ASID on its next entry because the
 * generation moved (svm_pick_asid()); one in guest mode now is forced out
 * by kvmf_x86_kick_vcpus(), which waits until it has left.
 *
 * May be called with tdp->lock not held, from a vCPU's fault, an ioctl, or
 * an MMU notifier in either mode: the kick spins for IPIs, never sleeps.
 * Why that cannot deadlock is written at kvmf_x86_kick_vcpus().
 */
static void tdp_flush_vcpus(struct kvmf_vm *vm)
{
	atomic64_inc(&vm->arch.tdp.flush_generation);
	/* Pairs with the barrier between publishing guest_cpu and reading the generation. */
	smp_mb__after_atomic();
	kvmf_x86_kick_vcpus(vm);
}

void kvmf_tdp_flush(struct kvmf_vm *vm)
{
	tdp_flush_vcpus(vm);
}

/*
 * The leaf that maps @gfn, present or not: a 4 KiB one (*@level 1) or a
 * 2 MiB one (*@level 2); NULL when no table reaches that far.
 */
static u64 *tdp_lookup(struct kvmf_tdp *tdp, u64 gfn, int *level)
{
	u64 *table = tdp->root;
	int l;

	lockdep_assert_held(&tdp->lock);
	for (l = TDP_LEVELS; l > 1; l--) {
		u64 *entry = &table[tdp_index(gfn, l)];

		if (l == 2 && (*entry & TDP_PS)) {
			*level = 2;
			return entry;
		}
		if (!(*entry & TDP_P))
			return NULL;
		table = tdp_table_of(*entry);
	}
	*level = 1;
	return &table[tdp_index(gfn, 1)];
}

/* The level-2 entry of @gfn, creating the tables above it; NULL if out of spares. */
static u64 *tdp_pde(struct kvmf_tdp *tdp, u64 gfn, struct tdp_spares *sp)
{
	u64 *table = tdp->root;
	int l;

	for (l = TDP_LEVELS; l > 2; l--) {
		u64 *entry = &table[tdp_index(gfn, l)];

		if (!(*entry & TDP_P)) {
			u64 *page = tdp_spare_take(sp);

			if (!page)
				return NULL;
			/* Zeroed long before; stores reach other CPUs in order. */
			WRITE_ONCE(*entry, virt_to_phys(page) | TDP_TABLE_FLAGS);
		}
		table = tdp_table_of(*entry);
	}
	return &table[tdp_index(gfn, 2)];
}

/*
 * Puts @new into leaf @entry.  If the same frame is mapped already, only
 * rights are added, atomically, so that accessed bits the processor sets
 * meanwhile survive.  Replacing another mapping needs a flush: *@flush.
 */
static void tdp_set_leaf(u64 *entry, u64 new, bool *flush)
{
	u64 old = READ_ONCE(*entry);

	if ((old & TDP_P) && !((old ^ new) & (TDP_PFN_MASK | TDP_PS))) {
		if ((new & TDP_HOST_W) && !(old & TDP_HOST_W))
			set_bit(TDP_HOST_W_BIT, (unsigned long *)entry);
		if ((new & TDP_RW) && !(old & TDP_RW))
			set_bit(TDP_RW_BIT, (unsigned long *)entry);
		return;
	}
	WRITE_ONCE(*entry, new);
	/* Not expected: the notifier removes a leaf before its page changes. */
	if (old & TDP_P)
		*flush = true;
}

/* What kvmf_tdp_fault() found and decided, for tdp_map(). */
struct tdp_fault {
	u64 gfn;
	u64 pfn;
	bool huge;		/* map the whole 2 MiB frame */
	bool writable;		/* map with write access */
	bool host_writable;	/* TDP_HOST_W */
};

/*
 * Installs the leaf of @f, with tdp->lock held.  Returns 0, or -EAGAIN when
 * a table page is needed and @sp has none left.  Sets *@flush if a mapping
 * was removed on the way.
 */
static int tdp_map(struct kvmf_tdp *tdp, const struct tdp_fault *f, struct tdp_spares *sp,
		   bool *flush)
{
	u64 flags = TDP_P | TDP_US | TDP_A | (f->writable ? TDP_RW : 0) |
		    (f->host_writable ? TDP_HOST_W : 0);
	u64 *pde, *table;

	pde = tdp_pde(tdp, f->gfn, sp);
	if (!pde)
		return -EAGAIN;

	if (f->huge) {
		if (!(*pde & TDP_P) || (*pde & TDP_PS)) {
			tdp_set_leaf(pde, ((f->pfn << PAGE_SHIFT) & ~(u64)(SZ_2M - 1)) | flags | TDP_PS,
				     flush);
			return 0;
		}
		/* 4 KiB leaves were here first: add one more, keep the table. */
	}

	if (*pde & TDP_PS) {
		/*
		 * A 2 MiB leaf where 4 KiB ones are wanted now: the slot
		 * started logging since.  Drop it; the other frames refault.
		 */
		WRITE_ONCE(*pde, 0);
		*flush = true;
	}
	if (!(*pde & TDP_P)) {
		u64 *page = tdp_spare_take(sp);

		if (!page)
			return -EAGAIN;
		WRITE_ONCE(*pde, virt_to_phys(page) | TDP_TABLE_FLAGS);
	}
	table = tdp_table_of(*pde);
	tdp_set_leaf(&table[tdp_index(f->gfn, 1)], (f->pfn << PAGE_SHIFT) | flags, flush);
	return 0;
}

/*
 * Resolves a fault from the leaf already there, if it can: another vCPU
 * mapped the frame first, or a write to a read-only leaf of a page the
 * host lets be written (first write since dirty logging protected it).
 */
static bool tdp_fault_fast(struct kvmf_tdp *tdp, const struct kvmf_memslot *slot, u64 gfn,
			   bool write)
{
	bool done = false;
	int level;
	u64 *entry;

	raw_spin_lock(&tdp->lock);
	entry = tdp_lookup(tdp, gfn, &level);
	if (entry && (*entry & TDP_P)) {
		if (!write || (*entry & TDP_RW)) {
			done = true;
		} else if ((*entry & TDP_HOST_W) && !(level == 2 && slot->dirty_bitmap)) {
			/* Logged before writable: collectors may clear the bit only then. */
			kvmf_memslot_mark_dirty(slot, gfn);
			set_bit(TDP_RW_BIT, (unsigned long *)entry);
			done = true;
		}
	}
	raw_spin_unlock(&tdp->lock);
	return done;
}

/*
 * Whether the fault at @gfn may map the whole 2 MiB frame around it: the
 * host maps it with one huge page at least that big, the slot does not log
 * dirty pages, the guest and host 2 MiB frames line up, and the frame lies
 * wholly inside the slot.
 */
static bool tdp_huge_ok(const struct kvmf_memslot *slot, u64 gfn, const struct kvmf_host_page *hp)
{
	u64 first = gfn & ~(TDP_HUGE_PAGES - 1);

	if (hp->map_shift < PMD_SHIFT || slot->dirty_bitmap)
		return false;
	/* A writable 4 KiB lookup inside a read-only huge mapping: it is changing. */
	if (hp->writable && !hp->map_writable)
		return false;
	if ((slot->userspace_addr - (slot->base_gfn << PAGE_SHIFT)) & (SZ_2M - 1))
		return false;
	return slot->npages >= TDP_HUGE_PAGES && first >= slot->base_gfn &&
	       first - slot->base_gfn <= slot->npages - TDP_HUGE_PAGES;
}

/* Errors of the host page lookup, as KVM_RUN reports them. */
static int tdp_host_error(int r)
{
	/* A fatal signal: the thread is dying, KVM_RUN returns -EINTR. */
	if (r == -EINTR)
		return r;
	/* Anything else (no mapping, no access, no memory, poison): -EFAULT, like KVM. */
	return -EFAULT;
}

int kvmf_tdp_fault(struct kvmf_vm *vm, u64 gpa, bool write)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;
	struct tdp_fault f = { .gfn = gpa >> PAGE_SHIFT };
	const struct kvmf_memslot *slot;
	struct tdp_spares sp = {};
	struct kvmf_host_page hp;
	bool slot_writable, flush = false;
	unsigned long hva, seq;
	int idx, r;

	idx = srcu_read_lock(&vm->mem.srcu);
	slot = kvmf_memslot_find_gfn(kvmf_memslots_get(&vm->mem), f.gfn);
	slot_writable = slot && !(slot->flags & KVM_MEM_READONLY);
	if (!slot || (write && !slot_writable)) {
		r = KVMF_TDP_MMIO;
		goto out_unlock_srcu;
	}

	if (tdp_fault_fast(tdp, slot, f.gfn, write)) {
		r = KVMF_TDP_MAPPED;
		goto out_unlock_srcu;
	}

	/* Read before the host page tables are: see kvmf_mem_invalidate_retry(). */
	hva = kvmf_memslot_gfn_to_hva(slot, f.gfn);
	seq = kvmf_mem_invalidate_seq(&vm->mem);
	r = kvmf_host_page_get(vm->mm, hva, write, slot_writable, &hp);
	if (r) {
		r = tdp_host_error(r);
		goto out_unlock_srcu;
	}
	f.pfn = page_to_pfn(hp.page);
	f.huge = tdp_huge_ok(slot, f.gfn, &hp);
	f.host_writable = hp.writable;

	for (;;) {
		raw_spin_lock(&tdp->lock);
		if (kvmf_mem_invalidate_retry(&vm->mem, hva, seq)) {
			raw_spin_unlock(&tdp->lock);
			/* After the notifier's release nothing may be mapped again. */
			r = READ_ONCE(vm->mem.inval.released) ? -EFAULT : KVMF_TDP_RETRY;
			break;
		}
		/*
		 * A logging slot maps a page writable only if its dirty bit
		 * is set: set it for a write, or find it set (a page not
		 * collected since).  Under the lock, like the collectors.
		 */
		f.writable = hp.writable &&
			     (!slot->dirty_bitmap || write ||
			      test_bit(f.gfn - slot->base_gfn, slot->dirty_bitmap));
		if (f.writable && write)
			kvmf_memslot_mark_dirty(slot, f.gfn);
		r = tdp_map(tdp, &f, &sp, &flush);
		raw_spin_unlock(&tdp->lock);
		if (r != -EAGAIN) {
			r = KVMF_TDP_MAPPED;
			break;
		}
		r = tdp_spares_topup(&sp);
		if (r)
			break;
	}

	if (flush)
		tdp_flush_vcpus(vm);
	kvmf_host_page_put(&hp);
out_unlock_srcu:
	srcu_read_unlock(&vm->mem.srcu, idx);
	tdp_spares_free(&sp);
	return r;
}

/*
 * The host physical address and write access of the leaf that maps @gpa,
 * and the flush generation it was read in: a copy made of it (the shadow
 * of a nested guest's nested page table) is good until the generation
 * moves.  -ENOENT if no leaf maps @gpa now.
 */
int kvmf_tdp_leaf(struct kvmf_vm *vm, u64 gpa, u64 *hpa, bool *writable, u64 *generation)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;
	int level, r = -ENOENT;
	u64 *entry;

	raw_spin_lock(&tdp->lock);
	entry = tdp_lookup(tdp, gpa >> PAGE_SHIFT, &level);
	if (entry && (*entry & TDP_P)) {
		u64 page_mask = level == 2 ? SZ_2M - 1 : PAGE_SIZE - 1;

		*hpa = ((*entry & TDP_PFN_MASK & ~page_mask) | (gpa & page_mask)) & PAGE_MASK;
		*writable = *entry & TDP_RW;
		*generation = atomic64_read(&tdp->flush_generation);
		r = 0;
	}
	raw_spin_unlock(&tdp->lock);
	return r;
}

/* What a range walk does to each present leaf. */
enum tdp_walk_op {
	TDP_WALK_UNMAP,		/* remove it */
	TDP_WALK_AGE_TEST,	/* note whether it was accessed */
	TDP_WALK_AGE_CLEAR,	/* the same, and clear the accessed bit */
	TDP_WALK_LOG_PROTECT,	/* dirty logging starts: 4 KiB read-only leaves only */
	TDP_WALK_LOG_SPLIT,	/* dirty logging starts, all pages dirty: 4 KiB leaves only */
};

struct tdp_walk {
	enum tdp_walk_op op;
	bool changed;		/* a leaf was removed or lost write access: flush */
	bool young;		/* a leaf had its accessed bit set */
};

static void tdp_walk_leaf(struct tdp_walk *w, u64 *entry, int level)
{
	switch (w->op) {
	case TDP_WALK_UNMAP:
		WRITE_ONCE(*entry, 0);
		w->changed = true;
		break;
	case TDP_WALK_AGE_TEST:
		if (*entry & TDP_A)
			w->young = true;
		break;
	case TDP_WALK_AGE_CLEAR:
		if (test_and_clear_bit(TDP_A_BIT, (unsigned long *)entry))
			w->young = true;
		break;
	case TDP_WALK_LOG_PROTECT:
	case TDP_WALK_LOG_SPLIT:
		if (level == 2) {
			WRITE_ONCE(*entry, 0);
			w->changed = true;
		} else if (w->op == TDP_WALK_LOG_PROTECT && (*entry & TDP_RW)) {
			clear_bit(TDP_RW_BIT, (unsigned long *)entry);
			w->changed = true;
		}
		break;
	}
}

/*
 * Applies @w to every present leaf mapping a frame of [gfn, end); a 2 MiB
 * leaf that only partly overlaps counts as a whole.  Missing tables are
 * skipped at the level they are missing.  Every TDP_WALK_BATCH entries the
 * lock is let go for a moment, and with @may_block the CPU too.  A leaf a
 * fault installs meanwhile is harmless to every caller: invalidations mark
 * their range in progress first (no fault maps there), a deleted or moved
 * slot's old range has no slot any more, and a leaf made writable in a
 * logging slot has its dirty bit set.
 */
static void tdp_walk_range(struct kvmf_tdp *tdp, u64 gfn, u64 end, struct tdp_walk *w,
			   bool may_block)
{
	unsigned int work = 0;

	raw_spin_lock(&tdp->lock);
	while (gfn < end) {
		u64 *table = tdp->root, *entry = NULL, next;
		int level;

		for (level = TDP_LEVELS; level > 1; level--) {
			entry = &table[tdp_index(gfn, level)];
			if (!(*entry & TDP_P) || (level == 2 && (*entry & TDP_PS)))
				break;
			table = tdp_table_of(*entry);
		}
		if (level > 1) {
			/* Nothing mapped below @entry, or it is a 2 MiB leaf. */
			if (*entry & TDP_P)
				tdp_walk_leaf(w, entry, level);
			gfn = tdp_next_entry_gfn(gfn, level);
			work++;
		} else {
			next = min(end, tdp_next_entry_gfn(gfn, 2));
			for (; gfn < next; gfn++) {
				entry = &table[tdp_index(gfn, 1)];
				if (*entry & TDP_P)
					tdp_walk_leaf(w, entry, 1);
				work++;
			}
		}
		if (work >= TDP_WALK_BATCH && gfn < end) {
			work = 0;
			raw_spin_unlock(&tdp->lock);
			if (may_block)
				cond_resched();
			else
				cpu_relax();
			raw_spin_lock(&tdp->lock);
		}
	}
	raw_spin_unlock(&tdp->lock);
}

/*
 * Removes every leaf of [gfn, gfn + npages), then flushes: the pages they
 * mapped are unreachable when this returns.  Tables stay.  Never sleeps
 * unless @may_block.
 */
void kvmf_tdp_unmap_range(struct kvmf_vm *vm, u64 gfn, u64 npages, bool may_block)
{
	struct tdp_walk w = { .op = TDP_WALK_UNMAP };

	tdp_walk_range(&vm->arch.tdp, gfn, gfn + npages, &w, may_block);
	if (w.changed)
		tdp_flush_vcpus(vm);
}

/*
 * Page aging.  Called from the host's rmap walks with a page-table lock
 * held, so it must not sleep, and it does not wait for IPIs either: for
 * KVMF_AGE_CLEAR_FLUSH it only moves the flush generation, so that each
 * vCPU drops its TLB at its next entry.  A vCPU running meanwhile leaves
 * the guest at the latest at the host's next timer tick, and until then
 * only the accessed bits are stale, which aging tolerates; no page is
 * freed on the strength of this.
 */
bool kvmf_tdp_age_range(struct kvmf_vm *vm, u64 gfn, u64 npages, enum kvmf_age_op op)
{
	struct tdp_walk w = { .op = op == KVMF_AGE_TEST ? TDP_WALK_AGE_TEST : TDP_WALK_AGE_CLEAR };

	tdp_walk_range(&vm->arch.tdp, gfn, gfn + npages, &w, false);
	if (w.young && op == KVMF_AGE_CLEAR_FLUSH)
		atomic64_inc(&vm->arch.tdp.flush_generation);
	return w.young;
}

/*
 * Dirty logging collects @gfn + i for each bit i of @mask: their leaves lose
 * write access.  Returns whether any did; the caller flushes.
 */
bool kvmf_tdp_write_protect(struct kvmf_vm *vm, u64 gfn, u64 mask)
{
	struct kvmf_tdp *tdp = &vm->arch.tdp;
	unsigned long bits = mask;
	bool changed = false;
	unsigned int i;

	raw_spin_lock(&tdp->lock);
	for_each_set_bit(i, &bits, BITS_PER_LONG) {
		int level;
		u64 *entry = tdp_lookup(tdp, gfn + i, &level);

		if (!entry || !(*entry & TDP_P))
			continue;
		if (level == 2) {
			/* Not expected in a logging slot; a 4 KiB leaf will replace it. */
			WRITE_ONCE(*entry, 0);
			changed = true;
		} else if (*entry & TDP_RW) {
			clear_bit(TDP_RW_BIT, (unsigned long *)entry);
			changed = true;
		}
	}
	raw_spin_unlock(&tdp->lock);
	return changed;
}

/*
 * A slot of [gfn, gfn + npages) started logging dirty pages: 2 MiB leaves
 * go (faults map 4 KiB from now on) and, with @protect, 4 KiB leaves lose
 * write access.  Always flushes, so that no TLB keeps a mapping of the
 * slot from before, not even one a fault replaced meanwhile.
 */
void kvmf_tdp_log_dirty_enable(struct kvmf_vm *vm, u64 gfn, u64 npages, bool protect)
{
	struct tdp_walk w = { .op = protect ? TDP_WALK_LOG_PROTECT : TDP_WALK_LOG_SPLIT };

	tdp_walk_range(&vm->arch.tdp, gfn, gfn + npages, &w, true);
	tdp_flush_vcpus(vm);
}
