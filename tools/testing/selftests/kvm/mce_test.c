// SPDX-License-Identifier: GPL-2.0
/*
 * Machine checks: what /dev/kvm says it supports (KVM_CAP_MCE,
 * KVM_X86_GET_MCE_CAP_SUPPORTED), giving a vCPU its banks
 * (KVM_X86_SETUP_MCE), the MCG_* and MCi_* MSRs from the host and from the
 * guest with their validity rules, and injecting a machine check
 * (KVM_X86_SET_MCE): the guest's #MC handler sees the bank, and a second
 * uncorrected error while MCG_STATUS.MCIP is set shuts the guest down.
 * The expectations are stock kvm_amd's (Debian's 6.1, -cpu max).
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define MSR_IA32_MCG_CAP	0x179
#define MSR_IA32_MCG_STATUS	0x17a
#define MSR_IA32_MCG_CTL	0x17b
#define MSR_MC_CTL(bank)	(0x400 + 4 * (bank))
#define MSR_MC_STATUS(bank)	(0x401 + 4 * (bank))
#define MSR_MC_ADDR(bank)	(0x402 + 4 * (bank))
#define MSR_MC_MISC(bank)	(0x403 + 4 * (bank))
#define MSR_K7_HWCR		0xc0010015
#define HWCR_MCSTATUSWREN	(1ull << 18)

/* MCG_CAP: bank count in bits 7:0, then capability bits. */
#define MCG_CTL_P		(1ull << 8)
#define MCG_EXT_P		(1ull << 9)
#define MCG_CMCI_P		(1ull << 10)
#define MCG_SER_P		(1ull << 24)
/* MCG_STATUS */
#define MCG_STATUS_RIPV		(1ull << 0)
#define MCG_STATUS_MCIP		(1ull << 2)
/* MCi_STATUS */
#define MCI_STATUS_VAL		(1ull << 63)
#define MCI_STATUS_OVER		(1ull << 62)
#define MCI_STATUS_UC		(1ull << 61)
#define MCI_STATUS_EN		(1ull << 60)

#define CR4_MCE			(1ull << 6)
#define MC_VECTOR		18
#define GP_VECTOR		13

/* An uncorrected error with MCA error code 0x0135 and model-specific bits. */
#define UC_STATUS	(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | 0x00ab00000135ull)
#define UC_ADDR		0x12345000ull
#define UC_MISC		0x8c

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;

/* ---- Host helpers ---- */

static int host_try_set_msr(uint32_t index, uint64_t value)
{
	return kvmf_vcpu_try_set_msr(vcpu.fd, index, value);
}

static uint64_t host_get_msr(uint32_t index)
{
	return kvmf_vcpu_get_msr(vcpu.fd, index);
}

/* The guest's CPUID: all KVM supports (MCE and MCA among it). */
static void set_supported_cpuid(void)
{
	kvmf_vcpu_set_supported_cpuid(vm.kvm, vcpu.fd);
}

static int max_banks(void)
{
	int kvm = kvmf_open_dev();
	int banks = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MCE);

	if (banks <= 0)
		kvmf_skip("no KVM_CAP_MCE");
	return banks;
}

static uint64_t supported_mcg_cap(void)
{
	uint64_t cap = 0;

	KVMF_CHECK(ioctl(kvmf_open_dev(), KVM_X86_GET_MCE_CAP_SUPPORTED, &cap));
	return cap;
}

static int setup_mce(uint64_t mcg_cap)
{
	return ioctl(vcpu.fd, KVM_X86_SETUP_MCE, &mcg_cap);
}

/* A VM of this program with one vCPU running @fn, not yet run. */
static void create_guest(void (*fn)(void *arg))
{
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, fn, NULL);
	set_supported_cpuid();
}

static int inject(uint8_t bank, uint64_t status, uint64_t mcg_status)
{
	struct kvm_x86_mce mce = {
		.status = status,
		.addr = UC_ADDR,
		.misc = UC_MISC,
		.mcg_status = mcg_status,
		.bank = bank,
	};

	return ioctl(vcpu.fd, KVM_X86_SET_MCE, &mce);
}

