// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs from the host (KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS, KVM_SET_MSRS,
 * with their bad inputs) and from the guest (RDMSR, WRMSR, #GP for what is
 * not there or not valid), and MSR_TSC_AUX: RDTSCP and RDPID read what the
 * guest wrote, and a write with reserved bits set raises #GP whenever RDTSCP
 * or RDPID is enumerated.
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_CR_PAT		0x277
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103
#define MSR_NONEXISTENT		0xdead0000

struct msr_case {
	uint32_t index;
	uint64_t value;		/* set by the host, read by the guest */
	uint64_t guest_value;	/* then written by the guest, read by the host */
};

/* SYSENTER_ESP keeps 32 bits on AMD-compatible CPUs, as the test runs. */
static const struct msr_case cases[] = {
	{ MSR_IA32_SYSENTER_CS, 0x10, 0x18 },
	{ MSR_IA32_SYSENTER_ESP, 0x81234560, 0x81234000 },
	{ MSR_IA32_CR_PAT, 0x0007010600070106ull, 0x0007040600070406ull },
	{ MSR_STAR, 0x0023001000000000ull, 0x0023001000000008ull },
	{ MSR_LSTAR, 0xffffffff81000000ull, 0xffffffff81000040ull },
	{ MSR_SYSCALL_MASK, 0x47700, 0x47708 },
	{ MSR_KERNEL_GS_BASE, 0x00007f0012340000ull, 0xffff888000000000ull },
};

static struct kvmf_guest_vm vm;
/* Set before the guest is loaded, so the guest's copy has it. */
static bool impl_is_stock;
static struct kvmf_guest_vcpu vcpu;

static void guest_msrs(void *arg)
{
	unsigned int i;

	(void)arg;
	kvmf_guest_exc_handlers[13] = kvmf_guest_msr_gp;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		GUEST_ASSERT_EQ(kvmf_rdmsr(cases[i].index), cases[i].value);
		kvmf_wrmsr(cases[i].index, cases[i].guest_value);
	}
	GUEST_SYNC(1);

	GUEST_ASSERT(kvmf_rdmsr_faults(MSR_NONEXISTENT));
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_NONEXISTENT, 0));
	/*
	 * Not canonical.  Stock KVM lets the guest write LSTAR directly, so the
	 * CPU decides, and QEMU's emulated CPU does not check (real ones do):
	 * only kvmfork, which intercepts it, is held to the rule here.
	 */
	if (!impl_is_stock)
		GUEST_ASSERT(kvmf_wrmsr_faults(MSR_LSTAR, 0x0000800000000000ull));
	/* PAT type 2 does not exist. */
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_IA32_CR_PAT, 0x0007040600070402ull));
	/* EFER: reserved bit 13, and LME while paging is on. */
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_EFER, kvmf_rdmsr(MSR_EFER) | (1 << 13)));
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_EFER, kvmf_rdmsr(MSR_EFER) & ~0x100ull));
	/*
	 * EFER.SCE: stock KVM allows it only when the guest's CPUID, which this
	 * test does not set, enumerates SYSCALL; kvmfork's default CPUID is the
	 * host's, which does.
	 */
	if (!impl_is_stock) {
		GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_EFER, kvmf_rdmsr(MSR_EFER) | 1));
		GUEST_ASSERT(kvmf_rdmsr(MSR_EFER) & 1);
	}
	GUEST_SYNC(2);
}

static void host_set_msr(uint32_t index, uint64_t value)
{
	KVMF_ASSERT_EQ(kvmf_vcpu_try_set_msr(vcpu.fd, index, value), 1);
}

static uint64_t host_get_msr(uint32_t index)
{
	return kvmf_vcpu_get_msr(vcpu.fd, index);
}

static void test_host_and_guest_access(void)
{
	struct kvmf_ucall uc;
	unsigned int i;

	impl_is_stock = !strcmp(getenv("KVMF_IMPL") ?: "", "stock");
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_msrs, NULL);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		host_set_msr(cases[i].index, cases[i].value);
		KVMF_ASSERT_EQ(host_get_msr(cases[i].index), cases[i].value);
	}
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		KVMF_ASSERT_EQ(host_get_msr(cases[i].index), cases[i].guest_value);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], 2);
}

static void test_index_list(void)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int kvm = kvmf_open_dev();
	unsigned int i, found = 0;

	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe), E2BIG);
	KVMF_ASSERT(probe.nmsrs > 0, "no MSRs listed");
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	list->nmsrs = probe.nmsrs;
	KVMF_CHECK(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list));
	KVMF_ASSERT_EQ(list->nmsrs, probe.nmsrs);
	/* Those a VMM saves; EFER travels with the sregs and is not listed. */
	for (i = 0; i < list->nmsrs; i++) {
		found += list->indices[i] == MSR_STAR || list->indices[i] == MSR_LSTAR ||
			 list->indices[i] == MSR_TSC_AUX;
		KVMF_ASSERT(list->indices[i] != MSR_EFER, "EFER is listed");
	}
	KVMF_ASSERT_EQ(found, 3);
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, (void *)8), EFAULT);
}

static void test_bad_msrs_ioctls(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry[3];
	} m = {
		.hdr.nmsrs = 3,
		.entry = { { .index = MSR_STAR }, { .index = MSR_NONEXISTENT },
			   { .index = MSR_LSTAR } },
	};

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	/* Processing stops at the first MSR that fails: one done. */
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_MSRS, &m), 1);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_MSRS, &m), 1);
	m.hdr.nmsrs = 256;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_GET_MSRS, &m), E2BIG);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_GET_MSRS, (void *)8), EFAULT);
	/* An invalid value from the host is refused too. */
	m.hdr.nmsrs = 1;
	m.entry[0] = (struct kvm_msr_entry) { .index = MSR_IA32_CR_PAT, .data = 0x02 };
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_MSRS, &m), 0);
}

