// SPDX-License-Identifier: GPL-2.0
/*
 * Model-specific registers: the table of MSRs kvmfork virtualizes, their
 * validity rules, and the three ways to reach them: the guest's RDMSR and
 * WRMSR (intercepted; #GP for anything not in the table or not valid),
 * KVM_GET_MSRS / KVM_SET_MSRS on a vCPU, and KVM_GET_MSR_INDEX_LIST on
 * /dev/kvm.  Values kept in the vendor's guest state (the VMCB) go through
 * the vendor ops; the rest live in struct kvmf_arch_vcpu.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* KVM's limit for one KVM_GET_MSRS / KVM_SET_MSRS (MAX_IO_MSRS). */
#define KVMF_MAX_IO_MSRS	256

/*
 * EFER bits a guest may have: SCE, LME, LMA, NXE, and SVME, which the
 * vendor backend refuses unless it offers nested virtualization.
 */
#define KVMF_EFER_VALID		(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_SVME)

/* CPUID bits that make MSR_TSC_AUX exist for a guest. */
#define CPUID_80000001_EDX_RDTSCP	BIT(27)
#define CPUID_7_ECX_RDPID		BIT(22)

static bool is_canonical(u64 addr)
{
	return (u64)(((s64)addr << 16) >> 16) == addr;
}

static bool guest_has_tsc_aux(struct kvmf_vcpu *vcpu)
{
	u32 ext[4], leaf7[4];

	kvmf_x86_cpuid(vcpu, 0x80000001, 0, ext);
	kvmf_x86_cpuid(vcpu, 7, 0, leaf7);
	return (ext[3] & CPUID_80000001_EDX_RDTSCP) || (leaf7[2] & CPUID_7_ECX_RDPID);
}

/*
 * Whether @data may be written to @index; @host: by KVM_SET_MSRS, which may
 * set what the guest itself cannot (EFER.LMA, a value for a restore).
 */
static bool msr_write_valid(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_EFER:
		return !(data & ~KVMF_EFER_VALID);
	case MSR_IA32_CR_PAT:
		return kvmf_x86_pat_valid(data);
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		return is_canonical(data);
	case MSR_TSC_AUX:
		/*
		 * The register exists when RDTSCP or RDPID does; bits 63:32
		 * are reserved, and kvmfork refuses them for AMD-compatible
		 * guests too (the SDM's rule; KVM 6.1 truncates them there).
		 */
		if (!host && !guest_has_tsc_aux(vcpu))
			return false;
		return !(data >> 32);
	default:
		return true;
	}
}

/*
 * The MSRs KVM_GET_MSR_INDEX_LIST reports: those a VMM must save and
 * restore through KVM_GET/SET_MSRS.  As on KVM, EFER, FS/GS base and the
 * APIC base are left out: they travel with KVM_GET/SET_SREGS.
 */
static const u32 kvmf_saved_msrs[] = {
	MSR_IA32_TSC,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_TSC_AUX,
	/* kvmclock (kvmclock.c), in KVM's old and new numbers. */
	MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW,
};

/* Reachable by RDMSR/WRMSR and KVM_GET/SET_MSRS, but not listed. */
static const u32 kvmf_other_msrs[] = {
	MSR_EFER, MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_APICBASE,
	MSR_VM_CR, MSR_VM_HSAVE_PA,
};

static bool msr_in(const u32 *list, unsigned int n, u32 index)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (list[i] == index)
			return true;
	return false;
}

static bool msr_known(u32 index)
{
	return msr_in(kvmf_saved_msrs, ARRAY_SIZE(kvmf_saved_msrs), index) ||
	       msr_in(kvmf_other_msrs, ARRAY_SIZE(kvmf_other_msrs), index) ||
	       kvmf_mtrr_msr(index) || kvmf_mce_msr(index);
}

/* 0, or -EINVAL for an MSR kvmfork does not have or (guest) cannot read. */
int kvmf_x86_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	if (!msr_known(index))
		return -EINVAL;
	if (index == MSR_TSC_AUX) {
		if (!host && !guest_has_tsc_aux(vcpu))
			return -EINVAL;
		*data = vcpu->arch.tsc_aux;
		return 0;
	}
	if (kvmf_kvmclock_msr(index))
		return kvmf_kvmclock_get_msr(vcpu, index, data);
	if (kvmf_mtrr_msr(index))
		return kvmf_mtrr_get_msr(vcpu, index, data);
	if (kvmf_mce_msr(index))
		return kvmf_mce_get_msr(vcpu, index, data, host);
	return kvmf_x86_vendor_get_msr(vcpu, index, data);
}

