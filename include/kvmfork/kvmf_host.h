/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The objects of the arch-neutral core (VMs, and later vCPUs and memslots)
 * and the calls between the core's files.  Arch state is embedded through
 * <kvmfork/arch.h>, which each architecture provides under
 * arch/<arch>/include/kvmfork/.
 */
#ifndef KVMFORK_KVMF_HOST_H
#define KVMFORK_KVMF_HOST_H

#include <linux/kvm.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/refcount.h>

#include <kvmfork/arch.h>

/* Pages of a vCPU fd's mmap: kvm_run, then the port I/O data page. */
#define KVMF_VCPU_MMAP_PAGES	(KVM_PIO_PAGE_OFFSET + 1)

/*
 * One virtual machine, created by KVM_CREATE_VM and alive while its fd (and,
 * later, any vCPU fd) is open.
 *
 * Locking: @lock serialises the VM ioctls that change VM-wide state; it is
 * taken killable by the ioctl dispatcher.  @mm and @arch's identity never
 * change after creation.
 */
struct kvmf_vm {
	refcount_t users;
	/* The creator's address space: ioctls from any other mm get -EIO. */
	struct mm_struct *mm;
	struct mutex lock;
	struct kvmf_arch_vm arch;
};

/* virt/kvm/vm.c */
int kvmf_vm_create_fd(unsigned long type);

/* virt/kvm/kvm_main.c: KVM_CHECK_EXTENSION; @vm is NULL on /dev/kvm. */
long kvmf_check_extension(struct kvmf_vm *vm, long cap);

/* virt/kvm/hardware.c */
int kvmf_hardware_enable_all(void);
void kvmf_hardware_disable_all(void);

#endif /* KVMFORK_KVMF_HOST_H */
