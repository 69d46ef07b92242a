// SPDX-License-Identifier: GPL-2.0
/*
 * x86 instruction decoder and emulator for MMIO and write-protected guest
 * accesses; the interface is in emulate.h, the design in
 * Documentation/emulator.rst.
 *
 * Decoding is driven by the opcode tables further down: each entry says
 * what follows the opcode (ModRM, immediate), how the operand size is
 * chosen, when the encoding is invalid, what the operands are and which
 * handler executes it.  Every byte of the one-byte and 0F maps is
 * described, so the decoder gives the length of any legacy-encoded
 * instruction; only the memory-touching instructions a guest uses on MMIO
 * have handlers.
 *
 * Sources: Intel SDM vol. 2 (chapter 2 and the opcode map of appendix A)
 * and AMD APM vol. 3.  Where the two differ this follows AMD, which
 * kvmfork runs on (e.g. 66 shortens near branches in 64-bit mode).
 *
 * This file is also built in userspace (tools/testing/emulate): it uses
 * nothing but emulate.h and memcpy, memset and memcmp.
 */
#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/string.h>
#endif

#include "emulate.h"

/* Opcode descriptor flags. */
#define OPF_DEF		(1u << 0)	/* defined encoding; without it #UD */
#define OPF_MODRM	(1u << 1)	/* a ModRM byte follows the opcode */
#define OPF_BYTE	(1u << 2)	/* 8-bit operands */
#define OPF_GROUP	(1u << 3)	/* ModRM.reg picks groups[aux][reg] */
#define OPF_PREFIX	(1u << 4)	/* legacy prefix; aux is its PFX_ kind */
#define OPF_NO64	(1u << 5)	/* #UD in 64-bit mode */
#define OPF_DEF64	(1u << 6)	/* 64-bit operands by default in 64-bit */
#define OPF_LOCK	(1u << 7)	/* LOCK allowed with a memory operand */
#define OPF_MEMONLY	(1u << 8)	/* ModRM.mod == 3 is #UD */
#define OPF_REGONLY	(1u << 9)	/* ModRM.mod is ignored, taken as 3 */
#define OPF_VEX		(1u << 10)	/* VEX/EVEX in 64-bit or with mod == 3 */
#define OPF_XOP		(1u << 11)	/* XOP when ModRM.reg != 0 */
#define OPF_NP		(1u << 12)	/* a 66, F2 or F3 prefix is #UD */
#define OPF_NOLEN	(1u << 13)	/* length depends on what is not modelled */
#define OPF_LOCKREG	(1u << 14)	/* LOCK allowed with a register operand */
#define OPF_IMM_SHIFT	16
#define OPF_IMM(k)	((u32)(k) << OPF_IMM_SHIFT)	/* IK_ kind */
#define OPF_IMM_MASK	OPF_IMM(7)
#define OPF_SSZ_SHIFT	20
#define OPF_SSZ(s)	((u32)(s) << OPF_SSZ_SHIFT)	/* SSZ_ size */
#define OPF_SSZ_MASK	OPF_SSZ(3)

/* Immediate kinds (Intel's operand notation in parentheses). */
enum {
	IK_NONE,
	IK_B,		/* 8 bits (Ib, Jb) */
	IK_W,		/* 16 bits (Iw) */
	IK_WB,		/* 16 then 8 bits (ENTER Iw, Ib) */
	IK_Z,		/* operand size, at most 32 bits (Iz, Jz) */
	IK_V,		/* operand size, up to 64 bits (MOV r, Iv) */
	IK_MOFFS,	/* address size (Ob, Ov) */
	IK_FAR,		/* operand size plus a 16-bit selector (Ap) */
};

/* Source operand size, when it is not the operand size. */
enum {
	SSZ_OP,		/* the operand size */
	SSZ_B,		/* 8 bits (MOVZX/MOVSX Eb) */
	SSZ_W,		/* 16 bits (MOVZX/MOVSX Ew) */
	SSZ_D,		/* at most 32 bits (MOVSXD Ed) */
};

/* Operand kinds of a table entry. */
enum {
	OPK_NONE,
	OPK_E,		/* ModRM.rm: register or memory */
	OPK_G,		/* ModRM.reg */
	OPK_ACC,	/* AL, AX, EAX or RAX */
	OPK_ZREG,	/* register in the opcode's low 3 bits, REX.B */
	OPK_IMM,	/* the immediate */
	OPK_MOFFS,	/* memory at the moffs offset */
};

/* Legacy prefix kinds: the segment ones are enum kvmf_seg values. */
enum {
	PFX_OPSIZE = KVMF_NR_SEGS,
	PFX_ADSIZE,
	PFX_LOCK,
	PFX_REPNE,
	PFX_REP,
};

/* ALU operations: 0-7 are the ModRM.reg / opcode bits 5:3 encoding. */
enum {
	AOP_ADD, AOP_OR, AOP_ADC, AOP_SBB, AOP_AND, AOP_SUB, AOP_XOR, AOP_CMP,
	AOP_TEST,
};

/* String instructions. */
enum { STR_MOVS, STR_STOS, STR_LODS };

/* Handler return value: iterations done, but the REP instruction is not. */
#define EMUL_AGAIN	100

/*
 * REP iterations per kvmf_insn_emulate() call, so that the guest's
 * interrupts are not held off for a whole large REP.
 */
#define REP_BATCH	64

enum { OPND_NONE, OPND_REG, OPND_MEM, OPND_IMM };

/* An operand resolved for a handler. */
struct operand {
	u8 type;		/* OPND_ */
	u8 size;		/* bytes */
	u8 reg;			/* GPR number, for OPND_REG */
	bool high;		/* AH, CH, DH or BH */
	u8 seg;			/* for OPND_MEM */
	u64 gva;		/* for OPND_MEM */
	u64 val;
};

struct operands {
	struct operand dst;
	struct operand src;
};

struct kvmf_opdesc {
	u32 flags;
	u8 dst;			/* OPK_ */
	u8 src;			/* OPK_ */
	u8 aux;			/* handler argument, group or prefix kind */
	int (*exec)(struct kvmf_emul_ctxt *ctxt, struct operands *o);
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static bool long_mode(const struct kvmf_emul_ctxt *ctxt)
{
	return ctxt->mode == KVMF_MODE_LONG;
}

/* Whether CS is a 32-bit code segment (outside 64-bit mode). */
static bool code32(const struct kvmf_emul_ctxt *ctxt)
{
	return (ctxt->mode == KVMF_MODE_PROT ||
		ctxt->mode == KVMF_MODE_COMPAT) && ctxt->cs_d;
}

static u64 size_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

static u64 sign_bit(unsigned int bytes)
{
	return 1ull << (bytes * 8 - 1);
}

static u64 sign_extend(u64 val, unsigned int bytes)
{
	u64 sign = sign_bit(bytes);

	val &= size_mask(bytes);
	return (val ^ sign) - sign;
}

/* RIP wraps at the code segment's width outside 64-bit mode. */
static u64 ip_mask(const struct kvmf_emul_ctxt *ctxt)
{
	if (long_mode(ctxt))
		return ~0ull;
	return code32(ctxt) ? 0xffffffffull : 0xffffull;
}

static u64 le_load(const u8 *p, unsigned int bytes)
{
	u64 val = 0;

	while (bytes--)
		val = (val << 8) | p[bytes];
	return val;
}

static void le_store(u8 *p, u64 val, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++, val >>= 8)
		p[i] = (u8)val;
}

