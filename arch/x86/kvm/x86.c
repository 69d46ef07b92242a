// SPDX-License-Identifier: GPL-2.0
/*
 * x86 common code: the arch ops the core calls, and the choice of vendor
 * backend.  Only AMD SVM (AMD and Hygon CPUs) exists so far.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <asm/processor.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/kvmf_host.h>

#include "x86.h"

static const struct kvmf_x86_vendor_ops *kvmf_x86_vendor;

static int kvmf_x86_hardware_setup(void)
{
	const struct kvmf_x86_vendor_ops *vendor;
	int r;

	switch (boot_cpu_data.x86_vendor) {
	case X86_VENDOR_AMD:
	case X86_VENDOR_HYGON:
		vendor = &kvmf_svm_vendor_ops;
		break;
	default:
		pr_err("no backend for this CPU vendor (%s): kvmfork runs on AMD and Hygon CPUs\n",
		       boot_cpu_data.x86_vendor_id);
		return -ENODEV;
	}

	r = vendor->probe();
	if (r)
		return r;

	r = vendor->hardware_setup();
	if (r)
		return r;

	kvmf_x86_vendor = vendor;
	return 0;
}

static void kvmf_x86_hardware_unsetup(void)
{
	kvmf_x86_vendor->hardware_unsetup();
	kvmf_x86_vendor = NULL;
}

static int kvmf_x86_cpu_enable(void)
{
	return kvmf_x86_vendor->cpu_enable();
}

static void kvmf_x86_cpu_disable(void)
{
	kvmf_x86_vendor->cpu_disable();
}

static long kvmf_x86_check_extension(struct kvmf_vm *vm, long cap)
{
	/* Nothing x86-specific is implemented yet: say so truthfully. */
	return 0;
}

static int kvmf_x86_vm_init(struct kvmf_vm *vm, unsigned long type)
{
	/* Only the default VM type exists on x86 in the 6.1 ABI. */
	if (type)
		return -EINVAL;

	return kvmf_x86_vendor->vm_init(vm);
}

static void kvmf_x86_vm_destroy(struct kvmf_vm *vm)
{
	kvmf_x86_vendor->vm_destroy(vm);
}

const struct kvmf_arch_ops kvmf_arch_ops = {
	.name			= "x86",
	.hardware_setup		= kvmf_x86_hardware_setup,
	.hardware_unsetup	= kvmf_x86_hardware_unsetup,
	.cpu_enable		= kvmf_x86_cpu_enable,
	.cpu_disable		= kvmf_x86_cpu_disable,
	.check_extension	= kvmf_x86_check_extension,
	.vm_init		= kvmf_x86_vm_init,
	.vm_destroy		= kvmf_x86_vm_destroy,
};
