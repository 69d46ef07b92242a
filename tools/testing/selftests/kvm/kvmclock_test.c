// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock, KVM's paravirtual clock: the CPUID bit that offers it, the
 * per-vCPU time structure a guest enables with MSR_KVM_SYSTEM_TIME_NEW, the
 * wall clock of MSR_KVM_WALL_CLOCK_NEW, and the VM's clock as the host sees
 * and sets it with KVM_GET_CLOCK and KVM_SET_CLOCK, with their bad inputs.
 * The guest's readings are checked against KVM_GET_CLOCK taken around them.
 */
#include <sys/ioctl.h>
#include <time.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define MSR_KVM_WALL_CLOCK		0x11
#define MSR_KVM_SYSTEM_TIME		0x12
#define MSR_KVM_WALL_CLOCK_NEW		0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW		0x4b564d01

#define KVM_CPUID_FEATURES		0x40000001
#define KVM_FEATURE_CLOCKSOURCE		(1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2	(1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE	(1u << 24)

#define NSEC_PER_SEC			1000000000ull
#define NSEC_PER_MSEC			1000000ull

/* The time structure KVM keeps up to date in guest memory (the pvclock ABI). */
struct pvclock_time {
	uint32_t version;	/* odd while KVM rewrites the structure */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;	/* ns of kvmclock at tsc_timestamp */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

/* The wall-clock time at kvmclock 0. */
struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_time) == 32, "pvclock time layout");
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "pvclock wall clock layout");

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;

/* ---- Guest side ---- */

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | (uint64_t)hi << 32;
}

/* TSC ticks to ns: shift first (right when negative), then a 32.32 fixed-point multiply. */
static inline uint64_t scale_tsc_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* kvmclock now, read consistently: retry while KVM is rewriting the structure. */
static uint64_t guest_read_kvmclock(volatile struct pvclock_time *t)
{
	uint64_t tsc_timestamp, system_time, now;
	uint32_t version, mul;
	int8_t shift;

	do {
		version = t->version;
		asm volatile("" : : : "memory");
		tsc_timestamp = t->tsc_timestamp;
		system_time = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		now = guest_rdtsc();
		asm volatile("" : : : "memory");
	} while ((version & 1) || t->version != version);

	return system_time + scale_tsc_delta(now - tsc_timestamp, mul, shift);
}

/* arg: the GPA of a page for the time structure. */
static void guest_system_time(void *arg)
{
	volatile struct pvclock_time *t = arg;
	uint64_t first, second;

	kvmf_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)arg | 1);
	GUEST_ASSERT(t->tsc_to_system_mul != 0);
	first = guest_read_kvmclock(t);
	GUEST_SYNC(first);
	second = guest_read_kvmclock(t);
	GUEST_ASSERT(second >= first);
	GUEST_SYNC(second);
}

/* arg: the GPA of a page for the wall clock. */
static void guest_wall_clock(void *arg)
{
	kvmf_wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)arg);
	GUEST_SYNC(0);
}

/* ---- Host side ---- */

static void set_supported_cpuid(void)
{
	kvmf_vcpu_set_supported_cpuid(vm.kvm, vcpu.fd);
}

/*
 * A VM with one vCPU, KVM's supported CPUID, and a zeroed page for kvmclock
 * whose GPA the guest's fn gets as its argument; returns that GPA.
 */
static uint64_t start_guest(void (*fn)(void *arg))
{
	uint64_t gpa;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	gpa = kvmf_guest_alloc_pages(&vm, 1);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, fn, (void *)gpa);
	set_supported_cpuid();
	return gpa;
}

static struct kvm_clock_data get_clock(void)
{
	struct kvm_clock_data data;

	memset(&data, 0, sizeof(data));
	KVMF_CHECK(ioctl(vm.fd, KVM_GET_CLOCK, &data));
	return data;
}

static uint64_t get_msr(uint32_t index)
{
	return kvmf_vcpu_get_msr(vcpu.fd, index);
}

