// SPDX-License-Identifier: GPL-2.0
/*
 * Reading guest memory from the vCPU thread: guest physical addresses
 * through the memslots (the vCPU thread runs in the VMM's mm, so the slot's
 * user address is read with copy_from_user), and guest linear addresses
 * through a walk of the guest's page tables in every paging mode (APM:
 * "Page Translation and Protection": legacy 32-bit, PAE, 4- and 5-level).
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#include <kvmfork/kvmf_host.h>

#include "guest_mem.h"

#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR_MASK	GENMASK_ULL(51, 12)

/*
 * Copies between @buf and guest physical memory, page by page through the
 * memslots.  Writes to read-only slots are refused: the guest could not
 * make them either.  Writes are recorded in the slot's dirty bitmap, if it
 * logs.
 */
static int guest_phys_copy(struct kvmf_vcpu *vcpu, u64 gpa, void *buf, unsigned int len,
			   bool write)
{
	struct kvmf_vm_mem *mem = &vcpu->vm->mem;
	int idx, r = 0;

	idx = srcu_read_lock(&mem->srcu);
	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(gpa));
		const struct kvmf_memslot *slot;
		void __user *uaddr;

		slot = kvmf_memslot_find_gfn(kvmf_memslots_get(mem), gpa >> PAGE_SHIFT);
		if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
			r = -EFAULT;
			break;
		}
		uaddr = (void __user *)(kvmf_memslot_gfn_to_hva(slot, gpa >> PAGE_SHIFT) +
					offset_in_page(gpa));
		if (write ? copy_to_user(uaddr, buf, chunk) : copy_from_user(buf, uaddr, chunk)) {
			r = -EFAULT;
			break;
		}
		/* After the data, so that a collector that takes the bit sees it. */
		if (write)
			kvmf_memslot_mark_dirty(slot, gpa >> PAGE_SHIFT);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	srcu_read_unlock(&mem->srcu, idx);
	return r;
}

int kvmf_x86_read_guest_phys(struct kvmf_vcpu *vcpu, u64 gpa, void *buf, unsigned int len)
{
	return guest_phys_copy(vcpu, gpa, buf, len, false);
}

int kvmf_x86_write_guest_phys(struct kvmf_vcpu *vcpu, u64 gpa, const void *buf,
			      unsigned int len)
{
	return guest_phys_copy(vcpu, gpa, (void *)buf, len, true);
}

/* #NPF error code bits (APM: "Nested versus Guest Page Faults"). */
#define NPF_P		BIT_ULL(0)
#define NPF_RSVD	BIT_ULL(3)

int kvmf_x86_npt_walk(struct kvmf_vcpu *vcpu, u64 ncr3, bool nxe, u64 gpa,
		      struct kvmf_x86_npt_walk *w)
{
	u64 rsvd = GENMASK_ULL(51, boot_cpu_data.x86_phys_bits) | (nxe ? 0 : PTE_NX);
	u64 table = ncr3 & PTE_ADDR_MASK;
	int level;

	*w = (struct kvmf_x86_npt_walk) { .writable = true, .executable = true };
	for (level = 4; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		u64 entry = 0;

		/* A table outside L1's memory reads as not present. */
		if (kvmf_x86_read_guest_phys(vcpu, table + ((gpa >> shift) & 511) * 8, &entry, 8) ||
		    !(entry & PTE_P))
			return -EFAULT;
		if ((entry & rsvd) || (level == 4 && (entry & PTE_PS))) {
			w->error = NPF_P | NPF_RSVD;
			return -EFAULT;
		}
		if (!(entry & PTE_US)) {
			w->error = NPF_P;
			return -EFAULT;
		}
		if (!(entry & PTE_RW))
			w->writable = false;
		if (entry & PTE_NX)
			w->executable = false;
		/* 1 GiB and 2 MiB pages. */
		if ((level == 3 || level == 2) && (entry & PTE_PS)) {
			u64 page_mask = (1ull << shift) - 1;

			w->gpa = (entry & PTE_ADDR_MASK & ~page_mask) | (gpa & page_mask);
			return 0;
		}
		table = entry & PTE_ADDR_MASK;
	}
	w->gpa = table | (gpa & 0xfff);
	return 0;
}

