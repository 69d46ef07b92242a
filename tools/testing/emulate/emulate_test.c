// SPDX-License-Identifier: GPL-2.0
/*
 * Table-driven tests of arch/x86/kvm/emulate.c, built in userspace.
 *
 * A fake guest (a sparse byte store with not-present and read-only pages)
 * serves the emulator's ops and logs every data access.  Each emulation
 * case runs twice: once with memory answering at once, once with every
 * data access going out as an MMIO exit and completed with
 * kvmf_emul_mmio_complete(), which must give the same result.  The ALU
 * sweeps take their reference results and flags from the host CPU.
 *
 * Output is KTAP, ending with "N passed, N failed".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "emulate.h"

/* ------------------------------------------------------------------ */
/* The fake guest                                                      */

#define CHUNK		64
#define NR_CHUNKS	256
#define MAX_LOG		300

struct chunk {
	bool used;
	u64 addr;
	u8 data[CHUNK];
};

struct access {
	char rw;		/* 'r' or 'w' */
	u8 len;
	u64 gva;
	u64 val;
};

struct fake {
	struct chunk chunks[NR_CHUNKS];
	u64 np_page[4];		/* not present: any access is #PF */
	int nr_np;
	u64 ro_page;		/* read-only: writes are #PF */
	bool mmio;		/* every data access exits to "userspace" */
	u64 mmio_lo, mmio_hi;	/* accesses in [lo, hi) exit too */
	struct access log[MAX_LOG];
	int nr_log;
	struct {
		bool active;
		bool write;
		u64 gva;
		u8 len;
		u8 data[8];
	} pend;
};

static struct fake fake;

static void fake_reset(void)
{
	int i;

	for (i = 0; i < NR_CHUNKS; i++)
		fake.chunks[i].used = false;
	fake.nr_np = 0;
	fake.ro_page = ~0ull;
	fake.mmio = false;
	fake.mmio_lo = fake.mmio_hi = 0;
	fake.nr_log = 0;
	fake.pend.active = false;
}

static u8 *fake_byte(u64 addr)
{
	u64 base = addr & ~(u64)(CHUNK - 1);
	struct chunk *free_chunk = NULL;
	int i;

	for (i = 0; i < NR_CHUNKS; i++) {
		if (fake.chunks[i].used && fake.chunks[i].addr == base)
			return &fake.chunks[i].data[addr - base];
		if (!fake.chunks[i].used && !free_chunk)
			free_chunk = &fake.chunks[i];
	}
	if (!free_chunk) {
		fprintf(stderr, "fake guest: out of chunks\n");
		exit(2);
	}
	free_chunk->used = true;
	free_chunk->addr = base;
	memset(free_chunk->data, 0, CHUNK);
	return &free_chunk->data[addr - base];
}

static void fake_store(u64 addr, u64 val, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++, val >>= 8)
		*fake_byte(addr + i) = (u8)val;
}

static u64 fake_load(u64 addr, unsigned int len)
{
	u64 val = 0;

	while (len--)
		val = (val << 8) | *fake_byte(addr + len);
	return val;
}

static bool fake_np(u64 addr)
{
	int i;

	for (i = 0; i < fake.nr_np; i++)
		if ((addr & ~0xfffull) == fake.np_page[i])
			return true;
	return false;
}

/* #PF error code bits: W/R and I/D. */
#define PF_WRITE	2
#define PF_FETCH	0x10

static int check_pf(struct kvmf_emul_ctxt *ctxt, u64 gva, unsigned int len,
		    u32 ec)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		if (fake_np(gva + i) ||
		    ((ec & PF_WRITE) && ((gva + i) & ~0xfffull) == fake.ro_page))
			return kvmf_emul_raise(ctxt, KVMF_VEC_PF,
					       ec | !fake_np(gva + i), gva + i);
	}
	return KVMF_EMUL_OK;
}

static void log_access(char rw, u64 gva, unsigned int len, u64 val)
{
	if (fake.nr_log < MAX_LOG)
		fake.log[fake.nr_log] = (struct access){ rw, (u8)len, gva, val };
	fake.nr_log++;
}

static bool fake_exits(u64 gva)
{
	return fake.mmio || (gva >= fake.mmio_lo && gva < fake.mmio_hi);
}

static int op_fetch(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		    unsigned int len)
{
	int r = check_pf(ctxt, gva, len, PF_FETCH);
	unsigned int i;

	if (r)
		return r;
	for (i = 0; i < len; i++)
		((u8 *)buf)[i] = *fake_byte(gva + i);
	return KVMF_EMUL_OK;
}

static int op_read(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		   unsigned int len)
{
	int r = check_pf(ctxt, gva, len, 0);
	u64 val;

	if (r)
		return r;
	if (len < 1 || len > 8)
		return KVMF_EMUL_UNHANDLED;
	if (fake_exits(gva)) {
		fake.pend.active = true;
		fake.pend.write = false;
		fake.pend.gva = gva;
		fake.pend.len = (u8)len;
		return KVMF_EMUL_MMIO_EXIT;
	}
	val = fake_load(gva, len);
	memcpy(buf, &val, len);
	log_access('r', gva, len, val);
	return KVMF_EMUL_OK;
}

static int op_write(struct kvmf_emul_ctxt *ctxt, u64 gva, const void *buf,
		    unsigned int len)
{
	int r = check_pf(ctxt, gva, len, PF_WRITE);
	u64 val = 0;

	if (r)
		return r;
	if (len < 1 || len > 8)
		return KVMF_EMUL_UNHANDLED;
	memcpy(&val, buf, len);
	if (fake_exits(gva)) {
		fake.pend.active = true;
		fake.pend.write = true;
		fake.pend.gva = gva;
		fake.pend.len = (u8)len;
		memcpy(fake.pend.data, buf, len);
		return KVMF_EMUL_MMIO_EXIT;
	}
	fake_store(gva, val, len);
	log_access('w', gva, len, val);
	return KVMF_EMUL_OK;
}

static const struct kvmf_emul_ops fake_ops = {
	.fetch = op_fetch,
	.read_mem = op_read,
	.write_mem = op_write,
};

/* ------------------------------------------------------------------ */
/* Modes and running one instruction                                   */

enum { L64, C32, C16, P32, P16, R16, V86, NR_MODES };

static const struct {
	enum kvmf_emul_mode mode;
	bool cs_d;
	const char *tag;
	u64 rip;
	u64 cs_base;
} modes[NR_MODES] = {
	[L64] = { KVMF_MODE_LONG, false, "64", 0x401000, 0 },
	[C32] = { KVMF_MODE_COMPAT, true, "compat32", 0x1000, 0 },
	[C16] = { KVMF_MODE_COMPAT, false, "compat16", 0x1000, 0x20000 },
	[P32] = { KVMF_MODE_PROT, true, "32", 0x1000, 0 },
	[P16] = { KVMF_MODE_PROT, false, "prot16", 0x1000, 0x20000 },
	[R16] = { KVMF_MODE_REAL, false, "real", 0x100, 0x10000 },
	[V86] = { KVMF_MODE_VM86, false, "vm86", 0x100, 0x10000 },
};

static void ctxt_init(struct kvmf_emul_ctxt *c, int mode)
{
	memset(c, 0, sizeof(*c));
	c->ops = &fake_ops;
	c->opaque = &fake;
	c->mode = modes[mode].mode;
	c->cs_d = modes[mode].cs_d;
	c->rip = modes[mode].rip;
	c->seg_base[KVMF_SEG_CS] = modes[mode].cs_base;
	c->rflags = 0x2;
}

static u64 code_addr(const struct kvmf_emul_ctxt *c)
{
	return c->mode == KVMF_MODE_LONG ? c->rip :
	       (u32)(c->seg_base[KVMF_SEG_CS] + c->rip);
}

static int parse_hex(const char *s, u8 *buf, int max)
{
	int n = 0;
	char *end;

	while (*s) {
		unsigned long v;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		v = strtoul(s, &end, 16);
		if (end == s || n == max) {
			fprintf(stderr, "bad hex string\n");
			exit(2);
		}
		buf[n++] = (u8)v;
		s = end;
	}
	return n;
}

static void put_code(struct kvmf_emul_ctxt *c, const u8 *code, int len)
{
	int i;

	for (i = 0; i < len; i++)
		*fake_byte(code_addr(c) + (u64)i) = code[i];
}

/*
 * In MMIO mode, finish each exit like the kernel does after userspace:
 * a read gets its data from the fake memory, a write goes into it.
 * Between the passes the guest state must not have moved (except that a
 * REP string instruction commits whole iterations).
 */
static int emulate_via_mmio(struct kvmf_emul_ctxt *c, bool *state_moved)
{
	u64 regs[KVMF_NR_GPRS], rip, rflags, val;
	int r, loops = 0;

	for (;;) {
		memcpy(regs, c->regs, sizeof(regs));
		rip = c->rip;
		rflags = c->rflags;
		r = kvmf_insn_emulate(c);
		if (r != KVMF_EMUL_MMIO_EXIT)
			return r;
		if (!c->insn.rep && (memcmp(regs, c->regs, sizeof(regs)) ||
				     rip != c->rip || rflags != c->rflags))
			*state_moved = true;
		if (!fake.pend.active || ++loops > 1000)
			return -1;
		fake.pend.active = false;
		if (fake.pend.write) {
			memcpy(&val, fake.pend.data, 8);
			val &= fake.pend.len == 8 ? ~0ull :
			       (1ull << (fake.pend.len * 8)) - 1;
			fake_store(fake.pend.gva, val, fake.pend.len);
			log_access('w', fake.pend.gva, fake.pend.len, val);
			kvmf_emul_mmio_complete(c, NULL, 0);
		} else {
			val = fake_load(fake.pend.gva, fake.pend.len);
			log_access('r', fake.pend.gva, fake.pend.len, val);
			kvmf_emul_mmio_complete(c, &val, fake.pend.len);
		}
	}
}

/* Decode and emulate; with 'mmio', through MMIO exits. */
static int run(struct kvmf_emul_ctxt *c, bool mmio, bool *state_moved)
{
	int r;

	r = kvmf_insn_decode(c);
	if (r)
		return r;
	fake.mmio = mmio;
	if (mmio)
		return emulate_via_mmio(c, state_moved);
	return kvmf_insn_emulate(c);
}

/* ------------------------------------------------------------------ */
/* KTAP                                                                */

static int test_nr, nr_passed, nr_failed;
static bool cur_failed;

