/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one seam between the arch-neutral core and an architecture backend.
 * The core never looks inside struct kvmf_arch_vm; the backend never looks
 * inside the core's objects beyond what is passed to it.
 */
#ifndef KVMFORK_ARCH_OPS_H
#define KVMFORK_ARCH_OPS_H

#include <linux/kvm.h>

struct kvmf_vm;
struct kvmf_vcpu;
struct kvmf_memslot;
struct kvmf_memslot_update;
struct page;
struct kvmf_ioctl_table;

/* What mmu_age_range does besides telling whether pages were accessed. */
enum kvmf_age_op {
	KVMF_AGE_TEST,		/* nothing */
	KVMF_AGE_CLEAR,		/* clear the accessed state; TLBs may keep it */
	KVMF_AGE_CLEAR_FLUSH,	/* clear it, and make vCPUs drop cached translations */
};

struct kvmf_arch_ops {
	const char *name;

	/*
	 * The arch's own ioctls on /dev/kvm (obj NULL), VM fds (obj: the VM)
	 * and vCPU fds (obj: the vCPU); NULL if none.  Looked up after the
	 * core's, with the same dispatcher and locking rules (include/kvmfork/ioctl.h).
	 */
	const struct kvmf_ioctl_table *dev_ioctls;
	const struct kvmf_ioctl_table *vm_ioctls;
	const struct kvmf_ioctl_table *vcpu_ioctls;

	/*
	 * Module load and unload: check that the CPU can run guests (print one
	 * line saying why not, and return an errno, if it cannot) and set up
	 * what every CPU will need.  May sleep.
	 */
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);

	/*
	 * Turn virtualization on or off on the calling CPU.  Called from the
	 * CPU-hotplug thread pinned to that CPU, or from an IPI on reboot;
	 * cpu_disable must be harmless on a CPU that is already off.
	 */
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);

	/* Arch part of KVM_CHECK_EXTENSION: 0 for anything not implemented. */
	long (*check_extension)(struct kvmf_vm *vm, long cap);

	/* KVM_CREATE_VM: validate @type and set up vm->arch. */
	int (*vm_init)(struct kvmf_vm *vm, unsigned long type);
	void (*vm_destroy)(struct kvmf_vm *vm);
	/*
	 * KVM_ENABLE_CAP on a VM fd for a capability the core does not own,
	 * with vm->lock held and cap->flags already checked to be 0; NULL
	 * if the arch has none (every such capability then gets -EINVAL).
	 */
	int (*vm_enable_cap)(struct kvmf_vm *vm, const struct kvm_enable_cap *cap);

	/*
	 * Guest mappings (nested page tables).  The core calls these when the
	 * host side of guest memory changes: MMU-notifier invalidations and
	 * release (virt/kvm/mmu_notifier.c), memslot deletes and moves, dirty
	 * logging (virt/kvm/dirty_log.c).  Frames are absolute guest frame
	 * numbers; ranges lie inside one slot.
	 *
	 * mmu_unmap_range: drop every mapping of [@gfn, @gfn + @npages); when
	 * it returns, no vCPU can reach the pages they mapped any more, not
	 * even through a TLB.  With @may_block false (a non-blocking MMU
	 * notifier call: the OOM reaper) it must not sleep, and it cannot
	 * fail: a notifier that returns -EAGAIN may not have an
	 * invalidate_range_end, and the core needs one.
	 */
	void (*mmu_unmap_range)(struct kvmf_vm *vm, u64 gfn, u64 npages, bool may_block);
	/*
	 * Page aging for the host's reclaim: whether any page of the range
	 * was accessed through a guest mapping since the last clear, and
	 * clear that state too for KVMF_AGE_CLEAR*.  Called from atomic
	 * context (the host's page-table lock held): never sleeps.
	 */
	bool (*mmu_age_range)(struct kvmf_vm *vm, u64 gfn, u64 npages, enum kvmf_age_op op);
	/*
	 * Dirty logging.  The arch keeps mappings of a logging slot writable
	 * only while the page's dirty bit is set, and sets the bit (with
	 * kvmf_memslot_mark_dirty()) before it grants write access.
	 *
	 * mmu_log_dirty_enable: the slot at [@gfn, @gfn + @npages) started
	 * logging (published, SRCU grace period passed); make every write
	 * from now on fault, unless !@protect (all bits start set), and
	 * flush.  mmu_write_protect: take write access away from the mappings
	 * of @gfn + i for every bit i set in @mask; returns whether any
	 * mapping changed, and the caller then calls mmu_flush before relying
	 * on it.  mmu_flush: every vCPU drops cached guest translations.  All
	 * three may sleep.
	 */
	void (*mmu_log_dirty_enable)(struct kvmf_vm *vm, u64 gfn, u64 npages, bool protect);
	bool (*mmu_write_protect)(struct kvmf_vm *vm, u64 gfn, u64 mask);
	void (*mmu_flush)(struct kvmf_vm *vm);
	/*
	 * A memslot change is published and the core has dropped the old
	 * slot's mappings: the arch's own per-slot state follows (powerpc's
	 * secure-memory tracking).  With vm->lock held; may sleep.  NULL if
	 * the arch keeps none.
	 */
	void (*memslot_commit)(struct kvmf_vm *vm, const struct kvmf_memslot_update *u);

	/* KVM_CREATE_VCPU, after the core checked the id; and VM teardown. */
	int (*vcpu_create)(struct kvmf_vcpu *vcpu);
	void (*vcpu_destroy)(struct kvmf_vcpu *vcpu);

	/*
	 * KVM_RUN: first finish what the last exit left to userspace (the data
	 * of an IN, an MMIO read), then return -EINTR if run->immediate_exit
	 * is set; else run until an exit to userspace (return 0, with
	 * vcpu->run->exit_reason set) or an error (negative errno; -EINTR
	 * with KVM_EXIT_INTR for a pending signal).
	 */
	int (*vcpu_run)(struct kvmf_vcpu *vcpu);

	/* The arch's pages of the vCPU mmap beyond kvm_run (page 0); NULL if none. */
	struct page *(*vcpu_mmap_page)(struct kvmf_vcpu *vcpu, unsigned long pgoff);

	/* vCPU state ioctls; all called with vcpu->mutex held. */
	int (*get_regs)(struct kvmf_vcpu *vcpu, struct kvm_regs *regs);
	int (*set_regs)(struct kvmf_vcpu *vcpu, const struct kvm_regs *regs);
	int (*get_sregs)(struct kvmf_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct kvmf_vcpu *vcpu, const struct kvm_sregs *sregs);
};

/* Provided by exactly one architecture backend. */
extern const struct kvmf_arch_ops kvmf_arch_ops;

#endif /* KVMFORK_ARCH_OPS_H */
