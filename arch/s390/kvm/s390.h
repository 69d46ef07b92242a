/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Calls between the files of the s390 backend: the arch ops (s390.c) and the
 * real Ultravisor behind the protected-virtualization commands (pv_uv.c).
 */
#ifndef KVMFORK_S390_H
#define KVMFORK_S390_H

#include <linux/types.h>

#include "pv.h"

struct kvmf_vm;

/* pv_uv.c */
extern const struct kvmf_s390_uv_ops kvmf_s390_uv_ops;

/*
 * Destroy Secure Configuration @handle of @vm: 0, or -EIO with the
 * Ultravisor's rc/rrc, in which case its storage stays donated (leaked).
 * VM mutex held, or the VM being torn down.
 */
int kvmf_s390_destroy_conf(struct kvmf_vm *vm, u64 handle, u16 *rc, u16 *rrc);

#endif /* KVMFORK_S390_H */
