/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM backend: state shared by the backend's files.
 */
#ifndef KVMFORK_SVM_H
#define KVMFORK_SVM_H

#include <linux/kvm.h>
#include <linux/types.h>

#include <kvmfork/kvmf_host.h>

#include "vmcb.h"

struct kvmf_vcpu;
struct kvmf_x86_cpu_mode;

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

/*
 * Nested SVM (nested.c): what kvmfork keeps while L1, the guest, acts as a
 * hypervisor.  L1's own state stays in vmcb01 while L2 runs on vmcb02, so
 * L1's host save area (MSR_VM_HSAVE_PA) is only remembered, never written.
 */
struct kvmf_svm_nested {
	/* The VMCB the CPU runs L2 on; allocated when L1 first sets EFER.SVME. */
	struct vmcb *vmcb02;
	/* A page to read and write L1's VMCBs through. */
	struct vmcb *vmcb12;
	u64 hsave_pa;
	/* L1's VMCB of the L2 now running, and its controls as VMRUN found them. */
	u64 vmcb12_gpa;
	struct vmcb_control_area ctl12;
	bool guest_mode;
	/*
	 * L2 runs with nested paging (nested_npt.c): through the shadow of
	 * L1's table (a root page, @snpt_pages with it), as old as TDP flush
	 * generation @snpt_generation, built for L1's table and ASID.
	 */
	bool npt;
	bool l1_nxe;
	u64 *snpt_root;
	unsigned int snpt_pages;
	u64 snpt_generation;
	u64 snpt_ncr3;
	u32 snpt_asid;
	/* A soft event L1 injected, on a CPU without NRIP save (nested.c). */
	bool soft_int_active;
	u64 soft_int_old_rip, soft_int_next_rip;
	/* An exit kvmfork raised for L2 (an exception L1 intercepts) goes to L1 next. */
	bool exit_pending;
	u64 pending_code, pending_info1, pending_info2;
};

/* One per vCPU. */
struct kvmf_svm_vcpu {
	/* The VMCB the CPU runs: vmcb01 (L1, or the only guest), or the nested vmcb02. */
	struct vmcb *vmcb;
	struct vmcb *vmcb01;
	/* The ASID on asid_cpu, valid while asid_generation is that CPU's. */
	u32 asid;
	int asid_cpu;
	u64 asid_generation;
	/* MSR_IA32_APICBASE as userspace set it (no in-kernel APIC yet). */
	u64 apic_base;
	/* Guest TSC = host TSC + tsc_offset; kept across VMCB resets. */
	u64 tsc_offset;
	/*
	 * EFER.SVME as L1 sees it (the VMCB's EFER always has it: VMRUN needs
	 * it), L1's global interrupt flag, and MSR_VM_CR.
	 */
	bool efer_svme;
	bool gif;
	u64 vm_cr;
	/*
	 * NMIs are blocked from an injected NMI to its handler's IRET, which
	 * kvmfork intercepts and steps over (svm_irq.c), with TF and RF forced
	 * in the guest's RFLAGS (struct kvmf_arch_vcpu's rflags_forced).
	 */
	bool nmi_masked;
	bool nmi_singlestep;
	/* The guest triple-faulted outside a VMCB exit: KVM_EXIT_SHUTDOWN next. */
	bool triple_fault;
	struct kvmf_svm_nested nested;
};

static inline struct kvmf_svm_vcpu *to_svm(struct kvmf_vcpu *vcpu)
{
	return vcpu->arch.vendor;
}

/* svm.c */
void svm_vmcb_reset(struct kvmf_vcpu *vcpu);
bool svm_has_nrips(void);

/* nested.c */
extern bool kvmf_svm_nested_enabled;
bool svm_nested_has_feature_svm(void);
void svm_nested_cpuid(u32 leaf, u32 out[4]);
int svm_nested_set_efer_svme(struct kvmf_vcpu *vcpu, bool svme, bool host);
void svm_nested_free(struct kvmf_vcpu *vcpu);
void svm_nested_leave(struct kvmf_vcpu *vcpu);
int svm_nested_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data);
int svm_nested_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host);
/* Before each entry: exits for L1 and triple faults raised since the last one. */
int svm_nested_before_entry(struct kvmf_vcpu *vcpu);
/* An exit while L2 runs: KVMF_EXIT_RESUME once it went to L1, or -ENOENT if it is kvmfork's. */
int svm_nested_exit(struct kvmf_vcpu *vcpu);
bool svm_nested_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error,
				u64 cr2);
int svm_exit_vmrun(struct kvmf_vcpu *vcpu);
int svm_exit_vmload(struct kvmf_vcpu *vcpu);
int svm_exit_vmsave(struct kvmf_vcpu *vcpu);
int svm_exit_stgi(struct kvmf_vcpu *vcpu);
int svm_exit_clgi(struct kvmf_vcpu *vcpu);
int svm_exit_invlpga(struct kvmf_vcpu *vcpu);
int svm_nested_vmexit(struct kvmf_vcpu *vcpu);
int svm_nested_state_size(void);
long svm_get_nested_state(struct kvmf_vcpu *vcpu, struct kvm_nested_state __user *ustate);
long svm_set_nested_state(struct kvmf_vcpu *vcpu, struct kvm_nested_state __user *ustate);