static void diag(const char *fmt, ...)
{
	va_list ap;

	cur_failed = true;
	printf("    # ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void begin(void)
{
	cur_failed = false;
}

static void end(const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", cur_failed ? "not ok" : "ok", ++test_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (cur_failed)
		nr_failed++;
	else
		nr_passed++;
}

#define CHECK(cond, ...)			\
	do {					\
		if (!(cond))			\
			diag(__VA_ARGS__);	\
	} while (0)

static const char *const result_names[] = {
	"OK", "FAULT", "UNHANDLED", "MMIO_EXIT",
};

static const char *result_name(int r)
{
	return r >= 0 && r < 4 ? result_names[r] : "?";
}

/* ------------------------------------------------------------------ */
/* Emulation cases                                                     */

#define OK_	KVMF_EMUL_OK
#define FAULT	KVMF_EMUL_FAULT
#define UNHAND	KVMF_EMUL_UNHANDLED

struct rv {
	u8 r;			/* GPR + 1; 0 ends the list */
	u64 v;
};

struct mv {
	u64 gva;
	u8 len;			/* 0 ends the list */
	u64 v;
};

struct sv {
	u8 seg;			/* enum kvmf_seg + 1; 0 ends the list */
	u64 base;
};

#define RV(reg, val)	{ KVMF_##reg + 1, (val) }
#define MV(a, l, val)	{ (a), (l), (val) }
#define SV(seg, b)	{ KVMF_SEG_##seg + 1, (b) }
#define R(a, l, val)	{ 'r', (l), (a), (val) }
#define W(a, l, val)	{ 'w', (l), (a), (val) }

#define CF KVMF_EFL_CF
#define PF KVMF_EFL_PF
#define AF KVMF_EFL_AF
#define ZF KVMF_EFL_ZF
#define SF KVMF_EFL_SF
#define DF KVMF_EFL_DF
#define OF KVMF_EFL_OF
#define ARITH KVMF_EFL_ARITH

struct emu_case {
	const char *name;
	int mode;
	const char *code;
	u8 len;
	u8 res;			/* expected result, OK by default */
	u8 vec;			/* for FAULT */
	u64 rflags;		/* input, besides bit 1 */
	u64 fmask, fval;	/* expected: (input & ~fmask) | fval */
	struct rv in[5];
	struct mv mem[3];
	struct sv seg[3];
	struct rv out[4];	/* registers expected to change */
	struct access acc[8];	/* all data accesses, in order */
	bool rip_stays;		/* RIP is expected not to move */
	u64 rip;		/* 0: the mode's default */
};

static const struct emu_case emu_cases[] = {
	/* MOV, register to memory and back, sizes and byte registers */
	{ "mov [rbx],eax", L64, "89 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x1122334455667788) },
	  .acc = { W(0x5000, 4, 0x55667788) } },
	{ "mov [rbx],rax", L64, "48 89 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x1122334455667788) },
	  .acc = { W(0x5000, 8, 0x1122334455667788) } },
	{ "mov [rbx],ax", L64, "66 89 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x1122334455667788) },
	  .acc = { W(0x5000, 2, 0x7788) } },
	{ "mov [rbx],ah", L64, "88 23", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x1122334455667788) },
	  .acc = { W(0x5000, 1, 0x77) } },
	{ "mov [rbx],spl (REX)", L64, "40 88 23", 3,
	  .in = { RV(RBX, 0x5000), RV(RSP, 0x12345) },
	  .acc = { W(0x5000, 1, 0x45) } },
	{ "mov [rbx],r8d", L64, "44 89 03", 3,
	  .in = { RV(RBX, 0x5000), RV(R8, 0xaabbccdd11223344) },
	  .acc = { W(0x5000, 4, 0x11223344) } },
	{ "mov [r9+r10*8-8],r15", L64, "4f 89 7c d1 f8", 5,
	  .in = { RV(R9, 0x5000), RV(R10, 2), RV(R15, 0xfeedfacecafebeef) },
	  .acc = { W(0x5008, 8, 0xfeedfacecafebeef) } },
	{ "mov eax,[rbx] zero-extends", L64, "8b 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 4, 0xdeadbeef) },
	  .out = { RV(RAX, 0xdeadbeef) },
	  .acc = { R(0x5000, 4, 0xdeadbeef) } },
	{ "mov ax,[rbx] merges", L64, "66 8b 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 2, 0x1234) },
	  .out = { RV(RAX, 0xffffffffffff1234) },
	  .acc = { R(0x5000, 2, 0x1234) } },
	{ "mov bh,[rbx]", L64, "8a 3b", 2,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 1, 0x9a) },
	  .out = { RV(RBX, 0x9a00) },
	  .acc = { R(0x5000, 1, 0x9a) } },
	{ "mov r12b,[rbx] (REX.R)", L64, "44 8a 23", 3,
	  .in = { RV(RBX, 0x5000), RV(R12, 0x1111) },
	  .mem = { MV(0x5000, 1, 0x9a) },
	  .out = { RV(R12, 0x119a) },
	  .acc = { R(0x5000, 1, 0x9a) } },
	{ "mov rax,[rip+0x10]", L64, "48 8b 05 10 00 00 00", 7,
	  .mem = { MV(0x401017, 8, 0x0102030405060708) },
	  .out = { RV(RAX, 0x0102030405060708) },
	  .acc = { R(0x401017, 8, 0x0102030405060708) } },
	{ "mov eax,[rip-4] reads its own disp", L64, "8b 05 fc ff ff ff", 6,
	  .out = { RV(RAX, 0xfffffffc) },
	  .acc = { R(0x401002, 4, 0xfffffffc) } },
	{ "mov eax,[eip+0x10] (67) wraps", L64, "67 8b 05 10 00 00 00", 7,
	  .rip = 0x100001000,
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x1017, 4, 0) } },
	{ "mov eax,fs:[0x100]", L64, "64 8b 04 25 00 01 00 00", 8,
	  .seg = { SV(FS, 0xffff888000000000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0xffff888000000100, 4, 0) } },
	{ "mov eax,gs:[rbx]", L64, "65 8b 03", 3,
	  .in = { RV(RBX, 0x10) },
	  .seg = { SV(GS, 0x7000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x7010, 4, 0) } },
	{ "es/ds/ss bases ignored in 64-bit", L64, "26 8b 03", 3,
	  .in = { RV(RBX, 0x5000) },
	  .seg = { SV(ES, 0x100000), SV(DS, 0x200000), SV(SS, 0x300000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x5000, 4, 0) } },
	{ "mov eax,[rbx+rcx*4+4]", L64, "8b 44 8b 04", 4,
	  .in = { RV(RBX, 0x5000), RV(RCX, 3) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x5010, 4, 0) } },
	{ "mov eax,[rbx+r12*4] (REX.X index 4)", L64, "42 8b 04 a3", 4,
	  .in = { RV(RBX, 0x5000), RV(R12, 3) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x500c, 4, 0) } },
	{ "mov eax,[rsp+rsp*1]: index 4 is none", L64, "8b 04 24", 3,
	  .in = { RV(RSP, 0x6000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x6000, 4, 0) } },
	{ "mov eax,[r12]", L64, "41 8b 04 24", 4,
	  .in = { RV(R12, 0x6000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x6000, 4, 0) } },
	{ "mov eax,[r13+0]", L64, "41 8b 45 00", 4,
	  .in = { RV(R13, 0x6000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x6000, 4, 0) } },
	{ "mov eax,[disp32] sign-extends", L64, "8b 04 25 00 00 00 80", 7,
	  .out = { RV(RAX, 0) },
	  .acc = { R(0xffffffff80000000, 4, 0) } },
	{ "mov eax,[ebx+ecx] (67) truncates", L64, "67 8b 04 0b", 4,
	  .in = { RV(RBX, 0x1fffffff0), RV(RCX, 0x20) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x10, 4, 0) } },
	{ "mov byte [rbx],imm8", L64, "c6 03 ab", 3,
	  .in = { RV(RBX, 0x5000) },
	  .acc = { W(0x5000, 1, 0xab) } },
	{ "mov qword [rbx],imm32 sign-extends", L64, "48 c7 03 fe ff ff ff", 7,
	  .in = { RV(RBX, 0x5000) },
	  .acc = { W(0x5000, 8, 0xfffffffffffffffe) } },
	{ "mov word [rbx],imm16", L64, "66 c7 03 34 12", 5,
	  .in = { RV(RBX, 0x5000) },
	  .acc = { W(0x5000, 2, 0x1234) } },
	{ "mov dword [rip+8],imm32", L64, "c7 05 08 00 00 00 78 56 34 12", 10,
	  .acc = { W(0x401012, 4, 0x12345678) } },
	{ "mov al,[moffs64]", L64, "a0 00 50 00 00 00 00 00 00", 9,
	  .mem = { MV(0x5000, 1, 0x42) },
	  .out = { RV(RAX, 0x42) },
	  .acc = { R(0x5000, 1, 0x42) } },
	{ "mov [moffs64],rax", L64, "48 a3 88 77 66 55 44 7f 00 00", 10,
	  .in = { RV(RAX, 0xabcdef) },
	  .acc = { W(0x7f4455667788, 8, 0xabcdef) } },
	{ "mov eax,[moffs32] (67)", L64, "67 a1 00 50 00 00", 6,
	  .in = { RV(RAX, ~0ull) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x5000, 4, 0) } },
	{ "mov eax,fs:[moffs64]", L64, "64 a1 10 00 00 00 00 00 00 00", 10,
	  .seg = { SV(FS, 0x9000) },
	  .out = { RV(RAX, 0) },
	  .acc = { R(0x9010, 4, 0) } },
	{ "mov eax,[moffs32]", P32, "a1 00 20 00 00", 5,
	  .seg = { SV(DS, 0x10000) },
	  .acc = { R(0x12000, 4, 0) } },
	{ "mov [moffs32],al", P32, "a2 00 20 00 00", 5,
	  .in = { RV(RAX, 0x1234) },
	  .acc = { W(0x2000, 1, 0x34) } },
	{ "mov ax,[moffs16]", R16, "a1 00 20", 3,
	  .in = { RV(RAX, 0xffff0000) },
	  .seg = { SV(DS, 0x12340) },
	  .mem = { MV(0x14340, 2, 0xbeef) },
	  .out = { RV(RAX, 0xffffbeef) },
	  .acc = { R(0x14340, 2, 0xbeef) } },
	{ "mov eax,[moffs16] (66)", R16, "66 a1 00 20", 4,
	  .seg = { SV(DS, 0x12340) },
	  .acc = { R(0x14340, 4, 0) } },
	{ "mov ax,[bx+si] wraps at 64K", P16, "8b 00", 2,
	  .in = { RV(RBX, 0x1000), RV(RSI, 0xf100) },
	  .seg = { SV(DS, 0x30000) },
	  .acc = { R(0x30100, 2, 0) } },
	{ "mov ax,[bp-2] uses SS", R16, "8b 46 fe", 3,
	  .in = { RV(RBP, 0x100) },
	  .seg = { SV(SS, 0x30000), SV(DS, 0x40000) },
	  .acc = { R(0x300fe, 2, 0) } },
	{ "mov ax,ds:[bp-2]", R16, "3e 8b 46 fe", 4,
	  .in = { RV(RBP, 0x100) },
	  .seg = { SV(SS, 0x30000), SV(DS, 0x40000) },
	  .acc = { R(0x400fe, 2, 0) } },
	{ "mov ax,[disp16]", R16, "8b 06 34 12", 4,
	  .seg = { SV(DS, 0x40000) },
	  .acc = { R(0x41234, 2, 0) } },
	{ "mov ax,[bp+si+0x10]", V86, "8b 42 10", 3,
	  .in = { RV(RBP, 0x100), RV(RSI, 0x20) },
	  .seg = { SV(SS, 0x30000) },
	  .acc = { R(0x30130, 2, 0) } },
	{ "mov ax,[bx+di+disp16]", R16, "8b 81 00 10", 4,
	  .in = { RV(RBX, 0x100), RV(RDI, 0x20) },
	  .seg = { SV(DS, 0x40000) },
	  .acc = { R(0x41120, 2, 0) } },
	{ "mov [di],al", R16, "88 05", 2,
	  .in = { RV(RDI, 0x77), RV(RAX, 0x5) },
	  .seg = { SV(DS, 0x40000) },
	  .acc = { W(0x40077, 1, 5) } },
	{ "mov eax,[esp+4] uses SS", P32, "8b 44 24 04", 4,
	  .in = { RV(RSP, 0x8000) },
	  .seg = { SV(SS, 0x100000) },
	  .acc = { R(0x108004, 4, 0) } },
	{ "mov eax,[ebp+0] uses SS", P32, "8b 45 00", 3,
	  .in = { RV(RBP, 0x8000) },
	  .seg = { SV(SS, 0x100000) },
	  .acc = { R(0x108000, 4, 0) } },
	{ "mov eax,[bx] (67) in 32-bit", P32, "67 8b 07", 3,
	  .in = { RV(RBX, 0x12345678) },
	  .acc = { R(0x5678, 4, 0) } },
	{ "mov eax,[disp32] linear wraps", P32, "8b 05 00 00 00 80", 6,
	  .seg = { SV(DS, 0x90000000) },
	  .acc = { R(0x10000000, 4, 0) } },
	{ "mov eax,[disp32] in compat mode", C32, "8b 05 00 10 00 00", 6,
	  .seg = { SV(DS, 0x1000) },
	  .acc = { R(0x2000, 4, 0) } },
	{ "mov ax,[si] in 16-bit compat", C16, "8b 04", 2,
	  .in = { RV(RSI, 0x10) },
	  .seg = { SV(DS, 0x1000) },
	  .acc = { R(0x1010, 2, 0) } },
	{ "mov [rbx],eax non-canonical: #GP", L64, "89 03", 2, FAULT, KVMF_VEC_GP,
	  .in = { RV(RBX, 0x0000800000000000) } },
	{ "mov eax,[rsp] non-canonical: #SS", L64, "8b 04 24", 3, FAULT, KVMF_VEC_SS,
	  .in = { RV(RSP, 0x8000000000000000) } },
	{ "mov r8,[rbx] reaching non-canonical", L64, "4c 8b 03", 3, FAULT, KVMF_VEC_GP,
	  .in = { RV(RBX, 0x00007ffffffffffc) } },
	{ "mov [rbx],eax: write #PF", L64, "89 03", 2, FAULT, KVMF_VEC_PF,
	  .in = { RV(RBX, 0x9ffe) } },	/* 0xa000 is not present */

	/* MOVZX, MOVSX, MOVSXD */
	{ "movzx eax,byte [rbx]", L64, "0f b6 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 1, 0x80) },
	  .out = { RV(RAX, 0x80) },
	  .acc = { R(0x5000, 1, 0x80) } },
	{ "movzx eax,word [rbx]", L64, "0f b7 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 2, 0x8000) },
	  .out = { RV(RAX, 0x8000) },
	  .acc = { R(0x5000, 2, 0x8000) } },
	{ "movzx ax,byte [rbx]", L64, "66 0f b6 03", 4,
	  .in = { RV(RBX, 0x5000), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 1, 0x80) },
	  .out = { RV(RAX, 0xffffffffffff0080) },
	  .acc = { R(0x5000, 1, 0x80) } },
	{ "movsx rax,byte [rbx]", L64, "48 0f be 03", 4,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 1, 0x80) },
	  .out = { RV(RAX, 0xffffffffffffff80) },
	  .acc = { R(0x5000, 1, 0x80) } },
	{ "movsx ax,byte [rbx]", L64, "66 0f be 03", 4,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x1111111111111111) },
	  .mem = { MV(0x5000, 1, 0xfe) },
	  .out = { RV(RAX, 0x111111111111fffe) },
	  .acc = { R(0x5000, 1, 0xfe) } },
	{ "movsx ecx,byte [rbx] positive", L64, "0f be 0b", 3,
	  .in = { RV(RBX, 0x5000), RV(RCX, ~0ull) },
	  .mem = { MV(0x5000, 1, 0x7f) },
	  .out = { RV(RCX, 0x7f) },
	  .acc = { R(0x5000, 1, 0x7f) } },
	{ "movsx rax,word [rbx]", L64, "48 0f bf 03", 4,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 2, 0x8000) },
	  .out = { RV(RAX, 0xffffffffffff8000) },
	  .acc = { R(0x5000, 2, 0x8000) } },
	{ "movsx eax,word [bx] (16-bit)", R16, "66 0f bf 07", 4,
	  .in = { RV(RBX, 0x10) },
	  .mem = { MV(0x10, 2, 0x8001) },
	  .out = { RV(RAX, 0xffff8001) },
	  .acc = { R(0x10, 2, 0x8001) } },
	{ "movsxd rax,dword [rbx]", L64, "48 63 03", 3,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 4, 0x80000000) },
	  .out = { RV(RAX, 0xffffffff80000000) },
	  .acc = { R(0x5000, 4, 0x80000000) } },
	{ "movsxd eax,dword [rbx] (no REX.W)", L64, "63 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 4, 0x80000000) },
	  .out = { RV(RAX, 0x80000000) },
	  .acc = { R(0x5000, 4, 0x80000000) } },
	{ "arpl (63 outside 64-bit) unhandled", P32, "63 03", 2, .res = UNHAND },

	/* String instructions */
	{ "movsb", L64, "a4", 1,
	  .in = { RV(RSI, 0x5000), RV(RDI, 0x6000) },
	  .mem = { MV(0x5000, 1, 0x5a) },
	  .out = { RV(RSI, 0x5001), RV(RDI, 0x6001) },
	  .acc = { R(0x5000, 1, 0x5a), W(0x6000, 1, 0x5a) } },
	{ "movsq with DF", L64, "48 a5", 2, .rflags = DF,
	  .in = { RV(RSI, 0x5000), RV(RDI, 0x6000) },
	  .mem = { MV(0x5000, 8, 0x1122334455667788) },
	  .out = { RV(RSI, 0x4ff8), RV(RDI, 0x5ff8) },
	  .acc = { R(0x5000, 8, 0x1122334455667788),
		   W(0x6000, 8, 0x1122334455667788) } },
	{ "movsd fs: source", L64, "64 a5", 2,
	  .in = { RV(RSI, 0x10), RV(RDI, 0x6000) },
	  .seg = { SV(FS, 0x8000), SV(ES, 0x100000) },
	  .out = { RV(RSI, 0x14), RV(RDI, 0x6004) },
	  .acc = { R(0x8010, 4, 0), W(0x6000, 4, 0) } },
	{ "rep movsb", L64, "f3 a4", 2,
	  .in = { RV(RSI, 0x5000), RV(RDI, 0x6000), RV(RCX, 3) },
	  .mem = { MV(0x5000, 3, 0x030201) },
	  .out = { RV(RSI, 0x5003), RV(RDI, 0x6003), RV(RCX, 0) },
	  .acc = { R(0x5000, 1, 1), W(0x6000, 1, 1), R(0x5001, 1, 2),
		   W(0x6001, 1, 2), R(0x5002, 1, 3), W(0x6002, 1, 3) } },
	{ "repne movsb acts as rep", L64, "f2 a4", 2,
	  .in = { RV(RSI, 0x5000), RV(RDI, 0x6000), RV(RCX, 1) },
	  .out = { RV(RSI, 0x5001), RV(RDI, 0x6001), RV(RCX, 0) },
	  .acc = { R(0x5000, 1, 0), W(0x6000, 1, 0) } },
	{ "rep movsb, rcx 0: nothing", L64, "f3 a4", 2,
	  .in = { RV(RSI, 0x5000), RV(RDI, 0x6000), RV(RCX, 0) } },
	{ "rep stosq", L64, "f3 48 ab", 3,
	  .in = { RV(RDI, 0x6000), RV(RCX, 2), RV(RAX, 0xabcdef0123456789) },
	  .out = { RV(RDI, 0x6010), RV(RCX, 0) },
	  .acc = { W(0x6000, 8, 0xabcdef0123456789),
		   W(0x6008, 8, 0xabcdef0123456789) } },
	{ "rep stosb (67): edi, ecx wrap", L64, "67 f3 aa", 3,
	  .in = { RV(RDI, 0x1ffffffff), RV(RCX, 0x100000002), RV(RAX, 0x77) },
	  .out = { RV(RDI, 1), RV(RCX, 0) },
	  .acc = { W(0xffffffff, 1, 0x77), W(0, 1, 0x77) } },
	{ "stosw (16-bit) uses ES, DF", R16, "ab", 1, .rflags = DF,
	  .in = { RV(RDI, 0x0000), RV(RAX, 0x1234) },
	  .seg = { SV(ES, 0x50000), SV(DS, 0x60000) },
	  .out = { RV(RDI, 0xfffe) },
	  .acc = { W(0x50000, 2, 0x1234) } },
	{ "es: override does not move STOS", R16, "26 aa", 2,
	  .in = { RV(RDI, 0x10), RV(RAX, 0x12) },
	  .seg = { SV(ES, 0x50000) },
	  .out = { RV(RDI, 0x11) },
	  .acc = { W(0x50010, 1, 0x12) } },
	{ "lodsb", L64, "ac", 1,
	  .in = { RV(RSI, 0x5000), RV(RAX, 0x1111111111111111) },
	  .mem = { MV(0x5000, 1, 0x99) },
	  .out = { RV(RSI, 0x5001), RV(RAX, 0x1111111111111199) },
	  .acc = { R(0x5000, 1, 0x99) } },
	{ "rep lodsd", L64, "f3 ad", 2,
	  .in = { RV(RSI, 0x5000), RV(RCX, 2), RV(RAX, ~0ull) },
	  .mem = { MV(0x5000, 8, 0x2222222211111111) },
	  .out = { RV(RSI, 0x5008), RV(RCX, 0), RV(RAX, 0x22222222) },
	  .acc = { R(0x5000, 4, 0x11111111), R(0x5004, 4, 0x22222222) } },
	{ "rep movsw (16-bit)", R16, "f3 a5", 2,
	  .in = { RV(RSI, 0x10), RV(RDI, 0x20), RV(RCX, 0x10002) },
	  .seg = { SV(DS, 0x30000), SV(ES, 0x40000) },
	  .mem = { MV(0x30010, 4, 0xbbbbaaaa) },
	  .out = { RV(RSI, 0x14), RV(RDI, 0x24), RV(RCX, 0x10000) },
	  .acc = { R(0x30010, 2, 0xaaaa), W(0x40020, 2, 0xaaaa),
		   R(0x30012, 2, 0xbbbb), W(0x40022, 2, 0xbbbb) } },
	{ "movsb es: source (16-bit)", R16, "26 a4", 2,
	  .in = { RV(RSI, 0x10), RV(RDI, 0x20) },
	  .seg = { SV(DS, 0x30000), SV(ES, 0x40000) },
	  .out = { RV(RSI, 0x11), RV(RDI, 0x21) },
	  .acc = { R(0x40010, 1, 0), W(0x40020, 1, 0) } },
	{ "movsd (32-bit)", P32, "a5", 1,
	  .in = { RV(RSI, 0x10), RV(RDI, 0x20) },
	  .out = { RV(RSI, 0x14), RV(RDI, 0x24) },
	  .acc = { R(0x10, 4, 0), W(0x20, 4, 0) } },

	/* ALU, hand-checked flags */
	{ "add [rbx],eax carries out", L64, "01 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 1) },
	  .mem = { MV(0x5000, 4, 0xffffffff) },
	  .fmask = ARITH, .fval = CF | PF | AF | ZF,
	  .acc = { R(0x5000, 4, 0xffffffff), W(0x5000, 4, 0) } },
	{ "add dword [rbx],-1 (83)", L64, "83 03 ff", 3,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 4, 2) },
	  .fmask = ARITH, .fval = CF | AF,
	  .acc = { R(0x5000, 4, 2), W(0x5000, 4, 1) } },
	{ "sub byte [rbx],1 overflows", L64, "80 2b 01", 3,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 1, 0x80) },
	  .fmask = ARITH, .fval = OF | AF,
	  .acc = { R(0x5000, 1, 0x80), W(0x5000, 1, 0x7f) } },
	{ "adc [rbx],al with CF", L64, "10 03", 2, .rflags = CF,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x0f) },
	  .mem = { MV(0x5000, 1, 0x70) },
	  .fmask = ARITH, .fval = OF | SF | AF,
	  .acc = { R(0x5000, 1, 0x70), W(0x5000, 1, 0x80) } },
	{ "sbb [rbx],eax with CF", L64, "19 03", 2, .rflags = CF,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0) },
	  .mem = { MV(0x5000, 4, 0) },
	  .fmask = ARITH, .fval = CF | SF | AF | PF,
	  .acc = { R(0x5000, 4, 0), W(0x5000, 4, 0xffffffff) } },
	{ "xor [rbx],rax clears CF, OF", L64, "48 31 03", 3, .rflags = CF | OF,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0xff00ff00ff00ff00) },
	  .mem = { MV(0x5000, 8, 0xff00ff00ff00ff01) },
	  .fmask = ARITH, .fval = 0,
	  .acc = { R(0x5000, 8, 0xff00ff00ff00ff01), W(0x5000, 8, 1) } },
	{ "lock or [rbx],ecx", L64, "f0 09 0b", 3,
	  .in = { RV(RBX, 0x5000), RV(RCX, 0x80000000) },
	  .mem = { MV(0x5000, 4, 1) },
	  .fmask = ARITH, .fval = SF,
	  .acc = { R(0x5000, 4, 1), W(0x5000, 4, 0x80000001) } },
	{ "and [rbx],ax", L64, "66 21 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0xf0f0) },
	  .mem = { MV(0x5000, 2, 0x0f0f) },
	  .fmask = ARITH, .fval = ZF | PF,
	  .acc = { R(0x5000, 2, 0x0f0f), W(0x5000, 2, 0) } },
	{ "cmp [rbx],eax reads only", L64, "39 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 5) },
	  .mem = { MV(0x5000, 4, 3) },
	  .fmask = ARITH, .fval = CF | SF | AF,
	  .acc = { R(0x5000, 4, 3) } },
	{ "cmp eax,[rbx]", L64, "3b 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 5) },
	  .mem = { MV(0x5000, 4, 5) },
	  .fmask = ARITH, .fval = ZF | PF,
	  .acc = { R(0x5000, 4, 5) } },
	{ "add eax,[rbx]", L64, "03 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0xffffffff00000001) },
	  .mem = { MV(0x5000, 4, 0x7fffffff) },
	  .out = { RV(RAX, 0x80000000) },
	  .fmask = ARITH, .fval = OF | SF | AF | PF,
	  .acc = { R(0x5000, 4, 0x7fffffff) } },
	{ "sub cl,[bx+si] (16-bit)", R16, "2a 08", 2,
	  .in = { RV(RBX, 0x10), RV(RSI, 1), RV(RCX, 0x1234) },
	  .mem = { MV(0x11, 1, 0x35) },
	  .out = { RV(RCX, 0x12ff) },
	  .fmask = ARITH, .fval = CF | SF | AF | PF,
	  .acc = { R(0x11, 1, 0x35) } },
	{ "cmp dword [rbx],imm32", L64, "81 3b 00 00 00 80", 6,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 4, 0) },
	  .fmask = ARITH, .fval = CF | OF | SF | PF,
	  .acc = { R(0x5000, 4, 0) } },
	{ "test [rbx],eax", L64, "85 03", 2, .rflags = CF | OF,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0x100) },
	  .mem = { MV(0x5000, 4, 0x1ff) },
	  .fmask = ARITH, .fval = PF,
	  .acc = { R(0x5000, 4, 0x1ff) } },
	{ "test byte [rbx],0x80", L64, "f6 03 80", 3,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 1, 0x80) },
	  .fmask = ARITH, .fval = SF,
	  .acc = { R(0x5000, 1, 0x80) } },
	{ "test qword [rbx],imm32", L64, "48 f7 03 00 00 00 80", 7,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 8, 0x8000000000000000) },
	  .fmask = ARITH, .fval = SF | PF,
	  .acc = { R(0x5000, 8, 0x8000000000000000) } },
	{ "neg dword [rbx] of 0", L64, "f7 1b", 2, .rflags = CF,
	  .in = { RV(RBX, 0x5000) },
	  .fmask = ARITH, .fval = ZF | PF,
	  .acc = { R(0x5000, 4, 0), W(0x5000, 4, 0) } },
	{ "neg byte [rbx] of 0x80", L64, "f6 1b", 2,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 1, 0x80) },
	  .fmask = ARITH, .fval = CF | OF | SF,
	  .acc = { R(0x5000, 1, 0x80), W(0x5000, 1, 0x80) } },
	{ "not word [rbx] keeps flags", L64, "66 f7 13", 3, .rflags = CF | ZF,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 2, 0x00ff) },
	  .acc = { R(0x5000, 2, 0x00ff), W(0x5000, 2, 0xff00) } },
	{ "inc dword [rbx] keeps CF", L64, "ff 03", 2, .rflags = CF,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 4, 0x7fffffff) },
	  .fmask = ARITH & ~CF, .fval = OF | SF | AF | PF,
	  .acc = { R(0x5000, 4, 0x7fffffff), W(0x5000, 4, 0x80000000) } },
	{ "dec byte [rbx]", L64, "fe 0b", 2,
	  .in = { RV(RBX, 0x5000) },
	  .fmask = ARITH & ~CF, .fval = SF | AF | PF,
	  .acc = { R(0x5000, 1, 0), W(0x5000, 1, 0xff) } },
	{ "lock dec qword [rbx]", L64, "f0 48 ff 0b", 4,
	  .in = { RV(RBX, 0x5000) },
	  .mem = { MV(0x5000, 8, 1) },
	  .fmask = ARITH & ~CF, .fval = ZF | PF,
	  .acc = { R(0x5000, 8, 1), W(0x5000, 8, 0) } },
	{ "inc eax (40, 32-bit)", P32, "40", 1,
	  .in = { RV(RAX, 0xffffffff) },
	  .out = { RV(RAX, 0) },
	  .fmask = ARITH & ~CF, .fval = ZF | AF | PF },
	{ "dec bx (4b, 16-bit)", R16, "4b", 1,
	  .in = { RV(RBX, 0x12340000) },
	  .out = { RV(RBX, 0x1234ffff) },
	  .fmask = ARITH & ~CF, .fval = SF | AF | PF },
	{ "add eax,imm32 (05)", L64, "05 01 00 00 00", 5,
	  .in = { RV(RAX, 0xffffffffffffffff) },
	  .out = { RV(RAX, 0) },
	  .fmask = ARITH, .fval = CF | ZF | AF | PF },
	{ "and al,imm8 (24)", L64, "24 0f", 2,
	  .in = { RV(RAX, 0xabcd) },
	  .out = { RV(RAX, 0xab0d) },
	  .fmask = ARITH, .fval = 0 },

	/* XCHG */
	{ "xchg [rbx],eax", L64, "87 03", 2,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0xffffffff00000001) },
	  .mem = { MV(0x5000, 4, 0x12345678) },
	  .out = { RV(RAX, 0x12345678) },
	  .acc = { R(0x5000, 4, 0x12345678), W(0x5000, 4, 1) } },
	{ "lock xchg [rbx],ah", L64, "f0 86 23", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0xaabb) },
	  .mem = { MV(0x5000, 1, 0x11) },
	  .out = { RV(RAX, 0x11bb) },
	  .acc = { R(0x5000, 1, 0x11), W(0x5000, 1, 0xaa) } },
	{ "xchg [rbx],rax: write #PF keeps rax", L64, "48 87 03", 3,
	  FAULT, KVMF_VEC_PF,
	  .in = { RV(RBX, 0xb000), RV(RAX, 7) },
	  .acc = { R(0xb000, 8, 0) } },	/* 0xb000 is read-only */

	/* Register forms, MOVNTI, unhandled */
	{ "mov al,imm8 (b0)", L64, "b0 12", 2,
	  .in = { RV(RAX, ~0ull) },
	  .out = { RV(RAX, 0xffffffffffffff12) } },
	{ "mov r9,imm64", L64, "49 b9 08 07 06 05 04 03 02 01", 10,
	  .out = { RV(R9, 0x0102030405060708) } },
	{ "mov eax,ecx (8b c1)", L64, "8b c1", 2,
	  .in = { RV(RAX, ~0ull), RV(RCX, 0x1122334455667788) },
	  .out = { RV(RAX, 0x55667788) } },
	{ "movnti [rbx],eax", L64, "0f c3 03", 3,
	  .in = { RV(RBX, 0x5000), RV(RAX, 0xcafe) },
	  .acc = { W(0x5000, 4, 0xcafe) } },
	{ "cpuid: decoded, unhandled", L64, "0f a2", 2, .res = UNHAND },
	{ "cmpsb: unhandled", L64, "a6", 1, .res = UNHAND },
	{ "shl dword [rbx],1: unhandled", L64, "d1 23", 2, .res = UNHAND },
	{ "vex: unhandled", L64, "c5 f8 77", 0, .res = UNHAND },

	/* Encodings that are #UD */
	{ "lock mov: #UD", L64, "f0 89 03", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "lock add to register: #UD", L64, "f0 01 c3", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "lock add reg,[mem]: #UD", L64, "f0 03 03", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "lock cmp: #UD", L64, "f0 39 03", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "lock test: #UD", L64, "f0 f7 03 01 00 00 00", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "lock movsb: #UD", L64, "f0 a4", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "ud2: #UD", L64, "0f 0b", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "movnti to register: #UD", L64, "0f c3 c0", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "66 movnti: #UD", L64, "66 0f c3 03", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "push es in 64-bit: #UD", L64, "06", 0, .res = FAULT, .vec = KVMF_VEC_UD },
	{ "fe /2: #UD", L64, "fe 13", 0, .res = FAULT, .vec = KVMF_VEC_UD },
};

