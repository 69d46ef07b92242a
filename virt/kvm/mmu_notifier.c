// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU notifier: guest memory follows the VMM's address space.
 *
 * Guest mappings are built from the VMM's page tables (mm/host_mm.c), and
 * they hold no page references: whenever the host is about to change or
 * free the pages of a range (munmap, mremap, madvise, mprotect, fork's
 * COW, THP splits, migration, swap, KSM, the OOM reaper) the kernel calls
 * invalidate_range_start(), which removes every guest mapping of the range
 * before it returns.  A guest fault that raced with the change notices it
 * through struct kvmf_mem_invalidate and retries (<kvmfork/memslot.h>).
 *
 * The core keeps the bookkeeping and translates host ranges to guest
 * frames through the slots; the architecture removes mappings and flushes
 * TLBs through kvmf_arch_ops.
 *
 * Non-blocking calls.  The OOM reaper, and process_mrelease(), call
 * invalidate_range_start() in non-blocking mode (no sleeping).  Everything
 * done here is non-sleeping in both modes: the bookkeeping lock is a raw
 * spinlock, the slots are read under SRCU (whose read side never sleeps),
 * and the architecture unmaps under its own raw spinlock and flushes with
 * IPIs it spins on.  The callback therefore never needs the -EAGAIN the
 * notifier contract allows, and must not return it anyway: the core
 * kernel WARNs when a notifier that also has invalidate_range_end() fails
 * its start (it calls the end of every notifier even after a failed
 * start), and this one needs its end to keep the counts.
 *
 * Locks, outermost first: mem.srcu (read), the architecture's page-table
 * lock, mem.inval.lock.  The notifier callbacks themselves run under the
 * core kernel's notifier SRCU; mmu_notifier_unregister() waits for them,
 * which is what lets the VM be freed afterwards.
 */
#include <linux/mmu_notifier.h>
#include <linux/srcu.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/host_mm.h>
#include <kvmfork/kvmf_host.h>

static struct kvmf_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvmf_vm, mmu_notifier);
}

/*
 * Whether any slot of @set is backed by host addresses [start, end).  A
 * linear walk: VMMs use a few dozen slots, and the sets are sorted by
 * guest address, not host address.
 */
static bool kvmf_mn_meets_slot(const struct kvmf_memslots *set, unsigned long start,
			       unsigned long end)
{
	struct kvmf_memslot *const *s = kvmf_memslots_by_gfn(set);
	u64 gfn, npages;
	u32 i;

	for (i = 0; i < set->nr; i++)
		if (kvmf_memslot_hva_range(s[i], start, end, &gfn, &npages))
			return true;
	return false;
}

static void kvmf_mn_unmap(struct kvmf_vm *vm, const struct kvmf_memslots *set,
			  unsigned long start, unsigned long end, bool may_block)
{
	struct kvmf_memslot *const *s = kvmf_memslots_by_gfn(set);
	u64 gfn, npages;
	u32 i;

	for (i = 0; i < set->nr; i++)
		if (kvmf_memslot_hva_range(s[i], start, end, &gfn, &npages))
			kvmf_arch_ops.mmu_unmap_range(vm, gfn, npages, may_block);
}

static int kvmf_mn_invalidate_range_start(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	struct kvmf_vm *vm = mn_to_vm(mn);
	struct kvmf_mem_invalidate *inv = &vm->mem.inval;
	const struct kvmf_memslots *set;
	int idx;

	/* Counted first: from here on the slots cannot change until our end. */
	raw_spin_lock(&inv->lock);
	inv->active++;
	raw_spin_unlock(&inv->lock);

	idx = srcu_read_lock(&vm->mem.srcu);
	set = kvmf_memslots_get(&vm->mem);
	if (kvmf_mn_meets_slot(set, range->start, range->end)) {
		/*
		 * Faults must see the range as in progress before the unmap
		 * looks at their entries: a fault that installs one after the
		 * unmap passed retries instead (kvmf_mem_invalidate_retry()).
		 */
		raw_spin_lock(&inv->lock);
		if (!inv->in_progress++) {
			inv->start = range->start;
			inv->end = range->end;
		} else {
			inv->start = min(inv->start, range->start);
			inv->end = max(inv->end, range->end);
		}
		raw_spin_unlock(&inv->lock);

		kvmf_mn_unmap(vm, set, range->start, range->end,
			      mmu_notifier_range_blockable(range));
	}
	srcu_read_unlock(&vm->mem.srcu, idx);
	return 0;
}

