// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID for guests.
 *
 * The supported table (KVM_GET_SUPPORTED_CPUID) is the host's CPUID with
 * what kvmfork does not virtualize taken away, and KVM's paravirtual leaves
 * at 0x40000000.  A VMM gives each vCPU its table with KVM_SET_CPUID2 (and,
 * as on KVM, sets the "hypervisor present" bit itself); until it does, the
 * guest sees the supported values computed on the fly, with that bit and
 * its own APIC id (KVM answers zeros then; see the README).  After the first KVM_RUN the table may only be set again to the
 * same contents, as on KVM.
 *
 * Locking: a vCPU's table is replaced under vcpu->mutex and read by the
 * vCPU itself (its CPUID exits) under the same mutex.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/types.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* <asm/cpufeature.h> names the four result registers CPUID_EAX .. CPUID_EDX (0-3). */

/* KVM's limit on entries in one table (KVM_MAX_CPUID_ENTRIES). */
#define KVMF_MAX_CPUID_ENTRIES	256

struct kvmf_cpuid_adjust {
	u32 leaf;
	u8 reg;
	u32 clear;
	u32 set;
};

/*
 * Leaf 1 ECX: MONITOR(3), VMX(5), X2APIC(21), TSC_DEADLINE(24) hidden, and
 * OSXSAVE(27), which is the guest's CR4.OSXSAVE at run time.  XSAVE and
 * what needs its state: see kvmf_cpuid_xsave().
 */
#define LEAF1_ECX_HIDDEN	(BIT(3) | BIT(5) | BIT(21) | BIT(24) | BIT(27))
#define LEAF1_ECX_XSAVE		BIT(26)
#define LEAF1_ECX_OSXSAVE	BIT(27)
/* Leaf 1 ECX FMA(12), AVX(28), F16C(29) and leaf 7 EBX AVX2(5) work on AVX state. */
#define LEAF1_ECX_AVX_STATE	(BIT(12) | BIT(28) | BIT(29))
#define LEAF7_EBX_AVX_STATE	BIT(5)
/*
 * Leaf 0xD.1 EAX: XSAVEOPT(0), XSAVEC(1), XGETBV with ECX=1 (2) run natively
 * on the guest's XCR0; XSAVES and XFD need MSRs kvmfork does not have.
 */
#define LEAFD1_EAX_OFFERED	(BIT(0) | BIT(1) | BIT(2))
/* The legacy area and the header that start every XSAVE area. */
#define XSAVE_BASE_SIZE		576
#define LEAF1_ECX_HYPERVISOR	BIT(31)
/* Leaf 1 EBX[31:24]: initial APIC id, replaced by the vCPU id. */
#define LEAF1_EBX_APIC_ID	GENMASK(31, 24)
/* Leaf 7 EBX: AVX-512 (16, 17, 21, 26-28, 30, 31). */
#define LEAF7_EBX_HIDDEN	(BIT(16) | BIT(17) | BIT(21) | GENMASK(28, 26) | BIT(30) | BIT(31))
/* Leaf 7 ECX: AVX-512 VBMI(1), PKU(3), OSPKE(4), VBMI2(6), VAES/VPCLMUL(9, 10), AVX-512 (11, 12, 14). */
#define LEAF7_ECX_HIDDEN	(BIT(1) | BIT(3) | BIT(4) | BIT(6) | BIT(9) | BIT(10) | \
				 BIT(11) | BIT(12) | BIT(14))
/* Leaf 7 EDX: AVX-512 4VNNIW/4FMAPS(2, 3), VP2INTERSECT(8), FP16(23). */
#define LEAF7_EDX_HIDDEN	(BIT(2) | BIT(3) | BIT(8) | BIT(23))
/* Leaf 0x80000001 ECX: SVM(2) (the vendor hook offers nested SVM), XOP(11), FMA4(16). */
#define EXT1_ECX_HIDDEN		(BIT(2) | BIT(11) | BIT(16))

