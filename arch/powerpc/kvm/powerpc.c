// SPDX-License-Identifier: GPL-2.0
/*
 * The powerpc backend: the arch ops the core calls.
 *
 * What kvmfork holds on powerpc is the hypervisor side of secure guests on
 * Ultravisor-enabled POWER9/POWER10 hosts (Protected Execution Facility):
 * the secure-memory state machine (uvmem.c) with its device pages and
 * Ultravisor calls (uvmem_dev.c), reached through the H_SVM_* hypercalls
 * (kvmf_ppc_svm_hcall()) and the memslot hooks (kvmf_ppc_memslot_commit()).
 *
 * Not implemented on powerpc: everything that runs a guest.  KVM_CREATE_VCPU
 * fails with -EOPNOTSUPP, so no guest ever makes a hypercall and the
 * state machine is only reached by its unit tests; KVM_CHECK_EXTENSION
 * reports no powerpc capability (KVM_CAP_PPC_SECURE_GUEST included) and
 * KVM_ENABLE_CAP of it fails with -EINVAL.  PR VMs (KVM_VM_PPC_PR) are
 * refused.
 *
 * The module refuses to load unless the host runs in hypervisor mode with
 * the radix MMU, 64 KiB pages, an Ultravisor and secure memory.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/idr.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <asm/cputable.h>
#include <asm/firmware.h>
#include <asm/mmu.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/kvmf_host.h>

#include "powerpc.h"
#include "uvmem.h"

/* Guest real addresses: the 52 bits a radix partition-scoped tree maps. */
#define KVMF_PPC_GPA_BITS	52

/* Partition ids handed to VMs; 0 is the host's, the last one reserved. */
static DEFINE_IDA(kvmf_ppc_lpids);

static int kvmf_ppc_hardware_setup(void)
{
	if (PAGE_SHIFT != KVMF_UVMEM_PAGE_SHIFT) {
		pr_err("the host's pages are not 64 KiB: the Ultravisor pages secure guests in 64 KiB pages\n");
		return -ENODEV;
	}
	if (!cpu_has_feature(CPU_FTR_HVMODE)) {
		pr_err("the host does not run in hypervisor mode: it cannot host guests\n");
		return -ENODEV;
	}
	if (!radix_enabled()) {
		pr_err("the host does not use the radix MMU, which secure guests need\n");
		return -ENODEV;
	}
	if (!firmware_has_feature(FW_FEATURE_ULTRAVISOR)) {
		pr_err("no Ultravisor: kvmfork on powerpc serves secure guests only\n");
		return -ENODEV;
	}
	return kvmf_ppc_secmem_init();
}

static void kvmf_ppc_hardware_unsetup(void)
{
	kvmf_ppc_secmem_exit();
}

/* Hypervisor mode is always on: nothing to switch per CPU. */
static int kvmf_ppc_cpu_enable(void)
{
	return 0;
}

static void kvmf_ppc_cpu_disable(void)
{
}

/* No guest can run, so no capability is true, KVM_CAP_PPC_SECURE_GUEST neither. */
static long kvmf_ppc_check_extension(struct kvmf_vm *vm, long cap)
{
	return 0;
}

static int kvmf_ppc_vm_init(struct kvmf_vm *vm, unsigned long type)
{
	int lpid;

	if (type != 0 && type != KVM_VM_PPC_HV)
		return -EINVAL;

	lpid = ida_alloc_range(&kvmf_ppc_lpids, 1, (1U << mmu_lpid_bits) - 2, GFP_KERNEL);
	if (lpid < 0)
		return lpid == -ENOSPC ? -ENOMEM : lpid;
	vm->arch.lpid = lpid;

	vm->arch.uvmem = kvmf_uvmem_create(&kvmf_ppc_uvmem_ops, vm);
	if (!vm->arch.uvmem) {
		ida_free(&kvmf_ppc_lpids, lpid);
		return -ENOMEM;
	}
	vm->mem.max_gfn = (1ULL << (KVMF_PPC_GPA_BITS - PAGE_SHIFT)) - 1;
	return 0;
}

static void kvmf_ppc_vm_destroy(struct kvmf_vm *vm)
{
	kvmf_uvmem_destroy(vm->arch.uvmem);
	ida_free(&kvmf_ppc_lpids, vm->arch.lpid);
}

static void kvmf_ppc_slot_desc(const struct kvmf_memslot *slot, struct kvmf_uvmem_slot_desc *d)
{
	d->id = slot->id;
	d->gpa = slot->base_gfn << PAGE_SHIFT;
	d->size = slot->npages << PAGE_SHIFT;
	d->hva = slot->userspace_addr;
}

void kvmf_ppc_memslot_commit(struct kvmf_vm *vm, const struct kvmf_memslot_update *u)
{
	struct kvmf_uvmem_slot_desc d;
	int r;

	/* A moved slot is a delete and a create for the Ultravisor. */
	if (u->change == KVMF_MR_DELETE || u->change == KVMF_MR_MOVE)
		kvmf_uvmem_memslot_delete(vm->arch.uvmem, u->old->id);
	if (u->change == KVMF_MR_CREATE || u->change == KVMF_MR_MOVE) {
		kvmf_ppc_slot_desc(u->new, &d);
		r = kvmf_uvmem_memslot_create(vm->arch.uvmem, &d);
		if (r)
			pr_warn_ratelimited("memslot %u cannot back secure guest memory (%d)\n",
					    d.id, r);
	}
}

