/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 instruction decoder and emulator for guest accesses that hardware
 * cannot complete: MMIO (a nested page fault outside any memslot) and writes
 * to read-only memslots.  It also computes instruction lengths, which
 * kvmfork needs to skip intercepted instructions on CPUs without NRIP save.
 *
 * The emulator touches guest state only through struct kvmf_emul_ctxt and
 * guest memory only through struct kvmf_emul_ops, so the same emulate.c
 * builds into the module and into the userspace tests and fuzzer in
 * tools/testing/emulate.  See Documentation/emulator.rst.
 */
#ifndef KVMFORK_X86_EMULATE_H
#define KVMFORK_X86_EMULATE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include "emulate_shim.h"	/* found through -I tools/testing/emulate */
#endif

/* Return codes of the ops, kvmf_insn_decode() and kvmf_insn_emulate(). */
enum kvmf_emul_result {
	KVMF_EMUL_OK = 0,
	/* Inject ctxt->fault into the guest; guest state is unchanged. */
	KVMF_EMUL_FAULT,
	/*
	 * A valid instruction (or an encoding) the emulator does not handle:
	 * report KVM_EXIT_INTERNAL_ERROR with ctxt->insn.bytes.
	 */
	KVMF_EMUL_UNHANDLED,
	/*
	 * An op needs userspace to complete an access (KVM_EXIT_MMIO).  Guest
	 * state is unchanged; see kvmf_emul_mmio_complete().
	 */
	KVMF_EMUL_MMIO_EXIT,
};

/* CPU mode, from CR0.PE, RFLAGS.VM, EFER.LMA and CS.L. */
enum kvmf_emul_mode {
	KVMF_MODE_REAL,		/* 16-bit */
	KVMF_MODE_VM86,		/* 16-bit */
	KVMF_MODE_PROT,		/* legacy protected: CS.D picks 16 or 32 bit */
	KVMF_MODE_COMPAT,	/* long mode, CS.L=0: CS.D picks 16 or 32 bit */
	KVMF_MODE_LONG,		/* 64-bit */
};

/* Architectural numbers, as in ModRM.reg and the Sreg encoding. */
enum kvmf_gpr {
	KVMF_RAX, KVMF_RCX, KVMF_RDX, KVMF_RBX,
	KVMF_RSP, KVMF_RBP, KVMF_RSI, KVMF_RDI,
	KVMF_R8, KVMF_R9, KVMF_R10, KVMF_R11,
	KVMF_R12, KVMF_R13, KVMF_R14, KVMF_R15,
	KVMF_NR_GPRS
};

enum kvmf_seg {
	KVMF_SEG_ES, KVMF_SEG_CS, KVMF_SEG_SS,
	KVMF_SEG_DS, KVMF_SEG_FS, KVMF_SEG_GS,
	KVMF_NR_SEGS
};

/* The RFLAGS bits the emulator reads or writes. */
#define KVMF_EFL_CF	(1u << 0)
#define KVMF_EFL_PF	(1u << 2)
#define KVMF_EFL_AF	(1u << 4)
#define KVMF_EFL_ZF	(1u << 6)
#define KVMF_EFL_SF	(1u << 7)
#define KVMF_EFL_DF	(1u << 10)
#define KVMF_EFL_OF	(1u << 11)
#define KVMF_EFL_ARITH	(KVMF_EFL_CF | KVMF_EFL_PF | KVMF_EFL_AF | \
			 KVMF_EFL_ZF | KVMF_EFL_SF | KVMF_EFL_OF)

/* Exception vectors the emulator raises itself. */
#define KVMF_VEC_UD	6
#define KVMF_VEC_SS	12
#define KVMF_VEC_GP	13
#define KVMF_VEC_PF	14

#define KVMF_INSN_MAX	15	/* architectural instruction length limit */

struct kvmf_emul_ctxt;
struct kvmf_opdesc;		/* private to emulate.c */

/*
 * Guest memory.  Each op transfers len bytes (1 to 15 for fetch, 1 to 8
 * otherwise) at linear address gva, which may cross a page boundary.  An op
 * returns KVMF_EMUL_OK, or KVMF_EMUL_FAULT after kvmf_emul_raise(), or
 * KVMF_EMUL_UNHANDLED, or (read_mem and write_mem only) KVMF_EMUL_MMIO_EXIT
 * when the access must be completed by userspace: the op records the access
 * (and for a write, the data) for KVM_EXIT_MMIO itself.
 */
struct kvmf_emul_ops {
	int (*fetch)(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		     unsigned int len);
	int (*read_mem)(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
			unsigned int len);
	int (*write_mem)(struct kvmf_emul_ctxt *ctxt, u64 gva, const void *buf,
			 unsigned int len);
};

struct kvmf_emul_fault {
	u8 vector;
	bool error_code_valid;
	u32 error_code;
	u64 address;		/* CR2, for #PF */
};

/* The decoded instruction, filled in by kvmf_insn_decode(). */
struct kvmf_insn {
	u8 bytes[KVMF_INSN_MAX];	/* fetched bytes, valid up to nr_bytes */
	u8 nr_bytes;
	u8 len;			/* instruction length; 0 until decoded */

