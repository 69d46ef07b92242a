// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the x86 instruction decoder and emulator (emulate.c), part
 * of kvmfork-test.ko, never of kvmfork.ko.  emulate.c is compiled into this
 * object by the #include below.
 *
 * The emulator sees a fake guest through its ops: four pages of flat memory
 * at MEM_BASE, one of which can be made absent (#PF), and every data access
 * logged.  Each emulation case runs twice, once with memory answering at
 * once and once with every data access going out as an MMIO exit that the
 * test completes; both runs must make the same accesses and end in the same
 * state, and nothing may move before a completion.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "emulate.c"

#define MEM_BASE	0x10000ULL
#define MEM_SIZE	0x4000
#define CODE		(MEM_BASE + 0x100)	/* where instructions go */
#define DATA		(MEM_BASE + 0x2000)	/* where operands go */
#define DATA_OFF	(DATA - MEM_BASE)	/* as an offset, legacy modes */
#define MAX_LOG		16

struct et_access {
	bool write;
	u8 len;
	u64 gva;
	u64 val;
};

struct et_fake {
	struct kvmf_emul_ctxt ctxt;
	u8 mem[MEM_SIZE];
	u64 absent_page;	/* any access to this page is #PF; 0: none */
	u64 readonly_page;	/* a write to this page is #PF; 0: none */
	bool mmio;		/* every data access exits to "userspace" */
	bool bad_fetch;		/* a fetch crossed a page or was too long */
	struct et_access log[MAX_LOG];	/* the first MAX_LOG accesses */
	unsigned int nr_log;
	unsigned int nr_access;		/* all of them */
};

static struct et_fake *et_of(struct kvmf_emul_ctxt *ctxt)
{
	return ctxt->opaque;
}

/* 0 if [gva, gva + len) is present memory; else raises #PF at the first bad byte. */
static int et_check(struct kvmf_emul_ctxt *ctxt, u64 gva, unsigned int len,
		    u32 error_code)
{
	struct et_fake *f = et_of(ctxt);
	unsigned int i;

	for (i = 0; i < len; i++) {
		u64 a = gva + i;

		if (a < MEM_BASE || a - MEM_BASE >= MEM_SIZE ||
		    (f->absent_page && (a & ~0xfffULL) == f->absent_page))
			return kvmf_emul_raise(ctxt, KVMF_VEC_PF, error_code, a);
	}
	return KVMF_EMUL_OK;
}

static int et_fetch(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		    unsigned int len)
{
	struct et_fake *f = et_of(ctxt);
	int r;

	/* The promise of emulate.h: no fetch across a page, none above 15. */
	if (!len || len > KVMF_INSN_MAX || (gva & 0xfff) + len > 0x1000)
		f->bad_fetch = true;
	r = et_check(ctxt, gva, len, 0x10);
	if (r)
		return r;
	memcpy(buf, f->mem + (gva - MEM_BASE), len);
	return KVMF_EMUL_OK;
}

static void et_log(struct et_fake *f, bool write, u64 gva, const void *buf,
		   unsigned int len)
{
	struct et_access *a;

	f->nr_access++;
	if (f->nr_log >= MAX_LOG)
		return;
	a = &f->log[f->nr_log++];
	a->write = write;
	a->len = len;
	a->gva = gva;
	a->val = 0;
	memcpy(&a->val, buf, len);
}

/* Data accesses move 1, 2, 4 or 8 bytes (emulate.h). */
static bool et_size_ok(unsigned int len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

/* In MMIO mode the access is left for the test to complete (et_run). */
static int et_read(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		   unsigned int len)
{
	struct et_fake *f = et_of(ctxt);
	int r;

	if (!et_size_ok(len))
		return KVMF_EMUL_UNHANDLED;
	r = et_check(ctxt, gva, len, 0);
	if (r || f->mmio)
		return r ? r : KVMF_EMUL_MMIO_EXIT;
	memcpy(buf, f->mem + (gva - MEM_BASE), len);
	et_log(f, false, gva, buf, len);
	return KVMF_EMUL_OK;
}

static int et_write(struct kvmf_emul_ctxt *ctxt, u64 gva, const void *buf,
		    unsigned int len)
{
	struct et_fake *f = et_of(ctxt);
	int r;

	if (!et_size_ok(len))
		return KVMF_EMUL_UNHANDLED;
	r = et_check(ctxt, gva, len, 2);
	if (r)
		return r;
	if (f->readonly_page && ((gva + len - 1) & ~0xfffULL) >= f->readonly_page &&
	    (gva & ~0xfffULL) <= f->readonly_page)
		return kvmf_emul_raise(ctxt, KVMF_VEC_PF, 3,
				       gva < f->readonly_page ? f->readonly_page : gva);
	if (f->mmio)
		return KVMF_EMUL_MMIO_EXIT;
	memcpy(f->mem + (gva - MEM_BASE), buf, len);
	et_log(f, true, gva, buf, len);
	return KVMF_EMUL_OK;
}

static const struct kvmf_emul_ops et_ops = {
	.fetch = et_fetch,
	.read_mem = et_read,
	.write_mem = et_write,
};

/*
 * A fresh guest with @code at CODE.  In 64-bit mode segment bases are 0
 * and addresses are linear; in the legacy modes every segment starts at
 * MEM_BASE, so offsets are small.
 */
static struct et_fake *et_new(struct kunit *test, enum kvmf_emul_mode mode,
			      bool cs_d, const char *code, unsigned int len)
{
	struct et_fake *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct kvmf_emul_ctxt *c;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, f);
	c = &f->ctxt;
	c->ops = &et_ops;
	c->opaque = f;
	c->mode = mode;
	c->cs_d = cs_d;
	if (mode != KVMF_MODE_LONG)
		for (i = 0; i < KVMF_NR_SEGS; i++)
			c->seg_base[i] = MEM_BASE;
	c->rip = CODE - c->seg_base[KVMF_SEG_CS];
	c->rflags = 0x2;
	/* INT3 after the instruction: a decoder reading too far sees junk. */
	memset(f->mem + (CODE - MEM_BASE), 0xcc, 32);
	memcpy(f->mem + (CODE - MEM_BASE), code, len);
	return f;
}

/*
 * Decode and emulate, completing MMIO exits from the fake memory the way
 * userspace would.  While an access waits, the guest state must not move.
 */
static int et_run(struct kunit *test, struct et_fake *f)
{
	struct kvmf_emul_ctxt *c = &f->ctxt;
	u64 regs[KVMF_NR_GPRS], rip, rflags;
	unsigned int rounds;
	int r;

	r = kvmf_insn_decode(c);
	if (r)
		return r;
	memcpy(regs, c->regs, sizeof(regs));
	rip = c->rip;
	rflags = c->rflags;
	for (rounds = 0; rounds < 2 * KVMF_EMUL_MAX_ACCESS + 1; rounds++) {
		struct kvmf_emul_access *a;
		u8 buf[8];

		r = kvmf_insn_emulate(c);
		if (r != KVMF_EMUL_MMIO_EXIT)
			return r;
		KUNIT_EXPECT_TRUE(test, !memcmp(regs, c->regs, sizeof(regs)));
		KUNIT_EXPECT_EQ(test, c->rip, rip);
		KUNIT_EXPECT_EQ(test, c->rflags, rflags);
		/* The access waiting is the one after those completed. */
		KUNIT_ASSERT_TRUE(test, c->acc_waiting);
		a = &c->acc[c->nr_acc];
		if (a->write) {
			memcpy(f->mem + (a->gva - MEM_BASE), a->data, a->len);
			et_log(f, true, a->gva, a->data, a->len);
			kvmf_emul_mmio_complete(c, NULL, 0);
		} else {
			memcpy(buf, f->mem + (a->gva - MEM_BASE), a->len);
			et_log(f, false, a->gva, buf, a->len);
			kvmf_emul_mmio_complete(c, buf, a->len);
		}
	}
	KUNIT_FAIL(test, "no end after %u MMIO exits", rounds);
	return -1;
}

static u64 et_load(struct et_fake *f, u64 gva, unsigned int len)
{
	u64 v = 0;

	memcpy(&v, f->mem + (gva - MEM_BASE), len);
	return v;
}

static void et_store(struct et_fake *f, u64 gva, u64 v, unsigned int len)
{
	memcpy(f->mem + (gva - MEM_BASE), &v, len);
}

/* ---- decoding: lengths, #UD, #GP, unhandled ----------------------------- */

struct et_len_case {
	const char *name;
	enum kvmf_emul_mode mode;
	bool cs_d;
	const char *code;
	u8 n;
	int result;
	u8 len;		/* KVMF_EMUL_OK */
	u8 vector;	/* KVMF_EMUL_FAULT */
};

#define L64		KVMF_MODE_LONG, false
#define C32		KVMF_MODE_COMPAT, true
#define P32		KVMF_MODE_PROT, true
#define P16		KVMF_MODE_PROT, false
#define R16		KVMF_MODE_REAL, false
#define V86		KVMF_MODE_VM86, false

#define LEN(nm, m, c, l)	{ nm, m, c, sizeof(c) - 1, KVMF_EMUL_OK, l, 0 }
#define UD(nm, m, c)		{ nm, m, c, sizeof(c) - 1, KVMF_EMUL_FAULT, 0, KVMF_VEC_UD }
#define GP(nm, m, c)		{ nm, m, c, sizeof(c) - 1, KVMF_EMUL_FAULT, 0, KVMF_VEC_GP }
#define UNH(nm, m, c)		{ nm, m, c, sizeof(c) - 1, KVMF_EMUL_UNHANDLED, 0, 0 }

#define I32	"\x78\x56\x34\x12"
#define I64	"\xf0\xde\xbc\x9a\x78\x56\x34\x12"
#define P14	"\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"

static const struct et_len_case et_len_cases[] = {
	/* What kvmfork skips by length on CPUs without NRIP save. */
	LEN("nop", L64, "\x90", 1),
	LEN("hlt", L64, "\xf4", 1),
	LEN("cpuid", L64, "\x0f\xa2", 2),
	LEN("rdmsr", L64, "\x0f\x32", 2),
	LEN("wrmsr", L64, "\x0f\x30", 2),
	LEN("vmmcall", L64, "\x0f\x01\xd9", 3),
	LEN("in al, imm8", L64, "\xe4\x80", 2),
	LEN("out dx, eax", L64, "\xef", 1),
	LEN("rep outsb", L64, "\xf3\x6e", 2),
	LEN("int3", L64, "\xcc", 1),
	LEN("int imm8", L64, "\xcd\x80", 2),
	LEN("wbinvd", L64, "\x0f\x09", 2),
	LEN("rdtsc", L64, "\x0f\x31", 2),
	/* ModRM, SIB and displacement, 64-bit addressing. */
	LEN("mov r/m, reg: register", L64, "\x89\xc1", 2),
	LEN("[rax]", L64, "\x89\x08", 2),
	LEN("[rax+disp8]", L64, "\x89\x48\x08", 3),
	LEN("[rax+disp32]", L64, "\x89\x88\x00\x01\x00\x00", 6),
	LEN("[rsp]: SIB", L64, "\x89\x0c\x24", 3),
	LEN("[rsp+disp8]", L64, "\x89\x4c\x24\x08", 4),
	LEN("SIB, no base: disp32", L64, "\x89\x0c\x25" I32, 7),
	LEN("SIB, base rbp, mod 1", L64, "\x89\x4c\x25\x08", 4),
	LEN("[rbx+rax*4+disp32]", L64, "\x89\x8c\x83" I32, 7),
	LEN("[rip+disp32]", L64, "\x89\x0d" I32, 6),
	LEN("[rbp+disp8]: no mod 0 form", L64, "\x89\x4d\x00", 3),
	LEN("[r13+disp8]", L64, "\x41\x89\x4d\x00", 4),
	LEN("[r12]: SIB like rsp", L64, "\x41\x89\x0c\x24", 4),
	/* Immediates by operand size. */
	LEN("mov al, imm8", L64, "\xb0\x12", 2),
	LEN("mov ax, imm16", L64, "\x66\xb8\x34\x12", 4),
	LEN("mov eax, imm32", L64, "\xb8" I32, 5),
	LEN("mov rax, imm64", L64, "\x48\xb8" I64, 10),
	LEN("mov byte [rax], imm8", L64, "\xc6\x00\x12", 3),
	LEN("mov word [rax], imm16", L64, "\x66\xc7\x00\x34\x12", 5),
	LEN("mov dword [rax], imm32", L64, "\xc7\x00" I32, 6),
	LEN("mov qword [rax], imm32", L64, "\x48\xc7\x00" I32, 7),
	LEN("add eax, imm8", L64, "\x83\xc0\x01", 3),
	LEN("add [rax+8], imm32", L64, "\x81\x40\x08" I32, 7),
	LEN("test al, imm8", L64, "\xa8\x01", 2),
	LEN("test dword [rax], imm32", L64, "\xf7\x00" I32, 6),
	LEN("push imm8", L64, "\x6a\x01", 2),
	LEN("push imm32", L64, "\x68" I32, 5),
	LEN("ret imm16", L64, "\xc2\x08\x00", 3),
	LEN("enter imm16, imm8", L64, "\xc8\x10\x00\x01", 4),
	LEN("call rel32", L64, "\xe8" I32, 5),
	LEN("66 call: rel16 on AMD", L64, "\x66\xe8\x34\x12", 4),
	LEN("jmp rel8", L64, "\xeb\xfe", 2),
	LEN("jcc rel32", L64, "\x0f\x84" I32, 6),
	LEN("mov eax, moffs64", L64, "\xa1" I64, 9),
	LEN("67 mov eax, moffs32", L64, "\x67\xa1" I32, 6),
	LEN("movzx ecx, byte", L64, "\x0f\xb6\x08", 3),
	LEN("movsxd rcx, dword", L64, "\x48\x63\x08", 3),
	LEN("0f 38 map", L64, "\x66\x0f\x38\x00\xc1", 5),
	LEN("0f 3a map: imm8", L64, "\x66\x0f\x3a\x0f\xc1\x08", 6),
	LEN("3DNow!: suffix byte", L64, "\x0f\x0f\xc1\xb4", 4),
	LEN("x87 with memory", L64, "\xd9\x00", 2),
	LEN("shift by imm8", L64, "\xc1\x20\x04", 3),
	LEN("pop r/m: 8f /0", L64, "\x8f\x00", 2),
	/* MOV CRn/DRn ignore ModRM.mod: rm 5 with mod 0 has no disp32. */
	LEN("mov rax, cr3", L64, "\x0f\x20\xd8", 3),
	LEN("mov cr3, rax, mod 0", L64, "\x0f\x22\x1d", 3),
	LEN("mov dr7, rax", L64, "\x0f\x23\xf8", 3),
	LEN("lock mov cr0: AMD's cr8", P32, "\xf0\x0f\x22\xc0", 4),
	/* Prefixes. */
	LEN("ten prefixes", L64, "\x2e\x3e\x26\x64\x65\x36\xf2\xf3\x66\x67\x89\x08", 12),
	LEN("rex.w", L64, "\x48\x89\xc8", 3),
	LEN("rex, then a prefix", L64, "\x48\x66\x89\xc8", 4),
	LEN("15 bytes exactly", L64, P14 "\x90", 15),
	LEN("15 bytes: prefixes, disp32, imm32", L64,
	    "\x66\x66\x66\x48\xc7\x84\x88" I32 I32, 15),
	GP("16 bytes: 15 prefixes", L64, P14 "\x66\x90"),
	GP("16 bytes: prefixes, disp32, imm32", L64,
	   "\x66\x66\x66\x66\x48\xc7\x84\x88" I32 I32),
	/* 16-bit addressing and operands. */
	LEN("real: [bx]", R16, "\x89\x07", 2),
	LEN("real: [disp16]", R16, "\x89\x06\x34\x12", 4),
	LEN("real: [bp+disp8]", R16, "\x89\x46\x02", 3),
	LEN("real: [bp+disp16]", R16, "\x89\x86\x34\x12", 4),
	LEN("real: 66, 32-bit operand", R16, "\x66\xb8" I32, 6),
	LEN("real: 67, SIB addressing", R16, "\x67\x89\x04\x24", 4),
	LEN("real: mov ax, imm16", R16, "\xb8\x34\x12", 3),
	LEN("real: moffs16", R16, "\xa1\x34\x12", 3),
	LEN("real: jmp far ptr16:16", R16, "\xea\x00\x00\x00\xf0", 5),
	LEN("real: inc ax", R16, "\x40", 1),
	LEN("real: mov word [disp16], imm16", R16, "\xc7\x06\x34\x12\x78\x56", 6),
	LEN("vm86: [bx+si+disp8]", V86, "\x89\x40\x10", 3),
	LEN("prot16: call rel16", P16, "\xe8\x34\x12", 3),
	/* 32-bit code. */
	LEN("prot32: call far ptr16:32", P32, "\x9a" I32 "\x08\x00", 7),
	LEN("prot32: inc eax", P32, "\x40", 1),
	LEN("compat: 40 is inc, not rex", C32, "\x40", 1),
	LEN("prot32: push es", P32, "\x06", 1),
	LEN("prot32: daa", P32, "\x27", 1),
	LEN("prot32: bound", P32, "\x62\x00", 2),
	LEN("prot32: les", P32, "\xc4\x00", 2),
	LEN("prot32: moffs32", P32, "\xa1" I32, 5),
	LEN("prot32: 67 moffs16", P32, "\x67\xa1\x34\x12", 4),
	LEN("prot32: 67 [bx]", P32, "\x67\x89\x07", 3),
	LEN("prot32: aam imm8", P32, "\xd4\x0a", 2),
	LEN("prot32: 82 /0", P32, "\x82\xc0\x01", 3),
	/* Undefined opcodes and group members. */
	UD("ud2", L64, "\x0f\x0b"),
	UD("0f b9", L64, "\x0f\xb9\xc0"),
	UD("0f ff", L64, "\x0f\xff\xc0"),
	UD("d6", P32, "\xd6"),
	UD("fe /2", L64, "\xfe\xd0"),
	UD("ff /7", L64, "\xff\xf8"),
	UD("c6 /1", L64, "\xc6\xc8\x12"),
	/* Invalid in 64-bit mode. */
	UD("64-bit: push es", L64, "\x06"),
	UD("64-bit: daa", L64, "\x27"),
	UD("64-bit: pusha", L64, "\x60"),
	UD("64-bit: 82", L64, "\x82\xc0\x01"),
	UD("64-bit: call far", L64, "\x9a" I32 "\x08\x00"),
	UD("64-bit: into", L64, "\xce"),
	UD("64-bit: aam", L64, "\xd4\x0a"),
	UD("64-bit: jmp far", L64, "\xea" I32 "\x08\x00"),
	/* Memory-only instructions with a register operand. */
	UD("lea with a register", L64, "\x8d\xc0"),
	UD("lss with a register", L64, "\x0f\xb2\xc0"),
	UD("call far with a register", L64, "\xff\xd8"),
	UD("movnti with a register", L64, "\x0f\xc3\xc0"),
	UD("66 movnti", L64, "\x66\x0f\xc3\x08"),
	UD("f3 movnti", L64, "\xf3\x0f\xc3\x08"),
	/* LOCK only on the memory forms of read-modify-write instructions. */
	LEN("lock add [rax], ecx", L64, "\xf0\x01\x08", 3),
	LEN("lock xchg [rax], ecx", L64, "\xf0\x87\x08", 3),
	LEN("lock inc dword [rax]", L64, "\xf0\xff\x00", 3),
	LEN("lock bts [rax], ecx", L64, "\xf0\x0f\xab\x08", 4),
	LEN("lock cmpxchg8b", L64, "\xf0\x0f\xc7\x08", 4),
	UD("lock nop", L64, "\xf0\x90"),
	UD("lock mov [rax], ecx", L64, "\xf0\x89\x08"),
	UD("lock add ecx, eax", L64, "\xf0\x01\xc1"),
	UD("lock cmp [rax], ecx", L64, "\xf0\x39\x08"),
	UD("lock add ecx, [rax]", L64, "\xf0\x03\x08"),
	UD("lock movnti", L64, "\xf0\x0f\xc3\x08"),
	/* What the decoder does not take on. */
	UNH("vex3", L64, "\xc4\xe2\x79\x00\xc1"),
	UNH("vex2", L64, "\xc5\xf8\x77"),
	UNH("evex", L64, "\x62\xf1\x7c\x48\x10\xc1"),
	UNH("prot32: vex2 (c5, mod 3)", P32, "\xc5\xf8\x77"),
	UNH("xop", L64, "\x8f\xe9\x78\xc2\xc1"),
	UNH("0f 78: length by prefix", L64, "\x66\x0f\x78\xc0\x01\x02"),
};

static void et_decode_lengths_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(et_len_cases); i++) {
		const struct et_len_case *lc = &et_len_cases[i];
		struct et_fake *f = et_new(test, lc->mode, lc->cs_d, lc->code, lc->n);
		int r = kvmf_insn_decode(&f->ctxt);

		KUNIT_EXPECT_EQ_MSG(test, r, lc->result, "'%s'", lc->name);
		KUNIT_EXPECT_FALSE_MSG(test, f->bad_fetch, "'%s': fetch across a page",
				       lc->name);
		if (r != lc->result)
			continue;
		switch (r) {
		case KVMF_EMUL_OK:
			KUNIT_EXPECT_EQ_MSG(test, f->ctxt.insn.len, lc->len, "'%s'", lc->name);
			break;
		case KVMF_EMUL_FAULT:
			KUNIT_EXPECT_EQ_MSG(test, f->ctxt.fault.vector, lc->vector,
					    "'%s'", lc->name);
			/* #GP(0) has an error code, #UD none. */
			KUNIT_EXPECT_EQ_MSG(test, f->ctxt.fault.error_code_valid,
					    lc->vector == KVMF_VEC_GP, "'%s'", lc->name);
			KUNIT_EXPECT_EQ(test, f->ctxt.fault.error_code, 0u);
			fallthrough;
		default:
			/* A failed decode leaves nothing half decoded. */
			KUNIT_EXPECT_EQ_MSG(test, f->ctxt.insn.len, 0, "'%s'", lc->name);
			KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(&f->ctxt),
					(int)KVMF_EMUL_UNHANDLED);
			break;
		}
		KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE - f->ctxt.seg_base[KVMF_SEG_CS]);
	}
}

