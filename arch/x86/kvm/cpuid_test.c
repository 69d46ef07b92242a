// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the guest CPUID logic (cpuid.c), part of kvmfork-test.ko,
 * never of kvmfork.ko.  cpuid.c is compiled into this object by the
 * #include below, so its adjustment table is visible here.
 *
 * kvmf_cpuid_adjust() is pure: it is fed made-up register values and must
 * clear exactly the hidden bits and zero the hidden leaves.  kvmf_x86_cpuid()
 * is checked on a fake vCPU: without a table it answers the host's CPUID
 * (read here on the same CPU) as adjusted, with KVM's paravirtual leaves,
 * the guest's APIC id and the "hypervisor present" bit; with a table set by
 * KVM_SET_CPUID2 it answers from the table only.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "cpuid.c"

struct cpuid_regs4 {
	u32 r[4];
};

static const u32 cpuid_patterns[] = { 0, ~0u, 0x55555555, 0xaaaaaaaa, 0x12345678 };

/* What the table says register @reg of @leaf must clear and set. */
static void cpuid_table_masks(u32 leaf, unsigned int reg, u32 *clear, u32 *set)
{
	unsigned int i;

	*clear = 0;
	*set = 0;
	for (i = 0; i < ARRAY_SIZE(kvmf_cpuid_adjustments); i++) {
		if (kvmf_cpuid_adjustments[i].leaf != leaf ||
		    kvmf_cpuid_adjustments[i].reg != reg)
			continue;
		*clear |= kvmf_cpuid_adjustments[i].clear;
		*set |= kvmf_cpuid_adjustments[i].set;
	}
}

/* No entry both clears and sets a bit, or names a register past EDX. */
static void cpuid_table_consistent_test(struct kunit *test)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(kvmf_cpuid_adjustments); i++) {
		const struct kvmf_cpuid_adjust *a = &kvmf_cpuid_adjustments[i];

		KUNIT_EXPECT_LE_MSG(test, a->reg, CPUID_EDX, "entry %u", i);
		KUNIT_EXPECT_EQ_MSG(test, a->clear & a->set, 0u, "entry %u", i);
		KUNIT_EXPECT_NE_MSG(test, a->clear | a->set, 0u,
				    "entry %u does nothing", i);
		/* A hidden leaf is zeroed whole: an entry for it would be dead. */
		KUNIT_EXPECT_FALSE_MSG(test, kvmf_cpuid_leaf_hidden(a->leaf),
				       "entry %u", i);
		/* Entries for the same register must not undo each other. */
		for (j = i + 1; j < ARRAY_SIZE(kvmf_cpuid_adjustments); j++) {
			const struct kvmf_cpuid_adjust *b = &kvmf_cpuid_adjustments[j];

			if (a->leaf != b->leaf || a->reg != b->reg)
				continue;
			KUNIT_EXPECT_EQ_MSG(test, a->clear & b->set, 0u,
					    "entries %u and %u", i, j);
			KUNIT_EXPECT_EQ_MSG(test, a->set & b->clear, 0u,
					    "entries %u and %u", i, j);
		}
	}
}

/* Made-up inputs: the table's bits change, no other bit does. */
static void cpuid_adjust_table_test(struct kunit *test)
{
	unsigned int i, p, reg;

	for (i = 0; i < ARRAY_SIZE(kvmf_cpuid_adjustments); i++) {
		u32 leaf = kvmf_cpuid_adjustments[i].leaf;

		for (p = 0; p < ARRAY_SIZE(cpuid_patterns); p++) {
			struct cpuid_regs4 v;

			for (reg = CPUID_EAX; reg <= CPUID_EDX; reg++)
				v.r[reg] = cpuid_patterns[p] ^ (reg * 0x01010101u);
			kvmf_cpuid_adjust(leaf, v.r);
			for (reg = CPUID_EAX; reg <= CPUID_EDX; reg++) {
				u32 in = cpuid_patterns[p] ^ (reg * 0x01010101u);
				u32 clear, set;

				cpuid_table_masks(leaf, reg, &clear, &set);
				KUNIT_EXPECT_EQ_MSG(test, v.r[reg], (in & ~clear) | set,
						    "leaf %#x reg %u in %#x", leaf, reg, in);
			}
		}
	}
}