static bool guest_has_rdtscp, guest_has_rdpid;

static void guest_tsc_aux(void *arg)
{
	uint32_t aux;

	(void)arg;
	kvmf_guest_exc_handlers[13] = kvmf_guest_msr_gp;

	/*
	 * Bits 63:32 are reserved: a write with them set must #GP whenever
	 * RDTSCP or RDPID is enumerated.  KVM 6.1 only enforces that for
	 * Intel guests and drops the bits for AMD-compatible ones, so the
	 * check holds kvmfork alone (a known difference, see msr.c).
	 */
	if (!impl_is_stock)
		GUEST_ASSERT(kvmf_wrmsr_faults(MSR_TSC_AUX, 1ull << 32 | 5));
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_TSC_AUX, 0x1234));
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_TSC_AUX), 0x1234);
	if (guest_has_rdtscp) {
		asm volatile("rdtscp" : "=c"(aux) : : "rax", "rdx");
		GUEST_ASSERT_EQ(aux, 0x1234);
	}
	if (guest_has_rdpid) {
		uint64_t pid;

		asm volatile("rdpid %0" : "=r"(pid));
		GUEST_ASSERT_EQ(pid, 0x1234);
	}
}

static void test_tsc_aux(void)
{
	uint32_t eax, ebx, ecx, edx;
	struct kvmf_ucall uc;

	/* What the guest sees is what the host has unless KVM_SET_CPUID2 changes it. */
	kvmf_cpuid(0x80000001, 0, &eax, &ebx, &ecx, &edx);
	guest_has_rdtscp = edx & (1u << 27);
	kvmf_cpuid(7, 0, &eax, &ebx, &ecx, &edx);
	guest_has_rdpid = ecx & (1u << 22);
	if (!guest_has_rdtscp && !guest_has_rdpid)
		kvmf_skip("neither RDTSCP nor RDPID: no MSR_TSC_AUX");

	impl_is_stock = !strcmp(getenv("KVMF_IMPL") ?: "", "stock");
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_tsc_aux, NULL);
	/* What KVM supports (so RDTSCP/RDPID show when the host has them). */
	kvmf_vcpu_set_supported_cpuid(vm.kvm, vcpu.fd);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);
	KVMF_ASSERT_EQ(host_get_msr(MSR_TSC_AUX), 0x1234);
}

/* ---- MTRRs: kept with their validity rules ---- */

#define MSR_MTRR_CAP		0xfe
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_MTRR_FIX64K		0x250
#define MSR_MTRR_FIX4K_F8000	0x26f
#define MSR_MTRR_PHYS_BASE0	0x200
#define MSR_MTRR_PHYS_MASK0	0x201
#define MSR_MTRR_PHYS_MASK7	0x20f

/* A KVM_SET_MSRS of one MSR: 1 if it took the value, 0 if it refused it. */
static int host_try_set_msr(uint32_t index, uint64_t value)
{
	return kvmf_vcpu_try_set_msr(vcpu.fd, index, value);
}

static void guest_mtrrs(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[13] = kvmf_guest_msr_gp;
	/* 8 variable ranges, fixed ranges and write-combining. */
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MTRR_CAP), 0x508);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_CAP, 0x508), 1);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_DEF_TYPE, 0xc06), 0);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MTRR_DEF_TYPE), 0xc06);
	/* Type 2 is reserved; so is bit 9. */
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_DEF_TYPE, 0xc02), 1);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_DEF_TYPE, 0xe06), 1);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MTRR_DEF_TYPE), 0xc06);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_FIX64K, 0x0606060606060606ull), 0);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_FIX64K, 0x0606060606030606ull), 1);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MTRR_FIX64K), 0x0606060606060606ull);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_PHYS_BASE0, 0x80000006), 0);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_PHYS_BASE0, 0x80000106), 1);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_PHYS_MASK0, 0xff80000800ull), 0);
	GUEST_ASSERT_EQ(kvmf_wrmsr_faults(MSR_MTRR_PHYS_MASK0, 0xff80000801ull), 1);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MTRR_PHYS_MASK0), 0xff80000800ull);
	GUEST_SYNC(1);
}

static void test_mtrrs(void)
{
	struct kvmf_ucall uc;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_mtrrs, NULL);
	/* What KVM supports (so RDTSCP/RDPID show when the host has them). */
	kvmf_vcpu_set_supported_cpuid(vm.kvm, vcpu.fd);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MTRR_DEF_TYPE), 0xc06);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MTRR_PHYS_BASE0), 0x80000006);
	/* Userspace: the same rules; MTRRcap stays read-only. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MTRR_CAP, 0x508), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MTRR_DEF_TYPE, 0x7), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MTRR_FIX4K_F8000, 0x0505050505050505ull), 1);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MTRR_FIX4K_F8000, 0xff), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MTRR_FIX4K_F8000), 0x0505050505050505ull);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MTRR_PHYS_MASK7, 0), 1);
	/* Past the last variable range there is no MTRR. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MTRR_PHYS_MASK7 + 1, 0), 0);
}

static const struct kvmf_test tests[] = {
	{ "index_list", test_index_list },
	{ "host_and_guest_access", test_host_and_guest_access },
	{ "bad_msrs_ioctls", test_bad_msrs_ioctls },
	{ "tsc_aux", test_tsc_aux },
	{ "mtrrs", test_mtrrs },
};

int main(void)
{
	return kvmf_test_main("msrs", tests, ARRAY_SIZE(tests));
}
