// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend: CPU checks, and turning SVM on and off on each CPU.
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

#include "../x86.h"
#include "svm.h"

static DEFINE_PER_CPU(struct kvmf_svm_cpu, kvmf_svm_cpu);

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
		sc->hsave = NULL;
	}
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
		if (!sc->hsave) {
			svm_hardware_unsetup();
			return -ENOMEM;
		}
	}
	return 0;
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

const struct kvmf_x86_vendor_ops kvmf_svm_vendor_ops = {
	.name			= "AMD SVM",
	.probe			= svm_probe,
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.cpu_enable		= svm_cpu_enable,
	.cpu_disable		= svm_cpu_disable,
	.vm_init		= svm_vm_init,
	.vm_destroy		= svm_vm_destroy,
};