/* What a guest relies on, spelled out rather than read from the table. */
static void cpuid_adjust_known_bits_test(struct kunit *test)
{
	struct cpuid_regs4 v;

	memset(&v, 0xff, sizeof(v));
	kvmf_cpuid_adjust(1, v.r);
	/* No VMX, MONITOR, x2APIC or TSC deadline to offer. */
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & BIT(5));
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & BIT(3));
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & BIT(21));
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & BIT(24));
	/* The APIC id field is left for the vCPU's own id. */
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX] >> 24, 0u);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX] & 0xffffff, 0xffffffu);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EAX], ~0u);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EDX], ~0u);

	/* No nested SVM yet: the SVM bit and the whole SVM leaf are hidden. */
	memset(&v, 0xff, sizeof(v));
	kvmf_cpuid_adjust(0x80000001, v.r);
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & BIT(2));
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EDX], ~0u);
	memset(&v, 0xff, sizeof(v));
	kvmf_cpuid_adjust(0x8000000a, v.r);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EAX] | v.r[CPUID_EBX] | v.r[CPUID_ECX] |
			v.r[CPUID_EDX], 0u);

	/* A leaf the table does not name passes untouched. */
	memset(&v, 0xa5, sizeof(v));
	kvmf_cpuid_adjust(0x80000008, v.r);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EAX] & v.r[CPUID_EBX] & v.r[CPUID_ECX] &
			v.r[CPUID_EDX], 0xa5a5a5a5u);
}

static struct kvmf_vcpu *cpuid_vcpu(struct kunit *test, u32 vcpu_id)
{
	struct kvmf_vcpu *vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	vcpu->vcpu_id = vcpu_id;
	return vcpu;
}

/*
 * The guest's answer for @leaf in *g and the host's in *h, both read on the
 * same CPU (some leaves differ between CPUs).
 */
static void cpuid_both(struct kvmf_vcpu *vcpu, u32 leaf, u32 subleaf,
		       struct cpuid_regs4 *h, struct cpuid_regs4 *g)
{
	/* Poison: every register must be written. */
	memset(g, 0xa5, sizeof(*g));
	preempt_disable();
	kvmf_x86_cpuid(vcpu, leaf, subleaf, g->r);
	cpuid_count(leaf, subleaf, &h->r[CPUID_EAX], &h->r[CPUID_EBX],
		    &h->r[CPUID_ECX], &h->r[CPUID_EDX]);
	preempt_enable();
}

/* Without a table: the host's CPUID as adjusted, per leaf. */
static void cpuid_no_table_test(struct kunit *test)
{
	static const struct { u32 leaf, subleaf; } leaves[] = {
		{ 0, 0 }, { 7, 0 }, { 0xa, 0 }, { 0xd, 0 }, { 0xd, 1 },
		{ 0x80000000, 0 }, { 0x80000001, 0 }, { 0x80000008, 0 },
		{ 0x8000000a, 0 },
	};
	struct kvmf_vcpu *vcpu = cpuid_vcpu(test, 3);
	struct cpuid_regs4 h, g;
	unsigned int i, reg;

	for (i = 0; i < ARRAY_SIZE(leaves); i++) {
		cpuid_both(vcpu, leaves[i].leaf, leaves[i].subleaf, &h, &g);
		kvmf_cpuid_adjust(leaves[i].leaf, h.r);
		kvmf_cpuid_xsave(leaves[i].leaf, leaves[i].subleaf, h.r);
		for (reg = CPUID_EAX; reg <= CPUID_EDX; reg++)
			KUNIT_EXPECT_EQ_MSG(test, g.r[reg], h.r[reg], "leaf %#x.%u reg %u",
					    leaves[i].leaf, leaves[i].subleaf, reg);
	}
	/* The test VM's CPU has SVM, so hiding it is really exercised. */
	cpuid_both(vcpu, 0x80000001, 0, &h, &g);
	KUNIT_EXPECT_TRUE(test, h.r[CPUID_ECX] & BIT(2));
	KUNIT_EXPECT_FALSE(test, g.r[CPUID_ECX] & BIT(2));
}

