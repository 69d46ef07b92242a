// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the vCPU-independent rules of nested SVM (nested_checks.c),
 * part of kvmfork-test.ko, never of kvmfork.ko.  nested_checks.c is compiled
 * into this object by the #include below, so the test checks exactly the
 * code the module runs.
 *
 * Every rule is checked with two machines, MAXPHYADDR 48 and 40, so that
 * the cases whose answer depends on MAXPHYADDR show it.  The expected values
 * (map sizes, bit positions, encodings) are written out from the APM here,
 * not taken from nested_checks.c, so that a wrong constant there fails.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "nested_checks.c"

/* APM: "I/O Intercepts" and "MSR Intercepts": 12 KiB and 8 KiB maps. */
#define NC_IOPM_BYTES		0x3000ull
#define NC_MSRPM_BYTES		0x2000ull
/* Default PAT: WB, WT, UC-, UC, twice. */
#define NC_PAT_DEFAULT		0x0007040600070406ull

#define NC_CR4_ALLOWED	(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_DE | \
			 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE | \
			 X86_CR4_FSGSBASE)

static const struct svm_nested_limits nc_limits48 = {
	.phys_bits = 48,
	.cr4_allowed = NC_CR4_ALLOWED,
};

static const struct svm_nested_limits nc_limits40 = {
	.phys_bits = 40,
	.cr4_allowed = NC_CR4_ALLOWED,
};

/* A VMCB12 that VMRUN accepts: L2 in 64-bit mode, with L1's mandatory controls. */
static void nc_vmcb12_init(struct vmcb *v)
{
	memset(v, 0, sizeof(*v));
	vmcb_set_intercept(&v->control, SVM_I_VMRUN);
	v->control.asid = 1;
	v->control.iopm_base_pa = 0x100000;
	v->control.msrpm_base_pa = 0x200000;

	v->save.efer = EFER_LME | EFER_LMA | EFER_SVME;
	v->save.cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_ET;
	v->save.cr4 = X86_CR4_PAE;
	v->save.cr3 = 0x1000;
	v->save.dr6 = 0xffff0ff0;
	v->save.dr7 = 0x400;
	v->save.rflags = X86_EFLAGS_FIXED;
	/* A 64-bit code segment: present, S, execute/read accessed, L. */
	v->save.cs.attrib = 0xb | VMCB_ATTR_S | VMCB_ATTR_P | VMCB_ATTR_L;
	v->save.g_pat = NC_PAT_DEFAULT;
}

static struct vmcb *nc_vmcb12_alloc(struct kunit *test)
{
	struct vmcb *v = kunit_kzalloc(test, sizeof(*v), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, v);
	nc_vmcb12_init(v);
	return v;
}

static void nested_checks_valid_vmcb12_test(struct kunit *test)
{
	struct vmcb *v = nc_vmcb12_alloc(test);

	KUNIT_EXPECT_TRUE(test, svm_nested_save_valid(&nc_limits48, &v->save));
	KUNIT_EXPECT_TRUE(test, svm_nested_save_valid(&nc_limits40, &v->save));
	KUNIT_EXPECT_TRUE(test, svm_nested_controls_valid(&nc_limits48, &v->control));
	KUNIT_EXPECT_TRUE(test, svm_nested_controls_valid(&nc_limits40, &v->control));
}

/*
 * One change to the valid save area: bits set and cleared in EFER, CR0, CR4,
 * DR6, DR7 and CS's attributes, CR3 replaced when @cr3 is not 0; and what
 * VMRUN must answer with MAXPHYADDR 48 and 40.
 */
struct nc_save_case {
	const char *what;
	u64 efer_set, efer_clear;
	u64 cr0_set, cr0_clear;
	u64 cr4_set, cr4_clear;
	u64 dr6_set, dr7_set;
	u16 cs_set, cs_clear;
	u64 cr3;
	bool ok48, ok40;
};

#define NC_LEGACY	(EFER_LME | EFER_LMA)

