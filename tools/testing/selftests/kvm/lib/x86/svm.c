// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM helpers for guest code that runs a nested guest: see x86/svm.h.
 * Everything below the host-side part runs in the guest (L1): no libc, and
 * nothing that makes the compiler call memset or memcpy.
 */
#include <sys/ioctl.h>

#include "kvmf_test.h"
#include "x86/processor.h"
#include "x86/svm.h"

#define PAGE_SIZE	4096ul
#define HUGE_2M		(2ull << 20)

/* svm->npt: the nested page tables, a page each. */
enum { NPT_PML4, NPT_PDPT, NPT_PD, NPT_PT, NPT_PAGES };
#define NPT_ENTRIES	512
#define NPT_SPAN	(1ull << 30)	/* what one PD maps */

/* ---- Host side ---- */

struct kvmf_svm *kvmf_svm_alloc(struct kvmf_guest_vm *vm)
{
	uint64_t gpa = kvmf_guest_alloc_pages(vm, 1);
	struct kvmf_svm *svm = KVMF_SVM_HOST_PTR(vm, gpa);

	KVMF_ASSERT(sizeof(*svm) <= PAGE_SIZE, "struct kvmf_svm is too big");
	svm->vmcb = (void *)kvmf_guest_alloc_pages(vm, 1);
	svm->hsave = (void *)kvmf_guest_alloc_pages(vm, 1);
	svm->msrpm = (void *)kvmf_guest_alloc_pages(vm, SVM_MSRPM_PAGES);
	svm->iopm = (void *)kvmf_guest_alloc_pages(vm, SVM_IOPM_PAGES);
	svm->scratch = (void *)kvmf_guest_alloc_pages(vm, 1);
	svm->npt = (void *)kvmf_guest_alloc_pages(vm, NPT_PAGES);
	svm->l2_stack_top = kvmf_guest_alloc_pages(vm, KVMF_SVM_L2_STACK_PAGES) +
			    KVMF_SVM_L2_STACK_PAGES * PAGE_SIZE;
	return (struct kvmf_svm *)gpa;
}

void kvmf_svm_set_cpuid(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu)
{
	const struct kvm_cpuid2 *t = kvmf_supported_cpuid(vm->kvm);
	const struct kvm_cpuid_entry2 *e = kvmf_cpuid_entry(t, 0x80000001, 0);

	if (!e || !(e->ecx & CPUID_EXT1_ECX_SVM))
		kvmf_skip("KVM_GET_SUPPORTED_CPUID has no SVM: no nested SVM here");
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_CPUID2, t));
}

uint32_t kvmf_svm_supported_features(int kvm_fd)
{
	const struct kvm_cpuid_entry2 *e = kvmf_cpuid_entry(kvmf_supported_cpuid(kvm_fd),
							    0x8000000a, 0);

	return e ? e->edx : 0;
}

/* ---- Guest side ---- */

int64_t kvmf_svm_msrpm_bit(uint32_t msr)
{
	/* Three ranges of 0x2000 MSRs, each 2 KiB of the map, 2 bits per MSR. */
	static const uint32_t range_start[3] = { 0, 0xc0000000u, 0xc0010000u };
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (msr - range_start[i] < 0x2000)
			return (int64_t)i * 0x800 * 8 + (msr - range_start[i]) * 2;
	return -1;
}

void kvmf_svm_intercept_msr(struct kvmf_svm *svm, uint32_t msr, bool read, bool write)
{
	int64_t bit = kvmf_svm_msrpm_bit(msr);

	GUEST_ASSERT(bit >= 0);
	if (read)
		kvmf_svm_set_bit(svm->msrpm, bit);
	if (write)
		kvmf_svm_set_bit(svm->msrpm, bit + 1);
}

void kvmf_svm_enable(struct kvmf_svm *svm)
{
	kvmf_wrmsr(MSR_EFER, kvmf_rdmsr(MSR_EFER) | EFER_SVME);
	kvmf_wrmsr(MSR_VM_HSAVE_PA, (uint64_t)svm->hsave);
}

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* A VMCB segment from the GDT descriptor @sel selects (a null selector gives a null one). */
static void segment_from_gdt(struct vmcb_segment *seg, uint16_t sel, uint64_t gdt_base)
{
	uint64_t d;

	seg->selector = sel;
	if (!(sel & ~3u)) {
		seg->attrib = 0;
		seg->limit = 0;
		seg->base = 0;
		return;
	}
	d = ((volatile uint64_t *)gdt_base)[sel >> 3];
	seg->attrib = ((d >> 40) & 0xff) | ((d >> 44) & 0xf00);
	seg->limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	if (d & (1ull << 55))	/* G: 4 KiB granularity */
		seg->limit = seg->limit << 12 | 0xfff;
	seg->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
}