static void apply_case_state(struct kvmf_emul_ctxt *c, const struct emu_case *t)
{
	int i;

	c->rflags = 0x2 | t->rflags;
	if (t->rip)
		c->rip = t->rip;
	for (i = 0; i < 5 && t->in[i].r; i++)
		c->regs[t->in[i].r - 1] = t->in[i].v;
	for (i = 0; i < 3 && t->seg[i].seg; i++)
		c->seg_base[t->seg[i].seg - 1] = t->seg[i].base;
	for (i = 0; i < 3 && t->mem[i].len; i++)
		fake_store(t->mem[i].gva, t->mem[i].v, t->mem[i].len);
	/* Fixed traps for fault cases: a missing and a read-only page. */
	fake.np_page[fake.nr_np++] = 0xa000;
	fake.ro_page = 0xb000;
}

static void check_regs(const struct kvmf_emul_ctxt *c, const u64 *want)
{
	int i;

	for (i = 0; i < KVMF_NR_GPRS; i++)
		CHECK(c->regs[i] == want[i], "reg %d: got %#" PRIx64 ", want %#" PRIx64,
		      i, c->regs[i], want[i]);
}

static void check_accesses(const struct access *want, int max)
{
	int i, n = 0;

	while (n < max && want[n].rw)
		n++;
	CHECK(fake.nr_log == n, "%d accesses, want %d", fake.nr_log, n);
	for (i = 0; i < n && i < fake.nr_log; i++) {
		const struct access *g = &fake.log[i];

		CHECK(g->rw == want[i].rw && g->gva == want[i].gva &&
		      g->len == want[i].len && g->val == want[i].val,
		      "access %d: got %c %#" PRIx64 "/%u = %#" PRIx64
		      ", want %c %#" PRIx64 "/%u = %#" PRIx64, i,
		      g->rw, g->gva, g->len, g->val, want[i].rw, want[i].gva,
		      want[i].len, want[i].val);
	}
}

