// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory slots of one VM: KVM_SET_USER_MEMORY_REGION and the
 * publication of slot sets.
 *
 * The pure decisions (what a request means, the new sorted arrays) are in
 * memslot_set.c; this file adds what needs the kernel: checking the host
 * range against the user address space, allocating, publishing a new set
 * with RCU semantics under mem->srcu, waiting for readers and freeing.
 *
 * Locking: mem->slots is written only by kvmf_vm_mem_set_region(), whose
 * callers hold the VM's mutex, so updates never race each other.  Readers
 * hold mem->srcu and never block an update except for the grace period.
 * A published set and its slots are never modified, only replaced; each is
 * freed after the SRCU grace period that follows its replacement.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kvmfork/memslot.h>

int kvmf_vm_mem_init(struct kvmf_vm_mem *mem)
{
	struct kvmf_memslots *set;
	int r;

	/* Readers never see a NULL set: an empty one is there from the start. */
	set = kvzalloc(kvmf_memslots_size(0), GFP_KERNEL_ACCOUNT);
	if (!set)
		return -ENOMEM;

	r = init_srcu_struct(&mem->srcu);
	if (r) {
		kvfree(set);
		return r;
	}
	RCU_INIT_POINTER(mem->slots, set);
	mem->max_gfn = ~(u64)0 >> PAGE_SHIFT;
	return 0;
}

void kvmf_vm_mem_destroy(struct kvmf_vm_mem *mem)
{
	struct kvmf_memslots *set = kvmf_memslots_get_locked(mem);
	struct kvmf_memslot *const *s = kvmf_memslots_by_gfn(set);
	u32 i;

	for (i = 0; i < set->nr; i++)
		kfree(s[i]);
	kvfree(set);
	RCU_INIT_POINTER(mem->slots, NULL);
	/* Updates wait for their grace period; no callback can be pending. */
	cleanup_srcu_struct(&mem->srcu);
}

long kvmf_vm_mem_set_region(struct kvmf_vm_mem *mem,
			    const struct kvm_userspace_memory_region *r,
			    void (*unmap)(void *opaque,
					  const struct kvmf_memslot *old),
			    void *opaque)
{
	struct kvmf_memslots *old_set, *new_set;
	struct kvmf_memslot *new_slot = NULL;
	struct kvmf_memslot_plan plan;
	struct kvmf_memslot req;
	int ret;

	ret = kvmf_memslot_check_request(r, &req);
	if (ret)
		return ret;
	/*
	 * The slot's memory is later read and written with the user-access
	 * helpers and pinned through the VM's mm: it must be user memory.  A
	 * tagged address (no such thing on x86 in 6.1) is refused like KVM.
	 */
	if (r->userspace_addr != untagged_addr(r->userspace_addr) ||
	    !access_ok(u64_to_user_ptr(r->userspace_addr), r->memory_size))
		return -EINVAL;

	old_set = kvmf_memslots_get_locked(mem);
	ret = kvmf_memslots_plan(old_set, &req, mem->max_gfn, &plan);
	if (ret || plan.change == KVMF_MR_NONE)
		return ret;

	/*
	 * A moved or re-flagged slot is a fresh copy: readers of the old set
	 * keep seeing the old slot unchanged until they leave.
	 */
	if (plan.change != KVMF_MR_DELETE) {
		new_slot = kmalloc(sizeof(*new_slot), GFP_KERNEL_ACCOUNT);
		if (!new_slot)
			return -ENOMEM;
		*new_slot = req;
	}
	new_set = kvmalloc(kvmf_memslots_size(plan.nr), GFP_KERNEL_ACCOUNT);
	if (!new_set) {
		kfree(new_slot);
		return -ENOMEM;
	}
	kvmf_memslots_build(new_set, old_set, plan.old, new_slot);

	rcu_assign_pointer(mem->slots, new_set);
	/*
	 * Expedited: a VMM may set up thousands of slots at boot, one grace
	 * period each, and a normal grace period costs milliseconds.
	 */
	synchronize_srcu_expedited(&mem->srcu);

	/* Nobody can reach old_set, or plan.old through it, any more. */
	if (unmap &&
	    (plan.change == KVMF_MR_DELETE || plan.change == KVMF_MR_MOVE))
		unmap(opaque, plan.old);
	kfree(plan.old);
	kvfree(old_set);
	return 0;
}