static const struct kvmf_cpuid_adjust kvmf_cpuid_adjustments[] = {
	{ 0x00000001, CPUID_ECX, LEAF1_ECX_HIDDEN, 0 },
	{ 0x00000001, CPUID_EBX, LEAF1_EBX_APIC_ID, 0 },
	{ 0x00000007, CPUID_EBX, LEAF7_EBX_HIDDEN, 0 },
	{ 0x00000007, CPUID_ECX, LEAF7_ECX_HIDDEN, 0 },
	{ 0x00000007, CPUID_EDX, LEAF7_EDX_HIDDEN, 0 },
	{ 0x80000001, CPUID_ECX, EXT1_ECX_HIDDEN, 0 },
};

/* Leaves whose every register kvmfork zeroes: PMU, SVM (unless nested). */
static bool kvmf_cpuid_leaf_hidden(u32 leaf)
{
	return leaf == 0xa || leaf == 0x8000000a;
}

/* Leaves whose ECX input (subleaf) selects the output. */
static bool kvmf_cpuid_indexed(u32 leaf)
{
	switch (leaf) {
	case 0x4: case 0x7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14:
	case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f: case 0x8000001d:
	case 0x80000020:
		return true;
	default:
		return false;
	}
}

#define KVMF_CPUID_SIGNATURE	0x40000000
#define KVMF_CPUID_FEATURES	0x40000001

/*
 * KVM's paravirtual leaves: the "KVMKVMKVM" signature, and of the PV
 * features, kvmclock (both MSR numberings: kvmclock.c) with its "stable"
 * flag bit offered (kvmfork leaves the flag clear: the guest then keeps
 * its readings monotonic itself).
 */
static void kvmf_cpuid_pv_leaf(u32 leaf, u32 out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	if (leaf == KVMF_CPUID_FEATURES)
		out[CPUID_EAX] = BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_CLOCKSOURCE2) |
				 BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
	if (leaf == KVMF_CPUID_SIGNATURE) {
		out[CPUID_EAX] = KVMF_CPUID_FEATURES;
		memcpy(&out[CPUID_EBX], "KVMK", 4);
		memcpy(&out[CPUID_ECX], "VMKV", 4);
		memcpy(&out[CPUID_EDX], "M\0\0\0", 4);
	}
}

/* Applies the adjustment table to the host's answer for @leaf. */
void kvmf_cpuid_adjust(u32 leaf, u32 out[4])
{
	unsigned int i;

	if (kvmf_cpuid_leaf_hidden(leaf)) {
		out[0] = out[1] = out[2] = out[3] = 0;
		return;
	}
	for (i = 0; i < ARRAY_SIZE(kvmf_cpuid_adjustments); i++) {
		const struct kvmf_cpuid_adjust *a = &kvmf_cpuid_adjustments[i];

		if (a->leaf == leaf)
			out[a->reg] = (out[a->reg] & ~a->clear) | a->set;
	}
}

/*
 * What the vendor backend virtualizes on top (nested SVM's leaves), set
 * while the module is loaded; kvmfork-test.ko, which builds this file
 * alone, has none.
 */
static void (*kvmf_cpuid_vendor_hook)(u32 leaf, u32 out[4]);

void kvmf_x86_cpuid_set_vendor_hook(void (*hook)(u32 leaf, u32 out[4]))
{
	kvmf_cpuid_vendor_hook = hook;
}

/*
 * The XSAVE state components a guest may enable in XCR0 (fpu.c sets them
 * up with the module): 0 leaves XSAVE hidden, as in kvmfork-test.ko.
 */
static u64 kvmf_cpuid_guest_xcr0;

void kvmf_x86_cpuid_set_guest_xcr0(u64 xcr0)
{
	kvmf_cpuid_guest_xcr0 = xcr0;
}

/* Bytes of a standard-format XSAVE area for the components in @xcr0. */
static u32 kvmf_xsave_size(u64 xcr0)
{
	u32 size = XSAVE_BASE_SIZE, i, eax, ebx, ecx, edx;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		size = max(size, ebx + eax);
	}
	return size;
}

