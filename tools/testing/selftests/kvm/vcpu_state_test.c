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
/* In an XSAVE image: MXCSR and XMM0 in the legacy area, then the header. */
#define XSAVE_MXCSR	24
#define XSAVE_XMM0	160
#define XSAVE_XSTATE_BV	512
#define XSAVE_XCOMP_BV	520
#define XSAVE_HDR_RSVD	528
/* An XSAVE state component no CPU defines. */
#define XFEATURE_UNDEFINED	(1ull << 60)

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

/*
 * KVM_SET_XSAVE refuses an image the guest cannot have, and changes
 * nothing: a state component outside what KVM supports, the compacted
 * format (XCOMP_BV), reserved header bytes, MXCSR's reserved bits.
 */
static void test_xsave_bad_input(void)
{
	static struct kvm_xsave good, bad, now;
	struct {
		const char *what;
		unsigned int offset;
		uint64_t value;
	} cases[] = {
		{ "undefined state component", XSAVE_XSTATE_BV, 3 | XFEATURE_UNDEFINED },
		{ "XCOMP_BV", XSAVE_XCOMP_BV, 1ull << 63 | 3 },
		{ "reserved header bytes", XSAVE_HDR_RSVD + 8, 1 },
		{ "MXCSR reserved bits", XSAVE_MXCSR, 0x1f80 | (1ull << 20) },
	};
	unsigned int i;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	if (ioctl(vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
		kvmf_skip("KVM_CAP_XSAVE not reported");
	/* A good image: as read, with XMM0 set and x87 and SSE state present. */
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XSAVE, &good));
	*(uint64_t *)((char *)good.region + XSAVE_XMM0) = XMM0_VALUE;
	*(uint64_t *)((char *)good.region + XSAVE_XSTATE_BV) |= 3;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XSAVE, &good));
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XSAVE, &now));
	KVMF_ASSERT_EQ(*(uint64_t *)((char *)now.region + XSAVE_XMM0), XMM0_VALUE);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bad = good;
		*(uint64_t *)((char *)bad.region + cases[i].offset) = cases[i].value;
		*(uint64_t *)((char *)bad.region + XSAVE_XMM0) = XMM1_VALUE;
		printf("# %s\n", cases[i].what);
		KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XSAVE, &bad), EINVAL);
		KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XSAVE, &now));
		KVMF_ASSERT_EQ(*(uint64_t *)((char *)now.region + XSAVE_XMM0), XMM0_VALUE);
	}
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XSAVE, NULL), EFAULT);
}

static const struct kvmf_test tests[] = {
	{ "fpu_and_xsave", test_fpu_and_xsave },
	{ "xsave_bad_input", test_xsave_bad_input },
	{ "xcrs", test_xcrs },
	{ "mp_state", test_mp_state },
};

int main(void)
{
	return kvmf_test_main("vcpu_state", tests, ARRAY_SIZE(tests));
}
