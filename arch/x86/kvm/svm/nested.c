// SPDX-License-Identifier: GPL-2.0
/*
 * Nested SVM: a guest (L1) that is itself a hypervisor runs its guest (L2)
 * with VMRUN, and kvmfork emulates what the CPU would do (APM: "Secure
 * Virtual Machine").
 *
 * L1's state stays in vmcb01 while L2 runs on vmcb02, which kvmfork builds
 * from the VMCB12 that L1 handed to VMRUN: L2's state from VMCB12's save
 * area, L1's intercepts merged with kvmfork's own.  Every exit of L2 is
 * kvmfork's first; svm_nested_exit() decides whether L1 asked for it, and
 * if so emulates #VMEXIT: L2's state and the exit information go back to
 * VMCB12 and L1 resumes after its VMRUN with GIF clear.
 *
 * Nested paging is not offered to L1 (CPUID Fn8000_000A_EDX[NP] is clear):
 * L2 runs in L1's guest physical address space, through kvmfork's own
 * nested page table, and with L1's PAT.  L2 therefore shares L1's memory
 * (as with a VMCB12 that has NP_ENABLE clear) and NP_ENABLE is ignored, as
 * KVM ignores it when it does not offer the feature.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "../guest_mem.h"
#include "../x86.h"
#include "svm.h"

bool kvmf_svm_nested_enabled = true;
module_param_named(nested, kvmf_svm_nested_enabled, bool, 0444);
MODULE_PARM_DESC(nested, "Offer SVM to guests, so that they can run guests (default: on)");

#define CPUID_80000001_ECX_SVM	BIT(2)
/* Fn8000_000A: SVM revision 1, and the ASIDs L1 may use (as many as KVM offers). */
#define SVM_NESTED_REVISION	1
#define SVM_NESTED_NR_ASIDS	8

/* MSR_VM_CR bits (APM: "VM_CR MSR"): DPD, R_INIT, DIS_A20M, LOCK, SVMDIS. */
#define SVM_VM_CR_LOCK		BIT_ULL(3)
#define SVM_VM_CR_VALID		GENMASK_ULL(4, 0)


/* int_ctl bits L1 controls for L2 (virtual TPR and the virtual interrupt it injects). */
#define SVM_INT_CTL_V_INTR_VECTOR	GENMASK_ULL(39, 32)
#define SVM_INT_CTL_V_INTR_PRIO		GENMASK_ULL(19, 16)
#define SVM_INT_CTL_FROM_L1	(SVM_INT_CTL_V_TPR_MASK | SVM_INT_CTL_V_IRQ | \
				 SVM_INT_CTL_V_INTR_PRIO | SVM_INT_CTL_V_IGN_TPR | \
				 SVM_INT_CTL_V_INTR_VECTOR)
/* ...of which these change while L2 runs and go back to VMCB12. */
#define SVM_INT_CTL_TO_L1	(SVM_INT_CTL_V_TPR_MASK | SVM_INT_CTL_V_IRQ)

#define SVM_DR7_RESET		0x400ull

/* This machine's limits, for the checks of nested_checks.c. */
static const struct svm_nested_limits *svm_limits(void)
{
	static struct svm_nested_limits limits;

	/* Set once, to the same values by whoever comes first. */
	limits.phys_bits = boot_cpu_data.x86_phys_bits;
	limits.cr4_allowed = svm_cr4_allowed();
	return &limits;
}

static bool svm_gpa_page_valid(u64 gpa)
{
	return svm_nested_gpa_page_valid(svm_limits(), gpa);
}

static bool svm_cpuid_has_svm(struct kvmf_vcpu *vcpu)
{
	u32 out[4];

	kvmf_x86_cpuid(vcpu, 0x80000001, 0, out);
	return out[CPUID_ECX] & CPUID_80000001_ECX_SVM;
}

#define CPUID_8000000A_EDX_NP	BIT(0)
#define CPUID_8000000A_EDX_NRIPS	BIT(3)

/*
 * KVM_GET_SUPPORTED_CPUID: SVM, and of the optional features nested paging
 * and NRIP save (emulated where the CPU has none: svm_nested_next_rip()).
 */
void svm_nested_cpuid(u32 leaf, u32 out[4])
{
	if (!kvmf_svm_nested_enabled)
		return;
	if (leaf == 0x80000001) {
		out[CPUID_ECX] |= CPUID_80000001_ECX_SVM;
	} else if (leaf == 0x8000000a) {
		out[CPUID_EAX] = SVM_NESTED_REVISION;
		out[CPUID_EBX] = SVM_NESTED_NR_ASIDS;
		out[CPUID_ECX] = 0;
		out[CPUID_EDX] = CPUID_8000000A_EDX_NP | CPUID_8000000A_EDX_NRIPS;
	}
}


