// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock, KVM's paravirtual clock (Documentation/virt/kvm/x86/msr.rst):
 * a nanosecond clock per VM, which the guest reads through a structure
 * kvmfork keeps in guest memory for each vCPU that asks for it
 * (MSR_KVM_SYSTEM_TIME), plus the wall-clock time at kvmclock 0
 * (MSR_KVM_WALL_CLOCK), and KVM_GET_CLOCK / KVM_SET_CLOCK for the VMM.
 *
 * The VM's kvmclock is the host's boot-time clock plus an offset (0 at VM
 * creation).  The vCPU's structure pairs a reading of it with a reading of
 * the guest's TSC and the TSC's rate, so that the guest interpolates with
 * its TSC; kvmfork writes it when the guest enables it and at every
 * KVM_RUN, and never sets the "TSC stable" flag (the guest then keeps its
 * readings monotonic itself).  Both MSRs come in KVM's old (0x11, 0x12)
 * and new (0x4b564d00, 0x4b564d01) numbers.
 *
 * Locking: the offset is the VM's, changed under vm->lock (KVM_SET_CLOCK)
 * and read with READ_ONCE; the rest is the vCPU's, under vcpu->mutex.
 */
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

#include <kvmfork/kvmf_host.h>

#include "guest_mem.h"
#include "x86.h"

/* The flags KVM_SET_CLOCK accepts (KVM's). */
#define KVMF_CLOCK_VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)
#define KVMF_SYSTEM_TIME_ENABLE	BIT_ULL(0)

static u64 kvmf_kvmclock_ns(struct kvmf_vm *vm)
{
	return ktime_get_boottime_ns() + READ_ONCE(vm->arch.kvmclock_offset);
}

void kvmf_kvmclock_vm_init(struct kvmf_vm *vm)
{
	vm->arch.kvmclock_offset = -(s64)ktime_get_boottime_ns();
}

/*
 * The pvclock scale for a TSC of @khz: ns = ((ticks << shift) * mul) >> 32,
 * a right shift for a negative @shift, with mul/2^32 in [1/2, 1).
 */
static void kvmf_kvmclock_scale(u32 khz, s8 *shift, u32 *mul)
{
	u64 num = NSEC_PER_MSEC, den = khz;
	s8 s = 0;

	while (num >= den) {
		den <<= 1;
		s++;
	}
	while (num << 1 < den) {
		num <<= 1;
		s--;
	}
	*shift = s;
	*mul = div64_u64(num << 32, den);
}

/* Writes the structure the vCPU enabled: odd version while it changes. */
void kvmf_kvmclock_update(struct kvmf_vcpu *vcpu)
{
	struct kvmf_arch_vcpu *a = &vcpu->arch;
	struct pvclock_vcpu_time_info t = {};
	u64 gpa = a->kvmclock_msr & ~KVMF_SYSTEM_TIME_ENABLE;

	if (!(a->kvmclock_msr & KVMF_SYSTEM_TIME_ENABLE) || !tsc_khz)
		return;
	a->kvmclock_version += 2;
	t.version = a->kvmclock_version - 1;
	if (kvmf_x86_write_guest_phys(vcpu, gpa, &t.version, sizeof(t.version)))
		return;
	/* Both readings back to back: the guest interpolates from this pair. */
	t.tsc_timestamp = kvmf_x86_vendor->read_l1_tsc(vcpu);
	t.system_time = kvmf_kvmclock_ns(vcpu->vm);
	kvmf_kvmclock_scale(tsc_khz, &t.tsc_shift, &t.tsc_to_system_mul);
	kvmf_x86_write_guest_phys(vcpu, gpa, &t, sizeof(t));
	t.version = a->kvmclock_version;
	kvmf_x86_write_guest_phys(vcpu, gpa, &t.version, sizeof(t.version));
}

/* The wall-clock time at kvmclock 0, at @gpa; a version as for the vCPU structure. */
static void kvmf_kvmclock_write_wall_clock(struct kvmf_vcpu *vcpu, u64 gpa)
{
	struct pvclock_wall_clock wc = {};
	u64 boot_ns = ktime_get_real_ns() - kvmf_kvmclock_ns(vcpu->vm);
	u32 rem;

	wc.version = ++vcpu->vm->arch.wall_clock_version * 2 - 1;
	if (kvmf_x86_write_guest_phys(vcpu, gpa, &wc.version, sizeof(wc.version)))
		return;
	wc.sec = div_u64_rem(boot_ns, NSEC_PER_SEC, &rem);
	wc.nsec = rem;
	kvmf_x86_write_guest_phys(vcpu, gpa, &wc, sizeof(wc));
	wc.version++;
	kvmf_x86_write_guest_phys(vcpu, gpa, &wc.version, sizeof(wc.version));
}

bool kvmf_kvmclock_msr(u32 index)
{
	return index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_SYSTEM_TIME ||
	       index == MSR_KVM_WALL_CLOCK_NEW || index == MSR_KVM_SYSTEM_TIME_NEW;
}

int kvmf_kvmclock_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data)
{
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_WALL_CLOCK_NEW)
		*data = vcpu->vm->arch.wall_clock_msr;
	else
		*data = vcpu->arch.kvmclock_msr;
	return 0;
}

/*
 * Any value is taken, as KVM takes it; an address without memory just gets
 * nothing.  The guest's writes fill the structures at once.  Userspace's
 * (@host: a VMM restoring state, or QEMU zeroing them at reset) only set
 * the MSRs: the vCPU's structure is written at the next KVM_RUN, and guest
 * memory at the address userspace gave (0 at reset) is not touched.
 */
int kvmf_kvmclock_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_WALL_CLOCK_NEW) {
		vcpu->vm->arch.wall_clock_msr = data;
		if (!host)
			kvmf_kvmclock_write_wall_clock(vcpu, data);
		return 0;
	}
	vcpu->arch.kvmclock_msr = data;
	if (!host)
		kvmf_kvmclock_update(vcpu);
	return 0;
}

/* KVM_GET_CLOCK: the VM's kvmclock now; no flags (kvmfork keeps no master clock). */
long kvmf_vm_get_clock(void *obj, void *data, unsigned long arg)
{
	struct kvm_clock_data *c = data;

	memset(c, 0, sizeof(*c));
	c->clock = kvmf_kvmclock_ns(obj);
	return 0;
}

/*
 * KVM_SET_CLOCK: the VM's kvmclock is @clock now, or @clock at @realtime
 * with KVM_CLOCK_REALTIME (the time since then is added).  vCPUs' structures
 * follow at their next KVM_RUN.
 */
long kvmf_vm_set_clock(void *obj, void *data, unsigned long arg)
{
	struct kvm_clock_data *c = data;
	struct kvmf_vm *vm = obj;
	u64 now_real;

	if (c->flags & ~KVMF_CLOCK_VALID_FLAGS)
		return -EINVAL;
	if (c->flags & KVM_CLOCK_REALTIME) {
		now_real = ktime_get_real_ns();
		if (now_real > c->realtime)
			c->clock += now_real - c->realtime;
	}
	WRITE_ONCE(vm->arch.kvmclock_offset, c->clock - ktime_get_boottime_ns());
	return 0;
}

/* KVM_CAP_ADJUST_CLOCK: the flags KVM_SET_CLOCK takes. */
int kvmf_kvmclock_cap(void)
{
	return KVMF_CLOCK_VALID_FLAGS;
}
