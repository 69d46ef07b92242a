// SPDX-License-Identifier: GPL-2.0
/*
 * #VMEXIT handling: one small handler per exit code, in a table indexed by
 * the code.  Handlers return a kvmf_exit_result (resume the guest, or go to
 * userspace with vcpu->run filled in) or a negative errno.  Every exit
 * without a handler reaches svm_exit_unexpected(), which reports
 * KVM_EXIT_INTERNAL_ERROR with the exit code.
 */
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>
#include <uapi/linux/kvm_para.h>

#include "../guest_mem.h"
#include "../tdp_mmu.h"
#include "../x86.h"
#include "svm.h"

typedef int (*svm_exit_handler)(struct kvmf_vcpu *vcpu);

static struct vmcb *svm_vmcb(struct kvmf_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb;
}

/*
 * APM: "Event Injection": delivered on the next VMRUN, unless it happens in
 * L2 and L1 intercepts it: then it is L1's #VMEXIT.
 */
void svm_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error, u64 cr2)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	if (svm_nested_queue_exception(vcpu, vector, has_error, error, cr2))
		return;

	vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | vector |
				  (has_error ? SVM_EVTINJ_ERROR_VALID : 0);
	vmcb->control.event_inj_err = error;
	if (vector == X86_TRAP_PF)
		vmcb->save.cr2 = cr2;
}

static int svm_exit_unexpected(struct kvmf_vcpu *vcpu)
{
	u64 data[2] = { svm_vmcb(vcpu)->control.exit_code, raw_smp_processor_id() };

	return kvmf_x86_internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				       ARRAY_SIZE(data), data);
}

static void svm_get_paging(struct kvmf_vcpu *vcpu, struct kvmf_x86_paging *p)
{
	const struct vmcb_save_area *save = &svm_vmcb(vcpu)->save;
	const struct kvmf_svm_nested *n = &to_svm(vcpu)->nested;

	*p = (struct kvmf_x86_paging) {
		.cr0 = save->cr0, .cr3 = save->cr3, .cr4 = save->cr4, .efer = save->efer,
		/* L2 with nested paging: its physical addresses go through L1's table. */
		.nested_paging = n->guest_mode && n->npt,
		.nested_nxe = n->l1_nxe,
		.ncr3 = n->ctl12.nested_cr3,
	};
}

static bool svm_long_mode_code(const struct vmcb_save_area *save)
{
	return (save->efer & EFER_LMA) && (save->cs.attrib & VMCB_ATTR_L);
}

/* The guest's mode as the instruction emulator sees it. */
void svm_get_cpu_mode(struct kvmf_vcpu *vcpu, struct kvmf_x86_cpu_mode *m)
{
	const struct vmcb_save_area *save = &svm_vmcb(vcpu)->save;
	const struct vmcb_seg *segs[KVMF_NR_SEGS] = {
		[KVMF_SEG_ES] = &save->es, [KVMF_SEG_CS] = &save->cs, [KVMF_SEG_SS] = &save->ss,
		[KVMF_SEG_DS] = &save->ds, [KVMF_SEG_FS] = &save->fs, [KVMF_SEG_GS] = &save->gs,
	};
	unsigned int i;

	if (!(save->cr0 & X86_CR0_PE))
		m->mode = KVMF_MODE_REAL;
	else if (vcpu->arch.rflags & X86_EFLAGS_VM)
		m->mode = KVMF_MODE_VM86;
	else if (svm_long_mode_code(save))
		m->mode = KVMF_MODE_LONG;
	else if (save->efer & EFER_LMA)
		m->mode = KVMF_MODE_COMPAT;
	else
		m->mode = KVMF_MODE_PROT;
	m->cs_d = save->cs.attrib & VMCB_ATTR_DB;
	m->la57 = save->cr4 & X86_CR4_LA57;
	for (i = 0; i < KVMF_NR_SEGS; i++)
		m->seg_base[i] = segs[i]->base;
	svm_get_paging(vcpu, &m->paging);
}

/*
 * Moves RIP past the intercepted instruction.  With NRIP save the CPU tells
 * where the next instruction starts; without it, the instruction at CS:RIP
 * is decoded for its length.  An interrupt shadow (STI, MOV SS) covered
 * that instruction only: it ends with it.
 */