/* Without a table, leaf 1 carries the vCPU's APIC id and "hypervisor". */
static void cpuid_no_table_leaf1_test(struct kunit *test)
{
	static const u32 ids[] = { 0, 1, 7, 255, 256, 4095 };
	struct cpuid_regs4 h, g;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		cpuid_both(cpuid_vcpu(test, ids[i]), 1, 0, &h, &g);
		KUNIT_EXPECT_EQ_MSG(test, g.r[CPUID_EBX] >> 24, ids[i] & 0xff,
				    "vcpu %u", ids[i]);
		KUNIT_EXPECT_EQ(test, g.r[CPUID_EBX] & 0xffffff, h.r[CPUID_EBX] & 0xffffff);
		KUNIT_EXPECT_TRUE(test, g.r[CPUID_ECX] & BIT(31));
		kvmf_cpuid_adjust(1, h.r);
		kvmf_cpuid_xsave(1, 0, h.r);
		KUNIT_EXPECT_EQ(test, g.r[CPUID_ECX] & ~BIT(31), h.r[CPUID_ECX] & ~BIT(31));
		KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX], h.r[CPUID_EAX]);
		KUNIT_EXPECT_EQ(test, g.r[CPUID_EDX], h.r[CPUID_EDX]);
	}
}

/* KVM's paravirtual range: the signature, then zeros to its very end. */
static void cpuid_pv_leaves_test(struct kunit *test)
{
	static const u32 zero_leaves[] = { 0x40000002, 0x40000100, 0x4fffffff };
	struct kvmf_vcpu *vcpu = cpuid_vcpu(test, 0);
	struct cpuid_regs4 h, g;
	char sig[13] = { };
	unsigned int i;

	cpuid_both(vcpu, 0x40000000, 0, &h, &g);
	KUNIT_EXPECT_GE(test, g.r[CPUID_EAX], 0x40000001u);
	memcpy(sig, &g.r[CPUID_EBX], 4);
	memcpy(sig + 4, &g.r[CPUID_ECX], 4);
	memcpy(sig + 8, &g.r[CPUID_EDX], 4);
	KUNIT_EXPECT_STREQ(test, sig, "KVMKVMKVM");

	/* The PV features: kvmclock only (both MSR sets, and the stable-bit feature). */
	cpuid_both(vcpu, 0x40000001, 0, &h, &g);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX], BIT(KVM_FEATURE_CLOCKSOURCE) |
			BIT(KVM_FEATURE_CLOCKSOURCE2) | BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT));
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EBX] | g.r[CPUID_ECX] | g.r[CPUID_EDX], 0u);

	for (i = 0; i < ARRAY_SIZE(zero_leaves); i++) {
		cpuid_both(vcpu, zero_leaves[i], 0, &h, &g);
		KUNIT_EXPECT_EQ_MSG(test, g.r[CPUID_EAX] | g.r[CPUID_EBX] | g.r[CPUID_ECX] |
				    g.r[CPUID_EDX], 0u, "leaf %#x", zero_leaves[i]);
	}
	/* Just outside the range, the host's answer comes through. */
	cpuid_both(vcpu, 0x3fffffff, 0, &h, &g);
	kvmf_cpuid_adjust(0x3fffffff, h.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX], h.r[CPUID_EAX]);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EBX], h.r[CPUID_EBX]);
}