static const struct nc_save_case nc_save_cases[] = {
	{ "unchanged", .ok48 = true, .ok40 = true },
	{ "EFER.SVME clear", .efer_clear = EFER_SVME },
	{ "EFER bit 63", .efer_set = BIT_ULL(63) },
	{ "EFER bit 20", .efer_set = BIT_ULL(20) },
	{ "EFER.SCE and NXE", .efer_set = EFER_SCE | EFER_NX, .ok48 = true, .ok40 = true },
	{ "CR0.NW without CD", .cr0_set = X86_CR0_NW },
	{ "CR0.CD without NW", .cr0_set = X86_CR0_CD, .ok48 = true, .ok40 = true },
	{ "CR0.CD and NW", .cr0_set = X86_CR0_CD | X86_CR0_NW, .ok48 = true, .ok40 = true },
	{ "CR0 bit 32", .cr0_set = BIT_ULL(32) },
	{ "CR0 bit 63", .cr0_set = BIT_ULL(63) },
	{ "CR4.VMXE, not allowed", .cr4_set = X86_CR4_VMXE },
	{ "CR4 bit 32, not allowed", .cr4_set = BIT_ULL(32) },
	{ "CR4.PGE and OSXSAVE, allowed", .cr4_set = X86_CR4_PGE | X86_CR4_OSXSAVE,
	  .ok48 = true, .ok40 = true },
	{ "DR6 bit 32", .dr6_set = BIT_ULL(32) },
	{ "DR6 bit 63", .dr6_set = BIT_ULL(63) },
	{ "DR7 bit 32", .dr7_set = BIT_ULL(32) },
	{ "DR7 bit 63", .dr7_set = BIT_ULL(63) },
	{ "DR6 and DR7 low halves all ones", .dr6_set = 0xffffffff, .dr7_set = 0xffffffff,
	  .ok48 = true, .ok40 = true },
	{ "long mode without CR4.PAE", .cr4_clear = X86_CR4_PAE },
	{ "long mode without CR0.PE", .cr0_clear = X86_CR0_PE },
	{ "CS.L with CS.D", .cs_set = VMCB_ATTR_DB },
	{ "CS.D without CS.L (compatibility mode)", .cs_set = VMCB_ATTR_DB,
	  .cs_clear = VMCB_ATTR_L, .ok48 = true, .ok40 = true },
	{ "CR3 at 2^48", .cr3 = BIT_ULL(48) },
	{ "CR3 at 2^48 - 4 KiB", .cr3 = BIT_ULL(48) - 0x1000, .ok48 = true },
	{ "CR3 at 2^40", .cr3 = BIT_ULL(40), .ok48 = true },
	{ "CR3 at 2^40 - 4 KiB", .cr3 = BIT_ULL(40) - 0x1000, .ok48 = true, .ok40 = true },
	{ "legacy paging without PAE", .efer_clear = NC_LEGACY, .cr4_clear = X86_CR4_PAE,
	  .cs_clear = VMCB_ATTR_L, .ok48 = true, .ok40 = true },
	{ "EFER.LME without paging, PE or PAE", .efer_clear = EFER_LMA,
	  .cr0_clear = X86_CR0_PG | X86_CR0_PE, .cr4_clear = X86_CR4_PAE,
	  .cs_clear = VMCB_ATTR_L, .ok48 = true, .ok40 = true },
};

static void nested_checks_save_test(struct kunit *test)
{
	struct vmcb *v = nc_vmcb12_alloc(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nc_save_cases); i++) {
		const struct nc_save_case *c = &nc_save_cases[i];
		struct vmcb_save_area *s = &v->save;

		nc_vmcb12_init(v);
		s->efer = (s->efer & ~c->efer_clear) | c->efer_set;
		s->cr0 = (s->cr0 & ~c->cr0_clear) | c->cr0_set;
		s->cr4 = (s->cr4 & ~c->cr4_clear) | c->cr4_set;
		s->dr6 |= c->dr6_set;
		s->dr7 |= c->dr7_set;
		s->cs.attrib = (s->cs.attrib & ~c->cs_clear) | c->cs_set;
		if (c->cr3)
			s->cr3 = c->cr3;
		KUNIT_EXPECT_EQ_MSG(test, svm_nested_save_valid(&nc_limits48, s), c->ok48,
				    "%s, MAXPHYADDR 48", c->what);
		KUNIT_EXPECT_EQ_MSG(test, svm_nested_save_valid(&nc_limits40, s), c->ok40,
				    "%s, MAXPHYADDR 40", c->what);
	}
}

