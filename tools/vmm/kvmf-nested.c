// SPDX-License-Identifier: GPL-2.0
/*
 * kvmf-nested: a VMM whose guest is itself a hypervisor.  Its 64-bit L1
 * guest (nested_guest.S) runs an L2 guest with VMRUN; L2 prints a line
 * through L1, which intercepts L2's VMMCALLs and writes each byte to debug
 * port 0xe9.  The nested part of `make demo`.
 *
 * The VMM gives the vCPU the CPUID that /dev/kvm supports (so SVM is
 * offered, as KVM requires before a guest may set EFER.SVME), and lays out
 * the VMCB for L2 in guest memory the way a boot loader hands over a data
 * structure: L2 runs in L1's own address space, with L1's segments and page
 * tables, and its own RIP and stack.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm.h"

#define MEM_SIZE	0x200000ul
#define PML4_GPA	0x1000ul
#define PDPT_GPA	0x2000ul
#define PD_GPA		0x3000ul
#define CODE_GPA	0x10000ul
#define VMCB_GPA	0x20000ul
#define HSAVE_GPA	0x21000ul
#define L1_STACK_TOP	0x30000ul
#define L2_STACK_TOP	0x40000ul
#define DEBUG_PORT	0xe9
#define MAX_CPUID	256

extern const unsigned char nested_guest_start[], nested_guest_end[];
extern const uint64_t nested_guest_l2_offset;

/* The parts of a VMCB (APM "VMCB Layout") that L1 hands to VMRUN. */
struct vmcb_seg {
	uint16_t selector, attrib;
	uint32_t limit;
	uint64_t base;
};

#define VMCB_INTERCEPT_MISC1	0x00c
#define VMCB_INTERCEPT_MISC2	0x010
#define VMCB_ASID		0x058
#define VMCB_SAVE		0x400
#define SAVE_ES			0x000
#define SAVE_CS			0x010
#define SAVE_SS			0x020
#define SAVE_DS			0x030
#define SAVE_GDTR		0x060
#define SAVE_IDTR		0x080
#define SAVE_EFER		0x0d0
#define SAVE_CR4		0x148
#define SAVE_CR3		0x150
#define SAVE_CR0		0x158
#define SAVE_DR7		0x160
#define SAVE_DR6		0x168
#define SAVE_RFLAGS		0x170
#define SAVE_RIP		0x178
#define SAVE_RSP		0x1d8
#define SAVE_G_PAT		0x268

#define INTERCEPT_HLT		(1u << 24)	/* MISC1 */
#define INTERCEPT_VMRUN		(1u << 0)	/* MISC2 */
#define INTERCEPT_VMMCALL	(1u << 1)	/* MISC2 */
#define EFER_SVME		0x1000ull

static void put32(unsigned char *vmcb, unsigned int off, uint32_t v)
{
	memcpy(vmcb + off, &v, sizeof(v));
}

static void put64(unsigned char *vmcb, unsigned int off, uint64_t v)
{
	memcpy(vmcb + off, &v, sizeof(v));
}

static void put_seg(unsigned char *vmcb, unsigned int off, const struct kvm_segment *s)
{
	struct vmcb_seg v = {
		.selector = s->selector, .limit = s->limit, .base = s->base,
		.attrib = s->type | s->s << 4 | s->dpl << 5 | s->present << 7 | s->avl << 8 |
			  s->l << 9 | s->db << 10 | s->g << 11,
	};

	memcpy(vmcb + VMCB_SAVE + off, &v, sizeof(v));
}

static void flat_segment(struct kvm_segment *seg, int selector, int code)
{
	*seg = (struct kvm_segment) {
		.limit = 0xffffffff, .selector = selector, .type = code ? 11 : 3,
		.present = 1, .s = 1, .g = 1, .db = !code, .l = code,
	};
}

/* 64-bit mode with the first 2 MiB identity-mapped. */
static void set_long_mode(int vcpu, unsigned char *mem, struct kvm_sregs *sregs)
{
	uint64_t *pt;

	if (ioctl(vcpu, KVM_GET_SREGS, sregs) < 0)
		vmm_die("KVM_GET_SREGS");
	flat_segment(&sregs->cs, 8, 1);
	flat_segment(&sregs->ds, 16, 0);
	sregs->es = sregs->ss = sregs->ds;
	pt = (uint64_t *)(mem + PML4_GPA);
	pt[0] = PDPT_GPA | 3;
	pt = (uint64_t *)(mem + PDPT_GPA);
	pt[0] = PD_GPA | 3;
	pt = (uint64_t *)(mem + PD_GPA);
	pt[0] = 0x83;					/* 2 MiB page at 0 */
	sregs->cr3 = PML4_GPA;
	sregs->cr4 = 0x20;				/* PAE */
	sregs->cr0 = 0x80000011;			/* PG | PE | ET */
	sregs->efer = 0x500;				/* LME | LMA */
	if (ioctl(vcpu, KVM_SET_SREGS, sregs) < 0)
		vmm_die("KVM_SET_SREGS");
}

