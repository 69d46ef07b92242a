// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend: CPU checks, turning SVM on and off on each CPU, the
 * VMCB of each vCPU (its reset state and the segment and control registers
 * userspace reads and writes through KVM_GET/SET_SREGS).
 *
 * APM: "Enabling SVM": software sets EFER.SVME after checking CPUID
 * Fn8000_0001_ECX[SVM] and VM_CR.SVMDIS, and points MSR VM_HSAVE_PA at a
 * page where VMRUN saves host state.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>

#include <kvmfork/kvmf_host.h>

#include "../tdp_mmu.h"
#include "../x86.h"
#include "svm.h"

DEFINE_PER_CPU(struct kvmf_svm_cpu, kvmf_svm_cpu);

/*
 * One I/O permission map and one MSR permission map, all ones, shared by
 * every vCPU: every port and MSR access exits.  (APM: "I/O Interception",
 * "MSR Intercepts": 12 KiB and 8 KiB, physically contiguous.)
 */
#define SVM_IOPM_ORDER		2
#define SVM_MSRPM_ORDER		1
static struct page *svm_iopm, *svm_msrpm;

static bool svm_nrips;

bool svm_has_nrips(void)
{
	return svm_nrips;
}

static int svm_probe(void)
{
	u64 vm_cr;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("this CPU has no SVM (CPUID Fn8000_0001_ECX[SVM] is 0)\n");
		return -ENODEV;
	}

	if (rdmsrl_safe(MSR_VM_CR, &vm_cr) == 0 && (vm_cr & KVMF_VM_CR_SVMDIS)) {
		pr_err("SVM is disabled by firmware (VM_CR.SVMDIS is set)\n");
		return -ENODEV;
	}

	/* Guest memory is mapped only through nested paging: no shadow paging. */
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		pr_err("this CPU has SVM but no nested paging (NPT), which kvmfork requires\n");
		return -ENODEV;
	}

	return 0;
}

static void svm_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kvmf_svm_cpu *sc = per_cpu_ptr(&kvmf_svm_cpu, cpu);

		if (sc->hsave)
			__free_page(sc->hsave);
		if (sc->host_vmsave)
			__free_page(sc->host_vmsave);
		sc->hsave = NULL;
		sc->host_vmsave = NULL;
	}
	if (svm_iopm)
		__free_pages(svm_iopm, SVM_IOPM_ORDER);
	if (svm_msrpm)
		__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
	svm_iopm = NULL;
	svm_msrpm = NULL;
}

static int svm_hardware_setup(void)
{
	int cpu;

	/*
	 * Allocate for every possible CPU up front, so that a CPU coming
	 * online later needs no allocation in the hotplug path.
	 */
	for_each_possible_cpu(cpu) {
		struct kvmf_svm_cpu *sc = per_cpu_ptr(&kvmf_svm_cpu, cpu);

		sc->hsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		sc->host_vmsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!sc->hsave || !sc->host_vmsave)
			goto err_unsetup;
	}

	svm_iopm = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm)
		goto err_unsetup;
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);

	svm_nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	return 0;

err_unsetup:
	svm_hardware_unsetup();
	return -ENOMEM;
}

static int svm_cpu_enable(void)
{
	struct kvmf_svm_cpu *sc = this_cpu_ptr(&kvmf_svm_cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	/* Someone else (kvm_amd with a VM open, say) owns SVM on this CPU. */
	if (efer & EFER_SVME)
		return -EBUSY;

	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sc->hsave));
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	sc->enabled = true;
	if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID))
		rdmsrl(MSR_TSC_AUX, sc->host_tsc_aux);
	/* CPUID Fn8000_000A_EBX: the number of ASIDs; ASID 0 is the host's. */
	sc->max_asid = cpuid_ebx(0x8000000a) - 1;
	/* Start a new ASID generation: nothing cached from before counts. */
	sc->next_asid = UINT_MAX;
	return 0;
}