static void run_emu_case(const struct emu_case *t, bool mmio)
{
	struct kvmf_emul_ctxt c;
	u64 want[KVMF_NR_GPRS], rip0, fl0, want_fl;
	bool moved = false;
	u8 code[KVMF_INSN_MAX + 1];
	int len, r, i;

	begin();
	fake_reset();
	ctxt_init(&c, t->mode);
	apply_case_state(&c, t);
	len = parse_hex(t->code, code, sizeof(code));
	put_code(&c, code, len);
	memcpy(want, c.regs, sizeof(want));
	rip0 = c.rip;
	fl0 = c.rflags;

	r = run(&c, mmio, &moved);
	CHECK(r == t->res, "result %s, want %s", result_name(r),
	      result_name(t->res));
	if (r == KVMF_EMUL_FAULT && t->res == KVMF_EMUL_FAULT)
		CHECK(c.fault.vector == t->vec, "vector %u, want %u",
		      c.fault.vector, t->vec);
	if (t->len)
		CHECK(c.insn.len == t->len, "length %u, want %u", c.insn.len,
		      t->len);
	CHECK(!moved, "guest state changed before an MMIO exit completed");

	if (t->res == KVMF_EMUL_OK) {
		for (i = 0; i < 4 && t->out[i].r; i++)
			want[t->out[i].r - 1] = t->out[i].v;
		want_fl = (fl0 & ~t->fmask) | t->fval;
		CHECK(c.rflags == want_fl, "rflags %#" PRIx64 ", want %#" PRIx64,
		      c.rflags, want_fl);
		CHECK(c.rip == (t->rip_stays ? rip0 : rip0 + t->len),
		      "rip %#" PRIx64 ", from %#" PRIx64, c.rip, rip0);
	} else {
		CHECK(c.rflags == fl0 && c.rip == rip0,
		      "rip or rflags changed on failure");
	}
	check_regs(&c, want);
	check_accesses(t->acc, 8);
	end("emulate %s (%s)%s", t->name, modes[t->mode].tag,
	    mmio ? " through MMIO exits" : "");
}

