/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two-dimensional paging MMU: guest physical -> host physical mappings
 * built on demand from memslots (AMD nested paging), kept in step with the
 * host by the core's MMU notifier.
 */
#ifndef KVMFORK_TDP_MMU_H
#define KVMFORK_TDP_MMU_H

#include <linux/types.h>

#include <kvmfork/arch_ops.h>

struct kvmf_vm;
struct kvmf_memslot;

/* What a guest-physical fault turned out to be. */
enum kvmf_tdp_fault_result {
	KVMF_TDP_MAPPED,	/* memory is mapped now: re-enter the guest */
	KVMF_TDP_MMIO,		/* no memory there, or a write to read-only memory */
	KVMF_TDP_RETRY,		/* the host changed the page meanwhile: re-enter, fault again */
};

int kvmf_tdp_init(struct kvmf_vm *vm);
void kvmf_tdp_destroy(struct kvmf_vm *vm);
phys_addr_t kvmf_tdp_root_pa(struct kvmf_vm *vm);

/*
 * A nested page fault at @gpa.  Returns a kvmf_tdp_fault_result, or a
 * negative errno: -EINTR (fatal signal while resolving the host page),
 * -EFAULT (the host mapping is missing or forbids the access), -ENOMEM.
 * May sleep.
 */
int kvmf_tdp_fault(struct kvmf_vm *vm, u64 gpa, bool write);

int kvmf_tdp_leaf(struct kvmf_vm *vm, u64 gpa, u64 *hpa, bool *writable, u64 *generation);

/* The kvmf_arch_ops MMU callbacks (include/kvmfork/arch_ops.h). */
void kvmf_tdp_unmap_range(struct kvmf_vm *vm, u64 gfn, u64 npages, bool may_block);
bool kvmf_tdp_age_range(struct kvmf_vm *vm, u64 gfn, u64 npages, enum kvmf_age_op op);
bool kvmf_tdp_write_protect(struct kvmf_vm *vm, u64 gfn, u64 mask);
void kvmf_tdp_log_dirty_enable(struct kvmf_vm *vm, u64 gfn, u64 npages, bool protect);
void kvmf_tdp_flush(struct kvmf_vm *vm);

#endif /* KVMFORK_TDP_MMU_H */