static void svm_cpu_disable(void)
{
	struct kvmf_svm_cpu *sc = this_cpu_ptr(&kvmf_svm_cpu);
	u64 efer;

	if (!sc->enabled)
		return;

	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	sc->enabled = false;
}

static int svm_vm_init(struct kvmf_vm *vm)
{
	return 0;
}

static void svm_vm_destroy(struct kvmf_vm *vm)
{
}

/* KVM's reset values (the architectural INIT/RESET state, APM "Initial State"). */
#define SVM_RESET_CR0		0x60000010ull	/* CD | NW | ET */
#define SVM_RESET_DR6		0xffff0ff0ull
#define SVM_RESET_DR7		0x400ull
#define SVM_RESET_PAT		0x0007040600070406ull
#define SVM_RESET_APIC_BASE	0xfee00800ull	/* enabled; BSP bit added for vCPU 0 */
#define SVM_APIC_BASE_BSP	BIT_ULL(8)

/* Intercepts every guest has: what kvmfork must see or must not let run. */
static const enum svm_intercept svm_base_intercepts[] = {
	/* No in-kernel local APIC: the VMM hears of the TPR going down. */
	SVM_I_CR8_WRITE,
	SVM_I_UD,
	SVM_I_INTR, SVM_I_NMI, SVM_I_SMI, SVM_I_CPUID, SVM_I_RSM, SVM_I_INVD,
	SVM_I_HLT, SVM_I_INVLPGA, SVM_I_IOIO_PROT, SVM_I_MSR_PROT, SVM_I_TASK_SWITCH,
	SVM_I_SHUTDOWN, SVM_I_VMRUN, SVM_I_VMMCALL, SVM_I_VMLOAD, SVM_I_VMSAVE,
	SVM_I_STGI, SVM_I_CLGI, SVM_I_SKINIT, SVM_I_MONITOR, SVM_I_MWAIT, SVM_I_XSETBV,
};

static void svm_seg_reset(struct vmcb_seg *seg, u16 attrib)
{
	*seg = (struct vmcb_seg) { .selector = 0, .attrib = attrib, .limit = 0xffff, .base = 0 };
}

/*
 * The VMCB of a vCPU just created, or after a shutdown (its state is
 * undefined then): INIT state, so EFER.SVME is clear and nothing nested
 * is left.
 */
void svm_vmcb_reset(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb01;
	struct vmcb_control_area *c = &vmcb->control;
	struct vmcb_save_area *save = &vmcb->save;
	unsigned int i;

	svm_nested_free(vcpu);
	svm->efer_svme = false;
	svm->gif = true;
	svm->triple_fault = false;
	/* No NMI handler is running any more, nor a step over its IRET. */
	svm->nmi_masked = false;
	svm->nmi_singlestep = false;
	svm->vmcb = vmcb;
	memset(vmcb, 0, PAGE_SIZE);

	for (i = 0; i < ARRAY_SIZE(svm_base_intercepts); i++)
		vmcb_set_intercept(c, svm_base_intercepts[i]);
	svm_intercept_dr(c);
	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	/* The guest's IF masks only virtual interrupts; the host keeps its own. */
	c->int_ctl = SVM_INT_CTL_V_INTR_MASKING;
	c->misc_ctl = SVM_MISC_CTL_NP_ENABLE;
	c->nested_cr3 = kvmf_tdp_root_pa(vcpu->vm);
	c->tsc_offset = to_svm(vcpu)->tsc_offset;

	svm_seg_reset(&save->cs, VMCB_ATTR_P | VMCB_ATTR_S | 0xb);
	save->cs.selector = 0xf000;
	save->cs.base = 0xffff0000;
	svm_seg_reset(&save->ds, VMCB_ATTR_P | VMCB_ATTR_S | 0x3);
	save->es = save->ss = save->fs = save->gs = save->ds;
	svm_seg_reset(&save->gdtr, 0);
	svm_seg_reset(&save->idtr, 0);
	svm_seg_reset(&save->ldtr, VMCB_ATTR_P | 0x2);
	svm_seg_reset(&save->tr, VMCB_ATTR_P | 0xb);

	/* A guest's EFER in the VMCB always has SVME: VMRUN requires it. */
	save->efer = EFER_SVME;
	save->cr0 = SVM_RESET_CR0;
	save->dr6 = SVM_RESET_DR6;
	save->dr7 = SVM_RESET_DR7;
	save->g_pat = SVM_RESET_PAT;

	/* A new VMCB needs a fresh ASID and a flush wherever it runs next. */
	to_svm(vcpu)->asid_generation = 0;
}