int svm_skip_insn(struct kvmf_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	const struct kvmf_insn *insn;
	struct kvmf_x86_cpu_mode m;

	if (svm_has_nrips() && vmcb->control.next_rip) {
		vcpu->arch.rip = vmcb->control.next_rip;
		vmcb->control.int_state &= ~SVM_INT_STATE_SHADOW;
		return KVMF_EXIT_RESUME;
	}

	svm_get_cpu_mode(vcpu, &m);
	insn = kvmf_x86_decode(vcpu, &m);
	if (!insn)
		return kvmf_x86_emulation_failure(vcpu);

	vcpu->arch.rip += insn->len;
	if (m.mode != KVMF_MODE_LONG)
		vcpu->arch.rip &= 0xffffffff;
	vmcb->control.int_state &= ~SVM_INT_STATE_SHADOW;
	return KVMF_EXIT_RESUME;
}

static int svm_exit_host_event(struct kvmf_vcpu *vcpu)
{
	/* The host interrupt or NMI is taken once GIF is set again. */
	return KVMF_EXIT_RESUME;
}

static int svm_exit_hlt(struct kvmf_vcpu *vcpu)
{
	int r = svm_skip_insn(vcpu);

	if (r != KVMF_EXIT_RESUME)
		return r;
	/* No in-kernel interrupt controller: userspace decides what HLT waits for. */
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return KVMF_EXIT_TO_USER;
}

static int svm_exit_cpuid(struct kvmf_vcpu *vcpu)
{
	u64 *regs = vcpu->arch.regs;
	u32 out[4];
	int r = svm_skip_insn(vcpu);

	if (r != KVMF_EXIT_RESUME)
		return r;
	kvmf_x86_cpuid(vcpu, regs[KVMF_REG_RAX], regs[KVMF_REG_RCX], out);
	kvmf_x86_cpuid_runtime(regs[KVMF_REG_RAX], regs[KVMF_REG_RCX], svm_vmcb(vcpu)->save.cr4,
			       vcpu->arch.xcr0, out);
	/* 32-bit results zero-extend into the 64-bit registers. */
	regs[KVMF_REG_RAX] = out[0];
	regs[KVMF_REG_RBX] = out[1];
	regs[KVMF_REG_RCX] = out[2];
	regs[KVMF_REG_RDX] = out[3];
	return KVMF_EXIT_RESUME;
}

/*
 * XSETBV: #UD without CR4.OSXSAVE, #GP(0) outside CPL 0, for an XCR other
 * than XCR0 or for a value XCR0 cannot take (fpu.c).
 */
