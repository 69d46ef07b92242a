/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 state embedded in the core's objects.  Vendor (SVM) state hangs off
 * these through pointers owned by the vendor backend.
 */
#ifndef KVMFORK_X86_ARCH_H
#define KVMFORK_X86_ARCH_H

struct kvmf_arch_vm {
	/* The vendor backend's per-VM state (struct kvmf_svm_vm for SVM). */
	void *vendor;
};

#endif /* KVMFORK_X86_ARCH_H */