static int svm_vcpu_create(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	svm->vmcb01 = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!svm->vmcb01) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vmcb = svm->vmcb01;
	svm->asid_cpu = -1;
	svm->tsc_offset = vcpu->vm->arch.tsc_offset;
	svm->apic_base = SVM_RESET_APIC_BASE | (vcpu->vcpu_id == 0 ? SVM_APIC_BASE_BSP : 0);
	vcpu->arch.vendor = svm;
	svm_vmcb_reset(vcpu);
	return 0;
}

static void svm_vcpu_destroy(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);

	svm_nested_free(vcpu);
	free_page((unsigned long)svm->vmcb01);
	kfree(svm);
	vcpu->arch.vendor = NULL;
}

static void svm_seg_to_kvm(const struct vmcb_seg *seg, struct kvm_segment *var)
{
	*var = (struct kvm_segment) {
		.base = seg->base,
		.limit = seg->limit,
		.selector = seg->selector,
		.type = seg->attrib & VMCB_ATTR_TYPE_MASK,
		.s = !!(seg->attrib & VMCB_ATTR_S),
		.dpl = (seg->attrib >> VMCB_ATTR_DPL_SHIFT) & 3,
		.present = !!(seg->attrib & VMCB_ATTR_P),
		.avl = !!(seg->attrib & VMCB_ATTR_AVL),
		.l = !!(seg->attrib & VMCB_ATTR_L),
		.db = !!(seg->attrib & VMCB_ATTR_DB),
		.g = !!(seg->attrib & VMCB_ATTR_G),
		.unusable = !(seg->attrib & VMCB_ATTR_P),
	};
}

static void svm_seg_from_kvm(struct vmcb_seg *seg, const struct kvm_segment *var)
{
	seg->base = var->base;
	seg->limit = var->limit;
	seg->selector = var->selector;
	/* An unusable segment is loaded as not present. */
	if (var->unusable) {
		seg->attrib = 0;
		return;
	}
	seg->attrib = (var->type & VMCB_ATTR_TYPE_MASK) |
		      (var->s ? VMCB_ATTR_S : 0) |
		      ((var->dpl & 3) << VMCB_ATTR_DPL_SHIFT) |
		      (var->present ? VMCB_ATTR_P : 0) |
		      (var->avl ? VMCB_ATTR_AVL : 0) |
		      (var->l ? VMCB_ATTR_L : 0) |
		      (var->db ? VMCB_ATTR_DB : 0) |
		      (var->g ? VMCB_ATTR_G : 0);
}

static void svm_dtable_to_kvm(const struct vmcb_seg *seg, struct kvm_dtable *dt)
{
	dt->base = seg->base;
	dt->limit = seg->limit;
}

/* The segment registers of struct kvm_sregs and where the VMCB keeps them. */
static const struct {
	u16 vmcb, kvm;
} svm_sregs_segs[] = {
	{ offsetof(struct vmcb_save_area, cs), offsetof(struct kvm_sregs, cs) },
	{ offsetof(struct vmcb_save_area, ds), offsetof(struct kvm_sregs, ds) },
	{ offsetof(struct vmcb_save_area, es), offsetof(struct kvm_sregs, es) },
	{ offsetof(struct vmcb_save_area, fs), offsetof(struct kvm_sregs, fs) },
	{ offsetof(struct vmcb_save_area, gs), offsetof(struct kvm_sregs, gs) },
	{ offsetof(struct vmcb_save_area, ss), offsetof(struct kvm_sregs, ss) },
	{ offsetof(struct vmcb_save_area, tr), offsetof(struct kvm_sregs, tr) },
	{ offsetof(struct vmcb_save_area, ldtr), offsetof(struct kvm_sregs, ldt) },
};