/*
 * Makes @to the VMCB the CPU runs.  RAX, RSP, RIP and RFLAGS, which kvmfork
 * keeps outside the VMCB while it handles an exit, go with it; a new ASID
 * keeps the other VMCB's translations out.
 */
static void svm_save_regs(struct kvmf_vcpu *vcpu, struct vmcb_save_area *save)
{
	save->rax = vcpu->arch.regs[KVMF_REG_RAX];
	save->rsp = vcpu->arch.regs[KVMF_REG_RSP];
	save->rip = vcpu->arch.rip;
	save->rflags = vcpu->arch.rflags;
}

static void svm_switch_vmcb(struct kvmf_vcpu *vcpu, struct vmcb *to)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	u64 *regs = vcpu->arch.regs;

	svm_save_regs(vcpu, &svm->vmcb->save);
	svm->vmcb = to;
	regs[KVMF_REG_RAX] = to->save.rax;
	regs[KVMF_REG_RSP] = to->save.rsp;
	vcpu->arch.rip = to->save.rip;
	vcpu->arch.rflags = to->save.rflags;
	svm->asid_generation = 0;
}

/* The state VMLOAD loads and VMSAVE stores, which VMRUN and #VMEXIT leave alone. */
static void svm_copy_vmload_state(struct vmcb_save_area *to, const struct vmcb_save_area *from)
{
	to->fs = from->fs;
	to->gs = from->gs;
	to->tr = from->tr;
	to->ldtr = from->ldtr;
	to->kernel_gs_base = from->kernel_gs_base;
	to->star = from->star;
	to->lstar = from->lstar;
	to->cstar = from->cstar;
	to->sfmask = from->sfmask;
	to->sysenter_cs = from->sysenter_cs;
	to->sysenter_esp = from->sysenter_esp;
	to->sysenter_eip = from->sysenter_eip;
}

/* Leaves L2 without telling L1: for a triple fault of L1, or userspace's orders. */
void svm_nested_leave(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;

	n->exit_pending = false;
	if (!n->guest_mode)
		return;
	n->guest_mode = false;
	svm_switch_vmcb(vcpu, svm->vmcb01);
}

void svm_nested_free(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_nested *n = &to_svm(vcpu)->nested;

	svm_nested_leave(vcpu);
	svm_nested_npt_free(to_svm(vcpu));
	free_page((unsigned long)n->vmcb02);
	free_page((unsigned long)n->vmcb12);
	n->vmcb02 = NULL;
	n->vmcb12 = NULL;
}

/*
 * A write of EFER.SVME (@host: by userspace).  While L2 runs, EFER is L2's,
 * and L2 clearing SVME is left undefined by the APM: rather than let L1 run
 * on from state L2 made, L1 gets a triple fault (as on KVM since the fix).
 * Clearing it in L1 frees the nested state but leaves GIF alone.
 */
int svm_nested_set_efer_svme(struct kvmf_vcpu *vcpu, bool svme, bool host)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;

	if (n->guest_mode) {
		if (svme)
			return 0;
		if (!host) {
			svm->triple_fault = true;
			return 0;
		}
		svm_nested_leave(vcpu);
	}
	if (svme == svm->efer_svme)
		return 0;

	if (!svme) {
		svm_nested_free(vcpu);
		svm->efer_svme = false;
		return 0;
	}

	if (!kvmf_svm_nested_enabled)
		return -EINVAL;
	if (!host && (!svm_cpuid_has_svm(vcpu) || (svm->vm_cr & KVMF_VM_CR_SVMDIS)))
		return -EINVAL;
	if (!n->vmcb02) {
		n->vmcb02 = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		n->vmcb12 = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!n->vmcb02 || !n->vmcb12 || svm_nested_npt_alloc(vcpu)) {
			svm_nested_free(vcpu);
			return -ENOMEM;
		}
	}
	svm->efer_svme = true;
	return 0;
}

int svm_nested_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);

	switch (index) {
	case MSR_VM_HSAVE_PA:
		*data = svm->nested.hsave_pa;
		return 0;
	case MSR_VM_CR:
		*data = svm->vm_cr;
		return 0;
	default:
		return -EINVAL;
	}
}