static void kvmf_mn_invalidate_range_end(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct kvmf_vm *vm = mn_to_vm(mn);
	struct kvmf_mem_invalidate *inv = &vm->mem.inval;
	bool met, idle;
	int idx;

	/* The same set as in our start: updates wait for active == 0. */
	idx = srcu_read_lock(&vm->mem.srcu);
	met = kvmf_mn_meets_slot(kvmf_memslots_get(&vm->mem), range->start, range->end);
	srcu_read_unlock(&vm->mem.srcu, idx);

	raw_spin_lock(&inv->lock);
	if (met) {
		/*
		 * The host's page tables are final for this range: a fault
		 * that read the sequence before now must not trust its page.
		 * Release pairs with kvmf_mem_invalidate_seq().
		 */
		smp_store_release(&inv->seq, inv->seq + 1);
		inv->in_progress--;
	}
	idle = !--inv->active;
	raw_spin_unlock(&inv->lock);

	/* Lock-free and non-sleeping: fine in non-blocking mode too. */
	if (idle)
		rcuwait_wake_up(&inv->update_wait);
}

/*
 * The address space is going away (exit_mmap), or the notifier is being
 * unregistered at VM destruction: drop every mapping, and make sure no
 * fault maps anything again.
 */
static void kvmf_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct kvmf_vm *vm = mn_to_vm(mn);
	struct kvmf_mem_invalidate *inv = &vm->mem.inval;
	const struct kvmf_memslots *set;
	int idx;

	raw_spin_lock(&inv->lock);
	inv->released = true;
	raw_spin_unlock(&inv->lock);

	idx = srcu_read_lock(&vm->mem.srcu);
	set = kvmf_memslots_get(&vm->mem);
	kvmf_mn_unmap(vm, set, 0, ULONG_MAX, true);
	srcu_read_unlock(&vm->mem.srcu, idx);
}

static int kvmf_mn_age(struct mmu_notifier *mn, unsigned long start, unsigned long end,
		       enum kvmf_age_op op)
{
	struct kvmf_vm *vm = mn_to_vm(mn);
	const struct kvmf_memslots *set;
	struct kvmf_memslot *const *s;
	bool young = false;
	u64 gfn, npages;
	int idx;
	u32 i;

	idx = srcu_read_lock(&vm->mem.srcu);
	set = kvmf_memslots_get(&vm->mem);
	s = kvmf_memslots_by_gfn(set);
	for (i = 0; i < set->nr; i++) {
		if (!kvmf_memslot_hva_range(s[i], start, end, &gfn, &npages))
			continue;
		/* Every range is visited: clearing must not stop at the first young one. */
		if (kvmf_arch_ops.mmu_age_range(vm, gfn, npages, op))
			young = true;
	}
	srcu_read_unlock(&vm->mem.srcu, idx);
	return young;
}

static int kvmf_mn_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm,
				     unsigned long start, unsigned long end)
{
	return kvmf_mn_age(mn, start, end, KVMF_AGE_CLEAR_FLUSH);
}

static int kvmf_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long start, unsigned long end)
{
	return kvmf_mn_age(mn, start, end, KVMF_AGE_CLEAR);
}

static int kvmf_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long address)
{
	return kvmf_mn_age(mn, address, address + 1, KVMF_AGE_TEST);
}

/*
 * No change_pte: KSM, its only caller, brackets it with
 * invalidate_range_start() and end(), which already removed the mapping;
 * the guest's next access faults the new page in.
 */
static const struct mmu_notifier_ops kvmf_mn_ops = {
	.invalidate_range_start	= kvmf_mn_invalidate_range_start,
	.invalidate_range_end	= kvmf_mn_invalidate_range_end,
	.release		= kvmf_mn_release,
	.clear_flush_young	= kvmf_mn_clear_flush_young,
	.clear_young		= kvmf_mn_clear_young,
	.test_young		= kvmf_mn_test_young,
};

int kvmf_mmu_notifier_register(struct kvmf_vm *vm)
{
	vm->mmu_notifier.ops = &kvmf_mn_ops;
	return kvmf_host_mmu_notifier_register(&vm->mmu_notifier, vm->mm);
}

/*
 * At VM destruction, with no vCPU left running.  Calls release() if the
 * address space still exists, and waits until no callback runs any more.
 */
void kvmf_mmu_notifier_unregister(struct kvmf_vm *vm)
{
	mmu_notifier_unregister(&vm->mmu_notifier, vm->mm);
}
