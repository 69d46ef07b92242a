// SPDX-License-Identifier: GPL-2.0
/*
 * Memslot modification stress: while vCPUs keep reading a range, the host
 * adds and deletes the slot behind it hundreds of times.  Every read must
 * return either the slot's memory (slot present) or what userspace answers
 * for MMIO (slot absent): nothing stale, nothing else, and no error.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define NR_VCPUS	2
#define SLOT_GPA	(2ull << 30)
#define SLOT_GVA	(2ull << 30)
#define SLOT_SIZE	(1ul << 20)
#define PAGE		4096ul
#define TOGGLES		300
#define MEMORY_VALUE	0x1111111111111111ull
#define MMIO_VALUE	0x2222222222222222ull

static struct kvmf_guest_vm vm;
static atomic_int stop;

/* Reads the slot's pages round and round; reports every value it sees. */
static void guest_read_loop(void *arg)
{
	uint64_t off = (uint64_t)arg * PAGE;

	for (;;) {
		uint64_t v = *(volatile uint64_t *)(SLOT_GVA + off);

		if (v != MEMORY_VALUE && v != MMIO_VALUE)
			GUEST_FAIL("read %#lx at offset %#lx", v, off);
		GUEST_SYNC(v);
		off = (off + NR_VCPUS * PAGE) % SLOT_SIZE;
	}
}

struct vcpu_thread {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
	unsigned long memory_reads, mmio_reads;
};

static void *run_vcpu(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvm_run *run = t->vcpu.run;
	struct kvmf_ucall uc;

	while (!atomic_load(&stop)) {
		KVMF_CHECK(ioctl(t->vcpu.fd, KVM_RUN, 0));
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t v = MMIO_VALUE;

			KVMF_ASSERT(!run->mmio.is_write && run->mmio.phys_addr >= SLOT_GPA &&
				    run->mmio.phys_addr < SLOT_GPA + SLOT_SIZE,
				    "MMIO at %#llx", run->mmio.phys_addr);
			memcpy(run->mmio.data, &v, sizeof(v));
			continue;
		}
		switch (kvmf_guest_get_ucall(&vm, &t->vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[0] == MEMORY_VALUE)
				t->memory_reads++;
			else
				t->mmio_reads++;
			break;
		case UCALL_ABORT:
			kvmf_test_fail((const char *)uc.args[0], uc.args[1], "guest: %s", uc.buf);
		default:
			kvmf_test_fail(__FILE__, __LINE__, "unexpected exit %u", run->exit_reason);
		}
	}
	return NULL;
}

static void test_toggle_slot_under_readers(void)
{
	struct kvm_userspace_memory_region slot = {
		.slot = 1, .guest_phys_addr = SLOT_GPA, .memory_size = SLOT_SIZE,
	};
	struct vcpu_thread t[NR_VCPUS];
	uint64_t *mem, i;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KVMF_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < SLOT_SIZE / 8; i++)
		mem[i] = MEMORY_VALUE;
	slot.userspace_addr = (uint64_t)mem;
	kvmf_guest_map(&vm, SLOT_GVA, SLOT_GPA, SLOT_SIZE);
	for (i = 0; i < NR_VCPUS; i++) {
		t[i] = (struct vcpu_thread) { 0 };
		kvmf_guest_vcpu_add_code(&vm, &t[i].vcpu, i, guest_read_loop, (void *)i);
	}
	for (i = 0; i < NR_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_create(&t[i].thread, NULL, run_vcpu, &t[i]), 0);

	for (i = 0; i < TOGGLES; i++) {
		slot.memory_size = i % 2 ? 0 : SLOT_SIZE;
		KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &slot));
		usleep(1000);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < NR_VCPUS; i++) {
		KVMF_ASSERT_EQ(pthread_join(t[i].thread, NULL), 0);
		printf("# vCPU %lu: %lu reads from memory, %lu from MMIO\n", i, t[i].memory_reads,
		       t[i].mmio_reads);
		KVMF_ASSERT(t[i].memory_reads + t[i].mmio_reads > 0, "vCPU %lu never ran", i);
	}
}

static const struct kvmf_test tests[] = {
	{ "toggle_slot_under_readers", test_toggle_slot_under_readers },
};

int main(void)
{
	return kvmf_test_main("memslot_modify_stress", tests, ARRAY_SIZE(tests));
}