/*
 * XSAVE as the guest may have it: the XSAVE bit with any component offered,
 * the AVX instructions with AVX state, and leaf 0xD describing exactly the
 * offered components (subleaf 0: the mask and the largest area; subleaf 1:
 * the XSAVE variants kvmfork can let run; one subleaf per component).
 */
static void kvmf_cpuid_xsave(u32 leaf, u32 subleaf, u32 out[4])
{
	u64 xcr0 = kvmf_cpuid_guest_xcr0;

	switch (leaf) {
	case 1:
		if (!xcr0)
			out[CPUID_ECX] &= ~LEAF1_ECX_XSAVE;
		if (!(xcr0 & XFEATURE_MASK_YMM))
			out[CPUID_ECX] &= ~LEAF1_ECX_AVX_STATE;
		break;
	case 7:
		if (!(xcr0 & XFEATURE_MASK_YMM))
			out[CPUID_EBX] &= ~LEAF7_EBX_AVX_STATE;
		break;
	case 0xd:
		if (xcr0 && subleaf == 0) {
			out[CPUID_EAX] = lower_32_bits(xcr0);
			out[CPUID_EDX] = upper_32_bits(xcr0);
			out[CPUID_EBX] = out[CPUID_ECX] = kvmf_xsave_size(xcr0);
		} else if (xcr0 && subleaf == 1) {
			out[CPUID_EAX] &= LEAFD1_EAX_OFFERED;
			out[CPUID_EBX] = out[CPUID_ECX] = out[CPUID_EDX] = 0;
		} else if (subleaf >= 2 && subleaf < 64 && (xcr0 & BIT_ULL(subleaf))) {
			out[CPUID_EDX] = 0;
		} else {
			out[0] = out[1] = out[2] = out[3] = 0;
		}
		break;
	}
}

/*
 * What changes with the guest's state (KVM updates its copy of the table
 * the same way): OSXSAVE is CR4.OSXSAVE, and leaf 0xD.0 EBX the XSAVE area
 * size for the XCR0 the guest has set.
 */
void kvmf_x86_cpuid_runtime(u32 leaf, u32 subleaf, u64 cr4, u64 xcr0, u32 out[4])
{
	if (leaf == 1) {
		out[CPUID_ECX] &= ~LEAF1_ECX_OSXSAVE;
		if ((out[CPUID_ECX] & LEAF1_ECX_XSAVE) && (cr4 & X86_CR4_OSXSAVE))
			out[CPUID_ECX] |= LEAF1_ECX_OSXSAVE;
	}
	if (leaf == 0xd && subleaf == 0 && (out[CPUID_EAX] | out[CPUID_EDX]))
		out[CPUID_EBX] = kvmf_xsave_size(xcr0);
}

/* The supported value of one leaf (vCPU-independent). */
static void kvmf_cpuid_supported(u32 leaf, u32 subleaf, u32 out[4])
{
	if (leaf >= 0x40000000 && leaf <= 0x4fffffff) {
		kvmf_cpuid_pv_leaf(leaf, out);
		return;
	}
	cpuid_count(leaf, subleaf, &out[CPUID_EAX], &out[CPUID_EBX], &out[CPUID_ECX],
		    &out[CPUID_EDX]);
	kvmf_cpuid_adjust(leaf, out);
	kvmf_cpuid_xsave(leaf, subleaf, out);
	if (kvmf_cpuid_vendor_hook)
		kvmf_cpuid_vendor_hook(leaf, out);
}

static const struct kvm_cpuid_entry2 *kvmf_cpuid_find(const struct kvmf_cpuid_table *t,
						     u32 leaf, u32 subleaf)
{
	int i;

	for (i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->entries[i];

		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == subleaf))
			return e;
	}
	return NULL;
}