/* H_SVM_INIT_START sees the memslots of one moment. */
static long kvmf_ppc_h_svm_init_start(struct kvmf_vm *vm)
{
	struct kvmf_uvmem_slot_desc *descs;
	struct kvmf_memslot *const *slots;
	struct kvmf_memslots *set;
	long ret = KVMF_H_STATE;
	int idx;
	u32 i;

	/*
	 * Inside the read section, so that a memslot change published after
	 * this snapshot reaches its hook only once the VM is transient.
	 */
	idx = srcu_read_lock(&vm->mem.srcu);
	set = kvmf_memslots_get(&vm->mem);
	slots = kvmf_memslots_by_gfn(set);
	descs = kvmalloc_array(max_t(u32, set->nr, 1), sizeof(*descs), GFP_KERNEL);
	if (descs) {
		for (i = 0; i < set->nr; i++)
			kvmf_ppc_slot_desc(slots[i], &descs[i]);
		ret = kvmf_uvmem_h_svm_init_start(vm->arch.uvmem, descs, set->nr);
		kvfree(descs);
	}
	srcu_read_unlock(&vm->mem.srcu, idx);
	return ret;
}

long kvmf_ppc_svm_hcall(struct kvmf_vm *vm, unsigned long nr, const unsigned long *args)
{
	struct kvmf_uvmem *u = vm->arch.uvmem;

	switch (nr) {
	case KVMF_H_SVM_INIT_START:
		return kvmf_ppc_h_svm_init_start(vm);
	case KVMF_H_SVM_INIT_DONE:
		return kvmf_uvmem_h_svm_init_done(u);
	case KVMF_H_SVM_INIT_ABORT:
		return kvmf_uvmem_h_svm_init_abort(u);
	case KVMF_H_SVM_PAGE_IN:
		return kvmf_uvmem_h_svm_page_in(u, args[0], args[1], args[2]);
	case KVMF_H_SVM_PAGE_OUT:
		return kvmf_uvmem_h_svm_page_out(u, args[0], args[1], args[2]);
	default:
		return KVMF_H_UNSUPPORTED;
	}
}

/*
 * Guest mappings: no partition-scoped page table exists, since no vCPU
 * runs.  Device pages standing for secure pages go with the VMM's own page
 * tables, and report their release themselves (uvmem_dev.c).
 */
static void kvmf_ppc_mmu_unmap_range(struct kvmf_vm *vm, u64 gfn, u64 npages, bool may_block)
{
}

static bool kvmf_ppc_mmu_age_range(struct kvmf_vm *vm, u64 gfn, u64 npages,
				   enum kvmf_age_op op)
{
	return false;
}

static void kvmf_ppc_mmu_log_dirty_enable(struct kvmf_vm *vm, u64 gfn, u64 npages,
					  bool protect)
{
}

static bool kvmf_ppc_mmu_write_protect(struct kvmf_vm *vm, u64 gfn, u64 mask)
{
	return false;
}

static void kvmf_ppc_mmu_flush(struct kvmf_vm *vm)
{
}

/* Not implemented on powerpc: only the secure-memory side is. */
static int kvmf_ppc_vcpu_create(struct kvmf_vcpu *vcpu)
{
	pr_info_once("KVM_CREATE_VCPU: vCPUs are not implemented on powerpc, only secure memory\n");
	return -EOPNOTSUPP;
}

/* Unreachable: no vCPU is ever created. */
static void kvmf_ppc_vcpu_destroy(struct kvmf_vcpu *vcpu)
{
}

static int kvmf_ppc_vcpu_run(struct kvmf_vcpu *vcpu)
{
	return -EOPNOTSUPP;
}

static struct page *kvmf_ppc_vcpu_mmap_page(struct kvmf_vcpu *vcpu, unsigned long pgoff)
{
	return NULL;
}

static int kvmf_ppc_get_regs(struct kvmf_vcpu *vcpu, struct kvm_regs *regs)
{
	return -EOPNOTSUPP;
}

static int kvmf_ppc_set_regs(struct kvmf_vcpu *vcpu, const struct kvm_regs *regs)
{
	return -EOPNOTSUPP;
}

static int kvmf_ppc_get_sregs(struct kvmf_vcpu *vcpu, struct kvm_sregs *sregs)
{
	return -EOPNOTSUPP;
}

static int kvmf_ppc_set_sregs(struct kvmf_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return -EOPNOTSUPP;
}

const struct kvmf_arch_ops kvmf_arch_ops = {
	.name			= "powerpc secure memory",
	.hardware_setup		= kvmf_ppc_hardware_setup,
	.hardware_unsetup	= kvmf_ppc_hardware_unsetup,
	.cpu_enable		= kvmf_ppc_cpu_enable,
	.cpu_disable		= kvmf_ppc_cpu_disable,
	.check_extension	= kvmf_ppc_check_extension,
	.vm_init		= kvmf_ppc_vm_init,
	.vm_destroy		= kvmf_ppc_vm_destroy,
	.mmu_unmap_range	= kvmf_ppc_mmu_unmap_range,
	.mmu_age_range		= kvmf_ppc_mmu_age_range,
	.mmu_log_dirty_enable	= kvmf_ppc_mmu_log_dirty_enable,
	.mmu_write_protect	= kvmf_ppc_mmu_write_protect,
	.mmu_flush		= kvmf_ppc_mmu_flush,
	.memslot_commit		= kvmf_ppc_memslot_commit,
	.vcpu_create		= kvmf_ppc_vcpu_create,
	.vcpu_destroy		= kvmf_ppc_vcpu_destroy,
	.vcpu_run		= kvmf_ppc_vcpu_run,
	.vcpu_mmap_page		= kvmf_ppc_vcpu_mmap_page,
	.get_regs		= kvmf_ppc_get_regs,
	.set_regs		= kvmf_ppc_set_regs,
	.get_sregs		= kvmf_ppc_get_sregs,
	.set_sregs		= kvmf_ppc_set_sregs,
};
