// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's TSC rate: KVM_CAP_GET_TSC_KHZ, KVM_CAP_TSC_CONTROL and
 * KVM_CAP_VM_TSC_CONTROL, KVM_GET/SET_TSC_KHZ on a vCPU and on a VM.
 * Without TSC scaling in the CPU (QEMU's SVM has none) a rate can only be
 * the host's, within the tolerance KVM allows (250 ppm); the guest's TSC
 * keeps ticking at the host's rate.  The expectations are stock kvm_amd's
 * (Debian's 6.1 under QEMU's -cpu max), except for two refusals where
 * kvmfork deliberately differs (see tsc.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <x86intrin.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;

static bool is_kvmfork(void)
{
	return !strcmp(kvmf_vm_owner_module(), "kvmfork");
}

/* CPUID Fn8000_000A_EDX[TscRateMsr]: the CPU can scale a guest's TSC. */
static bool host_has_tsc_scaling(void)
{
	uint32_t eax, ebx, ecx, edx;

	kvmf_cpuid(0x80000000, 0, &eax, &ebx, &ecx, &edx);
	if (eax < 0x8000000a)
		return false;
	kvmf_cpuid(0x8000000a, 0, &eax, &ebx, &ecx, &edx);
	return edx & (1u << 4);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The host's TSC rate in kHz, measured against CLOCK_MONOTONIC over 200 ms. */
static uint64_t measured_tsc_khz(void)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc(), t1, c1;
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };

	nanosleep(&pause, NULL);
	c1 = __rdtsc();
	t1 = now_ns();
	return (c1 - c0) * 1000000ull / (t1 - t0);
}

static void create_vcpu(void)
{
	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
}

static void test_caps(void)
{
	int kvm = kvmf_open_dev();
	int control = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL);

	printf("# GET_TSC_KHZ %d, TSC_CONTROL %d, VM_TSC_CONTROL %d, host TSC scaling %d\n",
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ), control,
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TSC_CONTROL), host_has_tsc_scaling());
	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ), 1);
	if (!host_has_tsc_scaling()) {
		KVMF_ASSERT_EQ(control, 0);
		KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TSC_CONTROL), 0);
	}
}

/* A new vCPU's rate is the host's. */
static void test_vcpu_get(void)
{
	long khz, measured = measured_tsc_khz();

	create_vcpu();
	khz = ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0);
	printf("# KVM_GET_TSC_KHZ %ld, measured %ld kHz\n", khz, measured);
	KVMF_ASSERT(khz > 0, "KVM_GET_TSC_KHZ returned %ld", khz);
	KVMF_ASSERT(labs(khz - measured) < measured / 50, "%ld kHz, measured %ld", khz, measured);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_GET_TSC_KHZ, 0), khz);
}

static void test_vcpu_set(void)
{
	long host;
	int r;

	create_vcpu();
	host = ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0);
	KVMF_ASSERT(host > 0, "KVM_GET_TSC_KHZ returned %ld", host);

	/* Within 250 ppm of the host's: taken as it is, no scaling needed. */
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_TSC_KHZ, host + host / 10000), 0);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), host + host / 10000);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_TSC_KHZ, host - host / 10000), 0);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), host - host / 10000);
	/* 0 is the host's rate. */
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_TSC_KHZ, 0), 0);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), host);

	if (host_has_tsc_scaling())
		return;
	/*
	 * Slower than the host without scaling: refused.  kvmfork changes
	 * nothing; KVM 6.1 has already recorded the rate when it refuses.
	 */
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_TSC_KHZ, host / 2), EINVAL);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), is_kvmfork() ? host : host / 2);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_TSC_KHZ, 0), 0);
	/*
	 * Faster: KVM accepts it and pushes the guest's TSC forward at each
	 * entry ("catch-up"), which only approximates the rate; kvmfork
	 * refuses it rather than promise a rate it does not keep.
	 */
	r = ioctl(vcpu.fd, KVM_SET_TSC_KHZ, host * 2);
	if (is_kvmfork()) {
		KVMF_ASSERT_EQ(r, -1);
		KVMF_ASSERT_EQ(errno, EINVAL);
		KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), host);
	} else {
		KVMF_ASSERT_EQ(r, 0);
		KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), host * 2);
	}
}

/* The VM's rate is what vCPUs created after it start with. */
static void test_vm_set(void)
{
	long host;
	int r;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	host = ioctl(vm.fd, KVM_GET_TSC_KHZ, 0);
	KVMF_ASSERT(host > 0, "VM KVM_GET_TSC_KHZ returned %ld", host);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_SET_TSC_KHZ, host + 100), 0);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_GET_TSC_KHZ, 0), host + 100);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0), host + 100);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_SET_TSC_KHZ, 0), 0);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_GET_TSC_KHZ, 0), host);

	/*
	 * A rate no vCPU could have without scaling: kvmfork refuses it and
	 * keeps the VM's; KVM 6.1 takes it for the VM (and fails to give it to
	 * the vCPUs created after).
	 */
	r = ioctl(vm.fd, KVM_SET_TSC_KHZ, host / 2);
	if (is_kvmfork()) {
		KVMF_ASSERT_EQ(r, -1);
		KVMF_ASSERT_EQ(errno, EINVAL);
		KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_GET_TSC_KHZ, 0), host);
	} else {
		KVMF_ASSERT_EQ(r, 0);
		KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_GET_TSC_KHZ, 0), host / 2);
	}
}

/* The guest's TSC, read with RDTSC, runs at the rate KVM_GET_TSC_KHZ says. */
static void guest_rdtsc(void *arg)
{
	(void)arg;
	for (;;)
		GUEST_SYNC(__rdtsc());
}

/*
 * RDTSC in the guest once per ucall, with the host's clock read just
 * before and after each run: the guest's TSC delta must fit between the
 * shortest and the longest host interval the two reads can span, at the
 * rate KVM_GET_TSC_KHZ reports (1% for calibration), however late the
 * host scheduled the vCPU.
 */
static uint64_t run_and_read(uint64_t *before, uint64_t *after)
{
	struct kvmf_ucall uc;

	*before = now_ns();
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	*after = now_ns();
	return uc.args[0];
}

static void test_guest_rate(void)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	uint64_t b0, a0, b1, a1, c0, c1, khz, min, max;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_rdtsc, NULL);
	khz = ioctl(vcpu.fd, KVM_GET_TSC_KHZ, 0);

	c0 = run_and_read(&b0, &a0);
	nanosleep(&pause, NULL);
	c1 = run_and_read(&b1, &a1);
	min = (b1 - a0) * khz / 1000000 * 99 / 100;
	max = (a1 - b0) * khz / 1000000 * 101 / 100;
	printf("# guest TSC delta %llu, expected %llu..%llu (%llu kHz)\n",
	       (unsigned long long)(c1 - c0), (unsigned long long)min,
	       (unsigned long long)max, (unsigned long long)khz);
	KVMF_ASSERT(c1 - c0 >= min && c1 - c0 <= max, "the guest's TSC is off its rate");
}

static const struct kvmf_test tests[] = {
	{ "caps", test_caps },
	{ "vcpu_get", test_vcpu_get },
	{ "vcpu_set", test_vcpu_set },
	{ "vm_set", test_vm_set },
	{ "guest_rate", test_guest_rate },
};

int main(void)
{
	return kvmf_test_main("tsc_khz", tests, ARRAY_SIZE(tests));
}