static int raise_ud(struct kvmf_emul_ctxt *ctxt)
{
	return kvmf_emul_raise(ctxt, KVMF_VEC_UD, 0, 0);
}

static int raise_gp0(struct kvmf_emul_ctxt *ctxt)
{
	return kvmf_emul_raise(ctxt, KVMF_VEC_GP, 0, 0);
}

/* Segment base + offset; in 64-bit mode only FS and GS have a base. */
static u64 linear(const struct kvmf_emul_ctxt *ctxt, unsigned int seg, u64 ea)
{
	if (long_mode(ctxt))
		return (seg == KVMF_SEG_FS || seg == KVMF_SEG_GS ?
			ctxt->seg_base[seg] : 0) + ea;
	return (u32)(ctxt->seg_base[seg] + ea);
}

static bool canonical(const struct kvmf_emul_ctxt *ctxt, u64 la)
{
	unsigned int shift = ctxt->la57 ? 64 - 57 : 64 - 48;

	return (u64)((s64)(la << shift) >> shift) == la;
}

/* ------------------------------------------------------------------ */
/* Registers                                                           */

static u64 gpr_read(const struct kvmf_emul_ctxt *ctxt, unsigned int reg,
		    bool high, unsigned int size)
{
	u64 val = ctxt->regs[reg];

	return (high ? val >> 8 : val) & size_mask(size);
}

/*
 * Writes of 8 and 16 bits merge into the register; 32-bit writes
 * zero-extend, as in 64-bit mode (the upper half is undefined elsewhere).
 */
static void gpr_write(struct kvmf_emul_ctxt *ctxt, unsigned int reg,
		      bool high, unsigned int size, u64 val)
{
	u64 *p = &ctxt->regs[reg];
	unsigned int shift = high ? 8 : 0;
	u64 mask = size_mask(size);

	if (size >= 4)
		*p = val & mask;
	else
		*p = (*p & ~(mask << shift)) | ((val & mask) << shift);
}

/* Without REX, byte registers 4-7 are AH, CH, DH and BH. */
static void reg_operand(const struct kvmf_emul_ctxt *ctxt,
			struct operand *op, unsigned int reg, unsigned int size)
{
	op->type = OPND_REG;
	op->size = size;
	op->reg = reg;
	op->high = false;
	if (size == 1 && !ctxt->insn.rex && reg >= 4 && reg < 8) {
		op->reg = reg - 4;
		op->high = true;
	}
}

/* ------------------------------------------------------------------ */
/* Memory accesses and their replay after an MMIO exit                 */

static void acc_reset(struct kvmf_emul_ctxt *ctxt)
{
	ctxt->nr_acc = 0;
	ctxt->acc_pos = 0;
	ctxt->acc_waiting = false;
}

/*
 * Every access of the instruction goes through here.  Accesses already
 * done in an earlier pass (before an MMIO exit) are replayed from ctxt->acc
 * in order; the first new one goes to the ops.  An access that does not
 * match its record (address, size, direction, and for a write the data)
 * means the caller changed the context between passes: give up rather
 * than guess.
 */
static int mem_access(struct kvmf_emul_ctxt *ctxt, unsigned int seg, u64 gva,
		      u8 *data, unsigned int len, bool write)
{
	struct kvmf_emul_access *a;
	int r;

	if (long_mode(ctxt) &&
	    (!canonical(ctxt, gva) || !canonical(ctxt, gva + len - 1)))
		return kvmf_emul_raise(ctxt, seg == KVMF_SEG_SS ?
				       KVMF_VEC_SS : KVMF_VEC_GP, 0, 0);
	if (ctxt->acc_pos >= KVMF_EMUL_MAX_ACCESS)
		return KVMF_EMUL_UNHANDLED;

	a = &ctxt->acc[ctxt->acc_pos];
	if (ctxt->acc_pos < ctxt->nr_acc) {
		if (a->gva != gva || a->len != len || a->write != write ||
		    (write && memcmp(a->data, data, len)))
			return KVMF_EMUL_UNHANDLED;
		if (!write)
			memcpy(data, a->data, len);
		ctxt->acc_pos++;
		return KVMF_EMUL_OK;
	}

	if (write)
		r = ctxt->ops->write_mem(ctxt, gva, data, len);
	else
		r = ctxt->ops->read_mem(ctxt, gva, data, len);
	if (r != KVMF_EMUL_OK && r != KVMF_EMUL_MMIO_EXIT)
		return r;

	a->gva = gva;
	a->len = len;
	a->write = write;
	memset(a->data, 0, sizeof(a->data));
	if (write || r == KVMF_EMUL_OK)
		memcpy(a->data, data, len);
	if (r == KVMF_EMUL_MMIO_EXIT) {
		ctxt->acc_waiting = true;
		return r;
	}
	ctxt->nr_acc++;
	ctxt->acc_pos++;
	return KVMF_EMUL_OK;
}

static int mem_read(struct kvmf_emul_ctxt *ctxt, unsigned int seg, u64 gva,
		    unsigned int size, u64 *val)
{
	u8 buf[8];
	int r;

	r = mem_access(ctxt, seg, gva, buf, size, false);
	if (r)
		return r;
	*val = le_load(buf, size);
	return KVMF_EMUL_OK;
}

static int mem_write(struct kvmf_emul_ctxt *ctxt, unsigned int seg, u64 gva,
		     unsigned int size, u64 val)
{
	u8 buf[8];

	le_store(buf, val, size);
	return mem_access(ctxt, seg, gva, buf, size, true);
}

void kvmf_emul_mmio_complete(struct kvmf_emul_ctxt *ctxt, const void *data,
			     unsigned int len)
{
	struct kvmf_emul_access *a;

	if (!ctxt->acc_waiting)
		return;
	a = &ctxt->acc[ctxt->nr_acc];
	if (!a->write && data)
		memcpy(a->data, data, len < a->len ? len : a->len);
	ctxt->acc_waiting = false;
	ctxt->nr_acc++;
}

static int op_read(struct kvmf_emul_ctxt *ctxt, struct operand *op)
{
	switch (op->type) {
	case OPND_REG:
		op->val = gpr_read(ctxt, op->reg, op->high, op->size);
		return KVMF_EMUL_OK;
	case OPND_MEM:
		return mem_read(ctxt, op->seg, op->gva, op->size, &op->val);
	case OPND_IMM:
		op->val = ctxt->insn.imm & size_mask(op->size);
		return KVMF_EMUL_OK;
	}
	return KVMF_EMUL_UNHANDLED;
}

static int op_write(struct kvmf_emul_ctxt *ctxt, struct operand *op, u64 val)
{
	switch (op->type) {
	case OPND_REG:
		gpr_write(ctxt, op->reg, op->high, op->size, val);
		return KVMF_EMUL_OK;
	case OPND_MEM:
		return mem_write(ctxt, op->seg, op->gva, op->size, val);
	}
	return KVMF_EMUL_UNHANDLED;
}

/* ------------------------------------------------------------------ */
/* Arithmetic flags                                                    */