int svm_nested_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	u64 sticky;

	switch (index) {
	case MSR_VM_HSAVE_PA:
		/* Userspace may restore whatever an older host accepted. */
		if (!host && !svm_gpa_page_valid(data))
			return -EINVAL;
		svm->nested.hsave_pa = data & PAGE_MASK;
		return 0;
	case MSR_VM_CR:
		if (data & ~SVM_VM_CR_VALID)
			return -EINVAL;
		/* Once SVM is disabled, LOCK and SVMDIS stay as they are. */
		sticky = svm->vm_cr & KVMF_VM_CR_SVMDIS ? SVM_VM_CR_LOCK | KVMF_VM_CR_SVMDIS : 0;
		data = (data & ~sticky) | (svm->vm_cr & sticky);
		if ((data & KVMF_VM_CR_SVMDIS) && (svm_guest_efer(svm) & EFER_SVME))
			return -EINVAL;
		svm->vm_cr = data;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Whether an SVM instruction (VMRUN, VMLOAD, ...) may run: #UD without
 * EFER.SVME or paging, and in L2 (kvmfork offers L2 no SVM of its own),
 * #GP above CPL 0.  Queues the exception and returns false if not.
 */
static bool svm_nested_insn_allowed(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_save_area *save = &svm->vmcb->save;

	if (svm->nested.guest_mode || !svm->efer_svme || !(save->cr0 & X86_CR0_PG)) {
		svm_queue_exception(vcpu, X86_TRAP_UD, false, 0, 0);
		return false;
	}
	if (save->cpl) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return false;
	}
	return true;
}

/* The VMCB address in RAX (EAX outside 64-bit mode); #GP unless the CPU could address it. */
static bool svm_nested_vmcb_gpa(struct kvmf_vcpu *vcpu, u64 *gpa)
{
	const struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	*gpa = vcpu->arch.regs[KVMF_REG_RAX];
	if (!((save->efer & EFER_LMA) && (save->cs.attrib & VMCB_ATTR_L)))
		*gpa = (u32)*gpa;
	if (!svm_gpa_page_valid(*gpa)) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return false;
	}
	return true;
}


/*
 * Whether L2 runs with nested paging: L1 asks for it and its CPUID has it.
 * As on KVM, NP_ENABLE counts for nothing otherwise.
 */
static bool svm_nested_npt_wanted(struct kvmf_vcpu *vcpu, const struct vmcb_control_area *c12)
{
	u32 out[4];

	if (!(c12->misc_ctl & SVM_MISC_CTL_NP_ENABLE))
		return false;
	kvmf_x86_cpuid(vcpu, 0x8000000a, 0, out);
	return out[CPUID_EDX] & CPUID_8000000A_EDX_NP;
}

static bool svm_nested_l1_has_nrips(struct kvmf_vcpu *vcpu)
{
	u32 out[4];

	kvmf_x86_cpuid(vcpu, 0x8000000a, 0, out);
	return out[CPUID_EDX] & CPUID_8000000A_EDX_NRIPS;
}

/*
 * A software interrupt or exception (INTn, INT3, INTO) that L1 injects
 * with NRIP save returns to VMCB12's next_rip.  A CPU without NRIP save
 * returns to RIP: L2 starts at next_rip then, and while the event is not
 * delivered yet, L1 is shown the RIP it gave (soft_int_*).
 */
static void svm_nested_inject_soft_event(struct kvmf_vcpu *vcpu, const struct vmcb *vmcb12)
{
	struct kvmf_svm_nested *n = &to_svm(vcpu)->nested;
	u32 event = vmcb12->control.event_inj;
	u32 type = event & SVM_EVTINJ_TYPE_MASK;
	u8 vector = event & SVM_EVTINJ_VECTOR_MASK;

	n->soft_int_active = false;
	if (!(event & SVM_EVTINJ_VALID) || !svm_nested_l1_has_nrips(vcpu) ||
	    !(type == SVM_EVTINJ_TYPE_SOFT_INT ||
	      (type == SVM_EVTINJ_TYPE_EXCEPTION && (vector == X86_TRAP_BP || vector == X86_TRAP_OF))))
		return;
	if (svm_has_nrips()) {
		n->vmcb02->control.next_rip = vmcb12->control.next_rip;
		return;
	}
	n->soft_int_active = true;
	n->soft_int_old_rip = vmcb12->save.rip;
	n->soft_int_next_rip = vmcb12->control.next_rip;
	n->vmcb02->save.rip = vmcb12->control.next_rip;
}


/*
 * vmcb02's controls: kvmfork's intercepts and permission maps (every port
 * and MSR exits to kvmfork, which then consults L1's maps), L1's intercepts
 * on top, kvmfork's nested page table or the shadow of L1's, L1's TSC
 * offset on top of L1's own, and L1's virtual interrupt state and event to
 * inject.  @flush: empty the shadow whatever L1 asked.
 */
