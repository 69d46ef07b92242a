// SPDX-License-Identifier: GPL-2.0
/*
 * The s390 backend: the arch ops the core calls.
 *
 * What kvmfork implements on s390 is the protected-virtualization (IBM
 * Secure Execution) command path of the VM fd, KVM_S390_PV_COMMAND
 * (pv_cmd.c, pv_uv.c): a VMM can create a secure configuration for a VM,
 * hand over the image's Secure Execution header, unpack and verify the
 * image, reset and destroy the configuration, and query the Ultravisor.
 *
 * Not implemented on s390: everything that runs a guest.  KVM_CREATE_VCPU
 * fails with -EOPNOTSUPP (so no vCPU fd, and no KVM_RUN, ever exists);
 * there are no interrupts, storage keys, CMMA, ucontrol VMs (KVM_CREATE_VM
 * type other than 0 gets -EINVAL) or KVM_PV_DUMP.  KVM_CHECK_EXTENSION
 * reports KVM_CAP_S390_PROTECTED and no other s390 capability.
 *
 * The module refuses to load unless the host has SIE and an enabled
 * Ultravisor: without them there would be nothing it could do.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/gmap.h>
#include <asm/pgtable.h>
#include <asm/sclp.h>
#include <asm/uv.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

#include "pv.h"
#include "s390.h"

/*
 * The system control area a secure configuration names: the extended
 * format (ESCA) that format-4 SIE needs, 256 bytes of header and 248 CPU
 * entries of 16 bytes.  (<asm/kvm_host.h>, where s390 KVM declares it,
 * cannot be included outside KVM.)
 */
#define KVMF_S390_SCA_SIZE	(256 + 248 * 16)

static int kvmf_s390_hardware_setup(void)
{
	if (!sclp.has_sief2) {
		pr_err("this machine has no SIE (interpretive execution facility 2): it cannot host guests\n");
		return -ENODEV;
	}
	if (!is_prot_virt_host()) {
		pr_err("the Ultravisor is not enabled (Secure Execution hardware, host booted with prot_virt=1): kvmfork on s390 serves protected VMs only\n");
		return -ENODEV;
	}
	return 0;
}

static void kvmf_s390_hardware_unsetup(void)
{
}

/* SIE needs no per-CPU switch, unlike SVM's EFER.SVME. */
static int kvmf_s390_cpu_enable(void)
{
	return 0;
}

static void kvmf_s390_cpu_disable(void)
{
}

static long kvmf_s390_check_extension(struct kvmf_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_S390_PROTECTED:	/* the module loads on PV hosts only */
		return 1;
	default:
		return 0;
	}
}

static int kvmf_s390_vm_init(struct kvmf_vm *vm, unsigned long type)
{
	struct kvmf_arch_vm *arch = &vm->arch;
	unsigned long limit;
	int r;

	if (type)
		return -EINVAL;

	/*
	 * A gmap is made of the VMM's own page tables, which must then carry
	 * page status table entries: this converts the VMM's address space,
	 * or fails if it was not started with room for them
	 * (vm.allocate_pgste, or the ELF marker s390 VMMs carry).
	 */
	r = s390_enable_sie();
	if (r)
		return r;

	/* Guest absolute addresses up to what the host's storage allows. */
	limit = TASK_SIZE_MAX;
	if (sclp.hamax != U64_MAX)
		limit = min_t(unsigned long, limit, sclp.hamax + 1);

	arch->gmap = gmap_create(vm->mm, limit - 1);
	if (!arch->gmap)
		return -ENOMEM;
	arch->sca = alloc_pages_exact(KVMF_S390_SCA_SIZE, GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!arch->sca) {
		gmap_remove(arch->gmap);
		return -ENOMEM;
	}
	vm->mem.max_gfn = (limit >> PAGE_SHIFT) - 1;
	arch->pv.ops = &kvmf_s390_uv_ops;
	return 0;
}

static void kvmf_s390_vm_destroy(struct kvmf_vm *vm)
{
	struct kvmf_arch_vm *arch = &vm->arch;
	bool leak_sca = false;
	u16 rc, rrc;

	/* The VMM closed the VM without KVM_PV_DISABLE: destroy it now. */
	if (kvmf_s390_pv_is_protected(&arch->pv))
		leak_sca = kvmf_s390_destroy_conf(vm, arch->pv.handle, &rc, &rrc) != 0;
	arch->pv.handle = 0;

	kvfree(arch->segs);
	gmap_remove(arch->gmap);
	/* A configuration the Ultravisor kept still names the SCA. */
	if (!leak_sca)
		free_pages_exact(arch->sca, KVMF_S390_SCA_SIZE);
}