/* Operand and address sizes, prefixes, and the memory operand's address. */
static void et_decode_fields_test(struct kunit *test)
{
	struct et_fake *f;
	struct kvmf_insn *in;

	f = et_new(test, L64, "\x48\x89\x08", 3);
	f->ctxt.regs[KVMF_RAX] = DATA;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	in = &f->ctxt.insn;
	KUNIT_EXPECT_EQ(test, in->op_bytes, 8);
	KUNIT_EXPECT_EQ(test, in->ad_bytes, 8);
	KUNIT_EXPECT_EQ(test, in->rex, 0x48);
	KUNIT_EXPECT_TRUE(test, in->mem);
	KUNIT_EXPECT_EQ(test, in->seg, KVMF_SEG_DS);
	KUNIT_EXPECT_EQ(test, in->gva, DATA);
	KUNIT_EXPECT_EQ(test, in->map, 1);
	KUNIT_EXPECT_EQ(test, in->opcode, 0x89);

	/* A REX followed by another prefix does not count. */
	f = et_new(test, L64, "\x48\x66\x89\x08", 4);
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.op_bytes, 2);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.rex, 0);
	/* REX.W beats 66. */
	f = et_new(test, L64, "\x66\x48\x89\x08", 4);
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.op_bytes, 8);

	/* 67 in 64-bit mode: 32-bit addresses, truncated. */
	f = et_new(test, L64, "\x67\x89\x08", 3);
	f->ctxt.regs[KVMF_RAX] = 0x100000000ULL + DATA;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.ad_bytes, 4);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, DATA);

	/* Stack instructions default to 64 bits; immediates sign-extend. */
	f = et_new(test, L64, "\x6a\xff", 2);
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.op_bytes, 8);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.imm, ~0ULL);
	f = et_new(test, L64, "\x48\xb8" I64, 10);
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.imm, 0x123456789abcdef0ULL);

	/* rsp and rbp bases use SS; a segment override wins. */
	f = et_new(test, L64, "\x89\x4c\x24\xf8", 4);
	f->ctxt.regs[KVMF_RSP] = DATA + 8;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.seg, KVMF_SEG_SS);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.disp, -8LL);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, DATA);
	f = et_new(test, L64, "\x64\x89\x08", 3);
	f->ctxt.seg_base[KVMF_SEG_FS] = 0x1000;
	f->ctxt.regs[KVMF_RAX] = DATA - 0x1000;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.seg, KVMF_SEG_FS);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, DATA);
	/* In 64-bit mode DS, ES and SS have no base. */
	f = et_new(test, L64, "\x3e\x89\x08", 3);
	f->ctxt.seg_base[KVMF_SEG_DS] = 0x1000;
	f->ctxt.regs[KVMF_RAX] = DATA;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, DATA);

	/* RIP-relative: from the end of the instruction. */
	f = et_new(test, L64, "\x89\x0d\x00\x01\x00\x00", 6);
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, CODE + 6 + 0x100);

	/* Real mode: [bp+si] uses SS, and the offset wraps at 64K. */
	f = et_new(test, R16, "\x89\x02", 2);
	f->ctxt.seg_base[KVMF_SEG_SS] = MEM_BASE + 0x1000;
	f->ctxt.regs[KVMF_RBP] = 0xffff;
	f->ctxt.regs[KVMF_RSI] = 0x1001;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.seg, KVMF_SEG_SS);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.ea, 0x1000ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, DATA);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.op_bytes, 2);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.ad_bytes, 2);

	/* Legacy modes: the linear address wraps at 4 GiB. */
	f = et_new(test, P32, "\x89\x08", 2);
	f->ctxt.seg_base[KVMF_SEG_DS] = 0xfffff000ULL;
	f->ctxt.regs[KVMF_RAX] = DATA + 0x1000;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.gva, DATA);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.op_bytes, 4);

	/* The last of several REP prefixes wins. */
	f = et_new(test, L64, "\xf3\xf2\xa4", 3);
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.rep, 0xf2);
}