static bool parity_even(u64 val)
{
	u8 b = (u8)val;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

/* ZF, SF and PF of a result. */
static u64 flags_zsp(u64 res, unsigned int size)
{
	u64 fl = 0;

	res &= size_mask(size);
	if (!res)
		fl |= KVMF_EFL_ZF;
	if (res & sign_bit(size))
		fl |= KVMF_EFL_SF;
	if (parity_even(res))
		fl |= KVMF_EFL_PF;
	return fl;
}

/*
 * res = a + b + carry-in.  Bit i of 'carries' is the carry out of bit i:
 * CF is the one out of the top bit, AF the one out of bit 3.  Only bits up
 * to the operand's top bit are looked at, so a, b and res need no masking.
 */
static u64 flags_add(u64 a, u64 b, u64 res, unsigned int size)
{
	u64 carries = (a & b) | ((a ^ b) & ~res);
	u64 fl = flags_zsp(res, size);

	if (carries & sign_bit(size))
		fl |= KVMF_EFL_CF;
	if (carries & 8)
		fl |= KVMF_EFL_AF;
	if ((a ^ res) & (b ^ res) & sign_bit(size))
		fl |= KVMF_EFL_OF;
	return fl;
}

/* res = a - b - borrow-in; 'borrows' as 'carries' above. */
static u64 flags_sub(u64 a, u64 b, u64 res, unsigned int size)
{
	u64 borrows = (~a & b) | (~(a ^ b) & res);
	u64 fl = flags_zsp(res, size);

	if (borrows & sign_bit(size))
		fl |= KVMF_EFL_CF;
	if (borrows & 8)
		fl |= KVMF_EFL_AF;
	if ((a ^ b) & (a ^ res) & sign_bit(size))
		fl |= KVMF_EFL_OF;
	return fl;
}

/* Replace the RFLAGS bits in 'which' by those of 'fl'. */
static void set_flags(struct kvmf_emul_ctxt *ctxt, u64 fl, u64 which)
{
	ctxt->rflags = (ctxt->rflags & ~which) | (fl & which);
}

/* One ALU operation; *fl gets the six arithmetic flags. */
static u64 alu_compute(unsigned int op, u64 a, u64 b, unsigned int size,
		       u64 rflags, u64 *fl)
{
	u64 cin = (op == AOP_ADC || op == AOP_SBB) && (rflags & KVMF_EFL_CF);
	u64 res;

	switch (op) {
	case AOP_ADD:
	case AOP_ADC:
		res = a + b + cin;
		*fl = flags_add(a, b, res, size);
		break;
	case AOP_SUB:
	case AOP_SBB:
	case AOP_CMP:
		res = a - b - cin;
		*fl = flags_sub(a, b, res, size);
		break;
	case AOP_OR:
		res = a | b;
		*fl = flags_zsp(res, size);	/* CF, OF clear; AF cleared */
		break;
	case AOP_XOR:
		res = a ^ b;
		*fl = flags_zsp(res, size);
		break;
	default:			/* AND, TEST */
		res = a & b;
		*fl = flags_zsp(res, size);
		break;
	}
	return res & size_mask(size);
}

/* ------------------------------------------------------------------ */
/* Handlers.  Each does its memory accesses before it changes any       */
/* register or flag, so a pass that stops at an MMIO exit changes       */
/* nothing and the next pass starts from the same state.               */

static int em_mov(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	int r = op_read(ctxt, &o->src);

	return r ? r : op_write(ctxt, &o->dst, o->src.val);
}

/* MOVZX: op_read already zero-extends. */
static int em_movzx(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	return em_mov(ctxt, o);
}

static int em_movsx(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	int r = op_read(ctxt, &o->src);

	if (r)
		return r;
	return op_write(ctxt, &o->dst, sign_extend(o->src.val, o->src.size));
}

/* 63 is MOVSXD in 64-bit mode and ARPL elsewhere (not emulated). */
static int em_movsxd(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	if (!long_mode(ctxt))
		return KVMF_EMUL_UNHANDLED;
	return em_movsx(ctxt, o);
}

/* ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST: aux is the AOP_. */
static int em_alu(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	unsigned int op = ctxt->insn.desc->aux;
	u64 res, fl;
	int r;

	r = op_read(ctxt, &o->dst);
	if (!r)
		r = op_read(ctxt, &o->src);
	if (r)
		return r;

	res = alu_compute(op, o->dst.val, o->src.val, o->dst.size,
			  ctxt->rflags, &fl);
	if (op != AOP_CMP && op != AOP_TEST) {
		r = op_write(ctxt, &o->dst, res);
		if (r)
			return r;
	}
	set_flags(ctxt, fl, KVMF_EFL_ARITH);
	return KVMF_EMUL_OK;
}

/* INC (aux 0) and DEC (aux 1): as ADD/SUB 1, but CF is kept. */
static int em_incdec(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	struct operand *dst = &o->dst;
	bool dec = ctxt->insn.desc->aux;
	u64 res, fl;
	int r;

	r = op_read(ctxt, dst);
	if (r)
		return r;
	res = dec ? dst->val - 1 : dst->val + 1;
	fl = dec ? flags_sub(dst->val, 1, res, dst->size) :
		   flags_add(dst->val, 1, res, dst->size);
	r = op_write(ctxt, dst, res);
	if (r)
		return r;
	set_flags(ctxt, fl, KVMF_EFL_ARITH & ~KVMF_EFL_CF);
	return KVMF_EMUL_OK;
}

static int em_not(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	int r = op_read(ctxt, &o->dst);

	return r ? r : op_write(ctxt, &o->dst, ~o->dst.val);
}

/* NEG is 0 - x: CF is set unless x is 0, which flags_sub gives. */
static int em_neg(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	struct operand *dst = &o->dst;
	u64 res;
	int r;

	r = op_read(ctxt, dst);
	if (r)
		return r;
	res = 0 - dst->val;
	r = op_write(ctxt, dst, res);
	if (r)
		return r;
	set_flags(ctxt, flags_sub(0, dst->val, res, dst->size), KVMF_EFL_ARITH);
	return KVMF_EMUL_OK;
}

/* XCHG r/m, reg: the memory write comes before the register write. */
static int em_xchg(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	int r;

	r = op_read(ctxt, &o->dst);
	if (!r)
		r = op_read(ctxt, &o->src);
	if (!r)
		r = op_write(ctxt, &o->dst, o->src.val);
	if (!r)
		r = op_write(ctxt, &o->src, o->dst.val);
	return r;
}

/*
 * One iteration of MOVS, STOS or LODS: DS:rSI (segment overridable) to
 * ES:rDI, with rSI and rDI of the address size, stepping by the operand
 * size, backwards when RFLAGS.DF is set.
 */
static int string_once(struct kvmf_emul_ctxt *ctxt, unsigned int kind,
		       unsigned int size)
{
	const struct kvmf_insn *insn = &ctxt->insn;
	unsigned int ad = insn->ad_bytes;
	unsigned int sseg = KVMF_SEG_DS;
	u64 si = gpr_read(ctxt, KVMF_RSI, false, ad);
	u64 di = gpr_read(ctxt, KVMF_RDI, false, ad);
	u64 step = ctxt->rflags & KVMF_EFL_DF ? 0 - (u64)size : size;
	u64 val;
	int r;

	if (insn->seg_override >= 0)
		sseg = (unsigned int)insn->seg_override;
	if (kind == STR_STOS) {
		val = gpr_read(ctxt, KVMF_RAX, false, size);
	} else {
		r = mem_read(ctxt, sseg, linear(ctxt, sseg, si), size, &val);
		if (r)
			return r;
	}

	if (kind == STR_LODS) {
		gpr_write(ctxt, KVMF_RAX, false, size, val);
	} else {
		r = mem_write(ctxt, KVMF_SEG_ES, linear(ctxt, KVMF_SEG_ES, di),
			      size, val);
		if (r)
			return r;
		gpr_write(ctxt, KVMF_RDI, false, ad, di + step);
	}
	if (kind != STR_STOS)
		gpr_write(ctxt, KVMF_RSI, false, ad, si + step);
	return KVMF_EMUL_OK;
}

/*
 * MOVS, STOS and LODS; with F2 or F3, up to REP_BATCH iterations per call.
 * Each completed iteration is committed (rSI, rDI, rCX) and its accesses
 * forgotten, so an MMIO exit only ever suspends the current iteration.
 */
static int em_string(struct kvmf_emul_ctxt *ctxt, struct operands *o)
{
	const struct kvmf_insn *insn = &ctxt->insn;
	unsigned int size = o->dst.size;
	unsigned int ad = insn->ad_bytes;
	unsigned int n;
	u64 count;
	int r;

	if (!insn->rep)
		return string_once(ctxt, insn->desc->aux, size);

	for (n = 0; n < REP_BATCH; n++) {
		count = gpr_read(ctxt, KVMF_RCX, false, ad);
		if (!count)
			return KVMF_EMUL_OK;
		r = string_once(ctxt, insn->desc->aux, size);
		if (r)
			return r;
		gpr_write(ctxt, KVMF_RCX, false, ad, count - 1);
		acc_reset(ctxt);
		if (count == 1)
			return KVMF_EMUL_OK;
	}
	return EMUL_AGAIN;
}

/* ------------------------------------------------------------------ */
/* Opcode tables                                                       */

#define D(f)		{ .flags = OPF_DEF | (f) }
#define I(f, d, s, fn, a) \
	{ .flags = OPF_DEF | (f), .dst = (d), .src = (s), .exec = (fn), .aux = (a) }
#define PFX(k)		{ .flags = OPF_DEF | OPF_PREFIX, .aux = (k) }
#define GRP(f, g)	{ .flags = OPF_DEF | OPF_MODRM | OPF_GROUP | (f), .aux = (g) }

#define IMM(k)		OPF_IMM(IK_##k)
#define MRM		OPF_MODRM
#define BYTE		OPF_BYTE

/* The six ALU forms at 8 * op + 0..5: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz */
#define ALU_ROW(base, op, lock)						\
	[(base) + 0] = I(MRM | BYTE | (lock), OPK_E, OPK_G, em_alu, op),	\
	[(base) + 1] = I(MRM | (lock), OPK_E, OPK_G, em_alu, op),		\
	[(base) + 2] = I(MRM | BYTE, OPK_G, OPK_E, em_alu, op),		\
	[(base) + 3] = I(MRM, OPK_G, OPK_E, em_alu, op),			\
	[(base) + 4] = I(BYTE | IMM(B), OPK_ACC, OPK_IMM, em_alu, op),	\
	[(base) + 5] = I(IMM(Z), OPK_ACC, OPK_IMM, em_alu, op)

enum { G1, G1A, G2, G3, G4, G5, G11, NR_GROUPS };

static const struct kvmf_opdesc onebyte[256] = {
	ALU_ROW(0x00, AOP_ADD, OPF_LOCK),
	[0x06] = D(OPF_NO64),			/* PUSH ES */
	[0x07] = D(OPF_NO64),			/* POP ES */
	ALU_ROW(0x08, AOP_OR, OPF_LOCK),
	[0x0e] = D(OPF_NO64),			/* PUSH CS; 0F escapes */
	ALU_ROW(0x10, AOP_ADC, OPF_LOCK),
	[0x16] = D(OPF_NO64),			/* PUSH SS */
	[0x17] = D(OPF_NO64),			/* POP SS */
	ALU_ROW(0x18, AOP_SBB, OPF_LOCK),
	[0x1e] = D(OPF_NO64),			/* PUSH DS */
	[0x1f] = D(OPF_NO64),			/* POP DS */
	ALU_ROW(0x20, AOP_AND, OPF_LOCK),
	[0x26] = PFX(KVMF_SEG_ES),
	[0x27] = D(OPF_NO64),			/* DAA */
	ALU_ROW(0x28, AOP_SUB, OPF_LOCK),
	[0x2e] = PFX(KVMF_SEG_CS),
	[0x2f] = D(OPF_NO64),			/* DAS */
	ALU_ROW(0x30, AOP_XOR, OPF_LOCK),
	[0x36] = PFX(KVMF_SEG_SS),
	[0x37] = D(OPF_NO64),			/* AAA */
	ALU_ROW(0x38, AOP_CMP, 0),
	[0x3e] = PFX(KVMF_SEG_DS),
	[0x3f] = D(OPF_NO64),			/* AAS */
	/* 40-4F: REX in 64-bit mode (taken before this table), else: */
	[0x40 ... 0x47] = I(0, OPK_ZREG, OPK_NONE, em_incdec, 0),
	[0x48 ... 0x4f] = I(0, OPK_ZREG, OPK_NONE, em_incdec, 1),
	[0x50 ... 0x5f] = D(OPF_DEF64),		/* PUSH, POP */
	[0x60 ... 0x61] = D(OPF_NO64),		/* PUSHA, POPA */
	[0x62] = D(MRM | OPF_NO64 | OPF_VEX | OPF_MEMONLY),	/* BOUND */
	[0x63] = I(MRM | OPF_SSZ(SSZ_D), OPK_G, OPK_E, em_movsxd, 0),
	[0x64] = PFX(KVMF_SEG_FS),
	[0x65] = PFX(KVMF_SEG_GS),
	[0x66] = PFX(PFX_OPSIZE),
	[0x67] = PFX(PFX_ADSIZE),
	[0x68] = D(OPF_DEF64 | IMM(Z)),		/* PUSH Iz */
	[0x69] = D(MRM | IMM(Z)),		/* IMUL Gv, Ev, Iz */
	[0x6a] = D(OPF_DEF64 | IMM(B)),		/* PUSH Ib */
	[0x6b] = D(MRM | IMM(B)),		/* IMUL Gv, Ev, Ib */
	[0x6c ... 0x6f] = D(0),			/* INS, OUTS */
	[0x70 ... 0x7f] = D(OPF_DEF64 | IMM(B)),	/* Jcc Jb */
	[0x80] = GRP(BYTE | IMM(B), G1),
	[0x81] = GRP(IMM(Z), G1),
	[0x82] = GRP(BYTE | IMM(B) | OPF_NO64, G1),
	[0x83] = GRP(IMM(B), G1),
	[0x84] = I(MRM | BYTE, OPK_E, OPK_G, em_alu, AOP_TEST),
	[0x85] = I(MRM, OPK_E, OPK_G, em_alu, AOP_TEST),
	[0x86] = I(MRM | BYTE | OPF_LOCK, OPK_E, OPK_G, em_xchg, 0),
	[0x87] = I(MRM | OPF_LOCK, OPK_E, OPK_G, em_xchg, 0),
	[0x88] = I(MRM | BYTE, OPK_E, OPK_G, em_mov, 0),
	[0x89] = I(MRM, OPK_E, OPK_G, em_mov, 0),
	[0x8a] = I(MRM | BYTE, OPK_G, OPK_E, em_mov, 0),
	[0x8b] = I(MRM, OPK_G, OPK_E, em_mov, 0),
	[0x8c] = D(MRM),			/* MOV Ev, Sw */
	[0x8d] = D(MRM | OPF_MEMONLY),		/* LEA */
	[0x8e] = D(MRM),			/* MOV Sw, Ew */
	[0x8f] = GRP(OPF_XOP, G1A),
	[0x90 ... 0x99] = D(0),			/* XCHG, NOP, CBW, CWD */
	[0x9a] = D(OPF_NO64 | IMM(FAR)),	/* CALLF Ap */
	[0x9b] = D(0),				/* FWAIT */
	[0x9c ... 0x9d] = D(OPF_DEF64),		/* PUSHF, POPF */
	[0x9e ... 0x9f] = D(0),			/* SAHF, LAHF */
	[0xa0] = I(BYTE | IMM(MOFFS), OPK_ACC, OPK_MOFFS, em_mov, 0),
	[0xa1] = I(IMM(MOFFS), OPK_ACC, OPK_MOFFS, em_mov, 0),
	[0xa2] = I(BYTE | IMM(MOFFS), OPK_MOFFS, OPK_ACC, em_mov, 0),
	[0xa3] = I(IMM(MOFFS), OPK_MOFFS, OPK_ACC, em_mov, 0),
	[0xa4] = I(BYTE, OPK_NONE, OPK_NONE, em_string, STR_MOVS),
	[0xa5] = I(0, OPK_NONE, OPK_NONE, em_string, STR_MOVS),
	[0xa6 ... 0xa7] = D(0),			/* CMPS */
	[0xa8] = I(BYTE | IMM(B), OPK_ACC, OPK_IMM, em_alu, AOP_TEST),
	[0xa9] = I(IMM(Z), OPK_ACC, OPK_IMM, em_alu, AOP_TEST),
	[0xaa] = I(BYTE, OPK_NONE, OPK_NONE, em_string, STR_STOS),
	[0xab] = I(0, OPK_NONE, OPK_NONE, em_string, STR_STOS),
	[0xac] = I(BYTE, OPK_NONE, OPK_NONE, em_string, STR_LODS),
	[0xad] = I(0, OPK_NONE, OPK_NONE, em_string, STR_LODS),
	[0xae ... 0xaf] = D(0),			/* SCAS */
	[0xb0 ... 0xb7] = I(BYTE | IMM(B), OPK_ZREG, OPK_IMM, em_mov, 0),
	[0xb8 ... 0xbf] = I(IMM(V), OPK_ZREG, OPK_IMM, em_mov, 0),
	[0xc0] = GRP(BYTE | IMM(B), G2),
	[0xc1] = GRP(IMM(B), G2),
	[0xc2] = D(OPF_DEF64 | IMM(W)),		/* RET Iw */
	[0xc3] = D(OPF_DEF64),			/* RET */
	[0xc4 ... 0xc5] = D(MRM | OPF_NO64 | OPF_VEX | OPF_MEMONLY), /* LES, LDS */
	[0xc6] = GRP(BYTE | IMM(Z), G11),
	[0xc7] = GRP(IMM(Z), G11),
	[0xc8] = D(IMM(WB)),			/* ENTER */
	[0xc9] = D(OPF_DEF64),			/* LEAVE */
	[0xca] = D(IMM(W)),			/* RETF Iw */
	[0xcb ... 0xcc] = D(0),			/* RETF, INT3 */
	[0xcd] = D(IMM(B)),			/* INT Ib */
	[0xce] = D(OPF_NO64),			/* INTO */
	[0xcf] = D(0),				/* IRET */
	[0xd0] = GRP(BYTE, G2),
	[0xd1] = GRP(0, G2),
	[0xd2] = GRP(BYTE, G2),
	[0xd3] = GRP(0, G2),
	[0xd4 ... 0xd5] = D(OPF_NO64 | IMM(B)),	/* AAM, AAD; D6 is #UD */
	[0xd7] = D(0),				/* XLAT */
	[0xd8 ... 0xdf] = D(MRM),		/* x87 */
	[0xe0 ... 0xe3] = D(OPF_DEF64 | IMM(B)),	/* LOOPcc, JrCXZ */
	[0xe4 ... 0xe7] = D(IMM(B)),		/* IN, OUT with Ib */
	[0xe8 ... 0xe9] = D(OPF_DEF64 | IMM(Z)),	/* CALL, JMP Jz */
	[0xea] = D(OPF_NO64 | IMM(FAR)),	/* JMPF Ap */
	[0xeb] = D(OPF_DEF64 | IMM(B)),		/* JMP Jb */
	[0xec ... 0xef] = D(0),			/* IN, OUT with DX */
	[0xf0] = PFX(PFX_LOCK),
	[0xf1] = D(0),				/* INT1 */
	[0xf2] = PFX(PFX_REPNE),
	[0xf3] = PFX(PFX_REP),
	[0xf4 ... 0xf5] = D(0),			/* HLT, CMC */
	[0xf6] = GRP(BYTE, G3),
	[0xf7] = GRP(0, G3),
	[0xf8 ... 0xfd] = D(0),			/* CLC ... STD */
	[0xfe] = GRP(BYTE, G4),
	[0xff] = GRP(0, G5),
};

/* The ModRM.reg extensions; the immediate and BYTE come from the opcode. */
static const struct kvmf_opdesc groups[NR_GROUPS][8] = {
	[G1] = {
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_ADD),
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_OR),
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_ADC),
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_SBB),
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_AND),
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_SUB),
		I(OPF_LOCK, OPK_E, OPK_IMM, em_alu, AOP_XOR),
		I(0, OPK_E, OPK_IMM, em_alu, AOP_CMP),
	},
	[G1A] = { D(OPF_DEF64) },		/* POP Ev; /1-/7 are XOP */
	[G2] = {				/* shifts and rotates */
		D(0), D(0), D(0), D(0), D(0), D(0), D(0), D(0),
	},
	[G3] = {
		I(IMM(Z), OPK_E, OPK_IMM, em_alu, AOP_TEST),
		I(IMM(Z), OPK_E, OPK_IMM, em_alu, AOP_TEST),	/* alias */
		I(OPF_LOCK, OPK_E, OPK_NONE, em_not, 0),
		I(OPF_LOCK, OPK_E, OPK_NONE, em_neg, 0),
		D(0), D(0), D(0), D(0),			/* MUL ... IDIV */
	},
	[G4] = {
		I(OPF_LOCK, OPK_E, OPK_NONE, em_incdec, 0),
		I(OPF_LOCK, OPK_E, OPK_NONE, em_incdec, 1),
	},
	[G5] = {
		I(OPF_LOCK, OPK_E, OPK_NONE, em_incdec, 0),
		I(OPF_LOCK, OPK_E, OPK_NONE, em_incdec, 1),
		D(OPF_DEF64),				/* CALL Ev */
		D(OPF_MEMONLY),				/* CALLF Mp */
		D(OPF_DEF64),				/* JMP Ev */
		D(OPF_MEMONLY),				/* JMPF Mp */
		D(OPF_DEF64),				/* PUSH Ev */
	},
	[G11] = {
		I(0, OPK_E, OPK_IMM, em_mov, 0),
		[7] = D(0),				/* XABORT, XBEGIN */
	},
};

