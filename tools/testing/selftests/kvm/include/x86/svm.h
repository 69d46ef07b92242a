/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: AMD SVM for guest code that acts as a hypervisor
 * (L1) and runs a nested guest (L2) of its own.
 *
 * The VMCB as guest code sees it (APM: "VMCB Layout"), the SVM
 * instructions, and helpers that build a VMCB12 from L1's current state so
 * that L2 runs a C function of the test program with L1's page tables,
 * descriptor tables and segments on a stack of its own.  L2 runs in L1's
 * guest physical address space (no nested paging) unless a test builds
 * nested page tables with kvmf_svm_npt_init() and the map helpers.
 *
 * Host side: kvmf_svm_alloc() takes the pages L1 needs from guest RAM;
 * kvmf_svm_set_cpuid() gives the vCPU KVM's supported CPUID, without which
 * KVM refuses EFER.SVME, and skips the case when that has no SVM.
 */
#ifndef KVMF_X86_SVM_H
#define KVMF_X86_SVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmf_guest.h"

#define MSR_EFER		0xc0000080u
#define MSR_STAR		0xc0000081u
#define MSR_LSTAR		0xc0000082u
#define MSR_CSTAR		0xc0000083u
#define MSR_SFMASK		0xc0000084u
#define MSR_FS_BASE		0xc0000100u
#define MSR_GS_BASE		0xc0000101u
#define MSR_KERNEL_GS_BASE	0xc0000102u
#define MSR_SYSENTER_CS		0x174u
#define MSR_SYSENTER_ESP	0x175u
#define MSR_SYSENTER_EIP	0x176u
#define MSR_PAT			0x277u
#define MSR_VM_CR		0xc0010114u
#define MSR_VM_HSAVE_PA		0xc0010117u

#define EFER_SCE		(1ull << 0)
#define EFER_LME		(1ull << 8)
#define EFER_LMA		(1ull << 10)
#define EFER_NXE		(1ull << 11)
#define EFER_SVME		(1ull << 12)

#define X86_CR0_PE		(1ull << 0)
#define X86_CR0_NW		(1ull << 29)
#define X86_CR0_CD		(1ull << 30)
#define X86_CR0_PG		(1ull << 31)
#define X86_CR4_PAE		(1ull << 5)

/* CPUID bits that say what SVM KVM offers a guest. */
#define CPUID_EXT1_ECX_SVM	(1u << 2)	/* leaf 0x80000001 ECX */
#define CPUID_SVM_EDX_NP	(1u << 0)	/* leaf 0x8000000a EDX: nested paging */
#define CPUID_SVM_EDX_NRIPS	(1u << 3)	/* leaf 0x8000000a EDX: next_rip saved */

/* Exit codes (APM: "SVM Intercept Exit Codes"). */
#define VMEXIT_EXCP(v)		(0x40ull + (v))
#define VMEXIT_INTR		0x60ull
#define VMEXIT_CPUID		0x72ull
#define VMEXIT_HLT		0x78ull
#define VMEXIT_IOIO		0x7bull
#define VMEXIT_MSR		0x7cull
#define VMEXIT_SHUTDOWN		0x7full
#define VMEXIT_VMRUN		0x80ull
#define VMEXIT_VMMCALL		0x81ull
#define VMEXIT_NPF		0x400ull
#define VMEXIT_INVALID		(~0ull)

/* Intercept vector 3 (control offset 0x0c): one bit each. */
#define INTERCEPT_INTR		(1u << 0)
#define INTERCEPT_NMI		(1u << 1)
#define INTERCEPT_RDTSC		(1u << 14)
#define INTERCEPT_CPUID		(1u << 18)
#define INTERCEPT_INTN		(1u << 21)
#define INTERCEPT_HLT		(1u << 24)
#define INTERCEPT_IOIO_PROT	(1u << 27)
#define INTERCEPT_MSR_PROT	(1u << 28)
#define INTERCEPT_SHUTDOWN	(1u << 31)
/* Intercept vector 4 (control offset 0x10). */
#define INTERCEPT_VMRUN		(1u << 0)
#define INTERCEPT_VMMCALL	(1u << 1)
#define INTERCEPT_VMLOAD	(1u << 2)
#define INTERCEPT_VMSAVE	(1u << 3)
#define INTERCEPT_STGI		(1u << 4)
#define INTERCEPT_CLGI		(1u << 5)