	u8 rex;			/* 0x40-0x4f, or 0 */
	u8 rep;			/* 0, 0xf2 or 0xf3: the last one wins */
	bool lock;
	bool opsize_prefix;	/* 0x66 */
	bool adsize_prefix;	/* 0x67 */
	s8 seg_override;	/* enum kvmf_seg, or -1 */

	u8 map;			/* 1: one-byte, 2: 0F, 3: 0F 38, 4: 0F 3A */
	u8 opcode;

	bool has_modrm;
	u8 modrm;
	u8 mod, reg, rm;	/* reg and rm include REX.R and REX.B */
	bool has_sib;
	u8 sib;
	u8 disp_bytes;
	s64 disp;
	u8 imm_bytes;
	u64 imm;		/* sign-extended; moffs zero-extended */

	u8 op_bytes;		/* 2, 4 or 8 (byte operations: see byte_op) */
	u8 ad_bytes;		/* 2, 4 or 8 */
	bool byte_op;

	/* The ModRM or moffs memory operand, if any. */
	bool mem;
	u8 seg;			/* enum kvmf_seg */
	u64 ea;			/* offset, truncated to the address size */
	u64 gva;		/* linear address: segment base + ea */

	const struct kvmf_opdesc *desc;
};

/* Accesses one instruction (one string iteration) can make. */
#define KVMF_EMUL_MAX_ACCESS	4

/*
 * One memory access of the instruction being emulated, remembered so that
 * a second pass after KVMF_EMUL_MMIO_EXIT replays it instead of redoing it.
 */
struct kvmf_emul_access {
	u64 gva;
	u8 len;
	bool write;
	u8 data[8];
};

/*
 * The caller fills in ops, opaque, mode, cs_d, la57, regs, rip, rflags and
 * seg_base, then calls kvmf_insn_decode() and kvmf_insn_emulate().  Segment
 * limits and access rights are not checked: hardware checked them for the
 * access that exited.
 */
struct kvmf_emul_ctxt {
	const struct kvmf_emul_ops *ops;
	void *opaque;		/* for the ops */

	enum kvmf_emul_mode mode;
	bool cs_d;		/* CS.D; consulted in PROT and COMPAT only */
	bool la57;		/* CR4.LA57: canonical checks use 57 bits */

	u64 regs[KVMF_NR_GPRS];
	u64 rip;
	u64 rflags;
	/* All six in legacy modes; in 64-bit mode only FS and GS are used. */
	u64 seg_base[KVMF_NR_SEGS];

	/* Output. */
	struct kvmf_insn insn;
	struct kvmf_emul_fault fault;

	/* Private: accesses done so far (see kvmf_emul_mmio_complete()). */
	struct kvmf_emul_access acc[KVMF_EMUL_MAX_ACCESS];
	u8 nr_acc;		/* completed accesses of this instruction */
	u8 acc_pos;		/* next access of the current pass */
	bool acc_waiting;	/* acc[nr_acc] waits for userspace */
};

/*
 * Fetch and decode the instruction at CS:RIP into ctxt->insn.  Returns
 * KVMF_EMUL_OK, KVMF_EMUL_FAULT (#UD, #GP for more than 15 bytes, or a fault
 * from ops->fetch) or KVMF_EMUL_UNHANDLED (VEX, EVEX, XOP and a few
 * encodings whose length is not known).  Guest state is not changed.
 */
int kvmf_insn_decode(struct kvmf_emul_ctxt *ctxt);

/*
 * Execute the decoded instruction: update regs, rflags, rip and memory.
 * On anything but KVMF_EMUL_OK nothing of the guest state has changed,
 * except that a REP string instruction keeps the iterations it completed.
 * A REP string instruction returns KVMF_EMUL_OK with rip unchanged when it
 * has done a batch of iterations but not all of them: re-enter the guest,
 * or call kvmf_insn_emulate() again.
 */
int kvmf_insn_emulate(struct kvmf_emul_ctxt *ctxt);

/*
 * Complete the access that made kvmf_insn_emulate() return
 * KVMF_EMUL_MMIO_EXIT: data holds the len bytes userspace read (a read), or
 * is NULL (a write, now done).  Then call kvmf_insn_emulate() again without
 * decoding again or changing the context: the access is taken from here
 * and the accesses before it are replayed, not redone.
 */
void kvmf_emul_mmio_complete(struct kvmf_emul_ctxt *ctxt, const void *data,
			     unsigned int len);

/* For ops, and the emulator itself: record an exception to inject. */
static inline int kvmf_emul_raise(struct kvmf_emul_ctxt *ctxt, u8 vector,
				  u32 error_code, u64 address)
{
	ctxt->fault.vector = vector;
	/* #DF, #TS, #NP, #SS, #GP, #PF and #AC push an error code. */
	ctxt->fault.error_code_valid = vector == 8 ||
				       (vector >= 10 && vector <= 14) ||
				       vector == 17;
	ctxt->fault.error_code = error_code;
	ctxt->fault.address = address;
	return KVMF_EMUL_FAULT;
}

#endif /* KVMFORK_X86_EMULATE_H */