static const struct kvmf_opdesc twobyte[256] = {
	[0x00 ... 0x03] = D(MRM),		/* grp6, grp7, LAR, LSL */
	[0x05 ... 0x09] = D(0),			/* SYSCALL ... WBINVD */
	[0x0d] = D(MRM),			/* PREFETCH */
	[0x0e] = D(0),				/* FEMMS */
	[0x0f] = D(MRM | IMM(B)),		/* 3DNow!: suffix byte */
	[0x10 ... 0x1f] = D(MRM),		/* SSE moves, hints, NOP Ev */
	/* MOV CRn, DRn; on AMD, LOCK MOV CR0 is MOV CR8 outside 64-bit mode. */
	[0x20] = D(MRM | OPF_REGONLY | OPF_LOCKREG),
	[0x21] = D(MRM | OPF_REGONLY),
	[0x22] = D(MRM | OPF_REGONLY | OPF_LOCKREG),
	[0x23] = D(MRM | OPF_REGONLY),
	[0x28 ... 0x2f] = D(MRM),
	[0x30 ... 0x35] = D(0),			/* WRMSR ... SYSEXIT */
	[0x40 ... 0x4f] = D(MRM),		/* CMOVcc */
	[0x50 ... 0x6f] = D(MRM),
	[0x70 ... 0x73] = D(MRM | IMM(B)),	/* PSHUF, shift groups */
	[0x74 ... 0x76] = D(MRM),
	[0x77] = D(0),				/* EMMS */
	[0x78] = D(OPF_NOLEN),			/* EXTRQ/INSERTQ Ib, Ib */
	[0x79] = D(MRM),
	[0x7c ... 0x7f] = D(MRM),
	[0x80 ... 0x8f] = D(OPF_DEF64 | IMM(Z)),	/* Jcc Jz */
	[0x90 ... 0x9f] = D(MRM),		/* SETcc */
	[0xa0 ... 0xa1] = D(OPF_DEF64),		/* PUSH, POP FS */
	[0xa2] = D(0),				/* CPUID */
	[0xa3] = D(MRM),			/* BT */
	[0xa4] = D(MRM | IMM(B)),		/* SHLD Ib */
	[0xa5] = D(MRM),			/* SHLD CL */
	[0xa8 ... 0xa9] = D(OPF_DEF64),		/* PUSH, POP GS */
	[0xaa] = D(0),				/* RSM */
	[0xab] = D(MRM | OPF_LOCK),		/* BTS */
	[0xac] = D(MRM | IMM(B)),		/* SHRD Ib */
	[0xad ... 0xaf] = D(MRM),		/* SHRD CL, grp15, IMUL */
	[0xb0 ... 0xb1] = D(MRM | OPF_LOCK),	/* CMPXCHG */
	[0xb2] = D(MRM | OPF_MEMONLY),		/* LSS */
	[0xb3] = D(MRM | OPF_LOCK),		/* BTR */
	[0xb4 ... 0xb5] = D(MRM | OPF_MEMONLY),	/* LFS, LGS */
	[0xb6] = I(MRM | OPF_SSZ(SSZ_B), OPK_G, OPK_E, em_movzx, 0),
	[0xb7] = I(MRM | OPF_SSZ(SSZ_W), OPK_G, OPK_E, em_movzx, 0),
	[0xb8] = D(MRM),			/* POPCNT */
	[0xba] = D(MRM | IMM(B) | OPF_LOCK),	/* grp8: BT* Ib */
	[0xbb] = D(MRM | OPF_LOCK),		/* BTC */
	[0xbc ... 0xbd] = D(MRM),		/* BSF/TZCNT, BSR/LZCNT */
	[0xbe] = I(MRM | OPF_SSZ(SSZ_B), OPK_G, OPK_E, em_movsx, 0),
	[0xbf] = I(MRM | OPF_SSZ(SSZ_W), OPK_G, OPK_E, em_movsx, 0),
	[0xc0 ... 0xc1] = D(MRM | OPF_LOCK),	/* XADD */
	[0xc2] = D(MRM | IMM(B)),		/* CMPPS */
	[0xc3] = I(MRM | OPF_MEMONLY | OPF_NP, OPK_E, OPK_G, em_mov, 0),	/* MOVNTI */
	[0xc4 ... 0xc6] = D(MRM | IMM(B)),	/* PINSRW, PEXTRW, SHUFPS */
	[0xc7] = D(MRM | OPF_LOCK),		/* grp9: CMPXCHG8B/16B */
	[0xc8 ... 0xcf] = D(0),			/* BSWAP */
	[0xd0 ... 0xfe] = D(MRM),
};

