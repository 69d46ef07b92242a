/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: memcpy() and friends come from libc. */
#ifndef KVMF_SHIM_LINUX_STRING_H
#define KVMF_SHIM_LINUX_STRING_H

#include <string.h>

#endif /* KVMF_SHIM_LINUX_STRING_H */
