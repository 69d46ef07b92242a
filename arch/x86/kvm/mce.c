// SPDX-License-Identifier: GPL-2.0
/*
 * Machine checks, as KVM offers them to a VMM (Documentation/virt/kvm/api.rst:
 * KVM_X86_GET_MCE_CAP_SUPPORTED, KVM_X86_SETUP_MCE, KVM_X86_SET_MCE):
 * the VMM gives each vCPU a number of banks and its MCG_CAP, and may
 * inject a machine check into a bank; the guest sees the MCG and bank MSRs
 * (AMD APM vol. 2 "Machine Check Architecture") with their write rules,
 * and an uncorrected error as #MC, or a triple fault when it cannot take
 * one (CR4.MCE clear, or a machine check already in progress).
 *
 * Locking: vCPU state, under vcpu->mutex.
 */
#include <linux/kernel.h>
#include <linux/nospec.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* MCG_CAP bits a VMM may ask for, beyond the bank count: MCG_CTL present, software recovery. */
#define KVMF_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)
/* ...and the extended-register count field, which KVM lets through unused. */
#define KVMF_MCG_CAP_FIELDS	(MCG_BANKCNT_MASK | MCG_EXT_CNT_MASK)
/* What an AMD-compatible MCG_CAP keeps: the bank count and MCG_CTL_P. */
#define KVMF_MCG_CAP_AMD	(MCG_BANKCNT_MASK | MCG_CTL_P)

/* Before KVM_X86_SETUP_MCE: every bank there may be, none set up (as KVM). */
void kvmf_mce_vcpu_init(struct kvmf_vcpu *vcpu)
{
	vcpu->arch.mcg_cap = KVMF_MAX_MCE_BANKS;
}

static unsigned int kvmf_mce_banks(const struct kvmf_vcpu *vcpu)
{
	return vcpu->arch.mcg_cap & MCG_BANKCNT_MASK;
}

int kvmf_mce_nr_banks(void)
{
	return KVMF_MAX_MCE_BANKS;
}

long kvmf_dev_get_mce_cap_supported(void *obj, void *data, unsigned long arg)
{
	*(u64 *)data = KVMF_MCE_CAP_SUPPORTED;
	return 0;
}

/* KVM_X86_SETUP_MCE: the banks and MCG_CAP; every control register reports everything. */
long kvmf_vcpu_setup_mce(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	u64 mcg_cap = *(u64 *)data;
	unsigned int banks = mcg_cap & MCG_BANKCNT_MASK, i;

	if (!banks || banks > KVMF_MAX_MCE_BANKS)
		return -EINVAL;
	if (mcg_cap & ~(KVMF_MCE_CAP_SUPPORTED | KVMF_MCG_CAP_FIELDS))
		return -EINVAL;
	/* As KVM on AMD: bits 63:9 are reserved there, and dropped. */
	vcpu->arch.mcg_cap = mcg_cap & KVMF_MCG_CAP_AMD;
	if (mcg_cap & MCG_CTL_P)
		vcpu->arch.mcg_ctl = ~0ull;
	for (i = 0; i < banks; i++)
		vcpu->arch.mce_banks[4 * i] = ~0ull;
	return 0;
}

/* The error goes into the bank; one there already is lost (OVER). */
static void kvmf_mce_log(u64 *bank, struct kvm_x86_mce *mce)
{
	if (bank[1] & MCI_STATUS_VAL)
		mce->status |= MCI_STATUS_OVER;
	bank[1] = mce->status;
	bank[2] = mce->addr;
	bank[3] = mce->misc;
}

/*
 * KVM_X86_SET_MCE: an error in a bank.  An uncorrected one that MCG_CTL
 * and the bank's CTL let through is #MC (a triple fault without CR4.MCE or
 * during another #MC); a corrected one is only logged, unless it would
 * overwrite an uncorrected one.  A second error sets OVER.
 */
