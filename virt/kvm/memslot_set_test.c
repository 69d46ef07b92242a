// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the memslot set logic (memslot_set.c), part of
 * kvmfork-test.ko, never of kvmfork.ko.  memslot_set.c is compiled into
 * this object by the #include below, so the test sees exactly the code the
 * module runs, static helpers included.
 *
 * Each case drives KVM_SET_USER_MEMORY_REGION requests through the same
 * three steps as virt/kvm/memslot.c (check, plan, build), with memory from
 * KUnit, and checks the set's invariants after every change.
 */
#include <kunit/test.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "memslot_set.c"

#define PG(n)		((u64)(n) << PAGE_SHIFT)
/* A made-up host address inside a made-up mapping. */
#define HVA(n)		(0x7f0000000000ULL + PG(n))
#define LOG		KVM_MEM_LOG_DIRTY_PAGES
#define RO		KVM_MEM_READONLY
/* The highest frame of a 64-bit guest-physical space. */
#define TOP_GFN		(~0ULL >> PAGE_SHIFT)

/* ---- helpers ------------------------------------------------------------ */

/*
 * What kvmf_memslot_check_request() and kvmf_memslots_plan() answer for a
 * request, and the set after it (unchanged on an error).
 */
struct ms_result {
	int err;
	enum kvmf_memslot_change change;
};

static struct kvmf_memslots *ms_empty(struct kunit *test)
{
	struct kvmf_memslots *set;

	set = kunit_kzalloc(test, kvmf_memslots_size(0), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, set);
	return set;
}

/* Sorted halves, no overlap, the same slots in both halves, valid ids. */
static void ms_check_invariants(struct kunit *test,
				const struct kvmf_memslots *set)
{
	struct kvmf_memslot *const *g = kvmf_memslots_by_gfn(set);
	struct kvmf_memslot *const *d = kvmf_memslots_by_id(set);
	u32 i;

	for (i = 0; i < set->nr; i++) {
		KUNIT_EXPECT_GT(test, g[i]->npages, 0ULL);
		KUNIT_EXPECT_LT(test, g[i]->id, (u32)KVMF_USER_MEM_SLOTS);
		/* Every slot of the gfn half is found by its id, and back. */
		KUNIT_EXPECT_PTR_EQ(test, kvmf_memslot_find_id(set, g[i]->id), g[i]);
		KUNIT_EXPECT_PTR_EQ(test, kvmf_memslot_find_gfn(set, d[i]->base_gfn),
				    d[i]);
		if (i + 1 == set->nr)
			break;
		KUNIT_EXPECT_LT(test, g[i]->base_gfn, g[i + 1]->base_gfn);
		KUNIT_EXPECT_GE(test, g[i + 1]->base_gfn - g[i]->base_gfn,
				g[i]->npages);
		KUNIT_EXPECT_LT(test, d[i]->id, d[i + 1]->id);
	}
}

/*
 * One KVM_SET_USER_MEMORY_REGION on *setp, as virt/kvm/memslot.c does it;
 * on success *setp is the new set.  Old sets and slots stay allocated until
 * the test ends, which is harmless and lets callers keep pointers to them.
 */
static struct ms_result ms_set(struct kunit *test, struct kvmf_memslots **setp,
			       u32 slot, u32 flags, u64 gpa, u64 size, u64 hva,
			       u64 max_gfn)
{
	const struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};
	struct ms_result res = { .change = KVMF_MR_NONE };
	struct kvmf_memslots *old = *setp, *new;
	struct kvmf_memslot_plan plan;
	struct kvmf_memslot req, *add = NULL;

	res.err = kvmf_memslot_check_request(&r, &req);
	if (res.err)
		return res;
	res.err = kvmf_memslots_plan(old, &req, max_gfn, &plan);
	if (res.err)
		return res;
	res.change = plan.change;
	if (plan.change == KVMF_MR_NONE)
		return res;

	/* The plan's count is what build() produces. */
	KUNIT_EXPECT_EQ(test, plan.nr,
			old->nr + (plan.change == KVMF_MR_CREATE) -
			(plan.change == KVMF_MR_DELETE));
	if (plan.change != KVMF_MR_DELETE) {
		add = kunit_kmalloc(test, sizeof(*add), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, add);
		*add = req;
	}
	new = kunit_kzalloc(test, kvmf_memslots_size(plan.nr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, new);
	kvmf_memslots_build(new, old, plan.old, add);
	KUNIT_EXPECT_EQ(test, new->nr, plan.nr);
	KUNIT_EXPECT_EQ(test, new->generation, old->generation + 1);
	ms_check_invariants(test, new);
	*setp = new;
	return res;
}