static void svm_nested_prepare_control(struct kvmf_vcpu *vcpu, bool inject, bool flush)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_control_area *c01 = &svm->vmcb01->control;
	const struct vmcb_control_area *c12 = &svm->nested.ctl12;
	struct vmcb_control_area *c = &svm->nested.vmcb02->control;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < SVM_IWORD_COUNT; i++)
		c->intercepts[i] = c01->intercepts[i] | c12->intercepts[i];
	/* L2's TPR is L1's business, not the VMM's: CR8 writes exit only for L1. */
	if (!vmcb_is_intercept(c12, SVM_I_CR8_WRITE))
		vmcb_clear_intercept(c, SVM_I_CR8_WRITE);
	c->iopm_base_pa = c01->iopm_base_pa;
	c->msrpm_base_pa = c01->msrpm_base_pa;
	c->tsc_offset = c01->tsc_offset + c12->tsc_offset;
	c->int_ctl = (c12->int_ctl & SVM_INT_CTL_FROM_L1) | SVM_INT_CTL_V_INTR_MASKING;
	c->int_state = c12->int_state & SVM_INT_STATE_SHADOW;
	if (inject) {
		c->event_inj = c12->event_inj;
		c->event_inj_err = c12->event_inj_err;
	}
	c->misc_ctl = SVM_MISC_CTL_NP_ENABLE;
	svm->nested.npt = svm_nested_npt_wanted(vcpu, c12);
	svm->nested.l1_nxe = svm->vmcb01->save.efer & EFER_NX;
	c->nested_cr3 = svm->nested.npt ? svm_nested_npt_enter(vcpu, flush) : c01->nested_cr3;
}

/* The TSC offset changed (a write of MSR_IA32_TSC): L2's follows L1's. */
void svm_nested_update_tsc_offset(struct kvmf_svm_vcpu *svm)
{
	if (svm->nested.guest_mode)
		svm->nested.vmcb02->control.tsc_offset = svm->vmcb01->control.tsc_offset +
							 svm->nested.ctl12.tsc_offset;
}

/*
 * The state VMRUN loads from a VMCB and #VMEXIT stores to it: segments
 * other than VMLOAD's, descriptor tables, control and debug registers,
 * EFER, CPL, RFLAGS, RIP, RSP and RAX.
 */
static void svm_copy_vmrun_state(struct vmcb_save_area *to, const struct vmcb_save_area *from)
{
	to->es = from->es;
	to->cs = from->cs;
	to->ss = from->ss;
	to->ds = from->ds;
	to->gdtr = from->gdtr;
	to->idtr = from->idtr;
	to->cpl = from->cpl;
	to->efer = from->efer;
	to->cr0 = from->cr0;
	to->cr2 = from->cr2;
	to->cr3 = from->cr3;
	to->cr4 = from->cr4;
	to->dr6 = from->dr6;
	to->dr7 = from->dr7;
	to->rflags = from->rflags;
	to->rip = from->rip;
	to->rsp = from->rsp;
	to->rax = from->rax;
}

/* vmcb02's state: L2's from VMCB12, and what VMRUN does not load as L1 has it. */
static void svm_nested_prepare_save(struct kvmf_svm_vcpu *svm, const struct vmcb_save_area *s12)
{
	struct vmcb_save_area *s = &svm->nested.vmcb02->save;

	*s = svm->vmcb01->save;
	svm_copy_vmrun_state(s, s12);
	s->rflags |= X86_EFLAGS_FIXED;
	/* L2's own PAT with nested paging; without, L2 shares L1's memory and PAT. */
	if (svm->nested.npt)
		s->g_pat = s12->g_pat;
}

/* Writes nested.vmcb12, as updated, back to L1's VMCB12 at @gpa. */
static int svm_nested_write_vmcb12(struct kvmf_vcpu *vcpu, u64 gpa)
{
	return kvmf_x86_write_guest_phys(vcpu, gpa, to_svm(vcpu)->nested.vmcb12,
					 sizeof(struct vmcb));
}

