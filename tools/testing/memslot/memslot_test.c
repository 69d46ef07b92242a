// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pure memslot set logic (virt/kvm/memslot_set.c), built
 * in userspace.  Most cases are tables of operations: a
 * KVM_SET_USER_MEMORY_REGION request with the errno it must give, or a check
 * of the resulting set.  After every request the set's invariants are
 * checked as well.  The rest are randomised: 10 000 slots with lookups
 * checked against a linear scan, and random requests checked against a
 * naive model.
 *
 * Output is KTAP, one test per case, then the line "N passed, N failed".
 * MEMSLOT_SEED=<n> in the environment changes the random seed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "memslot_user.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Page @n as an address; a host address inside a made-up mapping. */
#define P(n)		((u64)(n) << PAGE_SHIFT)
#define H(n)		(0x7f0000000000ULL + P(n))

#define LOG		KVM_MEM_LOG_DIRTY_PAGES
#define RO		KVM_MEM_READONLY
#define NO_SLOT		(-1L)

/* ---- failure reporting ------------------------------------------------- */

static int case_failures;

static void __attribute__((format(printf, 3, 4)))
fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	case_failures++;
}

#define FAIL(fmt, ...)	fail_at(__FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define EXPECT(cond, fmt, ...) do {					\
	if (!(cond))							\
		FAIL("'%s' is false: " fmt, #cond, ##__VA_ARGS__);	\
} while (0)

/* ---- deterministic randomness ------------------------------------------ */

static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	/* xorshift64*: plenty for test data, and the same on every host. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_below(u64 n)
{
	return rnd() % n;
}

/* ---- helpers ----------------------------------------------------------- */

struct unmap_log {
	unsigned int count;
	struct kvmf_memslot last;
};

static void record_unmap(void *opaque, const struct kvmf_memslot *old)
{
	struct unmap_log *log = opaque;

	log->count++;
	log->last = *old;
}

static long set_region(struct kvmf_umem *mem, struct unmap_log *log, u32 slot,
		       u32 flags, u64 gpa, u64 size, u64 hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return kvmf_umem_set_region(mem, &r, record_unmap, log);
}

/* Checks everything a published set must satisfy; returns false if not. */
static bool check_invariants(const struct kvmf_memslots *set)
{
	struct kvmf_memslot *const *g = kvmf_memslots_by_gfn(set);
	struct kvmf_memslot *const *d = kvmf_memslots_by_id(set);
	int before = case_failures;
	u32 i;

	for (i = 0; i < set->nr; i++) {
		EXPECT(g[i]->npages > 0, "slot %u is empty", g[i]->id);
		EXPECT(g[i]->id < KVMF_USER_MEM_SLOTS, "id %u", g[i]->id);
		if (i + 1 < set->nr) {
			EXPECT(g[i]->base_gfn < g[i + 1]->base_gfn &&
			       g[i + 1]->base_gfn - g[i]->base_gfn >= g[i]->npages,
			       "slots %u and %u out of order or overlapping",
			       g[i]->id, g[i + 1]->id);
			EXPECT(d[i]->id < d[i + 1]->id, "ids %u, %u out of order",
			       d[i]->id, d[i + 1]->id);
		}
		/* Both halves hold the same slot objects. */
		EXPECT(kvmf_memslot_find_gfn(set, d[i]->base_gfn) == d[i],
		       "slot %u in the id half is not in the gfn half", d[i]->id);
		EXPECT(kvmf_memslot_find_id(set, g[i]->id) == g[i],
		       "slot %u in the gfn half is not in the id half", g[i]->id);
	}
	return case_failures == before;
}

/* ---- table-driven cases ------------------------------------------------- */

enum op_kind {
	OP_END,
	OP_SET,		/* a request; .expect is 0 or a negative errno */
	OP_FIND,	/* find_gfn(.gfn) is the slot with id .expect, or none */
	OP_HVA,		/* gfn_to_hva(.gfn) == .hva */
	OP_FLAGS,	/* slot .slot has flags .flags */
	OP_NR,		/* the set holds .expect slots */
	OP_GEN,		/* the set's generation is .expect */
	OP_UNMAPS,	/* .expect unmap calls so far, the last of base .gfn */
	OP_MAX_GFN,	/* set max_gfn to .gfn */
};

struct op {
	enum op_kind kind;
	int line;
	u32 slot;
	u32 flags;
	u64 gpa;
	u64 size;
	u64 hva;
	u64 gfn;
	long expect;
};