static int svm_get_sregs(struct kvmf_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_save_area *save = &svm->vmcb->save;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(svm_sregs_segs); i++)
		svm_seg_to_kvm((const void *)save + svm_sregs_segs[i].vmcb,
			       (void *)sregs + svm_sregs_segs[i].kvm);
	svm_dtable_to_kvm(&save->gdtr, &sregs->gdt);
	svm_dtable_to_kvm(&save->idtr, &sregs->idt);
	sregs->cr0 = save->cr0;
	sregs->cr2 = save->cr2;
	sregs->cr3 = save->cr3;
	sregs->cr4 = save->cr4;
	sregs->cr8 = svm->vmcb->control.int_ctl & 0xf;
	sregs->efer = svm_guest_efer(svm);
	sregs->apic_base = svm->apic_base;
	memset(sregs->interrupt_bitmap, 0, sizeof(sregs->interrupt_bitmap));
	return 0;
}

/*
 * EFER as the guest sees it.  The VMCB's always has SVME, which VMRUN
 * requires; L1's real SVME is kept aside.  L2's EFER is L2's.
 */
u64 svm_guest_efer(struct kvmf_svm_vcpu *svm)
{
	u64 efer = svm->vmcb->save.efer;

	if (svm->nested.guest_mode)
		return efer;
	return (efer & ~EFER_SVME) | (svm->efer_svme ? EFER_SVME : 0);
}

/* CR4 bits a guest may set: those the host CPU implements that SVM guests can use. */
u64 svm_cr4_allowed(void)
{
	u64 allowed = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
		      X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
		      X86_CR4_OSXMMEXCPT | X86_CR4_FSGSBASE | X86_CR4_PCIDE | X86_CR4_OSXSAVE;

	if (boot_cpu_has(X86_FEATURE_SMEP))
		allowed |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		allowed |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_UMIP))
		allowed |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_PKU))
		allowed |= X86_CR4_PKE;
	if (boot_cpu_has(X86_FEATURE_LA57))
		allowed |= X86_CR4_LA57;
	return allowed;
}

bool svm_cr4_valid(u64 cr4)
{
	return !(cr4 & ~svm_cr4_allowed());
}

/*
 * The consistency rules KVM applies to KVM_SET_SREGS: CR0 with its upper
 * half clear, no NW without CD and no PG without PE; long mode only with
 * paging, PAE and LMA; no LMA or 64-bit code segment outside it; no CR4 bit
 * the guest could not set itself; CR3 within the physical address width.
 * EFER is not checked (as on KVM): VMRUN refuses a bad one (FAIL_ENTRY).
 */
static bool svm_sregs_valid(const struct kvm_sregs *sregs)
{
	if (upper_32_bits(sregs->cr0) ||
	    ((sregs->cr0 & X86_CR0_NW) && !(sregs->cr0 & X86_CR0_CD)) ||
	    ((sregs->cr0 & X86_CR0_PG) && !(sregs->cr0 & X86_CR0_PE)))
		return false;

	if (!svm_cr4_valid(sregs->cr4))
		return false;

	if ((sregs->efer & EFER_LME) && (sregs->cr0 & X86_CR0_PG)) {
		if (!(sregs->cr4 & X86_CR4_PAE) || !(sregs->efer & EFER_LMA))
			return false;
		if (sregs->cr3 >> boot_cpu_data.x86_phys_bits)
			return false;
	} else if ((sregs->efer & EFER_LMA) || sregs->cs.l) {
		return false;
	}
	return true;
}

