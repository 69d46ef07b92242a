/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMCB: its control area and (non-SEV-ES) state save area as named
 * fields in the order of the APM's "VMCB Layout" appendix, with static
 * assertions on the offsets the hardware reads, and small accessors so that
 * no code pokes raw offsets or bit numbers.
 */
#ifndef KVMFORK_SVM_VMCB_H
#define KVMFORK_SVM_VMCB_H

#include <linux/build_bug.h>
#include <linux/bits.h>
#include <linux/stddef.h>
#include <linux/types.h>

/* Intercept vectors, each a 32-bit word of the control area. */
enum svm_intercept_word {
	SVM_IWORD_CR,		/* CR reads 0-15, writes 16-31 */
	SVM_IWORD_DR,		/* DR reads 0-15, writes 16-31 */
	SVM_IWORD_EXCEPTION,	/* exception vectors 0-31 */
	SVM_IWORD_MISC1,
	SVM_IWORD_MISC2,
	SVM_IWORD_MISC3,
	SVM_IWORD_COUNT,
};

/*
 * Intercept bits, numbered as word * 32 + bit.  For MISC1 and MISC2 the exit
 * code of the intercept is 0x60 + bit (MISC1) or 0x80 + bit (MISC2).
 */
#define SVM_I(word, bit)	((SVM_IWORD_##word) * 32 + (bit))
enum svm_intercept {
	SVM_I_CR8_WRITE		= SVM_I(CR, 16 + 8),
	SVM_I_DB		= SVM_I(EXCEPTION, 1),
	SVM_I_UD		= SVM_I(EXCEPTION, 6),
	SVM_I_INTR		= SVM_I(MISC1, 0),
	SVM_I_NMI		= SVM_I(MISC1, 1),
	SVM_I_SMI		= SVM_I(MISC1, 2),
	SVM_I_INIT		= SVM_I(MISC1, 3),
	SVM_I_VINTR		= SVM_I(MISC1, 4),
	SVM_I_RDPMC		= SVM_I(MISC1, 15),
	SVM_I_IRET		= SVM_I(MISC1, 20),
	SVM_I_CPUID		= SVM_I(MISC1, 18),
	SVM_I_RSM		= SVM_I(MISC1, 19),
	SVM_I_INVD		= SVM_I(MISC1, 22),
	SVM_I_HLT		= SVM_I(MISC1, 24),
	SVM_I_INVLPGA		= SVM_I(MISC1, 26),
	SVM_I_IOIO_PROT		= SVM_I(MISC1, 27),
	SVM_I_MSR_PROT		= SVM_I(MISC1, 28),
	SVM_I_TASK_SWITCH	= SVM_I(MISC1, 29),
	SVM_I_SHUTDOWN		= SVM_I(MISC1, 31),
	SVM_I_VMRUN		= SVM_I(MISC2, 0),
	SVM_I_VMMCALL		= SVM_I(MISC2, 1),
	SVM_I_VMLOAD		= SVM_I(MISC2, 2),
	SVM_I_VMSAVE		= SVM_I(MISC2, 3),
	SVM_I_STGI		= SVM_I(MISC2, 4),
	SVM_I_CLGI		= SVM_I(MISC2, 5),
	SVM_I_SKINIT		= SVM_I(MISC2, 6),
	SVM_I_RDTSCP		= SVM_I(MISC2, 7),
	SVM_I_WBINVD		= SVM_I(MISC2, 9),
	SVM_I_MONITOR		= SVM_I(MISC2, 10),
	SVM_I_MWAIT		= SVM_I(MISC2, 11),
	SVM_I_XSETBV		= SVM_I(MISC2, 13),
};

/* APM: "#VMEXIT" exit codes (the ones kvmfork names). */
enum svm_exit_code {
	SVM_EXIT_CR8_WRITE	= 0x018,
	SVM_EXIT_DR_READ	= 0x020,	/* + DR number, 0-15 */
	SVM_EXIT_DR_WRITE	= 0x030,	/* + DR number, 0-15 */
	SVM_EXIT_EXCP_BASE	= 0x040,
	SVM_EXIT_DB		= 0x041,
	SVM_EXIT_UD		= 0x046,
	SVM_EXIT_INTR		= 0x060,
	SVM_EXIT_NMI		= 0x061,
	SVM_EXIT_SMI		= 0x062,
	SVM_EXIT_INIT		= 0x063,
	SVM_EXIT_VINTR		= 0x064,
	SVM_EXIT_RDPMC		= 0x06f,
	SVM_EXIT_IRET		= 0x074,
	SVM_EXIT_CPUID		= 0x072,
	SVM_EXIT_RSM		= 0x073,
	SVM_EXIT_INVD		= 0x076,
	SVM_EXIT_HLT		= 0x078,
	SVM_EXIT_INVLPGA	= 0x07a,
	SVM_EXIT_IOIO		= 0x07b,
	SVM_EXIT_MSR		= 0x07c,
	SVM_EXIT_TASK_SWITCH	= 0x07d,
	SVM_EXIT_SHUTDOWN	= 0x07f,
	SVM_EXIT_VMRUN		= 0x080,
	SVM_EXIT_VMMCALL	= 0x081,
	SVM_EXIT_VMLOAD		= 0x082,
	SVM_EXIT_VMSAVE		= 0x083,
	SVM_EXIT_STGI		= 0x084,
	SVM_EXIT_CLGI		= 0x085,
	SVM_EXIT_SKINIT		= 0x086,
	SVM_EXIT_RDTSCP		= 0x087,
	SVM_EXIT_WBINVD		= 0x089,
	SVM_EXIT_MONITOR	= 0x08a,
	SVM_EXIT_MWAIT		= 0x08b,
	SVM_EXIT_XSETBV		= 0x08d,
	SVM_EXIT_NPF		= 0x400,
	SVM_EXIT_TABLE_SIZE,
	/* VMRUN found invalid guest state: no guest instruction ran. */
	SVM_EXIT_ERR		= -1,
};

