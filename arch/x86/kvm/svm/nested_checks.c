// SPDX-License-Identifier: GPL-2.0
/*
 * The rules of nested SVM that need no vCPU: VMRUN's consistency checks of
 * a VMCB12 (APM: "Canonicalization and Consistency Checks"), the EVENTINJ
 * encodings (APM: "Event Injection"), where an MSR's bits sit in an MSR
 * permission map (APM: "MSR Intercepts"), and the header rules of
 * KVM_SET_NESTED_STATE.  The limits of the machine come in as arguments,
 * so that KUnit (nested_checks_test.c) can check the rules with any.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "../x86.h"
#include "svm.h"

/* Sizes of L1's permission maps, which must lie below MAXPHYADDR. */
#define SVM_IOPM_SIZE		(3 * PAGE_SIZE)
#define SVM_MSRPM_SIZE		(2 * PAGE_SIZE)

/* EFER bits a guest of kvmfork may have: SCE, LME, LMA, NXE and SVME. */
#define SVM_NESTED_EFER_VALID	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_SVME)

bool svm_nested_gpa_page_valid(const struct svm_nested_limits *l, u64 gpa)
{
	return PAGE_ALIGNED(gpa) && !(gpa >> l->phys_bits);
}

bool svm_nested_event_inj_valid(u32 event)
{
	u32 type = event & SVM_EVTINJ_TYPE_MASK;
	u8 vector = event & SVM_EVTINJ_VECTOR_MASK;

	if (!(event & SVM_EVTINJ_VALID))
		return true;
	switch (type) {
	case SVM_EVTINJ_TYPE_INTR:
	case SVM_EVTINJ_TYPE_NMI:
	case SVM_EVTINJ_TYPE_SOFT_INT:
		return true;
	case SVM_EVTINJ_TYPE_EXCEPTION:
		return vector < 32 && vector != X86_TRAP_NMI;
	default:
		return false;
	}
}

/*
 * The map lies below MAXPHYADDR; the low 12 bits of its address are
 * ignored.  Written so that no address can wrap the sum around.
 */
static bool svm_bitmap_valid(const struct svm_nested_limits *l, u64 pa, u64 size)
{
	u64 start = pa & PAGE_MASK, limit = BIT_ULL(l->phys_bits);

	return start < limit && size <= limit - start;
}

bool svm_nested_controls_valid(const struct svm_nested_limits *l,
			       const struct vmcb_control_area *c)
{
	return vmcb_is_intercept(c, SVM_I_VMRUN) && c->asid &&
	       svm_bitmap_valid(l, c->iopm_base_pa, SVM_IOPM_SIZE) &&
	       svm_bitmap_valid(l, c->msrpm_base_pa, SVM_MSRPM_SIZE) &&
	       svm_nested_event_inj_valid(c->event_inj);
}

bool svm_nested_save_valid(const struct svm_nested_limits *l, const struct vmcb_save_area *s)
{
	bool long_paging = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);

	if (!(s->efer & EFER_SVME) || (s->efer & ~SVM_NESTED_EFER_VALID))
		return false;
	if (upper_32_bits(s->cr0) || (!(s->cr0 & X86_CR0_CD) && (s->cr0 & X86_CR0_NW)))
		return false;
	if ((s->cr4 & ~l->cr4_allowed) || upper_32_bits(s->dr6) || upper_32_bits(s->dr7))
		return false;
	if (long_paging) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->cr0 & X86_CR0_PE))
			return false;
		if ((s->cs.attrib & VMCB_ATTR_L) && (s->cs.attrib & VMCB_ATTR_DB))
			return false;
		if (s->cr3 >> l->phys_bits)
			return false;
	}
	return true;
}

bool svm_nested_l1_save_valid(const struct svm_nested_limits *l, const struct vmcb_save_area *s)
{
	return (s->cr0 & X86_CR0_PG) && (s->cr0 & X86_CR0_PE) &&
	       !(s->rflags & X86_EFLAGS_VM) && svm_nested_save_valid(l, s);
}

bool svm_nested_npt_valid(const struct svm_nested_limits *l, u64 l1_efer,
			  const struct vmcb *vmcb12)
{
	return (l1_efer & EFER_LMA) && !(vmcb12->control.nested_cr3 >> l->phys_bits) &&
	       kvmf_x86_pat_valid(vmcb12->save.g_pat);
}

bool svm_nested_msrpm_bit(u32 index, bool write, u64 *bit)
{
	static const u32 range_base[] = { 0, 0xc0000000, 0xc0010000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(range_base); i++) {
		if (index - range_base[i] >= 0x2000)
			continue;
		*bit = (u64)i * 0x2000 * 2 + (index - range_base[i]) * 2 + write;
		return true;
	}
	return false;
}

int svm_nested_state_check(const struct svm_nested_limits *l, const struct kvm_nested_state *hdr,
			   bool efer_svme)
{
	const u16 known = KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING |
			  KVM_STATE_NESTED_GIF_SET;

	if (hdr->format != KVM_STATE_NESTED_FORMAT_SVM || (hdr->flags & ~known) ||
	    hdr->size < sizeof(*hdr))
		return -EINVAL;
	if ((hdr->flags & KVM_STATE_NESTED_RUN_PENDING) &&
	    !(hdr->flags & KVM_STATE_NESTED_GUEST_MODE))
		return -EINVAL;
	/*
	 * Without EFER.SVME there is nothing nested.  GIF may be clear (KVM
	 * refuses that, since clearing EFER.SVME sets GIF there; kvmfork
	 * leaves GIF alone then, so the state exists and must restore).
	 */
	if (!efer_svme && (hdr->flags & ~KVM_STATE_NESTED_GIF_SET))
		return -EINVAL;
	if (!(hdr->flags & KVM_STATE_NESTED_GUEST_MODE))
		return 0;
	if (!svm_nested_gpa_page_valid(l, hdr->hdr.svm.vmcb_pa) ||
	    hdr->size < sizeof(*hdr) + KVM_STATE_NESTED_SVM_VMCB_SIZE)
		return -EINVAL;
	return 0;
}