static int svm_set_sregs(struct kvmf_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *save;
	unsigned int i;
	int r;

	if (!svm_sregs_valid(sregs))
		return -EINVAL;
	/* May leave L2 (SVME cleared by userspace): the VMCB is the one after. */
	r = svm_nested_set_efer_svme(vcpu, sregs->efer & EFER_SVME, true);
	if (r)
		return r;
	save = &svm->vmcb->save;

	for (i = 0; i < ARRAY_SIZE(svm_sregs_segs); i++)
		svm_seg_from_kvm((void *)save + svm_sregs_segs[i].vmcb,
				 (const void *)sregs + svm_sregs_segs[i].kvm);
	save->gdtr.base = sregs->gdt.base;
	save->gdtr.limit = sregs->gdt.limit;
	save->idtr.base = sregs->idt.base;
	save->idtr.limit = sregs->idt.limit;
	/* SVM takes the CPL from SS's DPL (APM: "Segment State in the VMCB"). */
	save->cpl = sregs->ss.dpl & 3;

	save->cr0 = sregs->cr0;
	save->cr2 = sregs->cr2;
	save->cr3 = sregs->cr3;
	save->cr4 = sregs->cr4;
	save->efer = sregs->efer | EFER_SVME;
	svm->vmcb->control.int_ctl = (svm->vmcb->control.int_ctl & ~SVM_INT_CTL_V_TPR_MASK) |
				     (sregs->cr8 & 0xf);
	svm->apic_base = sregs->apic_base;

	/* New paging state: cached translations of the old one must go. */
	svm->asid_generation = 0;
	return 0;
}

static void svm_request_triple_fault(struct kvmf_vcpu *vcpu)
{
	to_svm(vcpu)->triple_fault = true;
}

/* L1's TSC: kvmfork keeps L1's offset, whatever VMCB runs. */
static u64 svm_read_l1_tsc(struct kvmf_vcpu *vcpu)
{
	return rdtsc() + to_svm(vcpu)->tsc_offset;
}

/* APIC base: enable (11), BSP (8) and the base address; no x2APIC (10) yet. */
static bool svm_apic_base_valid(u64 data)
{
	u64 base_mask = GENMASK_ULL(boot_cpu_data.x86_phys_bits - 1, 12);

	return !(data & ~(base_mask | BIT_ULL(11) | BIT_ULL(8)));
}

static int svm_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_save_area *save = &svm->vmcb->save;

	switch (index) {
	case MSR_IA32_TSC:
		*data = rdtsc() + svm->vmcb->control.tsc_offset;
		break;
	case MSR_IA32_APICBASE:
		*data = svm->apic_base;
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = save->sysenter_cs;
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = save->sysenter_esp;
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = save->sysenter_eip;
		break;
	case MSR_IA32_CR_PAT:
		*data = save->g_pat;
		break;
	case MSR_EFER:
		*data = svm_guest_efer(svm);
		break;
	case MSR_STAR:
		*data = save->star;
		break;
	case MSR_LSTAR:
		*data = save->lstar;
		break;
	case MSR_CSTAR:
		*data = save->cstar;
		break;
	case MSR_SYSCALL_MASK:
		*data = save->sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		*data = save->kernel_gs_base;
		break;
	case MSR_FS_BASE:
		*data = save->fs.base;
		break;
	case MSR_GS_BASE:
		*data = save->gs.base;
		break;
	default:
		return svm_nested_get_msr(vcpu, index, data);
	}
	return 0;
}

/*
 * A guest may not switch long mode on or off (EFER.LME) while paging is
 * on, and EFER.LMA is the CPU's to set; userspace restoring state may.
 */
