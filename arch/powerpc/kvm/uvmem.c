// SPDX-License-Identifier: GPL-2.0
/*
 * Secure-guest memory on Ultravisor-enabled POWER: the state machine of the
 * secure-memory hypercalls, which the Ultravisor makes on behalf of a guest
 * that asked to become secure (UV_ESM).
 *
 *   H_SVM_INIT_START   the VM starts going secure: its memslots are taken
 *                      out of KSM and registered with the Ultravisor;
 *   H_SVM_PAGE_IN      a page moves into secure memory (its content to the
 *                      Ultravisor), or, with H_PAGE_IN_SHARED, becomes a
 *                      page shared with the hypervisor;
 *   H_SVM_PAGE_OUT     a secure page's content comes back to normal memory,
 *                      encrypted;
 *   H_SVM_INIT_DONE    the VM is secure: every page not yet moved becomes
 *                      secure without its content (the Ultravisor never
 *                      asked for it);
 *   H_SVM_INIT_ABORT   going secure failed: pages come back, the Ultravisor
 *                      forgets the VM, which is normal again (answered with
 *                      H_PARAMETER, which the guest sees as UV_ESM failing).
 *
 * Each 64 KiB guest page has one state word (uvmem.h).  A page in secure
 * memory is represented in the VMM's page tables by a device page the
 * backend provides; the page moves themselves are the backend's
 * (struct kvmf_uvmem_ops).
 *
 * Portable on purpose (kernel APIs, no powerpc header), so that it is unit
 * tested on any architecture (uvmem_test.c).  Locking: see struct kvmf_uvmem.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "uvmem.h"

struct kvmf_uvmem *kvmf_uvmem_create(const struct kvmf_uvmem_ops *ops, void *priv)
{
	struct kvmf_uvmem *u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);

	if (!u)
		return NULL;
	u->ops = ops;
	u->priv = priv;
	refcount_set(&u->refs, 1);
	mutex_init(&u->op_lock);
	mutex_init(&u->lock);
	spin_lock_init(&u->state_lock);
	INIT_LIST_HEAD(&u->slots);
	u->state = KVMF_SVM_NORMAL;
	return u;
}

void kvmf_uvmem_get(struct kvmf_uvmem *u)
{
	refcount_inc(&u->refs);
}

void kvmf_uvmem_put(struct kvmf_uvmem *u)
{
	if (!refcount_dec_and_test(&u->refs))
		return;
	/* Slots go at teardown, which holds a reference: none can be left. */
	WARN_ON(!list_empty(&u->slots));
	kfree(u);
}

/* ---- slots and page states ---------------------------------------------- */

/* The slot holding @gpa, or NULL; with one of the locks that pin the list. */
static struct kvmf_uvmem_slot *uvmem_slot_of(struct kvmf_uvmem *u, u64 gpa)
{
	struct kvmf_uvmem_slot *s;

	list_for_each_entry(s, &u->slots, list)
		if (gpa >= s->desc.gpa && gpa - s->desc.gpa < s->desc.size)
			return s;
	return NULL;
}

static struct kvmf_uvmem_slot *uvmem_slot_by_id(struct kvmf_uvmem *u, u32 id)
{
	struct kvmf_uvmem_slot *s;

	list_for_each_entry(s, &u->slots, list)
		if (s->desc.id == id)
			return s;
	return NULL;
}

static u64 uvmem_npages(const struct kvmf_uvmem_slot *s)
{
	return s->desc.size >> KVMF_UVMEM_PAGE_SHIFT;
}

static u64 *uvmem_word(struct kvmf_uvmem_slot *s, u64 gpa)
{
	return &s->pages[(gpa - s->desc.gpa) >> KVMF_UVMEM_PAGE_SHIFT];
}

static unsigned long uvmem_hva(const struct kvmf_uvmem_slot *s, u64 gpa)
{
	return s->desc.hva + (unsigned long)(gpa - s->desc.gpa);
}

static u64 uvmem_get(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa)
{
	u64 w;

	spin_lock(&u->state_lock);
	w = *uvmem_word(s, gpa);
	spin_unlock(&u->state_lock);
	return w;
}

static void uvmem_set(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa, u64 w)
{
	spin_lock(&u->state_lock);
	*uvmem_word(s, gpa) = w;
	spin_unlock(&u->state_lock);
}