/*
 * A guest physical address of paging context @p as the memslots know it:
 * itself, or while L2 runs with nested paging, L1's through L1's table.
 */
static int guest_phys_of(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gpa,
			 u64 *out)
{
	struct kvmf_x86_npt_walk w;

	if (!p->nested_paging) {
		*out = gpa;
		return 0;
	}
	if (kvmf_x86_npt_walk(vcpu, p->ncr3, p->nested_nxe, gpa, &w))
		return -EFAULT;
	*out = w.gpa;
	return 0;
}

static int guest_read_pte(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gpa,
			  unsigned int size, u64 *pte)
{
	*pte = 0;
	if (guest_phys_of(vcpu, p, gpa, &gpa))
		return -EFAULT;
	return kvmf_x86_read_guest_phys(vcpu, gpa, pte, size);
}

/* Legacy 32-bit paging: two levels of 4-byte entries, 4 MiB pages with PSE. */
static int guest_walk_32(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u32 va,
			 u64 *gpa)
{
	u64 pde, pte;

	if (guest_read_pte(vcpu, p, (p->cr3 & 0xfffff000) + (va >> 22) * 4, 4, &pde) ||
	    !(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (p->cr4 & X86_CR4_PSE)) {
		*gpa = (pde & 0xffc00000) | (va & 0x3fffff);
		return 0;
	}
	if (guest_read_pte(vcpu, p, (pde & 0xfffff000) + ((va >> 12) & 0x3ff) * 4, 4, &pte) ||
	    !(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (va & 0xfff);
	return 0;
}

/*
 * PAE and long-mode paging: 8-byte entries, 9 index bits a level; @levels
 * is 3 (PAE: the top level has 4 entries, no large-page bit), 4 or 5.
 */
static int guest_walk_64(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 va,
			 int levels, u64 *gpa)
{
	u64 table = levels == 3 ? p->cr3 & GENMASK_ULL(31, 5) : p->cr3 & PTE_ADDR_MASK;
	int level;

	for (level = levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		unsigned int index = (va >> shift) & (level == 3 && levels == 3 ? 3 : 511);
		u64 entry;

		if (guest_read_pte(vcpu, p, table + index * 8, 8, &entry) || !(entry & PTE_P))
			return -EFAULT;
		/* 1 GiB and 2 MiB pages; the PAE top level has no such bit. */
		if (level > 1 && level < 4 && (entry & PTE_PS) && !(levels == 3 && level == 3)) {
			u64 page_mask = (1ull << shift) - 1;

			*gpa = (entry & PTE_ADDR_MASK & ~page_mask) | (va & page_mask);
			return 0;
		}
		table = entry & PTE_ADDR_MASK;
	}
	*gpa = table | (va & 0xfff);
	return 0;
}

/* @gva through the guest's own tables, to its own physical address. */
static int guest_walk(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gva, u64 *gpa)
{
	if (!(p->cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xffffffff;
		return 0;
	}
	if (p->efer & EFER_LMA)
		return guest_walk_64(vcpu, p, gva, (p->cr4 & X86_CR4_LA57) ? 5 : 4, gpa);
	if (p->cr4 & X86_CR4_PAE)
		return guest_walk_64(vcpu, p, (u32)gva, 3, gpa);
	return guest_walk_32(vcpu, p, gva, gpa);
}

int kvmf_x86_gva_to_gpa(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gva,
			u64 *gpa)
{
	if (guest_walk(vcpu, p, gva, gpa))
		return -EFAULT;
	return guest_phys_of(vcpu, p, *gpa, gpa);
}

/* Copies between @buf and guest linear memory, page by page through the guest's tables. */
static int guest_virt_copy(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gva,
			   void *buf, unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(gva));
		u64 gpa;
		int r;

		r = kvmf_x86_gva_to_gpa(vcpu, p, gva, &gpa);
		if (!r)
			r = guest_phys_copy(vcpu, gpa, buf, chunk, write);
		if (r)
			return r;
		gva += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int kvmf_x86_read_guest_virt(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gva,
			     void *buf, unsigned int len)
{
	return guest_virt_copy(vcpu, p, gva, buf, len, false);
}

int kvmf_x86_write_guest_virt(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p,
			      u64 gva, const void *buf, unsigned int len)
{
	return guest_virt_copy(vcpu, p, gva, (void *)buf, len, true);
}
