// SPDX-License-Identifier: GPL-2.0
/*
 * Nested paging for L2: the shadow of L1's nested page table.
 *
 * With nested paging on in VMCB12, an L2 guest physical address goes
 * through L1's nested page table (NPT) to an L1 guest physical address, and
 * through kvmfork's own table (tdp_mmu.c) to host memory.  The CPU walks
 * one nested table, so vmcb02 points at a shadow table that maps L2's
 * addresses straight to host pages.  It is built on demand, a 4 KiB leaf
 * per #NPF, from a walk of L1's table (kvmf_x86_npt_walk()) and kvmfork's
 * leaf for the L1 address (kvmf_tdp_leaf()).  A walk that L1's table does
 * not allow is L1's #NPF.
 *
 * A shadow leaf copies two translations, and goes when either may change:
 * - L1's: a CPU may cache nested translations in its TLB, so L1 flushes
 *   (TLB_CONTROL, a new ASID, INVLPGA) after changing its table.  The whole
 *   shadow goes on each of those, and when VMRUN names another table.
 *   Entries L1 adds need no flush: L2 faults on them, and the walk sees them.
 * - kvmfork's: removing a leaf or its write access moves the TDP flush
 *   generation.  The shadow is as old as the generation it was last
 *   emptied in; it goes before L2 runs if the generation moved since, and
 *   the entry path checks again with interrupts off, after publishing
 *   where it runs, like the ASID check (svm_run.c).
 *
 * The shadow belongs to its vCPU: only the vCPU's thread builds it, drops
 * it and runs on it, so it needs no lock.  It has no accessed bits of its
 * own that page aging would see, and L1's table gets no accessed or dirty
 * bits from kvmfork's walks.  L1 must be in long mode to use nested paging
 * (its table then has the 4-level format, the only one walked here).
 */
#include <linux/mm.h>
#include <asm/io.h>

#include "../guest_mem.h"
#include "../tdp_mmu.h"
#include "../x86.h"
#include "svm.h"

#define SNPT_P		BIT_ULL(0)
#define SNPT_RW		BIT_ULL(1)
#define SNPT_US		BIT_ULL(2)
#define SNPT_A		BIT_ULL(5)
#define SNPT_D		BIT_ULL(6)
#define SNPT_NX		BIT_ULL(63)
#define SNPT_ADDR_MASK	GENMASK_ULL(51, 12)
#define SNPT_TABLE	(SNPT_P | SNPT_RW | SNPT_US)
#define SNPT_LEVELS	4
/* Table pages one shadow may have (8 MiB) before it starts over. */
#define SNPT_MAX_PAGES	2048

static u64 *snpt_table_of(u64 entry)
{
	return phys_to_virt(entry & SNPT_ADDR_MASK);
}

static void snpt_free_below(u64 *table, int level)
{
	unsigned int i;

	for (i = 0; level > 1 && i < PTRS_PER_PTE; i++) {
		if (!(table[i] & SNPT_P))
			continue;
		snpt_free_below(snpt_table_of(table[i]), level - 1);
		free_page((unsigned long)snpt_table_of(table[i]));
	}
}

/* Empties the shadow; the next entry takes a fresh ASID, so no translation of it survives. */
void svm_nested_npt_zap(struct kvmf_svm_vcpu *svm)
{
	struct kvmf_svm_nested *n = &svm->nested;

	if (!n->snpt_root || n->snpt_pages == 1)
		return;
	snpt_free_below(n->snpt_root, SNPT_LEVELS);
	memset(n->snpt_root, 0, PAGE_SIZE);
	n->snpt_pages = 1;
	svm->asid_generation = 0;
}

void svm_nested_npt_free(struct kvmf_svm_vcpu *svm)
{
	struct kvmf_svm_nested *n = &svm->nested;

	if (!n->snpt_root)
		return;
	svm_nested_npt_zap(svm);
	free_page((unsigned long)n->snpt_root);
	n->snpt_root = NULL;
	n->snpt_pages = 0;
}

static u64 snpt_generation(struct kvmf_vcpu *vcpu)
{
	return atomic64_read(&vcpu->vm->arch.tdp.flush_generation);
}

/* The shadow's root, allocated with the rest of the nested state. */
int svm_nested_npt_alloc(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_nested *n = &to_svm(vcpu)->nested;

	n->snpt_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!n->snpt_root)
		return -ENOMEM;
	n->snpt_pages = 1;
	n->snpt_generation = snpt_generation(vcpu);
	return 0;
}

/*
 * At VMRUN, or a restore into guest mode, with nested paging: the shadow
 * for vmcb02, emptied if L1 asked for a flush or changed its table or ASID
 * since it was built (@flush: a restore, which knows nothing of before).
 * Returns the physical address of its root.
 */