/* Create or change a slot in a 64-bit guest-physical space. */
static int ms_set64(struct kunit *test, struct kvmf_memslots **setp, u32 slot,
		    u32 flags, u64 gfn, u64 npages, u64 hva_page)
{
	return ms_set(test, setp, slot, flags, PG(gfn), PG(npages),
		      HVA(hva_page), TOP_GFN).err;
}

/* ---- request checks ----------------------------------------------------- */

static void memslot_check_request_test(struct kunit *test)
{
	static const struct {
		const char *what;
		u32 slot, flags;
		u64 gpa, size, hva;
		int err;
	} cases[] = {
		{ "plain", 0, 0, PG(1), PG(1), HVA(0), 0 },
		{ "dirty logging", 1, LOG, 0, PG(4), HVA(0), 0 },
		{ "read-only", 2, RO, 0, PG(4), HVA(0), 0 },
		{ "both flags", 2, RO | LOG, 0, PG(4), HVA(0), 0 },
		{ "unknown flag", 0, 1u << 2, 0, PG(1), HVA(0), -EINVAL },
		{ "top flag", 0, 1u << 31, 0, PG(1), HVA(0), -EINVAL },
		{ "last id", KVMF_USER_MEM_SLOTS - 1, 0, 0, PG(1), HVA(0), 0 },
		{ "id past the last", KVMF_USER_MEM_SLOTS, 0, 0, PG(1), HVA(0), -EINVAL },
		{ "id 0xffff", 0xffff, 0, 0, PG(1), HVA(0), -EINVAL },
		{ "address space 1", 1u << 16, 0, 0, PG(1), HVA(0), -EINVAL },
		{ "address space 0xffff", 0xffff0000u, 0, 0, PG(1), HVA(0), -EINVAL },
		{ "gpa not aligned", 0, 0, PG(1) + 1, PG(1), HVA(0), -EINVAL },
		{ "size not aligned", 0, 0, PG(1), PG(1) + 0x800, HVA(0), -EINVAL },
		{ "hva not aligned", 0, 0, PG(1), PG(1), HVA(0) + 8, -EINVAL },
		{ "delete: size 0", 0, 0, PG(1), 0, HVA(0), 0 },
		/* Like KVM, the range's end must be representable. */
		{ "ends a page below 2^64", 0, 0, ~0ULL - PG(2) + 1, PG(1), HVA(0), 0 },
		{ "ends at 2^64", 0, 0, ~0ULL - PG(1) + 1, PG(1), HVA(0), -EINVAL },
		{ "wraps past 2^64", 0, 0, ~0ULL - PG(1) + 1, PG(2), HVA(0), -EINVAL },
		{ "largest slot", 0, 0, 0, PG(KVMF_MEM_MAX_NR_PAGES), HVA(0), 0 },
		{ "one page too many", 0, 0, 0, PG(KVMF_MEM_MAX_NR_PAGES + 1), HVA(0),
		  -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct kvm_userspace_memory_region r = {
			.slot = cases[i].slot,
			.flags = cases[i].flags,
			.guest_phys_addr = cases[i].gpa,
			.memory_size = cases[i].size,
			.userspace_addr = cases[i].hva,
		};
		struct kvmf_memslot req;
		int err = kvmf_memslot_check_request(&r, &req);

		KUNIT_EXPECT_EQ_MSG(test, err, cases[i].err, "case '%s'", cases[i].what);
		if (err || cases[i].err)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, req.id, cases[i].slot, "case '%s'", cases[i].what);
		KUNIT_EXPECT_EQ(test, req.flags, cases[i].flags);
		KUNIT_EXPECT_EQ(test, req.base_gfn, cases[i].gpa >> PAGE_SHIFT);
		KUNIT_EXPECT_EQ(test, req.npages, cases[i].size >> PAGE_SHIFT);
		KUNIT_EXPECT_EQ(test, (u64)req.userspace_addr, cases[i].hva);
	}
}