/* ---- Guest helpers ---- */

static void guest_enable_mce(void)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_MCE));
}

/* ---- Cases ---- */

static void test_caps(void)
{
	int kvm = kvmf_open_dev();
	int banks = max_banks();
	uint64_t cap = supported_mcg_cap();

	printf("# KVM_CAP_MCE: %d banks, KVM_X86_GET_MCE_CAP_SUPPORTED: %#llx\n", banks,
	       (unsigned long long)cap);
	/* 32 banks on 6.1: the largest a vCPU may have. */
	KVMF_ASSERT_EQ(banks, 32);
	KVMF_ASSERT(cap & MCG_CTL_P, "no MCG_CTL_P");
	KVMF_ASSERT(cap & MCG_SER_P, "no MCG_SER_P");
	/* On AMD hosts no more than these two; the bank count field is 0. */
	KVMF_ASSERT_EQ(cap, MCG_CTL_P | MCG_SER_P);
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_X86_GET_MCE_CAP_SUPPORTED, (void *)8), EFAULT);
}

static void test_setup(void)
{
	uint64_t cap = supported_mcg_cap() | 10;
	int banks = max_banks();

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);

	KVMF_ASSERT_ERRNO(setup_mce(supported_mcg_cap() | 0), EINVAL);
	KVMF_ASSERT_ERRNO(setup_mce(supported_mcg_cap() | (banks + 1)), EINVAL);
	/* Bits outside the supported ones and the bank and extended-count fields. */
	KVMF_ASSERT_ERRNO(setup_mce(cap | MCG_EXT_P), EINVAL);
	KVMF_ASSERT_ERRNO(setup_mce(cap | MCG_CMCI_P), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_X86_SETUP_MCE, NULL), EFAULT);
	/*
	 * The most banks KVM_CAP_MCE allows is accepted.  kvm_amd keeps only
	 * bits 8:0 of MCG_CAP (the rest is reserved on AMD): MCG_SER_P, though
	 * accepted, reads back as 0.
	 */
	KVMF_ASSERT_EQ(setup_mce(supported_mcg_cap() | banks), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_CAP), MCG_CTL_P | banks);

	KVMF_ASSERT_EQ(setup_mce(cap), 0);
	printf("# MCG_CAP after KVM_X86_SETUP_MCE(%#llx): %#llx\n", (unsigned long long)cap,
	       (unsigned long long)host_get_msr(MSR_IA32_MCG_CAP));
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_CAP), MCG_CTL_P | 10);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_CTL), ~0ull);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_CTL(0)), ~0ull);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_CTL(9)), ~0ull);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(9)), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_STATUS), 0);
}

static void test_msrs_without_setup(void)
{
	uint64_t cap;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	/* What QEMU does at reset when it has not set the vCPU up. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_STATUS, 0), 1);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, 0), 1);
	cap = host_get_msr(MSR_IA32_MCG_CAP);
	printf("# MCG_CAP before KVM_X86_SETUP_MCE: %#llx\n", (unsigned long long)cap);
	/* The most banks, no MCG_CTL_P: so MCG_CTL can only be 0. */
	KVMF_ASSERT_EQ(cap, max_banks());
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, ~0ull), 0);
}

static void guest_msr_rules(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[GP_VECTOR] = kvmf_guest_msr_gp;

	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_IA32_MCG_CAP), MCG_CTL_P | 2);
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_IA32_MCG_CAP, MCG_CTL_P | 2));
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MC_STATUS(1)), 0x1234);
	/* Only 0 is written to MCi_STATUS unless HWCR.McStatusWrEn says otherwise. */
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_MC_STATUS(1), 0x5678));
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_MC_STATUS(1), 0));
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MC_STATUS(1)), 0);
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_K7_HWCR, kvmf_rdmsr(MSR_K7_HWCR) | HWCR_MCSTATUSWREN));
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_MC_STATUS(1), 0x5678));
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_MC_STATUS(1)), 0x5678);
	/* Bank 2 does not exist. */
	GUEST_ASSERT(kvmf_rdmsr_faults(MSR_MC_CTL(2)));
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_MC_CTL(2), 0));
	/* The guest has the host's rules for MCG_CTL and MCi_CTL. */
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_IA32_MCG_CTL, 1));
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_IA32_MCG_CTL, ~0ull));
	GUEST_ASSERT(kvmf_wrmsr_faults(MSR_MC_CTL(0), 0x5));
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_MC_CTL(0), ~0ull & ~(1ull << 10)));
	GUEST_ASSERT(!kvmf_wrmsr_faults(MSR_IA32_MCG_STATUS, MCG_STATUS_RIPV));
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_IA32_MCG_STATUS), MCG_STATUS_RIPV);
	GUEST_ASSERT_EQ(kvmf_guest_gp_count, 6);
}

