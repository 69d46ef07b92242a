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

static void svm_inject_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	struct vmcb_control_area *c = &svm_vmcb(vcpu)->control;

	c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXCEPTION | vector |
		       (has_error ? SVM_EVTINJ_ERROR_VALID : 0);
	c->event_inj_err = error;
}

static int svm_exit_unexpected(struct kvmf_vcpu *vcpu)
{
	u64 data[2] = { svm_vmcb(vcpu)->control.exit_code, raw_smp_processor_id() };

	return kvmf_x86_internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				       ARRAY_SIZE(data), data);
}

/*
 * The instruction at RIP could not be handled (e.g. it needs the emulator):
 * report it with its bytes, as KVM's emulation failure does.
 */
static int svm_emulation_failure(struct kvmf_vcpu *vcpu, const u8 *insn, unsigned int len)
{
	u64 data[3] = { len };

	memcpy(&data[1], insn, min_t(unsigned int, len, 2 * sizeof(u64)));
	return kvmf_x86_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION, ARRAY_SIZE(data),
				       data);
}

static void svm_get_paging(struct kvmf_vcpu *vcpu, struct kvmf_x86_paging *p)
{
	const struct vmcb_save_area *save = &svm_vmcb(vcpu)->save;

	*p = (struct kvmf_x86_paging) {
		.cr0 = save->cr0, .cr3 = save->cr3, .cr4 = save->cr4, .efer = save->efer,
	};
}

/*
 * Moves RIP past the intercepted instruction, which must be the @len bytes
 * @insn.  With NRIP save the CPU tells where the next instruction starts;
 * without it, the bytes at CS:RIP are read and must be exactly those (an
 * encoding with prefixes is reported as an emulation failure).
 */
static int svm_skip_insn(struct kvmf_vcpu *vcpu, const u8 *insn, unsigned int len)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	struct kvmf_x86_paging paging;
	u8 bytes[4];

	if (svm_has_nrips() && vmcb->control.next_rip) {
		vcpu->arch.rip = vmcb->control.next_rip;
		return KVMF_EXIT_RESUME;
	}

	svm_get_paging(vcpu, &paging);
	if (len > sizeof(bytes) ||
	    kvmf_x86_read_guest_virt(vcpu, &paging, vmcb->save.cs.base + vcpu->arch.rip,
				     bytes, len) ||
	    memcmp(bytes, insn, len))
		return svm_emulation_failure(vcpu, bytes, len);

	vcpu->arch.rip += len;
	/* Outside 64-bit mode RIP wraps at 32 bits. */
	if (!(vmcb->save.cs.attrib & VMCB_ATTR_L) || !(vmcb->save.efer & EFER_LMA))
		vcpu->arch.rip &= 0xffffffff;
	return KVMF_EXIT_RESUME;
}

static int svm_exit_host_event(struct kvmf_vcpu *vcpu)
{
	/* The host interrupt or NMI is taken once GIF is set again. */
	return KVMF_EXIT_RESUME;
}

static int svm_exit_hlt(struct kvmf_vcpu *vcpu)
{
	static const u8 hlt[] = { 0xf4 };
	int r = svm_skip_insn(vcpu, hlt, sizeof(hlt));

	if (r != KVMF_EXIT_RESUME)
		return r;
	/* No in-kernel interrupt controller: userspace decides what HLT waits for. */
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return KVMF_EXIT_TO_USER;
}

static int svm_exit_cpuid(struct kvmf_vcpu *vcpu)
{
	static const u8 cpuid[] = { 0x0f, 0xa2 };
	u64 *regs = vcpu->arch.regs;
	u32 out[4];
	int r = svm_skip_insn(vcpu, cpuid, sizeof(cpuid));

	if (r != KVMF_EXIT_RESUME)
		return r;
	kvmf_x86_cpuid(vcpu, regs[KVMF_REG_RAX], regs[KVMF_REG_RCX], out);
	/* 32-bit results zero-extend into the 64-bit registers. */
	regs[KVMF_REG_RAX] = out[0];
	regs[KVMF_REG_RBX] = out[1];
	regs[KVMF_REG_RCX] = out[2];
	regs[KVMF_REG_RDX] = out[3];
	return KVMF_EXIT_RESUME;
}

