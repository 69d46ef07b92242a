/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Calls between the files of the powerpc backend: the arch ops (powerpc.c)
 * and the device pages and Ultravisor calls behind the secure-memory state
 * machine (uvmem_dev.c).
 */
#ifndef KVMFORK_PPC_H
#define KVMFORK_PPC_H

#include <linux/types.h>

#include "uvmem.h"

struct kvmf_vm;
struct kvmf_memslot_update;

/* uvmem_dev.c */
extern const struct kvmf_uvmem_ops kvmf_ppc_uvmem_ops;

/*
 * Hot-plugs device-private memory as large as the machine's secure memory,
 * to stand for secure guest pages: 0, or -ENODEV (no secure memory) or
 * another errno, with one log line.  Module load and unload.
 */
int kvmf_ppc_secmem_init(void);
void kvmf_ppc_secmem_exit(void);

/* powerpc.c */

/*
 * The secure-memory hypercalls (H_SVM_*) of @vm's guest, with their
 * arguments (R4 onwards): a PAPR return code.  For the hypercall exit of
 * the vCPU run loop, which kvmfork does not have on powerpc yet.
 */
long kvmf_ppc_svm_hcall(struct kvmf_vm *vm, unsigned long nr, const unsigned long *args);

/*
 * A memslot change of @vm was published: the secure-memory memslot hooks
 * (the memslot_commit arch op).  vm->lock held.
 */
void kvmf_ppc_memslot_commit(struct kvmf_vm *vm, const struct kvmf_memslot_update *u);

#endif /* KVMFORK_PPC_H */