void svm_nested_update_tsc_offset(struct kvmf_svm_vcpu *svm);

/* nested_npt.c */
int svm_nested_npt_alloc(struct kvmf_vcpu *vcpu);
void svm_nested_npt_free(struct kvmf_svm_vcpu *svm);
void svm_nested_npt_zap(struct kvmf_svm_vcpu *svm);
u64 svm_nested_npt_enter(struct kvmf_vcpu *vcpu, bool flush);
void svm_nested_npt_check(struct kvmf_vcpu *vcpu);
bool svm_nested_npt_stale(struct kvmf_vcpu *vcpu);
int svm_nested_npf(struct kvmf_vcpu *vcpu);

/* svm.c and svm_exit.c, for nested.c */
u64 svm_guest_efer(struct kvmf_svm_vcpu *svm);
bool svm_cr4_valid(u64 cr4);
u64 svm_cr4_allowed(void);
int svm_skip_insn(struct kvmf_vcpu *vcpu);
void svm_get_cpu_mode(struct kvmf_vcpu *vcpu, struct kvmf_x86_cpu_mode *m);

/* nested_checks.c: rules of nested SVM that need no vCPU (KUnit-tested). */
struct svm_nested_limits {
	unsigned int phys_bits;		/* MAXPHYADDR */
	u64 cr4_allowed;		/* CR4 bits a guest may set */
};

bool svm_nested_gpa_page_valid(const struct svm_nested_limits *l, u64 gpa);
/* APM: "Event Injection": the types and vectors an EVENTINJ may name. */
bool svm_nested_event_inj_valid(u32 event);
/* VMRUN's checks of VMCB12's controls... */
bool svm_nested_controls_valid(const struct svm_nested_limits *l,
			       const struct vmcb_control_area *c);
/* ...and of the state it gives L2. */
bool svm_nested_save_valid(const struct svm_nested_limits *l, const struct vmcb_save_area *s);
/* L1's state in a restored nested state: it ran VMRUN, so with paging and not in VM86. */
bool svm_nested_l1_save_valid(const struct svm_nested_limits *l, const struct vmcb_save_area *s);
/*
 * With nested paging: L1's table within MAXPHYADDR, L2's PAT valid, and L1
 * in long mode, whose table format (4-level) is the only one kvmfork walks.
 */
bool svm_nested_npt_valid(const struct svm_nested_limits *l, u64 l1_efer,
			  const struct vmcb *vmcb12);
/* The bit of an MSR permission map for @index; false: outside the map (always intercepted). */
bool svm_nested_msrpm_bit(u32 index, bool write, u64 *bit);
/* KVM_SET_NESTED_STATE's header: 0, or -EINVAL. */
int svm_nested_state_check(const struct svm_nested_limits *l, const struct kvm_nested_state *hdr,
			   bool efer_svme);

/* svm_irq.c */
bool svm_interrupt_allowed(struct kvmf_vcpu *vcpu);
bool svm_inject_irq(struct kvmf_vcpu *vcpu, u8 vector);
void svm_enable_irq_window(struct kvmf_vcpu *vcpu);
bool svm_nmi_allowed(struct kvmf_vcpu *vcpu);
bool svm_inject_nmi(struct kvmf_vcpu *vcpu);
u8 svm_get_cr8(struct kvmf_vcpu *vcpu);
void svm_set_cr8(struct kvmf_vcpu *vcpu, u8 cr8);
void svm_get_events(struct kvmf_vcpu *vcpu, struct kvm_vcpu_events *ev);
void svm_set_events(struct kvmf_vcpu *vcpu, const struct kvm_vcpu_events *ev);
int svm_exit_cr8_write(struct kvmf_vcpu *vcpu);
int svm_exit_vintr(struct kvmf_vcpu *vcpu);
int svm_exit_iret(struct kvmf_vcpu *vcpu);
int svm_exit_db(struct kvmf_vcpu *vcpu);

/* svm_dr.c */
void svm_intercept_dr(struct vmcb_control_area *c);
int svm_exit_dr(struct kvmf_vcpu *vcpu);
u64 svm_get_cr4(struct kvmf_vcpu *vcpu);
void svm_get_dr6_dr7(struct kvmf_vcpu *vcpu, u64 *dr6, u64 *dr7);
void svm_set_dr6_dr7(struct kvmf_vcpu *vcpu, u64 dr6, u64 dr7);

/* svm_run.c */
int svm_vcpu_run_once(struct kvmf_vcpu *vcpu);

/* svm_exit.c */
int svm_handle_exit(struct kvmf_vcpu *vcpu);
void svm_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error, u64 cr2);

/* vmenter.S */
void kvmf_svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_vmsave_pa);

#endif /* KVMFORK_SVM_H */
