// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzer for arch/x86/kvm/emulate.c.
 *
 * The input gives the CPU mode, the registers, the instruction bytes and
 * a pool of bytes that guest memory is made of.  The ops are functions of
 * the address alone (content, which pages fault, which pages are MMIO), so
 * one input can be run twice and compared: run A answers every access at
 * once, run B sends accesses out as MMIO exits and completes them as the
 * kernel would after userspace.  Both must end in the same state, with the
 * same memory accesses; on top, each run checks the emulator's own
 * promises (lengths, access sizes, no state change on failure or before
 * an MMIO completion).  Any broken promise aborts.
 *
 * Built with -fsanitize=fuzzer, this is a libFuzzer target.  Otherwise
 * main() runs N pseudo-random inputs from a fixed seed:
 *
 *	emulate_fuzz [-n N] [-s SEED] [file...]
 */
#include <stdio.h>
#include <stdlib.h>

#include "emulate.h"

/* ------------------------------------------------------------------ */
/* The input                                                           */

struct fuzz_in {
	u8 mode;		/* index into fuzz_modes */
	bool cs_d, la57;
	u8 exit_rate;		/* run B: 0 all accesses exit, else 1/8ths */
	u8 fault_rate;		/* 1/64ths of pages that are not present */
	u64 rflags;
	u64 regs[KVMF_NR_GPRS];
	u64 rip;
	u64 seg_base[KVMF_NR_SEGS];
	u8 code[KVMF_INSN_MAX];
	const u8 *pool;		/* what memory is made of */
	size_t pool_len;
};

static const enum kvmf_emul_mode fuzz_modes[] = {
	KVMF_MODE_LONG, KVMF_MODE_LONG, KVMF_MODE_LONG, KVMF_MODE_PROT,
	KVMF_MODE_COMPAT, KVMF_MODE_REAL, KVMF_MODE_VM86, KVMF_MODE_PROT,
};

static const u8 zero_pool[1];

/* Consume up to n bytes, little-endian; missing bytes read as zero. */
static u64 take(const u8 **p, size_t *left, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n && *left; i++, (*p)++, (*left)--)
		v |= (u64)**p << (8 * i);
	return v;
}

static void parse_input(struct fuzz_in *in, const u8 *p, size_t left)
{
	u64 h = take(&p, &left, 4);
	unsigned int i;

	memset(in, 0, sizeof(*in));
	in->mode = h & 7;
	in->cs_d = h & 8;
	in->la57 = h & 0x10;
	in->exit_rate = (h >> 5) & 7;
	in->fault_rate = (h >> 8) & 7;
	in->rflags = 0x2 | ((h >> 16) & (KVMF_EFL_ARITH | KVMF_EFL_DF));
	for (i = 0; i < KVMF_NR_GPRS; i++)
		in->regs[i] = take(&p, &left, 8);
	in->rip = take(&p, &left, 8);
	for (i = 0; i < KVMF_NR_SEGS; i++)
		in->seg_base[i] = take(&p, &left, 8);
	for (i = 0; i < KVMF_INSN_MAX; i++)
		in->code[i] = (u8)take(&p, &left, 1);
	in->pool = left ? p : zero_pool;
	in->pool_len = left ? left : 1;
}

/* ------------------------------------------------------------------ */
/* Guest memory: pool bytes, overlaid with what the guest wrote         */

#define WR_SLOTS	8192	/* power of two */
#define MAX_LOG		1024

struct wr_slot {
	u32 gen;
	u64 addr;
	u8 val;
};

struct access {
	bool write;
	u8 len;
	u64 gva;
	u64 val;
};