/* ---- overlaps ----------------------------------------------------------- */

/*
 * A new slot against one existing slot at [100, 110): every way two ranges
 * can meet, share an edge or miss each other.
 */
static void memslot_overlap_one_test(struct kunit *test)
{
	static const struct {
		const char *what;
		u64 gfn, npages;
		int err;
	} cases[] = {
		{ "same range", 100, 10, -EEXIST },
		{ "inside", 102, 3, -EEXIST },
		{ "around", 90, 30, -EEXIST },
		{ "over the start", 95, 6, -EEXIST },
		{ "over the end", 109, 6, -EEXIST },
		{ "first page", 100, 1, -EEXIST },
		{ "last page", 109, 1, -EEXIST },
		{ "same start, longer", 100, 11, -EEXIST },
		{ "same end, earlier start", 99, 11, -EEXIST },
		{ "ends just before", 90, 10, 0 },
		{ "starts just after", 110, 5, 0 },
		{ "page before", 99, 1, 0 },
		{ "page after", 110, 1, 0 },
		{ "far below", 0, 1, 0 },
		{ "far above", TOP_GFN - 1, 1, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvmf_memslots *set = ms_empty(test);
		int err;

		KUNIT_ASSERT_EQ(test, ms_set64(test, &set, 5, 0, 100, 10, 0), 0);
		err = ms_set64(test, &set, 6, 0, cases[i].gfn, cases[i].npages, 1000);
		KUNIT_EXPECT_EQ_MSG(test, err, cases[i].err, "case '%s'", cases[i].what);
		KUNIT_EXPECT_EQ(test, set->nr, cases[i].err ? 1u : 2u);
		/* The overlap test on its own agrees, in both directions. */
		KUNIT_EXPECT_EQ_MSG(test, kvmf_memslots_overlap(set, 6, cases[i].gfn,
								cases[i].npages),
				    cases[i].err != 0, "case '%s'", cases[i].what);
	}
}

/* A gap between two slots: exactly filled, or one page too big. */
static void memslot_overlap_gap_test(struct kunit *test)
{
	struct kvmf_memslots *set = ms_empty(test);
	struct kvmf_memslots *two;

	KUNIT_ASSERT_EQ(test, ms_set64(test, &set, 1, 0, 100, 10, 0), 0);
	KUNIT_ASSERT_EQ(test, ms_set64(test, &set, 2, 0, 120, 10, 20), 0);
	two = set;

	KUNIT_EXPECT_EQ(test, ms_set64(test, &set, 3, 0, 110, 11, 40), -EEXIST);
	KUNIT_EXPECT_EQ(test, ms_set64(test, &set, 3, 0, 109, 11, 40), -EEXIST);
	KUNIT_EXPECT_EQ(test, ms_set64(test, &set, 3, 0, 105, 30, 40), -EEXIST);
	KUNIT_EXPECT_PTR_EQ(test, set, two);
	KUNIT_EXPECT_EQ(test, ms_set64(test, &set, 3, 0, 110, 10, 40), 0);
	KUNIT_EXPECT_EQ(test, set->nr, 3u);
	/* Three adjacent slots: each page belongs to exactly one. */
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 109)->id, 1u);
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 110)->id, 3u);
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 119)->id, 3u);
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 120)->id, 2u);
	/* skip_id hides only the named slot; KVMF_USER_MEM_SLOTS hides none. */
	KUNIT_EXPECT_TRUE(test, kvmf_memslots_overlap(set, 3, 100, 30));
	KUNIT_EXPECT_FALSE(test, kvmf_memslots_overlap(set, 3, 110, 10));
	KUNIT_EXPECT_TRUE(test, kvmf_memslots_overlap(set, KVMF_USER_MEM_SLOTS, 110, 10));
	KUNIT_EXPECT_FALSE(test, kvmf_memslots_overlap(set, KVMF_USER_MEM_SLOTS, 130, 1));
	KUNIT_EXPECT_FALSE(test, kvmf_memslots_overlap(set, KVMF_USER_MEM_SLOTS, 0, 100));
}

