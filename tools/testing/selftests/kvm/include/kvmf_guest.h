/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: a VM with RAM at guest physical 0, vCPUs with their
 * kvm_run mapped, and the CPU modes tests run guest code in (16-bit real
 * mode, 32-bit protected mode, 64-bit long mode with the first GiB
 * identity-mapped by 2 MiB pages).  Failures fail the calling case.
 */
#ifndef KVMF_GUEST_H
#define KVMF_GUEST_H

#include <stddef.h>
#include <linux/kvm.h>

/* Where the page tables of set_mode(64) live in guest RAM. */
#define KVMF_GUEST_PML4_GPA	0x1000ul
#define KVMF_GUEST_PDPT_GPA	0x2000ul
#define KVMF_GUEST_PD_GPA	0x3000ul
/* RAM must reach past the tables. */
#define KVMF_GUEST_MIN_RAM	0x10000ul

struct kvmf_guest_vm {
	int kvm, fd;
	unsigned char *ram;	/* memslot 0, at guest physical 0 */
	size_t ram_size;
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

#endif /* KVMF_GUEST_H */
