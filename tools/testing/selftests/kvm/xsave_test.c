// SPDX-License-Identifier: GPL-2.0
/*
 * XSAVE for guests: what KVM_GET_SUPPORTED_CPUID offers (the XSAVE bit,
 * leaf 0xD's components and sizes), the guest's XSETBV and XGETBV with
 * #UD and #GP where the SDM puts them, the XCR0 the VMM sets being the one
 * the guest runs with, OSXSAVE and the leaf 0xD size following the guest's
 * CR4 and XCR0, and AVX register state the VMM reads and writes with
 * KVM_GET/SET_XSAVE while the guest uses it.  The expectations are stock
 * kvm_amd's (Debian's 6.1 under QEMU's -cpu max).
 *
 * QEMU's TCG does not honour the XSETBV intercept of a nested guest: there
 * the guest's XSETBV runs natively, unseen by the hypervisor.  kvmfork
 * reads XCR0 back at every exit (the host's comes back, the guest's is
 * kept); stock kvm_amd 6.1 compares its stale copy and can leave the
 * guest's XCR0 in the host, whose tasks' FPU state then fails to restore.
 * So under TCG the cases where the guest sets a valid XCR0 itself run on
 * kvmfork only, to keep the reference host sound; the others set XCR0
 * from the VMM (KVM_SET_XCRS).
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define UD_VECTOR	6
#define GP_VECTOR	13
#define CR4_OSXSAVE	(1ull << 18)
#define LEAF1_ECX_XSAVE	(1u << 26)
#define LEAF1_ECX_OSXSAVE (1u << 27)
#define LEAF1_ECX_AVX	(1u << 28)
#define XCR0_FP		1ull
#define XCR0_SSE	2ull
#define XCR0_YMM	4ull
/* The legacy area and the header, and AVX state (component 2) on its own. */
#define XSAVE_BASE	576u
#define YMM_SIZE	256u
/* The high halves of YMM0 and YMM1 in component 2 of the standard format. */
#define YMM0_HI(area)	((uint64_t *)((char *)(area) + ymm_offset))
#define YMM1_HI(area)	((uint64_t *)((char *)(area) + ymm_offset + 16))

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;
/* KVM_GET_SUPPORTED_CPUID's table, read once. */
static const struct kvm_cpuid2 *supported;
/* Where component 2 sits in the standard format (CPUID 0xD.2 EBX). */
static uint32_t ymm_offset;

static const struct kvm_cpuid_entry2 *find_leaf(uint32_t leaf, uint32_t index)
{
	return kvmf_cpuid_entry(supported, leaf, index);
}

static bool avx_offered(void)
{
	const struct kvm_cpuid_entry2 *l1 = find_leaf(1, 0), *d0 = find_leaf(0xd, 0);

	return l1 && d0 && (l1->ecx & LEAF1_ECX_AVX) && (d0->eax & XCR0_YMM);
}

/* ---- Guest side ---- */

static volatile uint64_t exc_count, exc_vector;

/* XSETBV and XGETBV are 3 bytes long (0F 01 D1, 0F 01 D0). */
static void skip_fault(struct kvmf_exc_frame *frame)
{
	exc_count++;
	exc_vector = frame->vector;
	frame->rip += 3;
}

static void xsetbv(uint32_t index, uint64_t value)
{
	asm volatile("xsetbv" : : "c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
		     : "memory");
}

static uint64_t xgetbv(uint32_t index)
{
	uint32_t lo = 0, hi = 0;

	asm volatile("xgetbv" : "+a"(lo), "+d"(hi) : "c"(index));
	return lo | (uint64_t)hi << 32;
}

static void set_cr4(uint64_t set, uint64_t clear)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"((cr4 | set) & ~clear));
}

static uint32_t cpuid_reg(uint32_t leaf, uint32_t subleaf, int reg)
{
	uint32_t r[4];

	kvmf_cpuid(leaf, subleaf, &r[0], &r[1], &r[2], &r[3]);
	return r[reg];
}

/* ---- Host side ---- */

/* A guest XSETBV that takes effect is safe for this host's own state (see the top). */
static void skip_unless_guest_xsetbv_is_safe(void)
{
	if (kvmf_host_is_qemu_tcg() && strcmp(kvmf_vm_owner_module(), "kvmfork"))
		kvmf_skip("under QEMU's TCG stock kvm_amd can leave a guest's XCR0 in the host");
}

/* The host's own XCR0 (XGETBV is allowed at CPL 3). */
static uint64_t host_xcr0(void)
{
	return xgetbv(0);
}

static void create_guest(void (*fn)(void *arg))
{
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, fn, NULL);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_CPUID2, supported));
}

#define expect_sync(a0, a1, a2)	KVMF_GUEST_EXPECT_SYNC(&vm, &vcpu, a0, a1, a2)

/* ---- Cases ---- */