/* Fetches stop at the end of the instruction and never cross a page. */
static void et_decode_fetch_test(struct kunit *test)
{
	const u64 page_end = MEM_BASE + 0x2000;
	struct et_fake *f;

	/* One byte before an absent page: decoded without touching it. */
	f = et_new(test, L64, "", 0);
	f->absent_page = page_end;
	f->mem[page_end - 1 - MEM_BASE] = 0x90;
	f->ctxt.rip = page_end - 1;
	KUNIT_EXPECT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.len, 1);

	/* An instruction running into the absent page: #PF there. */
	f = et_new(test, L64, "", 0);
	f->absent_page = page_end;
	f->mem[page_end - 2 - MEM_BASE] = 0x89;
	f->mem[page_end - 1 - MEM_BASE] = 0x88;	/* mod 2: disp32 follows */
	f->ctxt.rip = page_end - 2;
	KUNIT_EXPECT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_PF);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.address, page_end);
	KUNIT_EXPECT_FALSE(test, f->bad_fetch);

	/* Present on both sides: the two fetches join up. */
	f = et_new(test, L64, "", 0);
	memcpy(f->mem + (page_end - 3 - MEM_BASE), "\x48\xb8" I64, 10);
	f->ctxt.rip = page_end - 3;
	KUNIT_EXPECT_EQ(test, kvmf_insn_decode(&f->ctxt), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.len, 10);
	KUNIT_EXPECT_EQ(test, f->ctxt.insn.imm, 0x123456789abcdef0ULL);
	KUNIT_EXPECT_FALSE(test, f->bad_fetch);
}