/* ------------------------------------------------------------------ */
/* Decode cases: length, sizes, and what is refused                    */

struct len_case {
	int mode;
	const char *code;
	u8 len;
	u8 res;
	u8 vec;
	u8 op_bytes;		/* 0: not checked */
	u8 ad_bytes;		/* 0: not checked */
	const char *what;
};

static const struct len_case len_cases[] = {
	/* What kvmfork skips by length on CPUs without NRIP save */
	{ L64, "0f a2", 2, .what = "cpuid" },
	{ L64, "f4", 1, .what = "hlt" },
	{ L64, "0f 32", 2, .what = "rdmsr" },
	{ L64, "0f 30", 2, .what = "wrmsr" },
	{ L64, "0f 01 d9", 3, .what = "vmmcall" },
	{ L64, "0f 01 d1", 3, .what = "xsetbv" },
	{ L64, "0f 31", 2, .what = "rdtsc" },
	{ L64, "0f 01 f9", 3, .what = "rdtscp" },
	{ L64, "0f 08", 2, .what = "invd" },
	{ L64, "0f 09", 2, .what = "wbinvd" },
	{ L64, "0f 20 c0", 3, .what = "mov rax,cr0" },
	{ L64, "0f 22 d8", 3, .what = "mov cr3,rax" },
	{ L64, "44 0f 20 c0", 4, .what = "mov rax,cr8" },
	{ L64, "0f 20 05", 3, .what = "mov cr: mod ignored, no disp" },
	{ L64, "0f 21 f8", 3, .what = "mov rax,dr7" },
	{ L64, "0f 23 c0", 3, .what = "mov dr0,rax" },
	{ P32, "f0 0f 20 c0", 4, .what = "lock mov eax,cr0 (AMD: cr8)" },
	{ P32, "0f 22 c0", 3, .what = "mov cr0,eax (32)" },
	{ L64, "e4 60", 2, .what = "in al,imm8" },
	{ L64, "e5 60", 2, .what = "in eax,imm8" },
	{ L64, "e6 80", 2, .what = "out imm8,al" },
	{ L64, "66 e7 80", 3, .what = "out imm8,ax" },
	{ L64, "ec", 1, .what = "in al,dx" },
	{ L64, "ed", 1, .what = "in eax,dx" },
	{ L64, "ee", 1, .what = "out dx,al" },
	{ R16, "66 ef", 2, .what = "out dx,eax (16)" },
	{ L64, "6c", 1, .what = "insb" },
	{ L64, "f3 6d", 2, .what = "rep insd" },
	{ L64, "6e", 1, .what = "outsb" },
	{ L64, "f3 66 6f", 3, .what = "rep outsw" },
	{ L64, "f3 67 6f", 3, .op_bytes = 4, .ad_bytes = 4, .what = "rep outsd (67)" },
	{ L64, "cc", 1, .what = "int3" },
	{ L64, "cd 80", 2, .what = "int imm8" },
	{ L64, "f1", 1, .what = "int1" },
	{ P32, "ce", 1, .what = "into (32)" },
	{ L64, "ce", 0, FAULT, KVMF_VEC_UD, .what = "into in 64-bit" },
	{ L64, "0f 05", 2, .what = "syscall" },
	{ P32, "0f 34", 2, .what = "sysenter" },
	{ L64, "0f 01 d8", 3, .what = "vmrun" },
	{ L64, "0f 01 df", 3, .what = "invlpga" },
	{ L64, "0f 01 3b", 3, .what = "invlpg [rbx]" },
	{ L64, "0f 01 f8", 3, .what = "swapgs" },
	{ L64, "0f 00 d8", 3, .what = "ltr ax" },
	/* ModRM, SIB and displacement forms */
	{ L64, "8b 04 24", 3, .op_bytes = 4, .ad_bytes = 8, .what = "[rsp]" },
	{ L64, "8b 44 24 08", 4, .what = "[rsp+disp8]" },
	{ L64, "8b 84 24 00 01 00 00", 7, .what = "[rsp+disp32]" },
	{ L64, "8b 05 00 00 00 00", 6, .what = "[rip+disp32]" },
	{ L64, "8b 04 25 00 00 00 00", 7, .what = "[disp32] via SIB" },
	{ L64, "8b 45 00", 3, .what = "[rbp+disp8]" },
	{ L64, "41 8b 45 00", 4, .what = "[r13+disp8]" },
	{ L64, "41 8b 04 25 00 00 00 00", 8, .what = "SIB base 5, mod 0, REX.B" },
	{ L64, "8b 4c 24 f8", 4, .what = "[rsp-8]" },
	{ L64, "8b 8c 88 00 00 00 10", 7, .what = "[rax+rcx*4+disp32]" },
	{ L64, "8b c1", 2, .what = "register form" },
	{ R16, "8b 07", 2, .op_bytes = 2, .ad_bytes = 2, .what = "[bx]" },
	{ R16, "8b 06 34 12", 4, .what = "[disp16]" },
	{ R16, "8b 46 08", 3, .what = "[bp+disp8]" },
	{ R16, "8b 80 00 10", 4, .what = "[bx+si+disp16]" },
	{ R16, "67 8b 04 24", 4, .ad_bytes = 4, .what = "32-bit addressing in 16-bit" },
	{ R16, "67 8b 05 00 00 00 00", 7, .what = "[disp32] in 16-bit (67)" },
	{ P32, "67 8b 07", 3, .ad_bytes = 2, .what = "16-bit addressing in 32-bit" },
	{ P32, "67 8b 06 34 12", 5, .what = "[disp16] in 32-bit (67)" },
	{ P32, "8b 05 00 00 00 00", 6, .what = "[disp32] in 32-bit" },
	{ P16, "66 8b 07", 3, .op_bytes = 4, .ad_bytes = 2, .what = "66 in 16-bit" },
	{ C32, "8b 05 00 00 00 00", 6, .op_bytes = 4, .ad_bytes = 4, .what = "compat32" },
	/* Immediates */
	{ L64, "48 b8 00 00 00 00 00 00 00 00", 10, .op_bytes = 8, .what = "mov rax,imm64" },
	{ L64, "b8 00 00 00 00", 5, .what = "mov eax,imm32" },
	{ L64, "66 b8 00 00", 4, .op_bytes = 2, .what = "mov ax,imm16" },
	{ L64, "66 48 b8 00 00 00 00 00 00 00 00", 11, .op_bytes = 8, .what = "REX.W beats 66" },
	{ L64, "48 66 b8 00 00", 5, .op_bytes = 2, .what = "REX before 66 is ignored" },
	{ L64, "c8 10 00 01", 4, .what = "enter" },
	{ L64, "c2 08 00", 3, .what = "ret imm16" },
	{ P32, "ea 00 00 00 00 08 00", 7, .what = "jmp far ptr16:32" },
	{ R16, "ea 00 00 00 f0", 5, .what = "jmp far ptr16:16" },
	{ L64, "ea 00 00 00 00 08 00", 0, FAULT, KVMF_VEC_UD, .what = "jmp far in 64-bit" },
	{ P32, "9a 00 00 00 00 08 00", 7, .what = "call far" },
	{ L64, "e8 00 00 00 00", 5, .op_bytes = 8, .what = "call rel32" },
	{ L64, "66 e8 00 00", 4, .op_bytes = 2, .what = "call rel16 (66, AMD)" },
	{ L64, "0f 84 00 00 00 00", 6, .what = "je rel32" },
	{ R16, "0f 84 00 00", 4, .what = "je rel16 (16-bit)" },
	{ R16, "66 0f 84 00 00 00 00", 7, .what = "je rel32 (16-bit, 66)" },
	{ L64, "eb fe", 2, .what = "jmp rel8" },
	{ L64, "e3 fe", 2, .what = "jrcxz" },
	{ L64, "a1 00 00 00 00 00 00 00 00", 9, .ad_bytes = 8, .what = "mov eax,[moffs64]" },
	{ L64, "67 a1 00 00 00 00", 6, .ad_bytes = 4, .what = "mov eax,[moffs32]" },
	{ P32, "a1 00 00 00 00", 5, .what = "moffs32 (32)" },
	{ R16, "a1 00 00", 3, .what = "moffs16" },
	{ R16, "67 a1 00 00 00 00", 6, .what = "moffs32 (16, 67)" },
	{ L64, "c6 05 00 00 00 00 01", 7, .what = "mov byte [rip],imm8" },
	{ L64, "c7 05 00 00 00 00 01 00 00 00", 10, .what = "mov dword [rip],imm32" },
	{ L64, "48 c7 05 00 00 00 00 01 00 00 00", 11, .what = "mov qword [rip],imm32" },
	{ L64, "66 c7 05 00 00 00 00 01 00", 9, .what = "mov word [rip],imm16" },
	{ L64, "f6 05 00 00 00 00 01", 7, .what = "test byte [rip],imm8" },
	{ L64, "f7 05 00 00 00 00 01 00 00 00", 10, .what = "test dword [rip],imm32" },
	{ L64, "f7 15 00 00 00 00", 6, .what = "not dword [rip]: no imm" },
	{ L64, "f6 0b 01", 3, .what = "f6 /1 (test alias)" },
	{ L64, "80 3b 01", 3, .what = "cmp byte,imm8" },
	{ L64, "81 3b 00 00 00 00", 6, .what = "cmp dword,imm32" },
	{ L64, "83 3b 01", 3, .what = "cmp dword,imm8" },
	{ L64, "69 c0 00 00 00 00", 6, .what = "imul r,rm,imm32" },
	{ L64, "6b c0 01", 3, .what = "imul r,rm,imm8" },
	{ L64, "68 00 00 00 00", 5, .op_bytes = 8, .what = "push imm32" },
	{ L64, "c1 e0 04", 3, .what = "shl eax,imm8" },
	{ L64, "0f ba e0 03", 4, .what = "bt eax,imm8" },
	{ L64, "0f a4 c0 03", 4, .what = "shld imm8" },
	{ L64, "0f 0f c1 b4", 4, .what = "3DNow! suffix" },
	{ L64, "0f 38 00 c1", 4, .what = "pshufb (0f 38)" },
	{ L64, "66 0f 3a 0f c1 08", 6, .what = "palignr (0f 3a)" },
	{ L64, "66 0f 73 d0 08", 5, .what = "psrlq imm8" },
	{ L64, "0f c2 c1 00", 4, .what = "cmpps imm8" },
	/* Other maps and oddities */
	{ L64, "0f 1f 44 00 00", 5, .what = "nopl" },
	{ L64, "66 0f 1f 84 00 00 00 00 00", 9, .what = "nopw" },
	{ L64, "f3 0f b8 c0", 4, .what = "popcnt" },
	{ L64, "0f ae 38", 3, .what = "clflush" },
	{ L64, "0f c7 0e", 3, .what = "cmpxchg8b" },
	{ L64, "f0 48 0f c7 0e", 5, .what = "lock cmpxchg16b" },
	{ L64, "f0 0f ab 03", 4, .what = "lock bts" },
	{ L64, "f0 0f c1 03", 4, .what = "lock xadd" },
	{ L64, "d9 ee", 2, .what = "fldz" },
	{ L64, "dd 05 00 00 00 00", 6, .what = "fld qword [rip]" },
	{ L64, "9b", 1, .what = "fwait" },
	{ L64, "8f c0", 2, .what = "pop rax (8f /0)" },
	{ L64, "0f 01 c1", 3, .what = "vmcall" },
	{ P32, "48", 1, .what = "dec eax (not REX) in 32-bit" },
	{ P32, "c4 07", 2, .what = "les eax,[edi] (32)" },
	{ P32, "62 07", 2, .what = "bound (32)" },
	{ L64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 15,
	  .what = "15 bytes" },
	{ L64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 0, FAULT,
	  KVMF_VEC_GP, .what = "16 bytes: #GP" },
	{ L64, "66 66 66 66 66 66 66 66 66 66 48 8b 84 24 00 00 00 00", 0, FAULT,
	  KVMF_VEC_GP, .what = "ModRM form past 15 bytes: #GP" },
	{ L64, "c5 f8 77", 0, UNHAND, .what = "vex (64)" },
	{ L64, "c4 e2 79 00 c1", 0, UNHAND, .what = "vex3 (64)" },
	{ P32, "c5 f8 77", 0, UNHAND, .what = "vex (32, mod 3)" },
	{ L64, "62 f1 7c 48 10 c1", 0, UNHAND, .what = "evex (64)" },
	{ P32, "62 c0", 0, UNHAND, .what = "evex (32, mod 3)" },
	{ L64, "8f e8 78 c0 c1 00", 0, UNHAND, .what = "xop" },
	{ L64, "0f 78 c0", 0, UNHAND, .what = "0f 78: length unknown" },
	/* Invalid */
	{ L64, "d6", 0, FAULT, KVMF_VEC_UD, .what = "d6" },
	{ P32, "d6", 0, FAULT, KVMF_VEC_UD, .what = "d6 (32)" },
	{ L64, "0f 0b", 0, FAULT, KVMF_VEC_UD, .what = "ud2" },
	{ L64, "0f b9 00", 0, FAULT, KVMF_VEC_UD, .what = "ud1" },
	{ L64, "0f ff 00", 0, FAULT, KVMF_VEC_UD, .what = "ud0" },
	{ L64, "0f 04", 0, FAULT, KVMF_VEC_UD, .what = "0f 04" },
	{ L64, "0f 24 c0", 0, FAULT, KVMF_VEC_UD, .what = "mov tr" },
	{ L64, "06", 0, FAULT, KVMF_VEC_UD, .what = "push es (64)" },
	{ L64, "27", 0, FAULT, KVMF_VEC_UD, .what = "daa (64)" },
	{ L64, "60", 0, FAULT, KVMF_VEC_UD, .what = "pusha (64)" },
	{ L64, "82 03 01", 0, FAULT, KVMF_VEC_UD, .what = "82 (64)" },
	{ P32, "82 03 01", 3, .what = "82 (32)" },
	{ L64, "d4 0a", 0, FAULT, KVMF_VEC_UD, .what = "aam (64)" },
	{ P32, "d5 0a", 2, .what = "aad (32)" },
	{ L64, "8d c0", 0, FAULT, KVMF_VEC_UD, .what = "lea with register" },
	{ L64, "0f b2 c0", 0, FAULT, KVMF_VEC_UD, .what = "lss with register" },
	{ L64, "fe 10", 0, FAULT, KVMF_VEC_UD, .what = "fe /2" },
	{ L64, "ff 38", 0, FAULT, KVMF_VEC_UD, .what = "ff /7" },
	{ L64, "ff d8", 0, FAULT, KVMF_VEC_UD, .what = "callf with register" },
	{ L64, "c6 08 00", 0, FAULT, KVMF_VEC_UD, .what = "c6 /1" },
	{ L64, "c6 f8 00", 3, .what = "xabort" },
	{ L64, "c7 f8 00 00 00 00", 6, .what = "xbegin" },
	/* LOCK */
	{ L64, "f0 01 03", 3, .what = "lock add [rbx],eax" },
	{ L64, "f0 83 03 01", 4, .what = "lock add dword [rbx],imm8" },
	{ L64, "f0 87 03", 3, .what = "lock xchg" },
	{ L64, "f0 f7 13", 3, .what = "lock not" },
	{ L64, "f0 f7 1b", 3, .what = "lock neg" },
	{ L64, "f0 fe 03", 3, .what = "lock inc byte" },
	{ L64, "2e f0 66 ff 0b", 5, .what = "prefixes around lock" },
	{ L64, "f0 01 c3", 0, FAULT, KVMF_VEC_UD, .what = "lock with register dest" },
	{ L64, "f0 03 03", 0, FAULT, KVMF_VEC_UD, .what = "lock add r,[m]" },
	{ L64, "f0 39 03", 0, FAULT, KVMF_VEC_UD, .what = "lock cmp" },
	{ L64, "f0 83 3b 01", 0, FAULT, KVMF_VEC_UD, .what = "lock cmp imm" },
	{ L64, "f0 85 03", 0, FAULT, KVMF_VEC_UD, .what = "lock test" },
	{ L64, "f0 8b 03", 0, FAULT, KVMF_VEC_UD, .what = "lock mov" },
	{ L64, "f0 0f b6 03", 0, FAULT, KVMF_VEC_UD, .what = "lock movzx" },
	{ L64, "f0 a5", 0, FAULT, KVMF_VEC_UD, .what = "lock movs" },
	{ L64, "f0 90", 0, FAULT, KVMF_VEC_UD, .what = "lock nop" },
	{ L64, "f0 0f a2", 0, FAULT, KVMF_VEC_UD, .what = "lock cpuid" },
	{ P32, "f0 40", 0, FAULT, KVMF_VEC_UD, .what = "lock inc eax (32)" },
	{ L64, "f0 0f 20 c0", 4, .what = "lock mov cr (64): decoded" },
	/* Prefix handling */
	{ L64, "40 48 89 03", 4, .op_bytes = 8, .what = "two REX: the last counts" },
	{ L64, "48 40 89 03", 4, .op_bytes = 4, .what = "two REX: REX.W lost" },
	{ L64, "66 2e 3e 26 64 65 36 89 03", 9, .op_bytes = 2, .what = "many segments" },
	{ L64, "f2 f3 a5", 3, .what = "rep and repne" },
};