/* 0, or -EINVAL for an MSR kvmfork does not have or a value it refuses. */
int kvmf_x86_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	if (!msr_known(index) || !msr_write_valid(vcpu, index, data, host))
		return -EINVAL;
	if (index == MSR_TSC_AUX) {
		vcpu->arch.tsc_aux = data;
		return 0;
	}
	if (kvmf_kvmclock_msr(index))
		return kvmf_kvmclock_set_msr(vcpu, index, data, host);
	if (kvmf_mtrr_msr(index))
		return kvmf_mtrr_set_msr(vcpu, index, data);
	if (kvmf_mce_msr(index))
		return kvmf_mce_set_msr(vcpu, index, data, host);
	return kvmf_x86_vendor_set_msr(vcpu, index, data, host);
}

/*
 * Guest RDMSR/WRMSR: ECX names the MSR, EDX:EAX holds the value.  Returns
 * false when the access must raise #GP.  The caller moves RIP on.
 */
bool kvmf_x86_guest_msr(struct kvmf_vcpu *vcpu, bool write)
{
	u64 *regs = vcpu->arch.regs;
	u32 index = regs[KVMF_REG_RCX];
	u64 data;

	if (write) {
		data = (u32)regs[KVMF_REG_RAX] | (regs[KVMF_REG_RDX] << 32);
		return !kvmf_x86_set_msr(vcpu, index, data, false);
	}
	if (kvmf_x86_get_msr(vcpu, index, &data, false))
		return false;
	regs[KVMF_REG_RAX] = (u32)data;
	regs[KVMF_REG_RDX] = data >> 32;
	return true;
}

/*
 * KVM_GET_MSRS / KVM_SET_MSRS: process entries in order and stop at the
 * first one that fails; return how many succeeded.
 */
static long kvmf_vcpu_msrs(struct kvmf_vcpu *vcpu, unsigned long arg, bool write)
{
	struct kvm_msrs __user *umsrs = (void __user *)arg;
	struct kvm_msr_entry entry;
	struct kvm_msrs hdr;
	u32 i;

	if (copy_from_user(&hdr, umsrs, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVMF_MAX_IO_MSRS)
		return -E2BIG;

	for (i = 0; i < hdr.nmsrs; i++) {
		if (copy_from_user(&entry, &umsrs->entries[i], sizeof(entry)))
			return -EFAULT;
		if (write) {
			if (kvmf_x86_set_msr(vcpu, entry.index, entry.data, true))
				break;
		} else {
			if (kvmf_x86_get_msr(vcpu, entry.index, &entry.data, true))
				break;
			if (copy_to_user(&umsrs->entries[i].data, &entry.data, sizeof(entry.data)))
				return -EFAULT;
		}
	}
	return i;
}

long kvmf_vcpu_get_msrs(void *obj, void *data, unsigned long arg)
{
	return kvmf_vcpu_msrs(obj, arg, false);
}

long kvmf_vcpu_set_msrs(void *obj, void *data, unsigned long arg)
{
	return kvmf_vcpu_msrs(obj, arg, true);
}

/*
 * KVM_GET_MSR_INDEX_LIST: too small a list gets -E2BIG with nmsrs set to
 * the size needed.
 */
long kvmf_dev_get_msr_index_list(void *obj, void *data, unsigned long arg)
{
	struct kvm_msr_list __user *ulist = (void __user *)arg;
	u32 n = ARRAY_SIZE(kvmf_saved_msrs), room;

	if (get_user(room, &ulist->nmsrs))
		return -EFAULT;
	if (put_user(n, &ulist->nmsrs))
		return -EFAULT;
	if (room < n)
		return -E2BIG;
	if (copy_to_user(ulist->indices, kvmf_saved_msrs, sizeof(kvmf_saved_msrs)))
		return -EFAULT;
	return 0;
}
