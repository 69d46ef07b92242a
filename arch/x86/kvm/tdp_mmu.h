/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two-dimensional paging MMU: guest physical -> host physical mappings
 * built on demand from memslots (AMD nested paging).
 */
#ifndef KVMFORK_TDP_MMU_H
#define KVMFORK_TDP_MMU_H

#include <linux/types.h>

struct kvmf_vm;
struct kvmf_memslot;

/* What a guest-physical fault turned out to be. */
enum kvmf_tdp_fault_result {
	KVMF_TDP_MAPPED,	/* memory is mapped now: re-enter the guest */
	KVMF_TDP_MMIO,		/* no memory there, or a write to read-only memory */
};

int kvmf_tdp_init(struct kvmf_vm *vm);
void kvmf_tdp_destroy(struct kvmf_vm *vm);
phys_addr_t kvmf_tdp_root_pa(struct kvmf_vm *vm);

/* Returns a kvmf_tdp_fault_result, or a negative errno (-EFAULT: bad HVA). */
int kvmf_tdp_fault(struct kvmf_vm *vm, u64 gpa, bool write);

/* Drops the mappings of @slot's range, then makes every vCPU flush its TLB. */
void kvmf_tdp_unmap_slot(struct kvmf_vm *vm, const struct kvmf_memslot *slot);

#endif /* KVMFORK_TDP_MMU_H */
