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
struct page;
struct kvmf_ioctl_table;

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
	 * A memslot was deleted or moved and no vCPU can see it any more:
	 * drop every guest mapping of its old range.  May sleep.
	 */
	void (*memslot_unmap)(struct kvmf_vm *vm, const struct kvmf_memslot *old);

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
