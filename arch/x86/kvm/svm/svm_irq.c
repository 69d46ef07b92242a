// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts and NMIs from userspace on SVM (the vendor half of irq.c):
 * event injection (APM: "Event Injection"), the interrupt window through a
 * virtual interrupt that the guest takes as soon as it could take a real
 * one (V_IRQ with the VINTR intercept, APM: "Virtual Interrupt
 * Intercept"), and NMI blocking until the handler's IRET.
 *
 * A guest in guest mode (L2) whose hypervisor intercepts INTR or NMI gets
 * no injection: its hypervisor (L1) gets the #VMEXIT, and the event waits
 * until L1 can take it.  With V_INTR_MASKING in VMCB12 L1's IF decides
 * whether the interrupt may come at all, as on hardware.
 *
 * NMIs: after one is injected, NMIs stay blocked until the guest's IRET
 * has run.  kvmfork intercepts IRET then; the exit comes before the IRET
 * runs, so it single-steps the IRET (TF, and the #DB intercept: the trap
 * comes after an instruction that started with TF set, even one that
 * reloads RFLAGS) and NMIs are allowed again at that #DB, right after the
 * IRET, where a second NMI goes in as on hardware.
 */
#include <uapi/asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "../x86.h"
#include "svm.h"

/* EXITINFO1 of a MOV-to-CR exit with decode assists: MOV (not LMSW/CLTS) and its register. */
#define SVM_EXITINFO_CR_MOV		BIT_ULL(63)
#define SVM_EXITINFO_CR_GPR		0xfull
#define SVM_INT_CTL_V_TPR_CR8		0xfull

#define SVM_INT_CTL_V_INTR_PRIO_MAX	(0xfull << SVM_INT_CTL_V_INTR_PRIO_SHIFT)
/* Set to step over an NMI handler's IRET: trap after it, no instruction breakpoint on it. */
#define SVM_NMI_STEP_FLAGS	(X86_EFLAGS_TF | X86_EFLAGS_RF)
#define SVM_INT_CTL_WINDOW	(SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_IGN_TPR | \
				 SVM_INT_CTL_V_INTR_PRIO_MAX)

static bool svm_event_pending(const struct kvmf_svm_vcpu *svm)
{
	return (svm->vmcb->control.event_inj & SVM_EVTINJ_VALID) || svm->nested.exit_pending ||
	       svm->triple_fault;
}

/* Whether L1 intercepts @bit while L2 runs. */
static bool svm_l1_intercepts(const struct kvmf_svm_vcpu *svm, enum svm_intercept bit)
{
	return svm->nested.guest_mode && vmcb_is_intercept(&svm->nested.ctl12, bit);
}

bool svm_interrupt_allowed(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct kvmf_svm_nested *n = &svm->nested;

	if (!svm->gif || svm_event_pending(svm))
		return false;
	if (n->guest_mode) {
		bool l1_if = n->ctl12.int_ctl & SVM_INT_CTL_V_INTR_MASKING ?
			     svm->vmcb01->save.rflags & X86_EFLAGS_IF :
			     vcpu->arch.rflags & X86_EFLAGS_IF;

		if (!l1_if)
			return false;
		if (svm_l1_intercepts(svm, SVM_I_INTR))
			return true;
	}
	return (vcpu->arch.rflags & X86_EFLAGS_IF) &&
	       !(svm->vmcb->control.int_state & SVM_INT_STATE_SHADOW);
}

static void svm_disable_irq_window(struct kvmf_svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb01->control;

	c->int_ctl &= ~SVM_INT_CTL_WINDOW;
	vmcb_clear_intercept(c, SVM_I_VINTR);
}

/* A #VMEXIT to L1 for an event L1 intercepts; the event waits for L1. */
static void svm_event_exit_to_l1(struct kvmf_vcpu *vcpu, u64 code)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->nested.vmcb02->control;

	c->exit_code = code;
	c->exit_info_1 = 0;
	c->exit_info_2 = 0;
	c->exit_int_info = 0;
	c->next_rip = 0;
	svm_nested_vmexit(vcpu);
}

/*
 * KVM_INTERRUPT's vector: in on this entry unless GIF is clear or another
 * event goes in first, whatever the guest's IF (the VMM checked it).
 */
