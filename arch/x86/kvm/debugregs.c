// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's debug registers.
 *
 * DR0-DR3 (breakpoint addresses) are kept here, in vcpu->arch.db; DR6 and
 * DR7 live in the vendor's guest state, which the CPU loads and saves
 * around each entry.  Every guest MOV to or from a debug register exits,
 * so that the guest never reads or writes the host's registers: the vendor
 * finds the register and the GPR, and kvmf_x86_mov_dr() applies the
 * architectural rules (SDM vol. 3, "Debug Registers"; APM vol. 2, "Debug
 * and Performance Resources").  Only while the guest's DR7 enables a
 * breakpoint are its addresses loaded into the CPU, just before entry.
 *
 * KVM_GET/SET_DEBUGREGS give the VMM the same six registers.  As on KVM, a
 * VMM's DR6 or DR7 is checked only for bits above 31 and goes in as given.
 *
 * Locking: vCPU state, under vcpu->mutex.
 */
#include <linux/hw_breakpoint.h>
#include <linux/kernel.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/*
 * DR6: B0-B3, BD, BS and BT are what software sets and clears; the rest
 * reads as 1 (bit 16, RTM, and bit 11, bus lock, are active-low and
 * kvmfork offers neither), except bit 12, which reads as 0.
 */
#define KVMF_DR6_VOLATILE	0x0000e00full
#define KVMF_DR6_FIXED_1	0xffff0ff0ull
/* DR7: bit 10 reads as 1; bits 11, 12, 14 and 15 as 0. */
#define KVMF_DR7_VOLATILE	0xffff23ffull
#define KVMF_DR7_FIXED_1	0x00000400ull
#define KVMF_DR7_GD		BIT_ULL(13)
#define KVMF_DR6_BD		BIT_ULL(13)
/* DR7's local and global enables of the four breakpoints. */
#define KVMF_DR7_ENABLES	0xffull

long kvmf_vcpu_get_debugregs(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_debugregs *dbg = data;

	memset(dbg, 0, sizeof(*dbg));
	memcpy(dbg->db, vcpu->arch.db, sizeof(dbg->db));
	kvmf_x86_vendor->get_dr6_dr7(vcpu, &dbg->dr6, &dbg->dr7);
	return 0;
}

long kvmf_vcpu_set_debugregs(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	const struct kvm_debugregs *dbg = data;

	/* No flag is defined; DR6 and DR7 are 32-bit registers even in long mode. */
	if (dbg->flags || upper_32_bits(dbg->dr6) || upper_32_bits(dbg->dr7))
		return -EINVAL;
	memcpy(vcpu->arch.db, dbg->db, sizeof(vcpu->arch.db));
	kvmf_x86_vendor->set_dr6_dr7(vcpu, dbg->dr6, dbg->dr7);
	return 0;
}

/*
 * A guest's MOV to (@write) or from debug register @dr through GPR @reg.
 * The vendor checked CPL 0 already (the CPU checks it before the
 * intercept).  Returns 0 with the instruction done, or the exception the
 * instruction raises instead (nothing has changed then).
 */
int kvmf_x86_mov_dr(struct kvmf_vcpu *vcpu, unsigned int dr, unsigned int reg, bool write,
		    bool long_mode)
{
	u64 cr4 = kvmf_x86_vendor->get_cr4(vcpu);
	u64 dr6, dr7, value;

	/* DR4 and DR5 are DR6 and DR7, unless CR4.DE makes them undefined. */
	if (dr == 4 || dr == 5) {
		if (cr4 & X86_CR4_DE)
			return X86_TRAP_UD;
		dr += 2;
	}
	if (dr > 7)
		return X86_TRAP_UD;

	kvmf_x86_vendor->get_dr6_dr7(vcpu, &dr6, &dr7);
	/* General detect: the access faults with #DB, BD set and GD cleared for the handler. */
	if (dr7 & KVMF_DR7_GD) {
		kvmf_x86_vendor->set_dr6_dr7(vcpu, (dr6 & ~DR_TRAP_BITS) | KVMF_DR6_BD,
					     dr7 & ~KVMF_DR7_GD);
		return X86_TRAP_DB;
	}

	if (!write) {
		if (dr < 4)
			value = vcpu->arch.db[dr];
		else
			value = dr == 6 ? dr6 : dr7;
		/* Outside 64-bit mode the operand is 32 bits, zero-extended into the GPR. */
		vcpu->arch.regs[reg] = long_mode ? value : (u32)value;
		return 0;
	}

	value = vcpu->arch.regs[reg];
	if (!long_mode)
		value = (u32)value;
	if (dr < 4) {
		vcpu->arch.db[dr] = value;
		return 0;
	}
	/* Setting a bit above 31 of DR6 or DR7 is #GP(0). */
	if (upper_32_bits(value))
		return X86_TRAP_GP;
	if (dr == 6)
		dr6 = (value & KVMF_DR6_VOLATILE) | KVMF_DR6_FIXED_1;
	else
		dr7 = (value & KVMF_DR7_VOLATILE) | KVMF_DR7_FIXED_1;
	kvmf_x86_vendor->set_dr6_dr7(vcpu, dr6, dr7);
	return 0;
}

/*
 * Just before entry, interrupts off: the CPU compares addresses with DR0-DR3
 * only for breakpoints DR7 enables, so the guest's go in only then.  The
 * host's DR7 is cleared first so that none of its own breakpoints fires on
 * a guest address; the vendor gives the host its registers back after the
 * exit (hw_breakpoint_restore()).
 */
void kvmf_x86_load_guest_db(struct kvmf_vcpu *vcpu, u64 guest_dr7)
{
	const u64 *db = vcpu->arch.db;

	if (likely(!(guest_dr7 & KVMF_DR7_ENABLES)))
		return;
	set_debugreg(0, 7);
	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
}