static void nested_checks_controls_test(struct kunit *test)
{
	struct vmcb *v = nc_vmcb12_alloc(test);
	struct vmcb_control_area *c = &v->control;

	vmcb_clear_intercept(c, SVM_I_VMRUN);
	KUNIT_EXPECT_FALSE(test, svm_nested_controls_valid(&nc_limits48, c));

	nc_vmcb12_init(v);
	c->asid = 0;
	KUNIT_EXPECT_FALSE(test, svm_nested_controls_valid(&nc_limits48, c));
	c->asid = ~0u;
	KUNIT_EXPECT_TRUE(test, svm_nested_controls_valid(&nc_limits48, c));

	/* An invalid EVENTINJ fails VMRUN too. */
	nc_vmcb12_init(v);
	c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | X86_TRAP_NMI;
	KUNIT_EXPECT_FALSE(test, svm_nested_controls_valid(&nc_limits48, c));
	c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | X86_TRAP_PF |
		       SVM_EVTINJ_ERROR_VALID;
	KUNIT_EXPECT_TRUE(test, svm_nested_controls_valid(&nc_limits48, c));
}

/*
 * The last byte of the IOPM (12 KiB) and MSRPM (8 KiB) must lie below
 * 2^MAXPHYADDR; the low 12 bits of their addresses are ignored.
 */
/* One map at @base (@bytes long) in a VMCB12 @v whose other fields are valid. */
static void nc_map_check(struct kunit *test, const struct svm_nested_limits *l,
			 struct vmcb *v, u64 *base, u64 bytes, const char *name)
{
	const u64 top = BIT_ULL(l->phys_bits);
	unsigned int pb = l->phys_bits;

	nc_vmcb12_init(v);
	*base = top - bytes;
	KUNIT_EXPECT_TRUE_MSG(test, svm_nested_controls_valid(l, &v->control),
			      "%s ends at 2^%u", name, pb);
	*base = top - bytes + 0xfff;
	KUNIT_EXPECT_TRUE_MSG(test, svm_nested_controls_valid(l, &v->control),
			      "%s ends at 2^%u, low bits set", name, pb);
	*base = top - bytes + 0x1000;
	KUNIT_EXPECT_FALSE_MSG(test, svm_nested_controls_valid(l, &v->control),
			       "%s ends 4 KiB past 2^%u", name, pb);
	*base = top;
	KUNIT_EXPECT_FALSE_MSG(test, svm_nested_controls_valid(l, &v->control),
			       "%s at 2^%u", name, pb);
}

static void nc_maps_check(struct kunit *test, const struct svm_nested_limits *l)
{
	struct vmcb *v = nc_vmcb12_alloc(test);

	nc_map_check(test, l, v, &v->control.iopm_base_pa, NC_IOPM_BYTES, "IOPM");
	nc_map_check(test, l, v, &v->control.msrpm_base_pa, NC_MSRPM_BYTES, "MSRPM");
}

static void nested_checks_permission_maps_test(struct kunit *test)
{
	struct vmcb *v = nc_vmcb12_alloc(test);

	nc_maps_check(test, &nc_limits48);
	nc_maps_check(test, &nc_limits40);

	/* A map that fits below 2^48 but not below 2^40. */
	v->control.iopm_base_pa = BIT_ULL(40) - 0x1000;
	KUNIT_EXPECT_TRUE(test, svm_nested_controls_valid(&nc_limits48, &v->control));
	KUNIT_EXPECT_FALSE(test, svm_nested_controls_valid(&nc_limits40, &v->control));

	/* At the top of the 64-bit space: the end must not wrap around to pass. */
	v->control.iopm_base_pa = 0xfffffffffffff000ull;
	KUNIT_EXPECT_FALSE(test, svm_nested_controls_valid(&nc_limits48, &v->control));
	v->control.iopm_base_pa = 0;
	v->control.msrpm_base_pa = 0xfffffffffffff000ull;
	KUNIT_EXPECT_FALSE(test, svm_nested_controls_valid(&nc_limits48, &v->control));
}

#define NC_EVTINJ(type)	(SVM_EVTINJ_VALID | ((u32)(type) << SVM_EVTINJ_TYPE_SHIFT))

static const struct {
	const char *what;
	u32 event;
	bool ok;
} nc_event_cases[] = {
	{ "not valid", 0, true },
	{ "not valid, type 7 vector 2", (7u << SVM_EVTINJ_TYPE_SHIFT) | 2, true },
	{ "INTR 0x20", NC_EVTINJ(0) | 0x20, true },
	{ "INTR 0xff", NC_EVTINJ(0) | 0xff, true },
	{ "NMI", NC_EVTINJ(2) | X86_TRAP_NMI, true },
	{ "SOFT_INT 0x80", NC_EVTINJ(4) | 0x80, true },
	{ "EXCEPTION 2 (NMI)", NC_EVTINJ(3) | 2, false },
	{ "EXCEPTION 32", NC_EVTINJ(3) | 32, false },
	{ "EXCEPTION 0xff", NC_EVTINJ(3) | 0xff, false },
	{ "type 1", NC_EVTINJ(1) | 0x20, false },
	{ "type 5", NC_EVTINJ(5) | 0x20, false },
	{ "type 6", NC_EVTINJ(6) | 0x20, false },
	{ "type 7", NC_EVTINJ(7) | 0x20, false },
};

