/* SPDX-License-Identifier: GPL-2.0 */
/*
 * powerpc state embedded in the core's objects.  kvmfork on powerpc holds
 * the secure-memory side of Ultravisor-enabled POWER hosts and nothing that
 * runs a guest: there are no vCPUs (see arch/powerpc/kvm/powerpc.c).
 */
#ifndef KVMFORK_PPC_ARCH_H
#define KVMFORK_PPC_ARCH_H

#include <linux/types.h>

struct kvmf_uvmem;

/* Pages of a vCPU fd's mmap: kvm_run only (and no vCPU exists on powerpc). */
#define KVMF_ARCH_VCPU_MMAP_PAGES	1

/* Set at creation, never changed. */
struct kvmf_arch_vm {
	/*
	 * The partition id the Ultravisor knows the VM by.  kvmfork's own:
	 * kvm.ko cannot be loaded beside kvmfork (both serve /dev/kvm).
	 */
	unsigned int lpid;
	/* Which guest pages are secure (arch/powerpc/kvm/uvmem.c). */
	struct kvmf_uvmem *uvmem;
};

/* No vCPU can be created on powerpc. */
struct kvmf_arch_vcpu {
};

#endif /* KVMFORK_PPC_ARCH_H */
