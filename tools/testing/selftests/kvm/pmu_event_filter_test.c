// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_PMU_EVENT_FILTER: a guest counting retired instructions sees its
 * count when the event is allowed and nothing when it is denied.  The
 * guest programs the counters of the host's vendor: the AMD core counters
 * (PERF_CTL0/PERF_CTR0) on AMD and Hygon, the architectural ones
 * (IA32_PERFEVTSEL0/IA32_PMC0) on Intel.  Skips when no vPMU is offered:
 * KVM_CAP_PMU_EVENT_FILTER not reported, or a guest whose counter cannot
 * be programmed or does not count.
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define AMD_PERF_CTL0		0xc0010000
#define AMD_PERF_CTR0		0xc0010004
#define INTEL_PERFEVTSEL0	0x186
#define INTEL_PMC0		0xc1
#define EVTSEL_USR		(1ull << 16)
#define EVTSEL_OS		(1ull << 17)
#define EVTSEL_EN		(1ull << 22)
/* Retired instructions: event 0xc0 on AMD, 0xc0 (umask 0) on Intel. */
#define EVENT_INSN_RETIRED	0xc0
#define LOOPS			10000
/* KVM's limit on a filter's events (kernel-internal, not in the uapi). */
#define FILTER_MAX_EVENTS	300

static bool host_is_amd_compatible;
static volatile uint64_t gp_count;

static void count_gp(struct kvmf_exc_frame *frame)
{
	gp_count++;
	frame->rip += 2;	/* RDMSR/WRMSR */
}

/* Counts retired instructions over a loop; reports ~0 if the PMU faults. */
static void guest_count_instructions(void *arg)
{
	uint32_t ctl = host_is_amd_compatible ? AMD_PERF_CTL0 : INTEL_PERFEVTSEL0;
	uint32_t ctr = host_is_amd_compatible ? AMD_PERF_CTR0 : INTEL_PMC0;
	uint64_t i;

	(void)arg;
	kvmf_guest_exc_handlers[13] = count_gp;
	for (;;) {
		kvmf_wrmsr(ctl, 0);
		kvmf_wrmsr(ctr, 0);
		kvmf_wrmsr(ctl, EVENT_INSN_RETIRED | EVTSEL_USR | EVTSEL_OS | EVTSEL_EN);
		for (i = 0; i < LOOPS; i++)
			asm volatile("nop");
		kvmf_wrmsr(ctl, 0);
		GUEST_SYNC(gp_count ? ~0ull : kvmf_rdmsr(ctr));
	}
}

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;

static uint64_t guest_count(void)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	return uc.args[0];
}

static int set_filter(uint32_t action, uint32_t nevents, uint32_t flags)
{
	struct {
		struct kvm_pmu_event_filter f;
		uint64_t events[1];
	} filter = {
		.f = { .action = action, .nevents = nevents, .flags = flags },
		.events = { EVENT_INSN_RETIRED },
	};

	return ioctl(vm.fd, KVM_SET_PMU_EVENT_FILTER, &filter);
}

static void test_allow_and_deny(void)
{
	uint64_t count;
	int kvm = kvmf_open_dev();

	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_PMU_EVENT_FILTER) <= 0)
		kvmf_skip("KVM_CAP_PMU_EVENT_FILTER is not reported");

	host_is_amd_compatible = kvmf_host_cpu_is_amd_compatible();
	printf("# using the %s counters\n", host_is_amd_compatible ? "AMD core" : "Intel architectural");
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_count_instructions, NULL);

	/* Bad input is refused whether or not the counters count. */
	KVMF_ASSERT_ERRNO(set_filter(2, 1, 0), EINVAL);
	KVMF_ASSERT_ERRNO(set_filter(KVM_PMU_EVENT_ALLOW, 1, 0x80), EINVAL);
	KVMF_ASSERT_ERRNO(set_filter(KVM_PMU_EVENT_ALLOW, FILTER_MAX_EVENTS + 1, 0),
			  E2BIG);

	count = guest_count();
	if (count == ~0ull || count == 0)
		kvmf_skip("no vPMU here: the guest's counter %s",
			  count ? "cannot be programmed" : "does not count");

	KVMF_CHECK(set_filter(KVM_PMU_EVENT_DENY, 1, 0));
	KVMF_ASSERT_EQ(guest_count(), 0);
	KVMF_CHECK(set_filter(KVM_PMU_EVENT_ALLOW, 1, 0));
	count = guest_count();
	KVMF_ASSERT(count >= LOOPS, "allowed, the guest counted only %lu", count);
}

static const struct kvmf_test tests[] = {
	{ "allow_and_deny", test_allow_and_deny },
};

int main(void)
{
	return kvmf_test_main("pmu_event_filter", tests, ARRAY_SIZE(tests));
}