/* What the guest's CPUID instruction returns. */
void kvmf_x86_cpuid(struct kvmf_vcpu *vcpu, u32 leaf, u32 subleaf, u32 out[4])
{
	const struct kvmf_cpuid_table *t = vcpu->arch.cpuid;
	const struct kvm_cpuid_entry2 *e;

	if (!t) {
		kvmf_cpuid_supported(leaf, subleaf, out);
		if (leaf == 1) {
			out[CPUID_EBX] |= (vcpu->vcpu_id & 0xff) << 24;
			out[CPUID_ECX] |= LEAF1_ECX_HYPERVISOR;
		}
		return;
	}
	/* An AMD-style answer for leaves the table lacks: zeros. */
	e = kvmf_cpuid_find(t, leaf, subleaf);
	out[CPUID_EAX] = e ? e->eax : 0;
	out[CPUID_EBX] = e ? e->ebx : 0;
	out[CPUID_ECX] = e ? e->ecx : 0;
	out[CPUID_EDX] = e ? e->edx : 0;
}

/* Appends one supported entry; false when the table is full. */
static bool kvmf_cpuid_add(struct kvm_cpuid_entry2 *entries, u32 *n, u32 max, u32 leaf,
			   u32 subleaf)
{
	struct kvm_cpuid_entry2 *e;
	u32 out[4];

	if (*n >= max)
		return false;
	kvmf_cpuid_supported(leaf, subleaf, out);
	e = &entries[(*n)++];
	*e = (struct kvm_cpuid_entry2) {
		.function = leaf, .index = subleaf,
		.flags = kvmf_cpuid_indexed(leaf) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
		.eax = out[CPUID_EAX], .ebx = out[CPUID_EBX],
		.ecx = out[CPUID_ECX], .edx = out[CPUID_EDX],
	};
	return true;
}

/* How many subleaves of an indexed leaf exist (at least one). */
static u32 kvmf_cpuid_subleaves(u32 leaf)
{
	u32 out[4], n;

	switch (leaf) {
	case 0x7:
		kvmf_cpuid_supported(leaf, 0, out);
		return min_t(u32, out[CPUID_EAX] + 1, 4);
	case 0xd:
		/* Subleaves 0 and 1, then one per component up to the highest offered. */
		return kvmf_cpuid_guest_xcr0 ? max_t(u32, fls64(kvmf_cpuid_guest_xcr0), 2) : 1;
	case 0x4:
	case 0x8000001d:
		/* Cache descriptions end with a type-0 subleaf (not listed). */
		for (n = 0; n < 16; n++) {
			kvmf_cpuid_supported(leaf, n, out);
			if (!(out[CPUID_EAX] & 0x1f))
				break;
		}
		return max_t(u32, n, 1);
	case 0xb:
	case 0x1f:
		/* Topology levels end with a level of type 0 (listed, as on KVM). */
		for (n = 0; n < 8; n++) {
			kvmf_cpuid_supported(leaf, n, out);
			if (!((out[CPUID_ECX] >> 8) & 0xff))
				break;
		}
		return n + 1;
	default:
		return 1;
	}
}

/* Fills @entries with the supported table; returns the count or -E2BIG. */
static int kvmf_cpuid_build_supported(struct kvm_cpuid_entry2 *entries, u32 max)
{
	static const u32 ranges[][2] = {
		{ 0x00000000, 0x0000001f },
		{ KVMF_CPUID_SIGNATURE, KVMF_CPUID_FEATURES },
		{ 0x80000000, 0x80000021 },
	};
	u32 n = 0, r, leaf, sub, last, out[4];

	for (r = 0; r < ARRAY_SIZE(ranges); r++) {
		/* Leaf 0 and 0x80000000 say how far their ranges go. */
		kvmf_cpuid_supported(ranges[r][0], 0, out);
		last = ranges[r][0] == KVMF_CPUID_SIGNATURE ? ranges[r][1] :
		       min(out[CPUID_EAX], ranges[r][1]);
		for (leaf = ranges[r][0]; leaf <= last; leaf++)
			for (sub = 0; sub < kvmf_cpuid_subleaves(leaf); sub++)
				if (!kvmf_cpuid_add(entries, &n, max, leaf, sub))
					return -E2BIG;
	}
	return n;
}

