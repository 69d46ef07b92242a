/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Secure-guest memory on Ultravisor-enabled POWER (Protected Execution
 * Facility): which guest pages are secure, and the hypercalls by which the
 * Ultravisor moves pages between normal and secure memory (uvmem.c).
 *
 * The state machine in uvmem.c uses portable kernel APIs only; page
 * migration and Ultravisor calls sit behind struct kvmf_uvmem_ops (the real
 * ones in uvmem_dev.c, built for powerpc only; a fake in uvmem_test.c), so
 * that it is built, and unit-tested, on any architecture.
 */
#ifndef KVMFORK_PPC_UVMEM_H
#define KVMFORK_PPC_UVMEM_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/*
 * PAPR hypercall return codes and the secure-memory hypercalls, with the
 * values PAPR and the Ultravisor's hypervisor interface fix (the powerpc
 * build checks them against <asm/hvcall.h>; this header must also build
 * where that does not exist).
 */
#define KVMF_H_SUCCESS		0
#define KVMF_H_PARAMETER	(-4)
#define KVMF_H_AUTHORITY	(-10)
#define KVMF_H_P2		(-55)
#define KVMF_H_P3		(-56)
#define KVMF_H_UNSUPPORTED	(-67)
#define KVMF_H_STATE		(-75)

#define KVMF_H_SVM_PAGE_IN	0xEF00
#define KVMF_H_SVM_PAGE_OUT	0xEF04
#define KVMF_H_SVM_INIT_START	0xEF08
#define KVMF_H_SVM_INIT_DONE	0xEF0C
#define KVMF_H_SVM_INIT_ABORT	0xEF14

/* H_SVM_PAGE_IN flags: the page is to be shared with the hypervisor. */
#define KVMF_H_PAGE_IN_SHARED	0x1

/*
 * The only page size the Ultravisor pages in and out: 64 KiB, the base page
 * size of a POWER host that runs secure guests.  Requests of any other
 * order fail with H_P3.
 */
#define KVMF_UVMEM_PAGE_SHIFT	16
#define KVMF_UVMEM_PAGE_SIZE	(1ULL << KVMF_UVMEM_PAGE_SHIFT)

/*
 * The state of each 64 KiB guest page, one word per page:
 *
 *   0                       normal: the hypervisor's, never encrypted
 *   SECURE | DEV | token    secure, its content in secure memory; a device
 *                           page (token: the backend's name for it) stands
 *                           for it in the VMM's page tables
 *   SECURE                  secure, but paged out: its content sits
 *                           encrypted in normal memory
 *   SHARED                  shared between guest and hypervisor, in normal
 *                           memory, unencrypted
 */
#define KVMF_UVMEM_SECURE	BIT_ULL(63)
#define KVMF_UVMEM_DEV		BIT_ULL(62)
#define KVMF_UVMEM_SHARED	BIT_ULL(61)
#define KVMF_UVMEM_TOKEN	GENMASK_ULL(60, 0)

/* Where a VM is on its way to being secure. */
enum kvmf_svm_state {
	KVMF_SVM_NORMAL,	/* no H_SVM_INIT_START yet, or aborted */
	KVMF_SVM_TRANSIENT,	/* between H_SVM_INIT_START and _DONE */
	KVMF_SVM_SECURE,	/* H_SVM_INIT_DONE succeeded */
};

/* A memslot as the secure-memory code needs it. */
struct kvmf_uvmem_slot_desc {
	u32 id;
	u64 gpa;
	u64 size;
	unsigned long hva;
};

/* A memslot registered with the Ultravisor, and its pages' states. */
struct kvmf_uvmem_slot {
	struct list_head list;
	struct kvmf_uvmem_slot_desc desc;
	/* Some VMA of the slot was mergeable when it was taken out of KSM. */
	bool was_mergeable;
	/* desc.size / KVMF_UVMEM_PAGE_SIZE words, under uvmem->state_lock. */
	u64 *pages;
};

struct kvmf_uvmem;

/*
 * Page migration and Ultravisor calls, called with uvmem->op_lock held;
 * those that move pages also with the VMM's mmap lock held for reading
 * (taken through @mm_lock) and uvmem->lock.
 */