static int svm_set_efer(struct kvmf_vcpu *vcpu, u64 data, bool host)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *save = &svm->vmcb->save;
	int r;

	if (!host) {
		if ((save->cr0 & X86_CR0_PG) && ((data ^ save->efer) & EFER_LME))
			return -EINVAL;
		data = (data & ~EFER_LMA) | (save->efer & EFER_LMA);
	}
	r = svm_nested_set_efer_svme(vcpu, data & EFER_SVME, host);
	if (r)
		return r;
	save = &svm->vmcb->save;
	save->efer = data | EFER_SVME;
	/* A new paging mode: cached translations of the old one must go. */
	svm->asid_generation = 0;
	return 0;
}

static int svm_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *save = &svm->vmcb->save;

	switch (index) {
	case MSR_IA32_TSC:
		/*
		 * kvmfork keeps L1's offset; L2's is L1's plus the one in
		 * VMCB12, so a write by L2 moves L1's TSC with it.
		 */
		svm->tsc_offset = data - rdtsc() -
				  (svm->nested.guest_mode ? svm->nested.ctl12.tsc_offset : 0);
		svm->vmcb01->control.tsc_offset = svm->tsc_offset;
		svm_nested_update_tsc_offset(svm);
		break;
	case MSR_IA32_APICBASE:
		if (!svm_apic_base_valid(data))
			return -EINVAL;
		svm->apic_base = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		save->sysenter_cs = data;
		break;
	/* AMD CPUs keep 32 bits of these (SYSENTER is legacy-mode only there). */
	case MSR_IA32_SYSENTER_ESP:
		save->sysenter_esp = (u32)data;
		break;
	case MSR_IA32_SYSENTER_EIP:
		save->sysenter_eip = (u32)data;
		break;
	case MSR_IA32_CR_PAT:
		save->g_pat = data;
		break;
	case MSR_EFER:
		return svm_set_efer(vcpu, data, host);
	case MSR_STAR:
		save->star = data;
		break;
	case MSR_LSTAR:
		save->lstar = data;
		break;
	case MSR_CSTAR:
		save->cstar = data;
		break;
	case MSR_SYSCALL_MASK:
		save->sfmask = data;
		break;
	case MSR_KERNEL_GS_BASE:
		save->kernel_gs_base = data;
		break;
	case MSR_FS_BASE:
		save->fs.base = data;
		break;
	case MSR_GS_BASE:
		save->gs.base = data;
		break;
	default:
		return svm_nested_set_msr(vcpu, index, data, host);
	}
	return 0;
}

const struct kvmf_x86_vendor_ops kvmf_svm_vendor_ops = {
	.name			= "AMD SVM",
	.probe			= svm_probe,
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.cpu_enable		= svm_cpu_enable,
	.cpu_disable		= svm_cpu_disable,
	.vm_init		= svm_vm_init,
	.vm_destroy		= svm_vm_destroy,
	.vcpu_create		= svm_vcpu_create,
	.vcpu_destroy		= svm_vcpu_destroy,
	.vcpu_run_once		= svm_vcpu_run_once,
	.get_sregs		= svm_get_sregs,
	.set_sregs		= svm_set_sregs,
	.get_msr		= svm_get_msr,
	.set_msr		= svm_set_msr,
	.queue_exception	= svm_queue_exception,
	.interrupt_allowed	= svm_interrupt_allowed,
	.inject_irq		= svm_inject_irq,
	.enable_irq_window	= svm_enable_irq_window,
	.nmi_allowed		= svm_nmi_allowed,
	.inject_nmi		= svm_inject_nmi,
	.get_cr8		= svm_get_cr8,
	.get_cr4		= svm_get_cr4,
	.get_dr6_dr7		= svm_get_dr6_dr7,
	.set_dr6_dr7		= svm_set_dr6_dr7,
	.read_l1_tsc		= svm_read_l1_tsc,
	.triple_fault		= svm_request_triple_fault,
	.set_cr8		= svm_set_cr8,
	.get_events		= svm_get_events,
	.set_events		= svm_set_events,
	.cpuid_supported	= svm_nested_cpuid,
	.nested_state_size	= svm_nested_state_size,
	.get_nested_state	= svm_get_nested_state,
	.set_nested_state	= svm_set_nested_state,
};
