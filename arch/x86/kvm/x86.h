/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seam between x86 common code and a vendor backend (SVM today).  x86
 * common code calls the backend only through struct kvmf_x86_vendor_ops.
 */
#ifndef KVMFORK_X86_H
#define KVMFORK_X86_H

struct kvmf_vm;

struct kvmf_x86_vendor_ops {
	const char *name;

	/* Whether this backend can drive the boot CPU; prints why not. */
	int (*probe)(void);
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);

	int (*vm_init)(struct kvmf_vm *vm);
	void (*vm_destroy)(struct kvmf_vm *vm);
};

extern const struct kvmf_x86_vendor_ops kvmf_svm_vendor_ops;

#endif /* KVMFORK_X86_H */
