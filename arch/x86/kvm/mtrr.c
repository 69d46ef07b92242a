// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's MTRRs (Intel SDM vol. 3 "Memory Type Range Registers", AMD
 * APM vol. 2 "MTRRs"): MTRRcap, the default type, the 11 fixed-range
 * registers and 8 variable ranges, kept per vCPU with the architecture's
 * validity rules (#GP, or the end of KVM_SET_MSRS, for a bad value).
 *
 * On SVM with nested paging the guest's memory types come from its PAT
 * and the host's MTRRs; the guest's MTRRs are not in that path, as on
 * KVM's SVM, so they are only kept: firmware and guest kernels program
 * and read them back (QEMU restores them), and they must hold what was
 * written.
 */
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* MTRRcap: 8 variable ranges (VCNT), fixed ranges (FIX, bit 8), WC (bit 10). */
#define KVMF_MTRR_NR_VAR	8
#define KVMF_MTRR_CAP		(BIT_ULL(10) | BIT_ULL(8) | KVMF_MTRR_NR_VAR)
/* MTRRdefType: type (7:0), FE (10), E (11). */
#define KVMF_MTRR_DEFTYPE_BITS	(0xffull | BIT_ULL(10) | BIT_ULL(11))
/* The variable ranges: PHYSBASEn at 0x200 + 2n, PHYSMASKn right after it. */
#define KVMF_MTRR_VAR_FIRST	0x200u
#define KVMF_MTRR_VAR_LAST	(KVMF_MTRR_VAR_FIRST + 2 * KVMF_MTRR_NR_VAR - 1)

static const u32 kvmf_mtrr_fixed[KVMF_NR_FIXED_MTRRS] = {
	MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
	MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000, MSR_MTRRfix4K_D0000, MSR_MTRRfix4K_D8000,
	MSR_MTRRfix4K_E0000, MSR_MTRRfix4K_E8000, MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
};

/* UC, WC, WT, WP, WB: the memory types an MTRR may hold (2, 3 and 7+ are reserved). */
static bool kvmf_mtrr_type_valid(u8 type)
{
	return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

static int kvmf_mtrr_fixed_index(u32 index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kvmf_mtrr_fixed); i++)
		if (kvmf_mtrr_fixed[i] == index)
			return i;
	return -1;
}

static bool kvmf_mtrr_var(u32 index)
{
	return index >= KVMF_MTRR_VAR_FIRST && index <= KVMF_MTRR_VAR_LAST;
}

bool kvmf_mtrr_msr(u32 index)
{
	return index == MSR_MTRRcap || index == MSR_MTRRdefType ||
	       kvmf_mtrr_fixed_index(index) >= 0 || kvmf_mtrr_var(index);
}

int kvmf_mtrr_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data)
{
	const struct kvmf_mtrr_state *m = &vcpu->arch.mtrr;
	int fixed = kvmf_mtrr_fixed_index(index);

	if (index == MSR_MTRRcap)
		*data = KVMF_MTRR_CAP;
	else if (index == MSR_MTRRdefType)
		*data = m->deftype;
	else if (fixed >= 0)
		*data = m->fixed[fixed];
	else
		*data = m->var[index - KVMF_MTRR_VAR_FIRST];
	return 0;
}

/* Whether @data may go into MTRR @index: valid types, no reserved bit. */
static bool kvmf_mtrr_valid(u32 index, u64 data)
{
	u64 above_maxphy = GENMASK_ULL(63, boot_cpu_data.x86_phys_bits);
	unsigned int i;

	if (index == MSR_MTRRdefType)
		return !(data & ~KVMF_MTRR_DEFTYPE_BITS) && kvmf_mtrr_type_valid(data);
	if (kvmf_mtrr_fixed_index(index) >= 0) {
		for (i = 0; i < 8; i++)
			if (!kvmf_mtrr_type_valid(data >> (8 * i)))
				return false;
		return true;
	}
	/* Variable ranges: PHYSBASE (even), then PHYSMASK (odd). */
	if (!((index - KVMF_MTRR_VAR_FIRST) & 1))
		return !(data & (above_maxphy | GENMASK_ULL(11, 8))) && kvmf_mtrr_type_valid(data);
	return !(data & (above_maxphy | GENMASK_ULL(10, 0)));
}

/* MTRRcap is read-only; the rest take what is valid. */
int kvmf_mtrr_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data)
{
	struct kvmf_mtrr_state *m = &vcpu->arch.mtrr;
	int fixed = kvmf_mtrr_fixed_index(index);

	if (index == MSR_MTRRcap || !kvmf_mtrr_valid(index, data))
		return -EINVAL;
	if (index == MSR_MTRRdefType)
		m->deftype = data;
	else if (fixed >= 0)
		m->fixed[fixed] = data;
	else
		m->var[index - KVMF_MTRR_VAR_FIRST] = data;
	return 0;
}