void kvmf_uvmem_dev_page_freed(struct kvmf_uvmem *u, u64 gpa, u64 token)
{
	struct kvmf_uvmem_slot *s;

	spin_lock(&u->state_lock);
	s = uvmem_slot_of(u, gpa);
	if (s && *uvmem_word(s, gpa) == (KVMF_UVMEM_SECURE | KVMF_UVMEM_DEV | token))
		*uvmem_word(s, gpa) = KVMF_UVMEM_SECURE;
	spin_unlock(&u->state_lock);
}

/* The VMM's mmap lock and @u->lock, for one page move or a batch. */
static int uvmem_lock_pages(struct kvmf_uvmem *u)
{
	int r = u->ops->mm_lock(u);

	if (!r)
		mutex_lock(&u->lock);
	return r;
}

static void uvmem_unlock_pages(struct kvmf_uvmem *u)
{
	mutex_unlock(&u->lock);
	u->ops->mm_unlock(u);
}

/*
 * Brings every secure page of @s back to normal memory and forgets every
 * page state: with @copy the Ultravisor pages the content out, else the
 * pages come back zeroed.  Pages locked.  How many could not be moved.
 */
static unsigned int uvmem_drop_pages(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, bool copy)
{
	unsigned int failed = 0;
	u64 i, gpa;
	int r;

	for (i = 0; i < uvmem_npages(s); i++) {
		gpa = s->desc.gpa + (i << KVMF_UVMEM_PAGE_SHIFT);
		if (uvmem_get(u, s, gpa) & KVMF_UVMEM_DEV) {
			r = u->ops->page_out(u, uvmem_hva(s, gpa), gpa, copy, NULL);
			if (r && r != -ENOENT)
				failed++;
		}
		uvmem_set(u, s, gpa, 0);
	}
	return failed;
}

/* A tracked slot for @d, not on the list yet; NULL if @d cannot be one, or no memory. */
static struct kvmf_uvmem_slot *uvmem_slot_new(const struct kvmf_uvmem_slot_desc *d)
{
	struct kvmf_uvmem_slot *s;

	/* The Ultravisor moves 64 KiB pages: a slot must be made of them. */
	if (!d->size || !IS_ALIGNED(d->gpa | d->size | d->hva, KVMF_UVMEM_PAGE_SIZE) ||
	    d->size - 1 > U64_MAX - d->gpa)
		return NULL;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return NULL;
	s->desc = *d;
	s->pages = kvcalloc(uvmem_npages(s), sizeof(*s->pages), GFP_KERNEL_ACCOUNT);
	if (!s->pages) {
		kfree(s);
		return NULL;
	}
	return s;
}

static void uvmem_slot_free(struct kvmf_uvmem_slot *s)
{
	if (s) {
		kvfree(s->pages);
		kfree(s);
	}
}

/*
 * Takes the @nr slots of @d in: out of KSM (all or none), registered with
 * the Ultravisor, tracked.  KVMF_H_SUCCESS, or a code with nothing left
 * behind: H_STATE if a slot is not made of 64 KiB pages, memory is short, a
 * slot's memory is not mapped or a fatal signal stopped the KSM unmerge;
 * H_PARAMETER if the Ultravisor refuses a slot.  @op_lock held.
 */
static long uvmem_slots_add(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d,
			    unsigned int nr)
{
	struct kvmf_uvmem_slot **new;
	unsigned int *mergeable;
	unsigned int i, j;
	long ret = KVMF_H_STATE;

	new = kcalloc(nr, sizeof(*new), GFP_KERNEL);
	mergeable = kcalloc(nr, sizeof(*mergeable), GFP_KERNEL);
	if (!new || !mergeable)
		goto out;
	for (i = 0; i < nr; i++) {
		new[i] = uvmem_slot_new(&d[i]);
		if (!new[i])
			goto out;
	}

	if (u->ops->ksm_unmerge(u, d, nr, mergeable))
		goto out;
	for (i = 0; i < nr; i++)
		new[i]->was_mergeable = mergeable[i] > 0;

	for (i = 0; i < nr; i++) {
		if (!u->ops->register_slot(u, &d[i]))
			continue;
		for (j = 0; j < i; j++)
			u->ops->unregister_slot(u, &d[j]);
		for (j = 0; j < nr; j++)
			if (new[j]->was_mergeable)
				u->ops->ksm_remerge(u, &d[j]);
		ret = KVMF_H_PARAMETER;
		goto out;
	}

	mutex_lock(&u->lock);
	spin_lock(&u->state_lock);
	for (i = 0; i < nr; i++) {
		list_add_tail(&new[i]->list, &u->slots);
		new[i] = NULL;
	}
	spin_unlock(&u->state_lock);
	mutex_unlock(&u->lock);
	ret = KVMF_H_SUCCESS;
out:
	for (i = 0; new && i < nr; i++)
		uvmem_slot_free(new[i]);
	kfree(new);
	kfree(mergeable);
	return ret;
}

