// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID for guests.  Until userspace can set a table (KVM_SET_CPUID2), a
 * guest sees the host's CPUID with the features kvmfork does not virtualize
 * taken away, the "hypervisor present" bit set, and its own APIC id.
 */
#include <linux/kernel.h>
#include <asm/processor.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* <asm/cpufeature.h> names the four result registers CPUID_EAX .. CPUID_EDX (0-3). */

struct kvmf_cpuid_adjust {
	u32 leaf;
	u8 reg;
	u32 clear;
	u32 set;
};

/* Leaf 1 ECX: VMX(5), MONITOR(3), X2APIC(21), TSC_DEADLINE(24); HYPERVISOR(31). */
#define LEAF1_ECX_HIDDEN	(BIT(3) | BIT(5) | BIT(21) | BIT(24))
#define LEAF1_ECX_HYPERVISOR	BIT(31)
/* Leaf 1 EBX[31:24]: initial APIC id, replaced by the vCPU id. */
#define LEAF1_EBX_APIC_ID	GENMASK(31, 24)
/* Leaf 0x80000001 ECX: SVM(2): no nested virtualization yet. */
#define EXT1_ECX_SVM		BIT(2)

static const struct kvmf_cpuid_adjust kvmf_cpuid_adjustments[] = {
	{ 0x00000001, CPUID_ECX, LEAF1_ECX_HIDDEN, LEAF1_ECX_HYPERVISOR },
	{ 0x00000001, CPUID_EBX, LEAF1_EBX_APIC_ID, 0 },
	{ 0x80000001, CPUID_ECX, EXT1_ECX_SVM, 0 },
	{ 0x8000000a, CPUID_EAX, ~0u, 0 },
	{ 0x8000000a, CPUID_EBX, ~0u, 0 },
	{ 0x8000000a, CPUID_ECX, ~0u, 0 },
	{ 0x8000000a, CPUID_EDX, ~0u, 0 },
};

/* Leaves the host's own hypervisor (if any) answers: not passed through. */
static bool kvmf_cpuid_hypervisor_leaf(u32 leaf)
{
	return leaf >= 0x40000000 && leaf <= 0x4fffffff;
}

void kvmf_x86_cpuid(struct kvmf_vcpu *vcpu, u32 leaf, u32 subleaf, u32 out[4])
{
	unsigned int i;

	if (kvmf_cpuid_hypervisor_leaf(leaf)) {
		out[0] = out[1] = out[2] = out[3] = 0;
		return;
	}

	cpuid_count(leaf, subleaf, &out[CPUID_EAX], &out[CPUID_EBX], &out[CPUID_ECX],
		    &out[CPUID_EDX]);

	for (i = 0; i < ARRAY_SIZE(kvmf_cpuid_adjustments); i++) {
		const struct kvmf_cpuid_adjust *a = &kvmf_cpuid_adjustments[i];

		if (a->leaf != leaf)
			continue;
		out[a->reg] = (out[a->reg] & ~a->clear) | a->set;
	}

	if (leaf == 1)
		out[CPUID_EBX] |= (vcpu->vcpu_id & 0xff) << 24;
}