static void run_len_case(const struct len_case *t)
{
	struct kvmf_emul_ctxt c;
	u8 code[KVMF_INSN_MAX + 4];
	int len, r;

	begin();
	fake_reset();
	ctxt_init(&c, t->mode);
	len = parse_hex(t->code, code, sizeof(code));
	put_code(&c, code, len);
	r = kvmf_insn_decode(&c);
	CHECK(r == t->res, "result %s, want %s", result_name(r),
	      result_name(t->res));
	if (r == KVMF_EMUL_FAULT)
		CHECK(c.fault.vector == t->vec, "vector %u, want %u",
		      c.fault.vector, t->vec);
	if (r == KVMF_EMUL_OK) {
		CHECK(c.insn.len == t->len, "length %u, want %u", c.insn.len,
		      t->len);
		if (t->op_bytes)
			CHECK(c.insn.op_bytes == t->op_bytes, "op_bytes %u, want %u",
			      c.insn.op_bytes, t->op_bytes);
		if (t->ad_bytes)
			CHECK(c.insn.ad_bytes == t->ad_bytes, "ad_bytes %u, want %u",
			      c.insn.ad_bytes, t->ad_bytes);
	} else {
		CHECK(c.insn.len == 0, "length %u after failure", c.insn.len);
	}
	CHECK(fake.nr_log == 0, "decode accessed data memory");
	end("decode %s (%s): %s", t->what, modes[t->mode].tag, t->code);
}

/* ------------------------------------------------------------------ */
/* ALU sweeps against the host CPU                                     */