/* The 0F 38 and 0F 3A maps: length only (ModRM, and Ib for 0F 3A). */
static const struct kvmf_opdesc map_0f38 = D(MRM);
static const struct kvmf_opdesc map_0f3a = D(MRM | IMM(B));

/* ------------------------------------------------------------------ */
/* Decoder                                                             */

/*
 * Fetch the next stretch of instruction bytes: up to the 15-byte limit,
 * but not across a page (the next page may not exist, and is not needed
 * if the instruction ends before it) nor across the end of the code
 * segment's offset space.
 */
static int fetch_chunk(struct kvmf_emul_ctxt *ctxt)
{
	struct kvmf_insn *insn = &ctxt->insn;
	unsigned int n = insn->nr_bytes, chunk;
	u64 mask = ip_mask(ctxt);
	u64 off = (ctxt->rip + n) & mask;
	u64 la = linear(ctxt, KVMF_SEG_CS, off);
	int r;

	if (n >= KVMF_INSN_MAX)
		return raise_gp0(ctxt);
	chunk = KVMF_INSN_MAX - n;
	if (chunk > 4096 - (la & 4095))
		chunk = 4096 - (la & 4095);
	if (mask != ~0ull && chunk > mask - off + 1)
		chunk = mask - off + 1;

	r = ctxt->ops->fetch(ctxt, la, insn->bytes + n, chunk);
	if (r == KVMF_EMUL_MMIO_EXIT)
		r = KVMF_EMUL_UNHANDLED;	/* no executing from MMIO */
	if (r)
		return r;
	insn->nr_bytes = n + chunk;
	return KVMF_EMUL_OK;
}

