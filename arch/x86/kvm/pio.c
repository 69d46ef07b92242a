// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits to userspace (KVM_EXIT_IO), for IN/OUT and for the string
 * forms INS/OUTS with or without REP.  The data travels through the vCPU's
 * PIO page.  OUT and OUTS copy the guest's data there before exiting; IN and
 * INS are finished on the next KVM_RUN, once userspace has filled the page.
 *
 * A REP string instruction moves as many elements per exit as fit in the
 * PIO page and in the current guest page (one at a time when DF is set),
 * updates RSI/RDI and RCX for what was moved, and leaves RIP on the
 * instruction until RCX reaches zero, so that it runs again for the rest;
 * as on hardware, an interrupt can be taken between two such batches.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include <kvmfork/kvmf_host.h>

#include "guest_mem.h"
#include "x86.h"

/* The bits of RSI/RDI/RCX that a string instruction of @addr_size uses. */
static u64 pio_addr_mask(const struct kvmf_pio_insn *insn)
{
	return insn->addr_size == 8 ? ~0ull : (1ull << (insn->addr_size * 8)) - 1;
}

/*
 * Adds @delta to a register as a string instruction of @addr_size does: a
 * 16-bit update keeps the upper bits, a 32-bit one zero-extends.
 */
static void pio_reg_add(u64 *reg, const struct kvmf_pio_insn *insn, s64 delta)
{
	u64 mask = pio_addr_mask(insn);

	if (insn->addr_size == 2)
		*reg = (*reg & ~mask) | ((*reg + delta) & mask);
	else
		*reg = (*reg + delta) & mask;
}

/* The guest linear address of the next element: DS:RSI for OUTS, ES:RDI for INS. */
static u64 pio_string_gva(struct kvmf_vcpu *vcpu, const struct kvmf_pio_insn *insn)
{
	u64 reg = vcpu->arch.regs[insn->in ? KVMF_REG_RDI : KVMF_REG_RSI];

	return insn->seg_base + (reg & pio_addr_mask(insn));
}

/* How many elements this exit moves: at least one, never past a page. */
static u32 pio_string_batch(struct kvmf_vcpu *vcpu, const struct kvmf_pio_insn *insn)
{
	u64 count = insn->rep ? vcpu->arch.regs[KVMF_REG_RCX] & pio_addr_mask(insn) : 1;
	u64 room;

	if (vcpu->arch.rflags & X86_EFLAGS_DF)
		return 1;
	room = (PAGE_SIZE - offset_in_page(pio_string_gva(vcpu, insn))) / insn->size;
	count = min3(count, (u64)(PAGE_SIZE / insn->size), room);
	return max_t(u64, count, 1);
}

/* After @count elements: move RSI/RDI and RCX on, and RIP when done. */
static void pio_string_advance(struct kvmf_vcpu *vcpu, const struct kvmf_pio_insn *insn,
			       u32 count)
{
	s64 step = (s64)count * insn->size;
	u64 *regs = vcpu->arch.regs;

	if (vcpu->arch.rflags & X86_EFLAGS_DF)
		step = -step;
	pio_reg_add(&regs[insn->in ? KVMF_REG_RDI : KVMF_REG_RSI], insn, step);
	if (insn->rep)
		pio_reg_add(&regs[KVMF_REG_RCX], insn, -(s64)count);

	if (!insn->rep || !(regs[KVMF_REG_RCX] & pio_addr_mask(insn)))
		vcpu->arch.rip = insn->next_rip;
}

static int pio_fault(struct kvmf_vcpu *vcpu, const struct kvmf_pio_insn *insn)
{
	u64 data[2] = { insn->string ? pio_string_gva(vcpu, insn) : 0, insn->port };

	/* The string's memory is not mapped in the guest or not in a memslot. */
	return kvmf_x86_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION, ARRAY_SIZE(data),
				       data);
}

int kvmf_x86_pio(struct kvmf_vcpu *vcpu, const struct kvmf_pio_insn *insn)
{
	void *data = page_address(vcpu->arch.pio_page);
	struct kvm_run *run = vcpu->run;
	u32 count = 1;

	if (insn->string) {
		/* REP with RCX = 0 does nothing at all. */
		if (insn->rep && !(vcpu->arch.regs[KVMF_REG_RCX] & pio_addr_mask(insn))) {
			vcpu->arch.rip = insn->next_rip;
			return KVMF_EXIT_RESUME;
		}
		count = pio_string_batch(vcpu, insn);
		if (!insn->in) {
			if (kvmf_x86_read_guest_virt(vcpu, &insn->paging,
						     pio_string_gva(vcpu, insn), data,
						     count * insn->size))
				return pio_fault(vcpu, insn);
			pio_string_advance(vcpu, insn, count);
		}
	} else if (!insn->in) {
		memcpy(data, &vcpu->arch.regs[KVMF_REG_RAX], insn->size);
	}

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = insn->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = insn->size;
	run->io.port = insn->port;
	run->io.count = count;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;

	/*
	 * IN and OUT finish on the next KVM_RUN: until then RIP stays on the
	 * instruction, as on KVM, for a VMM that reads the registers at the
	 * exit.  A string OUT is done already.
	 */
	vcpu->arch.pio = (struct kvmf_pio) {
		.pending = insn->in || !insn->string, .insn = *insn, .count = count,
	};
	return KVMF_EXIT_TO_USER;
}

/* IN into RAX: a 1- or 2-byte IN keeps the rest of RAX, a 4-byte one zero-extends. */
static void pio_complete_in(struct kvmf_vcpu *vcpu, const void *data, u8 size)
{
	u64 *rax = &vcpu->arch.regs[KVMF_REG_RAX];

	if (size == 1)
		*rax = (*rax & ~0xffull) | *(const u8 *)data;
	else if (size == 2)
		*rax = (*rax & ~0xffffull) | *(const u16 *)data;
	else
		*rax = *(const u32 *)data;
}

/*
 * Finishes an IN, OUT or INS that went to userspace: the data of an IN is
 * in the PIO page now.
 */
void kvmf_x86_pio_complete(struct kvmf_vcpu *vcpu)
{
	struct kvmf_pio *pio = &vcpu->arch.pio;
	const struct kvmf_pio_insn *insn = &pio->insn;
	const void *data = page_address(vcpu->arch.pio_page);

	if (!pio->pending)
		return;
	pio->pending = false;

	if (!insn->string) {
		if (insn->in)
			pio_complete_in(vcpu, data, insn->size);
		vcpu->arch.rip = insn->next_rip;
		return;
	}
	/*
	 * If the destination went away meanwhile the data is dropped and the
	 * instruction is not advanced: it runs again and reports the fault.
	 */
	if (kvmf_x86_write_guest_virt(vcpu, &insn->paging, pio_string_gva(vcpu, insn), data,
				      pio->count * insn->size))
		return;
	pio_string_advance(vcpu, insn, pio->count);
}