/* ---- create, move, flags, delete ---------------------------------------- */

static void memslot_lifecycle_test(struct kunit *test)
{
	struct kvmf_memslots *set = ms_empty(test), *before;
	struct kvmf_memslot *s;
	struct ms_result r;

	r = ms_set(test, &set, 7, 0, PG(0x100), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, 0);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_CREATE);
	KUNIT_EXPECT_EQ(test, set->generation, 1ULL);

	/* The same request again changes nothing, not even the generation. */
	before = set;
	r = ms_set(test, &set, 7, 0, PG(0x100), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, 0);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_NONE);
	KUNIT_EXPECT_PTR_EQ(test, set, before);

	/* Dirty logging on and off: a flags change, in place. */
	r = ms_set(test, &set, 7, LOG, PG(0x100), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_FLAGS);
	s = kvmf_memslot_find_gfn(set, 0x105);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_EQ(test, s->flags, (u32)LOG);
	/* The old set still shows the old slot: slots are copied, not edited. */
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(before, 0x105)->flags, 0u);
	r = ms_set(test, &set, 7, 0, PG(0x100), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_FLAGS);

	/* What an existing slot may not change. */
	r = ms_set(test, &set, 7, 0, PG(0x100), PG(17), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);
	r = ms_set(test, &set, 7, 0, PG(0x100), PG(15), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);
	r = ms_set(test, &set, 7, 0, PG(0x100), PG(16), HVA(1), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);
	r = ms_set(test, &set, 7, RO, PG(0x100), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);

	/* A move, including one onto part of its own old range. */
	r = ms_set(test, &set, 7, 0, PG(0x108), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, 0);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_MOVE);
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 0x107));
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 0x117)->id, 7u);
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 0x118));
	/* A move with a flags change is a move. */
	r = ms_set(test, &set, 7, LOG, PG(0x1000), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_MOVE);
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_id(set, 7)->flags, (u32)LOG);

	/* A move onto another slot is refused; the set stays as it was. */
	KUNIT_ASSERT_EQ(test, ms_set64(test, &set, 8, 0, 0x2000, 4, 100), 0);
	before = set;
	r = ms_set(test, &set, 7, LOG, PG(0x1ff8), PG(16), HVA(0), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, -EEXIST);
	KUNIT_EXPECT_PTR_EQ(test, set, before);

	/* Deletion: by size 0, whatever the other fields say. */
	r = ms_set(test, &set, 7, 0, 0, 0, 0, TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, 0);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_DELETE);
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, 7));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 0x1000));
	KUNIT_EXPECT_EQ(test, set->nr, 1u);
	r = ms_set(test, &set, 7, 0, 0, 0, 0, TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);

	/* The id is free again, with any size, flags and place. */
	r = ms_set(test, &set, 7, RO, PG(0x1000), PG(1), HVA(50), TOP_GFN);
	KUNIT_EXPECT_EQ(test, r.change, KVMF_MR_CREATE);
	KUNIT_EXPECT_EQ(test, set->nr, 2u);
	KUNIT_EXPECT_EQ(test, set->generation, 8ULL);
}