/* insn->len is the decoder's cursor until the decode is complete. */
static int next_byte(struct kvmf_emul_ctxt *ctxt, u8 *b)
{
	struct kvmf_insn *insn = &ctxt->insn;
	int r;

	if (insn->len == insn->nr_bytes) {
		r = fetch_chunk(ctxt);
		if (r)
			return r;
	}
	*b = insn->bytes[insn->len++];
	return KVMF_EMUL_OK;
}

static int next_le(struct kvmf_emul_ctxt *ctxt, unsigned int bytes, u64 *val)
{
	u8 b;
	unsigned int i;
	int r;

	*val = 0;
	for (i = 0; i < bytes; i++) {
		r = next_byte(ctxt, &b);
		if (r)
			return r;
		*val |= (u64)b << (8 * i);
	}
	return KVMF_EMUL_OK;
}

static void apply_prefix(struct kvmf_insn *insn, unsigned int kind, u8 b)
{
	switch (kind) {
	case PFX_OPSIZE:
		insn->opsize_prefix = true;
		break;
	case PFX_ADSIZE:
		insn->adsize_prefix = true;
		break;
	case PFX_LOCK:
		insn->lock = true;
		break;
	case PFX_REPNE:
	case PFX_REP:
		insn->rep = b;
		break;
	default:
		insn->seg_override = (s8)kind;
		break;
	}
}