#define READ_SEL(s) ({ uint16_t __s; asm volatile("mov %%" #s ", %0" : "=r"(__s)); __s; })
#define READ_CR(n) ({ uint64_t __v; asm volatile("mov %%cr" #n ", %0" : "=r"(__v)); __v; })
#define READ_DR(n) ({ uint64_t __v; asm volatile("mov %%dr" #n ", %0" : "=r"(__v)); __v; })

/* Where L2 goes when its function returns: it has nowhere else to go. */
static void l2_returned(void)
{
	for (;;)
		asm volatile("vmmcall" : : : "memory");
}

void kvmf_svm_vmcb_init(struct kvmf_svm *svm, void (*l2_fn)(void))
{
	struct vmcb *vmcb = svm->vmcb;
	volatile uint64_t *p = (volatile uint64_t *)vmcb;
	struct kvmf_svm_gprs *g = &svm->l2;
	struct desc_ptr gdtr, idtr;
	unsigned int i;
	uint64_t rsp;

	for (i = 0; i < PAGE_SIZE / 8; i++)
		p[i] = 0;
	g->rbx = g->rcx = g->rdx = g->rsi = g->rdi = g->rbp = 0;
	g->r8 = g->r9 = g->r10 = g->r11 = g->r12 = g->r13 = g->r14 = g->r15 = 0;

	vmcb->control.intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL;
	vmcb->control.asid = 1;
	vmcb->control.iopm_base_pa = (uint64_t)svm->iopm;
	vmcb->control.msrpm_base_pa = (uint64_t)svm->msrpm;

	asm volatile("sgdt %0" : "=m"(gdtr));
	asm volatile("sidt %0" : "=m"(idtr));
	segment_from_gdt(&vmcb->save.es, READ_SEL(es), gdtr.base);
	segment_from_gdt(&vmcb->save.cs, READ_SEL(cs), gdtr.base);
	segment_from_gdt(&vmcb->save.ss, READ_SEL(ss), gdtr.base);
	segment_from_gdt(&vmcb->save.ds, READ_SEL(ds), gdtr.base);
	vmcb->save.gdtr.base = gdtr.base;
	vmcb->save.gdtr.limit = gdtr.limit;
	vmcb->save.idtr.base = idtr.base;
	vmcb->save.idtr.limit = idtr.limit;
	vmcb->save.cpl = 0;
	vmcb->save.efer = kvmf_rdmsr(MSR_EFER);
	vmcb->save.cr0 = READ_CR(0);
	vmcb->save.cr3 = READ_CR(3);
	vmcb->save.cr4 = READ_CR(4);
	vmcb->save.dr6 = READ_DR(6);
	vmcb->save.dr7 = READ_DR(7);
	vmcb->save.g_pat = kvmf_rdmsr(MSR_PAT);
	vmcb->save.rflags = 2;

	/* As if l2_fn had been called from l2_returned: rsp + 8 is 16-byte aligned. */
	rsp = svm->l2_stack_top - 8;
	*(volatile uint64_t *)rsp = (uint64_t)l2_returned;
	vmcb->save.rsp = rsp;
	vmcb->save.rip = (uint64_t)l2_fn;
}

/*
 * void kvmf_svm_vmrun_pa(uint64_t vmcb_pa [rdi], struct kvmf_svm_gprs *gprs [rsi])
 *
 * VMRUN restores only RAX, RSP and RIP of L1 on #VMEXIT: L1's callee-saved
 * registers go on its stack, and the pointer to @gprs too, since RSI holds
 * L2's value across the VMRUN.
 */