/* With a table (KVM_SET_CPUID2): its entries, by index where it matters. */
static void cpuid_table_lookup_test(struct kunit *test)
{
	struct kvmf_vcpu *vcpu = cpuid_vcpu(test, 5);
	struct kvmf_cpuid_table *t;
	struct cpuid_regs4 g;

	t = kunit_kzalloc(test, struct_size(t, entries, 3), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->nent = 3;
	t->entries[0] = (struct kvm_cpuid_entry2) {
		.function = 1, .eax = 0x11, .ebx = 0x22, .ecx = 0x33, .edx = 0x44,
	};
	t->entries[1] = (struct kvm_cpuid_entry2) {
		.function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.eax = 0x71,
	};
	t->entries[2] = (struct kvm_cpuid_entry2) {
		.function = 0x40000000, .eax = 0x40000001, .ebx = 0x12345678,
	};
	vcpu->arch.cpuid = t;

	/* Exactly the entry: no APIC id, no "hypervisor" bit added. */
	kvmf_x86_cpuid(vcpu, 1, 0, g.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX], 0x11u);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EBX], 0x22u);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_ECX], 0x33u);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EDX], 0x44u);
	/* Without the index flag, any subleaf matches. */
	kvmf_x86_cpuid(vcpu, 1, 9, g.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX], 0x11u);
	/* With it, only its own. */
	kvmf_x86_cpuid(vcpu, 7, 1, g.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX], 0x71u);
	memset(&g, 0xa5, sizeof(g));
	kvmf_x86_cpuid(vcpu, 7, 0, g.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX] | g.r[CPUID_EBX] | g.r[CPUID_ECX] |
			g.r[CPUID_EDX], 0u);
	/* The table's paravirtual leaf, not kvmfork's own. */
	kvmf_x86_cpuid(vcpu, 0x40000000, 0, g.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EBX], 0x12345678u);
	/* A leaf the table lacks: zeros, as on AMD. */
	memset(&g, 0xa5, sizeof(g));
	kvmf_x86_cpuid(vcpu, 0x80000001, 0, g.r);
	KUNIT_EXPECT_EQ(test, g.r[CPUID_EAX] | g.r[CPUID_EBX] | g.r[CPUID_ECX] |
			g.r[CPUID_EDX], 0u);
}

/* Runs kvmf_cpuid_xsave() on all-ones registers with @xcr0 offered. */
static void cpuid_xsave_with(u64 xcr0, u32 leaf, u32 subleaf, struct cpuid_regs4 *v)
{
	u64 saved = kvmf_cpuid_guest_xcr0;

	memset(v, 0xff, sizeof(*v));
	kvmf_cpuid_guest_xcr0 = xcr0;
	kvmf_cpuid_xsave(leaf, subleaf, v->r);
	kvmf_cpuid_guest_xcr0 = saved;
}

/*
 * XSAVE as offered: hidden with nothing to offer, the AVX instructions only
 * with AVX state, leaf 0xD naming exactly the offered components.
 */