/* ---- emulation: the memory accesses of each form ------------------------ */

struct et_case {
	const char *name;
	enum kvmf_emul_mode mode;
	bool cs_d;
	const char *code;
	u8 n;
	u64 rax, rcx, rbx, rsi, rbp;
	u64 rflags;
	u64 mem;		/* 8 bytes at DATA before */
	struct et_access acc[3];
	u8 nr_acc;
	u8 reg;			/* then this register holds... */
	u64 reg_val;
	u64 mem_after;
	u64 flags_mask, flags;	/* (rflags & mask) == flags */
};

#define R(l, a, v)	{ false, l, a, v }
#define W(l, a, v)	{ true, l, a, v }
#define CODE_OF(s)	s, sizeof(s) - 1
#define M0		0x8877665544332211ULL
#define ARITH		KVMF_EFL_ARITH
#define CF		KVMF_EFL_CF
#define PF		KVMF_EFL_PF
#define AF		KVMF_EFL_AF
#define ZF		KVMF_EFL_ZF
#define SF		KVMF_EFL_SF
#define OF		KVMF_EFL_OF

static const struct et_case et_cases[] = {
	/* MOV in every size, both directions. */
	{ "mov [rax], ecx", L64, CODE_OF("\x89\x08"), .rax = DATA,
	  .rcx = 0xdeadbeefcafef00dULL, .mem = M0,
	  .acc = { W(4, DATA, 0xcafef00d) }, 1,
	  KVMF_RCX, 0xdeadbeefcafef00dULL, 0x88776655cafef00dULL },
	{ "mov ecx, [rax]: zero-extends", L64, CODE_OF("\x8b\x08"), .rax = DATA,
	  .rcx = ~0ULL, .mem = M0, .acc = { R(4, DATA, 0x44332211) }, 1,
	  KVMF_RCX, 0x44332211, M0 },
	{ "mov cx, [rax]: merges", L64, CODE_OF("\x66\x8b\x08"), .rax = DATA,
	  .rcx = ~0ULL, .mem = M0, .acc = { R(2, DATA, 0x2211) }, 1,
	  KVMF_RCX, 0xffffffffffff2211ULL, M0 },
	{ "mov rcx, [rax]", L64, CODE_OF("\x48\x8b\x08"), .rax = DATA,
	  .mem = M0, .acc = { R(8, DATA, M0) }, 1, KVMF_RCX, M0, M0 },
	{ "mov cl, [rax]", L64, CODE_OF("\x8a\x08"), .rax = DATA, .rcx = ~0ULL,
	  .mem = M0, .acc = { R(1, DATA, 0x11) }, 1,
	  KVMF_RCX, 0xffffffffffffff11ULL, M0 },
	{ "mov ch, [rax]", L64, CODE_OF("\x8a\x28"), .rax = DATA, .rcx = ~0ULL,
	  .mem = M0, .acc = { R(1, DATA, 0x11) }, 1,
	  KVMF_RCX, 0xffffffffffff11ffULL, M0 },
	{ "mov [rax], ch", L64, CODE_OF("\x88\x28"), .rax = DATA, .rcx = 0x1234,
	  .mem = M0, .acc = { W(1, DATA, 0x12) }, 1,
	  KVMF_RCX, 0x1234, 0x8877665544332212ULL },
	{ "mov [rax], bpl: rex", L64, CODE_OF("\x40\x88\x28"), .rax = DATA,
	  .rbp = 0x77, .mem = M0, .acc = { W(1, DATA, 0x77) }, 1,
	  KVMF_RBP, 0x77, 0x8877665544332277ULL },
	{ "mov [rax], r9w", L64, CODE_OF("\x66\x44\x89\x08"), .rax = DATA,
	  .mem = M0, .acc = { W(2, DATA, 0) }, 1, KVMF_RAX, DATA,
	  0x8877665544330000ULL },
	{ "mov byte [rax], imm8", L64, CODE_OF("\xc6\x00\x5a"), .rax = DATA,
	  .mem = M0, .acc = { W(1, DATA, 0x5a) }, 1, KVMF_RAX, DATA,
	  0x887766554433225aULL },
	{ "mov qword [rax], imm32: sign-extends", L64,
	  CODE_OF("\x48\xc7\x00\x00\x00\x00\x80"), .rax = DATA, .mem = M0,
	  .acc = { W(8, DATA, 0xffffffff80000000ULL) }, 1, KVMF_RAX, DATA,
	  0xffffffff80000000ULL },
	{ "mov eax, moffs64", L64, CODE_OF("\xa1\x00\x20\x01\x00\x00\x00\x00\x00"),
	  .rax = ~0ULL, .mem = M0, .acc = { R(4, DATA, 0x44332211) }, 1,
	  KVMF_RAX, 0x44332211, M0 },
	{ "mov moffs64, al", L64, CODE_OF("\xa2\x00\x20\x01\x00\x00\x00\x00\x00"),
	  .rax = 0xab, .mem = M0, .acc = { W(1, DATA, 0xab) }, 1,
	  KVMF_RAX, 0xab, 0x88776655443322abULL },
	{ "movnti [rax], ecx", L64, CODE_OF("\x0f\xc3\x08"), .rax = DATA,
	  .rcx = 0x01020304, .mem = M0, .acc = { W(4, DATA, 0x01020304) }, 1,
	  KVMF_RCX, 0x01020304, 0x8877665501020304ULL },
	/* MOVZX, MOVSX, MOVSXD. */
	{ "movzx ecx, byte [rax]", L64, CODE_OF("\x0f\xb6\x08"), .rax = DATA,
	  .rcx = ~0ULL, .mem = 0x91, .acc = { R(1, DATA, 0x91) }, 1,
	  KVMF_RCX, 0x91, 0x91 },
	{ "movzx ecx, word [rax]", L64, CODE_OF("\x0f\xb7\x08"), .rax = DATA,
	  .rcx = ~0ULL, .mem = 0x9181, .acc = { R(2, DATA, 0x9181) }, 1,
	  KVMF_RCX, 0x9181, 0x9181 },
	{ "movsx ecx, byte [rax]", L64, CODE_OF("\x0f\xbe\x08"), .rax = DATA,
	  .rcx = ~0ULL, .mem = 0x91, .acc = { R(1, DATA, 0x91) }, 1,
	  KVMF_RCX, 0xffffff91, 0x91 },
	{ "movsx rcx, word [rax]", L64, CODE_OF("\x48\x0f\xbf\x08"), .rax = DATA,
	  .mem = 0x8001, .acc = { R(2, DATA, 0x8001) }, 1,
	  KVMF_RCX, 0xffffffffffff8001ULL, 0x8001 },
	{ "movsx cx, byte [rax]", L64, CODE_OF("\x66\x0f\xbe\x08"), .rax = DATA,
	  .rcx = 0x12345678, .mem = 0x80, .acc = { R(1, DATA, 0x80) }, 1,
	  KVMF_RCX, 0x1234ff80, 0x80 },
	{ "movsxd rcx, dword [rax]", L64, CODE_OF("\x48\x63\x08"), .rax = DATA,
	  .mem = 0x80000000, .acc = { R(4, DATA, 0x80000000) }, 1,
	  KVMF_RCX, 0xffffffff80000000ULL, 0x80000000 },
	/* ALU: read, write back (not CMP and TEST), flags. */
	{ "add [rax], ecx: carry out", L64, CODE_OF("\x01\x08"), .rax = DATA,
	  .rcx = 1, .mem = 0xffffffff,
	  .acc = { R(4, DATA, 0xffffffff), W(4, DATA, 0) }, 2,
	  KVMF_RCX, 1, 0, ARITH, CF | PF | AF | ZF },
	{ "lock add [rax], ecx", L64, CODE_OF("\xf0\x01\x08"), .rax = DATA,
	  .rcx = 1, .mem = 0x7fffffff,
	  .acc = { R(4, DATA, 0x7fffffff), W(4, DATA, 0x80000000) }, 2,
	  KVMF_RCX, 1, 0x80000000, ARITH, PF | AF | SF | OF },
	{ "add ecx, [rax]", L64, CODE_OF("\x03\x08"), .rax = DATA, .rcx = 2,
	  .mem = 3, .acc = { R(4, DATA, 3) }, 1, KVMF_RCX, 5, 3, ARITH, PF },
	{ "cmp [rax], ecx: no write", L64, CODE_OF("\x39\x08"), .rax = DATA,
	  .rcx = 5, .mem = 3, .acc = { R(4, DATA, 3) }, 1,
	  KVMF_RCX, 5, 3, ARITH, CF | SF | AF },
	{ "sub byte [rax], imm8: borrow", L64, CODE_OF("\x80\x28\x01"),
	  .rax = DATA, .mem = 0x1200, .acc = { R(1, DATA, 0), W(1, DATA, 0xff) }, 2,
	  KVMF_RAX, DATA, 0x12ff, ARITH, CF | PF | AF | SF },
	{ "or dword [rax], imm8: sign-extended", L64, CODE_OF("\x83\x08\xff"),
	  .rax = DATA, .rflags = CF | OF | AF, .mem = 0x11223344,
	  .acc = { R(4, DATA, 0x11223344), W(4, DATA, 0xffffffff) }, 2,
	  KVMF_RAX, DATA, 0xffffffff, ARITH, PF | SF },
	{ "and [rax], ecx", L64, CODE_OF("\x21\x08"), .rax = DATA, .rcx = 0xf0,
	  .mem = 0x0f, .acc = { R(4, DATA, 0x0f), W(4, DATA, 0) }, 2,
	  KVMF_RCX, 0xf0, 0, ARITH, ZF | PF },
	{ "xor [rax], rcx", L64, CODE_OF("\x48\x31\x08"), .rax = DATA,
	  .rcx = M0, .mem = M0, .acc = { R(8, DATA, M0), W(8, DATA, 0) }, 2,
	  KVMF_RCX, M0, 0, ARITH, ZF | PF },
	{ "adc [rax], ecx: carry in", L64, CODE_OF("\x11\x08"), .rax = DATA,
	  .rflags = CF, .rcx = 1, .mem = 1,
	  .acc = { R(4, DATA, 1), W(4, DATA, 3) }, 2, KVMF_RCX, 1, 3, ARITH, PF },
	{ "sbb [rax], ecx: borrow in", L64, CODE_OF("\x19\x08"), .rax = DATA,
	  .rflags = CF, .rcx = 1, .mem = 2,
	  .acc = { R(4, DATA, 2), W(4, DATA, 0) }, 2, KVMF_RCX, 1, 0, ARITH,
	  ZF | PF },
	{ "test [rax], ecx: no write", L64, CODE_OF("\x85\x08"), .rax = DATA,
	  .rcx = 0x80000000, .mem = 0x80000001, .acc = { R(4, DATA, 0x80000001) },
	  1, KVMF_RCX, 0x80000000, 0x80000001, ARITH, SF | PF },
	{ "test byte [rax], imm8", L64, CODE_OF("\xf6\x00\x01"), .rax = DATA,
	  .mem = 0xfe, .acc = { R(1, DATA, 0xfe) }, 1, KVMF_RAX, DATA, 0xfe,
	  ARITH, ZF | PF },
	{ "inc dword [rax]: CF kept", L64, CODE_OF("\xff\x00"), .rax = DATA,
	  .rflags = CF, .mem = 0xffffffff,
	  .acc = { R(4, DATA, 0xffffffff), W(4, DATA, 0) }, 2,
	  KVMF_RAX, DATA, 0, ARITH, CF | ZF | PF | AF },
	{ "dec byte [rax]: overflow", L64, CODE_OF("\xfe\x08"), .rax = DATA,
	  .mem = 0x80, .acc = { R(1, DATA, 0x80), W(1, DATA, 0x7f) }, 2,
	  KVMF_RAX, DATA, 0x7f, ARITH, OF | AF },
	{ "neg dword [rax]", L64, CODE_OF("\xf7\x18"), .rax = DATA, .mem = 1,
	  .acc = { R(4, DATA, 1), W(4, DATA, 0xffffffff) }, 2,
	  KVMF_RAX, DATA, 0xffffffff, ARITH, CF | SF | PF | AF },
	{ "not qword [rax]: no flags", L64, CODE_OF("\x48\xf7\x10"), .rax = DATA,
	  .rflags = ZF, .mem = M0, .acc = { R(8, DATA, M0), W(8, DATA, ~M0) }, 2,
	  KVMF_RAX, DATA, ~M0, ARITH, ZF },
	{ "xchg [rax], ecx", L64, CODE_OF("\x87\x08"), .rax = DATA, .rcx = 7,
	  .mem = 9, .acc = { R(4, DATA, 9), W(4, DATA, 7) }, 2, KVMF_RCX, 9, 7 },
	/* Legacy modes: segment bases, 16-bit addressing. */
	{ "prot32: mov [ebx+esi*2+8], ax", P32, CODE_OF("\x66\x89\x44\x73\x08"),
	  .rbx = DATA_OFF - 0x28, .rsi = 0x10, .rax = 0xbeef, .mem = M0,
	  .acc = { W(2, DATA, 0xbeef) }, 1, KVMF_RAX, 0xbeef,
	  0x887766554433beefULL },
	{ "real: mov [bx+si], al", R16, CODE_OF("\x88\x00"), .rbx = DATA_OFF - 0x100,
	  .rsi = 0x100, .rax = 0x5a, .mem = M0, .acc = { W(1, DATA, 0x5a) }, 1,
	  KVMF_RAX, 0x5a, 0x887766554433225aULL },
	{ "real: [bx+si] wraps at 64K", R16, CODE_OF("\x8b\x08"), .rbx = 0xffff,
	  .rsi = DATA_OFF + 1, .rcx = 0xffff0000, .mem = M0,
	  .acc = { R(2, DATA, 0x2211) }, 1, KVMF_RCX, 0xffff2211, M0 },
	{ "real: 66 add [disp16], ecx", R16, CODE_OF("\x66\x01\x0e\x00\x20"),
	  .rcx = 1, .mem = 0x10,
	  .acc = { R(4, DATA, 0x10), W(4, DATA, 0x11) }, 2, KVMF_RCX, 1, 0x11 },
};