/* What /dev/kvm supports, SVM included, becomes the vCPU's CPUID. */
static int set_supported_cpuid(int kvm, int vcpu)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					  MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	int svm = 0;
	unsigned int i;

	if (!cpuid)
		vmm_die("calloc");
	cpuid->nent = MAX_CPUID;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		vmm_die("KVM_GET_SUPPORTED_CPUID");
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0x80000001)
			svm = cpuid->entries[i].ecx & (1u << 2);
	if (ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0)
		vmm_die("KVM_SET_CPUID2");
	free(cpuid);
	return svm;
}

/* The VMCB for L2: L1's mode and address space, L2's own RIP and stack. */
static void build_vmcb(unsigned char *vmcb, const struct kvm_sregs *sregs)
{
	put32(vmcb, VMCB_INTERCEPT_MISC1, INTERCEPT_HLT);
	put32(vmcb, VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN | INTERCEPT_VMMCALL);
	put32(vmcb, VMCB_ASID, 1);
	put_seg(vmcb, SAVE_ES, &sregs->es);
	put_seg(vmcb, SAVE_CS, &sregs->cs);
	put_seg(vmcb, SAVE_SS, &sregs->ss);
	put_seg(vmcb, SAVE_DS, &sregs->ds);
	put32(vmcb, VMCB_SAVE + SAVE_GDTR + 4, sregs->gdt.limit);
	put64(vmcb, VMCB_SAVE + SAVE_GDTR + 8, sregs->gdt.base);
	put32(vmcb, VMCB_SAVE + SAVE_IDTR + 4, sregs->idt.limit);
	put64(vmcb, VMCB_SAVE + SAVE_IDTR + 8, sregs->idt.base);
	put64(vmcb, VMCB_SAVE + SAVE_EFER, sregs->efer | EFER_SVME);
	put64(vmcb, VMCB_SAVE + SAVE_CR0, sregs->cr0);
	put64(vmcb, VMCB_SAVE + SAVE_CR3, sregs->cr3);
	put64(vmcb, VMCB_SAVE + SAVE_CR4, sregs->cr4);
	put64(vmcb, VMCB_SAVE + SAVE_DR6, 0xffff0ff0);
	put64(vmcb, VMCB_SAVE + SAVE_DR7, 0x400);
	put64(vmcb, VMCB_SAVE + SAVE_RFLAGS, 2);
	put64(vmcb, VMCB_SAVE + SAVE_RIP, CODE_GPA + nested_guest_l2_offset);
	put64(vmcb, VMCB_SAVE + SAVE_RSP, L2_STACK_TOP);
	put64(vmcb, VMCB_SAVE + SAVE_G_PAT, 0x0007040600070406ull);
}

int main(void)
{
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rsp = L1_STACK_TOP, .rflags = 2,
		.rbx = VMCB_GPA, .r12 = HSAVE_GPA,
	};
	unsigned int exits;
	struct kvm_sregs sregs;
	struct vmm vmm;

	setvbuf(stdout, NULL, _IONBF, 0);
	vmm.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vmm.kvm < 0)
		vmm_die("open /dev/kvm");
	vmm_create(&vmm, MEM_SIZE);
	memcpy(vmm.mem + CODE_GPA, nested_guest_start, nested_guest_end - nested_guest_start);
	if (!set_supported_cpuid(vmm.kvm, vmm.vcpu)) {
		fprintf(stderr, "kvmf-nested: /dev/kvm does not offer SVM to guests (nested=0?)\n");
		return 1;
	}
	set_long_mode(vmm.vcpu, vmm.mem, &sregs);
	build_vmcb(vmm.mem + VMCB_GPA, &sregs);
	if (ioctl(vmm.vcpu, KVM_SET_REGS, &regs) < 0)
		vmm_die("KVM_SET_REGS");

	exits = vmm_run_console(&vmm, DEBUG_PORT);
	printf("(L1 halted after %u exits to userspace)\n", exits);
	return 0;
}
