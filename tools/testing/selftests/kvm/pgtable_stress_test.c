// SPDX-License-Identifier: GPL-2.0
/*
 * Page table stress at the top of guest physical memory: a large slot just
 * below the highest usable frame (kvmf_max_guest_gfn(), which on AMD and
 * Hygon hosts stays under the HyperTransport hole), written through by two
 * vCPUs, then unmapped (slot deleted) and mapped again several times, the
 * guest re-faulting and checking every page each round.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define NR_VCPUS	2
#define REGION_SIZE	(64ul << 20)
#define REGION_GVA	(4ull << 30)
#define PAGE		4096ul
#define ROUNDS		3

static struct kvmf_guest_vm vm;

static uint64_t pattern(uint64_t off)
{
	return 0xc0ffee0000000000ull ^ off;
}

/* Each vCPU owns half of the region: write it once, then check it each round. */
static void guest_stress(void *arg)
{
	uint64_t id = (uint64_t)arg, half = REGION_SIZE / NR_VCPUS, off, round;

	for (off = id * half; off < (id + 1) * half; off += PAGE)
		*(volatile uint64_t *)(REGION_GVA + off) = pattern(off);
	GUEST_SYNC(0);
	for (round = 1; round <= ROUNDS; round++) {
		for (off = id * half; off < (id + 1) * half; off += PAGE)
			GUEST_ASSERT_EQ(*(volatile uint64_t *)(REGION_GVA + off), pattern(off));
		GUEST_SYNC(round);
	}
}

struct vcpu_thread {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
	uint64_t expect;
};

static void *run_to_sync(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &t->vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], t->expect);
	return NULL;
}

static void run_all_to_sync(struct vcpu_thread *t, uint64_t expect)
{
	int i;

	for (i = 0; i < NR_VCPUS; i++) {
		t[i].expect = expect;
		KVMF_ASSERT_EQ(pthread_create(&t[i].thread, NULL, run_to_sync, &t[i]), 0);
	}
	for (i = 0; i < NR_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_join(t[i].thread, NULL), 0);
}

static void test_top_of_memory_remap(void)
{
	uint64_t top = (kvmf_max_guest_gfn() + 1) << 12, gpa = top - REGION_SIZE;
	struct kvm_userspace_memory_region slot = {
		.slot = 1, .guest_phys_addr = gpa, .memory_size = REGION_SIZE,
	};
	struct vcpu_thread t[NR_VCPUS];
	uint64_t round;
	void *mem;
	int i;

	printf("# region at guest physical %#lx-%#lx\n", gpa, top - 1);
	if (kvmf_host_cpu_is_amd_compatible())
		KVMF_ASSERT(top <= KVMF_AMD_HT_HOLE_START || gpa > KVMF_AMD_HT_HOLE_END,
			    "the region overlaps the HyperTransport hole");

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	mem = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KVMF_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	slot.userspace_addr = (uint64_t)mem;
	KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &slot));
	kvmf_guest_map(&vm, REGION_GVA, gpa, REGION_SIZE);
	for (i = 0; i < NR_VCPUS; i++)
		kvmf_guest_vcpu_add_code(&vm, &t[i].vcpu, i, guest_stress, (void *)(uint64_t)i);

	run_all_to_sync(t, 0);
	for (round = 1; round <= ROUNDS; round++) {
		/* Unmap everything, then map the same memory again. */
		slot.memory_size = 0;
		KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &slot));
		slot.memory_size = REGION_SIZE;
		KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &slot));
		run_all_to_sync(t, round);
	}
}

static const struct kvmf_test tests[] = {
	{ "top_of_memory_remap", test_top_of_memory_remap },
};

int main(void)
{
	return kvmf_test_main("pgtable_stress", tests, ARRAY_SIZE(tests));
}