static void et_check_case(struct kunit *test, const struct et_case *ec, bool mmio)
{
	struct et_fake *f = et_new(test, ec->mode, ec->cs_d, ec->code, ec->n);
	struct kvmf_emul_ctxt *c = &f->ctxt;
	const char *how = mmio ? "MMIO" : "RAM";
	unsigned int i;
	int r;

	c->regs[KVMF_RAX] = ec->rax;
	c->regs[KVMF_RCX] = ec->rcx;
	c->regs[KVMF_RBX] = ec->rbx;
	c->regs[KVMF_RSI] = ec->rsi;
	c->regs[KVMF_RBP] = ec->rbp;
	c->rflags |= ec->rflags;
	et_store(f, DATA, ec->mem, 8);
	f->mmio = mmio;

	r = et_run(test, f);
	KUNIT_EXPECT_EQ_MSG(test, r, (int)KVMF_EMUL_OK, "'%s' (%s)", ec->name, how);
	if (r)
		return;
	KUNIT_EXPECT_EQ_MSG(test, f->nr_log, ec->nr_acc, "'%s' (%s)", ec->name, how);
	for (i = 0; i < ec->nr_acc && i < f->nr_log; i++) {
		const struct et_access *want = &ec->acc[i], *got = &f->log[i];

		KUNIT_EXPECT_EQ_MSG(test, got->write, want->write,
				    "'%s' (%s) access %u", ec->name, how, i);
		KUNIT_EXPECT_EQ_MSG(test, got->len, want->len,
				    "'%s' (%s) access %u", ec->name, how, i);
		KUNIT_EXPECT_EQ_MSG(test, got->gva, want->gva,
				    "'%s' (%s) access %u", ec->name, how, i);
		KUNIT_EXPECT_EQ_MSG(test, got->val, want->val,
				    "'%s' (%s) access %u", ec->name, how, i);
	}
	KUNIT_EXPECT_EQ_MSG(test, c->regs[ec->reg], ec->reg_val, "'%s' (%s)",
			    ec->name, how);
	KUNIT_EXPECT_EQ_MSG(test, et_load(f, DATA, 8), ec->mem_after, "'%s' (%s)",
			    ec->name, how);
	KUNIT_EXPECT_EQ_MSG(test, c->rflags & ec->flags_mask, ec->flags,
			    "'%s' (%s)", ec->name, how);
	KUNIT_EXPECT_EQ_MSG(test, c->rip, CODE - c->seg_base[KVMF_SEG_CS] + ec->n,
			    "'%s' (%s)", ec->name, how);
	KUNIT_EXPECT_FALSE(test, f->bad_fetch);
}