int svm_exit_vmrun(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	struct vmcb *vmcb12 = n->vmcb12;
	u64 gpa;
	int r;

	if (!svm_nested_insn_allowed(vcpu) || !svm_nested_vmcb_gpa(vcpu, &gpa))
		return KVMF_EXIT_RESUME;
	/*
	 * No host save area (MSR_VM_HSAVE_PA), or no memory behind the VMCB:
	 * #GP, as KVM gives.  kvmfork never writes the save area (L1's state
	 * stays in vmcb01), but a CPU would need it.
	 */
	if (!n->hsave_pa || kvmf_x86_read_guest_phys(vcpu, gpa, vmcb12, sizeof(*vmcb12))) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	/* L1 resumes after its VMRUN, whatever happens to L2. */
	r = svm_skip_insn(vcpu);
	if (r != KVMF_EXIT_RESUME)
		return r;

	if (!svm_nested_controls_valid(svm_limits(), &vmcb12->control) ||
	    !svm_nested_save_valid(svm_limits(), &vmcb12->save) ||
	    (svm_nested_npt_wanted(vcpu, &vmcb12->control) &&
	     !svm_nested_npt_valid(svm_limits(), svm->vmcb01->save.efer, vmcb12))) {
		/* #VMEXIT(VMEXIT_INVALID) without running L2: GIF is clear after it. */
		vmcb12->control.exit_code = (u64)SVM_EXIT_ERR;
		vmcb12->control.exit_info_1 = 0;
		vmcb12->control.exit_info_2 = 0;
		svm->gif = false;
		if (svm_nested_write_vmcb12(vcpu, gpa))
			svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}

	n->vmcb12_gpa = gpa;
	n->ctl12 = vmcb12->control;
	svm_nested_prepare_control(vcpu, true, false);
	svm_nested_prepare_save(svm, &vmcb12->save);
	svm_nested_inject_soft_event(vcpu, vmcb12);
	svm_switch_vmcb(vcpu, n->vmcb02);
	n->guest_mode = true;
	svm->gif = true;
	return KVMF_EXIT_RESUME;
}

/*
 * #VMEXIT to L1, with the exit information that vmcb02's control area holds:
 * L2's state and the exit go to VMCB12, L1 continues after its VMRUN with
 * GIF clear and its breakpoints disabled (APM: "#VMEXIT").
 */
