// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 ioctls, in one place: the core's dispatcher looks a command up in
 * these tables after its own (include/kvmfork/ioctl.h).  The handlers live
 * with what they serve: MSRs in msr.c, CPUID in cpuid.c, FPU state, XCRs
 * and MP state in fpu.c, debug registers in debugregs.c.
 */
#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

#include "x86.h"

static const struct kvmf_ioctl kvmf_x86_dev_ioctl_entries[] = {
	{ KVM_GET_MSR_INDEX_LIST,  kvmf_dev_get_msr_index_list,  KVMF_IOCTL_USER_COPY },
	{ KVM_GET_SUPPORTED_CPUID, kvmf_dev_get_supported_cpuid, KVMF_IOCTL_USER_COPY },
	{ KVM_X86_GET_MCE_CAP_SUPPORTED, kvmf_dev_get_mce_cap_supported, 0 },
};

const struct kvmf_ioctl_table kvmf_x86_dev_ioctls =
	KVMF_IOCTL_TABLE(kvmf_x86_dev_ioctl_entries, -EINVAL);

static const struct kvmf_ioctl kvmf_x86_vcpu_ioctl_entries[] = {
	{ KVM_GET_MSRS,	  kvmf_vcpu_get_msrs,	 KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
	{ KVM_SET_MSRS,	  kvmf_vcpu_set_msrs,	 KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
	{ KVM_SET_CPUID2, kvmf_vcpu_set_cpuid2, KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
	{ KVM_GET_CPUID2, kvmf_vcpu_get_cpuid2, KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
	{ KVM_GET_FPU,	  kvmf_vcpu_get_fpu,	 KVMF_IOCTL_LOCKED },
	{ KVM_SET_FPU,	  kvmf_vcpu_set_fpu,	 KVMF_IOCTL_LOCKED },
	{ KVM_GET_XSAVE,  kvmf_vcpu_get_xsave,	 KVMF_IOCTL_LOCKED },
	{ KVM_SET_XSAVE,  kvmf_vcpu_set_xsave,	 KVMF_IOCTL_LOCKED },
	{ KVM_GET_XCRS,	  kvmf_vcpu_get_xcrs,	 KVMF_IOCTL_LOCKED },
	{ KVM_SET_XCRS,	  kvmf_vcpu_set_xcrs,	 KVMF_IOCTL_LOCKED },
	{ KVM_GET_MP_STATE, kvmf_vcpu_get_mp_state, KVMF_IOCTL_LOCKED },
	{ KVM_SET_MP_STATE, kvmf_vcpu_set_mp_state, KVMF_IOCTL_LOCKED },
	{ KVM_INTERRUPT,  kvmf_vcpu_interrupt,	 KVMF_IOCTL_LOCKED },
	{ KVM_NMI,	  kvmf_vcpu_nmi,	 KVMF_IOCTL_LOCKED },
	{ KVM_X86_SETUP_MCE, kvmf_vcpu_setup_mce, KVMF_IOCTL_LOCKED },
	{ KVM_X86_SET_MCE,   kvmf_vcpu_set_mce,	 KVMF_IOCTL_LOCKED },
	{ KVM_GET_VCPU_EVENTS, kvmf_vcpu_get_vcpu_events, KVMF_IOCTL_LOCKED },
	{ KVM_SET_VCPU_EVENTS, kvmf_vcpu_set_vcpu_events, KVMF_IOCTL_LOCKED },
	{ KVM_GET_TSC_KHZ, kvmf_vcpu_get_tsc_khz, KVMF_IOCTL_LOCKED },
	{ KVM_SET_TSC_KHZ, kvmf_vcpu_set_tsc_khz, KVMF_IOCTL_LOCKED },
	{ KVM_GET_DEBUGREGS, kvmf_vcpu_get_debugregs, KVMF_IOCTL_LOCKED },
	{ KVM_SET_DEBUGREGS, kvmf_vcpu_set_debugregs, KVMF_IOCTL_LOCKED },
	{ KVM_GET_NESTED_STATE, kvmf_vcpu_get_nested_state,
	  KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
	{ KVM_SET_NESTED_STATE, kvmf_vcpu_set_nested_state,
	  KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
};

const struct kvmf_ioctl_table kvmf_x86_vcpu_ioctls =
	KVMF_IOCTL_TABLE(kvmf_x86_vcpu_ioctl_entries, -EINVAL);
