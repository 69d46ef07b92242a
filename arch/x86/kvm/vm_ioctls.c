// SPDX-License-Identifier: GPL-2.0
/*
 * x86 VM ioctls that need nothing of kvmfork's vendor backends.
 *
 * KVM_SET_GSI_ROUTING: GSI routes feed an in-kernel interrupt controller
 * (and irqfd, MSI injection), which kvmfork does not have yet.  KVM on x86
 * refuses the ioctl on a VM without one (-EINVAL, after reading the
 * header: -EFAULT for a bad pointer), and so does kvmfork; the capability
 * reports KVM's table size, as KVM reports it on every x86 VM, and VMMs
 * (QEMU) refuse to start without it.
 *
 * KVM_GET_CLOCK and KVM_SET_CLOCK live with kvmclock (kvmclock.c), KVM_GET/
 * SET_TSC_KHZ with the TSC rate (tsc.c).
 *
 * And two that only place guest memory for a backend's own use:
 * KVM_SET_TSS_ADDR (the real-mode TSS VMX needs to run real mode) and
 * KVM_SET_IDENTITY_MAP_ADDR (VMX's identity-mapped page table for
 * unpaged protected mode).  SVM runs those modes natively and needs
 * neither, so kvmfork accepts them as KVM does on AMD: with KVM's checks,
 * and nothing to set up.  VMMs (QEMU) call them unconditionally.
 */
#include <linux/mm.h>
#include <linux/uaccess.h>

#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

#include "x86.h"

static long kvmf_vm_set_gsi_routing(void *obj, void *data, unsigned long arg)
{
	struct kvm_irq_routing hdr;

	if (copy_from_user(&hdr, (const void __user *)arg, sizeof(hdr)))
		return -EFAULT;
	/* No in-kernel irqchip (KVM_CREATE_IRQCHIP): nothing to route to. */
	return -EINVAL;
}

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
	{ KVM_SET_GSI_ROUTING,	     kvmf_vm_set_gsi_routing,
	  KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
	{ KVM_SET_TSS_ADDR,	     kvmf_vm_set_tss_addr,	     KVMF_IOCTL_LOCKED },
	{ KVM_GET_TSC_KHZ,	     kvmf_vm_get_tsc_khz,	     KVMF_IOCTL_LOCKED },
	{ KVM_SET_TSC_KHZ,	     kvmf_vm_set_tsc_khz,	     KVMF_IOCTL_LOCKED },
	{ KVM_GET_CLOCK,	     kvmf_vm_get_clock,		     KVMF_IOCTL_LOCKED },
	{ KVM_SET_CLOCK,	     kvmf_vm_set_clock,		     KVMF_IOCTL_LOCKED },
	{ KVM_SET_IDENTITY_MAP_ADDR, kvmf_vm_set_identity_map_addr, KVMF_IOCTL_LOCKED },
};

const struct kvmf_ioctl_table kvmf_x86_vm_ioctls =
	KVMF_IOCTL_TABLE(kvmf_x86_vm_ioctl_entries, -ENOTTY);