int svm_nested_vmexit(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	const struct vmcb *v02 = n->vmcb02;
	struct vmcb *v01 = svm->vmcb01, *v12 = n->vmcb12;
	const struct vmcb_save_area *s = &v02->save;
	struct vmcb_save_area *s12 = &v12->save;
	struct vmcb_control_area *c12 = &v12->control;

	n->guest_mode = false;
	n->exit_pending = false;
	svm_switch_vmcb(vcpu, v01);
	svm->gif = false;
	svm_copy_vmload_state(&v01->save, s);
	v01->save.dr7 = SVM_DR7_RESET;
	v01->control.event_inj = 0;

	if (kvmf_x86_read_guest_phys(vcpu, n->vmcb12_gpa, v12, sizeof(*v12))) {
		/* L1 took the memory of its VMCB away while L2 ran. */
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	svm_copy_vmrun_state(s12, s);

	c12->int_ctl = (n->ctl12.int_ctl & ~SVM_INT_CTL_TO_L1) |
		       (v02->control.int_ctl & SVM_INT_CTL_TO_L1);
	c12->int_state = v02->control.int_state;
	c12->exit_code = v02->control.exit_code;
	c12->exit_info_1 = v02->control.exit_info_1;
	c12->exit_info_2 = v02->control.exit_info_2;
	c12->exit_int_info = v02->control.exit_int_info;
	c12->event_inj = n->ctl12.event_inj;
	c12->event_inj_err = n->ctl12.event_inj_err;
	c12->tlb_control = n->ctl12.tlb_control;
	if (svm_nested_l1_has_nrips(vcpu))
		c12->next_rip = v02->control.next_rip;
	/* A soft event of L1's still undelivered: L1 sees the RIP it gave. */
	if (n->soft_int_active && s12->rip == n->soft_int_next_rip &&
	    (c12->exit_int_info & SVM_EVTINJ_VALID))
		s12->rip = n->soft_int_old_rip;
	n->soft_int_active = false;
	if (svm_nested_write_vmcb12(vcpu, n->vmcb12_gpa))
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
	return KVMF_EXIT_RESUME;
}

/* Whether L1's I/O permission map intercepts @size bytes of ports from @port. */
static bool svm_nested_l1_ioio(struct kvmf_vcpu *vcpu, const struct vmcb_control_area *c12,
			       u32 info)
{
	u16 port = info >> SVM_IOIO_PORT_SHIFT;
	unsigned int size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	u16 bits;

	if (!size)
		size = 1;
	if (!vmcb_is_intercept(c12, SVM_I_IOIO_PROT))
		return false;
	/* Two bytes of the map hold the bits of every port the access touches. */
	if (kvmf_x86_read_guest_phys(vcpu, (c12->iopm_base_pa & PAGE_MASK) + port / 8, &bits,
				     sizeof(bits)))
		return true;
	return (bits >> (port % 8)) & GENMASK(size - 1, 0);
}

/*
 * Whether L1's MSR permission map intercepts an access to MSR @index: two
 * bits (read, write) per MSR in three 8 KiB-MSR ranges; MSRs outside them
 * always exit (APM: "MSR Intercepts").
 */
static bool svm_nested_l1_msr(struct kvmf_vcpu *vcpu, const struct vmcb_control_area *c12,
			      u32 index, bool write)
{
	u64 bit;
	u8 byte;

	if (!vmcb_is_intercept(c12, SVM_I_MSR_PROT))
		return false;
	if (!svm_nested_msrpm_bit(index, write, &bit))
		return true;
	if (kvmf_x86_read_guest_phys(vcpu, (c12->msrpm_base_pa & PAGE_MASK) + bit / 8, &byte, 1))
		return true;
	return byte & BIT(bit % 8);
}

/* Whether L1 asked for the exit that vmcb02 holds. */
static bool svm_nested_l1_wants(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_control_area *c = &svm->nested.vmcb02->control;
	const struct vmcb_control_area *c12 = &svm->nested.ctl12;
	u64 code = c->exit_code;

	/* kvmfork's own step over an NMI handler's IRET in L2. */
	if (code == SVM_EXIT_DB && svm->nmi_singlestep)
		return false;
	switch (code) {
	/* The host's interrupts and NMIs, not L1's: kvmfork takes them. */
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	/*
	 * Nested page faults are kvmfork's: in its own table, or in the
	 * shadow of L1's, whose faults it hands to L1 itself (nested_npt.c).
	 */
	case SVM_EXIT_NPF:
		return false;
	case SVM_EXIT_IOIO:
		return svm_nested_l1_ioio(vcpu, c12, c->exit_info_1);
	case SVM_EXIT_MSR:
		return svm_nested_l1_msr(vcpu, c12, vcpu->arch.regs[KVMF_REG_RCX],
					 c->exit_info_1 & 1);
	default:
		/* CR, DR, exception and instruction intercepts: word code / 32, bit code % 32. */
		return code < SVM_IWORD_COUNT * 32 &&
		       (c12->intercepts[code / 32] & BIT(code % 32));
	}
}

/*
 * EXITINFO1 of an IOIO exit has the address size (A16, A32, A64), which
 * QEMU's SVM leaves out for IN and OUT: L1 gets it from decoding L2's
 * instruction, as a CPU would give it.
 */
static void svm_nested_ioio_address_size(struct kvmf_vcpu *vcpu, struct vmcb_control_area *c)
{
	const struct kvmf_insn *insn;
	struct kvmf_x86_cpu_mode m;

	if (c->exit_code != SVM_EXIT_IOIO || (c->exit_info_1 & SVM_IOIO_ASIZE_MASK))
		return;
	svm_get_cpu_mode(vcpu, &m);
	insn = kvmf_x86_decode(vcpu, &m);
	if (insn)
		c->exit_info_1 |= BIT(SVM_IOIO_ASIZE_SHIFT + ilog2(insn->ad_bytes / 2));
}

/*
 * The instruction intercepts, whose exits give the next instruction's
 * address with NRIP save (APM: "Next Sequential Instruction Pointer").
 */
static bool svm_exit_is_instruction(u64 code)
{
	switch (code) {
	case 0x000 ... 0x03f:		/* MOV CR, MOV DR */
	case 0x06e ... 0x072:		/* RDTSC, RDPMC, PUSHF, POPF, CPUID */
	case 0x074 ... 0x07c:		/* IRET, INTn, INVD, PAUSE, HLT, INVLPG(A), IOIO, MSR */
	case 0x080 ... 0x08b:		/* VMRUN .. MWAIT */
	case 0x08d:			/* XSETBV */
		return true;
	default:
		return false;
	}
}

/*
 * VMCB12's next_rip for an exit L1 gets: the CPU's with NRIP save, else
 * decoded from L2's instruction; 0 for exits that are not instructions.
 */
static void svm_nested_next_rip(struct kvmf_vcpu *vcpu, struct vmcb_control_area *c)
{
	const struct kvmf_insn *insn;
	struct kvmf_x86_cpu_mode m;

	if (!svm_exit_is_instruction(c->exit_code)) {
		c->next_rip = 0;
		return;
	}
	if (c->exit_code == SVM_EXIT_IOIO) {
		c->next_rip = c->exit_info_2;
		return;
	}
	if (svm_has_nrips())
		return;
	svm_get_cpu_mode(vcpu, &m);
	insn = kvmf_x86_decode(vcpu, &m);
	c->next_rip = insn ? vcpu->arch.rip + insn->len : 0;
	if (m.mode != KVMF_MODE_LONG)
		c->next_rip &= 0xffffffff;
}

int svm_nested_exit(struct kvmf_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->nested.vmcb02->control;

	/* vmcb02 failed VMRUN's checks: L1's VMCB12 holds what the CPU refused. */
	if (c->exit_code == (u64)SVM_EXIT_ERR || c->exit_code == 0xffffffffull) {
		c->exit_code = (u64)SVM_EXIT_ERR;
		c->next_rip = 0;
		return svm_nested_vmexit(vcpu);
	}
	if (!svm_nested_l1_wants(vcpu))
		return -ENOENT;
	svm_nested_ioio_address_size(vcpu, c);
	svm_nested_next_rip(vcpu, c);
	return svm_nested_vmexit(vcpu);
}

/* An exception kvmfork raises in L2 is L1's exit if L1 intercepts its vector. */
bool svm_nested_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error,
				u64 cr2)
{
	struct kvmf_svm_nested *n = &to_svm(vcpu)->nested;

	if (!n->guest_mode || !(n->ctl12.intercepts[SVM_IWORD_EXCEPTION] & BIT(vector)))
		return false;
	n->exit_pending = true;
	n->pending_code = SVM_EXIT_EXCP_BASE + vector;
	n->pending_info1 = has_error ? error : 0;
	n->pending_info2 = vector == X86_TRAP_PF ? cr2 : 0;
	return true;
}