bool svm_inject_irq(struct kvmf_vcpu *vcpu, u8 vector)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);

	if (!svm->gif || svm_event_pending(svm))
		return false;
	if (svm_l1_intercepts(svm, SVM_I_INTR)) {
		svm_event_exit_to_l1(vcpu, SVM_EXIT_INTR);
		return false;
	}
	svm->vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR | vector;
	return true;
}

/*
 * L1 (or the only guest) exits with VINTR as soon as it could take an
 * interrupt.  In L2 nothing is needed: L1's own V_IRQ stays L1's, and the
 * interrupt goes in at L2's next exit.
 */
void svm_enable_irq_window(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb01->control;

	if (svm->nested.guest_mode)
		return;
	c->int_ctl |= SVM_INT_CTL_WINDOW;
	vmcb_set_intercept(c, SVM_I_VINTR);
}

int svm_exit_vintr(struct kvmf_vcpu *vcpu)
{
	/* The window is open: irq.c injects or reports it before the next entry. */
	svm_disable_irq_window(to_svm(vcpu));
	return KVMF_EXIT_RESUME;
}

bool svm_nmi_allowed(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);

	if (!svm->gif || svm_event_pending(svm))
		return false;
	if (svm_l1_intercepts(svm, SVM_I_NMI))
		return true;
	return !svm->nmi_masked && !(svm->vmcb->control.int_state & SVM_INT_STATE_SHADOW);
}

bool svm_inject_nmi(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);

	if (svm_l1_intercepts(svm, SVM_I_NMI)) {
		svm_event_exit_to_l1(vcpu, SVM_EXIT_NMI);
		return false;
	}
	svm->vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI | X86_TRAP_NMI;
	svm->nmi_masked = true;
	vmcb_set_intercept(&svm->vmcb->control, SVM_I_IRET);
	return true;
}

/* The NMI handler's IRET is about to run: step over it. */
int svm_exit_iret(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);

	if (!svm->nmi_singlestep) {
		svm->nmi_singlestep = true;
		vcpu->arch.rflags_guest = vcpu->arch.rflags & SVM_NMI_STEP_FLAGS;
		vcpu->arch.rflags_forced = SVM_NMI_STEP_FLAGS;
		vcpu->arch.rflags |= SVM_NMI_STEP_FLAGS;
		vmcb_set_intercept(&svm->vmcb->control, SVM_I_DB);
	}
	vmcb_clear_intercept(&svm->vmcb->control, SVM_I_IRET);
	return KVMF_EXIT_RESUME;
}

/*
 * Stops single-stepping for NMI blocking.  After the IRET ran, RFLAGS is
 * what it popped, the guest's own; if the step is abandoned before
 * (@restore: KVM_SET_VCPU_EVENTS), TF and RF go back to the guest's values.
 */
static void svm_nmi_singlestep_end(struct kvmf_vcpu *vcpu, bool restore)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_arch_vcpu *a = &vcpu->arch;

	if (restore)
		a->rflags = (a->rflags & ~a->rflags_forced) | (a->rflags_guest & a->rflags_forced);
	a->rflags_forced = 0;
	svm->nmi_singlestep = false;
	vmcb_clear_intercept(&svm->vmcb->control, SVM_I_DB);
}

/*
 * #DB: kvmfork's step over an NMI handler's IRET, which has run (NMIs are
 * unblocked; the trap was kvmfork's, the guest does not see it), or the
 * IRET did not run (an exception): the guest gets its #DB, and the next
 * IRET is intercepted again.
 */