#define SET(s, f, g, sz, h, e)	{ .kind = OP_SET, .line = __LINE__, .slot = (s), \
				  .flags = (f), .gpa = (g), .size = (sz),	 \
				  .hva = (h), .expect = (e) }
#define HIT(g, s)	{ .kind = OP_FIND, .line = __LINE__, .gfn = (g), .expect = (s) }
#define MISS(g)		{ .kind = OP_FIND, .line = __LINE__, .gfn = (g), .expect = NO_SLOT }
#define HVA(g, h)	{ .kind = OP_HVA, .line = __LINE__, .gfn = (g), .hva = (h) }
#define FLAGS(s, f)	{ .kind = OP_FLAGS, .line = __LINE__, .slot = (s), .flags = (f) }
#define NR(n)		{ .kind = OP_NR, .line = __LINE__, .expect = (n) }
#define GEN(n)		{ .kind = OP_GEN, .line = __LINE__, .expect = (n) }
#define UNMAPS(n, g)	{ .kind = OP_UNMAPS, .line = __LINE__, .expect = (n), .gfn = (g) }
#define MAX_GFN(g)	{ .kind = OP_MAX_GFN, .line = __LINE__, .gfn = (g) }

struct scenario {
	const char *name;
	struct op ops[32];
};

static const struct scenario scenarios[] = {
	{ "create", {
		MISS(0), MISS(~0ULL), NR(0), GEN(0),
		SET(0, 0, P(0x100), P(0x10), H(0), 0),
		NR(1), GEN(1), UNMAPS(0, 0),
		HIT(0x100, 0), HIT(0x108, 0), HIT(0x10f, 0),
		MISS(0xff), MISS(0x110), MISS(0), MISS(~0ULL),
		HVA(0x100, H(0)), HVA(0x10f, H(0xf)),
		SET(32763, LOG | RO, P(0x200), P(1), H(0x200), 0),
		HIT(0x200, 32763), FLAGS(32763, LOG | RO), NR(2), GEN(2),
	} },
	{ "create_at_zero_and_top", {
		SET(1, 0, 0, P(1), H(0), 0),
		HIT(0, 1), MISS(1),
		/*
		 * A slot ending exactly at 2^64 counts as wrapping (its end
		 * is 0), as in KVM; the page below the last one is the top.
		 */
		SET(2, 0, ~0ULL - P(1) + 1, P(1), H(1), -EINVAL),
		SET(2, 0, ~0ULL - P(2) + 1, P(1), H(1), 0),
		HIT(0xffffffffffffeULL, 2), MISS(0xfffffffffffffULL),
		MISS(0xffffffffffffdULL), HVA(0xffffffffffffeULL, H(1)),
		SET(2, 0, ~0ULL - P(2) + 1, 0, 0, 0), MISS(0xffffffffffffeULL),
	} },
	{ "bad_flags", {
		SET(0, 1U << 2, 0, P(1), H(0), -EINVAL),
		SET(0, 1U << 31, 0, P(1), H(0), -EINVAL),
		SET(0, ~0U, 0, P(1), H(0), -EINVAL),
		SET(0, LOG | RO | 8, 0, P(1), H(0), -EINVAL),
		NR(0), GEN(0),
		SET(0, LOG | RO, 0, P(1), H(0), 0), NR(1),
		/* A delete is checked for bad flags like anything else. */
		SET(0, 4, 0, 0, 0, -EINVAL), NR(1),
	} },
	{ "bad_slot_id", {
		SET(KVMF_USER_MEM_SLOTS, 0, 0, P(1), H(0), -EINVAL),
		SET(32767, 0, 0, P(1), H(0), -EINVAL),
		SET(0xffff, 0, 0, P(1), H(0), -EINVAL),
		/* Address space 1 (SMM) and above do not exist here. */
		SET(1U << 16, 0, 0, P(1), H(0), -EINVAL),
		SET((2U << 16) | 3, 0, 0, P(1), H(0), -EINVAL),
		SET(~0U, 0, 0, P(1), H(0), -EINVAL),
		NR(0),
		SET(KVMF_USER_MEM_SLOTS - 1, 0, 0, P(1), H(0), 0), NR(1),
		SET((1U << 16) | (KVMF_USER_MEM_SLOTS - 1), 0, 0, 0, 0, -EINVAL),
		NR(1),
	} },
	{ "unaligned", {
		SET(0, 0, 0, P(1) + 1, H(0), -EINVAL),
		SET(0, 0, 0, 0x800, H(0), -EINVAL),
		SET(0, 0, 0x1800, P(1), H(0), -EINVAL),
		SET(0, 0, 1, P(1), H(0), -EINVAL),
		SET(0, 0, 0, P(1), H(0) + 0x10, -EINVAL),
		SET(0, 0, 0, P(1), H(0) + 0x800, -EINVAL),
		NR(0),
		SET(0, 0, 0, P(1), H(0), 0),
		/* A delete with an unaligned address is refused too. */
		SET(0, 0, 0x10, 0, 0, -EINVAL),
		SET(0, 0, 0, 0, 1, -EINVAL),
		NR(1), HIT(0, 0),
	} },
	{ "wrap", {
		SET(0, 0, ~0ULL - P(1) + 1, P(2), H(0), -EINVAL),
		SET(0, 0, ~0ULL - P(2) + 1, P(3), H(0), -EINVAL),
		SET(0, 0, P(1), ~0ULL - P(1) + 1, H(0), -EINVAL),
		SET(0, 0, P(1), ~0ULL - P(1) + 1 - P(1), H(0), -EINVAL),
		NR(0),
	} },
	{ "too_many_pages", {
		SET(0, 0, 0, P(1ULL << 31), H(0), -EINVAL),
		SET(0, 0, 0, P(1ULL << 40), H(0), -EINVAL),
		SET(0, 0, 0, P((1ULL << 31) - 1), H(0), 0),
		HIT((1ULL << 31) - 2, 0), MISS((1ULL << 31) - 1),
	} },
	{ "overlap", {
		SET(1, 0, P(0x100), P(0x100), H(0), 0),
		/* Same range, inside, covering, over the head, over the tail. */
		SET(2, 0, P(0x100), P(0x100), H(0x1000), -EEXIST),
		SET(2, 0, P(0x140), P(0x40), H(0x1000), -EEXIST),
		SET(2, 0, P(0x80), P(0x200), H(0x1000), -EEXIST),
		SET(2, 0, P(0x80), P(0x81), H(0x1000), -EEXIST),
		SET(2, 0, P(0x1ff), P(0x101), H(0x1000), -EEXIST),
		/* A single page at either end. */
		SET(2, 0, P(0x100), P(1), H(0x1000), -EEXIST),
		SET(2, 0, P(0x1ff), P(1), H(0x1000), -EEXIST),
		/* Overlap wins over a readonly or logging flag. */
		SET(2, RO | LOG, P(0x150), P(1), H(0x1000), -EEXIST),
		NR(1), GEN(1),
		/* Touching at either end is not overlapping. */
		SET(2, 0, P(0xf0), P(0x10), H(0x1000), 0),
		SET(3, 0, P(0x200), P(0x10), H(0x2000), 0),
		NR(3), HIT(0xff, 2), HIT(0x100, 1), HIT(0x1ff, 1), HIT(0x200, 3),
	} },
	{ "overlap_gap", {
		SET(1, 0, P(0x100), P(0x100), H(0), 0),
		SET(2, 0, P(0x300), P(0x100), H(0x1000), 0),
		/* One page too many at either side of the gap [0x200, 0x300). */
		SET(3, 0, P(0x1ff), P(0x101), H(0x2000), -EEXIST),
		SET(3, 0, P(0x200), P(0x101), H(0x2000), -EEXIST),
		/* Spanning several slots. */
		SET(3, 0, P(0), P(0x1000), H(0x2000), -EEXIST),
		SET(3, 0, P(0x180), P(0x200), H(0x2000), -EEXIST),
		/* The gap exactly. */
		SET(3, 0, P(0x200), P(0x100), H(0x2000), 0),
		NR(3), HIT(0x1ff, 1), HIT(0x200, 3), HIT(0x2ff, 3), HIT(0x300, 2),
		MISS(0x400), MISS(0xff),
	} },
	{ "delete", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, 0, P(0x100), 0, H(0), 0),
		NR(0), GEN(2), MISS(0x100), UNMAPS(1, 0x100),
		SET(1, 0, P(0x100), 0, H(0), -EINVAL),
		SET(7, 0, 0, 0, 0, -EINVAL),
		NR(0), GEN(2), UNMAPS(1, 0x100),
		/* The id can be reused, anywhere. */
		SET(1, 0, P(0x500), P(0x10), H(0x40), 0), HIT(0x500, 1),
	} },
	{ "delete_ignores_other_fields", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(2, 0, P(0x200), P(0x10), H(0x10), 0),
		/* Address, host address and valid flags need not match. */
		SET(1, RO | LOG, P(0x9000), 0, H(0x77), 0),
		SET(2, 0, 0, 0, 0, 0),
		NR(0), UNMAPS(2, 0x200),
	} },
	{ "delete_keeps_others", {
		SET(3, 0, P(0x300), P(0x10), H(0x300), 0),
		SET(1, 0, P(0x100), P(0x10), H(0x100), 0),
		SET(2, 0, P(0x200), P(0x10), H(0x200), 0),
		SET(2, 0, 0, 0, 0, 0), UNMAPS(1, 0x200),
		HIT(0x100, 1), MISS(0x200), HIT(0x30f, 3), NR(2),
		SET(1, 0, 0, 0, 0, 0), UNMAPS(2, 0x100),
		MISS(0x100), HIT(0x300, 3), NR(1),
		SET(3, 0, 0, 0, 0, 0), NR(0), MISS(0x300),
	} },
	{ "move_to_free_space", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, 0, P(0x300), P(0x10), H(0), 0),
		NR(1), GEN(2), UNMAPS(1, 0x100),
		MISS(0x100), HIT(0x300, 1), HIT(0x30f, 1), HVA(0x305, H(5)),
		/* Down again, below where it started. */
		SET(1, 0, P(0x10), P(0x10), H(0), 0), UNMAPS(2, 0x300),
		HIT(0x10, 1), MISS(0x300),
	} },
	{ "move_onto_other_slot", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(2, 0, P(0x200), P(0x10), H(0x10), 0),
		SET(1, 0, P(0x200), P(0x10), H(0), -EEXIST),
		SET(1, 0, P(0x208), P(0x10), H(0), -EEXIST),
		SET(1, 0, P(0x1f1), P(0x10), H(0), -EEXIST),
		NR(2), GEN(2), UNMAPS(0, 0), HIT(0x100, 1), HIT(0x200, 2),
		/* Right next to it is fine. */
		SET(1, 0, P(0x1f0), P(0x10), H(0), 0), UNMAPS(1, 0x100),
		HIT(0x1ff, 1), HIT(0x200, 2),
	} },
	{ "move_over_itself", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, 0, P(0x108), P(0x10), H(0), 0), UNMAPS(1, 0x100),
		HIT(0x117, 1), MISS(0x107),
		SET(1, 0, P(0xf8), P(0x10), H(0), 0), UNMAPS(2, 0x108),
		HIT(0xf8, 1), MISS(0x108), NR(1),
	} },
	{ "move_reorders", {
		SET(1, 0, P(0x100), P(0x10), H(0x100), 0),
		SET(2, 0, P(0x200), P(0x10), H(0x200), 0),
		SET(3, 0, P(0x300), P(0x10), H(0x300), 0),
		/* Last to first, first to last, middle past the end. */
		SET(3, 0, P(0x10), P(0x10), H(0x300), 0),
		SET(3, 0, P(0x1000), P(0x10), H(0x300), 0),
		SET(2, 0, P(0x2000), P(0x10), H(0x200), 0),
		HIT(0x100, 1), HIT(0x1000, 3), HIT(0x2000, 2), MISS(0x200),
		MISS(0x300), MISS(0x10), NR(3), UNMAPS(3, 0x200),
	} },
	{ "move_with_flags", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, LOG, P(0x200), P(0x10), H(0), 0),
		FLAGS(1, LOG), HIT(0x200, 1), UNMAPS(1, 0x100),
	} },
	{ "flags_flip", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(2, RO, P(0x200), P(0x10), H(0x10), 0),
		SET(1, LOG, P(0x100), P(0x10), H(0), 0),
		FLAGS(1, LOG), GEN(3), UNMAPS(0, 0), HIT(0x100, 1),
		SET(2, RO | LOG, P(0x200), P(0x10), H(0x10), 0),
		FLAGS(2, RO | LOG), GEN(4),
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		FLAGS(1, 0), GEN(5), UNMAPS(0, 0), NR(2),
	} },
	{ "no_change_is_noop", {
		SET(1, LOG, P(0x100), P(0x10), H(0), 0),
		SET(1, LOG, P(0x100), P(0x10), H(0), 0),
		SET(1, LOG, P(0x100), P(0x10), H(0), 0),
		GEN(1), NR(1), UNMAPS(0, 0),
	} },
	{ "readonly_flip_refused", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, RO, P(0x100), P(0x10), H(0), -EINVAL),
		SET(1, RO, P(0x400), P(0x10), H(0), -EINVAL),
		SET(2, RO, P(0x200), P(0x10), H(0x10), 0),
		SET(2, 0, P(0x200), P(0x10), H(0x10), -EINVAL),
		SET(2, LOG, P(0x200), P(0x10), H(0x10), -EINVAL),
		FLAGS(1, 0), FLAGS(2, RO), GEN(2),
	} },
	{ "size_change_refused", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, 0, P(0x100), P(0x11), H(0), -EINVAL),
		SET(1, 0, P(0x100), P(0xf), H(0), -EINVAL),
		SET(1, 0, P(0x400), P(0x20), H(0), -EINVAL),
		/* Even when the bigger slot would overlap: -EINVAL comes first. */
		SET(2, 0, P(0x110), P(0x10), H(0x10), 0),
		SET(1, 0, P(0x100), P(0x20), H(0), -EINVAL),
		HIT(0x10f, 1), MISS(0x120), GEN(2),
	} },
	{ "hva_change_refused", {
		SET(1, 0, P(0x100), P(0x10), H(0), 0),
		SET(1, 0, P(0x100), P(0x10), H(1), -EINVAL),
		SET(1, 0, P(0x200), P(0x10), H(0x10), -EINVAL),
		SET(1, LOG, P(0x100), P(0x10), H(0x10), -EINVAL),
		HVA(0x100, H(0)), FLAGS(1, 0), GEN(1),
	} },
	{ "max_gfn", {
		MAX_GFN(0xfffff),
		SET(1, 0, P(0xfff00), P(0x100), H(0), 0),
		SET(2, 0, P(0x100000), P(1), H(0x100), -EINVAL),
		SET(2, 0, P(0xffff0), P(0x20), H(0x100), -EEXIST),
		SET(2, 0, P(0x200000), P(1), H(0x100), -EINVAL),
		SET(1, 0, P(0xfff01), P(0x100), H(0), -EINVAL),
		SET(1, 0, P(0xffe00), P(0x100), H(0), 0),
		HIT(0xffeff, 1), MISS(0xfff00), NR(1),
		/* Flags and deletes need no room. */
		SET(1, LOG, P(0xffe00), P(0x100), H(0), 0),
		SET(1, 0, 0, 0, 0, 0), NR(0),
	} },
};

