/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the small VMMs of tools/vmm share: a VM with one memslot of RAM at
 * guest physical 0 and one vCPU with its kvm_run mapped.  Every failure
 * ends the program with the name of the call that failed.
 */
#ifndef KVMF_VMM_H
#define KVMF_VMM_H

#include <stddef.h>
#include <linux/kvm.h>

struct vmm {
	int kvm, vm, vcpu;
	unsigned char *mem;	/* guest physical 0 .. mem_size */
	size_t mem_size;
	struct kvm_run *run;
};

void vmm_die(const char *what) __attribute__((noreturn));
/* @vmm->kvm must be open; fills in the rest. */
void vmm_create(struct vmm *vmm, size_t mem_size);
void vmm_destroy(struct vmm *vmm);
/*
 * Runs the vCPU until it halts, printing each byte it writes to @port;
 * returns the number of exits to userspace.  Any other exit ends the program.
 */
unsigned int vmm_run_console(struct vmm *vmm, unsigned int port);

#endif /* KVMF_VMM_H */
