// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging: KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG and
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (Documentation/virt/kvm/api.rst).
 *
 * A slot created or changed with KVM_MEM_LOG_DIRTY_PAGES has a bitmap, one
 * bit per page (virt/kvm/memslot.c).  The architecture keeps the invariant
 * that a guest mapping of a logged page is writable only while the page's
 * bit is set: a write to a clean page faults, and the fault sets the bit
 * before it grants write access.  Kernel writes to guest memory set the
 * bit themselves (kvmf_memslot_mark_dirty()).  Collecting a page therefore
 * means clearing its bit and then taking write access away from its
 * mapping, and the collection is complete once the vCPUs' TLBs are flushed.
 *
 * Without KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, KVM_GET_DIRTY_LOG does both
 * (collect and re-protect); with it, KVM_GET_DIRTY_LOG only reports and
 * KVM_CLEAR_DIRTY_LOG re-protects the pages userspace names, 64 at a time.
 *
 * Layout: userspace sees bit i of the bitmap in byte i / 8, bit i % 8
 * (little endian).  Native bitops on unsigned longs give exactly that on
 * x86, the one architecture that logs dirty pages so far; a big-endian one
 * needs the _le bitops in kvmf_memslot_mark_dirty() and its fault path,
 * and le64_to_cpu() on the masks handed to mmu_write_protect.
 *
 * Locking: the ioctls run with vm->lock held, so the slot and its bitmap
 * cannot go away under them.  Bits are set by faults and kernel writes
 * without any lock (set_bit()) and taken here with atomic exchanges; the
 * architecture write-protects under its page-table lock.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/kvmf_host.h>

/* Bits in one word of the bitmap, as userspace sees it (64, little endian). */
#define KVMF_DIRTY_WORD_BITS	64
static_assert(BITS_PER_LONG == KVMF_DIRTY_WORD_BITS);

/*
 * The logged slot named by the ioctl's @slot field: -EINVAL for an address
 * space or id that cannot exist, -ENOENT for a slot that does not exist or
 * does not log.  kvmfork has one address space, so ids with bits 16-31 set
 * are invalid, as on a KVM without SMM (x86 KVM with SMM answers -ENOENT
 * for address space 1).
 */
static int kvmf_dirty_log_check_id(u32 slot_field)
{
	if (slot_field >> 16 || (slot_field & 0xffff) >= KVMF_USER_MEM_SLOTS)
		return -EINVAL;
	return 0;
}

static struct kvmf_memslot *kvmf_dirty_log_slot(struct kvmf_vm *vm, u32 slot_field)
{
	struct kvmf_memslot *slot;

	lockdep_assert_held(&vm->lock);
	slot = kvmf_memslot_find_id(kvmf_memslots_get_locked(&vm->mem), slot_field & 0xffff);
	return slot && slot->dirty_bitmap ? slot : NULL;
}

/* Clears the bits of @mask in *@word, atomically; returns the bits that were set. */
static unsigned long kvmf_dirty_word_take(unsigned long *word, unsigned long mask)
{
	unsigned long old = READ_ONCE(*word);

	while ((old & mask) && !try_cmpxchg(word, &old, old & ~mask))
		;
	return old & mask;
}

/*
 * Write-protects the pages of @slot whose bits are set in @mask, for the
 * bitmap word at index @word; returns whether a flush is needed.
 */
static bool kvmf_dirty_log_protect_word(struct kvmf_vm *vm, const struct kvmf_memslot *slot,
					u64 word, unsigned long mask)
{
	if (!mask)
		return false;
	return kvmf_arch_ops.mmu_write_protect(vm, slot->base_gfn + word * KVMF_DIRTY_WORD_BITS,
					       mask);
}

/* The mask of the bits of word @word that belong to pages of a slot of @npages. */
static unsigned long kvmf_dirty_word_valid(u64 npages, u64 word)
{
	u64 left = npages - word * KVMF_DIRTY_WORD_BITS;

	return left >= KVMF_DIRTY_WORD_BITS ? ~0ul : (1ul << left) - 1;
}

void kvmf_dirty_log_slot_enabled(struct kvmf_vm *vm, const struct kvmf_memslot *slot)
{
	lockdep_assert_held(&vm->lock);
	/*
	 * KVM_DIRTY_LOG_INITIALLY_SET: every bit is set, so the mappings may
	 * stay writable; KVM_CLEAR_DIRTY_LOG protects them bit by bit.  The
	 * bitmap was made under the same vm->lock hold, with the same flag.
	 */
	kvmf_arch_ops.mmu_log_dirty_enable(vm, slot->base_gfn, slot->npages,
					   !(vm->dirty_log_manual & KVM_DIRTY_LOG_INITIALLY_SET));
}

