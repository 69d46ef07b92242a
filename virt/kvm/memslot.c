// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory slots of one VM: KVM_SET_USER_MEMORY_REGION, the
 * publication of slot sets, and the slots' dirty bitmaps.
 *
 * The pure decisions (what a request means, the new sorted arrays) are in
 * memslot_set.c; this file adds what needs the kernel: checking the host
 * range against the user address space, allocating, publishing a new set
 * with RCU semantics under mem->srcu, waiting for readers and freeing.
 *
 * Locking: mem->slots is written only by kvmf_vm_mem_set_region(), whose
 * callers hold the VM's mutex, so updates never race each other.  It is
 * written with mem->inval.lock held and no MMU-notifier invalidation active
 * (see struct kvmf_mem_invalidate).  Readers hold mem->srcu and never block
 * an update except for the grace period.  A published set and its slots
 * are never modified, only replaced; each is freed after the SRCU grace
 * period that follows its replacement.  Dirty bitmaps change bit by bit
 * with atomic operations (<kvmfork/memslot.h>, virt/kvm/dirty_log.c).
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/sched.h>
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

	raw_spin_lock_init(&mem->inval.lock);
	rcuwait_init(&mem->inval.update_wait);
	return 0;
}

void kvmf_vm_mem_destroy(struct kvmf_vm_mem *mem)
{
	struct kvmf_memslots *set = kvmf_memslots_get_locked(mem);
	struct kvmf_memslot *const *s = kvmf_memslots_by_gfn(set);
	u32 i;

	for (i = 0; i < set->nr; i++) {
		kvfree(s[i]->dirty_bitmap);
		kfree(s[i]);
	}
	kvfree(set);
	RCU_INIT_POINTER(mem->slots, NULL);
	/* Updates wait for their grace period; no callback can be pending. */
	cleanup_srcu_struct(&mem->srcu);
}

static bool kvmf_mem_no_invalidation(struct kvmf_mem_invalidate *inv)
{
	return !READ_ONCE(inv->active);
}

/*
 * Publishes @set once no MMU-notifier invalidation is between its start
 * and end: 0, or -EINTR (nothing published) on a fatal signal.  The check
 * and the store happen under inval.lock, which an invalidation's start
 * takes to count itself, so every invalidation runs entirely against one
 * set.  Invalidations are short (the duration of one host page-table
 * change), so the wait is too, unless they never stop coming.
 */
static int kvmf_mem_publish(struct kvmf_vm_mem *mem, struct kvmf_memslots *set)
{
	struct kvmf_mem_invalidate *inv = &mem->inval;

	for (;;) {
		raw_spin_lock(&inv->lock);
		if (!inv->active) {
			rcu_assign_pointer(mem->slots, set);
			raw_spin_unlock(&inv->lock);
			return 0;
		}
		raw_spin_unlock(&inv->lock);

		if (rcuwait_wait_event(&inv->update_wait, kvmf_mem_no_invalidation(inv),
				       TASK_KILLABLE))
			return -EINTR;
	}
}

/*
 * The dirty bitmap of the new version @req of a slot (@old: the existing
 * one, or NULL): none if it does not log, the old one if it already did,
 * else a new one.  -ENOMEM, or 0 with req->dirty_bitmap set.
 */
static int kvmf_memslot_prepare_bitmap(struct kvmf_memslot *req, const struct kvmf_memslot *old,
				       bool initially_set)
{
	if (!(req->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		req->dirty_bitmap = NULL;
		return 0;
	}
	if (old && old->dirty_bitmap) {
		req->dirty_bitmap = old->dirty_bitmap;
		return 0;
	}
	req->dirty_bitmap = kvzalloc(kvmf_dirty_bitmap_bytes(req->npages), GFP_KERNEL_ACCOUNT);
	if (!req->dirty_bitmap)
		return -ENOMEM;
	/* Only the slot's own pages, as KVM does: the tail of the last long stays 0. */
	if (initially_set)
		bitmap_set(req->dirty_bitmap, 0, req->npages);
	return 0;
}

long kvmf_vm_mem_set_region(struct kvmf_vm_mem *mem,
			    const struct kvm_userspace_memory_region *r,
			    bool dirty_initially_set,
			    void (*commit)(void *opaque,
					   const struct kvmf_memslot_update *u),
			    void *opaque)
{
	struct kvmf_memslots *old_set, *new_set;
	struct kvmf_memslot *new_slot = NULL;
	struct kvmf_memslot_update update;
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
		ret = kvmf_memslot_prepare_bitmap(&req, plan.old, dirty_initially_set);
		if (ret)
			return ret;
		new_slot = kmalloc(sizeof(*new_slot), GFP_KERNEL_ACCOUNT);
		if (!new_slot) {
			ret = -ENOMEM;
			goto err_free_bitmap;
		}
		*new_slot = req;
	}
	new_set = kvmalloc(kvmf_memslots_size(plan.nr), GFP_KERNEL_ACCOUNT);
	if (!new_set) {
		ret = -ENOMEM;
		goto err_free_slot;
	}
	kvmf_memslots_build(new_set, old_set, plan.old, new_slot);

	ret = kvmf_mem_publish(mem, new_set);
	if (ret)
		goto err_free_set;
	/*
	 * Expedited: a VMM may set up thousands of slots at boot, one grace
	 * period each, and a normal grace period costs milliseconds.
	 */
	synchronize_srcu_expedited(&mem->srcu);

	/* Nobody can reach old_set, or plan.old through it, any more. */
	update = (struct kvmf_memslot_update) {
		.change = plan.change, .old = plan.old, .new = new_slot,
	};
	if (commit)
		commit(opaque, &update);
	if (plan.old && plan.old->dirty_bitmap &&
	    (!new_slot || new_slot->dirty_bitmap != plan.old->dirty_bitmap))
		kvfree(plan.old->dirty_bitmap);
	kfree(plan.old);
	kvfree(old_set);
	return 0;

err_free_set:
	kvfree(new_set);
err_free_slot:
	kfree(new_slot);
err_free_bitmap:
	if (req.dirty_bitmap && (!plan.old || req.dirty_bitmap != plan.old->dirty_bitmap))
		kvfree(req.dirty_bitmap);
	return ret;
}
