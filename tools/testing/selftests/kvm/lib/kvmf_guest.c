// SPDX-License-Identifier: GPL-2.0
/*
 * VMs and vCPUs for the selftests: see kvmf_guest.h.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define PTE_PRESENT_RW	0x3ull
#define PTE_LARGE	0x80ull
#define CR0_PE_ET	0x11ull
#define CR0_PG		0x80000000ull
#define CR4_PAE		0x20ull
#define EFER_LME_LMA	0x500ull

void kvmf_guest_vm_create(struct kvmf_guest_vm *vm, size_t ram_size)
{
	struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = ram_size };

	KVMF_ASSERT(ram_size >= KVMF_GUEST_MIN_RAM, "RAM of %zu bytes is too small", ram_size);
	vm->kvm = kvmf_open_dev();
	vm->fd = kvmf_create_vm(vm->kvm);
	vm->ram_size = ram_size;
	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KVMF_ASSERT(vm->ram != MAP_FAILED, "mmap guest RAM: %s", strerror(errno));
	region.userspace_addr = (unsigned long)vm->ram;
	KVMF_CHECK(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region));
}

void kvmf_guest_vcpu_add(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int id)
{
	long size = KVMF_CHECK(ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0));

	vcpu->fd = KVMF_CHECK(ioctl(vm->fd, KVM_CREATE_VCPU, id));
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	KVMF_ASSERT(vcpu->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno));
}

static void flat_segment(struct kvm_segment *seg, unsigned short sel, int code, int bits)
{
	*seg = (struct kvm_segment) {
		.limit = 0xffffffff, .selector = sel, .type = code ? 11 : 3, .present = 1,
		.s = 1, .g = 1, .db = bits == 32 || (!code && bits == 64),
		.l = code && bits == 64,
	};
}

/* The first GiB, identity-mapped with 2 MiB pages. */
static void identity_map_1g(struct kvmf_guest_vm *vm)
{
	unsigned long long *pml4 = (void *)(vm->ram + KVMF_GUEST_PML4_GPA);
	unsigned long long *pdpt = (void *)(vm->ram + KVMF_GUEST_PDPT_GPA);
	unsigned long long *pd = (void *)(vm->ram + KVMF_GUEST_PD_GPA);
	unsigned long long i;

	pml4[0] = KVMF_GUEST_PDPT_GPA | PTE_PRESENT_RW;
	pdpt[0] = KVMF_GUEST_PD_GPA | PTE_PRESENT_RW;
	for (i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_LARGE | PTE_PRESENT_RW;
}

void kvmf_guest_set_mode(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int bits)
{
	struct kvm_sregs sregs;

	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_SREGS, &sregs));
	if (bits == 16) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
	} else {
		flat_segment(&sregs.cs, 8, 1, bits);
		flat_segment(&sregs.ds, 16, 0, bits);
		sregs.es = sregs.ss = sregs.fs = sregs.gs = sregs.ds;
		sregs.cr0 = CR0_PE_ET;
	}
	if (bits == 64) {
		identity_map_1g(vm);
		sregs.cr3 = KVMF_GUEST_PML4_GPA;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PG | CR0_PE_ET;
		sregs.efer = EFER_LME_LMA;
	}
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_SREGS, &sregs));
}

void kvmf_guest_run_expect(struct kvmf_guest_vcpu *vcpu, unsigned int exit_reason)
{
	KVMF_CHECK(ioctl(vcpu->fd, KVM_RUN, 0));
	KVMF_ASSERT(vcpu->run->exit_reason == exit_reason, "exit reason %u, expected %u",
		    vcpu->run->exit_reason, exit_reason);
}

void *kvmf_guest_io_data(struct kvmf_guest_vcpu *vcpu)
{
	return (unsigned char *)vcpu->run + vcpu->run->io.data_offset;
}