/*
 * KVM_GET_DIRTY_LOG without manual protection: take every set bit into
 * @buf, write-protect those pages, flush, and only then report.
 */
static bool kvmf_dirty_log_collect(struct kvmf_vm *vm, const struct kvmf_memslot *slot,
				   unsigned long *buf, u64 nwords)
{
	bool flush = false;
	u64 w;

	for (w = 0; w < nwords; w++) {
		buf[w] = READ_ONCE(slot->dirty_bitmap[w]) ? xchg(&slot->dirty_bitmap[w], 0) : 0;
		flush |= kvmf_dirty_log_protect_word(vm, slot, w, buf[w]);
		if (!(w % 512))
			cond_resched();
	}
	return flush;
}

long kvmf_vm_get_dirty_log(struct kvmf_vm *vm, const struct kvm_dirty_log *log)
{
	void __user *ubitmap = log->dirty_bitmap;
	struct kvmf_memslot *slot;
	unsigned long *buf;
	u64 nwords, w;
	size_t bytes;
	long r = 0;

	r = kvmf_dirty_log_check_id(log->slot);
	if (r)
		return r;
	slot = kvmf_dirty_log_slot(vm, log->slot);
	if (!slot)
		return -ENOENT;
	nwords = BITS_TO_LONGS(slot->npages);
	bytes = kvmf_dirty_bitmap_bytes(slot->npages);

	/* Manual protection: a snapshot, nothing cleared (KVM_CLEAR_DIRTY_LOG does that). */
	if (vm->dirty_log_manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		return copy_to_user(ubitmap, slot->dirty_bitmap, bytes) ? -EFAULT : 0;

	buf = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (kvmf_dirty_log_collect(vm, slot, buf, nwords))
		kvmf_arch_ops.mmu_flush(vm);
	if (copy_to_user(ubitmap, buf, bytes)) {
		/*
		 * Userspace will never see what was taken: put it back, so
		 * that the next call reports it (KVM drops it).  The pages
		 * are write-protected, which a set bit allows.
		 */
		for (w = 0; w < nwords; w++)
			if (buf[w])
				atomic_long_or(buf[w], (atomic_long_t *)&slot->dirty_bitmap[w]);
		r = -EFAULT;
	}
	kvfree(buf);
	return r;
}

long kvmf_vm_clear_dirty_log(struct kvmf_vm *vm, const struct kvm_clear_dirty_log *log)
{
	u64 first_word, nwords, w;
	struct kvmf_memslot *slot;
	unsigned long *buf;
	bool flush = false;
	size_t bytes;
	long r;

	/* KVM's order of checks, which decides the errno of a request with several faults. */
	r = kvmf_dirty_log_check_id(log->slot);
	if (r)
		return r;
	if (log->first_page % KVMF_DIRTY_WORD_BITS)
		return -EINVAL;
	slot = kvmf_dirty_log_slot(vm, log->slot);
	if (!slot)
		return -ENOENT;
	r = kvmf_memslot_check_clear_range(slot->npages, log->first_page, log->num_pages);
	if (r || !log->num_pages)
		return r;

	first_word = log->first_page / KVMF_DIRTY_WORD_BITS;
	nwords = BITS_TO_LONGS(log->num_pages);
	bytes = nwords * sizeof(unsigned long);
	buf = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (copy_from_user(buf, log->dirty_bitmap, bytes)) {
		r = -EFAULT;
		goto out_free;
	}

	for (w = 0; w < nwords; w++) {
		u64 word = first_word + w;
		unsigned long mask = buf[w] & kvmf_dirty_word_valid(slot->npages, word);

		/* Only pages that were dirty lost write access since their bit was set. */
		mask = kvmf_dirty_word_take(&slot->dirty_bitmap[word], mask);
		flush |= kvmf_dirty_log_protect_word(vm, slot, word, mask);
		if (!(w % 512))
			cond_resched();
	}
	if (flush)
		kvmf_arch_ops.mmu_flush(vm);
out_free:
	kvfree(buf);
	return r;
}

long kvmf_vm_enable_cap_dirty_log(struct kvmf_vm *vm, const struct kvm_enable_cap *cap)
{
	u64 flags = cap->args[0];

	lockdep_assert_held(&vm->lock);
	if (flags & ~(u64)KVMF_DIRTY_LOG_MANUAL_CAPS)
		return -EINVAL;
	/* INITIALLY_SET only makes sense with manual protection (api.rst). */
	if (flags == KVM_DIRTY_LOG_INITIALLY_SET)
		return -EINVAL;
	vm->dirty_log_manual = flags;
	return 0;
}