/*
 * KVM_GET_SUPPORTED_CPUID: nent says how many entries userspace has room
 * for; -E2BIG if fewer than the table needs (nent left as it was),
 * otherwise the entries and their count.
 */
long kvmf_dev_get_supported_cpuid(void *obj, void *data, unsigned long arg)
{
	struct kvm_cpuid2 __user *ucpuid = (void __user *)arg;
	struct kvm_cpuid_entry2 *entries;
	struct kvm_cpuid2 hdr;
	int n;

	if (copy_from_user(&hdr, ucpuid, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < 1)
		return -E2BIG;
	hdr.nent = min_t(u32, hdr.nent, KVMF_MAX_CPUID_ENTRIES);

	entries = kvcalloc(hdr.nent, sizeof(*entries), GFP_KERNEL);
	if (!entries)
		return -ENOMEM;
	n = kvmf_cpuid_build_supported(entries, hdr.nent);
	if (n >= 0) {
		hdr.nent = n;
		if (copy_to_user(ucpuid, &hdr, sizeof(hdr)) ||
		    copy_to_user(ucpuid->entries, entries, n * sizeof(*entries)))
			n = -EFAULT;
	}
	kvfree(entries);
	return n < 0 ? n : 0;
}

static bool kvmf_cpuid_tables_equal(const struct kvmf_cpuid_table *a,
				    const struct kvmf_cpuid_table *b)
{
	return a && b && a->nent == b->nent &&
	       !memcmp(a->entries, b->entries, a->nent * sizeof(a->entries[0]));
}

/* KVM_SET_CPUID2 on a vCPU (vcpu->mutex held). */
long kvmf_vcpu_set_cpuid2(void *obj, void *data, unsigned long arg)
{
	struct kvm_cpuid2 __user *ucpuid = (void __user *)arg;
	struct kvmf_vcpu *vcpu = obj;
	struct kvmf_cpuid_table *t;
	struct kvm_cpuid2 hdr;
	long r;

	if (copy_from_user(&hdr, ucpuid, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > KVMF_MAX_CPUID_ENTRIES)
		return -E2BIG;

	t = kvzalloc(struct_size(t, entries, hdr.nent), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	t->nent = hdr.nent;
	if (copy_from_user(t->entries, ucpuid->entries, hdr.nent * sizeof(t->entries[0]))) {
		r = -EFAULT;
		goto out_free;
	}

	/* Once the guest ran, its CPU model may only be restated, not changed. */
	if (vcpu->arch.has_run && !kvmf_cpuid_tables_equal(t, vcpu->arch.cpuid)) {
		r = -EINVAL;
		goto out_free;
	}

	swap(vcpu->arch.cpuid, t);
	r = 0;
out_free:
	kvfree(t);
	return r;
}

/*
 * KVM_GET_CPUID2: -E2BIG when nent is smaller than the vCPU's table;
 * otherwise the entries.  As on KVM 6.1, nent itself is left as userspace
 * gave it.
 */
long kvmf_vcpu_get_cpuid2(void *obj, void *data, unsigned long arg)
{
	struct kvm_cpuid2 __user *ucpuid = (void __user *)arg;
	struct kvmf_vcpu *vcpu = obj;
	const struct kvmf_cpuid_table *t = vcpu->arch.cpuid;
	struct kvm_cpuid2 hdr;
	u32 n = t ? t->nent : 0;

	if (copy_from_user(&hdr, ucpuid, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < n)
		return -E2BIG;
	if (n && copy_to_user(ucpuid->entries, t->entries, n * sizeof(t->entries[0])))
		return -EFAULT;
	return 0;
}

void kvmf_x86_cpuid_free(struct kvmf_vcpu *vcpu)
{
	kvfree(vcpu->arch.cpuid);
	vcpu->arch.cpuid = NULL;
}