struct kvmf_uvmem_ops {
	/*
	 * The VMM's mmap lock, for reading, killable: 0, -EINTR, or -ESRCH
	 * when the VMM's address space is gone (and its pages with it).
	 */
	int (*mm_lock)(struct kvmf_uvmem *u);
	void (*mm_unlock)(struct kvmf_uvmem *u);
	/*
	 * Takes the memory of @nr slots out of KSM, all or none, and says in
	 * @mergeable[i] how many VMAs of slot i were mergeable; or puts one
	 * slot's memory back (mm/ksm_unmerge.h).  0 or -errno (-EINTR for a
	 * fatal signal, -EFAULT for memory not mapped), with no VMA changed.
	 * Called without the mmap lock or uvmem->lock: they take the mmap
	 * lock for writing.
	 */
	int (*ksm_unmerge)(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d,
			   unsigned int nr, unsigned int *mergeable);
	void (*ksm_remerge)(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d);
	/* UV_REGISTER_MEM_SLOT, UV_UNREGISTER_MEM_SLOT.  0 or -errno. */
	int (*register_slot)(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d);
	void (*unregister_slot)(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d);
	/*
	 * Moves the page at @hva into a new device page that stands for the
	 * secure page @gpa.  With @copy the Ultravisor gets its content
	 * (UV_PAGE_IN); without, it gets none (it never asked for the page).
	 * Returns the device page's token (>= 0), or -errno with nothing
	 * changed.
	 */
	long (*page_in)(struct kvmf_uvmem *u, unsigned long hva, u64 gpa, bool copy);
	/*
	 * Moves the secure page @gpa from its device page at @hva back into
	 * a new normal page: with @copy the Ultravisor writes the content
	 * (UV_PAGE_OUT), else the new page is zeroed.  @fault: the host's
	 * fault on the device page that asks for this, or NULL.  0; -ENOENT if
	 * no device page of @u for @gpa is at @hva (the host dropped it);
	 * another -errno with nothing changed.
	 */
	int (*page_out)(struct kvmf_uvmem *u, unsigned long hva, u64 gpa, bool copy,
			void *fault);
	/* Gives the Ultravisor the normal page at @hva to share as @gpa. */
	int (*share)(struct kvmf_uvmem *u, unsigned long hva, u64 gpa);
	/* UV_SVM_TERMINATE: the Ultravisor forgets the secure VM. */
	void (*terminate)(struct kvmf_uvmem *u);
};

/*
 * The secure-memory state of one VM.  Reference-counted: the VM holds one
 * reference, and so does every device page standing for one of its secure
 * pages, whose release (possibly after the VM is gone) reports back here.
 *
 * Locking, outermost first:
 *  - @op_lock serialises the hypercalls, the memslot hooks and teardown,
 *    and protects @state and @svm_enabled; it is taken before the VMM's
 *    mmap lock, which KSM unmerging takes for writing under it;
 *  - the VMM's mmap lock, for reading (ops->mm_lock), around page moves;
 *  - @lock serialises page moves, including those of the host's faults on
 *    device pages, which come with the mmap lock already held;
 *  - @state_lock, a spinlock, protects the page-state words; a device page
 *    may be freed, and report here, in atomic context.
 * The slot list changes with @op_lock, @lock and @state_lock all held, so
 * holding any one of them keeps it still.
 */
struct kvmf_uvmem {
	const struct kvmf_uvmem_ops *ops;
	/* The backend's per-VM data. */
	void *priv;
	refcount_t refs;
	struct mutex op_lock;
	struct mutex lock;
	spinlock_t state_lock;
	enum kvmf_svm_state state;
	/* KVM_CAP_PPC_SECURE_GUEST enabled: the VM may go secure. */
	bool svm_enabled;
	struct list_head slots;
};

/* A VM's state, normal, with one reference; NULL if out of memory. */
struct kvmf_uvmem *kvmf_uvmem_create(const struct kvmf_uvmem_ops *ops, void *priv);
void kvmf_uvmem_get(struct kvmf_uvmem *u);
/* Drops a reference; the last frees @u (never sleeps: may run atomic). */
void kvmf_uvmem_put(struct kvmf_uvmem *u);
/*
 * VM teardown: every secure page dropped (not paged out), the Ultravisor
 * told, slots unregistered and forgotten, and the VM's reference dropped.
 */
void kvmf_uvmem_destroy(struct kvmf_uvmem *u);

/*
 * The hypercalls; each returns a PAPR code (KVMF_H_*).  H_SVM_INIT_START
 * takes the VM's memslots, read by the caller in one consistent view.
 */
long kvmf_uvmem_h_svm_init_start(struct kvmf_uvmem *u,
				 const struct kvmf_uvmem_slot_desc *slots, unsigned int nr);
long kvmf_uvmem_h_svm_init_done(struct kvmf_uvmem *u);
long kvmf_uvmem_h_svm_init_abort(struct kvmf_uvmem *u);
long kvmf_uvmem_h_svm_page_in(struct kvmf_uvmem *u, u64 gpa, u64 flags, u64 order);
long kvmf_uvmem_h_svm_page_out(struct kvmf_uvmem *u, u64 gpa, u64 flags, u64 order);

/*
 * Memslot hooks, called once a memslot change is published.  A slot created
 * while the VM is on its way to secure is registered with the Ultravisor
 * (and, for a secure VM, all its pages made secure); a deleted slot's
 * secure pages are dropped and the slot unregistered.  Both 0 or -errno;
 * the slot change itself stands either way.
 */
int kvmf_uvmem_memslot_create(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d);
void kvmf_uvmem_memslot_delete(struct kvmf_uvmem *u, u32 id);

/*
 * The host touched a device page standing for secure page @gpa at @hva
 * (its fault, @fault, holds the mmap lock): the content comes back from
 * the Ultravisor, paged out.  0 or -errno.
 */
int kvmf_uvmem_host_fault(struct kvmf_uvmem *u, u64 gpa, unsigned long hva, void *fault);

/*
 * A device page (@token) that stood for secure page @gpa was freed: if the
 * state still names it, the page's content is out of secure memory (paged
 * out).  Never sleeps.
 */
void kvmf_uvmem_dev_page_freed(struct kvmf_uvmem *u, u64 gpa, u64 token);

#endif /* KVMFORK_PPC_UVMEM_H */