static void et_emulate_forms_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(et_cases); i++) {
		et_check_case(test, &et_cases[i], false);
		et_check_case(test, &et_cases[i], true);
	}
}

/* ---- string instructions ------------------------------------------------ */

static struct et_fake *et_string(struct kunit *test, const char *code,
				 unsigned int n, u64 rcx, bool mmio)
{
	struct et_fake *f = et_new(test, L64, code, n);
	unsigned int i;

	for (i = 0; i < 0x100; i++)
		f->mem[DATA_OFF + i] = i;
	f->ctxt.regs[KVMF_RSI] = DATA;
	f->ctxt.regs[KVMF_RDI] = DATA + 0x200;
	f->ctxt.regs[KVMF_RCX] = rcx;
	f->ctxt.regs[KVMF_RAX] = 0xa5a5a5a5a5a5a5a5ULL;
	f->mmio = mmio;
	return f;
}

static void et_string_once_test(struct kunit *test)
{
	struct et_fake *f;
	int mmio;

	for (mmio = 0; mmio < 2; mmio++) {
		/* movsb: one read, one write, both pointers step by one. */
		f = et_string(test, "\xa4", 1, 0, mmio);
		KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
		KUNIT_ASSERT_EQ(test, f->nr_log, 2u);
		KUNIT_EXPECT_FALSE(test, f->log[0].write);
		KUNIT_EXPECT_EQ(test, f->log[0].gva, DATA);
		KUNIT_EXPECT_TRUE(test, f->log[1].write);
		KUNIT_EXPECT_EQ(test, f->log[1].gva, DATA + 0x200);
		KUNIT_EXPECT_EQ(test, f->log[1].len, 1);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RSI], DATA + 1);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RDI], DATA + 0x201);
		KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE + 1);

		/* movsq with DF set: backwards by 8. */
		f = et_string(test, "\x48\xa5", 2, 0, mmio);
		f->ctxt.rflags |= KVMF_EFL_DF;
		KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
		KUNIT_EXPECT_EQ(test, f->log[0].val, 0x0706050403020100ULL);
		KUNIT_EXPECT_EQ(test, f->log[1].len, 8);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RSI], DATA - 8);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RDI], DATA + 0x200 - 8);

		/* stosd: a write of eax only; rsi does not move. */
		f = et_string(test, "\xab", 1, 0, mmio);
		KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
		KUNIT_ASSERT_EQ(test, f->nr_log, 1u);
		KUNIT_EXPECT_TRUE(test, f->log[0].write);
		KUNIT_EXPECT_EQ(test, f->log[0].val, 0xa5a5a5a5ULL);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RSI], DATA);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RDI], DATA + 0x204);

		/* lodsw: a read into ax, merged; rdi does not move. */
		f = et_string(test, "\x66\xad", 2, 0, mmio);
		KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
		KUNIT_ASSERT_EQ(test, f->nr_log, 1u);
		KUNIT_EXPECT_FALSE(test, f->log[0].write);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RAX], 0xa5a5a5a5a5a50100ULL);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RSI], DATA + 2);
		KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RDI], DATA + 0x200);

		/* fs: override of the source; es: destination has no base. */
		f = et_string(test, "\x64\xa4", 2, 0, mmio);
		f->ctxt.seg_base[KVMF_SEG_FS] = 0x10;
		KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
		KUNIT_EXPECT_EQ(test, f->log[0].gva, DATA + 0x10);
		KUNIT_EXPECT_EQ(test, f->log[0].val, 0x10ULL);
		KUNIT_EXPECT_EQ(test, f->log[1].gva, DATA + 0x200);
	}
}

