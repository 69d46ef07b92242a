// SPDX-License-Identifier: GPL-2.0
/*
 * The VM set-up the small VMMs share (vmm.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

void vmm_die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
	exit(1);
}

void vmm_create(struct vmm *vmm, size_t mem_size)
{
	struct kvm_userspace_memory_region region = { .memory_size = mem_size };

	vmm->mem_size = mem_size;
	vmm->vm = ioctl(vmm->kvm, KVM_CREATE_VM, 0);
	if (vmm->vm < 0)
		vmm_die("KVM_CREATE_VM");
	vmm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (vmm->mem == MAP_FAILED)
		vmm_die("mmap");
	region.userspace_addr = (unsigned long)vmm->mem;
	if (ioctl(vmm->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		vmm_die("KVM_SET_USER_MEMORY_REGION");

	vmm->vcpu = ioctl(vmm->vm, KVM_CREATE_VCPU, 0);
	if (vmm->vcpu < 0)
		vmm_die("KVM_CREATE_VCPU");
	vmm->run = mmap(NULL, ioctl(vmm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
			PROT_READ | PROT_WRITE, MAP_SHARED, vmm->vcpu, 0);
	if (vmm->run == MAP_FAILED)
		vmm_die("mmap kvm_run");
}

void vmm_destroy(struct vmm *vmm)
{
	close(vmm->vcpu);
	close(vmm->vm);
	munmap(vmm->mem, vmm->mem_size);
}

unsigned int vmm_run_console(struct vmm *vmm, unsigned int port)
{
	struct kvm_run *run = vmm->run;
	unsigned int exits = 0;

	for (;;) {
		if (ioctl(vmm->vcpu, KVM_RUN, 0) < 0)
			vmm_die("KVM_RUN");
		exits++;
		if (run->exit_reason == KVM_EXIT_HLT)
			return exits;
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != port ||
		    run->io.direction != KVM_EXIT_IO_OUT) {
			fprintf(stderr, "%s: unexpected exit %u\n", program_invocation_short_name,
				run->exit_reason);
			exit(1);
		}
		putchar(*((const char *)run + run->io.data_offset));
	}
}