static int svm_exit_xsetbv(struct kvmf_vcpu *vcpu)
{
	const struct vmcb_save_area *save = &svm_vmcb(vcpu)->save;
	const u64 *regs = vcpu->arch.regs;
	u64 value = (u32)regs[KVMF_REG_RAX] | (u64)(u32)regs[KVMF_REG_RDX] << 32;

	if (!(save->cr4 & X86_CR4_OSXSAVE)) {
		svm_queue_exception(vcpu, X86_TRAP_UD, false, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	if (save->cpl || (u32)regs[KVMF_REG_RCX] || kvmf_x86_set_xcr0(vcpu, value)) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	return svm_skip_insn(vcpu);
}

/*
 * Segment and address size of an INS or OUTS.  The exit gives the segment
 * only with decode assists and the address size not always, so both come
 * from decoding the instruction, which works on every CPU.
 */
static int svm_decode_string_io(struct kvmf_vcpu *vcpu, struct kvmf_pio_insn *insn)
{
	const struct kvmf_insn *decoded;
	struct kvmf_x86_cpu_mode m;
	int seg;

	svm_get_cpu_mode(vcpu, &m);
	decoded = kvmf_x86_decode(vcpu, &m);
	if (!decoded)
		return -EINVAL;

	/* INS always writes ES:RDI; OUTS reads DS:RSI unless overridden. */
	if (insn->in)
		seg = KVMF_SEG_ES;
	else
		seg = decoded->seg_override >= 0 ? decoded->seg_override : KVMF_SEG_DS;
	insn->seg_base = m.seg_base[seg];
	/* 64-bit mode: only FS and GS have bases. */
	if (m.mode == KVMF_MODE_LONG && seg != KVMF_SEG_FS && seg != KVMF_SEG_GS)
		insn->seg_base = 0;
	insn->addr_size = decoded->ad_bytes;
	insn->paging = m.paging;
	return 0;
}

/*
 * Port I/O.  EXITINFO2 holds the address of the next instruction whether or
 * not the CPU has NRIP save (APM: "IOIO Intercept").
 */
static int svm_exit_ioio(struct kvmf_vcpu *vcpu)
{
	const struct vmcb_control_area *c = &svm_vmcb(vcpu)->control;
	u32 info = c->exit_info_1;
	struct kvmf_pio_insn insn = {
		.port = info >> SVM_IOIO_PORT_SHIFT,
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		.in = info & SVM_IOIO_IN,
		.string = info & SVM_IOIO_STRING,
		.rep = info & SVM_IOIO_REP,
		.next_rip = c->exit_info_2,
	};

	if (insn.string && svm_decode_string_io(vcpu, &insn))
		return kvmf_x86_emulation_failure(vcpu);
	return kvmf_x86_pio(vcpu, &insn);
}

static int svm_exit_shutdown(struct kvmf_vcpu *vcpu)
{
	/* L2 shut down and L1 does not intercept it: L1 triple-faults. */
	if (to_svm(vcpu)->nested.guest_mode) {
		svm_nested_leave(vcpu);
		vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return KVMF_EXIT_TO_USER;
	}
	/* The VMCB is undefined after a shutdown: start over from INIT state. */
	svm_vmcb_reset(vcpu);
	kvmf_x86_reset_regs(vcpu);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return KVMF_EXIT_TO_USER;
}

/* KVM's hypercall ABI: nothing is implemented yet, so every call gets -KVM_ENOSYS. */
static int svm_exit_vmmcall(struct kvmf_vcpu *vcpu)
{
	int r = svm_skip_insn(vcpu);

	if (r != KVMF_EXIT_RESUME)
		return r;
	vcpu->arch.regs[KVMF_REG_RAX] = svm_vmcb(vcpu)->save.cpl ? (u64)-KVM_EPERM :
								     (u64)-KVM_ENOSYS;
	return KVMF_EXIT_RESUME;
}

static int svm_exit_invd(struct kvmf_vcpu *vcpu)
{
	/* Dropping dirty cache lines would hurt the host: treat as a no-op. */
	return svm_skip_insn(vcpu);
}

/*
 * #UD in the guest: a guest written for Intel makes KVM's hypercall with
 * VMCALL; with the quirk on, it becomes VMMCALL and runs again.  Anything
 * else gets its #UD.
 */
static int svm_exit_ud_exception(struct kvmf_vcpu *vcpu)
{
	static const u8 vmcall[3] = { 0x0f, 0x01, 0xc1 }, vmmcall[3] = { 0x0f, 0x01, 0xd9 };
	struct kvmf_x86_cpu_mode m;

	svm_get_cpu_mode(vcpu, &m);
	if (kvmf_x86_fix_hypercall(vcpu, &m, vmcall, vmmcall))
		return KVMF_EXIT_RESUME;
	svm_queue_exception(vcpu, X86_TRAP_UD, false, 0, 0);
	return KVMF_EXIT_RESUME;
}

/* SKINIT and MONITOR/MWAIT (not offered): #UD. */
static int svm_exit_ud(struct kvmf_vcpu *vcpu)
{
	svm_queue_exception(vcpu, X86_TRAP_UD, false, 0, 0);
	return KVMF_EXIT_RESUME;
}

/* RDMSR (EXITINFO1 0) or WRMSR (1): #GP(0) for what kvmfork does not have. */
static int svm_exit_msr(struct kvmf_vcpu *vcpu)
{
	if (!kvmf_x86_guest_msr(vcpu, svm_vmcb(vcpu)->control.exit_info_1 & 1)) {
		svm_queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
		return KVMF_EXIT_RESUME;
	}
	return svm_skip_insn(vcpu);
}

static int svm_exit_npf(struct kvmf_vcpu *vcpu)
{
	const struct vmcb_control_area *c = &svm_vmcb(vcpu)->control;
	struct kvmf_x86_cpu_mode m;
	int r;

	if (to_svm(vcpu)->nested.guest_mode && to_svm(vcpu)->nested.npt)
		return svm_nested_npf(vcpu);
	r = kvmf_tdp_fault(vcpu->vm, c->exit_info_2, c->exit_info_1 & SVM_NPF_WRITE);
	if (r < 0) {
		/* A fatal signal while the host page was faulted in. */
		if (r == -EINTR)
			vcpu->run->exit_reason = KVM_EXIT_INTR;
		return r;
	}
	/* On a retry the guest faults again, unless a signal is pending first. */
	if (r == KVMF_TDP_MAPPED || r == KVMF_TDP_RETRY)
		return KVMF_EXIT_RESUME;

	/* No memory there, or a write to read-only memory: emulate the access. */
	svm_get_cpu_mode(vcpu, &m);
	return kvmf_x86_emulate_mmio(vcpu, &m);
}

static int svm_exit_invalid_state(struct kvmf_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = svm_vmcb(vcpu)->control.exit_code;
	run->fail_entry.cpu = raw_smp_processor_id();
	return KVMF_EXIT_TO_USER;
}

static const svm_exit_handler svm_exit_handlers[SVM_EXIT_TABLE_SIZE] = {
	[SVM_EXIT_CR8_WRITE]	= svm_exit_cr8_write,
	[SVM_EXIT_DR_READ ... SVM_EXIT_DR_WRITE + 15] = svm_exit_dr,
	[SVM_EXIT_DB]		= svm_exit_db,
	[SVM_EXIT_UD]		= svm_exit_ud_exception,
	[SVM_EXIT_INTR]		= svm_exit_host_event,
	[SVM_EXIT_NMI]		= svm_exit_host_event,
	[SVM_EXIT_SMI]		= svm_exit_host_event,
	[SVM_EXIT_VINTR]	= svm_exit_vintr,
	[SVM_EXIT_IRET]		= svm_exit_iret,
	[SVM_EXIT_CPUID]	= svm_exit_cpuid,
	[SVM_EXIT_INVD]		= svm_exit_invd,
	[SVM_EXIT_HLT]		= svm_exit_hlt,
	[SVM_EXIT_INVLPGA]	= svm_exit_invlpga,
	[SVM_EXIT_IOIO]		= svm_exit_ioio,
	[SVM_EXIT_MSR]		= svm_exit_msr,
	[SVM_EXIT_SHUTDOWN]	= svm_exit_shutdown,
	[SVM_EXIT_VMRUN]	= svm_exit_vmrun,
	[SVM_EXIT_VMMCALL]	= svm_exit_vmmcall,
	[SVM_EXIT_VMLOAD]	= svm_exit_vmload,
	[SVM_EXIT_VMSAVE]	= svm_exit_vmsave,
	[SVM_EXIT_STGI]		= svm_exit_stgi,
	[SVM_EXIT_CLGI]		= svm_exit_clgi,
	[SVM_EXIT_SKINIT]	= svm_exit_ud,
	[SVM_EXIT_MONITOR]	= svm_exit_ud,
	[SVM_EXIT_MWAIT]	= svm_exit_ud,
	[SVM_EXIT_XSETBV]	= svm_exit_xsetbv,
	[SVM_EXIT_NPF]		= svm_exit_npf,
};

/*
 * An event (exception, interrupt) whose delivery the exit interrupted is
 * delivered again on the next entry (APM: "Event Injection").
 */
static void svm_requeue_interrupted_event(struct vmcb_control_area *c)
{
	if (c->exit_int_info & SVM_EVTINJ_VALID) {
		c->event_inj = c->exit_int_info;
		c->event_inj_err = c->exit_int_info >> 32;
	} else {
		c->event_inj = 0;
	}
}

int svm_handle_exit(struct kvmf_vcpu *vcpu)
{
	struct vmcb_control_area *c = &svm_vmcb(vcpu)->control;
	u64 code = c->exit_code;
	int r;

	/* While L2 runs, the exit is L1's if L1 asked for it. */
	if (to_svm(vcpu)->nested.guest_mode) {
		r = svm_nested_exit(vcpu);
		if (r != -ENOENT)
			return r;
	}

	/* QEMU reports a failed VMRUN as 0xffffffff rather than all ones. */
	if (code == (u64)SVM_EXIT_ERR || code == 0xffffffffull)
		return svm_exit_invalid_state(vcpu);

	svm_requeue_interrupted_event(c);

	if (code < ARRAY_SIZE(svm_exit_handlers) && svm_exit_handlers[code])
		return svm_exit_handlers[code](vcpu);
	return svm_exit_unexpected(vcpu);
}
