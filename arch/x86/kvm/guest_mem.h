/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading guest memory by physical and by linear address.
 */
#ifndef KVMFORK_GUEST_MEM_H
#define KVMFORK_GUEST_MEM_H

#include <linux/types.h>

struct kvmf_vcpu;

#include <kvmfork/kvmf_host.h>

/* 0, or -EFAULT when a page is outside every memslot or unreadable. */
int kvmf_x86_read_guest_phys(struct kvmf_vcpu *vcpu, u64 gpa, void *buf, unsigned int len);
/* 0, or -EFAULT when a level of the walk is not present or not in memory. */
int kvmf_x86_gva_to_gpa(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gva,
			u64 *gpa);
int kvmf_x86_read_guest_virt(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p, u64 gva,
			     void *buf, unsigned int len);
/*
 * A walk of a nested page table (the AMD64 4-level format) for guest
 * physical address @gpa of L2.  Every access of a nested walk counts as a
 * user access (APM: "Nested Paging"), so U/S must be set at every level.
 */
struct kvmf_x86_npt_walk {
	u64 gpa;		/* L1's guest physical address */
	bool writable;		/* R/W at every level */
	bool executable;	/* no NX at any level (with @nxe) */
	/* When the walk fails: the #NPF error code bits P and RSVD it found. */
	u64 error;
};

/* 0, or -EFAULT with w->error when a level is not present, not user or reserved. */
int kvmf_x86_npt_walk(struct kvmf_vcpu *vcpu, u64 ncr3, bool nxe, u64 gpa,
		      struct kvmf_x86_npt_walk *w);

/* Writes through the guest's mappings; read-only slots refuse with -EFAULT. */
int kvmf_x86_write_guest_phys(struct kvmf_vcpu *vcpu, u64 gpa, const void *buf,
			      unsigned int len);
int kvmf_x86_write_guest_virt(struct kvmf_vcpu *vcpu, const struct kvmf_x86_paging *p,
			      u64 gva, const void *buf, unsigned int len);

#endif /* KVMFORK_GUEST_MEM_H */