static void run_scenario(const struct scenario *sc)
{
	struct unmap_log log = { 0 };
	struct kvmf_umem mem;
	const struct op *op;

	if (kvmf_umem_init(&mem)) {
		FAIL("out of memory");
		return;
	}
	for (op = sc->ops; op->kind != OP_END; op++) {
		const struct kvmf_memslot *s;
		long r;

		switch (op->kind) {
		case OP_SET:
			r = set_region(&mem, &log, op->slot, op->flags, op->gpa,
				       op->size, op->hva);
			if (r != op->expect)
				FAIL("line %d: request gave %ld, expected %ld",
				     op->line, r, op->expect);
			if (!check_invariants(mem.set))
				FAIL("line %d: invariants broken", op->line);
			break;
		case OP_FIND:
			s = kvmf_memslot_find_gfn(mem.set, op->gfn);
			if ((s ? (long)s->id : NO_SLOT) != op->expect)
				FAIL("line %d: gfn 0x%" PRIx64 " found slot %ld, expected %ld",
				     op->line, (uint64_t)op->gfn,
				     s ? (long)s->id : NO_SLOT, op->expect);
			break;
		case OP_HVA:
			s = kvmf_memslot_find_gfn(mem.set, op->gfn);
			if (!s || kvmf_memslot_gfn_to_hva(s, op->gfn) != op->hva)
				FAIL("line %d: gfn 0x%" PRIx64 " has the wrong hva",
				     op->line, (uint64_t)op->gfn);
			break;
		case OP_FLAGS:
			s = kvmf_memslot_find_id(mem.set, op->slot);
			if (!s || s->flags != op->flags)
				FAIL("line %d: slot %u flags 0x%x, expected 0x%x",
				     op->line, op->slot, s ? s->flags : ~0U,
				     op->flags);
			break;
		case OP_NR:
			if ((long)mem.set->nr != op->expect)
				FAIL("line %d: %u slots, expected %ld", op->line,
				     mem.set->nr, op->expect);
			break;
		case OP_GEN:
			if (mem.set->generation != (u64)op->expect)
				FAIL("line %d: generation %" PRIu64 ", expected %ld",
				     op->line, (uint64_t)mem.set->generation,
				     op->expect);
			break;
		case OP_UNMAPS:
			if ((long)log.count != op->expect ||
			    (log.count && log.last.base_gfn != op->gfn))
				FAIL("line %d: %u unmaps (last at 0x%" PRIx64
				     "), expected %ld at 0x%" PRIx64, op->line, log.count,
				     (uint64_t)log.last.base_gfn, op->expect,
				     (uint64_t)op->gfn);
			break;
		case OP_MAX_GFN:
			mem.max_gfn = op->gfn;
			break;
		case OP_END:
			break;
		}
	}
	kvmf_umem_destroy(&mem);
}