static void nested_checks_event_inj_test(struct kunit *test)
{
	unsigned int i;
	u32 vector;

	/* The encodings as the APM gives them ("Event Injection"). */
	KUNIT_EXPECT_EQ(test, NC_EVTINJ(0), SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR);
	KUNIT_EXPECT_EQ(test, NC_EVTINJ(2), SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI);
	KUNIT_EXPECT_EQ(test, NC_EVTINJ(3), SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION);
	KUNIT_EXPECT_EQ(test, NC_EVTINJ(4), SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_SOFT_INT);

	for (i = 0; i < ARRAY_SIZE(nc_event_cases); i++)
		KUNIT_EXPECT_EQ_MSG(test, svm_nested_event_inj_valid(nc_event_cases[i].event),
				    nc_event_cases[i].ok, "%s", nc_event_cases[i].what);

	for (vector = 0; vector < 32; vector++) {
		u32 event = NC_EVTINJ(3) | vector;

		KUNIT_EXPECT_EQ_MSG(test, svm_nested_event_inj_valid(event), vector != 2,
				    "EXCEPTION %u", vector);
		KUNIT_EXPECT_EQ_MSG(test,
				    svm_nested_event_inj_valid(event | SVM_EVTINJ_ERROR_VALID),
				    vector != 2, "EXCEPTION %u with an error code", vector);
	}
}

static void nested_checks_l1_save_test(struct kunit *test)
{
	struct vmcb *v = nc_vmcb12_alloc(test);
	struct vmcb_save_area *s = &v->save;

	KUNIT_EXPECT_TRUE(test, svm_nested_l1_save_valid(&nc_limits48, s));
	/* Legacy protected mode with paging will do too. */
	s->efer &= ~(EFER_LMA | EFER_LME);
	s->cs.attrib &= ~VMCB_ATTR_L;
	KUNIT_EXPECT_TRUE(test, svm_nested_l1_save_valid(&nc_limits48, s));

	/* States VMRUN accepts for L2 but L1, which ran VMRUN, cannot be in. */
	s->cr0 &= ~X86_CR0_PG;
	KUNIT_EXPECT_TRUE(test, svm_nested_save_valid(&nc_limits48, s));
	KUNIT_EXPECT_FALSE(test, svm_nested_l1_save_valid(&nc_limits48, s));
	s->cr0 &= ~X86_CR0_PE;
	KUNIT_EXPECT_TRUE(test, svm_nested_save_valid(&nc_limits48, s));
	KUNIT_EXPECT_FALSE(test, svm_nested_l1_save_valid(&nc_limits48, s));
	s->cr0 |= X86_CR0_PE | X86_CR0_PG;
	s->rflags |= X86_EFLAGS_VM;
	KUNIT_EXPECT_TRUE(test, svm_nested_save_valid(&nc_limits48, s));
	KUNIT_EXPECT_FALSE(test, svm_nested_l1_save_valid(&nc_limits48, s));

	/* Paging without protection. */
	s->rflags &= ~X86_EFLAGS_VM;
	s->cr0 &= ~X86_CR0_PE;
	KUNIT_EXPECT_FALSE(test, svm_nested_l1_save_valid(&nc_limits48, s));

	/* And everything VMRUN checks. */
	nc_vmcb12_init(v);
	s->efer &= ~EFER_SVME;
	KUNIT_EXPECT_FALSE(test, svm_nested_l1_save_valid(&nc_limits48, s));
	nc_vmcb12_init(v);
	s->cr3 = BIT_ULL(40);
	KUNIT_EXPECT_TRUE(test, svm_nested_l1_save_valid(&nc_limits48, s));
	KUNIT_EXPECT_FALSE(test, svm_nested_l1_save_valid(&nc_limits40, s));
}