static void test_supported_cpuid(void)
{
	const struct kvm_cpuid_entry2 *l1 = find_leaf(1, 0), *d0 = find_leaf(0xd, 0);
	const struct kvm_cpuid_entry2 *d1 = find_leaf(0xd, 1), *d2 = find_leaf(0xd, 2);

	KVMF_ASSERT(l1 && d0 && d1, "no leaf 1, 0xD.0 or 0xD.1");
	printf("# leaf 1 ECX %#x, 0xD.0 %#x %#x %#x %#x, 0xD.1 EAX %#x\n", l1->ecx, d0->eax,
	       d0->ebx, d0->ecx, d0->edx, d1->eax);
	KVMF_ASSERT(l1->ecx & LEAF1_ECX_XSAVE, "XSAVE not offered");
	/* OSXSAVE is the guest's CR4 bit: never in the supported table. */
	KVMF_ASSERT(!(l1->ecx & LEAF1_ECX_OSXSAVE), "OSXSAVE offered");
	KVMF_ASSERT_EQ(d0->eax & (XCR0_FP | XCR0_SSE), XCR0_FP | XCR0_SSE);
	KVMF_ASSERT(d0->ecx >= XSAVE_BASE, "XSAVE area of %u bytes", d0->ecx);
	/* XSAVES and XFD would need MSRs: not offered by either. */
	KVMF_ASSERT_EQ(d1->eax & (1u << 3), 0);
	if (!avx_offered())
		kvmf_skip("AVX not offered: nothing more to check");
	KVMF_ASSERT(d2, "AVX offered without leaf 0xD.2");
	KVMF_ASSERT_EQ(d2->eax, YMM_SIZE);
	KVMF_ASSERT_EQ(d2->ebx, XSAVE_BASE);
	KVMF_ASSERT(d0->ecx >= XSAVE_BASE + YMM_SIZE, "XSAVE area of %u bytes", d0->ecx);
}

/* XSETBV without CR4.OSXSAVE is #UD; CPUID says OSXSAVE only with it. */
static void guest_no_osxsave(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[UD_VECTOR] = skip_fault;
	set_cr4(0, CR4_OSXSAVE);
	xsetbv(0, XCR0_FP | XCR0_SSE);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector,
			 cpuid_reg(1, 0, 2) & LEAF1_ECX_OSXSAVE);
	set_cr4(CR4_OSXSAVE, 0);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, xgetbv(0),
			 cpuid_reg(1, 0, 2) & LEAF1_ECX_OSXSAVE);
	GUEST_DONE();
}

static void test_no_osxsave(void)
{
	create_guest(guest_no_osxsave);
	expect_sync(1, UD_VECTOR, 0);
	/* A vCPU starts with XCR0 = x87 only. */
	expect_sync(1, XCR0_FP, LEAF1_ECX_OSXSAVE);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &(struct kvmf_ucall){}), UCALL_DONE);
}

/*
 * The values XCR0 cannot take are #GP, and XCR0 keeps its value (read
 * before any exit: see the top).
 */
static void guest_xsetbv_rules(void *arg)
{
	uint64_t xcr0;

	(void)arg;
	kvmf_guest_exc_handlers[GP_VECTOR] = skip_fault;
	set_cr4(CR4_OSXSAVE, 0);
	xsetbv(0, XCR0_FP | XCR0_SSE);
	xcr0 = xgetbv(0);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, xcr0, 0);
	xsetbv(0, XCR0_FP | XCR0_SSE);
	xsetbv(0, 0);			/* x87 state off */
	xsetbv(0, XCR0_SSE);		/* the same */
	xsetbv(0, XCR0_FP | XCR0_YMM);	/* AVX state without SSE's */
	xsetbv(0, XCR0_FP | (1ull << 62));	/* a component nobody has */
	xsetbv(1, XCR0_FP);		/* no XCR 1 */
	xcr0 = xgetbv(0);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, xcr0);
	GUEST_DONE();
}

static void test_xsetbv_rules(void)
{
	struct kvm_xcrs xcrs = { 0 };
	uint64_t before = host_xcr0();

	skip_unless_guest_xsetbv_is_safe();
	create_guest(guest_xsetbv_rules);
	expect_sync(0, XCR0_FP | XCR0_SSE, 0);
	/* The host kept its own XCR0, and the hypervisor has the guest's. */
	KVMF_ASSERT_EQ(host_xcr0(), before);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XCRS, &xcrs));
	KVMF_ASSERT_EQ(xcrs.xcrs[0].value, XCR0_FP | XCR0_SSE);
	expect_sync(5, GP_VECTOR, XCR0_FP | XCR0_SSE);
	KVMF_ASSERT_EQ(host_xcr0(), before);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &(struct kvmf_ucall){}), UCALL_DONE);
}

/*
 * The XCR0 the VMM sets is the guest's once it has CR4.OSXSAVE (from its
 * next entry on), and CPUID's leaf 0xD size follows it.
 */