u64 svm_nested_npt_enter(struct kvmf_vcpu *vcpu, bool flush)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	const struct vmcb_control_area *c12 = &n->ctl12;

	if (flush || c12->tlb_control != SVM_TLB_CONTROL_NONE ||
		   c12->nested_cr3 != n->snpt_ncr3 || c12->asid != n->snpt_asid) {
		svm_nested_npt_zap(svm);
	}
	n->snpt_ncr3 = c12->nested_cr3;
	n->snpt_asid = c12->asid;
	return virt_to_phys(n->snpt_root);
}

/* Before entering L2, preemptible: a shadow older than kvmfork's last change goes. */
void svm_nested_npt_check(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	u64 generation = snpt_generation(vcpu);

	if (!n->guest_mode || !n->npt || n->snpt_generation == generation)
		return;
	svm_nested_npt_zap(svm);
	n->snpt_generation = generation;
}

/* With interrupts off, after publishing the CPU: whether a change came in since the check. */
bool svm_nested_npt_stale(struct kvmf_vcpu *vcpu)
{
	const struct kvmf_svm_nested *n = &to_svm(vcpu)->nested;

	return n->guest_mode && n->npt && n->snpt_generation != snpt_generation(vcpu);
}

/* Installs @leaf for L2 address @gpa, with the tables above it. */
static int snpt_install(struct kvmf_svm_vcpu *svm, u64 gpa, u64 leaf)
{
	struct kvmf_svm_nested *n = &svm->nested;
	u64 *table;
	int level;

	if (n->snpt_pages + SNPT_LEVELS - 1 > SNPT_MAX_PAGES)
		svm_nested_npt_zap(svm);
	table = n->snpt_root;
	for (level = SNPT_LEVELS; level > 1; level--) {
		u64 *entry = &table[(gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_PTE - 1)];

		if (!(*entry & SNPT_P)) {
			u64 *page = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

			if (!page)
				return -ENOMEM;
			n->snpt_pages++;
			*entry = virt_to_phys(page) | SNPT_TABLE;
		}
		table = snpt_table_of(*entry);
	}
	table[(gpa >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] = leaf;
	return 0;
}

/*
 * A nested page fault of L2 with nested paging: L1's, if L1's table does
 * not allow the access (EXITINFO1 with what the walk found, and whether
 * the CPU was at L2's final address or walking L2's tables); otherwise
 * kvmfork maps the L1 address as for L1 itself and copies its leaf into
 * the shadow.  No memory at the L1 address: L2's access is emulated, and
 * goes to userspace as MMIO at that address.
 */
int svm_nested_npf(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_nested *n = &svm->nested;
	struct vmcb_control_area *c = &svm->vmcb->control;
	u64 l2_gpa = c->exit_info_2, error = c->exit_info_1;
	bool write = error & SVM_NPF_WRITE, fetch = error & SVM_NPF_FETCH;
	struct kvmf_x86_npt_walk w;
	struct kvmf_x86_cpu_mode m;
	u64 hpa, generation, leaf;
	bool host_writable;
	int r;

	if (kvmf_x86_npt_walk(vcpu, n->ctl12.nested_cr3, n->l1_nxe, l2_gpa, &w) ||
	    (write && !w.writable) || (fetch && !w.executable)) {
		if (!w.error)
			w.error = (write && !w.writable) || (fetch && !w.executable) ?
				  SVM_NPF_PRESENT : 0;
		c->exit_info_1 = w.error | SVM_NPF_USER | (write ? SVM_NPF_WRITE : 0) |
				 (fetch ? SVM_NPF_FETCH : 0) |
				 (error & (SVM_NPF_FINAL_GPA | SVM_NPF_TABLE_WALK));
		c->next_rip = 0;
		return svm_nested_vmexit(vcpu);
	}

	r = kvmf_tdp_fault(vcpu->vm, w.gpa, write);
	if (r < 0) {
		if (r == -EINTR)
			vcpu->run->exit_reason = KVM_EXIT_INTR;
		return r;
	}
	if (r == KVMF_TDP_RETRY)
		return KVMF_EXIT_RESUME;
	if (r == KVMF_TDP_MMIO) {
		svm_get_cpu_mode(vcpu, &m);
		return kvmf_x86_emulate_mmio(vcpu, &m);
	}

	/* Gone again already: L2 faults again. */
	if (kvmf_tdp_leaf(vcpu->vm, w.gpa, &hpa, &host_writable, &generation))
		return KVMF_EXIT_RESUME;
	if (generation != n->snpt_generation) {
		svm_nested_npt_zap(svm);
		n->snpt_generation = generation;
	}
	leaf = hpa | SNPT_P | SNPT_US | SNPT_A |
	       (w.writable && host_writable ? SNPT_RW | SNPT_D : 0) |
	       (w.executable ? 0 : SNPT_NX);
	r = snpt_install(svm, l2_gpa, leaf);
	return r ? r : KVMF_EXIT_RESUME;
}
