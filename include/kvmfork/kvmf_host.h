/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The objects of the arch-neutral core (VMs, and later vCPUs and memslots)
 * and the calls between the core's files.  Arch state is embedded through
 * <kvmfork/arch.h>, which each architecture provides under
 * arch/<arch>/include/kvmfork/.
 */
#ifndef KVMFORK_KVMF_HOST_H
#define KVMFORK_KVMF_HOST_H

#include <linux/kvm.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/signal_types.h>

#include <kvmfork/memslot.h>

#include <kvmfork/arch.h>

/* Pages of a vCPU fd's mmap: kvm_run, then the arch's (x86: the port I/O page). */
#define KVMF_VCPU_MMAP_PAGES	KVMF_ARCH_VCPU_MMAP_PAGES

/* KVM_CAP_MAX_VCPUS and KVM_CAP_MAX_VCPU_ID: x86 KVM's figures in 6.1. */
#define KVMF_MAX_VCPUS		1024
#define KVMF_MAX_VCPU_IDS	4096

struct kvmf_vm;

/*
 * One virtual CPU, created by KVM_CREATE_VCPU.  It lives as long as its VM:
 * the vCPU fd holds a reference on the VM, and the VM frees its vCPUs.
 *
 * Locking: @mutex serialises the vCPU ioctls (KVM_RUN included); everything
 * below it is touched only with @mutex held, or by the VM's destruction when
 * no fd is left.
 */
struct kvmf_vcpu {
	struct kvmf_vm *vm;
	u32 vcpu_id;
	struct mutex mutex;
	/* Shared with userspace through mmap of the vCPU fd, page 0. */
	struct kvm_run *run;
	/* KVM_SET_SIGNAL_MASK: blocked signals while the guest runs. */
	bool sigmask_active;
	sigset_t sigmask;
	struct kvmf_arch_vcpu arch;
};

/*
 * One virtual machine, created by KVM_CREATE_VM and alive while its fd (and,
 * later, any vCPU fd) is open.
 *
 * Locking: @lock serialises the VM ioctls that change VM-wide state; it is
 * taken killable by the ioctl dispatcher.  @mm and @arch's identity never
 * change after creation.
 */
struct kvmf_vm {
	refcount_t users;
	/* The creator's address space: ioctls from any other mm get -EIO. */
	struct mm_struct *mm;
	/*
	 * Registered on @mm from creation to destruction: host changes to
	 * guest memory remove the guest's mappings (virt/kvm/mmu_notifier.c).
	 */
	struct mmu_notifier mmu_notifier;
	struct mutex lock;
	/* Guest memory slots; updated under @lock, read under mem.srcu. */
	struct kvmf_vm_mem mem;
	/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags enabled; under @lock. */
	u64 dirty_log_manual;
	/*
	 * Created vCPUs, in creation order; written under @lock.  Others
	 * (kicks from MMU notifiers) read @nr_vcpus with acquire and see every
	 * vCPU below it: kvmf_vm_nr_vcpus().
	 */
	struct kvmf_vcpu *vcpus[KVMF_MAX_VCPUS];
	unsigned int nr_vcpus;
	struct kvmf_arch_vm arch;
};

/* How many of vm->vcpus[] are set, for readers without vm->lock. */
static inline unsigned int kvmf_vm_nr_vcpus(struct kvmf_vm *vm)
{
	return smp_load_acquire(&vm->nr_vcpus);
}

/* virt/kvm/vm.c */
int kvmf_vm_create_fd(unsigned long type);
void kvmf_vm_get(struct kvmf_vm *vm);
void kvmf_vm_put(struct kvmf_vm *vm);

/* virt/kvm/vcpu.c */
long kvmf_vcpu_create_fd(struct kvmf_vm *vm, u32 id);
void kvmf_vcpu_destroy(struct kvmf_vcpu *vcpu);

/* virt/kvm/kvm_main.c: KVM_CHECK_EXTENSION; @vm is NULL on /dev/kvm. */
long kvmf_check_extension(struct kvmf_vm *vm, long cap);

/* virt/kvm/mmu_notifier.c */
int kvmf_mmu_notifier_register(struct kvmf_vm *vm);
void kvmf_mmu_notifier_unregister(struct kvmf_vm *vm);

/* virt/kvm/dirty_log.c: VM ioctls, called with vm->lock held. */
long kvmf_vm_get_dirty_log(struct kvmf_vm *vm, const struct kvm_dirty_log *log);
long kvmf_vm_clear_dirty_log(struct kvmf_vm *vm, const struct kvm_clear_dirty_log *log);
long kvmf_vm_enable_cap_dirty_log(struct kvmf_vm *vm, const struct kvm_enable_cap *cap);
/* A slot started logging (flags change, published): write-protect it. */
void kvmf_dirty_log_slot_enabled(struct kvmf_vm *vm, const struct kvmf_memslot *slot);
/* The flags KVM_CHECK_EXTENSION(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) reports. */
#define KVMF_DIRTY_LOG_MANUAL_CAPS \
	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)

/* virt/kvm/hardware.c */
int kvmf_hardware_enable_all(void);
void kvmf_hardware_disable_all(void);

#endif /* KVMFORK_KVMF_HOST_H */