/* EXITINFO1 of an IOIO intercept (APM: "IOIO Intercepts"). */
#define IOIO_TYPE_IN		(1ull << 0)
#define IOIO_STR		(1ull << 2)
#define IOIO_REP		(1ull << 3)
#define IOIO_SZ8		(1ull << 4)
#define IOIO_SZ16		(1ull << 5)
#define IOIO_SZ32		(1ull << 6)
#define IOIO_A16		(1ull << 7)
#define IOIO_A32		(1ull << 8)
#define IOIO_A64		(1ull << 9)
#define IOIO_PORT_SHIFT		16

/* EVENTINJ / EXITINTINFO (APM: "Event Injection"). */
#define EVENTINJ_VALID		(1ull << 31)
#define EVENTINJ_TYPE_INTR	(0ull << 8)
#define EVENTINJ_TYPE_NMI	(2ull << 8)
#define EVENTINJ_TYPE_EXCEPT	(3ull << 8)
#define EVENTINJ_TYPE_SOFT	(4ull << 8)

#define SVM_NP_ENABLE		(1ull << 0)

/* int_ctl (APM: "Virtual Interrupts"): IF masks virtual interrupts only. */
#define SVM_INT_CTL_V_INTR_MASKING	(1u << 24)

/* TLB_CONTROL (APM: "TLB Control"): what VMRUN flushes. */
#define SVM_TLB_FLUSH_NONE	0
#define SVM_TLB_FLUSH_ALL	1

/*
 * Entries of a nested page table (APM: "Nested Paging"): the long-mode
 * format.  The CPU walks nested tables as user accesses, so every entry
 * L2 is to reach needs NPT_USER.
 */
#define NPT_PRESENT		(1ull << 0)
#define NPT_WRITABLE		(1ull << 1)
#define NPT_USER		(1ull << 2)
#define NPT_LARGE		(1ull << 7)
#define NPT_NX			(1ull << 63)
#define NPT_RWU			(NPT_PRESENT | NPT_WRITABLE | NPT_USER)

/*
 * EXITINFO1 of a nested page fault (APM: "Nested versus Guest Page
 * Faults, Fault Ordering"): a page-fault error code in the low half, and
 * whether the CPU was at L2's final address or walking L2's page tables.
 */
#define NPF_PRESENT		(1ull << 0)
#define NPF_WRITE		(1ull << 1)
#define NPF_USER		(1ull << 2)
#define NPF_RSVD		(1ull << 3)
#define NPF_FETCH		(1ull << 4)
#define NPF_FINAL_GPA		(1ull << 32)
#define NPF_TABLE_WALK		(1ull << 33)

/* Sizes of the permission maps (APM: "I/O Permissions Map", "MSR Permissions Map"). */
#define SVM_IOPM_PAGES		3
#define SVM_MSRPM_PAGES		2

struct vmcb_control {
	uint32_t intercept_cr;		/* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;		/* 0x004 */
	uint32_t intercept_exceptions;	/* 0x008: one bit per vector */
	uint32_t intercept_misc1;	/* 0x00c: INTERCEPT_INTR ... INTERCEPT_SHUTDOWN */
	uint32_t intercept_misc2;	/* 0x010: INTERCEPT_VMRUN ... */
	uint32_t intercept_misc3;	/* 0x014 */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_thresh;	/* 0x03c */
	uint16_t pause_filter_count;	/* 0x03e */
	uint64_t iopm_base_pa;		/* 0x040 */
	uint64_t msrpm_base_pa;		/* 0x048 */
	uint64_t tsc_offset;		/* 0x050 */
	uint32_t asid;			/* 0x058 */
	uint8_t tlb_control;		/* 0x05c */
	uint8_t reserved_05d[3];
	uint32_t int_ctl;		/* 0x060: V_TPR, V_IRQ, V_GIF, V_INTR_MASKING... */
	uint32_t int_vector;		/* 0x064 */
	uint64_t int_state;		/* 0x068: interrupt shadow */
	uint64_t exit_code;		/* 0x070 */
	uint64_t exit_info_1;		/* 0x078 */
	uint64_t exit_info_2;		/* 0x080 */
	uint64_t exit_int_info;		/* 0x088 */
	uint64_t np_control;		/* 0x090: SVM_NP_ENABLE */
	uint64_t avic_apic_bar;		/* 0x098 */
	uint64_t ghcb_gpa;		/* 0x0a0 */
	uint64_t event_inj;		/* 0x0a8 */
	uint64_t n_cr3;			/* 0x0b0 */
	uint64_t virt_ext;		/* 0x0b8: LBR virtualisation, virtual VMLOAD/VMSAVE */
	uint32_t clean;			/* 0x0c0 */
	uint32_t reserved_0c4;
	uint64_t next_rip;		/* 0x0c8 */
	uint8_t insn_len;		/* 0x0d0 */
	uint8_t insn_bytes[15];		/* 0x0d1 */
	uint8_t reserved_0e0[0x400 - 0x0e0];
};