struct fuzz_mem {
	const struct fuzz_in *in;
	struct wr_slot slot[WR_SLOTS];
	u32 gen;
	int nr_writes;
	bool exit_all;		/* run B */
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

static struct fuzz_mem mem_a, mem_b;

static u64 mix(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static struct wr_slot *mem_slot(struct fuzz_mem *m, u64 addr, bool add)
{
	u64 i = mix(addr) & (WR_SLOTS - 1);
	unsigned int n;

	for (n = 0; n < WR_SLOTS; n++, i = (i + 1) & (WR_SLOTS - 1)) {
		struct wr_slot *s = &m->slot[i];

		if (s->gen == m->gen && s->addr == addr)
			return s;
		if (s->gen != m->gen) {
			if (!add || m->nr_writes > WR_SLOTS / 2)
				return NULL;
			m->nr_writes++;
			s->gen = m->gen;
			s->addr = addr;
			return s;
		}
	}
	return NULL;
}

static u8 mem_get(struct fuzz_mem *m, u64 addr)
{
	struct wr_slot *s = mem_slot(m, addr, false);

	if (s)
		return s->val;
	return m->in->pool[addr % m->in->pool_len] ^ (u8)(addr >> 12);
}

static void mem_set(struct fuzz_mem *m, u64 addr, u8 val)
{
	struct wr_slot *s = mem_slot(m, addr, true);

	if (s)
		s->val = val;
}

static void mem_reset(struct fuzz_mem *m, const struct fuzz_in *in,
		      bool exit_all)
{
	if (++m->gen == 0) {
		memset(m->slot, 0, sizeof(m->slot));
		m->gen = 1;
	}
	m->in = in;
	m->nr_writes = 0;
	m->exit_all = exit_all;
	m->nr_log = 0;
	m->pend.active = false;
}

static bool page_faults(const struct fuzz_in *in, u64 addr)
{
	return (mix((addr >> 12) ^ 0x5bd1e995) >> 58) < (u64)in->fault_rate * 4;
}

static bool page_exits(const struct fuzz_mem *m, u64 addr)
{
	if (!m->exit_all)
		return false;
	if (!m->in->exit_rate)
		return true;
	return (mix(addr >> 12) >> 61) < m->in->exit_rate;
}

static void fail(const char *what)
{
	fprintf(stderr, "emulate_fuzz: %s\n", what);
	abort();
}

static void log_access(struct fuzz_mem *m, bool write, u64 gva,
		       unsigned int len, u64 val)
{
	if (m->nr_log < MAX_LOG)
		m->log[m->nr_log] = (struct access){ write, (u8)len, gva, val };
	m->nr_log++;
}

static int check_range(struct kvmf_emul_ctxt *ctxt, u64 gva, unsigned int len,
		       u32 ec)
{
	struct fuzz_mem *m = ctxt->opaque;
	unsigned int i;

	for (i = 0; i < len; i++)
		if (page_faults(m->in, gva + i))
			return kvmf_emul_raise(ctxt, KVMF_VEC_PF, ec, gva + i);
	return KVMF_EMUL_OK;
}

static int f_fetch(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		   unsigned int len)
{
	struct fuzz_mem *m = ctxt->opaque;
	unsigned int i;
	int r;

	if (len < 1 || len > KVMF_INSN_MAX)
		fail("fetch of a bad length");
	r = check_range(ctxt, gva, len, 0x10);
	if (r)
		return r;
	for (i = 0; i < len; i++)
		((u8 *)buf)[i] = mem_get(m, gva + i);
	return KVMF_EMUL_OK;
}

static bool good_len(unsigned int len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

static int f_read(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf,
		  unsigned int len)
{
	struct fuzz_mem *m = ctxt->opaque;
	unsigned int i;
	u64 val = 0;
	int r;

	if (!good_len(len))
		fail("read of a bad length");
	if (m->pend.active)
		fail("an access after an MMIO exit");
	r = check_range(ctxt, gva, len, 0);
	if (r)
		return r;
	if (page_exits(m, gva)) {
		m->pend.active = true;
		m->pend.write = false;
		m->pend.gva = gva;
		m->pend.len = (u8)len;
		return KVMF_EMUL_MMIO_EXIT;
	}
	for (i = 0; i < len; i++) {
		((u8 *)buf)[i] = mem_get(m, gva + i);
		val |= (u64)((u8 *)buf)[i] << (8 * i);
	}
	log_access(m, false, gva, len, val);
	return KVMF_EMUL_OK;
}

static int f_write(struct kvmf_emul_ctxt *ctxt, u64 gva, const void *buf,
		   unsigned int len)
{
	struct fuzz_mem *m = ctxt->opaque;
	unsigned int i;
	u64 val = 0;
	int r;

	if (!good_len(len))
		fail("write of a bad length");
	if (m->pend.active)
		fail("an access after an MMIO exit");
	r = check_range(ctxt, gva, len, 2);
	if (r)
		return r;
	for (i = 0; i < len; i++)
		val |= (u64)((const u8 *)buf)[i] << (8 * i);
	if (page_exits(m, gva)) {
		m->pend.active = true;
		m->pend.write = true;
		m->pend.gva = gva;
		m->pend.len = (u8)len;
		memcpy(m->pend.data, buf, len);
		return KVMF_EMUL_MMIO_EXIT;
	}
	for (i = 0; i < len; i++)
		mem_set(m, gva + i, ((const u8 *)buf)[i]);
	log_access(m, true, gva, len, val);
	return KVMF_EMUL_OK;
}

static const struct kvmf_emul_ops fuzz_ops = {
	.fetch = f_fetch,
	.read_mem = f_read,
	.write_mem = f_write,
};

/* ------------------------------------------------------------------ */
/* Running and checking                                                */

#define MAX_CALLS	16	/* kvmf_insn_emulate() calls for one REP */
#define MAX_EXITS	4096

struct outcome {
	int decode, result;
	bool capped;		/* stopped by MAX_CALLS or MAX_EXITS */
	u8 vector;
	u64 regs[KVMF_NR_GPRS], rip, rflags;
};

/* How far RIP reaches: the code segment's width. */
static u64 ip_mask(const struct kvmf_emul_ctxt *c)
{
	if (c->mode == KVMF_MODE_LONG)
		return ~0ull;
	if ((c->mode == KVMF_MODE_PROT || c->mode == KVMF_MODE_COMPAT) &&
	    c->cs_d)
		return 0xffffffff;
	return 0xffff;
}

static void ctxt_setup(struct kvmf_emul_ctxt *c, const struct fuzz_in *in,
		       struct fuzz_mem *m)
{
	unsigned int i;
	u64 la;

	memset(c, 0, sizeof(*c));
	c->ops = &fuzz_ops;
	c->opaque = m;
	c->mode = fuzz_modes[in->mode];
	c->cs_d = in->cs_d;
	c->la57 = in->la57;
	memcpy(c->regs, in->regs, sizeof(c->regs));
	c->rip = in->rip;
	c->rflags = in->rflags;
	memcpy(c->seg_base, in->seg_base, sizeof(c->seg_base));
	if (c->mode == KVMF_MODE_LONG)
		c->seg_base[KVMF_SEG_CS] = 0;
	c->rip &= ip_mask(c);

	/* The instruction bytes go where the fetches will look. */
	for (i = 0; i < KVMF_INSN_MAX; i++) {
		la = c->seg_base[KVMF_SEG_CS] + ((c->rip + i) & ip_mask(c));
		if (c->mode != KVMF_MODE_LONG)
			la = (u32)la;
		mem_set(m, la, in->code[i]);
	}
}

/* Complete the pending access like the kernel after KVM_EXIT_MMIO. */
static void complete_exit(struct kvmf_emul_ctxt *c, struct fuzz_mem *m)
{
	u64 val = 0;
	unsigned int i;

	m->pend.active = false;
	if (m->pend.write) {
		for (i = 0; i < m->pend.len; i++) {
			mem_set(m, m->pend.gva + i, m->pend.data[i]);
			val |= (u64)m->pend.data[i] << (8 * i);
		}
		log_access(m, true, m->pend.gva, m->pend.len, val);
		kvmf_emul_mmio_complete(c, NULL, 0);
		return;
	}
	for (i = 0; i < m->pend.len; i++)
		val |= (u64)mem_get(m, m->pend.gva + i) << (8 * i);
	log_access(m, false, m->pend.gva, m->pend.len, val);
	kvmf_emul_mmio_complete(c, &val, m->pend.len);
}

static bool same_state(const struct kvmf_emul_ctxt *c, const u64 *regs,
		       u64 rip, u64 rflags)
{
	return !memcmp(c->regs, regs, sizeof(c->regs)) && c->rip == rip &&
	       c->rflags == rflags;
}

static void check_decode(const struct kvmf_emul_ctxt *c, int r)
{
	const struct kvmf_insn *insn = &c->insn;

	if (insn->nr_bytes > KVMF_INSN_MAX)
		fail("more than 15 bytes fetched");
	if (r == KVMF_EMUL_OK) {
		if (!insn->len || insn->len > insn->nr_bytes || !insn->desc)
			fail("decoded length out of range");
		if (insn->op_bytes != 2 && insn->op_bytes != 4 &&
		    insn->op_bytes != 8)
			fail("bad operand size");
		if (insn->ad_bytes != 2 && insn->ad_bytes != 4 &&
		    insn->ad_bytes != 8)
			fail("bad address size");
		if (insn->reg > 15 || insn->rm > 15)
			fail("bad register number");
	} else if (r == KVMF_EMUL_FAULT) {
		if (c->fault.vector != KVMF_VEC_UD &&
		    c->fault.vector != KVMF_VEC_GP &&
		    c->fault.vector != KVMF_VEC_PF)
			fail("decode raised an unexpected exception");
		if (insn->len)
			fail("length set on a failed decode");
	} else if (r != KVMF_EMUL_UNHANDLED) {
		fail("bad decode result");
	}
}

/* Emulate through MMIO exits; the state may not move before completion. */
static int emulate_once(struct kvmf_emul_ctxt *c, struct fuzz_mem *m,
			int *exits)
{
	u64 regs[KVMF_NR_GPRS], rip, rflags;
	int r;

	for (;;) {
		memcpy(regs, c->regs, sizeof(regs));
		rip = c->rip;
		rflags = c->rflags;
		r = kvmf_insn_emulate(c);
		if (r < KVMF_EMUL_OK || r > KVMF_EMUL_MMIO_EXIT)
			fail("bad emulate result");
		if (r != KVMF_EMUL_MMIO_EXIT) {
			if (m->pend.active)
				fail("an op's MMIO exit was dropped");
			return r;
		}
		if (!m->pend.active)
			fail("MMIO_EXIT without an op asking for it");
		if (!c->insn.rep && !same_state(c, regs, rip, rflags))
			fail("state moved before an MMIO exit completed");
		if (++*exits > MAX_EXITS)
			return r;
		complete_exit(c, m);
	}
}

static void run_one(const struct fuzz_in *in, struct fuzz_mem *m,
		    bool exit_all, struct outcome *o)
{
	struct kvmf_emul_ctxt c;
	struct kvmf_insn first;
	u64 regs0[KVMF_NR_GPRS];
	int calls = 0, exits = 0, r;
	u64 rip0, rf0;

	mem_reset(m, in, exit_all);
	ctxt_setup(&c, in, m);
	memset(o, 0, sizeof(*o));
	rip0 = c.rip;
	rf0 = c.rflags;
	memcpy(regs0, c.regs, sizeof(regs0));

	r = kvmf_insn_decode(&c);
	check_decode(&c, r);
	o->decode = r;
	o->result = r;
	if (r == KVMF_EMUL_OK) {
		/* Decoding is a pure function of the bytes and the state. */
		first = c.insn;
		if (kvmf_insn_decode(&c) != KVMF_EMUL_OK ||
		    memcmp(&first, &c.insn, sizeof(first)))
			fail("decoding twice differs");
		do {
			r = emulate_once(&c, m, &exits);
		} while (r == KVMF_EMUL_OK && c.rip == rip0 && c.insn.rep &&
			 ++calls < MAX_CALLS && exits <= MAX_EXITS);
		o->result = r;
		o->capped = calls >= MAX_CALLS || exits > MAX_EXITS;
	}
	if (o->result == KVMF_EMUL_FAULT)
		o->vector = c.fault.vector;
	if ((c.rflags ^ rf0) & ~(u64)KVMF_EFL_ARITH)
		fail("a flag other than the arithmetic ones changed");
	if (o->result == KVMF_EMUL_OK && !c.insn.rep &&
	    c.rip != ((rip0 + c.insn.len) & ip_mask(&c)))
		fail("rip did not move by the length");
	if (o->result != KVMF_EMUL_OK && !c.insn.rep && !o->capped &&
	    !same_state(&c, regs0, rip0, rf0))
		fail("the state moved on a failure");
	memcpy(o->regs, c.regs, sizeof(o->regs));
	o->rip = c.rip;
	o->rflags = c.rflags;
}

static void compare(const struct outcome *a, const struct outcome *b)
{
	int i;

	if (a->capped || b->capped)
		return;
	if (a->result != b->result || a->vector != b->vector)
		fail("runs A and B end differently");
	if (memcmp(a->regs, b->regs, sizeof(a->regs)) || a->rip != b->rip ||
	    a->rflags != b->rflags)
		fail("runs A and B leave different registers");
	if (mem_a.nr_log != mem_b.nr_log)
		fail("runs A and B make a different number of accesses");
	for (i = 0; i < mem_a.nr_log && i < MAX_LOG; i++)
		if (memcmp(&mem_a.log[i], &mem_b.log[i], sizeof(mem_a.log[i])))
			fail("runs A and B make different accesses");
}

/* What the inputs led to, for the stand-alone summary. */
static unsigned long long nr_decoded[4], nr_emulated[4], nr_exits_b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_in in;
	static struct outcome a, b;

	parse_input(&in, data, size);
	run_one(&in, &mem_a, false, &a);
	run_one(&in, &mem_b, true, &b);
	compare(&a, &b);
	nr_decoded[a.decode & 3]++;
	if (a.decode == KVMF_EMUL_OK)
		nr_emulated[a.result & 3]++;
	nr_exits_b += (unsigned long long)mem_b.nr_log;
	return 0;
}

#ifndef KVMF_LIBFUZZER
/* ------------------------------------------------------------------ */
/* Stand-alone: random inputs, biased towards what the emulator does    */

static u64 rng_state;

static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Opcodes worth generating: the emulated ones and the skipped ones. */
static const u8 hot_ops[] = {
	0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13,
	0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x2b, 0x30, 0x31, 0x38, 0x39, 0x3b,
	0x40, 0x48, 0x63, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
	0x8a, 0x8b, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad,
	0xb0, 0xb8, 0xc6, 0xc7, 0xf6, 0xf7, 0xfe, 0xff, 0xe4, 0xec, 0x6c, 0xf4,
	0xcc, 0x0f,
};

static const u8 hot_0f[] = {
	0xb6, 0xb7, 0xbe, 0xbf, 0xc3, 0xa2, 0x30, 0x32, 0x01, 0x20, 0x22, 0x31,
	0x08, 0x09, 0x38, 0x3a, 0xba, 0xc7,
};

static const u8 prefixes[] = {
	0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
};

static u64 gen_value(void)
{
	static const u64 special[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
		0x80000000, 0xffffffff, 0x7fffffffffffffff, 0x8000000000000000,
		~0ull, 0x00007ffffffffff8, 0xffff800000000000,
	};

	switch (rng() % 4) {
	case 0:
		return special[rng() % ARRAY_SIZE(special)];
	case 1:
		return rng();
	default:
		return rng() % 0x20000;
	}
}

static size_t gen_input(u8 *buf, size_t max)
{
	size_t n = 0, len, i, code;
	unsigned int k;

	buf[n++] = (u8)rng();
	buf[n++] = (u8)(rng() % 2 ? 0 : rng());	/* few faults mostly */
	buf[n++] = (u8)rng();
	buf[n++] = (u8)rng();
	for (k = 0; k < KVMF_NR_GPRS + 1 + KVMF_NR_SEGS; k++) {
		u64 v = gen_value();

		if (k == KVMF_RCX && rng() % 2)
			v = rng() % 80;			/* REP counts */
		for (i = 0; i < 8; i++, v >>= 8)
			buf[n++] = (u8)v;
	}
	code = n;
	for (i = 0; i < KVMF_INSN_MAX; i++)
		buf[n++] = (u8)rng();
	if (rng() % 4) {	/* shape the instruction */
		i = code;
		for (k = rng() % 4; k; k--)
			buf[i++] = prefixes[rng() % ARRAY_SIZE(prefixes)];
		if (rng() % 2)
			buf[i++] = 0x40 | (rng() & 15);
		buf[i] = hot_ops[rng() % ARRAY_SIZE(hot_ops)];
		if (buf[i++] == 0x0f)
			buf[i] = hot_0f[rng() % ARRAY_SIZE(hot_0f)];
	}
	len = rng() % 64;
	for (i = 0; i < len && n < max; i++)
		buf[n++] = (u8)rng();
	return n;
}

static int run_file(const char *path)
{
	static u8 buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long n = 100000, seed = 1, i;
	u8 buf[512];
	size_t len;
	int a, files = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-n") && a + 1 < argc)
			n = strtoull(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "-s") && a + 1 < argc)
			seed = strtoull(argv[++a], NULL, 0);
		else if (run_file(argv[a]))
			return 1;
		else
			files++;
	}
	if (files)
		return 0;

	rng_state = seed * 0x9e3779b97f4a7c15ull | 1;
	for (i = 0; i < n; i++) {
		len = gen_input(buf, sizeof(buf));
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("emulate_fuzz: %llu inputs from seed %llu, no failure\n", n, seed);
	printf("  decode: %llu ok, %llu fault, %llu unhandled\n",
	       nr_decoded[0], nr_decoded[1], nr_decoded[2]);
	printf("  emulate: %llu ok, %llu fault, %llu unhandled, %llu capped\n",
	       nr_emulated[0], nr_emulated[1], nr_emulated[2], nr_emulated[3]);
	printf("  accesses in the MMIO-exit runs: %llu\n", nr_exits_b);
	printf("1 passed, 0 failed\n");
	return 0;
}
#endif
