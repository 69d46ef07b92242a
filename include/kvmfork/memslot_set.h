/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory slots: the pure part.  A set of slots is an immutable value;
 * an update builds a new set from the old one plus one change.  Everything
 * here is plain computation on memory the caller provides, with no kernel
 * calls, so that the same file builds in userspace for the unit tests and
 * benchmark in tools/testing/memslot/ (which supply the few kernel headers
 * included below through a shim).  Publishing, SRCU and allocation live in
 * <kvmfork/memslot.h> and virt/kvm/memslot.c.
 *
 * No locks: a set is never written once it has been built.
 */
#ifndef KVMFORK_MEMSLOT_SET_H
#define KVMFORK_MEMSLOT_SET_H

#include <linux/kvm.h>
#include <linux/types.h>
#include <asm/page.h>

/*
 * Slot ids userspace may use: what x86 KVM 6.1 reports for
 * KVM_CAP_NR_MEMSLOTS (SHRT_MAX minus the three slots it keeps for itself).
 */
#define KVMF_USER_MEM_SLOTS	32764

/* The largest slot KVM accepts, in pages. */
#define KVMF_MEM_MAX_NR_PAGES	((1ULL << 31) - 1)

/* KVM_SET_USER_MEMORY_REGION flags accepted on x86. */
#define KVMF_MEM_VALID_FLAGS	(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

/*
 * One slot: guest frames [base_gfn, base_gfn + npages) are backed by host
 * virtual memory starting at userspace_addr.  Never changed once published;
 * a change of flags or place makes a new copy.
 */
struct kvmf_memslot {
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	/*
	 * KVM_MEM_LOG_DIRTY_PAGES: one bit per page of the slot, bit i for
	 * base_gfn + i, set when the guest (or the kernel on its behalf)
	 * writes the page; NULL when the slot does not log.  The pointer is
	 * fixed like the rest of the slot, the bits change with atomic
	 * operations.  A moved slot keeps its bitmap (virt/kvm/memslot.c).
	 */
	unsigned long *dirty_bitmap;
};

/*
 * A set of slots.  @slots holds 2 * @nr pointers: first the slots sorted by
 * base_gfn (their ranges never overlap), then the same slots sorted by id.
 * Use kvmf_memslots_by_gfn() and kvmf_memslots_by_id() to reach either half.
 * @generation grows by one with every published change.
 */
struct kvmf_memslots {
	u64 generation;
	u32 nr;
	struct kvmf_memslot *slots[];
};

/* What a KVM_SET_USER_MEMORY_REGION request does to a set. */
enum kvmf_memslot_change {
	KVMF_MR_NONE,		/* same as the existing slot: nothing to do */
	KVMF_MR_CREATE,
	KVMF_MR_DELETE,
	KVMF_MR_MOVE,		/* same slot, new base_gfn */
	KVMF_MR_FLAGS,		/* same slot, KVM_MEM_LOG_DIRTY_PAGES flipped */
};

/*
 * The outcome of kvmf_memslots_plan(): @old is the existing slot with the
 * request's id (NULL for a create), @nr the slot count of the new set.
 */
struct kvmf_memslot_plan {
	enum kvmf_memslot_change change;
	struct kvmf_memslot *old;
	u32 nr;
};

static inline struct kvmf_memslot *const *
kvmf_memslots_by_gfn(const struct kvmf_memslots *set)
{
	return set->slots;
}

static inline struct kvmf_memslot *const *
kvmf_memslots_by_id(const struct kvmf_memslots *set)
{
	return set->slots + set->nr;
}

/* Bytes to allocate for a set of @nr slots (nr <= KVMF_USER_MEM_SLOTS). */
static inline size_t kvmf_memslots_size(u32 nr)
{
	return sizeof(struct kvmf_memslots) +
	       2 * (size_t)nr * sizeof(struct kvmf_memslot *);
}

/* The host virtual address of @gfn, which must lie inside @slot. */
static inline unsigned long
kvmf_memslot_gfn_to_hva(const struct kvmf_memslot *slot, u64 gfn)
{
	return slot->userspace_addr +
	       ((unsigned long)(gfn - slot->base_gfn) << PAGE_SHIFT);
}

/*
 * Checks the fields of a request that do not depend on the current slots
 * (flags, slot id and address space, alignment, wrap-around, size) and
 * decodes it into @req.  Only the host range's validity as user memory is
 * left to the caller.  Returns 0 or -EINVAL.
 */
int kvmf_memslot_check_request(const struct kvm_userspace_memory_region *r,
			       struct kvmf_memslot *req);

/*
 * Decides what the checked request @req does to @set: 0 with @plan filled
 * in, -EINVAL (deleting a missing slot, changing size, host address or
 * KVM_MEM_READONLY of an existing slot, or a slot placed past @max_gfn) or
 * -EEXIST (the new range overlaps another slot).
 */
int kvmf_memslots_plan(const struct kvmf_memslots *set,
		       const struct kvmf_memslot *req, u64 max_gfn,
		       struct kvmf_memslot_plan *plan);

/*
 * Fills @dst, of kvmf_memslots_size(nr) bytes, with @src minus @remove plus
 * @add, and the next generation.  @remove must be in @src or NULL; @add
 * must not overlap any slot left or share its id, or be NULL.
 */
void kvmf_memslots_build(struct kvmf_memslots *dst,
			 const struct kvmf_memslots *src,
			 const struct kvmf_memslot *remove,
			 struct kvmf_memslot *add);

/* The slot holding @gfn, or NULL: a binary search, O(log n). */
struct kvmf_memslot *kvmf_memslot_find_gfn(const struct kvmf_memslots *set,
					   u64 gfn);

/* The slot with id @id, or NULL: a binary search, O(log n). */
struct kvmf_memslot *kvmf_memslot_find_id(const struct kvmf_memslots *set,
					  u32 id);

/*
 * The frames of @slot that host addresses [start, end) back, as
 * [*gfn, *gfn + *npages); false when they back none.  @end is exclusive and
 * neither bound needs to be page aligned (MMU notifiers pass byte ranges).
 */
bool kvmf_memslot_hva_range(const struct kvmf_memslot *slot, unsigned long start,
			    unsigned long end, u64 *gfn, u64 *npages);

/*
 * KVM_CLEAR_DIRTY_LOG's range rules for a slot of @npages pages, once the
 * start is known to be 64-page aligned (KVM checks that before it looks the
 * slot up): the range lies inside the slot, and covers whole 64-page words
 * unless it ends where the slot does.  An empty range at a start inside the
 * slot is fine.  Returns 0 or -EINVAL.
 */
int kvmf_memslot_check_clear_range(u64 npages, u64 first_page, u32 num_pages);

/*
 * Whether [base_gfn, base_gfn + npages), npages > 0, meets any slot other
 * than the one with id @skip_id (pass KVMF_USER_MEM_SLOTS to skip none).
 */
bool kvmf_memslots_overlap(const struct kvmf_memslots *set, u32 skip_id,
			   u64 base_gfn, u64 npages);

#endif /* KVMFORK_MEMSLOT_SET_H */