static int set_msr(uint32_t index, uint64_t value)
{
	return kvmf_vcpu_try_set_msr(vcpu.fd, index, value);
}

/* Runs to the next GUEST_SYNC and checks its value lies between two KVM_GET_CLOCKs. */
static uint64_t run_and_bracket(void)
{
	uint64_t before, after, guest;
	struct kvmf_ucall uc;

	before = get_clock().clock;
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	after = get_clock().clock;
	guest = uc.args[0];
	KVMF_ASSERT(before <= guest && guest <= after + NSEC_PER_MSEC,
		    "guest kvmclock %llu ns outside KVM_GET_CLOCK [%llu, %llu]",
		    (unsigned long long)guest, (unsigned long long)before,
		    (unsigned long long)after);
	return guest;
}

static void test_cpuid(void)
{
	const struct kvm_cpuid_entry2 *e =
		kvmf_cpuid_entry(kvmf_supported_cpuid(kvmf_open_dev()), KVM_CPUID_FEATURES, 0);
	uint32_t eax;

	KVMF_ASSERT(e, "no leaf 0x40000001 in KVM_GET_SUPPORTED_CPUID");
	eax = e->eax;
	printf("# 0x40000001 eax %#x: CLOCKSOURCE %d CLOCKSOURCE2 %d CLOCKSOURCE_STABLE %d\n",
	       eax, !!(eax & KVM_FEATURE_CLOCKSOURCE), !!(eax & KVM_FEATURE_CLOCKSOURCE2),
	       !!(eax & KVM_FEATURE_CLOCKSOURCE_STABLE));
	KVMF_ASSERT(eax & KVM_FEATURE_CLOCKSOURCE2, "no KVM_FEATURE_CLOCKSOURCE2");
	/* Stock 6.1 offers the old MSRs and the stable bit as well. */
	KVMF_ASSERT(eax & KVM_FEATURE_CLOCKSOURCE, "no KVM_FEATURE_CLOCKSOURCE");
	KVMF_ASSERT(eax & KVM_FEATURE_CLOCKSOURCE_STABLE, "no KVM_FEATURE_CLOCKSOURCE_STABLE");
}

static void test_system_time(void)
{
	uint64_t gpa, first, second;
	volatile struct pvclock_time *t;

	gpa = start_guest(guest_system_time);

	first = run_and_bracket();
	KVMF_ASSERT_EQ(get_msr(MSR_KVM_SYSTEM_TIME_NEW), gpa | 1);
	t = (volatile struct pvclock_time *)(vm.ram + gpa);
	KVMF_ASSERT_EQ(t->version & 1, 0);
	KVMF_ASSERT(t->tsc_to_system_mul != 0, "no TSC multiplier");
	printf("# pvclock: version %u mul %#x shift %d flags %#x\n", t->version,
	       t->tsc_to_system_mul, t->tsc_shift, t->flags);

	/* Host-dependent (a master clock needs a TSC clocksource): recorded only. */
	printf("# KVM_GET_CLOCK flags after KVM_RUN %#x\n", get_clock().flags);

	second = run_and_bracket();
	KVMF_ASSERT(second >= first, "kvmclock went back: %llu then %llu",
		    (unsigned long long)first, (unsigned long long)second);
}

static void test_wall_clock(void)
{
	volatile struct pvclock_wall_clock *w;
	struct kvmf_ucall uc;
	struct timespec now;
	uint64_t gpa, clock, guest_wall, host_wall, diff;

	gpa = start_guest(guest_wall_clock);

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(get_msr(MSR_KVM_WALL_CLOCK_NEW), gpa);
	w = (volatile struct pvclock_wall_clock *)(vm.ram + gpa);
	KVMF_ASSERT_EQ(w->version & 1, 0);
	KVMF_ASSERT(w->version != 0, "wall clock never written");
	KVMF_ASSERT(w->nsec < NSEC_PER_SEC, "nsec %u", w->nsec);

	clock = get_clock().clock;
	clock_gettime(CLOCK_REALTIME, &now);
	guest_wall = w->sec * NSEC_PER_SEC + w->nsec + clock;
	host_wall = now.tv_sec * NSEC_PER_SEC + now.tv_nsec;
	diff = guest_wall > host_wall ? guest_wall - host_wall : host_wall - guest_wall;
	KVMF_ASSERT(diff <= 2 * NSEC_PER_SEC,
		    "wall clock %u.%09u + kvmclock %llu ns is %llu ns from CLOCK_REALTIME",
		    w->sec, w->nsec, (unsigned long long)clock, (unsigned long long)diff);
}

