/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one seam between the arch-neutral core and an architecture backend.
 * The core never looks inside struct kvmf_arch_vm; the backend never looks
 * inside the core's objects beyond what is passed to it.
 */
#ifndef KVMFORK_ARCH_OPS_H
#define KVMFORK_ARCH_OPS_H

struct kvmf_vm;

struct kvmf_arch_ops {
	const char *name;

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
};

/* Provided by exactly one architecture backend. */
extern const struct kvmf_arch_ops kvmf_arch_ops;

#endif /* KVMFORK_ARCH_OPS_H */