asm(".text\n"
    ".globl kvmf_svm_vmrun_pa\n"
    ".type kvmf_svm_vmrun_pa, @function\n"
    "kvmf_svm_vmrun_pa:\n"
    "	push %rbp\n"
    "	push %rbx\n"
    "	push %r12\n"
    "	push %r13\n"
    "	push %r14\n"
    "	push %r15\n"
    "	push %rsi\n"
    "	mov %rdi, %rax\n"
    "	mov 0(%rsi), %rbx\n"
    "	mov 8(%rsi), %rcx\n"
    "	mov 16(%rsi), %rdx\n"
    "	mov 32(%rsi), %rdi\n"
    "	mov 40(%rsi), %rbp\n"
    "	mov 48(%rsi), %r8\n"
    "	mov 56(%rsi), %r9\n"
    "	mov 64(%rsi), %r10\n"
    "	mov 72(%rsi), %r11\n"
    "	mov 80(%rsi), %r12\n"
    "	mov 88(%rsi), %r13\n"
    "	mov 96(%rsi), %r14\n"
    "	mov 104(%rsi), %r15\n"
    "	mov 24(%rsi), %rsi\n"
    "	vmrun %rax\n"
    "	xchg %rsi, (%rsp)\n"
    "	mov %rbx, 0(%rsi)\n"
    "	mov %rcx, 8(%rsi)\n"
    "	mov %rdx, 16(%rsi)\n"
    "	mov %rdi, 32(%rsi)\n"
    "	mov %rbp, 40(%rsi)\n"
    "	mov %r8, 48(%rsi)\n"
    "	mov %r9, 56(%rsi)\n"
    "	mov %r10, 64(%rsi)\n"
    "	mov %r11, 72(%rsi)\n"
    "	mov %r12, 80(%rsi)\n"
    "	mov %r13, 88(%rsi)\n"
    "	mov %r14, 96(%rsi)\n"
    "	mov %r15, 104(%rsi)\n"
    "	pop %rax\n"
    "	mov %rax, 24(%rsi)\n"
    "	pop %r15\n"
    "	pop %r14\n"
    "	pop %r13\n"
    "	pop %r12\n"
    "	pop %rbx\n"
    "	pop %rbp\n"
    "	ret\n"
    ".size kvmf_svm_vmrun_pa, . - kvmf_svm_vmrun_pa\n");

_Static_assert(offsetof(struct kvmf_svm_gprs, rsi) == 24 &&
	       offsetof(struct kvmf_svm_gprs, rbp) == 40 &&
	       offsetof(struct kvmf_svm_gprs, r15) == 104, "kvmf_svm_vmrun_pa's offsets");

uint64_t kvmf_svm_run(struct kvmf_svm *svm)
{
	kvmf_svm_vmrun_pa((uint64_t)svm->vmcb, &svm->l2);
	kvmf_svm_stgi();
	return svm->vmcb->control.exit_code;
}

/* ---- Nested page tables ---- */

static volatile uint64_t *npt_table(struct kvmf_svm *svm, unsigned int which)
{
	return (volatile uint64_t *)((uint64_t)svm->npt + which * PAGE_SIZE);
}

void kvmf_svm_npt_init(struct kvmf_svm *svm, uint64_t identity_end)
{
	volatile uint64_t *pml4 = npt_table(svm, NPT_PML4);
	unsigned int table, i;
	uint64_t gpa;

	GUEST_ASSERT(identity_end <= NPT_SPAN);
	for (table = 0; table < NPT_PAGES; table++)
		for (i = 0; i < NPT_ENTRIES; i++)
			npt_table(svm, table)[i] = 0;
	pml4[0] = (uint64_t)npt_table(svm, NPT_PDPT) | NPT_RWU;
	npt_table(svm, NPT_PDPT)[0] = (uint64_t)npt_table(svm, NPT_PD) | NPT_RWU;
	for (gpa = 0; gpa < identity_end; gpa += HUGE_2M)
		kvmf_svm_npt_map_2m(svm, gpa, gpa, NPT_RWU);
	svm->npt_4k_base = ~0ull;
	svm->vmcb->control.np_control = SVM_NP_ENABLE;
	svm->vmcb->control.n_cr3 = (uint64_t)pml4;
}

void kvmf_svm_npt_map_2m(struct kvmf_svm *svm, uint64_t l2_gpa, uint64_t l1_gpa,
			 uint64_t flags)
{
	GUEST_ASSERT(l2_gpa < NPT_SPAN && !(l2_gpa % HUGE_2M) && !(l1_gpa % HUGE_2M));
	npt_table(svm, NPT_PD)[l2_gpa / HUGE_2M] = l1_gpa | flags | NPT_LARGE;
}

void kvmf_svm_npt_map_4k(struct kvmf_svm *svm, uint64_t l2_gpa, uint64_t l1_gpa,
			 uint64_t flags)
{
	uint64_t base = l2_gpa & ~(HUGE_2M - 1);

	GUEST_ASSERT(l2_gpa < NPT_SPAN && !(l2_gpa % PAGE_SIZE) && !(l1_gpa % PAGE_SIZE));
	if (svm->npt_4k_base != base) {
		GUEST_ASSERT(svm->npt_4k_base == ~0ull);
		svm->npt_4k_base = base;
		npt_table(svm, NPT_PD)[base / HUGE_2M] = (uint64_t)npt_table(svm, NPT_PT) | NPT_RWU;
	}
	npt_table(svm, NPT_PT)[(l2_gpa % HUGE_2M) / PAGE_SIZE] = flags ? l1_gpa | flags : 0;
}
