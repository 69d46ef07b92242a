// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's TSC rate: KVM_GET/SET_TSC_KHZ on a vCPU, and on a VM for the
 * vCPUs it creates after.
 *
 * kvmfork does not scale a guest's TSC (KVM_CAP_TSC_CONTROL is 0): every
 * guest's TSC ticks at the host's rate, so a VMM may only ask for that rate,
 * within the 250 ppm KVM tolerates as calibration noise (a rate migrated
 * from another host of the same model, say).  KVM without scaling accepts
 * faster rates too and pushes the guest's TSC forward at each entry, which
 * only approximates them; kvmfork refuses them instead.  A refused rate
 * changes nothing (KVM keeps it as the vCPU's rate even while refusing it),
 * and the VM's rate follows the same rule (KVM takes any rate for the VM,
 * which its vCPUs then cannot have).
 *
 * Locking: the vCPU's rate under vcpu->mutex; the VM's under vm->lock,
 * read at vCPU creation.
 */
#include <linux/kernel.h>
#include <asm/tsc.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

#define KVMF_TSC_TOLERANCE_PPM	250

/* @arg of KVM_SET_TSC_KHZ as a rate kvmfork keeps: 0 means the host's. */
static int kvmf_tsc_khz_check(unsigned long arg, u32 *khz)
{
	u32 want = arg ? (u32)arg : tsc_khz;
	u64 slack = (u64)tsc_khz * KVMF_TSC_TOLERANCE_PPM / 1000000;

	if (!tsc_khz || want < tsc_khz - slack || want > tsc_khz + slack)
		return -EINVAL;
	*khz = want;
	return 0;
}

void kvmf_tsc_vcpu_init(struct kvmf_vcpu *vcpu)
{
	vcpu->arch.tsc_khz = READ_ONCE(vcpu->vm->arch.tsc_khz);
}

void kvmf_tsc_vm_init(struct kvmf_vm *vm)
{
	vm->arch.tsc_khz = tsc_khz;
}

long kvmf_vcpu_get_tsc_khz(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;

	return vcpu->arch.tsc_khz;
}

long kvmf_vcpu_set_tsc_khz(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;

	return kvmf_tsc_khz_check(arg, &vcpu->arch.tsc_khz);
}

long kvmf_vm_get_tsc_khz(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vm *vm = obj;

	return READ_ONCE(vm->arch.tsc_khz);
}

long kvmf_vm_set_tsc_khz(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vm *vm = obj;
	u32 khz;
	int r;

	r = kvmf_tsc_khz_check(arg, &khz);
	if (!r)
		WRITE_ONCE(vm->arch.tsc_khz, khz);
	return r;
}
