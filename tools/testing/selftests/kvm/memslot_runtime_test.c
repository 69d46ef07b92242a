// SPDX-License-Identifier: GPL-2.0
/*
 * Memslot changes while a guest runs: once KVM_SET_USER_MEMORY_REGION
 * returns, the guest sees the new layout, never the old one: a deleted
 * slot's range becomes MMIO, a slot created again maps its new backing
 * memory, a moved slot leaves its old range, and guest and host share the
 * same pages (a host write is seen by the guest without any ioctl).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define RAM_SIZE	0x100000ul
#define SLOT1_GPA	0x100000ul
#define SLOT1_MOVED_GPA	0x200000ul
#define SLOT1_SIZE	0x10000ul
#define CODE_GPA	0x8000ul

/* Reads the dword at RBX and sends it to port 0x10, forever. */
static const unsigned char code[] = {
	0x8b, 0x03,		/* 1: mov eax, [rbx] */
	0xe7, 0x10,		/* out 0x10, eax */
	0xeb, 0xfa,		/* jmp 1b */
};

static void set_slot1(struct kvmf_guest_vm *vm, unsigned long gpa, void *mem, size_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (unsigned long)mem,
	};

	KVMF_CHECK(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r));
}

static void expect_out(struct kvmf_guest_vcpu *vcpu, unsigned int value)
{
	kvmf_guest_run_expect(vcpu, KVM_EXIT_IO);
	KVMF_ASSERT_EQ(vcpu->run->io.port, 0x10);
	KVMF_ASSERT_EQ(*(unsigned int *)kvmf_guest_io_data(vcpu), value);
}

/* The read at SLOT1_GPA went to userspace: answer it with @value. */
static void expect_mmio_read(struct kvmf_guest_vcpu *vcpu, unsigned int value)
{
	kvmf_guest_run_expect(vcpu, KVM_EXIT_MMIO);
	KVMF_ASSERT_EQ(vcpu->run->mmio.phys_addr, SLOT1_GPA);
	KVMF_ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	memcpy(vcpu->run->mmio.data, &value, sizeof(value));
}

static void *backing(unsigned int fill)
{
	unsigned int *mem = mmap(NULL, SLOT1_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	KVMF_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	mem[0] = fill;
	return mem;
}

static void test_slot_changes_seen_by_running_guest(void)
{
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2, .rbx = SLOT1_GPA };
	unsigned int *a = backing(0x11111111), *b = backing(0x33333333);
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;

	kvmf_guest_vm_create(&vm, RAM_SIZE);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	kvmf_guest_set_mode(&vm, &vcpu, 64);
	memcpy(vm.ram + CODE_GPA, code, sizeof(code));
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_REGS, &regs));

	set_slot1(&vm, SLOT1_GPA, a, SLOT1_SIZE);
	expect_out(&vcpu, 0x11111111);

	/* Host and guest share the page: no ioctl needed to see a change. */
	a[0] = 0x12121212;
	expect_out(&vcpu, 0x12121212);

	/* Deleted: the guest's old mapping must be gone. */
	set_slot1(&vm, SLOT1_GPA, a, 0);
	expect_mmio_read(&vcpu, 0x22222222);
	expect_out(&vcpu, 0x22222222);

	/* Created again on other memory: the new memory, not the old. */
	set_slot1(&vm, SLOT1_GPA, b, SLOT1_SIZE);
	expect_out(&vcpu, 0x33333333);

	/* Moved away: the old range is MMIO again. */
	set_slot1(&vm, SLOT1_MOVED_GPA, b, SLOT1_SIZE);
	expect_mmio_read(&vcpu, 0x44444444);
	expect_out(&vcpu, 0x44444444);

	/* And the moved slot serves its new range. */
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_REGS, &regs));
	regs.rbx = SLOT1_MOVED_GPA;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_REGS, &regs));
	expect_out(&vcpu, 0x33333333);
}

static const struct kvmf_test tests[] = {
	{ "slot_changes_seen_by_running_guest", test_slot_changes_seen_by_running_guest },
};

int main(void)
{
	return kvmf_test_main("memslot_runtime", tests, ARRAY_SIZE(tests));
}
