// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's FPU/SSE state and XCR0 as userspace sees them: KVM_GET/SET_FPU
 * (the legacy FXSAVE view), KVM_GET/SET_XSAVE (the kernel's UABI XSAVE
 * format, through the guest-fpstate API), KVM_GET/SET_XCRS and the
 * guest's XSETBV (XCR0, loaded around each entry while the guest has
 * CR4.OSXSAVE, as SVM does not switch it); and
 * KVM_GET/SET_MP_STATE, which without an in-kernel APIC only knows
 * "runnable".  All run with vcpu->mutex held, when the guest's state sits in
 * its fpstate buffer (KVM_RUN swaps it in and out).
 */
#include <linux/kernel.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* The state components kvmfork offers a guest, where the host has them. */
#define KVMF_GUEST_XCR0_OFFERED	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM)

/* The host's XCR0, and the components a guest may enable (x87 only without XSAVE). */
static u64 kvmf_host_xcr0 = XFEATURE_MASK_FP;
static u64 kvmf_guest_xcr0_valid = XFEATURE_MASK_FP;

void kvmf_fpu_setup(void)
{
	if (!boot_cpu_has(X86_FEATURE_XSAVE)) {
		kvmf_x86_cpuid_set_guest_xcr0(0);
		return;
	}
	kvmf_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	kvmf_guest_xcr0_valid = kvmf_host_xcr0 & KVMF_GUEST_XCR0_OFFERED;
	kvmf_x86_cpuid_set_guest_xcr0(kvmf_guest_xcr0_valid);
}

/*
 * XCR0 from XSETBV or KVM_SET_XCRS: 0, or -EINVAL (#GP for XSETBV).  x87
 * state is always on, only offered components, and AVX state needs SSE's
 * (SDM vol. 1, "Enabling the XSAVE Feature Set").
 */
static bool kvmf_xcr0_valid(u64 xcr0)
{
	if (!(xcr0 & XFEATURE_MASK_FP) || (xcr0 & ~kvmf_guest_xcr0_valid))
		return false;
	return !(xcr0 & XFEATURE_MASK_YMM) || (xcr0 & XFEATURE_MASK_SSE);
}

int kvmf_x86_set_xcr0(struct kvmf_vcpu *vcpu, u64 xcr0)
{
	if (!kvmf_xcr0_valid(xcr0))
		return -EINVAL;
	vcpu->arch.xcr0 = xcr0;
	return 0;
}

/*
 * Just before entry, interrupts off, after the guest's FPU registers were
 * loaded under the host's XCR0 (all components): the guest's XCR0 while
 * it has XSAVE enabled.  Returns whether it was loaded.
 */
bool kvmf_x86_load_guest_xcr0(struct kvmf_vcpu *vcpu, bool guest_osxsave)
{
	if (!guest_osxsave || vcpu->arch.xcr0 == kvmf_host_xcr0 ||
	    !cpu_feature_enabled(X86_FEATURE_OSXSAVE))
		return false;
	xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->arch.xcr0);
	return true;
}

/*
 * Right after the exit, interrupts off, before anything can use XSAVE
 * again: the host's XCR0 back.  A CPU that honours the XSETBV intercept
 * still holds what was loaded, but QEMU's TCG does not intercept a nested
 * guest's XSETBV: there a guest with CR4.OSXSAVE (@guest_osxsave, as it
 * left) may have changed XCR0 itself, even when nothing was loaded.  So
 * the CPU's value is read then: a change from what the guest ran with (its
 * own if it was loaded, else the host's) is the guest's doing and is kept
 * as its XCR0 if it is one the guest may have; and the host's is restored
 * whenever it differs (the host's tasks' XSAVE areas depend on it).
 */
