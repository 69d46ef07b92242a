// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's hypercall instruction and its quirk.  A guest written for the other
 * vendor uses VMCALL on AMD (or VMMCALL on Intel), which raises #UD there.
 * Unless userspace disabled KVM_X86_QUIRK_FIX_HYPERCALL_INSN (with
 * KVM_CAP_DISABLE_QUIRKS2), KVM rewrites that instruction in guest memory to
 * the native one and lets the guest execute it again, as kvmfork does here.
 *
 * Also KVM_ENABLE_CAP on the VM for the x86 capabilities: the quirk masks.
 */
#include <linux/kernel.h>

#include <kvmfork/kvmf_host.h>

#include "guest_mem.h"
#include "x86.h"

/* The quirks whose KVM behaviour kvmfork has, and so can also turn off. */
#define KVMF_X86_DISABLEABLE_QUIRKS	KVM_X86_QUIRK_FIX_HYPERCALL_INSN

#define HYPERCALL_LEN	3

u64 kvmf_x86_disableable_quirks(void)
{
	return KVMF_X86_DISABLEABLE_QUIRKS;
}

int kvmf_x86_vm_enable_cap(struct kvmf_vm *vm, const struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVM_CAP_DISABLE_QUIRKS2:
		if (cap->args[0] & ~KVMF_X86_DISABLEABLE_QUIRKS)
			return -EINVAL;
		fallthrough;
	case KVM_CAP_DISABLE_QUIRKS:
		/* The first version takes any mask; unknown quirks change nothing. */
		vm->arch.disabled_quirks |= cap->args[0] & KVMF_X86_DISABLEABLE_QUIRKS;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * On #UD: if the instruction at CS:RIP is @foreign (the other vendor's
 * hypercall) and the quirk is on, replace it with @native and return true
 * (the guest runs it again; RIP stays).  False: deliver the #UD.
 */
bool kvmf_x86_fix_hypercall(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m,
			    const u8 foreign[HYPERCALL_LEN], const u8 native[HYPERCALL_LEN])
{
	const struct kvmf_insn *insn;
	u64 rip;

	if (vcpu->vm->arch.disabled_quirks & KVM_X86_QUIRK_FIX_HYPERCALL_INSN)
		return false;

	insn = kvmf_x86_decode(vcpu, m);
	if (!insn || insn->len != HYPERCALL_LEN || memcmp(insn->bytes, foreign, HYPERCALL_LEN))
		return false;

	rip = m->seg_base[KVMF_SEG_CS] + vcpu->arch.rip;
	if (m->mode == KVMF_MODE_LONG)
		rip = vcpu->arch.rip;
	return !kvmf_x86_write_guest_virt(vcpu, &m->paging, rip, native, HYPERCALL_LEN);
}