/* APM: "IOIO Intercept": EXITINFO1 of an IOIO exit. */
#define SVM_IOIO_IN		BIT(0)
#define SVM_IOIO_STRING		BIT(2)
#define SVM_IOIO_REP		BIT(3)
#define SVM_IOIO_SIZE_SHIFT	4	/* bits 4-6: 1, 2 or 4 bytes, one-hot */
#define SVM_IOIO_SIZE_MASK	(7u << SVM_IOIO_SIZE_SHIFT)
#define SVM_IOIO_ASIZE_SHIFT	7	/* bits 7-9: 16, 32 or 64-bit address, one-hot */
#define SVM_IOIO_ASIZE_MASK	(7u << SVM_IOIO_ASIZE_SHIFT)
#define SVM_IOIO_SEG_SHIFT	10	/* bits 10-12: segment of a string op */
#define SVM_IOIO_SEG_MASK	(7u << SVM_IOIO_SEG_SHIFT)
#define SVM_IOIO_PORT_SHIFT	16

/* APM: "Nested versus Guest Page Faults": EXITINFO1 of an NPF exit. */
#define SVM_NPF_PRESENT		BIT_ULL(0)
#define SVM_NPF_WRITE		BIT_ULL(1)
#define SVM_NPF_USER		BIT_ULL(2)
#define SVM_NPF_RSVD		BIT_ULL(3)
#define SVM_NPF_FETCH		BIT_ULL(4)
#define SVM_NPF_FINAL_GPA	BIT_ULL(32)
#define SVM_NPF_TABLE_WALK	BIT_ULL(33)

/* Control area, int_ctl. */
#define SVM_INT_CTL_V_TPR_MASK		0xffull
#define SVM_INT_CTL_V_IRQ		BIT_ULL(8)
#define SVM_INT_CTL_V_INTR_PRIO_SHIFT	16
#define SVM_INT_CTL_V_IGN_TPR		BIT_ULL(20)
#define SVM_INT_CTL_V_INTR_MASKING	BIT_ULL(24)

/* Control area, int_state. */
#define SVM_INT_STATE_SHADOW		BIT_ULL(0)

/* Control area, misc_ctl. */
#define SVM_MISC_CTL_NP_ENABLE		BIT_ULL(0)

/* Control area, tlb_control. */
#define SVM_TLB_CONTROL_NONE		0
#define SVM_TLB_CONTROL_FLUSH_ALL	1
#define SVM_TLB_CONTROL_FLUSH_ASID	3

/* APM: "Event Injection": event_inj and exit_int_info. */
#define SVM_EVTINJ_VECTOR_MASK		0xffu
#define SVM_EVTINJ_TYPE_SHIFT		8
#define SVM_EVTINJ_TYPE_INTR		(0u << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_NMI		(2u << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_EXCEPTION	(3u << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_SOFT_INT	(4u << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_MASK		(7u << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_ERROR_VALID		BIT(11)
#define SVM_EVTINJ_VALID		BIT(31)

struct vmcb_control_area {
	u32 intercepts[SVM_IWORD_COUNT];
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold;
	u16 pause_filter_count;
	u64 iopm_base_pa;
	u64 msrpm_base_pa;
	u64 tsc_offset;
	u32 asid;
	u8 tlb_control;
	u8 reserved_05d[3];
	u64 int_ctl;
	u64 int_state;
	u64 exit_code;
	u64 exit_info_1;
	u64 exit_info_2;
	u64 exit_int_info;
	u64 misc_ctl;
	u64 avic_apic_bar;
	u64 ghcb_gpa;
	u32 event_inj;
	u32 event_inj_err;
	u64 nested_cr3;
	u64 virt_ext;
	u32 clean;
	u32 reserved_0c4;
	u64 next_rip;
	u8 insn_len;
	u8 insn_bytes[15];
	u8 reserved_0e0[0x400 - 0x0e0];
};

