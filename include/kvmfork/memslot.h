/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory slots of one VM: the published set, its SRCU, the MMU
 * notifier invalidations in flight, and KVM_SET_USER_MEMORY_REGION.  The set
 * logic itself is in <kvmfork/memslot_set.h>.
 *
 * Locking:
 *  - Readers (vCPUs faulting in guest memory, ioctls reading guest memory)
 *    take no lock: they hold srcu_read_lock(&mem->srcu), get the set with
 *    kvmf_memslots_get() and may use it and every slot in it until
 *    srcu_read_unlock().  A fault path that installs a nested-page-table
 *    entry from a slot must hold the SRCU read lock from the lookup until
 *    the entry is in place, so that the unmap callback (below) sees it.
 *  - Updates (kvmf_vm_mem_set_region()) are serialised by the caller, which
 *    holds the VM's mutex; it alone may use kvmf_memslots_get_locked().
 *  - mem->inval.lock (raw spinlock) protects struct kvmf_mem_invalidate and
 *    the publication of a new set (see there).  It is the innermost lock:
 *    taken inside the architecture's page-table lock, never around it.
 */
#ifndef KVMFORK_MEMSLOT_H
#define KVMFORK_MEMSLOT_H

#include <linux/bitops.h>
#include <linux/rcupdate.h>
#include <linux/rcuwait.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>

#include <kvmfork/memslot_set.h>

/*
 * The MMU-notifier invalidations of the VMM's address space that are under
 * way (virt/kvm/mmu_notifier.c), as the fault path and slot updates must
 * see them.
 *
 * A guest fault reads @seq before it resolves the host page and, under its
 * page-table lock, asks kvmf_mem_invalidate_retry() before installing the
 * entry: if an invalidation covering the address is between start and end,
 * or one ended since, the page it got may be stale and it retries.
 *
 * Slot updates wait until @active is 0 and publish the new set under
 * @lock, so that an invalidation sees the same slots in its start and end
 * callbacks: both compute from the slots whether the range meets guest
 * memory, and @in_progress stays balanced.
 *
 * Locking: @lock protects every field.  It is a raw spinlock because the
 * notifier takes it in non-blocking mode (the OOM reaper), where even a
 * PREEMPT_RT spinlock_t could sleep; under it nothing but these fields and
 * the slot pointer is touched.
 */
struct kvmf_mem_invalidate {
	raw_spinlock_t lock;
	/* Invalidations between their start and end callbacks. */
	unsigned int active;
	/* Of those, the ones whose range meets a slot ... */
	unsigned int in_progress;
	/* ... and the union of their host ranges, [start, end). */
	unsigned long start, end;
	/* One more whenever an invalidation that met a slot ends. */
	unsigned long seq;
	/* The address space is gone (notifier release): map nothing again. */
	bool released;
	/* The slot update waiting for @active to drop to 0, if any. */
	struct rcuwait update_wait;
};

struct kvmf_vm_mem {
	struct srcu_struct srcu;
	struct kvmf_memslots __rcu *slots;
	/*
	 * The highest guest frame a created or moved slot may cover, else
	 * -EINVAL.  kvmf_vm_mem_init() sets the largest gfn there is; the
	 * architecture lowers it to what its nested paging can map (x86 KVM:
	 * the host's MAXPHYADDR) before the VM fd is handed out.
	 */
	u64 max_gfn;
	struct kvmf_mem_invalidate inval;
};

/* One published change, as kvmf_vm_mem_set_region() reports it. */
struct kvmf_memslot_update {
	enum kvmf_memslot_change change;
	const struct kvmf_memslot *old;	/* NULL for a create */
	const struct kvmf_memslot *new;	/* NULL for a delete */
};

/* Starts with an empty set.  0 or -ENOMEM. */
int kvmf_vm_mem_init(struct kvmf_vm_mem *mem);

/*
 * Frees the set, every slot and their dirty bitmaps.  No reader may remain
 * and no callback is made: the architecture tears its nested page tables
 * down as a whole.
 */