/*
 * Legacy prefixes in any order, then an optional REX (64-bit mode only),
 * which counts only directly before the opcode.  Returns the opcode byte.
 */
static int decode_prefixes(struct kvmf_emul_ctxt *ctxt, u8 *opcode)
{
	struct kvmf_insn *insn = &ctxt->insn;
	const struct kvmf_opdesc *d;
	u8 b;
	int r;

	for (;;) {
		r = next_byte(ctxt, &b);
		if (r)
			return r;
		if (long_mode(ctxt) && (b & 0xf0) == 0x40) {
			insn->rex = b;
			continue;
		}
		d = &onebyte[b];
		if (!(d->flags & OPF_PREFIX))
			break;
		insn->rex = 0;
		apply_prefix(insn, d->aux, b);
	}
	*opcode = b;
	return KVMF_EMUL_OK;
}

/* The opcode, through the 0F, 0F 38 and 0F 3A escapes, to its entry. */
static int decode_opcode(struct kvmf_emul_ctxt *ctxt, u8 b,
			 const struct kvmf_opdesc **d)
{
	struct kvmf_insn *insn = &ctxt->insn;
	int r;

	insn->map = 1;
	insn->opcode = b;
	*d = &onebyte[b];
	if (b != 0x0f)
		return KVMF_EMUL_OK;

	r = next_byte(ctxt, &b);
	if (r)
		return r;
	if (b == 0x38 || b == 0x3a) {
		insn->map = b == 0x38 ? 3 : 4;
		*d = b == 0x38 ? &map_0f38 : &map_0f3a;
		r = next_byte(ctxt, &b);
	} else {
		insn->map = 2;
		*d = &twobyte[b];
	}
	insn->opcode = b;
	return r;
}

/* ModRM, with the group lookup it may select; *flags gets merged. */
static int decode_modrm(struct kvmf_emul_ctxt *ctxt,
			const struct kvmf_opdesc **d, u32 *flags)
{
	struct kvmf_insn *insn = &ctxt->insn;
	u8 m;
	int r;

	r = next_byte(ctxt, &m);
	if (r)
		return r;
	insn->has_modrm = true;
	insn->modrm = m;
	insn->mod = m >> 6;
	insn->reg = ((m >> 3) & 7) | ((insn->rex & 4) << 1);
	insn->rm = (m & 7) | ((insn->rex & 1) << 3);

	if ((*flags & OPF_VEX) && insn->mod == 3)
		return KVMF_EMUL_UNHANDLED;
	if ((*flags & OPF_XOP) && (m & 0x38))
		return KVMF_EMUL_UNHANDLED;
	if (*flags & OPF_GROUP) {
		*d = &groups[(*d)->aux][(m >> 3) & 7];
		if (!((*d)->flags & OPF_DEF))
			return raise_ud(ctxt);
		*flags = (*flags & ~OPF_GROUP) | (*d)->flags;
	}
	if (*flags & OPF_REGONLY)
		insn->mod = 3;
	if ((*flags & OPF_MEMONLY) && insn->mod == 3)
		return raise_ud(ctxt);
	insn->mem = insn->mod != 3;
	return KVMF_EMUL_OK;
}

/* Operand and address size, from the mode, 66, 67, REX.W and DEF64. */
static void decode_sizes(struct kvmf_emul_ctxt *ctxt, u32 flags)
{
	struct kvmf_insn *insn = &ctxt->insn;
	unsigned int def = code32(ctxt) ? 4 : 2;

	insn->byte_op = flags & OPF_BYTE;
	if (long_mode(ctxt)) {
		insn->ad_bytes = insn->adsize_prefix ? 4 : 8;
		if (insn->rex & 8)
			insn->op_bytes = 8;
		else if (insn->opsize_prefix)
			insn->op_bytes = 2;
		else
			insn->op_bytes = flags & OPF_DEF64 ? 8 : 4;
	} else {
		insn->ad_bytes = insn->adsize_prefix ? 6 - def : def;
		insn->op_bytes = insn->opsize_prefix ? 6 - def : def;
	}
}

/* SIB and displacement of a ModRM memory operand. */
static int decode_mem_bytes(struct kvmf_emul_ctxt *ctxt)
{
	struct kvmf_insn *insn = &ctxt->insn;
	unsigned int rm = insn->rm & 7, base = rm;
	u64 disp;
	int r;

	if (insn->ad_bytes == 2) {
		if (insn->mod == 1)
			insn->disp_bytes = 1;
		else if (insn->mod == 2 || rm == 6)
			insn->disp_bytes = 2;
	} else {
		if (rm == 4) {
			r = next_byte(ctxt, &insn->sib);
			if (r)
				return r;
			insn->has_sib = true;
			base = insn->sib & 7;
		}
		if (insn->mod == 1)
			insn->disp_bytes = 1;
		else if (insn->mod == 2 || base == 5)
			insn->disp_bytes = 4;
	}
	if (!insn->disp_bytes)
		return KVMF_EMUL_OK;
	r = next_le(ctxt, insn->disp_bytes, &disp);
	insn->disp = (s64)sign_extend(disp, insn->disp_bytes);
	return r;
}

static unsigned int imm_bytes(const struct kvmf_insn *insn, unsigned int kind)
{
	unsigned int v = insn->byte_op ? 1 : insn->op_bytes;

	switch (kind) {
	case IK_B:
		return 1;
	case IK_W:
		return 2;
	case IK_WB:
		return 3;
	case IK_Z:
		return v > 4 ? 4 : v;
	case IK_V:
		return v;
	case IK_MOFFS:
		return insn->ad_bytes;
	case IK_FAR:
		return insn->op_bytes + 2;
	}
	return 0;
}

static int decode_imm(struct kvmf_emul_ctxt *ctxt, unsigned int kind)
{
	struct kvmf_insn *insn = &ctxt->insn;
	int r;

	insn->imm_bytes = imm_bytes(insn, kind);
	r = next_le(ctxt, insn->imm_bytes, &insn->imm);
	if (kind == IK_B || kind == IK_W || kind == IK_Z || kind == IK_V)
		insn->imm = sign_extend(insn->imm, insn->imm_bytes);
	return r;
}

/* 16-bit forms: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (or disp16), BX. */
static const u8 ea16_base[8] = {
	KVMF_RBX, KVMF_RBX, KVMF_RBP, KVMF_RBP,
	KVMF_RSI, KVMF_RDI, KVMF_RBP, KVMF_RBX,
};