static void test_msr_rules(void)
{
	uint64_t cap = supported_mcg_cap() | 2;

	create_guest(guest_msr_rules);
	KVMF_ASSERT_EQ(setup_mce(cap), 0);

	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_STATUS(1), 0x1234), 1);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(1)), 0x1234);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_ADDR(1), UC_ADDR), 1);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_MISC(1), UC_MISC), 1);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_ADDR(1)), UC_ADDR);
	/* MCi_CTL: 0, or all ones apart from bits 10 and 0. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(0), 0), 1);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_CTL(0)), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(0), ~0ull & ~1ull), 1);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_CTL(0)), ~0ull & ~1ull);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(0), ~0ull & ~(1ull << 10)), 1);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(0), 0x5), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(0), ~0ull & ~2ull), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(0), ~0ull), 1);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_CTL(0)), ~0ull);
	/* MCG_CTL: 0 or all ones. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, 0), 1);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, 0x1), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, ~0ull), 1);
	/* Past the last bank. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(2), ~0ull), 0);
	/* MCG_CAP is KVM_X86_SETUP_MCE's alone: KVM_SET_MSRS refuses even its own value. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CAP, MCG_CTL_P | 2), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CAP, MCG_CTL_P | 3), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CAP, cap), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_CAP), MCG_CTL_P | 2);

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &(struct kvmf_ucall){}), UCALL_DONE);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(1)), 0x5678);
}

/* What the #MC handler saw: count, MCG_STATUS, MC1_STATUS, MC1_ADDR, MC1_MISC. */
static volatile uint64_t mc_count, mc_mcg_status, mc_status, mc_addr, mc_misc;
/* Whether the handler clears MCG_STATUS.MCIP before it returns. */
static volatile bool mc_clear_mcip;

static void record_mc(struct kvmf_exc_frame *frame)
{
	(void)frame;
	mc_count++;
	mc_mcg_status = kvmf_rdmsr(MSR_IA32_MCG_STATUS);
	mc_status = kvmf_rdmsr(MSR_MC_STATUS(1));
	mc_addr = kvmf_rdmsr(MSR_MC_ADDR(1));
	mc_misc = kvmf_rdmsr(MSR_MC_MISC(1));
	if (mc_clear_mcip)
		kvmf_wrmsr(MSR_IA32_MCG_STATUS, 0);
}

/* SYNC(1): ready for an #MC; then reports each one until the host stops. */
static void guest_mc(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[MC_VECTOR] = record_mc;
	guest_enable_mce();
	GUEST_SYNC(1);
	for (;;) {
		kvmf_guest_ucall(UCALL_SYNC, mc_count, mc_mcg_status, mc_status);
		kvmf_guest_ucall(UCALL_SYNC, mc_addr, mc_misc, 0);
	}
}

static void expect_mc_seen(uint64_t count, uint64_t mcg_status, uint64_t status)
{
	KVMF_GUEST_EXPECT_SYNC(&vm, &vcpu, count, mcg_status, status);
	KVMF_GUEST_EXPECT_SYNC(&vm, &vcpu, count ? UC_ADDR : 0, count ? UC_MISC : 0, 0);
}

static void start_mc_guest(bool clear_mcip)
{
	struct kvmf_ucall uc;

	mc_clear_mcip = clear_mcip;
	create_guest(guest_mc);
	KVMF_ASSERT_EQ(setup_mce(supported_mcg_cap() | 2), 0);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], 1);
}