/*
 * Forgets @s, whose pages must be dropped already; @unregister: tell the
 * Ultravisor (not after UV_SVM_TERMINATE, which forgot the VM as a whole).
 * KSM gets the memory back if it had it.  @op_lock held.
 */
static void uvmem_slot_remove(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, bool unregister)
{
	if (unregister)
		u->ops->unregister_slot(u, &s->desc);

	mutex_lock(&u->lock);
	spin_lock(&u->state_lock);
	list_del(&s->list);
	spin_unlock(&u->state_lock);
	mutex_unlock(&u->lock);

	if (s->was_mergeable)
		u->ops->ksm_remerge(u, &s->desc);
	uvmem_slot_free(s);
}

/* Drops the pages of every slot (if the VMM's memory is still there) and the slots. */
static unsigned int uvmem_remove_all(struct kvmf_uvmem *u, bool copy, bool unregister)
{
	struct kvmf_uvmem_slot *s, *next;
	unsigned int failed = 0;

	if (!uvmem_lock_pages(u)) {
		list_for_each_entry(s, &u->slots, list)
			failed += uvmem_drop_pages(u, s, copy);
		uvmem_unlock_pages(u);
	}
	list_for_each_entry_safe(s, next, &u->slots, list)
		uvmem_slot_remove(u, s, unregister);
	return failed;
}

/* ---- hypercalls ---------------------------------------------------------- */

long kvmf_uvmem_h_svm_init_start(struct kvmf_uvmem *u,
				 const struct kvmf_uvmem_slot_desc *slots, unsigned int nr)
{
	long ret;

	mutex_lock(&u->op_lock);
	if (!u->svm_enabled) {
		/* The VMM did not allow this VM to go secure. */
		ret = KVMF_H_AUTHORITY;
	} else if (u->state != KVMF_SVM_NORMAL) {
		ret = KVMF_H_STATE;
	} else {
		ret = uvmem_slots_add(u, slots, nr);
		if (ret == KVMF_H_SUCCESS)
			u->state = KVMF_SVM_TRANSIENT;
	}
	mutex_unlock(&u->op_lock);
	return ret;
}

/*
 * Makes every page of @s that is still normal secure, without content.
 * Pages locked one at a time, so that the VMM's mmap writers get through.
 * 0, -EINTR (fatal signal), or the first failure.
 */
static int uvmem_secure_rest(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s)
{
	u64 i, gpa;
	long token;
	int r;

	for (i = 0; i < uvmem_npages(s); i++) {
		gpa = s->desc.gpa + (i << KVMF_UVMEM_PAGE_SHIFT);
		if (fatal_signal_pending(current))
			return -EINTR;
		r = uvmem_lock_pages(u);
		if (r)
			return r;
		token = 0;
		if (!uvmem_get(u, s, gpa)) {
			token = u->ops->page_in(u, uvmem_hva(s, gpa), gpa, false);
			if (token >= 0)
				uvmem_set(u, s, gpa, KVMF_UVMEM_SECURE | KVMF_UVMEM_DEV | token);
		}
		uvmem_unlock_pages(u);
		if (token < 0)
			return token;
		cond_resched();
	}
	return 0;
}

long kvmf_uvmem_h_svm_init_done(struct kvmf_uvmem *u)
{
	struct kvmf_uvmem_slot *s;
	long ret = KVMF_H_SUCCESS;

	mutex_lock(&u->op_lock);
	if (u->state != KVMF_SVM_TRANSIENT) {
		ret = KVMF_H_UNSUPPORTED;
		goto out;
	}
	list_for_each_entry(s, &u->slots, list) {
		/*
		 * A failure leaves the VM transient, its pages as they are:
		 * the Ultravisor then aborts or terminates it.
		 */
		if (uvmem_secure_rest(u, s)) {
			ret = KVMF_H_STATE;
			goto out;
		}
	}
	u->state = KVMF_SVM_SECURE;
out:
	mutex_unlock(&u->op_lock);
	return ret;
}