struct vmcb_segment {
	uint16_t selector;
	uint16_t attrib;	/* descriptor bits 47:40 in 7:0, bits 55:52 in 11:8 */
	uint32_t limit;
	uint64_t base;
};

struct vmcb_save {
	struct vmcb_segment es, cs, ss, ds, fs, gs;	/* 0x400 */
	struct vmcb_segment gdtr, ldtr, idtr, tr;	/* 0x460 */
	uint8_t reserved_4a0[0x4cb - 0x4a0];
	uint8_t cpl;			/* 0x4cb */
	uint32_t reserved_4cc;
	uint64_t efer;			/* 0x4d0 */
	uint8_t reserved_4d8[0x548 - 0x4d8];
	uint64_t cr4;			/* 0x548 */
	uint64_t cr3;			/* 0x550 */
	uint64_t cr0;			/* 0x558 */
	uint64_t dr7;			/* 0x560 */
	uint64_t dr6;			/* 0x568 */
	uint64_t rflags;		/* 0x570 */
	uint64_t rip;			/* 0x578 */
	uint8_t reserved_580[0x5d8 - 0x580];
	uint64_t rsp;			/* 0x5d8 */
	uint64_t s_cet, ssp, isst_addr;	/* 0x5e0 */
	uint64_t rax;			/* 0x5f8 */
	uint64_t star;			/* 0x600 */
	uint64_t lstar;			/* 0x608 */
	uint64_t cstar;			/* 0x610 */
	uint64_t sfmask;		/* 0x618 */
	uint64_t kernel_gs_base;	/* 0x620 */
	uint64_t sysenter_cs;		/* 0x628 */
	uint64_t sysenter_esp;		/* 0x630 */
	uint64_t sysenter_eip;		/* 0x638 */
	uint64_t cr2;			/* 0x640 */
	uint8_t reserved_648[0x668 - 0x648];
	uint64_t g_pat;			/* 0x668 */
	uint64_t dbgctl;		/* 0x670 */
	uint64_t br_from, br_to;	/* 0x678 */
	uint64_t last_excp_from, last_excp_to;	/* 0x688 */
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};

_Static_assert(offsetof(struct vmcb, control.iopm_base_pa) == 0x040, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.asid) == 0x058, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.exit_code) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.event_inj) == 0x0a8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.next_rip) == 0x0c8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.es) == 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.tr) == 0x490, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.kernel_gs_base) == 0x620, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB layout");
_Static_assert(sizeof(struct vmcb) <= 4096, "VMCB layout");

/*
 * L2's general-purpose registers other than RAX and RSP (which VMRUN and
 * #VMEXIT swap through the VMCB): loaded before VMRUN, saved after it.
 */