static void test_inject(void)
{
	uint64_t mcg = MCG_STATUS_MCIP | MCG_STATUS_RIPV;

	start_mc_guest(true);
	KVMF_ASSERT_ERRNO(inject(2, UC_STATUS, mcg), EINVAL);
	/* Not valid: nothing to report. */
	KVMF_ASSERT_ERRNO(inject(1, UC_STATUS & ~MCI_STATUS_VAL, mcg), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_X86_SET_MCE, NULL), EFAULT);

	KVMF_ASSERT_EQ(inject(1, UC_STATUS, mcg), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_STATUS), mcg);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(1)), UC_STATUS);
	expect_mc_seen(1, mcg, UC_STATUS);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_STATUS), 0);

	/* MC1_STATUS still holds the first error: the second overflows it. */
	KVMF_ASSERT_EQ(inject(1, UC_STATUS, mcg), 0);
	expect_mc_seen(2, mcg, UC_STATUS | MCI_STATUS_OVER);
}

static void test_inject_corrected(void)
{
	uint64_t status = MCI_STATUS_VAL | MCI_STATUS_EN | 0x0135;

	start_mc_guest(true);
	/* Logged in the bank; no #MC. */
	KVMF_ASSERT_EQ(inject(1, status, 0), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(1)), status);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_ADDR(1)), UC_ADDR);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_STATUS), 0);
	expect_mc_seen(0, 0, 0);
}

static void test_inject_disabled(void)
{
	uint64_t mcg = MCG_STATUS_MCIP | MCG_STATUS_RIPV;

	start_mc_guest(true);
	/* MCG_CTL and MC1_CTL disabled: an uncorrected error is dropped. */
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, 0), 1);
	KVMF_ASSERT_EQ(inject(1, UC_STATUS, mcg), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(1)), 0);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_IA32_MCG_CTL, ~0ull), 1);
	KVMF_ASSERT_EQ(host_try_set_msr(MSR_MC_CTL(1), 0), 1);
	KVMF_ASSERT_EQ(inject(1, UC_STATUS, mcg), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_MC_STATUS(1)), 0);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_STATUS), 0);
	expect_mc_seen(0, 0, 0);
}

static void test_inject_while_mcip(void)
{
	uint64_t mcg = MCG_STATUS_MCIP | MCG_STATUS_RIPV;

	start_mc_guest(false);
	KVMF_ASSERT_EQ(inject(1, UC_STATUS, mcg), 0);
	expect_mc_seen(1, mcg, UC_STATUS);
	KVMF_ASSERT_EQ(host_get_msr(MSR_IA32_MCG_STATUS), mcg);
	/* MCIP still set: a second machine check is a shutdown. */
	KVMF_ASSERT_EQ(inject(1, UC_STATUS, mcg), 0);
	kvmf_guest_run_expect(&vcpu, KVM_EXIT_SHUTDOWN);
}

static void guest_without_cr4_mce(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[MC_VECTOR] = record_mc;
	GUEST_SYNC(1);
	GUEST_FAIL("ran on after a machine check with CR4.MCE clear");
}

static void test_inject_without_cr4_mce(void)
{
	struct kvmf_ucall uc;

	create_guest(guest_without_cr4_mce);
	KVMF_ASSERT_EQ(setup_mce(supported_mcg_cap() | 2), 0);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(inject(1, UC_STATUS, MCG_STATUS_MCIP | MCG_STATUS_RIPV), 0);
	kvmf_guest_run_expect(&vcpu, KVM_EXIT_SHUTDOWN);
}

static const struct kvmf_test tests[] = {
	{ "caps", test_caps },
	{ "setup", test_setup },
	{ "msrs_without_setup", test_msrs_without_setup },
	{ "msr_rules", test_msr_rules },
	{ "inject", test_inject },
	{ "inject_corrected", test_inject_corrected },
	{ "inject_disabled", test_inject_disabled },
	{ "inject_while_mcip", test_inject_while_mcip },
	{ "inject_without_cr4_mce", test_inject_without_cr4_mce },
};

int main(void)
{
	return kvmf_test_main("mce", tests, ARRAY_SIZE(tests));
}
