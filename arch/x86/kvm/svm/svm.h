/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM backend: state shared by the backend's files.
 */
#ifndef KVMFORK_SVM_H
#define KVMFORK_SVM_H

#include <linux/types.h>

/* APM: VM_CR MSR, bit SVMDIS: firmware has disabled SVM (EFER.SVME cannot be set). */
#define KVMF_VM_CR_SVMDIS	BIT_ULL(4)

/* One per physical CPU. */
struct kvmf_svm_cpu {
	/* The host save area whose address goes into MSR_VM_HSAVE_PA. */
	struct page *hsave;
	/* Whether kvmfork set EFER.SVME on this CPU (and so must clear it). */
	bool enabled;
};

#endif /* KVMFORK_SVM_H */
