// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU state ioctls: KVM_GET/SET_FPU and KVM_GET/SET_XSAVE see and change
 * the guest's x87/SSE registers; KVM_GET/SET_XCRS and KVM_GET/SET_MP_STATE
 * with their bad inputs.
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define XMM0_VALUE	0x1122334455667788ull
#define XMM1_VALUE	0x99aabbccddeeff00ull
/* 1.0 as an 80-bit x87 value: mantissa 1 << 63, exponent 0x3fff. */
#define X87_ONE_MANT	0x8000000000000000ull
#define X87_ONE_EXP	0x3fff
/* XMM0 in the legacy FXSAVE area of an XSAVE image. */
#define XSAVE_XMM0	160

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;

static void guest_fpu(void *arg)
{
	uint64_t v;

	(void)arg;
	asm volatile("fninit; fld1; movq %0, %%xmm0" : : "r"(XMM0_VALUE) : "xmm0", "st");
	GUEST_SYNC(1);
	asm volatile("movq %%xmm1, %0" : "=r"(v) : : "xmm1");
	GUEST_ASSERT_EQ(v, XMM1_VALUE);
}

static void test_fpu_and_xsave(void)
{
	struct kvm_fpu fpu;
	struct kvm_xsave xsave;
	struct kvmf_ucall uc;
	uint64_t mant;
	uint16_t exp;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_fpu, NULL);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);

	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_FPU, &fpu));
	KVMF_ASSERT_EQ(*(uint64_t *)fpu.xmm[0], XMM0_VALUE);
	memcpy(&mant, fpu.fpr[0], 8);
	memcpy(&exp, fpu.fpr[0] + 8, 2);
	KVMF_ASSERT(mant == X87_ONE_MANT && exp == X87_ONE_EXP, "st0 %#x:%#lx", exp, mant);

	if (ioctl(vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XSAVE, &xsave));
		KVMF_ASSERT_EQ(*(uint64_t *)((char *)xsave.region + XSAVE_XMM0), XMM0_VALUE);
	}

	/* Give the guest a new XMM1 through KVM_SET_FPU. */
	*(uint64_t *)fpu.xmm[1] = XMM1_VALUE;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_FPU, &fpu));
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_GET_FPU, (void *)8), EFAULT);
}

static void test_xcrs(void)
{
	struct kvm_xcrs xcrs = { 0 };

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	if (ioctl(vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0)
		kvmf_skip("KVM_CAP_XCRS not reported");

	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XCRS, &xcrs));
	KVMF_ASSERT(xcrs.nr_xcrs >= 1, "no XCR reported");
	KVMF_ASSERT_EQ(xcrs.xcrs[0].xcr, 0);
	KVMF_ASSERT(xcrs.xcrs[0].value & 1, "XCR0 %#llx without x87", xcrs.xcrs[0].value);

	/* x87 state cannot be disabled. */
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].value = 0;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs), EINVAL);
	xcrs.xcrs[0].value = 1;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs));
	/* Too many XCRs, and flags. */
	xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs), EINVAL);
	xcrs.nr_xcrs = 1;
	xcrs.flags = 1;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs), EINVAL);
}

static void test_mp_state(void)
{
	struct kvm_mp_state mp;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	KVMF_ASSERT(ioctl(vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_MP_STATE) > 0, "no MP_STATE");
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_MP_STATE, &mp));
	KVMF_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_MP_STATE, &mp));
	/* Without an in-kernel APIC, only "runnable" exists. */
	mp.mp_state = KVM_MP_STATE_HALTED;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_MP_STATE, &mp), EINVAL);
	mp.mp_state = 1000;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_MP_STATE, &mp), EINVAL);
}

static const struct kvmf_test tests[] = {
	{ "fpu_and_xsave", test_fpu_and_xsave },
	{ "xcrs", test_xcrs },
	{ "mp_state", test_mp_state },
};

int main(void)
{
	return kvmf_test_main("vcpu_state", tests, ARRAY_SIZE(tests));
}