long kvmf_vcpu_set_mce(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_x86_mce *mce = data;
	unsigned int nbanks = kvmf_mce_banks(vcpu);
	u64 *bank;

	if (mce->bank >= nbanks || !(mce->status & MCI_STATUS_VAL))
		return -EINVAL;
	bank = &vcpu->arch.mce_banks[array_index_nospec(mce->bank, nbanks) * 4];

	if (!(mce->status & MCI_STATUS_UC)) {
		if ((bank[1] & MCI_STATUS_VAL) && (bank[1] & MCI_STATUS_UC)) {
			bank[1] |= MCI_STATUS_OVER;
			return 0;
		}
		kvmf_mce_log(bank, mce);
		return 0;
	}

	/* Reporting of uncorrected errors switched off, for all banks or this one. */
	if (((vcpu->arch.mcg_cap & MCG_CTL_P) && vcpu->arch.mcg_ctl != ~0ull) || bank[0] != ~0ull)
		return 0;

	if ((vcpu->arch.mcg_status & MCG_STATUS_MCIP) ||
	    !(kvmf_x86_vendor->get_cr4(vcpu) & X86_CR4_MCE)) {
		kvmf_x86_vendor->triple_fault(vcpu);
		return 0;
	}
	kvmf_mce_log(bank, mce);
	vcpu->arch.mcg_status = mce->mcg_status;
	kvmf_x86_queue_exception(vcpu, X86_TRAP_MC, false, 0, 0);
	return 0;
}

/* HWCR.McStatusWrEn: the guest may write nonzero MCi_STATUS values (AMD). */
#define KVMF_HWCR_MCSTATUSWREN	BIT_ULL(18)
/* HWCR bits KVM lets a guest write and ignores: TLB cache, flush filter, IGNNE. */
#define KVMF_HWCR_IGNORED	(BIT_ULL(3) | BIT_ULL(6) | BIT_ULL(8))

bool kvmf_mce_msr(u32 index)
{
	return index == MSR_K7_HWCR || index == MSR_IA32_MCG_CAP || index == MSR_IA32_MCG_STATUS ||
	       index == MSR_IA32_MCG_CTL ||
	       (index >= MSR_IA32_MC0_CTL && index < MSR_IA32_MCx_CTL(KVMF_MAX_MCE_BANKS));
}

int kvmf_mce_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	u32 offset;

	switch (index) {
	case MSR_K7_HWCR:
		*data = vcpu->arch.hwcr;
		return 0;
	case MSR_IA32_MCG_CAP:
		*data = vcpu->arch.mcg_cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = vcpu->arch.mcg_status;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->arch.mcg_cap & MCG_CTL_P) && !host)
			return -EINVAL;
		*data = vcpu->arch.mcg_ctl;
		return 0;
	}
	offset = index - MSR_IA32_MC0_CTL;
	if (offset >= 4 * kvmf_mce_banks(vcpu))
		return -EINVAL;
	*data = vcpu->arch.mce_banks[array_index_nospec(offset, 4 * kvmf_mce_banks(vcpu))];
	return 0;
}

/*
 * MCG_CAP is read-only.  MCG_CTL is 0 or all ones, and without MCG_CTL_P
 * only userspace may write it, with 0.  A bank's CTL is 0 or all ones, but
 * for bits 10 and 0 (guests clear those to hide known errata); a guest may
 * write a nonzero STATUS only with HWCR.McStatusWrEn set.
 */
int kvmf_mce_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	u32 offset;

	switch (index) {
	case MSR_K7_HWCR:
		/* Of HWCR kvmfork has McStatusWrEn only; other set bits are refused, as KVM does. */
		data &= ~KVMF_HWCR_IGNORED;
		if (data & ~KVMF_HWCR_MCSTATUSWREN)
			return -EINVAL;
		vcpu->arch.hwcr = data;
		return 0;
	case MSR_IA32_MCG_CAP:
		return -EINVAL;
	case MSR_IA32_MCG_STATUS:
		vcpu->arch.mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->arch.mcg_cap & MCG_CTL_P) && (data || !host))
			return -EINVAL;
		if (data && data != ~0ull)
			return -EINVAL;
		vcpu->arch.mcg_ctl = data;
		return 0;
	}
	offset = index - MSR_IA32_MC0_CTL;
	if (offset >= 4 * kvmf_mce_banks(vcpu))
		return -EINVAL;
	if (offset % 4 == 0 && data && (data | BIT_ULL(10) | BIT_ULL(0)) != ~0ull)
		return -EINVAL;
	if (offset % 4 == 1 && data && !host && !(vcpu->arch.hwcr & KVMF_HWCR_MCSTATUSWREN))
		return -EINVAL;
	vcpu->arch.mce_banks[array_index_nospec(offset, 4 * kvmf_mce_banks(vcpu))] = data;
	return 0;
}
