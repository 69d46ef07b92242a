/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory slots of one VM: the published set, its SRCU, and
 * KVM_SET_USER_MEMORY_REGION.  The set logic itself is in
 * <kvmfork/memslot_set.h>.
 *
 * Locking:
 *  - Readers (vCPUs faulting in guest memory, ioctls reading guest memory)
 *    take no lock: they hold srcu_read_lock(&mem->srcu), get the set with
 *    kvmf_memslots_get() and may use it and every slot in it until
 *    srcu_read_unlock().  A fault path that installs a nested-page-table
 *    entry from a slot must hold the SRCU read lock from the lookup until
 *    the entry is in place, so that the unmap callback (below) sees it.
 *  - Updates (kvmf_vm_mem_set_region()) are serialised by the caller, which
 *    holds the VM's mutex; it alone may use kvmf_memslots_get_locked().
 */
#ifndef KVMFORK_MEMSLOT_H
#define KVMFORK_MEMSLOT_H

#include <linux/rcupdate.h>
#include <linux/srcu.h>

#include <kvmfork/memslot_set.h>

struct kvmf_vm_mem {
	struct srcu_struct srcu;
	struct kvmf_memslots __rcu *slots;
	/*
	 * The highest guest frame a created or moved slot may cover, else
	 * -EINVAL.  kvmf_vm_mem_init() sets the largest gfn there is; the
	 * architecture lowers it to what its nested paging can map (x86 KVM:
	 * the host's MAXPHYADDR) before the VM fd is handed out.
	 */
	u64 max_gfn;
};

/* Starts with an empty set.  0 or -ENOMEM. */
int kvmf_vm_mem_init(struct kvmf_vm_mem *mem);

/*
 * Frees the set and every slot.  No reader may remain and no unmap callback
 * is made: the architecture tears its nested page tables down as a whole.
 */
void kvmf_vm_mem_destroy(struct kvmf_vm_mem *mem);

/*
 * KVM_SET_USER_MEMORY_REGION, with @r already copied from userspace.  The
 * caller holds the mutex that serialises updates.  Returns 0, -EINVAL,
 * -EEXIST or -ENOMEM; on error nothing has changed.
 *
 * When a slot is deleted or moved, @unmap(@opaque, old) is called once no
 * reader can see the old slot any more (after the new set is published and
 * an SRCU grace period has passed), so the architecture can drop the
 * mappings it made of the old guest range; the old slot is freed right
 * after the callback returns.  @unmap is called with the caller's mutex
 * held and may sleep.  A flags-only change does not call it.
 */
long kvmf_vm_mem_set_region(struct kvmf_vm_mem *mem,
			    const struct kvm_userspace_memory_region *r,
			    void (*unmap)(void *opaque,
					  const struct kvmf_memslot *old),
			    void *opaque);

/* The current set, for a reader inside srcu_read_lock(&mem->srcu). */
static inline struct kvmf_memslots *kvmf_memslots_get(struct kvmf_vm_mem *mem)
{
	return srcu_dereference(mem->slots, &mem->srcu);
}

/*
 * The current set, for the holder of the mutex that serialises updates: it
 * cannot change under the caller, SRCU or not.
 */
static inline struct kvmf_memslots *
kvmf_memslots_get_locked(struct kvmf_vm_mem *mem)
{
	return rcu_dereference_protected(mem->slots, true);
}

#endif /* KVMFORK_MEMSLOT_H */
