// SPDX-License-Identifier: GPL-2.0
/*
 * x86 VM ioctls that only place guest memory for a backend's own use:
 * KVM_SET_TSS_ADDR (the real-mode TSS VMX needs to run real mode) and
 * KVM_SET_IDENTITY_MAP_ADDR (VMX's identity-mapped page table for
 * unpaged protected mode).  SVM runs those modes natively and needs
 * neither, so kvmfork accepts them as KVM does on AMD: with KVM's checks,
 * and nothing to set up.  VMMs (QEMU) call them unconditionally.
 */
#include <linux/mm.h>

#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* KVM's limit: the three pages from the address on must lie below 4 GiB. */
#define KVMF_TSS_ADDR_MAX	((unsigned int)(-3 * PAGE_SIZE))

static long kvmf_vm_set_tss_addr(void *obj, void *data, unsigned long arg)
{
	if (arg > KVMF_TSS_ADDR_MAX)
		return -EINVAL;
	return 0;
}

/* Only before the first vCPU, as on KVM. */
static long kvmf_vm_set_identity_map_addr(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vm *vm = obj;

	if (kvmf_vm_nr_vcpus(vm))
		return -EINVAL;
	return 0;
}

static const struct kvmf_ioctl kvmf_x86_vm_ioctl_entries[] = {
	{ KVM_SET_TSS_ADDR,	     kvmf_vm_set_tss_addr,	     KVMF_IOCTL_LOCKED },
	{ KVM_SET_IDENTITY_MAP_ADDR, kvmf_vm_set_identity_map_addr, KVMF_IOCTL_LOCKED },
};

const struct kvmf_ioctl_table kvmf_x86_vm_ioctls =
	KVMF_IOCTL_TABLE(kvmf_x86_vm_ioctl_entries, -ENOTTY);