enum {
	T_ADD, T_OR, T_ADC, T_SBB, T_AND, T_SUB, T_XOR, T_CMP,
	T_TEST, T_INC, T_DEC, T_NEG, T_NOT, NR_T
};

static const char *const t_names[NR_T] = {
	"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
	"test", "inc", "dec", "neg", "not",
};

/*
 * Run 'mnem' on the host, with CF preset by BT: 'flags' gets SF ZF AF PF
 * CF from LAHF and OF from SETO, at their RFLAGS positions.
 */
#define HOST2(mnem, M, T)						\
	do {								\
		T x = (T)a, y = (T)b;					\
		asm volatile("bt $0, %k[c]\n\t"				\
			     mnem " %" M "[y], %" M "[x]\n\t"		\
			     "lahf\n\t"					\
			     "seto %%al"				\
			     : [x] "+q"(x), "=&a"(ax)			\
			     : [y] "q"(y), [c] "r"(cin)			\
			     : "cc");					\
		res = x;						\
	} while (0)

#define HOST1(mnem, M, T)						\
	do {								\
		T x = (T)a;						\
		asm volatile("bt $0, %k[c]\n\t"				\
			     mnem " %" M "[x]\n\t"			\
			     "lahf\n\t"					\
			     "seto %%al"				\
			     : [x] "+q"(x), "=&a"(ax)			\
			     : [c] "r"(cin)				\
			     : "cc");					\
		res = x;						\
	} while (0)

#define HOST_SIZES(H, mnem)						\
	do {								\
		switch (size) {						\
		case 1: H(mnem, "b", u8); break;			\
		case 2: H(mnem, "w", u16); break;			\
		case 4: H(mnem, "k", u32); break;			\
		default: H(mnem, "q", u64); break;			\
		}							\
	} while (0)

static u64 host_alu(int op, unsigned int size, u64 a, u64 b, bool cf,
		    u64 *flags)
{
	u32 cin = cf;
	u64 ax = 0, res = 0;

	switch (op) {
	case T_ADD: HOST_SIZES(HOST2, "add"); break;
	case T_OR: HOST_SIZES(HOST2, "or"); break;
	case T_ADC: HOST_SIZES(HOST2, "adc"); break;
	case T_SBB: HOST_SIZES(HOST2, "sbb"); break;
	case T_AND: HOST_SIZES(HOST2, "and"); break;
	case T_SUB: HOST_SIZES(HOST2, "sub"); break;
	case T_XOR: HOST_SIZES(HOST2, "xor"); break;
	case T_CMP: HOST_SIZES(HOST2, "cmp"); break;
	case T_TEST: HOST_SIZES(HOST2, "test"); break;
	case T_INC: HOST_SIZES(HOST1, "inc"); break;
	case T_DEC: HOST_SIZES(HOST1, "dec"); break;
	case T_NEG: HOST_SIZES(HOST1, "neg"); break;
	default: HOST_SIZES(HOST1, "not"); break;
	}
	*flags = ((ax >> 8) & (CF | PF | AF | ZF | SF)) | ((ax & 1) ? OF : 0);
	return res;
}

/* Which RFLAGS bits the instruction defines. */
static u64 defined_flags(int op)
{
	switch (op) {
	case T_OR:
	case T_AND:
	case T_XOR:
	case T_TEST:
		return ARITH & ~AF;		/* AF is undefined */
	case T_INC:
	case T_DEC:
		return ARITH;			/* CF is kept: compare it too */
	case T_NOT:
		return 0;
	}
	return ARITH;
}

static u64 mask_of(unsigned int size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

enum { FORM_MR, FORM_RM, FORM_MI, FORM_MI8, NR_FORMS };

/*
 * Encode 'op' of 'size' in 'form' at buf; *b is adjusted to what the
 * instruction really uses (an immediate may be shorter).  The memory
 * operand is [rbx], the register CL/CX/ECX/RCX.  Returns 0 if the form
 * does not exist for op and size.
 */
static int encode_alu(u8 *buf, int op, unsigned int size, int form, bool lock,
		      u64 *b)
{
	bool binary = op <= T_TEST, arith = op < T_TEST;
	int n = 0, imm = 0, i;
	u8 w = size == 1 ? 0 : 1;

	if (!binary && form != FORM_MR)
		return 0;
	if (op == T_TEST && form != FORM_MR && form != FORM_MI)
		return 0;
	if (form == FORM_MI8 && size == 1)
		return 0;
	if (form == FORM_RM || op == T_CMP || op == T_TEST)
		lock = false;
	if (lock)
		buf[n++] = 0xf0;
	if (size == 2)
		buf[n++] = 0x66;
	if (size == 8)
		buf[n++] = 0x48;

	if (arith && form == FORM_MR) {
		buf[n++] = (u8)(op << 3 | w);
		buf[n++] = 0x0b;
	} else if (arith && form == FORM_RM) {
		buf[n++] = (u8)(op << 3 | 2 | w);
		buf[n++] = 0x0b;
	} else if (arith) {
		buf[n++] = form == FORM_MI8 ? 0x83 : 0x80 | w;
		buf[n++] = (u8)(op << 3 | 3);
		imm = form == FORM_MI8 ? 1 : size > 4 ? 4 : (int)size;
	} else if (op == T_TEST) {
		buf[n++] = form == FORM_MR ? 0x84 | w : 0xf6 | w;
		buf[n++] = form == FORM_MR ? 0x0b : 0x03;
		imm = form == FORM_MR ? 0 : size > 4 ? 4 : (int)size;
	} else {
		static const u8 ext[NR_T] = {
			[T_INC] = 0, [T_DEC] = 1, [T_NOT] = 2, [T_NEG] = 3,
		};

		buf[n++] = op <= T_DEC ? 0xfe | w : 0xf6 | w;
		buf[n++] = (u8)(ext[op] << 3 | 3);
	}
	if (imm) {
		u64 sign = 1ull << (imm * 8 - 1);
		u64 v = *b & mask_of((unsigned int)imm);

		*b = ((v ^ sign) - sign) & mask_of(size);
		for (i = 0; i < imm; i++)
			buf[n++] = (u8)(v >> (8 * i));
	}
	return n;
}

static const u64 interesting[] = {
	0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
	0x8000000000000000, 0xffffffffffffffff, 0x0f, 0x10, 0x5555555555555555,
	0xaaaaaaaaaaaaaaaa, 0x123456789abcdef0,
};

static u64 rng_state = 0x9e3779b97f4a7c15ull;

static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One (op, size): every form, interesting and random operands, CF 0/1. */
static void run_alu_sweep(int op, unsigned int size)
{
	const unsigned int ni = ARRAY_SIZE(interesting);
	const u64 addr = 0x7fff1000;
	unsigned int k, fails = 0, runs = 0;
	u64 m = mask_of(size);

	begin();
	for (k = 0; k < (ni * ni + 400) * 2; k++) {
		unsigned int pair = k / 2;
		bool cf = k & 1;
		u64 a = pair < ni * ni ? interesting[pair / ni] : rng();
		u64 b0 = pair < ni * ni ? interesting[pair % ni] : rng();
		int form;

		for (form = 0; form < NR_FORMS; form++) {
			struct kvmf_emul_ctxt c;
			u64 b = b0 & m, hf, hres, junk, got, fl_in, defined;
			u8 code[16];
			int len, r;
			bool into_reg = form == FORM_RM;

			a &= m;
			len = encode_alu(code, op, size, form, k & 2, &b);
			if (!len)
				continue;
			runs++;
			hres = host_alu(op, size, a, b, cf, &hf);

			fake_reset();
			ctxt_init(&c, L64);
			put_code(&c, code, len);
			junk = rng();
			fl_in = 0x2 | (junk & (ARITH & ~CF)) | (cf ? CF : 0);
			c.rflags = fl_in;
			c.regs[KVMF_RBX] = addr;
			/* RM form: a in the register, b in memory. */
			c.regs[KVMF_RCX] = (junk & ~m) | (into_reg ? a : b);
			fake_store(addr, into_reg ? b : a, size);

			r = kvmf_insn_decode(&c);
			if (!r)
				r = kvmf_insn_emulate(&c);
			if (r) {
				if (fails++ < 3)
					diag("%s: result %s", t_names[op],
					     result_name(r));
				continue;
			}
			if (into_reg) {
				u64 rcx = c.regs[KVMF_RCX];

				got = rcx & m;
				if (op != T_CMP && size < 4 &&
				    (rcx & ~m) != (junk & ~m) && fails++ < 3)
					diag("upper register bits changed");
				if (op != T_CMP && size == 4 && rcx >> 32 &&
				    fails++ < 3)
					diag("32-bit result not zero-extended");
			} else {
				got = fake_load(addr, size);
			}
			if (op == T_CMP || op == T_TEST)
				hres = a;	/* the destination stays */
			defined = defined_flags(op);
			if (got != (hres & m) ||
			    (c.rflags & defined) != (hf & defined) ||
			    (c.rflags & ~defined & ~AF) != (fl_in & ~defined & ~AF)) {
				if (fails++ < 3)
					diag("%s%u form %d a=%#" PRIx64 " b=%#" PRIx64
					     " cf=%d: got %#" PRIx64 " fl %#" PRIx64
					     ", host %#" PRIx64 " fl %#" PRIx64,
					     t_names[op], size * 8, form, a, b,
					     cf, got, c.rflags, hres & m, hf);
			}
		}
	}
	if (fails > 3)
		diag("... %u failures of %u runs", fails, runs);
	end("alu %s%u: %u runs against the host CPU", t_names[op], size * 8,
	    runs);
}

/* ------------------------------------------------------------------ */
/* Scenarios that do not fit a table row                               */

/* The two-pass protocol step by step: add [rbx],eax on MMIO. */
static void test_mmio_steps(void)
{
	struct kvmf_emul_ctxt c;
	u64 data = 0x10;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\x01\x03", 2);
	c.regs[KVMF_RBX] = 0xfee00000;
	c.regs[KVMF_RAX] = 0x5;
	fake.mmio = true;

	r = kvmf_insn_decode(&c);
	CHECK(r == KVMF_EMUL_OK, "decode %s", result_name(r));
	r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_MMIO_EXIT && !fake.pend.write &&
	      fake.pend.gva == 0xfee00000 && fake.pend.len == 4,
	      "first pass: %s, want a 4-byte read exit", result_name(r));
	CHECK(c.rip == 0x401000, "rip moved on the read exit");
	fake.pend.active = false;
	kvmf_emul_mmio_complete(&c, &data, 4);

	r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_MMIO_EXIT && fake.pend.write &&
	      fake.pend.gva == 0xfee00000 && fake.pend.data[0] == 0x15,
	      "second pass: %s, want a write exit of 0x15", result_name(r));
	CHECK(c.rip == 0x401000 && c.rflags == 0x2, "state moved on write exit");
	fake.pend.active = false;
	kvmf_emul_mmio_complete(&c, NULL, 0);

	r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_OK, "third pass: %s", result_name(r));
	CHECK(!fake.pend.active, "third pass went to the ops again");
	CHECK(c.rip == 0x401002, "rip %#" PRIx64, c.rip);
	CHECK(c.rflags == 0x2, "rflags %#" PRIx64, c.rflags);	/* 0x15 */
	end("mmio: read exit, write exit, completion");
}