static bool svm_long_mode_code(const struct vmcb_save_area *save)
{
	return (save->efer & EFER_LMA) && (save->cs.attrib & VMCB_ATTR_L);
}

/* Legacy prefixes of an OUTS/INS that the IOIO exit information may not give. */
struct svm_string_prefixes {
	int seg_override;	/* -1, or 0-5 in ES, CS, SS, DS, FS, GS order */
	bool addr_size_override;
};

/*
 * Reads the legacy prefixes (and REX in 64-bit mode) at CS:RIP.  The exit
 * gives the segment of an OUTS only with decode assists, so it is read from
 * the instruction, which works on every CPU.
 */
static int svm_read_prefixes(struct kvmf_vcpu *vcpu, struct svm_string_prefixes *px)
{
	static const u8 seg_prefix[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	const struct vmcb_save_area *save = &svm_vmcb(vcpu)->save;
	struct kvmf_x86_paging paging;
	u8 insn[15];
	unsigned int i, s;

	svm_get_paging(vcpu, &paging);
	if (kvmf_x86_read_guest_virt(vcpu, &paging, save->cs.base + vcpu->arch.rip, insn, 1))
		return -EFAULT;
	/* The rest may cross into an unmapped page; prefixes stop before that. */
	for (i = 1; i < sizeof(insn); i++)
		if (kvmf_x86_read_guest_virt(vcpu, &paging, save->cs.base + vcpu->arch.rip + i,
					     &insn[i], 1))
			break;

	*px = (struct svm_string_prefixes) { .seg_override = -1 };
	for (i = 0; i < sizeof(insn); i++) {
		for (s = 0; s < ARRAY_SIZE(seg_prefix); s++)
			if (insn[i] == seg_prefix[s])
				px->seg_override = s;
		if (insn[i] == 0x67)
			px->addr_size_override = true;
		else if (insn[i] >= 0x6c && insn[i] <= 0x6f)
			return 0;	/* INS or OUTS itself */
		else if (!(insn[i] == 0x66 || insn[i] == 0xf2 || insn[i] == 0xf3 ||
			   insn[i] == 0xf0 || (insn[i] & 0xf0) == 0x40 ||
			   memchr(seg_prefix, insn[i], sizeof(seg_prefix))))
			return -EINVAL;
	}
	return -EINVAL;
}

/* Segment and address size of an INS or OUTS. */
static int svm_decode_string_io(struct kvmf_vcpu *vcpu, u32 info, struct kvmf_pio_insn *insn)
{
	const struct vmcb_save_area *save = &svm_vmcb(vcpu)->save;
	const struct vmcb_seg *segs[] = {
		&save->es, &save->cs, &save->ss, &save->ds, &save->fs, &save->gs,
	};
	struct svm_string_prefixes px;
	int seg;

	if (svm_read_prefixes(vcpu, &px))
		return -EFAULT;

	/* INS always writes ES:RDI; OUTS reads DS:RSI unless overridden. */
	seg = insn->in ? 0 : (px.seg_override >= 0 ? px.seg_override : 3);
	insn->seg_base = segs[seg]->base;
	if (svm_long_mode_code(save) && seg < 4)
		insn->seg_base = 0;	/* 64-bit mode: only FS and GS have bases */

	switch ((info & SVM_IOIO_ASIZE_MASK) >> SVM_IOIO_ASIZE_SHIFT) {
	case 1:
		insn->addr_size = 2;
		break;
	case 2:
		insn->addr_size = 4;
		break;
	case 4:
		insn->addr_size = 8;
		break;
	default:
		/* Not reported: the mode's default, flipped by a 0x67 prefix. */
		if (svm_long_mode_code(save))
			insn->addr_size = px.addr_size_override ? 4 : 8;
		else if (save->cs.attrib & VMCB_ATTR_DB)
			insn->addr_size = px.addr_size_override ? 2 : 4;
		else
			insn->addr_size = px.addr_size_override ? 4 : 2;
	}
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

	if (insn.string) {
		if (svm_decode_string_io(vcpu, info, &insn)) {
			u64 data[2] = { info, vcpu->arch.rip };

			return kvmf_x86_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
						       ARRAY_SIZE(data), data);
		}
		svm_get_paging(vcpu, &insn.paging);
	}
	return kvmf_x86_pio(vcpu, &insn);
}