int svm_nested_before_entry(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	struct vmcb_control_area *c;

	if (svm->triple_fault) {
		svm->triple_fault = false;
		svm_nested_leave(vcpu);
		vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return KVMF_EXIT_TO_USER;
	}
	if (n->exit_pending) {
		c = &n->vmcb02->control;
		c->exit_code = n->pending_code;
		c->exit_info_1 = n->pending_info1;
		c->exit_info_2 = n->pending_info2;
		c->exit_int_info = 0;
		c->next_rip = 0;
		return svm_nested_vmexit(vcpu);
	}
	svm_nested_npt_check(vcpu);
	return KVMF_EXIT_RESUME;
}

/* VMLOAD and VMSAVE: the VMLOAD state between the current state and the VMCB at RAX. */
static int svm_vmload_vmsave(struct kvmf_vcpu *vcpu, bool load)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *buf = &svm->nested.vmcb12->save;
	u64 gpa;

	if (!svm_nested_insn_allowed(vcpu) || !svm_nested_vmcb_gpa(vcpu, &gpa))
		return KVMF_EXIT_RESUME;
	gpa += offsetof(struct vmcb, save);
	if (kvmf_x86_read_guest_phys(vcpu, gpa, buf, sizeof(*buf)))
		goto gp;
	if (load) {
		svm_copy_vmload_state(&svm->vmcb->save, buf);
	} else {
		svm_copy_vmload_state(buf, &svm->vmcb->save);
		if (kvmf_x86_write_guest_phys(vcpu, gpa, buf, sizeof(*buf)))
			goto gp;
	}
	return svm_skip_insn(vcpu);
gp:
	svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
	return KVMF_EXIT_RESUME;
}

int svm_exit_vmload(struct kvmf_vcpu *vcpu)
{
	return svm_vmload_vmsave(vcpu, true);
}

int svm_exit_vmsave(struct kvmf_vcpu *vcpu)
{
	return svm_vmload_vmsave(vcpu, false);
}

static int svm_set_gif_insn(struct kvmf_vcpu *vcpu, bool gif)
{
	int r;

	if (!svm_nested_insn_allowed(vcpu))
		return KVMF_EXIT_RESUME;
	r = svm_skip_insn(vcpu);
	if (r == KVMF_EXIT_RESUME)
		to_svm(vcpu)->gif = gif;
	return r;
}

int svm_exit_stgi(struct kvmf_vcpu *vcpu)
{
	return svm_set_gif_insn(vcpu, true);
}

int svm_exit_clgi(struct kvmf_vcpu *vcpu)
{
	return svm_set_gif_insn(vcpu, false);
}

/* INVLPGA: L2 always runs on a fresh ASID, so dropping every translation is enough. */
int svm_exit_invlpga(struct kvmf_vcpu *vcpu)
{
	if (!svm_nested_insn_allowed(vcpu))
		return KVMF_EXIT_RESUME;
	svm_nested_npt_zap(to_svm(vcpu));
	to_svm(vcpu)->asid_generation = 0;
	return svm_skip_insn(vcpu);
}

/* KVM_CAP_NESTED_STATE: the largest state KVM_GET_NESTED_STATE returns. */
int svm_nested_state_size(void)
{
	return sizeof(struct kvm_nested_state) + KVM_STATE_NESTED_SVM_VMCB_SIZE;
}

/*
 * KVM_GET_NESTED_STATE: the header, and while L2 runs, a VMCB-shaped page
 * with L1's controls for L2 and L1's own state; L2's state is the vCPU's
 * (KVM_GET_REGS and the rest).  Too small a buffer gets -E2BIG with the
 * size needed written to its header.
 */
