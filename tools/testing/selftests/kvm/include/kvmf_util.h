/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: helpers around /dev/kvm and the module serving it.
 * The same tests run against kvmfork and against Debian's kvm_amd.
 */
#ifndef KVMF_UTIL_H
#define KVMF_UTIL_H

#include <stdbool.h>
#include <linux/kvm.h>

/* Opens /dev/kvm read-write; fails the case if it cannot. */
int kvmf_open_dev(void);

/* KVM_CREATE_VM of the default type; fails the case on error. */
int kvmf_create_vm(int kvm_fd);

/* The module whose refcount VM fds pin: "kvmfork", or "kvm_amd" for stock KVM. */
const char *kvmf_vm_owner_module(void);

/* /sys/module/<name>/refcnt, or -1 if it cannot be read. */
long kvmf_module_refcnt(const char *name);

/* A field of /proc/meminfo in KiB, or -1. */
long kvmf_meminfo_kib(const char *field);

#endif /* KVMF_UTIL_H */
