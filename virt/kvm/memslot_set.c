// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory slots: the pure set logic behind KVM_SET_USER_MEMORY_REGION.
 * Checking a request, deciding what it changes, building the next sorted set
 * and looking slots up.  Nothing here allocates, sleeps or takes a lock, and
 * only memcpy() is called, so the file builds unchanged in userspace (see
 * tools/testing/memslot/).
 *
 * Every search is a binary search over one of the set's two sorted halves;
 * building a set is one pass of memcpy() per half.
 */
#include <linux/errno.h>
#include <linux/string.h>

#include <kvmfork/memslot_set.h>

/* The number of slots in @s[0..n) whose base_gfn is below @gfn. */
static u32 kvmf_gfn_lower_bound(struct kvmf_memslot *const *s, u32 n, u64 gfn)
{
	u32 lo = 0, hi = n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (s[mid]->base_gfn < gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The number of slots in @s[0..n) that start at or below @gfn: the slot that
 * may contain @gfn, if any, is the one just before that index.
 */
static u32 kvmf_gfn_upper_bound(struct kvmf_memslot *const *s, u32 n, u64 gfn)
{
	u32 lo = 0, hi = n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (s[mid]->base_gfn <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The number of slots in @s[0..n) whose id is below @id. */
static u32 kvmf_id_lower_bound(struct kvmf_memslot *const *s, u32 n, u32 id)
{
	u32 lo = 0, hi = n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (s[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct kvmf_memslot *kvmf_memslot_find_gfn(const struct kvmf_memslots *set,
					   u64 gfn)
{
	struct kvmf_memslot *const *s = kvmf_memslots_by_gfn(set);
	u32 i = kvmf_gfn_upper_bound(s, set->nr, gfn);
	struct kvmf_memslot *slot;

	if (!i)
		return NULL;
	slot = s[i - 1];
	/* slot->base_gfn <= gfn here, so the subtraction cannot wrap. */
	return gfn - slot->base_gfn < slot->npages ? slot : NULL;
}

struct kvmf_memslot *kvmf_memslot_find_id(const struct kvmf_memslots *set,
					  u32 id)
{
	struct kvmf_memslot *const *s = kvmf_memslots_by_id(set);
	u32 i = kvmf_id_lower_bound(s, set->nr, id);

	return i < set->nr && s[i]->id == id ? s[i] : NULL;
}

bool kvmf_memslots_overlap(const struct kvmf_memslots *set, u32 skip_id,
			   u64 base_gfn, u64 npages)
{
	struct kvmf_memslot *const *s = kvmf_memslots_by_gfn(set);
	/*
	 * Only slots starting before the range's end can meet it.  Slots do
	 * not overlap each other, so their ends are sorted like their starts:
	 * the last of those slots ends furthest up, and if it stays below
	 * @base_gfn, so do all before it.  The skipped slot can hide at most
	 * one candidate, hence at most two looks.
	 */
	u32 i = kvmf_gfn_upper_bound(s, set->nr, base_gfn + (npages - 1));

	while (i) {
		const struct kvmf_memslot *slot = s[--i];

		if (slot->id == skip_id)
			continue;
		return slot->base_gfn >= base_gfn ||
		       slot->npages > base_gfn - slot->base_gfn;
	}
	return false;
}

int kvmf_memslot_check_request(const struct kvm_userspace_memory_region *r,
			       struct kvmf_memslot *req)
{
	const u64 page_mask = PAGE_SIZE - 1;
	u32 as_id = r->slot >> 16;
	u32 id = r->slot & 0xffff;

	if (r->flags & ~KVMF_MEM_VALID_FLAGS)
		return -EINVAL;
	/* Only address space 0: 1 is x86's SMM view, which kvmfork lacks. */
	if (as_id || id >= KVMF_USER_MEM_SLOTS)
		return -EINVAL;
	if ((r->memory_size | r->guest_phys_addr | r->userspace_addr) &
	    page_mask)
		return -EINVAL;
	/* The guest range must end at or below 2^64 - 1, not wrap past it. */
	if (r->memory_size > ~(u64)0 - r->guest_phys_addr)
		return -EINVAL;
	if ((r->memory_size >> PAGE_SHIFT) > KVMF_MEM_MAX_NR_PAGES)
		return -EINVAL;

	req->id = id;
	req->flags = r->flags;
	req->base_gfn = r->guest_phys_addr >> PAGE_SHIFT;
	req->npages = r->memory_size >> PAGE_SHIFT;
	req->userspace_addr = r->userspace_addr;
	req->dirty_bitmap = NULL;
	return 0;
}

int kvmf_memslots_plan(const struct kvmf_memslots *set,
		       const struct kvmf_memslot *req, u64 max_gfn,
		       struct kvmf_memslot_plan *plan)
{
	struct kvmf_memslot *old = kvmf_memslot_find_id(set, req->id);

	plan->old = old;
	plan->nr = set->nr;

	if (!req->npages) {
		if (!old)
			return -EINVAL;
		plan->change = KVMF_MR_DELETE;
		plan->nr = set->nr - 1;
		return 0;
	}

	if (!old) {
		plan->change = KVMF_MR_CREATE;
		plan->nr = set->nr + 1;
	} else {
		/* An existing slot can move or flip dirty logging, no more. */
		if (req->userspace_addr != old->userspace_addr ||
		    req->npages != old->npages ||
		    ((req->flags ^ old->flags) & KVM_MEM_READONLY))
			return -EINVAL;
		if (req->base_gfn != old->base_gfn) {
			plan->change = KVMF_MR_MOVE;
		} else if (req->flags != old->flags) {
			plan->change = KVMF_MR_FLAGS;
			return 0;
		} else {
			plan->change = KVMF_MR_NONE;
			return 0;
		}
	}

	/* A moving slot may overlap where it was, so it skips itself. */
	if (kvmf_memslots_overlap(set, req->id, req->base_gfn, req->npages))
		return -EEXIST;
	/* KVM checks the architecture's limit after the overlap. */
	if (req->base_gfn > max_gfn || req->npages - 1 > max_gfn - req->base_gfn)
		return -EINVAL;
	return 0;
}

/* Appends @src[from..to) at @out; returns the new end of @out. */
static struct kvmf_memslot **kvmf_copy_run(struct kvmf_memslot **out,
					   struct kvmf_memslot *const *src,
					   u32 from, u32 to)
{
	memcpy(out, src + from, (size_t)(to - from) * sizeof(*out));
	return out + (to - from);
}

/*
 * Copies @src[0..n) to @out without @src[del] (del == n: drop nothing) and
 * with @add (if not NULL) placed before @src[at].  When @at and @del meet,
 * @add lands where the dropped slot was, which is what a flags change of a
 * slot wants.
 */
static void kvmf_copy_edit(struct kvmf_memslot **out,
			   struct kvmf_memslot *const *src, u32 n, u32 del,
			   struct kvmf_memslot *add, u32 at)
{
	u32 i = 0;

	if (add && at <= del) {
		out = kvmf_copy_run(out, src, 0, at);
		*out++ = add;
		i = at;
		add = NULL;
	}
	if (del < n) {
		out = kvmf_copy_run(out, src, i, del);
		i = del + 1;
	}
	if (add) {
		/* Here del < at: the loop above has already passed @del. */
		out = kvmf_copy_run(out, src, i, at);
		*out++ = add;
		i = at;
	}
	kvmf_copy_run(out, src, i, n);
}

void kvmf_memslots_build(struct kvmf_memslots *dst,
			 const struct kvmf_memslots *src,
			 const struct kvmf_memslot *remove,
			 struct kvmf_memslot *add)
{
	struct kvmf_memslot *const *src_gfn = kvmf_memslots_by_gfn(src);
	struct kvmf_memslot *const *src_id = kvmf_memslots_by_id(src);
	u32 n = src->nr;
	u32 del_gfn = n, del_id = n, at_gfn = 0, at_id = 0;

	/* Slots have distinct ids and distinct starts: bounds are exact. */
	if (remove) {
		del_gfn = kvmf_gfn_lower_bound(src_gfn, n, remove->base_gfn);
		del_id = kvmf_id_lower_bound(src_id, n, remove->id);
	}
	if (add) {
		at_gfn = kvmf_gfn_lower_bound(src_gfn, n, add->base_gfn);
		at_id = kvmf_id_lower_bound(src_id, n, add->id);
	}

	dst->generation = src->generation + 1;
	dst->nr = n - !!remove + !!add;
	kvmf_copy_edit(dst->slots, src_gfn, n, del_gfn, add, at_gfn);
	kvmf_copy_edit(dst->slots + dst->nr, src_id, n, del_id, add, at_id);
}

bool kvmf_memslot_hva_range(const struct kvmf_memslot *slot, unsigned long start,
			    unsigned long end, u64 *gfn, u64 *npages)
{
	/* Slots passed access_ok() when made: base + size does not wrap. */
	unsigned long base = slot->userspace_addr;
	unsigned long limit = base + (unsigned long)(slot->npages << PAGE_SHIFT);
	unsigned long lo = start > base ? start : base;
	unsigned long hi = end < limit ? end : limit;

	if (lo >= hi)
		return false;
	*gfn = slot->base_gfn + ((lo - base) >> PAGE_SHIFT);
	*npages = ((hi - 1 - base) >> PAGE_SHIFT) - ((lo - base) >> PAGE_SHIFT) + 1;
	return true;
}

int kvmf_memslot_check_clear_range(u64 npages, u64 first_page, u32 num_pages)
{
	/* Written so that nothing can overflow: first_page < npages first. */
	if (first_page >= npages || num_pages > npages - first_page)
		return -EINVAL;
	if ((num_pages % 64) && num_pages != npages - first_page)
		return -EINVAL;
	return 0;
}