static void test_set_clock(void)
{
	const uint64_t target = 10 * NSEC_PER_SEC;
	struct kvm_clock_data data;
	uint64_t guest, clock;

	start_guest(guest_system_time);

	run_and_bracket();
	memset(&data, 0, sizeof(data));
	data.clock = target;
	KVMF_CHECK(ioctl(vm.fd, KVM_SET_CLOCK, &data));

	guest = run_and_bracket();
	KVMF_ASSERT(guest >= target && guest <= target + 2 * NSEC_PER_SEC,
		    "guest kvmclock %llu ns after KVM_SET_CLOCK to %llu",
		    (unsigned long long)guest, (unsigned long long)target);
	clock = get_clock().clock;
	KVMF_ASSERT(clock >= guest && clock <= target + 2 * NSEC_PER_SEC,
		    "KVM_GET_CLOCK %llu ns, guest read %llu", (unsigned long long)clock,
		    (unsigned long long)guest);
}

static void test_bad_input(void)
{
	const uint32_t known = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	struct kvm_clock_data data;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);

	data = get_clock();
	printf("# KVM_GET_CLOCK flags before any KVM_RUN %#x\n", data.flags);
	KVMF_ASSERT((data.flags & ~known) == 0, "unknown flags %#x", data.flags);
	if (data.flags & KVM_CLOCK_REALTIME)
		KVMF_ASSERT(data.realtime != 0, "KVM_CLOCK_REALTIME without a time");

	memset(&data, 0, sizeof(data));
	data.flags = 1u << 31;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_SET_CLOCK, &data), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_SET_CLOCK, NULL), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_CLOCK, NULL), EFAULT);

	/* QEMU writes the old MSRs with 0 when it resets a vCPU: disabled. */
	KVMF_ASSERT_EQ(set_msr(MSR_KVM_WALL_CLOCK, 0), 1);
	KVMF_ASSERT_EQ(set_msr(MSR_KVM_SYSTEM_TIME, 0), 1);
	KVMF_ASSERT_EQ(get_msr(MSR_KVM_SYSTEM_TIME), 0);
}

static void test_index_list(void)
{
	static const uint32_t wanted[] = {
		MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME,
		MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW,
	};
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int kvm = kvmf_open_dev();
	unsigned int i, j;

	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe), E2BIG);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	KVMF_ASSERT(list, "out of memory");
	list->nmsrs = probe.nmsrs;
	KVMF_CHECK(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list));
	for (i = 0; i < ARRAY_SIZE(wanted); i++) {
		for (j = 0; j < list->nmsrs && list->indices[j] != wanted[i]; j++)
			;
		printf("# MSR %#x %slisted\n", wanted[i], j < list->nmsrs ? "" : "not ");
		/* A VMM saves and restores these from the list: stock lists all four. */
		KVMF_ASSERT(j < list->nmsrs, "MSR %#x not in KVM_GET_MSR_INDEX_LIST", wanted[i]);
	}
	free(list);
}

static const struct kvmf_test tests[] = {
	{ "cpuid", test_cpuid },
	{ "system_time", test_system_time },
	{ "wall_clock", test_wall_clock },
	{ "set_clock", test_set_clock },
	{ "bad_input", test_bad_input },
	{ "index_list", test_index_list },
};

int main(void)
{
	return kvmf_test_main("kvmclock", tests, ARRAY_SIZE(tests));
}
