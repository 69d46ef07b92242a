/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: the uapi <linux/types.h> plus the kernel-internal type
 * names the pure memslot code uses.  Found before the system headers
 * through -Ishim, so <linux/kvm.h> reaches the real one through here too.
 */
#ifndef KVMF_SHIM_LINUX_TYPES_H
#define KVMF_SHIM_LINUX_TYPES_H

#include_next <linux/types.h>

#include <stdbool.h>
#include <stddef.h>

typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#endif /* KVMF_SHIM_LINUX_TYPES_H */