int svm_exit_db(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *save = &svm->vmcb->save;
	bool guest_tf;

	if (!svm->nmi_singlestep) {
		svm_queue_exception(vcpu, X86_TRAP_DB, false, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	guest_tf = vcpu->arch.rflags_guest & X86_EFLAGS_TF;
	svm_nmi_singlestep_end(vcpu, false);
	svm->nmi_masked = false;
	/* The guest was stepping too: the trap is its as well. */
	if (guest_tf) {
		svm_queue_exception(vcpu, X86_TRAP_DB, false, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	/* Otherwise the trap's mark in DR6 (BS) is kvmfork's own. */
	save->dr6 &= ~DR_STEP;
	return KVMF_EXIT_RESUME;
}

u8 svm_get_cr8(struct kvmf_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.int_ctl & SVM_INT_CTL_V_TPR_CR8;
}

void svm_set_cr8(struct kvmf_vcpu *vcpu, u8 cr8)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->int_ctl = (c->int_ctl & ~SVM_INT_CTL_V_TPR_MASK) | cr8;
}

/*
 * MOV to CR8 (kvmfork intercepts it for L1 or the only guest): the new TPR,
 * and KVM_EXIT_SET_TPR when it went down, so that the VMM's interrupt
 * controller can deliver what the old one held back.  The register is in
 * EXITINFO1 with decode assists; otherwise the instruction says (0F 22 /r,
 * CR8 by REX.R or by LOCK).
 */
int svm_exit_cr8_write(struct kvmf_vcpu *vcpu)
{
	const struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u8 old = svm_get_cr8(vcpu), reg;
	const struct kvmf_insn *insn;
	struct kvmf_x86_cpu_mode m;
	u64 value;
	int r;

	if (c->exit_info_1 & SVM_EXITINFO_CR_MOV) {
		reg = c->exit_info_1 & SVM_EXITINFO_CR_GPR;
	} else {
		svm_get_cpu_mode(vcpu, &m);
		insn = kvmf_x86_decode(vcpu, &m);
		if (!insn)
			return kvmf_x86_emulation_failure(vcpu);
		reg = insn->rm;
	}
	value = vcpu->arch.regs[reg];
	if (value & ~(u64)SVM_INT_CTL_V_TPR_CR8) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	r = svm_skip_insn(vcpu);
	if (r != KVMF_EXIT_RESUME)
		return r;
	svm_set_cr8(vcpu, value);
	if (value >= old)
		return KVMF_EXIT_RESUME;
	vcpu->run->exit_reason = KVM_EXIT_SET_TPR;
	return KVMF_EXIT_TO_USER;
}

void svm_get_events(struct kvmf_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_control_area *c = &svm->vmcb->control;
	u32 event = c->event_inj;
	u8 vector = event & SVM_EVTINJ_VECTOR_MASK;

	if (event & SVM_EVTINJ_VALID) {
		switch (event & SVM_EVTINJ_TYPE_MASK) {
		case SVM_EVTINJ_TYPE_EXCEPTION:
			ev->exception.injected = 1;
			ev->exception.nr = vector;
			ev->exception.has_error_code = !!(event & SVM_EVTINJ_ERROR_VALID);
			ev->exception.error_code = c->event_inj_err;
			break;
		case SVM_EVTINJ_TYPE_NMI:
			ev->nmi.injected = 1;
			break;
		case SVM_EVTINJ_TYPE_SOFT_INT:
		case SVM_EVTINJ_TYPE_INTR:
			ev->interrupt.injected = 1;
			ev->interrupt.nr = vector;
			ev->interrupt.soft = (event & SVM_EVTINJ_TYPE_MASK) == SVM_EVTINJ_TYPE_SOFT_INT;
			break;
		}
	}
	/* SVM has one shadow bit: both kinds, as KVM reports it. */
	if (c->int_state & SVM_INT_STATE_SHADOW)
		ev->interrupt.shadow = KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS;
	ev->nmi.masked = svm->nmi_masked;
}

void svm_set_events(struct kvmf_vcpu *vcpu, const struct kvm_vcpu_events *ev)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->event_inj = 0;
	c->event_inj_err = 0;
	if (ev->exception.injected) {
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | ev->exception.nr |
			       (ev->exception.has_error_code ? SVM_EVTINJ_ERROR_VALID : 0);
		c->event_inj_err = ev->exception.error_code;
	} else if (ev->nmi.injected) {
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI | X86_TRAP_NMI;
	} else if (ev->interrupt.injected && ev->interrupt.soft) {
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_SOFT_INT | ev->interrupt.nr;
	}
	if (ev->flags & KVM_VCPUEVENT_VALID_SHADOW) {
		if (ev->interrupt.shadow)
			c->int_state |= SVM_INT_STATE_SHADOW;
		else
			c->int_state &= ~SVM_INT_STATE_SHADOW;
	}
	svm->nmi_masked = ev->nmi.masked;
	if (svm->nmi_singlestep)
		svm_nmi_singlestep_end(vcpu, true);
	if (svm->nmi_masked)
		vmcb_set_intercept(c, SVM_I_IRET);
	else
		vmcb_clear_intercept(c, SVM_I_IRET);
}
