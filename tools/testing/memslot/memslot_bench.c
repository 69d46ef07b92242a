// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (not a test) of the pure memslot set logic: the cost of a gfn
 * lookup (binary search, random gfns, about half of them hits) and of one
 * slot insertion (check, plan, allocate, build the new sorted arrays, free
 * the old set) for sets of 1 to 10 000 slots.  Lookups should grow with
 * log2(n), insertions with n.  A linear scan is timed next to the binary
 * search for comparison.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "memslot_user.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define SLOT_PAGES	16
#define PROBES		(1U << 16)	/* distinct random gfns, reused */
#define LOOKUPS		(1U << 24)
#define INSERTS		2000

static u64 rng_state = 0x853c49e6748fea9bULL;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long set_region(struct kvmf_umem *mem, u32 id, u64 base_gfn, u64 npages)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.guest_phys_addr = base_gfn << PAGE_SHIFT,
		.memory_size = npages << PAGE_SHIFT,
		.userspace_addr = 0x7f0000000000ULL + (base_gfn << PAGE_SHIFT),
	};

	return kvmf_umem_set_region(mem, &r, NULL, NULL);
}

/* The linear alternative, over the id-sorted half. */
static const struct kvmf_memslot *linear_find(const struct kvmf_memslots *set,
					      u64 gfn)
{
	struct kvmf_memslot *const *s = kvmf_memslots_by_id(set);
	u32 i;

	for (i = 0; i < set->nr; i++)
		if (gfn >= s[i]->base_gfn && gfn - s[i]->base_gfn < s[i]->npages)
			return s[i];
	return NULL;
}

static void bench(u32 n)
{
	static u64 probes[PROBES];
	struct kvmf_umem mem;
	double t0, lookup_ns, linear_ns, insert_ns = 0;
	unsigned long hits = 0, sum = 0;
	u32 *order, i, rounds;
	u64 top;

	/*
	 * Slots of SLOT_PAGES pages, every other slot-sized stretch left empty
	 * so that misses fall between slots as well as outside; inserted in
	 * random order.
	 */
	order = malloc(n * sizeof(*order));
	if (!order || kvmf_umem_init(&mem))
		exit(1);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n; i > 1; i--) {
		u32 j = rnd() % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		if (set_region(&mem, i, (u64)order[i] * 2 * SLOT_PAGES, SLOT_PAGES))
			exit(1);
	top = (u64)n * 2 * SLOT_PAGES;
	for (i = 0; i < PROBES; i++)
		probes[i] = rnd() % top;

	t0 = now_ns();
	for (i = 0; i < LOOKUPS; i++) {
		const struct kvmf_memslot *s =
			kvmf_memslot_find_gfn(mem.set, probes[i % PROBES]);

		if (s) {
			hits++;
			sum += s->id;
		}
	}
	lookup_ns = (now_ns() - t0) / LOOKUPS;

	/* The linear scan is slow on big sets: fewer rounds there. */
	rounds = LOOKUPS / (n > 100 ? n / 16 : 1);
	t0 = now_ns();
	for (i = 0; i < rounds; i++) {
		const struct kvmf_memslot *s =
			linear_find(mem.set, probes[i % PROBES]);

		sum += s ? s->id : 0;
	}
	linear_ns = (now_ns() - t0) / rounds;

	/* One insertion into the n-slot set, undone (untimed) each round. */
	for (i = 0; i < INSERTS; i++) {
		u64 gfn = (u64)(rnd() % n) * 2 * SLOT_PAGES + SLOT_PAGES;

		t0 = now_ns();
		if (set_region(&mem, n, gfn, SLOT_PAGES))
			exit(1);
		insert_ns += now_ns() - t0;
		if (set_region(&mem, n, 0, 0))
			exit(1);
	}
	insert_ns /= INSERTS;

	printf("%6u slots: lookup %6.1f ns (%4.1f%% hits), linear scan %9.1f ns, insert %9.1f ns\n",
	       n, lookup_ns, 100.0 * hits / LOOKUPS, linear_ns, insert_ns);
	/* Keeps the lookups from being optimised away. */
	if (sum == 1)
		printf("\n");
	kvmf_umem_destroy(&mem);
	free(order);
}

int main(void)
{
	static const u32 sizes[] = { 1, 10, 100, 1000, 10000 };
	size_t i;

	printf("memslot set: %u random lookups per size, %u insertions\n",
	       LOOKUPS, INSERTS);
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		bench(sizes[i]);
	return 0;
}
