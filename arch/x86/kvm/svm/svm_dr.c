// SPDX-License-Identifier: GPL-2.0
/*
 * Debug registers on SVM.  The VMCB holds the guest's DR6 and DR7; every
 * MOV to or from DR0-DR7 is intercepted and carried out by debugregs.c, so
 * that the guest never touches the host's breakpoint registers.
 *
 * With decode assists, EXITINFO1 names the GPR; without them (QEMU's SVM)
 * the instruction is decoded (APM vol. 2, "Instruction Intercepts").
 */
#include <linux/kernel.h>
#include <asm/cpufeature.h>
#include <asm/trapnr.h>

#include "../x86.h"
#include "svm.h"

#define SVM_EXITINFO_DR_GPR	0xfull
/* DR0-DR7 exist; the CPU raises #UD for DR8-DR15 before any intercept. */
#define SVM_DR_INTERCEPTS	0x00ff00ffu

void svm_intercept_dr(struct vmcb_control_area *c)
{
	c->intercepts[SVM_IWORD_DR] = SVM_DR_INTERCEPTS;
}

u64 svm_get_cr4(struct kvmf_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr4;
}

void svm_get_dr6_dr7(struct kvmf_vcpu *vcpu, u64 *dr6, u64 *dr7)
{
	const struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	*dr6 = save->dr6;
	*dr7 = save->dr7;
}

void svm_set_dr6_dr7(struct kvmf_vcpu *vcpu, u64 dr6, u64 dr7)
{
	struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	save->dr6 = dr6;
	save->dr7 = dr7;
}

int svm_exit_dr(struct kvmf_vcpu *vcpu)
{
	const struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	u64 code = vmcb->control.exit_code;
	bool write = code >= SVM_EXIT_DR_WRITE;
	unsigned int dr = code - (write ? SVM_EXIT_DR_WRITE : SVM_EXIT_DR_READ);
	const struct kvmf_insn *insn;
	struct kvmf_x86_cpu_mode m;
	unsigned int reg;
	int vector;

	/* The CPU checks the privilege level before the intercept; kvmfork does not rely on it. */
	if (vmcb->save.cpl) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	svm_get_cpu_mode(vcpu, &m);
	if (boot_cpu_has(X86_FEATURE_DECODEASSISTS)) {
		reg = vmcb->control.exit_info_1 & SVM_EXITINFO_DR_GPR;
	} else {
		insn = kvmf_x86_decode(vcpu, &m);
		if (!insn)
			return kvmf_x86_emulation_failure(vcpu);
		reg = insn->rm;
	}

	vector = kvmf_x86_mov_dr(vcpu, dr, reg, write, m.mode == KVMF_MODE_LONG);
	if (vector) {
		svm_queue_exception(vcpu, vector, vector == X86_TRAP_GP, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	return svm_skip_insn(vcpu);
}