static void cpuid_xsave_test(struct kunit *test)
{
	const u64 fpsse = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	const u64 avx = fpsse | XFEATURE_MASK_YMM;
	struct cpuid_regs4 v;

	cpuid_xsave_with(0, 1, 0, &v);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_ECX] & (LEAF1_ECX_XSAVE | LEAF1_ECX_AVX_STATE), 0u);
	cpuid_xsave_with(0, 7, 0, &v);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX] & LEAF7_EBX_AVX_STATE, 0u);
	cpuid_xsave_with(0, 0xd, 0, &v);
	KUNIT_EXPECT_EQ(test, v.r[0] | v.r[1] | v.r[2] | v.r[3], 0u);

	cpuid_xsave_with(fpsse, 1, 0, &v);
	KUNIT_EXPECT_TRUE(test, v.r[CPUID_ECX] & LEAF1_ECX_XSAVE);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_ECX] & LEAF1_ECX_AVX_STATE, 0u);
	cpuid_xsave_with(fpsse, 0xd, 0, &v);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EAX], 3u);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EDX], 0u);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX], (u32)XSAVE_BASE_SIZE);
	cpuid_xsave_with(fpsse, 0xd, 2, &v);
	KUNIT_EXPECT_EQ(test, v.r[0] | v.r[1] | v.r[2] | v.r[3], 0u);

	cpuid_xsave_with(avx, 1, 0, &v);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_ECX] & (LEAF1_ECX_XSAVE | LEAF1_ECX_AVX_STATE),
			LEAF1_ECX_XSAVE | LEAF1_ECX_AVX_STATE);
	cpuid_xsave_with(avx, 0xd, 1, &v);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EAX], LEAFD1_EAX_OFFERED);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX] | v.r[CPUID_ECX] | v.r[CPUID_EDX], 0u);
	/* A component not offered, and one past the last bit. */
	cpuid_xsave_with(avx, 0xd, 9, &v);
	KUNIT_EXPECT_EQ(test, v.r[0] | v.r[1] | v.r[2] | v.r[3], 0u);
	cpuid_xsave_with(avx, 0xd, 64, &v);
	KUNIT_EXPECT_EQ(test, v.r[0] | v.r[1] | v.r[2] | v.r[3], 0u);
}

/* OSXSAVE follows CR4 where XSAVE is offered; leaf 0xD.0 EBX follows XCR0. */
static void cpuid_runtime_test(struct kunit *test)
{
	struct cpuid_regs4 v = { { 0, 0, LEAF1_ECX_XSAVE, 0 } };

	kvmf_x86_cpuid_runtime(1, 0, X86_CR4_OSXSAVE, 1, v.r);
	KUNIT_EXPECT_TRUE(test, v.r[CPUID_ECX] & LEAF1_ECX_OSXSAVE);
	kvmf_x86_cpuid_runtime(1, 0, 0, 1, v.r);
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & LEAF1_ECX_OSXSAVE);
	/* A table without XSAVE never gets OSXSAVE, whatever CR4 says. */
	v.r[CPUID_ECX] = LEAF1_ECX_OSXSAVE;
	kvmf_x86_cpuid_runtime(1, 0, X86_CR4_OSXSAVE, 1, v.r);
	KUNIT_EXPECT_FALSE(test, v.r[CPUID_ECX] & LEAF1_ECX_OSXSAVE);

	v = (struct cpuid_regs4) { { 3, 1234, 1234, 0 } };
	kvmf_x86_cpuid_runtime(0xd, 0, X86_CR4_OSXSAVE, 3, v.r);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX], (u32)XSAVE_BASE_SIZE);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_ECX], 1234u);
	/* No components in the table: left alone. */
	v = (struct cpuid_regs4) { { 0, 1234, 0, 0 } };
	kvmf_x86_cpuid_runtime(0xd, 0, X86_CR4_OSXSAVE, 3, v.r);
	KUNIT_EXPECT_EQ(test, v.r[CPUID_EBX], 1234u);
}

static struct kunit_case cpuid_cases[] = {
	KUNIT_CASE(cpuid_xsave_test),
	KUNIT_CASE(cpuid_runtime_test),
	KUNIT_CASE(cpuid_table_consistent_test),
	KUNIT_CASE(cpuid_adjust_table_test),
	KUNIT_CASE(cpuid_adjust_known_bits_test),
	KUNIT_CASE(cpuid_no_table_test),
	KUNIT_CASE(cpuid_no_table_leaf1_test),
	KUNIT_CASE(cpuid_pv_leaves_test),
	KUNIT_CASE(cpuid_table_lookup_test),
	{}
};

static struct kunit_suite cpuid_suite = {
	.name = "kvmf_x86_cpuid",
	.test_cases = cpuid_cases,
};

kunit_test_suite(cpuid_suite);