/* ---- randomised cases -------------------------------------------------- */

#define BIG_NR		10000
#define BIG_LOOKUPS	200000

static const struct kvmf_memslot *linear_find(const struct kvmf_memslots *set,
					      u64 gfn)
{
	u32 i;

	for (i = 0; i < set->nr; i++) {
		const struct kvmf_memslot *s = kvmf_memslots_by_id(set)[i];

		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

static void shuffle(u32 *a, u32 n)
{
	u32 i;

	for (i = n; i > 1; i--) {
		u32 j = rnd_below(i), t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Random gfns near slot edges (where mistakes live) and anywhere. */
static u64 random_probe(const struct kvmf_memslots *set, u64 top)
{
	const struct kvmf_memslot *s;

	if (!set->nr || rnd_below(4) == 0)
		return rnd_below(top + 2);
	s = kvmf_memslots_by_gfn(set)[rnd_below(set->nr)];
	switch (rnd_below(5)) {
	case 0:
		return s->base_gfn;
	case 1:
		return s->base_gfn - 1;
	case 2:
		return s->base_gfn + s->npages - 1;
	case 3:
		return s->base_gfn + s->npages;
	default:
		return s->base_gfn + rnd_below(s->npages);
	}
}

static void check_lookups(const struct kvmf_memslots *set, u64 top,
			  unsigned int n)
{
	unsigned int i, bad = 0;

	for (i = 0; i < n; i++) {
		u64 gfn = random_probe(set, top);

		if (kvmf_memslot_find_gfn(set, gfn) != linear_find(set, gfn) &&
		    bad++ < 5)
			FAIL("gfn 0x%" PRIx64 ": binary and linear search differ",
			     (uint64_t)gfn);
	}
}

static void test_many_slots(void)
{
	static u32 ids[KVMF_USER_MEM_SLOTS], order[BIG_NR];
	static u64 base[BIG_NR], npages[BIG_NR];
	struct unmap_log log = { 0 };
	struct kvmf_umem mem;
	u64 gfn = 0;
	u32 i;
	long r;

	/* Ranges in increasing order, 1..64 pages with 0..3 pages of gap. */
	for (i = 0; i < BIG_NR; i++) {
		gfn += rnd_below(4);
		base[i] = gfn;
		npages[i] = 1 + rnd_below(64);
		gfn += npages[i];
		order[i] = i;
	}
	for (i = 0; i < KVMF_USER_MEM_SLOTS; i++)
		ids[i] = i;
	shuffle(ids, KVMF_USER_MEM_SLOTS);
	shuffle(order, BIG_NR);

	if (kvmf_umem_init(&mem)) {
		FAIL("out of memory");
		return;
	}
	/* Inserted in random order, under random ids. */
	for (i = 0; i < BIG_NR; i++) {
		u32 k = order[i];

		r = set_region(&mem, &log, ids[k], 0, P(base[k]), P(npages[k]),
			       H(base[k]));
		if (r) {
			FAIL("slot %u: %ld", ids[k], r);
			goto out;
		}
	}
	EXPECT(mem.set->nr == BIG_NR, "%u slots", mem.set->nr);
	EXPECT(mem.set->generation == BIG_NR, "generation %" PRIu64,
	       (uint64_t)mem.set->generation);
	check_invariants(mem.set);
	check_lookups(mem.set, gfn, BIG_LOOKUPS);

	for (i = 0; i < BIG_NR; i++) {
		const struct kvmf_memslot *s = kvmf_memslot_find_id(mem.set, ids[i]);

		if (!s || s->base_gfn != base[i] || s->npages != npages[i]) {
			FAIL("slot %u not found by id", ids[i]);
			break;
		}
	}
	EXPECT(!kvmf_memslot_find_id(mem.set, ids[BIG_NR]), "unused id found");

	/* Every range refuses a newcomer on top of it. */
	for (i = 0; i < BIG_NR; i += 97) {
		r = set_region(&mem, &log, ids[BIG_NR], 0,
			       P(base[i] + npages[i] - 1), P(1), H(0));
		EXPECT(r == -EEXIST, "overlap on slot %u gave %ld", ids[i], r);
	}

	/* Delete every other slot, in random order, and look again. */
	for (i = 0; i < BIG_NR; i++) {
		u32 k = order[i];

		if (k % 2)
			continue;
		r = set_region(&mem, &log, ids[k], 0, 0, 0, 0);
		if (r) {
			FAIL("delete of slot %u: %ld", ids[k], r);
			goto out;
		}
	}
	EXPECT(mem.set->nr == BIG_NR / 2, "%u slots", mem.set->nr);
	EXPECT(log.count == BIG_NR / 2, "%u unmaps", log.count);
	check_invariants(mem.set);
	check_lookups(mem.set, gfn, BIG_LOOKUPS);
out:
	kvmf_umem_destroy(&mem);
}

/*
 * Random requests in a small space of ids and gfns, so that overlaps,
 * moves and refusals are frequent, each checked against a naive model that
 * keeps slots by id and scans them all.
 */
#define MODEL_IDS	16
#define MODEL_GFNS	256
#define MODEL_STEPS	50000

struct model_slot {
	bool used;
	u32 flags;
	u64 base, npages, hva;
};

static long model_apply(struct model_slot *m, u32 id, u32 flags, u64 base,
			u64 npages, u64 hva)
{
	struct model_slot *old = &m[id];
	u32 i;

	if (!npages) {
		if (!old->used)
			return -EINVAL;
		old->used = false;
		return 0;
	}
	if (old->used) {
		if (old->hva != hva || old->npages != npages ||
		    (old->flags & RO) != (flags & RO))
			return -EINVAL;
		if (old->base == base) {
			old->flags = flags;
			return 0;
		}
	}
	for (i = 0; i < MODEL_IDS; i++) {
		if (i == id || !m[i].used)
			continue;
		if (base < m[i].base + m[i].npages && m[i].base < base + npages)
			return -EEXIST;
	}
	*old = (struct model_slot){ true, flags, base, npages, hva };
	return 0;
}

static void test_random_vs_model(void)
{
	struct model_slot model[MODEL_IDS] = { 0 };
	struct unmap_log log = { 0 };
	unsigned int step, bad = 0;
	struct kvmf_umem mem;

	if (kvmf_umem_init(&mem)) {
		FAIL("out of memory");
		return;
	}
	for (step = 0; step < MODEL_STEPS && bad < 5; step++) {
		u32 id = rnd_below(MODEL_IDS);
		u32 flags = rnd_below(4);
		u64 base = rnd_below(MODEL_GFNS);
		u64 npages = rnd_below(5) ? 1 + rnd_below(16) : 0;
		/* Mostly the slot's own host address and size, to move it. */
		u64 hva = H(id * 0x100 + rnd_below(3) / 2);
		struct model_slot *ms = &model[id];
		long want, got;
		u32 i;

		if (ms->used && rnd_below(2)) {
			npages = ms->npages;
			hva = ms->hva;
			if (rnd_below(3) == 0)
				base = ms->base;
			if (rnd_below(2))
				flags = (flags & LOG) | (ms->flags & RO);
		}
		want = model_apply(model, id, flags, base, npages, hva);
		got = set_region(&mem, &log, id, flags, P(base), P(npages), hva);
		if (want != got) {
			FAIL("step %u: slot %u gfn 0x%" PRIx64 "+0x%" PRIx64 " gave %ld, model %ld",
			     step, id, (uint64_t)base, (uint64_t)npages, got, want);
			bad++;
		}
		if (!check_invariants(mem.set)) {
			bad++;
			continue;
		}
		for (i = 0; i < MODEL_IDS; i++) {
			const struct kvmf_memslot *s = kvmf_memslot_find_id(mem.set, i);
			const struct model_slot *e = &model[i];

			if (!e->used != !s ||
			    (s && (s->base_gfn != e->base || s->npages != e->npages ||
				   s->flags != e->flags || s->userspace_addr != e->hva))) {
				FAIL("step %u: slot %u differs from the model", step, i);
				bad++;
				break;
			}
		}
		check_lookups(mem.set, MODEL_GFNS + 16, 8);
	}
	kvmf_umem_destroy(&mem);
}

/* ---- runner ------------------------------------------------------------ */

/* Host byte ranges to slot frames, as the MMU notifier needs them. */
static void test_hva_range(void)
{
	/* Frames 100..109 backed by host pages 1000..1009. */
	const struct kvmf_memslot slot = {
		.id = 1, .base_gfn = 100, .npages = 10, .userspace_addr = H(1000),
	};
	static const struct {
		u64 start, end;		/* host bytes, end exclusive */
		bool hit;
		u64 gfn, npages;
	} cases[] = {
		{ H(1000), H(1010), true, 100, 10 },		/* exactly the slot */
		{ 0, ~0ULL, true, 100, 10 },			/* everything */
		{ H(990), H(1000), false, 0, 0 },		/* just below */
		{ H(1010), H(1020), false, 0, 0 },		/* just above */
		{ H(1009), H(1010), true, 109, 1 },		/* the last page */
		{ H(1003) + 5, H(1003) + 6, true, 103, 1 },	/* one byte */
		{ H(1003) + 5, H(1005) + 1, true, 103, 3 },	/* unaligned both ends */
		{ H(995), H(1001), true, 100, 1 },		/* overlapping the start */
		{ H(1009) + 4095, H(2000), true, 109, 1 },	/* the last byte on */
		{ H(1004), H(1004), false, 0, 0 },		/* empty */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 gfn = 0, npages = 0;
		bool hit = kvmf_memslot_hva_range(&slot, cases[i].start, cases[i].end, &gfn,
						  &npages);

		EXPECT(hit == cases[i].hit, "case %u: hit %d", i, hit);
		if (hit && cases[i].hit)
			EXPECT(gfn == cases[i].gfn && npages == cases[i].npages,
			       "case %u: [%llu, +%llu)", i, (unsigned long long)gfn,
			       (unsigned long long)npages);
	}
}

/* KVM_CLEAR_DIRTY_LOG ranges, for a slot of 253 pages (a partial last word). */
static void test_clear_range(void)
{
	static const struct {
		u64 first;
		u32 num;
		int err;
	} cases[] = {
		{ 0, 64, 0 }, { 0, 0, 0 }, { 192, 61, 0 }, { 0, 253, 0 }, { 128, 125, 0 },
		{ 0, 63, -EINVAL },		/* partial word, not at the end */
		{ 192, 60, -EINVAL },
		{ 192, 64, -EINVAL },		/* past the end */
		{ 0, 256, -EINVAL },
		{ 256, 0, -EINVAL },		/* starts past the end */
		{ 253, 0, -EINVAL },
		{ ~0ULL - 63, 128, -EINVAL },	/* would wrap */
		{ 0, 0xffffffc0, -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = kvmf_memslot_check_clear_range(253, cases[i].first, cases[i].num);

		EXPECT(err == cases[i].err, "first %llu num %u: %d, expected %d",
		       (unsigned long long)cases[i].first, cases[i].num, err, cases[i].err);
	}
}

struct fn_case {
	const char *name;
	void (*fn)(void);
};

static const struct fn_case fn_cases[] = {
	{ "many_slots_random", test_many_slots },
	{ "random_requests_vs_model", test_random_vs_model },
	{ "hva_range", test_hva_range },
	{ "clear_dirty_log_range", test_clear_range },
};

static void report(unsigned int n, const char *name, unsigned int *passed,
		   unsigned int *failed)
{
	if (case_failures) {
		printf("not ok %u %s\n", n, name);
		(*failed)++;
	} else {
		printf("ok %u %s\n", n, name);
		(*passed)++;
	}
	case_failures = 0;
}

int main(void)
{
	unsigned int total = ARRAY_SIZE(scenarios) + ARRAY_SIZE(fn_cases);
	unsigned int passed = 0, failed = 0, n = 0;
	const char *seed = getenv("MEMSLOT_SEED");
	size_t i;

	if (seed)
		rng_state = strtoull(seed, NULL, 0) | 1;

	printf("KTAP version 1\n");
	printf("1..%u\n", total);
	printf("# memslot: seed 0x%" PRIx64 "\n", (uint64_t)rng_state);
	for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
		run_scenario(&scenarios[i]);
		report(++n, scenarios[i].name, &passed, &failed);
	}
	for (i = 0; i < ARRAY_SIZE(fn_cases); i++) {
		fn_cases[i].fn();
		report(++n, fn_cases[i].name, &passed, &failed);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