/*
 * Guest mappings.  The gmap is made of the VMM's page tables, so host
 * changes to guest memory reach it with nothing to do here (s390 KVM uses
 * no MMU notifier for it either), and the segments of deleted or moved
 * memslots are dropped at the next PV command (pv_uv.c).  No vCPU runs, so
 * no guest access sets accessed or dirty state that kvmfork would keep.
 */
static void kvmf_s390_mmu_unmap_range(struct kvmf_vm *vm, u64 gfn, u64 npages, bool may_block)
{
}

static bool kvmf_s390_mmu_age_range(struct kvmf_vm *vm, u64 gfn, u64 npages,
				    enum kvmf_age_op op)
{
	return false;
}

static void kvmf_s390_mmu_log_dirty_enable(struct kvmf_vm *vm, u64 gfn, u64 npages,
					   bool protect)
{
}

static bool kvmf_s390_mmu_write_protect(struct kvmf_vm *vm, u64 gfn, u64 mask)
{
	return false;
}

static void kvmf_s390_mmu_flush(struct kvmf_vm *vm)
{
}

/* Not implemented on s390: only the PV command path is. */
static int kvmf_s390_vcpu_create(struct kvmf_vcpu *vcpu)
{
	pr_info_once("KVM_CREATE_VCPU: vCPUs are not implemented on s390, only protected-VM commands\n");
	return -EOPNOTSUPP;
}

/* Unreachable: no vCPU is ever created. */
static void kvmf_s390_vcpu_destroy(struct kvmf_vcpu *vcpu)
{
}

static int kvmf_s390_vcpu_run(struct kvmf_vcpu *vcpu)
{
	return -EOPNOTSUPP;
}

static struct page *kvmf_s390_vcpu_mmap_page(struct kvmf_vcpu *vcpu, unsigned long pgoff)
{
	return NULL;
}

static int kvmf_s390_get_regs(struct kvmf_vcpu *vcpu, struct kvm_regs *regs)
{
	return -EOPNOTSUPP;
}

static int kvmf_s390_set_regs(struct kvmf_vcpu *vcpu, const struct kvm_regs *regs)
{
	return -EOPNOTSUPP;
}

static int kvmf_s390_get_sregs(struct kvmf_vcpu *vcpu, struct kvm_sregs *sregs)
{
	return -EOPNOTSUPP;
}

static int kvmf_s390_set_sregs(struct kvmf_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return -EOPNOTSUPP;
}

/* Called with vm->lock held: the commands are serialised per VM. */
static long kvmf_s390_vm_pv_command(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vm *vm = obj;

	return kvmf_s390_pv_command(&vm->arch.pv, (struct kvm_pv_cmd __user *)arg);
}

static const struct kvmf_ioctl kvmf_s390_vm_ioctls[] = {
	/* rc and rrc go back to userspace on failure too: the handler copies. */
	{ KVM_S390_PV_COMMAND, kvmf_s390_vm_pv_command,
	  KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
};

static const struct kvmf_ioctl_table kvmf_s390_vm_ioctl_table =
	KVMF_IOCTL_TABLE(kvmf_s390_vm_ioctls, -ENOTTY);

const struct kvmf_arch_ops kvmf_arch_ops = {
	.name			= "s390 protected virtualization",
	.vm_ioctls		= &kvmf_s390_vm_ioctl_table,
	.hardware_setup		= kvmf_s390_hardware_setup,
	.hardware_unsetup	= kvmf_s390_hardware_unsetup,
	.cpu_enable		= kvmf_s390_cpu_enable,
	.cpu_disable		= kvmf_s390_cpu_disable,
	.check_extension	= kvmf_s390_check_extension,
	.vm_init		= kvmf_s390_vm_init,
	.vm_destroy		= kvmf_s390_vm_destroy,
	.mmu_unmap_range	= kvmf_s390_mmu_unmap_range,
	.mmu_age_range		= kvmf_s390_mmu_age_range,
	.mmu_log_dirty_enable	= kvmf_s390_mmu_log_dirty_enable,
	.mmu_write_protect	= kvmf_s390_mmu_write_protect,
	.mmu_flush		= kvmf_s390_mmu_flush,
	.vcpu_create		= kvmf_s390_vcpu_create,
	.vcpu_destroy		= kvmf_s390_vcpu_destroy,
	.vcpu_run		= kvmf_s390_vcpu_run,
	.vcpu_mmap_page		= kvmf_s390_vcpu_mmap_page,
	.get_regs		= kvmf_s390_get_regs,
	.set_regs		= kvmf_s390_set_regs,
	.get_sregs		= kvmf_s390_get_sregs,
	.set_sregs		= kvmf_s390_set_sregs,
};