/* The architecture's limit on guest frames is checked after the overlap. */
static void memslot_max_gfn_test(struct kunit *test)
{
	const u64 max = 0xfffff;	/* a 32-bit guest-physical space */
	struct kvmf_memslots *set = ms_empty(test);
	struct ms_result r;

	r = ms_set(test, &set, 0, 0, PG(max - 3), PG(4), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, 0);
	r = ms_set(test, &set, 1, 0, PG(max - 7), PG(5), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, -EEXIST);
	r = ms_set(test, &set, 1, 0, PG(max + 1), PG(1), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);
	r = ms_set(test, &set, 1, 0, PG(max - 10), PG(12), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, -EEXIST);
	r = ms_set(test, &set, 1, 0, PG(0), PG(max + 1), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, -EEXIST);
	r = ms_set(test, &set, 2, 0, PG(0), PG(max - 3), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, 0);
	/* Moving slot 0 up by one page would end past the limit. */
	r = ms_set(test, &set, 0, 0, PG(max - 2), PG(4), HVA(0), max);
	KUNIT_EXPECT_EQ(test, r.err, -EINVAL);
	KUNIT_EXPECT_EQ(test, set->nr, 2u);
}

/* ---- lookups ------------------------------------------------------------ */

static void memslot_lookup_edges_test(struct kunit *test)
{
	struct kvmf_memslots *set = ms_empty(test);
	struct kvmf_memslot *s;

	/* An empty set finds nothing anywhere. */
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 0));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, TOP_GFN));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, 0));
	KUNIT_EXPECT_FALSE(test, kvmf_memslots_overlap(set, KVMF_USER_MEM_SLOTS, 0,
						       TOP_GFN + 1));

	/* Slots at both ends of the space, with the first and last ids. */
	KUNIT_ASSERT_EQ(test, ms_set64(test, &set, 0, 0, 0, 1, 10), 0);
	KUNIT_ASSERT_EQ(test, ms_set64(test, &set, KVMF_USER_MEM_SLOTS - 1, 0,
				       TOP_GFN - 2, 2, 20), 0);
	/* The last frame itself cannot be mapped: its end is 2^64. */
	KUNIT_EXPECT_EQ(test, ms_set64(test, &set, 1, 0, TOP_GFN, 1, 40), -EINVAL);
	KUNIT_ASSERT_EQ(test, ms_set64(test, &set, 100, 0, 0x1000, 0x10, 30), 0);

	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 0)->id, 0u);
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 1));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, TOP_GFN - 3));
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, TOP_GFN - 2)->id,
			(u32)KVMF_USER_MEM_SLOTS - 1);
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, TOP_GFN - 1)->id,
			(u32)KVMF_USER_MEM_SLOTS - 1);
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, TOP_GFN));
	/* A frame number past the space (a bogus caller) finds nothing. */
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, ~0ULL));

	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 0xfff));
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 0x1000)->id, 100u);
	KUNIT_EXPECT_EQ(test, kvmf_memslot_find_gfn(set, 0x100f)->id, 100u);
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_gfn(set, 0x1010));

	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, 1));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, 99));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, KVMF_USER_MEM_SLOTS - 2));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, KVMF_USER_MEM_SLOTS));
	KUNIT_EXPECT_NULL(test, kvmf_memslot_find_id(set, ~0u));

	s = kvmf_memslot_find_id(set, 100);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_EQ(test, (u64)kvmf_memslot_gfn_to_hva(s, 0x1000), HVA(30));
	KUNIT_EXPECT_EQ(test, (u64)kvmf_memslot_gfn_to_hva(s, 0x100f), HVA(30 + 15));
}

/* ---- many slots, against a plain model ---------------------------------- */

#define MANY		10000
#define MANY_QUERIES	200

/* splitmix64: reproducible test data, the same on every run. */
static u64 ms_next(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The slot holding @gfn by looking at every slot: what the search must give. */
static const struct kvmf_memslot *ms_linear_find(const struct kvmf_memslot *slots,
						 const bool *live, u32 n, u64 gfn)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (live[i] && gfn >= slots[i].base_gfn &&
		    gfn - slots[i].base_gfn < slots[i].npages)
			return &slots[i];
	return NULL;
}

