/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s390 state embedded in the core's objects.  kvmfork on s390 implements the
 * protected-virtualization command path of the VM fd and nothing that runs
 * a guest: there are no vCPUs (see arch/s390/kvm/s390.c).
 */
#ifndef KVMFORK_S390_ARCH_H
#define KVMFORK_S390_ARCH_H

#include <linux/types.h>

#include "../../kvm/pv.h"

struct gmap;

/* Pages of a vCPU fd's mmap: kvm_run only (and no vCPU exists on s390). */
#define KVMF_ARCH_VCPU_MMAP_PAGES	1

/* One memslot as it is mapped into the gmap: see arch/s390/kvm/pv_uv.c. */
struct kvmf_s390_seg {
	u64 gpa;
	u64 len;
	unsigned long hva;
};

/*
 * Locking: the VM's mutex protects everything below but @gmap, which is set
 * at creation; the gmap has its own locks.
 */
struct kvmf_arch_vm {
	/* The guest's address space, made of the VMM's page tables. */
	struct gmap *gmap;
	/* The memslots mapped into @gmap at the last PV command. */
	struct kvmf_s390_seg *segs;
	unsigned int nr_segs;
	/* The (extended) system control area the secure configuration names. */
	void *sca;
	/* Storage donated to the Ultravisor for the secure configuration. */
	unsigned long stor_base;
	void *stor_var;
	/* Guest storage size the configuration was created with. */
	u64 guest_len;
	struct kvmf_s390_pv pv;
};

/* No vCPU can be created on s390. */
struct kvmf_arch_vcpu {
};

#endif /* KVMFORK_S390_ARCH_H */