/* Changing the context between passes is caught, not replayed wrongly. */
static void test_mmio_mismatch(void)
{
	struct kvmf_emul_ctxt c;
	u64 data = 1;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\x01\x03", 2);
	c.regs[KVMF_RBX] = 0xfee00000;
	fake.mmio = true;
	kvmf_insn_decode(&c);
	r = kvmf_insn_emulate(&c);
	kvmf_emul_mmio_complete(&c, &data, 4);
	c.insn.gva += 4;	/* as if the caller re-decoded elsewhere */
	r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_UNHANDLED, "result %s", result_name(r));
	end("mmio: replay that does not match is refused");
}

/* A read that faults, after nothing was written, changes nothing. */
static void test_read_fault(void)
{
	struct kvmf_emul_ctxt c;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	fake.np_page[fake.nr_np++] = 0x5000;
	put_code(&c, (const u8 *)"\x48\x01\x03", 3);
	c.regs[KVMF_RBX] = 0x5ff8;
	r = kvmf_insn_decode(&c);
	if (!r)
		r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_FAULT && c.fault.vector == KVMF_VEC_PF &&
	      c.fault.error_code_valid && c.fault.address == 0x5ff8,
	      "result %s vector %u address %#" PRIx64, result_name(r),
	      c.fault.vector, c.fault.address);
	CHECK(c.rip == 0x401000 && fake.nr_log == 0, "state or memory moved");
	end("read #PF is reported with its address");
}

/* Instruction bytes: faults, page ends, the 16-bit IP wrap. */
static void test_fetch_fault(void)
{
	struct kvmf_emul_ctxt c;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	c.rip = 0x401ffe;
	fake.np_page[fake.nr_np++] = 0x402000;
	put_code(&c, (const u8 *)"\x48\x8b", 2);	/* rest on next page */
	r = kvmf_insn_decode(&c);
	CHECK(r == KVMF_EMUL_FAULT && c.fault.vector == KVMF_VEC_PF &&
	      c.fault.address == 0x402000 && (c.fault.error_code & PF_FETCH),
	      "result %s vector %u address %#" PRIx64, result_name(r),
	      c.fault.vector, c.fault.address);
	CHECK(c.insn.nr_bytes == 2, "%u bytes kept for reporting",
	      c.insn.nr_bytes);
	end("fetch #PF on the second page of an instruction");

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	c.rip = 0x401ffd;
	fake.np_page[fake.nr_np++] = 0x402000;
	put_code(&c, (const u8 *)"\x0f\x01\xd9", 3);	/* ends at the page end */
	r = kvmf_insn_decode(&c);
	CHECK(r == KVMF_EMUL_OK && c.insn.len == 3, "result %s len %u",
	      result_name(r), c.insn.len);
	end("fetch stops at the page end when the instruction does");

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	fake.np_page[fake.nr_np++] = 0x401000;
	r = kvmf_insn_decode(&c);
	CHECK(r == KVMF_EMUL_FAULT && c.fault.address == 0x401000 &&
	      c.insn.nr_bytes == 0, "result %s", result_name(r));
	end("fetch #PF on the first byte");

	begin();
	fake_reset();
	ctxt_init(&c, R16);
	c.seg_base[KVMF_SEG_CS] = 0x10100;	/* so no page ends at the wrap */
	c.rip = 0xfffe;
	*fake_byte(0x200fe) = 0x8b;		/* mov ax,[disp16] ... */
	*fake_byte(0x200ff) = 0x06;
	*fake_byte(0x10100) = 0x34;		/* ... IP wraps to 0 */
	*fake_byte(0x10101) = 0x12;
	*fake_byte(0x20100) = 0xff;		/* not this */
	r = kvmf_insn_decode(&c);
	CHECK(r == KVMF_EMUL_OK && c.insn.len == 4 && c.insn.ea == 0x1234,
	      "result %s len %u ea %#" PRIx64, result_name(r), c.insn.len,
	      c.insn.ea);
	if (!r)
		r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_OK && c.rip == 0x2, "rip %#" PRIx64 " (want 2)",
	      c.rip);
	end("real mode: fetch and IP wrap at 64K");
}

/* Long REP: a batch per call, RIP stays until RCX runs out. */
static void test_rep_batches(void)
{
	struct kvmf_emul_ctxt c;
	int r, calls = 0;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\xf3\xaa", 2);
	c.regs[KVMF_RDI] = 0x8000;
	c.regs[KVMF_RCX] = 100;
	c.regs[KVMF_RAX] = 0x3c;
	r = kvmf_insn_decode(&c);
	while (!r && c.rip == 0x401000 && calls < 10) {
		r = kvmf_insn_emulate(&c);
		calls++;
		if (calls == 1)
			CHECK(c.regs[KVMF_RCX] > 0 && c.regs[KVMF_RCX] < 100,
			      "first call: rcx %" PRIu64, c.regs[KVMF_RCX]);
	}
	CHECK(r == KVMF_EMUL_OK && calls > 1 && c.rip == 0x401002,
	      "result %s after %d calls, rip %#" PRIx64, result_name(r), calls,
	      c.rip);
	CHECK(c.regs[KVMF_RCX] == 0 && c.regs[KVMF_RDI] == 0x8064 &&
	      fake.nr_log == 100 && fake_load(0x8063, 1) == 0x3c,
	      "rcx %" PRIu64 " rdi %#" PRIx64 " %d writes", c.regs[KVMF_RCX],
	      c.regs[KVMF_RDI], fake.nr_log);
	end("rep stosb of 100: batches, then rip moves");
}

/* A REP through MMIO exits keeps the iterations it completed. */
static void test_rep_mmio_fault(void)
{
	struct kvmf_emul_ctxt c;
	bool moved = false;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\xf3\x66\xab", 3);
	fake.np_page[fake.nr_np++] = 0x9000;
	c.regs[KVMF_RDI] = 0x8ffc;
	c.regs[KVMF_RCX] = 4;
	r = run(&c, true, &moved);
	CHECK(r == KVMF_EMUL_FAULT && c.fault.address == 0x9000,
	      "result %s", result_name(r));
	CHECK(c.regs[KVMF_RCX] == 2 && c.regs[KVMF_RDI] == 0x9000 &&
	      c.rip == 0x401000 && fake.nr_log == 2,
	      "rcx %" PRIu64 " rdi %#" PRIx64 " %d writes", c.regs[KVMF_RCX],
	      c.regs[KVMF_RDI], fake.nr_log);
	end("rep stosw through MMIO: #PF keeps finished iterations");
}

/*
 * REP MOVSD from RAM to MMIO: each iteration reads RAM (done at once) and
 * writes MMIO (an exit); the pass after the exit must replay the RAM read,
 * with its data, and not read again.
 */
static void test_mmio_mixed(void)
{
	static const struct access want[] = {
		R(0x5000, 4, 0x11111111), W(0xfee00000, 4, 0x11111111),
		R(0x5004, 4, 0x22222222), W(0xfee00004, 4, 0x22222222),
		R(0x5008, 4, 0x33333333), W(0xfee00008, 4, 0x33333333),
	};
	struct kvmf_emul_ctxt c;
	bool moved = false;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\xf3\xa5", 2);
	fake_store(0x5000, 0x2222222211111111, 8);
	fake_store(0x5008, 0x33333333, 4);
	c.regs[KVMF_RSI] = 0x5000;
	c.regs[KVMF_RDI] = 0xfee00000;
	c.regs[KVMF_RCX] = 3;
	r = kvmf_insn_decode(&c);
	fake.mmio_lo = 0xfee00000;
	fake.mmio_hi = 0xfee01000;
	if (!r)
		r = emulate_via_mmio(&c, &moved);
	CHECK(r == KVMF_EMUL_OK && c.rip == 0x401002 && c.regs[KVMF_RCX] == 0,
	      "result %s", result_name(r));
	check_accesses(want, ARRAY_SIZE(want));
	end("mmio: rep movsd RAM to MMIO replays its RAM reads");
}

static void test_misc(void)
{
	struct kvmf_emul_ctxt c;
	int r;

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	r = kvmf_insn_emulate(&c);
	CHECK(r == KVMF_EMUL_UNHANDLED, "result %s", result_name(r));
	end("emulate without decode is refused");

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\x0f\x01\xd9", 3);
	kvmf_insn_decode(&c);
	CHECK(c.insn.map == 2 && c.insn.opcode == 0x01 && c.insn.has_modrm &&
	      c.insn.modrm == 0xd9 && !c.insn.mem, "map %u opcode %#x modrm %#x",
	      c.insn.map, c.insn.opcode, c.insn.modrm);
	end("decoded fields of vmmcall");

	begin();
	fake_reset();
	ctxt_init(&c, L64);
	put_code(&c, (const u8 *)"\x65\x48\x8b\x84\x8b\x00\x01\x00\x00", 9);
	c.seg_base[KVMF_SEG_GS] = 0x100000;
	c.regs[KVMF_RBX] = 0x10;
	c.regs[KVMF_RCX] = 2;
	kvmf_insn_decode(&c);
	CHECK(c.insn.len == 9 && c.insn.has_sib && c.insn.sib == 0x8b &&
	      c.insn.disp == 0x100 && c.insn.disp_bytes == 4 &&
	      c.insn.seg == KVMF_SEG_GS && c.insn.ea == 0x118 &&
	      c.insn.gva == 0x100118 && c.insn.rex == 0x48 && c.insn.mem,
	      "len %u ea %#" PRIx64 " gva %#" PRIx64, c.insn.len, c.insn.ea,
	      c.insn.gva);
	end("decoded fields of mov rax,gs:[rbx+rcx*4+0x100]");
}

static void (*const scenarios[])(void) = {
	test_mmio_steps, test_mmio_mismatch, test_read_fault,
	test_fetch_fault, test_rep_batches, test_rep_mmio_fault,
	test_mmio_mixed, test_misc,
};
/* Test points the scenario functions above report, in total. */
#define NR_SCENARIO_POINTS	13

static const unsigned int alu_sizes[] = { 1, 2, 4, 8 };

int main(void)
{
	size_t plan = ARRAY_SIZE(emu_cases) * 2 + ARRAY_SIZE(len_cases) +
		      NR_T * ARRAY_SIZE(alu_sizes) + NR_SCENARIO_POINTS;
	unsigned int i, s;
	int op;

	printf("KTAP version 1\n");
	printf("1..%zu\n", plan);

	for (i = 0; i < ARRAY_SIZE(len_cases); i++)
		run_len_case(&len_cases[i]);
	for (i = 0; i < ARRAY_SIZE(emu_cases); i++) {
		run_emu_case(&emu_cases[i], false);
		run_emu_case(&emu_cases[i], true);
	}
	for (op = 0; op < NR_T; op++)
		for (s = 0; s < ARRAY_SIZE(alu_sizes); s++)
			run_alu_sweep(op, alu_sizes[s]);
	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		scenarios[i]();

	if ((size_t)test_nr != plan) {
		printf("# ran %d tests, planned %zu\n", test_nr, plan);
		nr_failed++;
	}
	printf("%d passed, %d failed\n", nr_passed, nr_failed);
	return nr_failed ? 1 : 0;
}