struct ms_many {
	struct kvmf_memslot *slots;	/* the model; set entries point here */
	bool *live;
	u32 *order;
	struct kvmf_memslots *buf[2];	/* ping-pong between two sets */
	struct kvmf_memslots *set;
	u32 nr_live;
};

static void ms_many_free(struct ms_many *m)
{
	vfree(m->buf[0]);
	vfree(m->buf[1]);
	vfree(m->slots);
	vfree(m->live);
	vfree(m->order);
}

/* Adds (@add) or removes one model slot, building into the other buffer. */
static void ms_many_step(struct ms_many *m, struct kvmf_memslot *add,
			 const struct kvmf_memslot *remove)
{
	struct kvmf_memslots *dst = m->buf[m->set == m->buf[0]];

	kvmf_memslots_build(dst, m->set, remove, add);
	m->set = dst;
}

/*
 * The model's slots were laid out in ascending frame order, so one walk over
 * them gives the right answer for every frame of the span in turn.
 */
static u32 ms_many_sweep(struct kunit *test, struct ms_many *m, u64 span)
{
	const struct kvmf_memslot *want;
	u32 idx = 0, bad = 0;
	u64 gfn;

	for (gfn = 0; gfn < span; gfn++) {
		/* Frames here are small: base + npages cannot wrap. */
		while (idx < MANY &&
		       gfn >= m->slots[idx].base_gfn + m->slots[idx].npages)
			idx++;
		want = idx < MANY && m->live[idx] && gfn >= m->slots[idx].base_gfn ?
		       &m->slots[idx] : NULL;
		if (kvmf_memslot_find_gfn(m->set, gfn) != want && bad++ < 5)
			KUNIT_FAIL(test, "gfn %llx: search and model differ", gfn);
	}
	return bad;
}

static void ms_many_compare(struct kunit *test, struct ms_many *m, u64 *rng,
			    u64 span)
{
	u32 i, bad;

	KUNIT_EXPECT_EQ(test, m->set->nr, m->nr_live);
	ms_check_invariants(test, m->set);
	bad = ms_many_sweep(test, m, span);
	/*
	 * Independently of the layout: random frames and the frames at and
	 * next to random slots' edges, each against a scan of every slot.
	 */
	for (i = 0; i < MANY_QUERIES; i++) {
		const struct kvmf_memslot *s = &m->slots[ms_next(rng) % MANY];
		u64 gfns[5] = {
			ms_next(rng) % span, s->base_gfn - 1, s->base_gfn,
			s->base_gfn + s->npages - 1, s->base_gfn + s->npages,
		};
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(gfns); k++) {
			const struct kvmf_memslot *want =
				ms_linear_find(m->slots, m->live, MANY, gfns[k]);

			if (kvmf_memslot_find_gfn(m->set, gfns[k]) != want && bad++ < 5)
				KUNIT_FAIL(test, "gfn %llx: search and linear scan differ",
					   gfns[k]);
		}
	}
	for (i = 0; i < MANY; i++) {
		const struct kvmf_memslot *got =
			kvmf_memslot_find_id(m->set, m->slots[i].id);

		if (got != (m->live[i] ? &m->slots[i] : NULL) && bad++ < 10)
			KUNIT_FAIL(test, "id %u: wrong answer", m->slots[i].id);
	}
	KUNIT_EXPECT_EQ(test, bad, 0u);
}

/*
 * 10 000 slots of random sizes with random gaps and random ids, inserted in
 * random order and then half of them deleted in random order; after each
 * phase every lookup is checked against a linear scan of the model.
 */