long kvmf_uvmem_h_svm_init_abort(struct kvmf_uvmem *u)
{
	unsigned int failed;
	long ret;

	mutex_lock(&u->op_lock);
	if (u->state == KVMF_SVM_NORMAL) {
		ret = KVMF_H_UNSUPPORTED;
	} else if (u->state == KVMF_SVM_SECURE) {
		ret = KVMF_H_STATE;
	} else {
		/* Contents come back from secure memory: the VM goes on as normal. */
		failed = 0;
		if (!uvmem_lock_pages(u)) {
			struct kvmf_uvmem_slot *s;

			list_for_each_entry(s, &u->slots, list)
				failed += uvmem_drop_pages(u, s, true);
			uvmem_unlock_pages(u);
		}
		u->ops->terminate(u);
		failed += uvmem_remove_all(u, false, false);
		if (failed)
			pr_warn_ratelimited("kvmfork: H_SVM_INIT_ABORT: %u secure pages could not be paged out\n",
					    failed);
		u->state = KVMF_SVM_NORMAL;
		/* What the guest must see: its UV_ESM failed. */
		ret = KVMF_H_PARAMETER;
	}
	mutex_unlock(&u->op_lock);
	return ret;
}

/* H_SVM_PAGE_IN: into secure memory.  Pages locked. */
static long uvmem_page_in(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa)
{
	long token;

	/* Already in secure memory: the Ultravisor asks twice, refuse. */
	if (uvmem_get(u, s, gpa) & KVMF_UVMEM_DEV)
		return KVMF_H_PARAMETER;
	token = u->ops->page_in(u, uvmem_hva(s, gpa), gpa, true);
	if (token < 0)
		return KVMF_H_PARAMETER;
	uvmem_set(u, s, gpa, KVMF_UVMEM_SECURE | KVMF_UVMEM_DEV | token);
	return KVMF_H_SUCCESS;
}

/*
 * H_SVM_PAGE_IN with H_PAGE_IN_SHARED: the guest shares the page.  A page in
 * secure memory first comes back to normal memory without its content (a
 * page being shared starts afresh), then the Ultravisor gets the normal
 * page, which stays mapped for the hypervisor.  Pages locked.
 */
static long uvmem_page_share(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa)
{
	unsigned long hva = uvmem_hva(s, gpa);
	int r;

	if (uvmem_get(u, s, gpa) & KVMF_UVMEM_DEV) {
		r = u->ops->page_out(u, hva, gpa, false, NULL);
		if (r && r != -ENOENT)
			return KVMF_H_PARAMETER;
		uvmem_set(u, s, gpa, KVMF_UVMEM_SECURE);
	}
	if (u->ops->share(u, hva, gpa))
		return KVMF_H_PARAMETER;
	uvmem_set(u, s, gpa, KVMF_UVMEM_SHARED);
	return KVMF_H_SUCCESS;
}

/* H_SVM_PAGE_OUT.  Pages locked. */
static long uvmem_page_out(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa)
{
	int r;

	/* Not in secure memory: its content is in normal memory already. */
	if (!(uvmem_get(u, s, gpa) & KVMF_UVMEM_DEV))
		return KVMF_H_SUCCESS;
	r = u->ops->page_out(u, uvmem_hva(s, gpa), gpa, true, NULL);
	/* -ENOENT: the host dropped the device page; nothing left to move. */
	if (r && r != -ENOENT)
		return KVMF_H_PARAMETER;
	uvmem_set(u, s, gpa, KVMF_UVMEM_SECURE);
	return KVMF_H_SUCCESS;
}

/*
 * The checks H_SVM_PAGE_IN and _OUT share, in the order of their codes,
 * then @fn on the page with the pages locked.
 */