static void et_string_rep_test(struct kunit *test)
{
	struct et_fake *f;
	unsigned int i;
	int r;

	/* rep movsb, 3 iterations: 3 reads and 3 writes in order. */
	f = et_string(test, "\xf3\xa4", 2, 3, false);
	KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
	KUNIT_ASSERT_EQ(test, f->nr_log, 6u);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, f->log[2 * i].gva, DATA + i);
		KUNIT_EXPECT_EQ(test, f->log[2 * i + 1].gva, DATA + 0x200 + i);
	}
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RCX], 0ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE + 2);

	/* rcx 0: nothing touched, the instruction is done. */
	f = et_string(test, "\xf3\xaa", 2, 0, false);
	KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->nr_log, 0u);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE + 2);

	/* 100 iterations: a batch, rip unchanged, then the rest. */
	f = et_string(test, "\xf3\xaa", 2, 100, false);
	KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE);
	KUNIT_EXPECT_GT(test, f->ctxt.regs[KVMF_RCX], 0ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RCX] + f->nr_access, 100ULL);
	KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RCX], 0ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE + 2);
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RDI], DATA + 0x200 + 100);

	/* 67: ecx, esi and edi; the upper halves are not touched by stepping. */
	f = et_string(test, "\x67\xf3\xa4", 3, 0xffffffff00000002ULL, false);
	KUNIT_ASSERT_EQ(test, et_run(test, f), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, f->nr_log, 4u);
	KUNIT_EXPECT_EQ(test, (u32)f->ctxt.regs[KVMF_RCX], 0u);

	/* A #PF in the third iteration keeps the two done, rip stays. */
	f = et_string(test, "\xf3\xa4", 2, 5, false);
	f->ctxt.regs[KVMF_RSI] = DATA - 2;
	f->ctxt.regs[KVMF_RDI] = MEM_BASE + 0x3000;
	f->absent_page = DATA;
	r = et_run(test, f);
	KUNIT_EXPECT_EQ(test, r, (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_PF);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.address, DATA);
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RCX], 3ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RSI], DATA);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE);
}

/* ---- faults, MMIO passes, what is not emulated -------------------------- */