static u64 ea16(struct kvmf_emul_ctxt *ctxt, u8 *seg)
{
	const struct kvmf_insn *insn = &ctxt->insn;
	unsigned int rm = insn->rm & 7;
	u64 ea = (u64)insn->disp;

	if (rm < 4)
		ea += ctxt->regs[rm & 1 ? KVMF_RDI : KVMF_RSI];
	if (insn->mod != 0 || rm != 6) {
		ea += ctxt->regs[ea16_base[rm]];
		if (ea16_base[rm] == KVMF_RBP)
			*seg = KVMF_SEG_SS;
	}
	return ea;
}

/* 32- and 64-bit forms: base + index * scale + disp, or RIP + disp. */
static u64 ea32(struct kvmf_emul_ctxt *ctxt, u8 *seg)
{
	const struct kvmf_insn *insn = &ctxt->insn;
	unsigned int base = insn->rm, index;
	u64 ea = (u64)insn->disp;

	if (insn->has_sib) {
		base = (insn->sib & 7) | ((insn->rex & 1) << 3);
		index = ((insn->sib >> 3) & 7) | ((insn->rex & 2) << 2);
		if (index != KVMF_RSP)
			ea += ctxt->regs[index] << (insn->sib >> 6);
		if (insn->mod == 0 && (base & 7) == 5)
			return ea;		/* no base: disp32 */
	} else if (insn->mod == 0 && (base & 7) == 5) {
		if (long_mode(ctxt))	/* RIP-relative */
			ea += ctxt->rip + insn->len;
		return ea;
	}
	if (base == KVMF_RSP || base == KVMF_RBP)
		*seg = KVMF_SEG_SS;
	return ea + ctxt->regs[base];
}

/* The memory operand's segment, offset and linear address. */
static void decode_ea(struct kvmf_emul_ctxt *ctxt)
{
	struct kvmf_insn *insn = &ctxt->insn;
	u8 seg = KVMF_SEG_DS;
	u64 ea;

	if (insn->desc->src == OPK_MOFFS || insn->desc->dst == OPK_MOFFS) {
		insn->mem = true;
		ea = insn->imm;
	} else if (!insn->mem) {
		return;
	} else {
		ea = insn->ad_bytes == 2 ? ea16(ctxt, &seg) : ea32(ctxt, &seg);
	}
	if (insn->seg_override >= 0)
		seg = (u8)insn->seg_override;
	insn->seg = seg;
	insn->ea = ea & size_mask(insn->ad_bytes);
	insn->gva = linear(ctxt, seg, insn->ea);
}

/* What the opcode entry alone rules out, before any more bytes. */
static int check_opcode(struct kvmf_emul_ctxt *ctxt, u32 flags)
{
	if (!(flags & OPF_DEF))
		return raise_ud(ctxt);
	if (flags & OPF_NOLEN)
		return KVMF_EMUL_UNHANDLED;
	if ((flags & OPF_VEX) && long_mode(ctxt))
		return KVMF_EMUL_UNHANDLED;
	if ((flags & OPF_NO64) && long_mode(ctxt))
		return raise_ud(ctxt);
	return KVMF_EMUL_OK;
}

/* Prefixes the complete instruction does not allow. */
static int check_prefixes(struct kvmf_emul_ctxt *ctxt, u32 flags)
{
	const struct kvmf_insn *insn = &ctxt->insn;

	if (insn->lock && !(flags & OPF_LOCKREG) &&
	    (!(flags & OPF_LOCK) || !insn->mem))
		return raise_ud(ctxt);
	if ((flags & OPF_NP) && (insn->opsize_prefix || insn->rep))
		return raise_ud(ctxt);
	return KVMF_EMUL_OK;
}

static int decode(struct kvmf_emul_ctxt *ctxt)
{
	struct kvmf_insn *insn = &ctxt->insn;
	const struct kvmf_opdesc *d;
	u32 flags;
	u8 b;
	int r;

	r = decode_prefixes(ctxt, &b);
	if (!r)
		r = decode_opcode(ctxt, b, &d);
	if (r)
		return r;
	flags = d->flags;
	r = check_opcode(ctxt, flags);
	if (!r && (flags & OPF_MODRM))
		r = decode_modrm(ctxt, &d, &flags);
	if (r)
		return r;

	insn->desc = d;
	decode_sizes(ctxt, flags);
	if (insn->mem) {
		r = decode_mem_bytes(ctxt);
		if (r)
			return r;
	}
	r = decode_imm(ctxt, (flags & OPF_IMM_MASK) >> OPF_IMM_SHIFT);
	if (!r)
		r = check_prefixes(ctxt, flags);
	if (r)
		return r;
	decode_ea(ctxt);
	return KVMF_EMUL_OK;
}

int kvmf_insn_decode(struct kvmf_emul_ctxt *ctxt)
{
	struct kvmf_insn *insn = &ctxt->insn;
	int r;

	memset(insn, 0, sizeof(*insn));
	insn->seg_override = -1;
	acc_reset(ctxt);

	r = decode(ctxt);
	if (r) {
		insn->len = 0;
		insn->desc = NULL;
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* Execution                                                           */

static unsigned int src_size(u32 flags, unsigned int size)
{
	switch ((flags & OPF_SSZ_MASK) >> OPF_SSZ_SHIFT) {
	case SSZ_B:
		return 1;
	case SSZ_W:
		return 2;
	case SSZ_D:
		return size > 4 ? 4 : size;
	}
	return size;
}

static void setup_operand(struct kvmf_emul_ctxt *ctxt, unsigned int kind,
			  unsigned int size, struct operand *op)
{
	const struct kvmf_insn *insn = &ctxt->insn;

	memset(op, 0, sizeof(*op));
	op->size = size;
	switch (kind) {
	case OPK_E:
	case OPK_MOFFS:
		if (kind == OPK_E && !insn->mem) {
			reg_operand(ctxt, op, insn->rm, size);
			break;
		}
		op->type = OPND_MEM;
		op->seg = insn->seg;
		op->gva = insn->gva;
		break;
	case OPK_G:
		reg_operand(ctxt, op, insn->reg, size);
		break;
	case OPK_ACC:
		reg_operand(ctxt, op, KVMF_RAX, size);
		break;
	case OPK_ZREG:
		reg_operand(ctxt, op, (insn->opcode & 7) | ((insn->rex & 1) << 3),
			    size);
		break;
	case OPK_IMM:
		op->type = OPND_IMM;
		break;
	}
}

int kvmf_insn_emulate(struct kvmf_emul_ctxt *ctxt)
{
	const struct kvmf_insn *insn = &ctxt->insn;
	const struct kvmf_opdesc *d = insn->desc;
	struct operands o;
	unsigned int size;
	int r;

	if (!insn->len || !d || !d->exec)
		return KVMF_EMUL_UNHANDLED;

	size = insn->byte_op ? 1 : insn->op_bytes;
	setup_operand(ctxt, d->dst, size, &o.dst);
	setup_operand(ctxt, d->src, src_size(d->flags, size), &o.src);

	ctxt->acc_pos = 0;
	r = d->exec(ctxt, &o);
	if (r == KVMF_EMUL_MMIO_EXIT)
		return r;
	acc_reset(ctxt);
	if (r == EMUL_AGAIN)
		return KVMF_EMUL_OK;
	if (r == KVMF_EMUL_OK)
		ctxt->rip = (ctxt->rip + insn->len) & ip_mask(ctxt);
	return r;
}
