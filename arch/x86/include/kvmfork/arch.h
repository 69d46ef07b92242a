/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 state embedded in the core's objects.  Vendor (SVM) state hangs off
 * these through pointers owned by the vendor backend.
 */
#ifndef KVMFORK_X86_ARCH_H
#define KVMFORK_X86_ARCH_H

#include <linux/spinlock.h>
#include <linux/kvm.h>
#include <linux/types.h>
#include <asm/fpu/types.h>

/* Pages of a vCPU fd's mmap: kvm_run, then the port I/O data page. */
#define KVMF_ARCH_VCPU_MMAP_PAGES	(KVM_PIO_PAGE_OFFSET + 1)

/* General-purpose registers by their architectural number. */
enum kvmf_x86_reg {
	KVMF_REG_RAX, KVMF_REG_RCX, KVMF_REG_RDX, KVMF_REG_RBX,
	KVMF_REG_RSP, KVMF_REG_RBP, KVMF_REG_RSI, KVMF_REG_RDI,
	KVMF_REG_R8, KVMF_REG_R9, KVMF_REG_R10, KVMF_REG_R11,
	KVMF_REG_R12, KVMF_REG_R13, KVMF_REG_R14, KVMF_REG_R15,
	KVMF_NR_REGS,
};

/*
 * The two-dimensional (nested/extended) page table that maps guest physical
 * to host physical memory.
 *
 * Locking: @lock protects every entry of the table; faults of all vCPUs,
 * unmapping, write protection and aging take it.  It is a raw spinlock
 * because MMU notifiers unmap under it in non-blocking mode (the OOM
 * reaper), where a PREEMPT_RT spinlock_t could sleep.  Table pages are only
 * freed when the VM is destroyed.
 */
struct kvmf_tdp {
	raw_spinlock_t lock;
	u64 *root;
	/* Bumped whenever mappings are removed: vCPUs must flush their TLB. */
	atomic64_t flush_generation;
};

struct kvmf_arch_vm {
	struct kvmf_tdp tdp;
	/* Added to the host TSC for every vCPU at creation: guests start at 0. */
	s64 tsc_offset;
	/* The TSC rate vCPUs are created with, in kHz (tsc.c). */
	u32 tsc_khz;
	/* kvmclock = host boot time + this (ns); the wall-clock MSR (kvmclock.c). */
	s64 kvmclock_offset;
	u64 wall_clock_msr;
	u32 wall_clock_version;
	/* KVM_X86_QUIRK_* that userspace disabled (KVM_CAP_DISABLE_QUIRKS2). */
	u64 disabled_quirks;
	/* The vendor backend's per-VM state. */
	void *vendor;
};

/*
 * The guest's paging state, as the vendor backend holds it.  While a
 * nested guest (L2) runs with nested paging, its physical addresses are
 * translated once more, through L1's nested page table at @ncr3, to the
 * guest physical addresses the memslots know.
 */
struct kvmf_x86_paging {
	u64 cr0, cr3, cr4, efer;
	bool nested_paging;
	bool nested_nxe;	/* L1's EFER.NXE: the NX bit of L1's table counts */
	u64 ncr3;
};

/* An intercepted IN, OUT, INS or OUTS, as the vendor decoded it. */
struct kvmf_pio_insn {
	u16 port;
	u8 size;		/* operand: 1, 2 or 4 bytes */
	bool in;
	bool string;
	bool rep;
	u8 addr_size;		/* string forms: 2, 4 or 8 (RSI/RDI/RCX width) */
	u64 seg_base;		/* string forms: DS (or override) for OUTS, ES for INS */
	u64 next_rip;
	struct kvmf_x86_paging paging;
};

/* A port I/O exit that userspace still has to complete (IN, OUT and INS). */
struct kvmf_pio {
	bool pending;
	struct kvmf_pio_insn insn;
	u32 count;
};

/* KVM's bank limit (KVM_MAX_MCE_BANKS), which KVM_CAP_MCE reports. */
#define KVMF_MAX_MCE_BANKS	32

/* The guest's MTRRs (mtrr.c): default type, fixed ranges, 8 variable base/mask pairs. */
#define KVMF_NR_FIXED_MTRRS	11
struct kvmf_mtrr_state {
	u64 deftype;
	u64 fixed[KVMF_NR_FIXED_MTRRS];
	u64 var[16];
};

/* A vCPU's CPUID table, as KVM_SET_CPUID2 gave it. */
struct kvmf_cpuid_table {
	int nent;
	struct kvm_cpuid_entry2 entries[];
};

struct kvmf_arch_vcpu {
	/* Registers, copied to and from the vendor's guest state around each entry. */
	u64 regs[KVMF_NR_REGS];
	u64 rip;
	u64 rflags;
	/*
	 * RFLAGS bits kvmfork sets in @rflags for its own use (TF and RF to
	 * step over an NMI handler's IRET), and the guest's own values of
	 * them: the VMM reads and writes those (KVM_GET/SET_REGS).
	 */
	u64 rflags_forced;
	u64 rflags_guest;
	/* The page userspace maps at KVM_PIO_PAGE_OFFSET. */
	struct page *pio_page;
	struct kvmf_pio pio;
	/*
	 * The CPU this vCPU is entering or running the guest on, -1 otherwise:
	 * the target of kicks (kvmf_x86_kick_vcpus()).
	 */
	int guest_cpu;
	/* The TDP flush generation this vCPU's TLB is known to be clean for. */
	u64 tdp_flush_seen;
	/* Guest FPU/extended state, swapped in for the duration of KVM_RUN. */
	struct fpu_guest guest_fpu;
	/* KVM_SET_CPUID2's table; NULL until set (cpuid.c). */
	struct kvmf_cpuid_table *cpuid;
	/* XCR0 as the guest has it (x87 only while XSAVE is not offered). */
	u64 xcr0;
	struct kvmf_mtrr_state mtrr;
	/* Machine checks (mce.c): MCG_CAP/STATUS/CTL and CTL, STATUS, ADDR, MISC per bank. */
	u64 mcg_cap, mcg_status, mcg_ctl, hwcr;
	u64 mce_banks[KVMF_MAX_MCE_BANKS * 4];
	/* MSR_KVM_SYSTEM_TIME as written, and its structure's version (kvmclock.c). */
	u64 kvmclock_msr;
	u32 kvmclock_version;
	/* KVM_INTERRUPT's vector and KVM_NMI's NMIs, waiting for the guest (irq.c). */
	bool irq_pending;
	u8 irq_vector;
	unsigned int nmi_pending;
	/* Set at the first KVM_RUN: some state may not change after it. */
	bool has_run;
	/* DR0-DR3 as the guest has them; DR6 and DR7 are the vendor's (debugregs.c). */
	u64 db[4];
	/* The guest's TSC rate as the VMM set it, in kHz: the host's (tsc.c). */
	u32 tsc_khz;
	/* MSR_TSC_AUX as the guest sees it (loaded around VMRUN when it differs). */
	u64 tsc_aux;
	/* The instruction emulator's state, kept across an MMIO exit. */
	struct kvmf_x86_emul *emul;
	/* The vendor backend's per-vCPU state (struct kvmf_svm_vcpu for SVM). */
	void *vendor;
};

#endif /* KVMFORK_X86_ARCH_H */