static void et_faults_test(struct kunit *test)
{
	struct et_fake *f;

	/* A read of an absent page: #PF, nothing changes. */
	f = et_new(test, L64, "\x8b\x08", 2);
	f->absent_page = DATA;
	f->ctxt.regs[KVMF_RAX] = DATA + 0x10;
	f->ctxt.regs[KVMF_RCX] = 77;
	KUNIT_EXPECT_EQ(test, et_run(test, f), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_PF);
	KUNIT_EXPECT_TRUE(test, f->ctxt.fault.error_code_valid);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.address, DATA + 0x10);
	KUNIT_EXPECT_EQ(test, f->ctxt.regs[KVMF_RCX], 77ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE);

	/* add [rax], ecx whose write faults: read done, nothing committed. */
	f = et_new(test, L64, "\x01\x08", 2);
	f->ctxt.regs[KVMF_RAX] = DATA + 0xffe;	/* crosses into the next page */
	f->ctxt.regs[KVMF_RCX] = 1;
	f->readonly_page = DATA + 0x1000;
	et_store(f, DATA + 0xffe, 0xffffffff, 4);
	KUNIT_EXPECT_EQ(test, et_run(test, f), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_PF);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.address, DATA + 0x1000);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.error_code, 3u);
	KUNIT_EXPECT_EQ(test, f->nr_log, 1u);
	KUNIT_EXPECT_FALSE(test, f->log[0].write);
	KUNIT_EXPECT_EQ(test, et_load(f, DATA + 0xffe, 4), 0xffffffffULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.rflags, 0x2ULL);
	KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE);

	/* Non-canonical: #GP(0), or #SS(0) when SS-relative. */
	f = et_new(test, L64, "\x89\x08", 2);
	f->ctxt.regs[KVMF_RAX] = 0x0000800000000000ULL;
	KUNIT_EXPECT_EQ(test, et_run(test, f), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_GP);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.error_code, 0u);
	f = et_new(test, L64, "\x89\x0c\x24", 3);
	f->ctxt.regs[KVMF_RSP] = 0x0000800000000000ULL;
	KUNIT_EXPECT_EQ(test, et_run(test, f), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_SS);
	/* An access whose last byte is past the canonical edge. */
	f = et_new(test, L64, "\x48\x89\x08", 3);
	f->ctxt.regs[KVMF_RAX] = 0x00007ffffffffffcULL;
	KUNIT_EXPECT_EQ(test, et_run(test, f), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_GP);
	/* With LA57 the same address is canonical and reaches the ops. */
	f = et_new(test, L64, "\x89\x08", 2);
	f->ctxt.la57 = true;
	f->ctxt.regs[KVMF_RAX] = 0x0000800000000000ULL;
	KUNIT_EXPECT_EQ(test, et_run(test, f), (int)KVMF_EMUL_FAULT);
	KUNIT_EXPECT_EQ(test, f->ctxt.fault.vector, KVMF_VEC_PF);
}

/* The MMIO passes of a read-modify-write, step by step. */
static void et_mmio_passes_test(struct kunit *test)
{
	struct et_fake *f = et_new(test, L64, "\x01\x08", 2);
	struct kvmf_emul_ctxt *c = &f->ctxt;
	u32 dev = 0x40;

	c->regs[KVMF_RAX] = DATA;
	c->regs[KVMF_RCX] = 2;
	f->mmio = true;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(c), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(c), (int)KVMF_EMUL_MMIO_EXIT);
	KUNIT_EXPECT_FALSE(test, c->acc[0].write);
	/* Emulating again without a completion asks for the same access. */
	KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(c), (int)KVMF_EMUL_MMIO_EXIT);
	KUNIT_EXPECT_EQ(test, c->nr_acc, 0);
	kvmf_emul_mmio_complete(c, &dev, 4);
	KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(c), (int)KVMF_EMUL_MMIO_EXIT);
	KUNIT_EXPECT_TRUE(test, c->acc[1].write);
	KUNIT_EXPECT_EQ(test, c->acc[1].data[0], 0x42);
	KUNIT_EXPECT_EQ(test, c->rip, CODE);
	kvmf_emul_mmio_complete(c, NULL, 0);
	/* A second completion with nothing waiting changes nothing. */
	kvmf_emul_mmio_complete(c, NULL, 0);
	KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(c), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, c->rip, CODE + 2);
	/* 0x40 + 2 = 0x42: two bits set, even parity. */
	KUNIT_EXPECT_EQ(test, c->rflags & KVMF_EFL_ARITH, (u64)KVMF_EFL_PF);

	/* The context changed between passes: the replay does not match. */
	f = et_new(test, L64, "\x01\x08", 2);
	c = &f->ctxt;
	c->regs[KVMF_RAX] = DATA;
	f->mmio = true;
	KUNIT_ASSERT_EQ(test, kvmf_insn_decode(c), (int)KVMF_EMUL_OK);
	KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(c), (int)KVMF_EMUL_MMIO_EXIT);
	kvmf_emul_mmio_complete(c, &dev, 4);
	c->insn.gva += 4;
	KUNIT_EXPECT_EQ(test, kvmf_insn_emulate(c), (int)KVMF_EMUL_UNHANDLED);
	KUNIT_EXPECT_EQ(test, c->rip, CODE);
}

/* Decoded fine, not emulated: the caller reports an internal error. */
static void et_unhandled_test(struct kunit *test)
{
	static const struct {
		const char *name;
		enum kvmf_emul_mode mode;
		bool cs_d;
		const char *code;
		u8 n;
	} cases[] = {
		{ "shl dword [rax], 1", L64, CODE_OF("\xd1\x20") },
		{ "cmpsb", L64, CODE_OF("\xa6") },
		{ "bts [rax], ecx", L64, CODE_OF("\x0f\xab\x08") },
		{ "push qword [rax]", L64, CODE_OF("\xff\x30") },
		{ "cpuid", L64, CODE_OF("\x0f\xa2") },
		{ "out dx, al", L64, CODE_OF("\xee") },
		{ "arpl outside 64-bit mode", P32, CODE_OF("\x63\x08") },
		{ "mul dword [rax]", L64, CODE_OF("\xf7\x20") },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct et_fake *f = et_new(test, cases[i].mode, cases[i].cs_d,
					   cases[i].code, cases[i].n);

		f->ctxt.regs[KVMF_RAX] = cases[i].mode == KVMF_MODE_LONG ? DATA : DATA_OFF;
		KUNIT_EXPECT_EQ_MSG(test, et_run(test, f), (int)KVMF_EMUL_UNHANDLED,
				    "'%s'", cases[i].name);
		KUNIT_EXPECT_EQ_MSG(test, f->nr_log, 0u, "'%s'", cases[i].name);
		KUNIT_EXPECT_EQ(test, f->ctxt.rip, CODE - f->ctxt.seg_base[KVMF_SEG_CS]);
		/* The bytes for KVM_EXIT_INTERNAL_ERROR are there. */
		KUNIT_EXPECT_GE(test, f->ctxt.insn.nr_bytes, cases[i].n);
		KUNIT_EXPECT_EQ(test, f->ctxt.insn.bytes[0], (u8)cases[i].code[0]);
	}
}

static struct kunit_case emulate_cases[] = {
	KUNIT_CASE(et_decode_lengths_test),
	KUNIT_CASE(et_decode_fields_test),
	KUNIT_CASE(et_decode_fetch_test),
	KUNIT_CASE(et_emulate_forms_test),
	KUNIT_CASE(et_string_once_test),
	KUNIT_CASE(et_string_rep_test),
	KUNIT_CASE(et_faults_test),
	KUNIT_CASE(et_mmio_passes_test),
	KUNIT_CASE(et_unhandled_test),
	{}
};

static struct kunit_suite emulate_suite = {
	.name = "kvmf_x86_emulate",
	.test_cases = emulate_cases,
};

kunit_test_suite(emulate_suite);