struct kvmf_svm_gprs {
	uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

#define KVMF_SVM_L2_STACK_PAGES	4

/*
 * What L1 needs to run L2, in guest RAM: pointers are guest addresses,
 * which are also guest physical addresses (identity mapping).
 */
struct kvmf_svm {
	struct vmcb *vmcb;		/* VMCB12 */
	void *hsave;			/* MSR_VM_HSAVE_PA */
	uint8_t *msrpm;			/* SVM_MSRPM_PAGES, all clear */
	uint8_t *iopm;			/* SVM_IOPM_PAGES, all clear */
	void *scratch;			/* a spare page (VMSAVE...) */
	/*
	 * Nested page tables (kvmf_svm_npt_init): PML4, PDPT, PD, and a page
	 * table for the one 2 MiB range of 4 KiB leaves, npt_4k_base.
	 */
	uint64_t *npt;
	uint64_t npt_4k_base;
	uint64_t l2_stack_top;
	struct kvmf_svm_gprs l2;
};

/* Host side. */

/* Pages for L1 in guest RAM; returns the guest address of the struct kvmf_svm. */
struct kvmf_svm *kvmf_svm_alloc(struct kvmf_guest_vm *vm);
/* The host's view of a guest address of the identity-mapped RAM. */
#define KVMF_SVM_HOST_PTR(vm, gaddr) ((void *)((vm)->ram + (uint64_t)(gaddr)))
/*
 * Sets KVM_GET_SUPPORTED_CPUID on the vCPU (KVM only lets a guest set
 * EFER.SVME when its CPUID has SVM); skips the case when it has no SVM.
 */
void kvmf_svm_set_cpuid(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu);
/* Leaf 0x8000000a EDX of KVM_GET_SUPPORTED_CPUID (0 without the leaf). */
uint32_t kvmf_svm_supported_features(int kvm_fd);

/* Guest side. */

static inline void kvmf_svm_stgi(void)
{
	asm volatile("stgi" : : : "memory");
}

static inline void kvmf_svm_clgi(void)
{
	asm volatile("clgi" : : : "memory");
}

static inline void kvmf_svm_vmsave(uint64_t pa)
{
	asm volatile("vmsave %%rax" : : "a"(pa) : "memory");
}

static inline void kvmf_svm_vmload(uint64_t pa)
{
	asm volatile("vmload %%rax" : : "a"(pa) : "memory");
}

/* Sets a bit of a permission map: @bit = port, or the MSR map's bit number. */
static inline void kvmf_svm_set_bit(uint8_t *map, uint32_t bit)
{
	map[bit / 8] |= 1u << (bit % 8);
}

/* The MSRPM bit for reading @msr (the write bit follows it); -1 if the map has none. */
int64_t kvmf_svm_msrpm_bit(uint32_t msr);
void kvmf_svm_intercept_msr(struct kvmf_svm *svm, uint32_t msr, bool read, bool write);

/* EFER.SVME and MSR_VM_HSAVE_PA. */
void kvmf_svm_enable(struct kvmf_svm *svm);

/*
 * Clears VMCB12 and fills its save area with L1's current segments,
 * descriptor tables, control registers, EFER, DR6/DR7 and PAT, with L2
 * starting at @l2_fn on the L2 stack (returning from @l2_fn loops on
 * VMMCALL); intercepts VMRUN and VMMCALL, ASID 1, the permission maps
 * of @svm (all clear: nothing intercepted until a test sets bits and
 * INTERCEPT_IOIO_PROT / INTERCEPT_MSR_PROT).  L2's other registers are
 * zeroed.
 */
void kvmf_svm_vmcb_init(struct kvmf_svm *svm, void (*l2_fn)(void));

/*
 * VMRUN with RAX = @vmcb_pa, L2's registers from @gprs before and back
 * into it after.  L1's own registers survive; GIF is as the #VMEXIT (or
 * a VMRUN that failed) left it.  An exception on the VMRUN itself comes
 * back here too if its handler skips the 3-byte instruction.
 */
void kvmf_svm_vmrun_pa(uint64_t vmcb_pa, struct kvmf_svm_gprs *gprs);

/* kvmf_svm_vmrun_pa() on @svm's VMCB12, then STGI; returns the exit code. */
uint64_t kvmf_svm_run(struct kvmf_svm *svm);

/*
 * Nested paging for L2, after kvmf_svm_vmcb_init(): VMCB12 gets
 * NP_ENABLE and @svm's nested page tables, which map L2's
 * [0, @identity_end) to the same L1 addresses with 2 MiB pages and leave
 * the rest of L2's first GiB (the most they map) not present.
 */
void kvmf_svm_npt_init(struct kvmf_svm *svm, uint64_t identity_end);
/* Maps L2's 2 MiB page at @l2_gpa to L1's @l1_gpa, @flags (NPT_*) and NPT_LARGE. */
void kvmf_svm_npt_map_2m(struct kvmf_svm *svm, uint64_t l2_gpa, uint64_t l1_gpa,
			 uint64_t flags);
/*
 * Maps L2's 4 KiB page at @l2_gpa to L1's @l1_gpa with @flags (0: not
 * present), or changes its entry.  The first call picks the 2 MiB range
 * all 4 KiB pages must be in; the 2 MiB page that was there goes.
 */
void kvmf_svm_npt_map_4k(struct kvmf_svm *svm, uint64_t l2_gpa, uint64_t l1_gpa,
			 uint64_t flags);

/* INVLPGA: drops the translations of linear address @va in @asid. */
static inline void kvmf_svm_invlpga(uint64_t va, uint32_t asid)
{
	asm volatile("invlpga %%rax, %%ecx" : : "a"(va), "c"(asid) : "memory");
}

/* Resumes L2 at @rip after an intercept. */
static inline void kvmf_svm_set_rip(struct kvmf_svm *svm, uint64_t rip)
{
	svm->vmcb->save.rip = rip;
}

#endif /* KVMF_X86_SVM_H */