static void nested_checks_npt_test(struct kunit *test)
{
	const u64 l1_efer = EFER_LME | EFER_LMA | EFER_SVME | EFER_NX;
	struct vmcb *v = nc_vmcb12_alloc(test);
	unsigned int byte, type;

	v->control.nested_cr3 = 0x5000;
	KUNIT_EXPECT_TRUE(test, svm_nested_npt_valid(&nc_limits48, l1_efer, v));
	KUNIT_EXPECT_TRUE(test, svm_nested_npt_valid(&nc_limits40, l1_efer, v));

	/* L1 outside long mode: LME alone does not make it active. */
	KUNIT_EXPECT_FALSE(test, svm_nested_npt_valid(&nc_limits48, EFER_SVME, v));
	KUNIT_EXPECT_FALSE(test, svm_nested_npt_valid(&nc_limits48, l1_efer & ~EFER_LMA, v));

	v->control.nested_cr3 = BIT_ULL(48);
	KUNIT_EXPECT_FALSE(test, svm_nested_npt_valid(&nc_limits48, l1_efer, v));
	v->control.nested_cr3 = BIT_ULL(48) - 0x1000;
	KUNIT_EXPECT_TRUE(test, svm_nested_npt_valid(&nc_limits48, l1_efer, v));
	v->control.nested_cr3 = BIT_ULL(40);
	KUNIT_EXPECT_TRUE(test, svm_nested_npt_valid(&nc_limits48, l1_efer, v));
	KUNIT_EXPECT_FALSE(test, svm_nested_npt_valid(&nc_limits40, l1_efer, v));
	v->control.nested_cr3 = BIT_ULL(40) - 0x1000;
	KUNIT_EXPECT_TRUE(test, svm_nested_npt_valid(&nc_limits40, l1_efer, v));

	/* Each byte of PAT: UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7; 2, 3 and 8 up are reserved. */
	v->control.nested_cr3 = 0x5000;
	for (byte = 0; byte < 8; byte++) {
		for (type = 0; type <= 8; type++) {
			u64 mask = 0xffull << (8 * byte);
			bool ok = type != 2 && type != 3 && type != 8;

			v->save.g_pat = (NC_PAT_DEFAULT & ~mask) | ((u64)type << (8 * byte));
			KUNIT_EXPECT_EQ_MSG(test, svm_nested_npt_valid(&nc_limits48, l1_efer, v),
					    ok, "PAT byte %u = %u", byte, type);
		}
		v->save.g_pat = NC_PAT_DEFAULT | (0xffull << (8 * byte));
		KUNIT_EXPECT_FALSE_MSG(test, svm_nested_npt_valid(&nc_limits48, l1_efer, v),
				       "PAT byte %u = 0xff", byte);
	}
}

/*
 * APM: "MSR Intercepts": three ranges of 0x2000 MSRs, 2 bits each (read,
 * then write), at byte offsets 0, 0x800 and 0x1000 of the map.
 */
static const struct {
	u32 index;
	bool write;
	bool inside;
	u64 bit;
} nc_msrpm_cases[] = {
	{ 0, false, true, 0 },
	{ 0, true, true, 1 },
	{ 0x1fff, false, true, 0x3ffe },
	{ 0x1fff, true, true, 0x3fff },
	{ 0x2000, false, false },
	{ 0x2000, true, false },
	{ 0xbfffffff, false, false },
	{ 0xbfffffff, true, false },
	{ 0xc0000000, false, true, 0x4000 },
	{ 0xc0000000, true, true, 0x4001 },
	{ MSR_EFER, false, true, 0x4100 },
	{ MSR_EFER, true, true, 0x4101 },
	{ 0xc0001fff, true, true, 0x7fff },
	{ 0xc0002000, false, false },
	{ 0xc0002000, true, false },
	{ 0xc000ffff, true, false },
	{ 0xc0010000, false, true, 0x8000 },
	{ 0xc0010000, true, true, 0x8001 },
	{ 0xc0011fff, false, true, 0xbffe },
	{ 0xc0011fff, true, true, 0xbfff },
	{ 0xc0012000, false, false },
	{ 0xc0012000, true, false },
	{ 0xffffffff, true, false },
};

static void nested_checks_msrpm_bit_test(struct kunit *test)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, MSR_EFER, 0xc0000080u);
	for (i = 0; i < ARRAY_SIZE(nc_msrpm_cases); i++) {
		u32 index = nc_msrpm_cases[i].index;
		bool write = nc_msrpm_cases[i].write;
		u64 bit = ~0ull;

		KUNIT_EXPECT_EQ_MSG(test, svm_nested_msrpm_bit(index, write, &bit),
				    nc_msrpm_cases[i].inside, "MSR %#x %s", index,
				    write ? "write" : "read");
		if (!nc_msrpm_cases[i].inside)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, bit, nc_msrpm_cases[i].bit, "MSR %#x %s", index,
				    write ? "write" : "read");
		/* Inside the 8 KiB map. */
		KUNIT_EXPECT_LT(test, nc_msrpm_cases[i].bit, NC_MSRPM_BYTES * 8);
	}
}