static long uvmem_page_hcall(struct kvmf_uvmem *u, u64 gpa, u64 flags, u64 valid_flags,
			     u64 order,
			     long (*fn)(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa))
{
	struct kvmf_uvmem_slot *s;
	long ret;

	mutex_lock(&u->op_lock);
	if (u->state == KVMF_SVM_NORMAL)
		ret = KVMF_H_UNSUPPORTED;
	else if (order != KVMF_UVMEM_PAGE_SHIFT)
		ret = KVMF_H_P3;
	else if (flags & ~valid_flags)
		ret = KVMF_H_P2;
	else if (!IS_ALIGNED(gpa, KVMF_UVMEM_PAGE_SIZE))
		ret = KVMF_H_PARAMETER;
	else if (uvmem_lock_pages(u))
		/* The VMM is being killed, or gone. */
		ret = KVMF_H_STATE;
	else {
		s = uvmem_slot_of(u, gpa);
		ret = s ? fn(u, s, gpa) : KVMF_H_PARAMETER;
		uvmem_unlock_pages(u);
	}
	mutex_unlock(&u->op_lock);
	return ret;
}

static long uvmem_page_in_any(struct kvmf_uvmem *u, struct kvmf_uvmem_slot *s, u64 gpa)
{
	return uvmem_page_in(u, s, gpa);
}

long kvmf_uvmem_h_svm_page_in(struct kvmf_uvmem *u, u64 gpa, u64 flags, u64 order)
{
	return uvmem_page_hcall(u, gpa, flags, KVMF_H_PAGE_IN_SHARED, order,
				flags & KVMF_H_PAGE_IN_SHARED ? uvmem_page_share :
								uvmem_page_in_any);
}

long kvmf_uvmem_h_svm_page_out(struct kvmf_uvmem *u, u64 gpa, u64 flags, u64 order)
{
	return uvmem_page_hcall(u, gpa, flags, 0, order, uvmem_page_out);
}

/* ---- memslot hooks, host faults, teardown -------------------------------- */

int kvmf_uvmem_memslot_create(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	struct kvmf_uvmem_slot *s;
	int r = 0;

	mutex_lock(&u->op_lock);
	/* A normal VM's slots are taken in at H_SVM_INIT_START. */
	if (u->state == KVMF_SVM_NORMAL)
		goto out;
	if (uvmem_slots_add(u, d, 1) != KVMF_H_SUCCESS) {
		r = -EINVAL;
		goto out;
	}
	/*
	 * New memory of a secure VM is secure at once; a transient VM's
	 * becomes so at H_SVM_INIT_DONE, unless paged in before.
	 */
	if (u->state == KVMF_SVM_SECURE) {
		s = uvmem_slot_by_id(u, d->id);
		r = uvmem_secure_rest(u, s);
	}
out:
	mutex_unlock(&u->op_lock);
	return r;
}

void kvmf_uvmem_memslot_delete(struct kvmf_uvmem *u, u32 id)
{
	struct kvmf_uvmem_slot *s;
	unsigned int failed = 0;

	mutex_lock(&u->op_lock);
	s = uvmem_slot_by_id(u, id);
	if (s) {
		/* The memory leaves the guest: contents are not worth paging out. */
		if (!uvmem_lock_pages(u)) {
			failed = uvmem_drop_pages(u, s, false);
			uvmem_unlock_pages(u);
		}
		uvmem_slot_remove(u, s, true);
	}
	mutex_unlock(&u->op_lock);
	if (failed)
		pr_warn_ratelimited("kvmfork: memslot %u deleted with %u secure pages left in place\n",
				    id, failed);
}

int kvmf_uvmem_host_fault(struct kvmf_uvmem *u, u64 gpa, unsigned long hva, void *fault)
{
	struct kvmf_uvmem_slot *s;
	bool secure;
	int r;

	mutex_lock(&u->lock);
	s = uvmem_slot_of(u, gpa);
	secure = s && (uvmem_get(u, s, gpa) & KVMF_UVMEM_DEV);
	/*
	 * A device page whose state is gone (its slot dropped while the page
	 * could not be moved) still comes back, empty, so that the host
	 * does not fault on it for ever.
	 */
	r = u->ops->page_out(u, hva, gpa, secure, fault);
	if (!r && secure)
		uvmem_set(u, s, gpa, KVMF_UVMEM_SECURE);
	mutex_unlock(&u->lock);
	return r;
}

void kvmf_uvmem_destroy(struct kvmf_uvmem *u)
{
	mutex_lock(&u->op_lock);
	if (u->state != KVMF_SVM_NORMAL) {
		uvmem_remove_all(u, false, false);
		u->ops->terminate(u);
		u->state = KVMF_SVM_NORMAL;
	}
	mutex_unlock(&u->op_lock);
	kvmf_uvmem_put(u);
}