/* A segment register as the VMCB holds it. */
struct vmcb_seg {
	u16 selector;
	/* type:4 S:1 DPL:2 P:1 AVL:1 L:1 D/B:1 G:1, packed into 12 bits */
	u16 attrib;
	u32 limit;
	u64 base;
};

#define VMCB_ATTR_TYPE_MASK	0x000f
#define VMCB_ATTR_S		BIT(4)
#define VMCB_ATTR_DPL_SHIFT	5
#define VMCB_ATTR_P		BIT(7)
#define VMCB_ATTR_AVL		BIT(8)
#define VMCB_ATTR_L		BIT(9)
#define VMCB_ATTR_DB		BIT(10)
#define VMCB_ATTR_G		BIT(11)

struct vmcb_save_area {
	struct vmcb_seg es, cs, ss, ds, fs, gs;
	struct vmcb_seg gdtr, ldtr, idtr, tr;
	u8 reserved_0a0[0x0cb - 0x0a0];
	u8 cpl;
	u32 reserved_0cc;
	u64 efer;
	u8 reserved_0d8[0x148 - 0x0d8];
	u64 cr4;
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip;
	u8 reserved_180[0x1d8 - 0x180];
	u64 rsp;
	u64 s_cet;
	u64 ssp;
	u64 isst_addr;
	u64 rax;
	u64 star;
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 kernel_gs_base;
	u64 sysenter_cs;
	u64 sysenter_esp;
	u64 sysenter_eip;
	u64 cr2;
	u8 reserved_248[0x268 - 0x248];
	u64 g_pat;
	u64 dbgctl;
	u64 br_from;
	u64 br_to;
	u64 last_excp_from;
	u64 last_excp_to;
};

struct vmcb {
	struct vmcb_control_area control;
	struct vmcb_save_area save;
};

/* Offsets the processor reads: the layout must match the APM exactly. */
static_assert(offsetof(struct vmcb_control_area, pause_filter_threshold) == 0x03c);
static_assert(offsetof(struct vmcb_control_area, iopm_base_pa) == 0x040);
static_assert(offsetof(struct vmcb_control_area, asid) == 0x058);
static_assert(offsetof(struct vmcb_control_area, int_ctl) == 0x060);
static_assert(offsetof(struct vmcb_control_area, exit_code) == 0x070);
static_assert(offsetof(struct vmcb_control_area, exit_int_info) == 0x088);
static_assert(offsetof(struct vmcb_control_area, misc_ctl) == 0x090);
static_assert(offsetof(struct vmcb_control_area, event_inj) == 0x0a8);
static_assert(offsetof(struct vmcb_control_area, nested_cr3) == 0x0b0);
static_assert(offsetof(struct vmcb_control_area, clean) == 0x0c0);
static_assert(offsetof(struct vmcb_control_area, next_rip) == 0x0c8);
static_assert(offsetof(struct vmcb_control_area, insn_len) == 0x0d0);
static_assert(sizeof(struct vmcb_control_area) == 0x400);
static_assert(sizeof(struct vmcb_seg) == 16);
static_assert(offsetof(struct vmcb_save_area, tr) == 0x090);
static_assert(offsetof(struct vmcb_save_area, cpl) == 0x0cb);
static_assert(offsetof(struct vmcb_save_area, efer) == 0x0d0);
static_assert(offsetof(struct vmcb_save_area, cr4) == 0x148);
static_assert(offsetof(struct vmcb_save_area, rflags) == 0x170);
static_assert(offsetof(struct vmcb_save_area, rip) == 0x178);
static_assert(offsetof(struct vmcb_save_area, rsp) == 0x1d8);
static_assert(offsetof(struct vmcb_save_area, rax) == 0x1f8);
static_assert(offsetof(struct vmcb_save_area, star) == 0x200);
static_assert(offsetof(struct vmcb_save_area, cr2) == 0x240);
static_assert(offsetof(struct vmcb_save_area, g_pat) == 0x268);
static_assert(offsetof(struct vmcb, save) == 0x400);
static_assert(sizeof(struct vmcb) <= 4096);

static inline void vmcb_set_intercept(struct vmcb_control_area *c, enum svm_intercept bit)
{
	c->intercepts[bit / 32] |= BIT(bit % 32);
}

static inline void vmcb_clear_intercept(struct vmcb_control_area *c, enum svm_intercept bit)
{
	c->intercepts[bit / 32] &= ~BIT(bit % 32);
}

static inline bool vmcb_is_intercept(const struct vmcb_control_area *c, enum svm_intercept bit)
{
	return c->intercepts[bit / 32] & BIT(bit % 32);
}

#endif /* KVMFORK_SVM_VMCB_H */