/* A nested state in guest mode that KVM_SET_NESTED_STATE accepts. */
static void nc_state_init(struct kvm_nested_state *h)
{
	memset(h, 0, sizeof(*h));
	h->format = KVM_STATE_NESTED_FORMAT_SVM;
	h->flags = KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET;
	h->size = sizeof(*h) + KVM_STATE_NESTED_SVM_VMCB_SIZE;
	h->hdr.svm.vmcb_pa = 0x10000;
}

static void nested_checks_state_header_test(struct kunit *test)
{
	const struct svm_nested_limits *l = &nc_limits48;
	struct kvm_nested_state h;

	KUNIT_EXPECT_EQ(test, KVM_STATE_NESTED_SVM_VMCB_SIZE, 4096);
	nc_state_init(&h);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), 0);
	h.flags |= KVM_STATE_NESTED_RUN_PENDING;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), 0);

	/* Malformed whatever EFER.SVME says. */
	nc_state_init(&h);
	h.format = KVM_STATE_NESTED_FORMAT_VMX;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), -EINVAL);
	nc_state_init(&h);
	h.format = 2;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	nc_state_init(&h);
	h.flags |= KVM_STATE_NESTED_EVMCS;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	nc_state_init(&h);
	h.flags |= KVM_STATE_NESTED_MTF_PENDING;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	nc_state_init(&h);
	h.flags = 0x8000;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), -EINVAL);
	nc_state_init(&h);
	h.flags = 0;
	h.size = sizeof(h) - 1;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), -EINVAL);
	nc_state_init(&h);
	h.flags = KVM_STATE_NESTED_RUN_PENDING;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), -EINVAL);

	/* Without EFER.SVME: no guest mode, GIF either way, the header alone. */
	nc_state_init(&h);
	h.size = sizeof(h);
	h.flags = 0;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), 0);
	h.flags = KVM_STATE_NESTED_GIF_SET;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), 0);
	nc_state_init(&h);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, false), -EINVAL);

	/* With EFER.SVME, outside guest mode: the header alone. */
	nc_state_init(&h);
	h.flags = KVM_STATE_NESTED_GIF_SET;
	h.size = sizeof(h);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), 0);

	/* In guest mode: a page-aligned VMCB12 below MAXPHYADDR, and its copy. */
	nc_state_init(&h);
	h.hdr.svm.vmcb_pa = 0x10008;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	h.hdr.svm.vmcb_pa = 0x10800;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	h.hdr.svm.vmcb_pa = BIT_ULL(48);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	h.hdr.svm.vmcb_pa = BIT_ULL(48) - 0x1000;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), 0);
	h.hdr.svm.vmcb_pa = BIT_ULL(40);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), 0);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(&nc_limits40, &h, true), -EINVAL);
	h.hdr.svm.vmcb_pa = BIT_ULL(40) - 0x1000;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(&nc_limits40, &h, true), 0);
	nc_state_init(&h);
	h.size = sizeof(h) + KVM_STATE_NESTED_SVM_VMCB_SIZE - 1;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	h.size = sizeof(h);
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), -EINVAL);
	h.size = sizeof(h) + KVM_STATE_NESTED_SVM_VMCB_SIZE + 1;
	KUNIT_EXPECT_EQ(test, svm_nested_state_check(l, &h, true), 0);
}

static struct kunit_case nested_checks_cases[] = {
	KUNIT_CASE(nested_checks_valid_vmcb12_test),
	KUNIT_CASE(nested_checks_save_test),
	KUNIT_CASE(nested_checks_controls_test),
	KUNIT_CASE(nested_checks_permission_maps_test),
	KUNIT_CASE(nested_checks_event_inj_test),
	KUNIT_CASE(nested_checks_l1_save_test),
	KUNIT_CASE(nested_checks_npt_test),
	KUNIT_CASE(nested_checks_msrpm_bit_test),
	KUNIT_CASE(nested_checks_state_header_test),
	{}
};

static struct kunit_suite nested_checks_suite = {
	.name = "kvmf_svm_nested_checks",
	.test_cases = nested_checks_cases,
};

kunit_test_suite(nested_checks_suite);
