/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: a VM with RAM at guest physical 0, vCPUs with their
 * kvm_run mapped, and the CPU modes tests run guest code in (16-bit real
 * mode, 32-bit protected mode, 64-bit long mode with the first GiB
 * identity-mapped by 2 MiB pages).  Failures fail the calling case.
 *
 * Guest code in C: kvmf_guest_load_program() copies this program's code and
 * data into guest RAM at the addresses they have in the host process (the
 * selftests are static, non-PIE programs, loaded below 1 GiB), so that a
 * function of the test can run in a 64-bit guest (kvmf_guest_vcpu_add_code)
 * with a GDT, an IDT whose handlers report unexpected exceptions, its own
 * stack, and the ucall channel (ucall.h) to talk to the host.  Guest code
 * must not call libc: globals it reads are the values they had when the
 * program was loaded (kvmf_guest_sync_global() copies a newer one in).
 */
#ifndef KVMF_GUEST_H
#define KVMF_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Where the page tables of set_mode(64) live in guest RAM. */
#define KVMF_GUEST_PML4_GPA	0x1000ul
#define KVMF_GUEST_PDPT_GPA	0x2000ul
#define KVMF_GUEST_PD_GPA	0x3000ul
/* Descriptor tables of kvmf_guest_vcpu_add_code(). */
#define KVMF_GUEST_GDT_GPA	0x4000ul
#define KVMF_GUEST_TSS_GPA	0x5000ul
#define KVMF_GUEST_IDT_GPA	0x6000ul
/* RAM must reach past the tables. */
#define KVMF_GUEST_MIN_RAM	0x10000ul
/* RAM that holds a loaded program and leaves room for allocations. */
#define KVMF_GUEST_PROGRAM_RAM	(128ul << 20)

#include "ucall.h"

struct kvmf_guest_vm {
	int kvm, fd;
	unsigned char *ram;	/* memslot 0, at guest physical 0 */
	size_t ram_size;
	/* kvmf_guest_alloc_pages(): the next free page of RAM. */
	uint64_t next_free_gpa;
};

struct kvmf_guest_vcpu {
	int fd;
	struct kvm_run *run;
};

void kvmf_guest_vm_create(struct kvmf_guest_vm *vm, size_t ram_size);
void kvmf_guest_vcpu_add(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int id);
/* Segments, control registers and (64) page tables for @bits = 16, 32 or 64. */
void kvmf_guest_set_mode(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int bits);
/* KVM_RUN once; fails the case unless the exit is @exit_reason. */
void kvmf_guest_run_expect(struct kvmf_guest_vcpu *vcpu, unsigned int exit_reason);
/* The data of the current KVM_EXIT_IO. */
void *kvmf_guest_io_data(struct kvmf_guest_vcpu *vcpu);

/* Guest code in C (see the top of this file). */
void kvmf_guest_load_program(struct kvmf_guest_vm *vm);
/* Zeroed pages of RAM above the program; returns their guest physical address. */
uint64_t kvmf_guest_alloc_pages(struct kvmf_guest_vm *vm, unsigned int npages);
/* A vCPU in 64-bit mode that runs fn(arg) on a stack of its own; fn's return is GUEST_DONE. */
void kvmf_guest_vcpu_add_code(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int id,
			      void (*fn)(void *arg), void *arg);
/* Copies the host's value of a global into the guest's copy of the program. */
void kvmf_guest_sync_global(struct kvmf_guest_vm *vm, const void *addr, size_t size);
#define KVMF_GUEST_SYNC_GLOBAL(vm, var) kvmf_guest_sync_global(vm, &(var), sizeof(var))
/*
 * Maps guest linear [gva, gva + size) to guest physical [gpa, ...) with
 * 4 KiB pages, above the identity-mapped first GiB.
 */
void kvmf_guest_map(struct kvmf_guest_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size);

/* How a memory region is backed. */
enum kvmf_backing {
	KVMF_BACKING_ANON,	/* private anonymous memory */
	KVMF_BACKING_SHMEM,	/* a memfd, shared: another mapping sees the same pages */
	KVMF_BACKING_HUGETLB,	/* 2 MiB hugetlbfs pages (skips the case if none are free) */
};

struct kvmf_guest_region {
	void *host;		/* where the host process sees it */
	int memfd;		/* KVMF_BACKING_SHMEM: the memfd, else -1 */
	uint64_t gpa, size;
	uint32_t slot;
};

/*
 * A memslot @slot of @size bytes at guest physical @gpa, with @backing;
 * @size must be a multiple of 2 MiB for hugetlbfs.
 */
void kvmf_guest_add_region(struct kvmf_guest_vm *vm, struct kvmf_guest_region *region,
			   uint32_t slot, uint64_t gpa, uint64_t size, enum kvmf_backing backing);

/*
 * Runs the vCPU until its next ucall and returns it in @uc: UCALL_SYNC,
 * UCALL_DONE (UCALL_PRINTF is printed and the guest resumed).  An abort, an
 * unexpected exception or any other exit fails the calling case, with the
 * guest's file, line and message.
 */
uint64_t kvmf_guest_run_ucall(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu,
			      struct kvmf_ucall *uc);
/* If the current exit is a ucall, copies it to @uc and returns its command, else UCALL_NONE. */
uint64_t kvmf_guest_get_ucall(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu,
			      struct kvmf_ucall *uc);

/*
 * Runs @vcpu to its next ucall and fails the case, at the caller's line,
 * unless it is UCALL_SYNC with these three arguments.
 */
#define KVMF_GUEST_EXPECT_SYNC(vm, vcpu, a0, a1, a2) do {				\
	struct kvmf_ucall __uc;								\
											\
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(vm, vcpu, &__uc), UCALL_SYNC);		\
	KVMF_ASSERT_EQ(__uc.args[0], (uint64_t)(a0));					\
	KVMF_ASSERT_EQ(__uc.args[1], (uint64_t)(a1));					\
	KVMF_ASSERT_EQ(__uc.args[2], (uint64_t)(a2));					\
} while (0)

#endif /* KVMF_GUEST_H */