void kvmf_vm_mem_destroy(struct kvmf_vm_mem *mem);

/*
 * KVM_SET_USER_MEMORY_REGION, with @r already copied from userspace.  The
 * caller holds the mutex that serialises updates.  A slot that starts
 * logging dirty pages gets a bitmap with every page's bit set when
 * @dirty_initially_set (KVM_DIRTY_LOG_INITIALLY_SET), else clear.
 *
 * Returns 0, -EINVAL, -EEXIST, -ENOMEM, or -EINTR when a fatal signal
 * arrived while waiting for MMU-notifier invalidations to finish; on error
 * nothing has changed.
 *
 * Once the new set is published and an SRCU grace period has passed (no
 * reader can see the old slot any more), @commit(@opaque, update) is
 * called, so that the architecture can drop its mappings of a deleted or
 * moved slot's old range, or write-protect a slot that starts logging;
 * then the old slot (and a bitmap nobody uses any more) is freed.
 * @commit is called with the caller's mutex held and may sleep.
 */
long kvmf_vm_mem_set_region(struct kvmf_vm_mem *mem,
			    const struct kvm_userspace_memory_region *r,
			    bool dirty_initially_set,
			    void (*commit)(void *opaque,
					   const struct kvmf_memslot_update *u),
			    void *opaque);

/* The current set, for a reader inside srcu_read_lock(&mem->srcu). */
static inline struct kvmf_memslots *kvmf_memslots_get(struct kvmf_vm_mem *mem)
{
	return srcu_dereference(mem->slots, &mem->srcu);
}

/*
 * The current set, for the holder of the mutex that serialises updates: it
 * cannot change under the caller, SRCU or not.
 */
static inline struct kvmf_memslots *
kvmf_memslots_get_locked(struct kvmf_vm_mem *mem)
{
	return rcu_dereference_protected(mem->slots, true);
}

/*
 * The invalidation sequence, read by a fault before it resolves the host
 * page.  Acquire: the host page tables it then walks are at least as new
 * as the invalidations this count includes.
 */
static inline unsigned long kvmf_mem_invalidate_seq(struct kvmf_vm_mem *mem)
{
	return smp_load_acquire(&mem->inval.seq);
}

/*
 * Whether a fault that read @seq and then resolved the page at @hva must
 * throw it away and retry: an invalidation covering @hva is under way, one
 * ended since @seq was read, or the address space is gone.  Called with
 * the lock the architecture's unmap path takes, right before installing the
 * mapping, so that an invalidation either sees the new entry and removes
 * it, or is seen here.
 */
static inline bool kvmf_mem_invalidate_retry(struct kvmf_vm_mem *mem, unsigned long hva,
					     unsigned long seq)
{
	struct kvmf_mem_invalidate *inv = &mem->inval;
	bool retry;

	raw_spin_lock(&inv->lock);
	retry = inv->released || inv->seq != seq ||
		(inv->in_progress && hva >= inv->start && hva < inv->end);
	raw_spin_unlock(&inv->lock);
	return retry;
}

/* Bytes of the dirty bitmap of a slot of @npages pages (whole longs). */
static inline size_t kvmf_dirty_bitmap_bytes(u64 npages)
{
	return BITS_TO_LONGS(npages) * sizeof(unsigned long);
}

/*
 * Records a write to @gfn of @slot if the slot logs dirty pages.  Lock-free
 * (atomic): faults of several vCPUs and the kernel's own writes to guest
 * memory may set bits while KVM_GET_DIRTY_LOG collects them.  A kernel
 * write marks after writing, with a barrier in between, so that a
 * collector that takes the bit also sees the data (hence no test_bit()
 * shortcut, which would skip the barrier).
 */
static inline void kvmf_memslot_mark_dirty(const struct kvmf_memslot *slot, u64 gfn)
{
	if (slot->dirty_bitmap) {
		smp_mb__before_atomic();
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
	}
}

#endif /* KVMFORK_MEMSLOT_H */