static void memslot_many_test(struct kunit *test)
{
	struct ms_many m = { };
	u64 rng = 42, gfn = 0, span;
	u32 i, j, *ids;

	m.slots = vzalloc(array_size(MANY, sizeof(*m.slots)));
	m.live = vzalloc(array_size(MANY, sizeof(*m.live)));
	m.order = vzalloc(array_size(MANY, sizeof(*m.order)));
	m.buf[0] = vzalloc(kvmf_memslots_size(MANY));
	m.buf[1] = vzalloc(kvmf_memslots_size(MANY));
	ids = vzalloc(array_size(KVMF_USER_MEM_SLOTS, sizeof(*ids)));
	if (!m.slots || !m.live || !m.order || !m.buf[0] || !m.buf[1] || !ids) {
		vfree(ids);
		ms_many_free(&m);
		KUNIT_FAIL(test, "out of memory");
		return;
	}

	/* Distinct random ids: the first MANY of a shuffled 0..max. */
	for (i = 0; i < KVMF_USER_MEM_SLOTS; i++)
		ids[i] = i;
	for (i = KVMF_USER_MEM_SLOTS - 1; i > 0; i--) {
		j = ms_next(&rng) % (i + 1);
		swap(ids[i], ids[j]);
	}
	for (i = 0; i < MANY; i++) {
		gfn += ms_next(&rng) % 3;		/* gaps of 0, 1 or 2 */
		m.slots[i].id = ids[i];
		m.slots[i].base_gfn = gfn;
		m.slots[i].npages = 1 + ms_next(&rng) % 8;
		m.slots[i].userspace_addr = HVA(i * 8);
		gfn += m.slots[i].npages;
		m.order[i] = i;
	}
	vfree(ids);
	span = gfn + 4;

	m.set = m.buf[0];
	for (i = MANY - 1; i > 0; i--) {
		j = ms_next(&rng) % (i + 1);
		swap(m.order[i], m.order[j]);
	}
	for (i = 0; i < MANY; i++) {
		struct kvmf_memslot *s = &m.slots[m.order[i]];

		/* What the plan says must hold for every insertion. */
		if (kvmf_memslots_overlap(m.set, KVMF_USER_MEM_SLOTS, s->base_gfn,
					  s->npages)) {
			KUNIT_FAIL(test, "slot %u overlaps before it was added", s->id);
			break;
		}
		ms_many_step(&m, s, NULL);
		m.live[m.order[i]] = true;
		m.nr_live++;
	}
	KUNIT_EXPECT_EQ(test, m.set->generation, (u64)MANY);
	ms_many_compare(test, &m, &rng, span);

	/* Every slot now overlaps itself, and no one else's range. */
	for (i = 0; i < MANY; i += 97) {
		const struct kvmf_memslot *s = &m.slots[i];

		KUNIT_EXPECT_TRUE(test, kvmf_memslots_overlap(m.set, KVMF_USER_MEM_SLOTS,
							      s->base_gfn, s->npages));
		KUNIT_EXPECT_FALSE(test, kvmf_memslots_overlap(m.set, s->id,
							       s->base_gfn, s->npages));
	}

	for (i = 0; i < MANY / 2; i++) {
		u32 k = m.order[(i * 7919) % MANY];

		if (!m.live[k])
			continue;
		ms_many_step(&m, NULL, &m.slots[k]);
		m.live[k] = false;
		m.nr_live--;
	}
	ms_many_compare(test, &m, &rng, span);
	ms_many_free(&m);
}

static struct kunit_case memslot_set_cases[] = {
	KUNIT_CASE(memslot_check_request_test),
	KUNIT_CASE(memslot_overlap_one_test),
	KUNIT_CASE(memslot_overlap_gap_test),
	KUNIT_CASE(memslot_lifecycle_test),
	KUNIT_CASE(memslot_max_gfn_test),
	KUNIT_CASE(memslot_lookup_edges_test),
	KUNIT_CASE(memslot_many_test),
	{}
};

static struct kunit_suite memslot_set_suite = {
	.name = "kvmf_memslot_set",
	.test_cases = memslot_set_cases,
};

kunit_test_suite(memslot_set_suite);