static int svm_exit_shutdown(struct kvmf_vcpu *vcpu)
{
	/* The VMCB is undefined after a shutdown: start over from INIT state. */
	svm_vmcb_reset(vcpu);
	kvmf_x86_reset_regs(vcpu);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return KVMF_EXIT_TO_USER;
}

/* KVM's hypercall ABI: nothing is implemented yet, so every call gets -KVM_ENOSYS. */
static int svm_exit_vmmcall(struct kvmf_vcpu *vcpu)
{
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 };
	int r = svm_skip_insn(vcpu, vmmcall, sizeof(vmmcall));

	if (r != KVMF_EXIT_RESUME)
		return r;
	vcpu->arch.regs[KVMF_REG_RAX] = svm_vmcb(vcpu)->save.cpl ? (u64)-KVM_EPERM :
								     (u64)-KVM_ENOSYS;
	return KVMF_EXIT_RESUME;
}

static int svm_exit_invd(struct kvmf_vcpu *vcpu)
{
	static const u8 invd[] = { 0x0f, 0x08 };

	/* Dropping dirty cache lines would hurt the host: treat as a no-op. */
	return svm_skip_insn(vcpu, invd, sizeof(invd));
}

/* SVM instructions (no nested SVM yet) and MONITOR/MWAIT (not offered): #UD. */
static int svm_exit_ud(struct kvmf_vcpu *vcpu)
{
	svm_inject_exception(vcpu, X86_TRAP_UD, false, 0);
	return KVMF_EXIT_RESUME;
}

/* No guest MSRs are emulated yet: every RDMSR and WRMSR raises #GP(0). */
static int svm_exit_msr(struct kvmf_vcpu *vcpu)
{
	svm_inject_exception(vcpu, X86_TRAP_GP, true, 0);
	return KVMF_EXIT_RESUME;
}

static int svm_exit_npf(struct kvmf_vcpu *vcpu)
{
	const struct vmcb_control_area *c = &svm_vmcb(vcpu)->control;
	int r;

	r = kvmf_tdp_fault(vcpu->vm, c->exit_info_2, c->exit_info_1 & SVM_NPF_WRITE);
	if (r < 0)
		return r;
	if (r == KVMF_TDP_MAPPED)
		return KVMF_EXIT_RESUME;
	/* MMIO needs the instruction emulator, which is not wired in yet. */
	return svm_exit_unexpected(vcpu);
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
	[SVM_EXIT_INTR]		= svm_exit_host_event,
	[SVM_EXIT_NMI]		= svm_exit_host_event,
	[SVM_EXIT_SMI]		= svm_exit_host_event,
	[SVM_EXIT_CPUID]	= svm_exit_cpuid,
	[SVM_EXIT_INVD]		= svm_exit_invd,
	[SVM_EXIT_HLT]		= svm_exit_hlt,
	[SVM_EXIT_INVLPGA]	= svm_exit_ud,
	[SVM_EXIT_IOIO]		= svm_exit_ioio,
	[SVM_EXIT_MSR]		= svm_exit_msr,
	[SVM_EXIT_SHUTDOWN]	= svm_exit_shutdown,
	[SVM_EXIT_VMRUN]	= svm_exit_ud,
	[SVM_EXIT_VMMCALL]	= svm_exit_vmmcall,
	[SVM_EXIT_VMLOAD]	= svm_exit_ud,
	[SVM_EXIT_VMSAVE]	= svm_exit_ud,
	[SVM_EXIT_STGI]		= svm_exit_ud,
	[SVM_EXIT_CLGI]		= svm_exit_ud,
	[SVM_EXIT_SKINIT]	= svm_exit_ud,
	[SVM_EXIT_MONITOR]	= svm_exit_ud,
	[SVM_EXIT_MWAIT]	= svm_exit_ud,
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

	/* QEMU reports a failed VMRUN as 0xffffffff rather than all ones. */
	if (code == (u64)SVM_EXIT_ERR || code == 0xffffffffull)
		return svm_exit_invalid_state(vcpu);

	svm_requeue_interrupted_event(c);

	if (code < ARRAY_SIZE(svm_exit_handlers) && svm_exit_handlers[code])
		return svm_exit_handlers[code](vcpu);
	return svm_exit_unexpected(vcpu);
}
