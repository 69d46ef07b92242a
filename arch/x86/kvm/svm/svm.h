/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM backend: state shared by the backend's files.
 */
#ifndef KVMFORK_SVM_H
#define KVMFORK_SVM_H

#include <linux/types.h>

#include <kvmfork/kvmf_host.h>

#include "vmcb.h"

struct kvmf_vcpu;

/* APM: VM_CR MSR, bit SVMDIS: firmware has disabled SVM (EFER.SVME cannot be set). */
#define KVMF_VM_CR_SVMDIS	BIT_ULL(4)

/*
 * One per physical CPU.  Touched only on that CPU: by the hotplug callbacks
 * and, with interrupts off, by the vCPU entry path.
 */
struct kvmf_svm_cpu {
	/* The host save area whose address goes into MSR_VM_HSAVE_PA. */
	struct page *hsave;
	/* Where the host's VMSAVE state (FS, GS, TR, LDTR, ...) waits during VMRUN. */
	struct page *host_vmsave;
	/* Whether kvmfork set EFER.SVME on this CPU (and so must clear it). */
	bool enabled;
	/* ASIDs handed out on this CPU in the current generation; 0 is the host's. */
	u32 next_asid;
	u32 max_asid;
	u64 asid_generation;
	/* The host's MSR_TSC_AUX on this CPU, put back after a guest used its own. */
	u64 host_tsc_aux;
};

DECLARE_PER_CPU(struct kvmf_svm_cpu, kvmf_svm_cpu);

/* One per vCPU. */
struct kvmf_svm_vcpu {
	struct vmcb *vmcb;
	/* The ASID on asid_cpu, valid while asid_generation is that CPU's. */
	u32 asid;
	int asid_cpu;
	u64 asid_generation;
	/* MSR_IA32_APICBASE as userspace set it (no in-kernel APIC yet). */
	u64 apic_base;
	/* Guest TSC = host TSC + tsc_offset; kept across VMCB resets. */
	u64 tsc_offset;
};

static inline struct kvmf_svm_vcpu *to_svm(struct kvmf_vcpu *vcpu)
{
	return vcpu->arch.vendor;
}

/* svm.c */
void svm_vmcb_reset(struct kvmf_vcpu *vcpu);
bool svm_has_nrips(void);

/* svm_run.c */
int svm_vcpu_run_once(struct kvmf_vcpu *vcpu);

/* svm_exit.c */
int svm_handle_exit(struct kvmf_vcpu *vcpu);
void svm_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error, u64 cr2);

/* vmenter.S */
void kvmf_svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_vmsave_pa);

#endif /* KVMFORK_SVM_H */