static void guest_xcr0_from_vmm(void *arg)
{
	(void)arg;
	set_cr4(CR4_OSXSAVE, 0);
	GUEST_SYNC(0);
	for (;;)
		kvmf_guest_ucall(UCALL_SYNC, xgetbv(0), cpuid_reg(0xd, 0, 1),
				 cpuid_reg(1, 0, 2) & LEAF1_ECX_OSXSAVE);
}

static void test_xcr0_from_vmm(void)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };

	create_guest(guest_xcr0_from_vmm);
	expect_sync(0, 0, 0);
	expect_sync(XCR0_FP, XSAVE_BASE, LEAF1_ECX_OSXSAVE);
	xcrs.xcrs[0].value = XCR0_FP | XCR0_SSE;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs));
	expect_sync(XCR0_FP | XCR0_SSE, XSAVE_BASE, LEAF1_ECX_OSXSAVE);
	if (!avx_offered())
		return;
	xcrs.xcrs[0].value = XCR0_FP | XCR0_SSE | XCR0_YMM;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs));
	expect_sync(XCR0_FP | XCR0_SSE | XCR0_YMM, XSAVE_BASE + YMM_SIZE, LEAF1_ECX_OSXSAVE);
}

/*
 * AVX in the guest: it enables AVX state, loads YMM0, and reports YMM1's
 * high half, which the VMM has set with KVM_SET_XSAVE meanwhile.
 */
static const uint64_t ymm0_pattern[4] = {
	0x0101010101010101ull, 0x0202020202020202ull,
	0x0303030303030303ull, 0x0404040404040404ull,
};

static void guest_avx(void *arg)
{
	uint64_t ymm1[4];

	(void)arg;
	/* XCR0 with AVX state comes from the VMM, from the next entry on. */
	set_cr4(CR4_OSXSAVE, 0);
	GUEST_SYNC(0);
	asm volatile("vmovdqu %0, %%ymm0" : : "m"(ymm0_pattern) : "xmm0");
	GUEST_SYNC(1);
	asm volatile("vmovdqu %%ymm1, %0" : "=m"(ymm1) : : "memory");
	kvmf_guest_ucall(UCALL_SYNC, ymm1[2], ymm1[3], 0);
	GUEST_DONE();
}

static void test_avx_state(void)
{
	static struct kvm_xsave xsave;
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };

	if (!avx_offered())
		kvmf_skip("AVX not offered");
	ymm_offset = find_leaf(0xd, 2)->ebx;
	create_guest(guest_avx);
	expect_sync(0, 0, 0);
	xcrs.xcrs[0].value = XCR0_FP | XCR0_SSE | XCR0_YMM;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs));
	expect_sync(1, 0, 0);

	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XSAVE, &xsave));
	KVMF_ASSERT(*(uint64_t *)((char *)xsave.region + 512) & XCR0_YMM,
		    "XSTATE_BV %#lx without AVX state", *(uint64_t *)((char *)xsave.region + 512));
	KVMF_ASSERT_EQ(YMM0_HI(xsave.region)[0], ymm0_pattern[2]);
	KVMF_ASSERT_EQ(YMM0_HI(xsave.region)[1], ymm0_pattern[3]);
	YMM1_HI(xsave.region)[0] = 0x1111222233334444ull;
	YMM1_HI(xsave.region)[1] = 0x5555666677778888ull;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XSAVE, &xsave));
	expect_sync(0x1111222233334444ull, 0x5555666677778888ull, 0);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &(struct kvmf_ucall){}), UCALL_DONE);
}

/* KVM_SET_XCRS takes what XSETBV takes, and nothing else. */
static void test_set_xcrs(void)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };

	if (!avx_offered())
		kvmf_skip("AVX not offered");
	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_CPUID2, supported));
	xcrs.xcrs[0].value = XCR0_FP | XCR0_SSE | XCR0_YMM;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs));
	xcrs.xcrs[0].value = XCR0_FP | XCR0_YMM;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs), EINVAL);
	xcrs.xcrs[0].value = XCR0_FP | (1ull << 62);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_XCRS, &xcrs), EINVAL);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_XCRS, &xcrs));
	KVMF_ASSERT_EQ(xcrs.xcrs[0].value, XCR0_FP | XCR0_SSE | XCR0_YMM);
}

static const struct kvmf_test tests[] = {
	{ "supported_cpuid", test_supported_cpuid },
	{ "no_osxsave", test_no_osxsave },
	{ "xsetbv_rules", test_xsetbv_rules },
	{ "xcr0_from_vmm", test_xcr0_from_vmm },
	{ "avx_state", test_avx_state },
	{ "set_xcrs", test_set_xcrs },
};

int main(void)
{
	supported = kvmf_supported_cpuid(kvmf_open_dev());
	return kvmf_test_main("xsave", tests, ARRAY_SIZE(tests));
}