void kvmf_x86_put_guest_xcr0(struct kvmf_vcpu *vcpu, bool loaded, bool guest_osxsave)
{
	u64 xcr0;

	if ((!loaded && !guest_osxsave) || !cpu_feature_enabled(X86_FEATURE_OSXSAVE))
		return;
	xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (xcr0 != (loaded ? vcpu->arch.xcr0 : kvmf_host_xcr0) && kvmf_xcr0_valid(xcr0))
		vcpu->arch.xcr0 = xcr0;
	if (xcr0 != kvmf_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, kvmf_host_xcr0);
}
/* MXCSR bits 31:16 are reserved: loading them would fault. */
#define KVMF_MXCSR_VALID	0xffffu

static struct fxregs_state *guest_fxsave(struct kvmf_vcpu *vcpu)
{
	return &vcpu->arch.guest_fpu.fpstate->regs.fxsave;
}

long kvmf_vcpu_get_fpu(void *obj, void *data, unsigned long arg)
{
	const struct fxregs_state *fx = guest_fxsave(obj);
	struct kvm_fpu *fpu = data;

	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	fpu->mxcsr = fx->mxcsr;
	return 0;
}

long kvmf_vcpu_set_fpu(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct fxregs_state *fx = guest_fxsave(vcpu);
	const struct kvm_fpu *fpu = data;

	if (fpu->mxcsr & ~KVMF_MXCSR_VALID)
		return -EINVAL;

	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
	fx->mxcsr = fpu->mxcsr;
	/* XRSTOR loads x87 and SSE state only if the header says they are there. */
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		vcpu->arch.guest_fpu.fpstate->regs.xsave.header.xfeatures |= XFEATURE_MASK_FPSSE;
	return 0;
}

long kvmf_vcpu_get_xsave(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_xsave *xsave = data;

	/*
	 * Only the components the guest can have are reported; it has no PKRU
	 * of its own (PKU is not offered): 0.  (Debian's 6.1 has the
	 * five-argument form of this call, with the feature mask.)
	 */
	fpu_copy_guest_fpstate_to_uabi(&vcpu->arch.guest_fpu, xsave->region,
				       sizeof(xsave->region), kvmf_guest_xcr0_valid, 0);
	return 0;
}

long kvmf_vcpu_set_xsave(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_xsave *xsave = data;
	u32 pkru = 0;

	/* Unsupported features or a malformed header: -EINVAL. */
	return fpu_copy_uabi_to_guest_fpstate(&vcpu->arch.guest_fpu, xsave->region,
					      kvmf_guest_xcr0_valid, &pkru);
}

long kvmf_vcpu_get_xcrs(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_xcrs *xcrs = data;

	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return -EINVAL;
	xcrs->nr_xcrs = 1;
	xcrs->flags = 0;
	xcrs->xcrs[0].xcr = 0;		/* XCR0, the feature-enabled mask */
	xcrs->xcrs[0].value = vcpu->arch.xcr0;
	return 0;
}

long kvmf_vcpu_set_xcrs(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	const struct kvm_xcrs *xcrs = data;
	u64 old = vcpu->arch.xcr0;
	u32 i;

	if (!boot_cpu_has(X86_FEATURE_XSAVE) || xcrs->flags || xcrs->nr_xcrs > KVM_MAX_XCRS)
		return -EINVAL;

	/* Only XCR0 exists.  All or nothing: a bad entry leaves XCR0 as it was. */
	for (i = 0; i < xcrs->nr_xcrs; i++) {
		if (xcrs->xcrs[i].xcr != 0 || kvmf_x86_set_xcr0(vcpu, xcrs->xcrs[i].value)) {
			vcpu->arch.xcr0 = old;
			return -EINVAL;
		}
	}
	return 0;
}

long kvmf_vcpu_get_mp_state(void *obj, void *data, unsigned long arg)
{
	struct kvm_mp_state *mp = data;

	mp->mp_state = KVM_MP_STATE_RUNNABLE;
	return 0;
}

/* Without an in-kernel APIC, as on KVM, a vCPU can only be runnable. */
long kvmf_vcpu_set_mp_state(void *obj, void *data, unsigned long arg)
{
	const struct kvm_mp_state *mp = data;

	return mp->mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
}