long svm_get_nested_state(struct kvmf_vcpu *vcpu, struct kvm_nested_state __user *ustate)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	struct kvm_nested_state hdr = {
		.format = KVM_STATE_NESTED_FORMAT_SVM,
		.size = sizeof(hdr),
	};
	struct vmcb *blob = n->vmcb12;
	u32 room;

	if (get_user(room, &ustate->size))
		return -EFAULT;
	if (n->guest_mode) {
		hdr.flags |= KVM_STATE_NESTED_GUEST_MODE;
		hdr.hdr.svm.vmcb_pa = n->vmcb12_gpa;
		hdr.size += KVM_STATE_NESTED_SVM_VMCB_SIZE;
	}
	if (svm->gif)
		hdr.flags |= KVM_STATE_NESTED_GIF_SET;
	/*
	 * As KVM does: room for less than a header gets the header's size,
	 * room for the header gets the header with the size needed, and
	 * -E2BIG either way.  (KVM then also writes the VMCB page past the
	 * room it was given; kvmfork does not.)
	 */
	if (room < sizeof(hdr))
		return put_user((u32)sizeof(hdr), &ustate->size) ? -EFAULT : -E2BIG;
	if (copy_to_user(ustate, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (room < hdr.size)
		return -E2BIG;
	if (!n->guest_mode)
		return 0;

	BUILD_BUG_ON(KVM_STATE_NESTED_SVM_VMCB_SIZE != PAGE_SIZE);
	memset(blob, 0, PAGE_SIZE);
	blob->control = n->ctl12;
	blob->save = svm->vmcb01->save;
	if (copy_to_user(ustate->data.svm, blob, KVM_STATE_NESTED_SVM_VMCB_SIZE))
		return -EFAULT;
	return 0;
}


/*
 * KVM_SET_NESTED_STATE.  Out of guest mode only GIF is set.  Into guest
 * mode, the state userspace gave the vCPU (KVM_SET_SREGS and the rest,
 * before or after this) is L2's; the blob gives L1's controls and L1's
 * state for the next #VMEXIT.  Everything is checked before anything
 * changes.
 */
long svm_set_nested_state(struct kvmf_vcpu *vcpu, struct kvm_nested_state __user *ustate)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	struct kvm_nested_state hdr;
	struct vmcb *blob, *v01 = svm->vmcb01;
	struct vmcb_save_area *s01 = &v01->save;
	const struct svm_nested_limits *l = svm_limits();
	long r;

	if (copy_from_user(&hdr, ustate, sizeof(hdr)))
		return -EFAULT;
	r = svm_nested_state_check(l, &hdr, svm_guest_efer(svm) & EFER_SVME);
	if (r)
		return r;
	if (!(hdr.flags & KVM_STATE_NESTED_GUEST_MODE)) {
		svm_nested_leave(vcpu);
		svm->gif = hdr.flags & KVM_STATE_NESTED_GIF_SET;
		return 0;
	}

	r = -EINVAL;
	blob = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!blob)
		return -ENOMEM;
	if (copy_from_user(blob, ustate->data.svm, KVM_STATE_NESTED_SVM_VMCB_SIZE)) {
		r = -EFAULT;
		goto out;
	}
	if (!svm_nested_controls_valid(l, &blob->control) ||
	    !svm_nested_l1_save_valid(l, &blob->save) ||
	    (svm_nested_npt_wanted(vcpu, &blob->control) &&
	     !svm_nested_npt_valid(l, blob->save.efer, blob)))
		goto out;

	/* The vCPU's state so far is L2's. */
	if (!n->guest_mode) {
		svm_save_regs(vcpu, s01);
		n->vmcb02->save = *s01;
		svm->vmcb = n->vmcb02;
	}
	/* L1's: what #VMEXIT restores. */
	svm_copy_vmrun_state(s01, &blob->save);
	s01->rflags |= X86_EFLAGS_FIXED;
	s01->cpl = 0;

	n->vmcb12_gpa = hdr.hdr.svm.vmcb_pa;
	n->ctl12 = blob->control;
	/* An event L1 injected went in with L2's first instruction, unless that is still to come. */
	svm_nested_prepare_control(vcpu, hdr.flags & KVM_STATE_NESTED_RUN_PENDING, true);
	n->guest_mode = true;
	n->exit_pending = false;
	svm->efer_svme = true;
	svm->gif = hdr.flags & KVM_STATE_NESTED_GIF_SET;
	svm->asid_generation = 0;
	r = 0;
out:
	kfree(blob);
	return r;
}
