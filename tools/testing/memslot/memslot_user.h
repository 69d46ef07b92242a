/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for virt/kvm/memslot.c: the same sequence (check,
 * plan, allocate, build, swap, unmap, free) around the pure set logic, with
 * malloc() for kvmalloc() and no SRCU, since the tests and the benchmark
 * are single-threaded.  The host-range check (access_ok) is the kernel's
 * and is left out; the selftest covers it.
 */
#ifndef KVMF_MEMSLOT_USER_H
#define KVMF_MEMSLOT_USER_H

#include <kvmfork/memslot_set.h>

struct kvmf_umem {
	struct kvmf_memslots *set;
	u64 max_gfn;
};

typedef void (*kvmf_unmap_fn)(void *opaque, const struct kvmf_memslot *old);

int kvmf_umem_init(struct kvmf_umem *mem);
void kvmf_umem_destroy(struct kvmf_umem *mem);
long kvmf_umem_set_region(struct kvmf_umem *mem,
			  const struct kvm_userspace_memory_region *r,
			  kvmf_unmap_fn unmap, void *opaque);

#endif /* KVMF_MEMSLOT_USER_H */
