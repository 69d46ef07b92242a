// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace stand-in for virt/kvm/memslot.c; see memslot_user.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "memslot_user.h"

int kvmf_umem_init(struct kvmf_umem *mem)
{
	mem->set = calloc(1, kvmf_memslots_size(0));
	if (!mem->set)
		return -ENOMEM;
	mem->max_gfn = ~(u64)0 >> PAGE_SHIFT;
	return 0;
}

void kvmf_umem_destroy(struct kvmf_umem *mem)
{
	u32 i;

	for (i = 0; i < mem->set->nr; i++)
		free(kvmf_memslots_by_gfn(mem->set)[i]);
	free(mem->set);
	mem->set = NULL;
}

long kvmf_umem_set_region(struct kvmf_umem *mem,
			  const struct kvm_userspace_memory_region *r,
			  kvmf_unmap_fn unmap, void *opaque)
{
	struct kvmf_memslot *new_slot = NULL;
	struct kvmf_memslots *new_set;
	struct kvmf_memslot_plan plan;
	struct kvmf_memslot req;
	int ret;

	ret = kvmf_memslot_check_request(r, &req);
	if (ret)
		return ret;
	ret = kvmf_memslots_plan(mem->set, &req, mem->max_gfn, &plan);
	if (ret || plan.change == KVMF_MR_NONE)
		return ret;

	if (plan.change != KVMF_MR_DELETE) {
		new_slot = malloc(sizeof(*new_slot));
		if (!new_slot)
			return -ENOMEM;
		*new_slot = req;
	}
	new_set = malloc(kvmf_memslots_size(plan.nr));
	if (!new_set) {
		free(new_slot);
		return -ENOMEM;
	}
	kvmf_memslots_build(new_set, mem->set, plan.old, new_slot);

	free(mem->set);
	mem->set = new_set;
	if (unmap &&
	    (plan.change == KVMF_MR_DELETE || plan.change == KVMF_MR_MOVE))
		unmap(opaque, plan.old);
	free(plan.old);
	return 0;
}
