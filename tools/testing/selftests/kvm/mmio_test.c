// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO exits: guest accesses to guest-physical memory outside every memslot,
 * and writes to a read-only memslot, reach userspace as KVM_EXIT_MMIO with
 * the address, size, direction and data the instruction implies; reads
 * complete with the data userspace supplies.  Each instruction form runs on
 * its own in a 64-bit guest; the same table passes on stock KVM.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define RAM_SIZE	0x100000ul	/* memslot 0: [0, 1 MiB) */
#define MMIO_GPA	0x100000ul	/* nothing there; RBX points here */
#define ROM_GPA		0x180000ul	/* memslot 1, read-only */
#define ROM_SIZE	0x1000ul
#define CODE_GPA	0x8000ul
#define DATA_GPA	0x9000ul	/* RAM that RSI points at */
/* Page tables of the paging-mode cases, where kvmf_guest.h keeps its own. */
#define PML4_GPA	KVMF_GUEST_PML4_GPA
#define PDPT_GPA	KVMF_GUEST_PDPT_GPA
#define PD_GPA		KVMF_GUEST_PD_GPA

/* Initial RAX, and what userspace returns for every MMIO read. */
#define RAX_INIT	0x1122334455667788ull
#define READ_DATA	0xf0e1d2c3b4a59687ull

struct mmio_access {
	unsigned long long gpa;
	unsigned int len;
	int is_write;
	unsigned long long data;	/* for writes */
};

struct mmio_case {
	const char *name;
	unsigned char code[16];
	unsigned int code_len;
	unsigned int nr_accesses;
	struct mmio_access acc[2];
	unsigned long long rax_after;	/* checked at HLT */
};

#define CODE(...) .code = { __VA_ARGS__ }, .code_len = sizeof((unsigned char[]){ __VA_ARGS__ })
#define W(gpa_, len_, data_) { .gpa = (gpa_), .len = (len_), .is_write = 1, .data = (data_) }
#define R(gpa_, len_) { .gpa = (gpa_), .len = (len_) }

static const struct mmio_case cases[] = {
	{ "mov [rbx], al", CODE(0x88, 0x03), 1, { W(MMIO_GPA, 1, 0x88) }, RAX_INIT },
	{ "mov [rbx], ax", CODE(0x66, 0x89, 0x03), 1, { W(MMIO_GPA, 2, 0x7788) }, RAX_INIT },
	{ "mov [rbx+8], eax", CODE(0x89, 0x43, 0x08), 1, { W(MMIO_GPA + 8, 4, 0x55667788) },
	  RAX_INIT },
	{ "mov [rbx], rax", CODE(0x48, 0x89, 0x03), 1, { W(MMIO_GPA, 8, RAX_INIT) }, RAX_INIT },
	{ "mov byte [rbx], 0x5a", CODE(0xc6, 0x03, 0x5a), 1, { W(MMIO_GPA, 1, 0x5a) }, RAX_INIT },
	{ "mov dword [rbx+0x10], imm32", CODE(0xc7, 0x43, 0x10, 0x78, 0x56, 0x34, 0x12), 1,
	  { W(MMIO_GPA + 0x10, 4, 0x12345678) }, RAX_INIT },
	{ "mov qword [rbx], -2 (sign-extended)", CODE(0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff), 1,
	  { W(MMIO_GPA, 8, 0xfffffffffffffffeull) }, RAX_INIT },
	{ "mov al, [rbx]", CODE(0x8a, 0x03), 1, { R(MMIO_GPA, 1) }, 0x1122334455667787ull },
	{ "mov ax, [rbx]", CODE(0x66, 0x8b, 0x03), 1, { R(MMIO_GPA, 2) }, 0x1122334455669687ull },
	{ "mov eax, [rbx] (zero-extends)", CODE(0x8b, 0x03), 1, { R(MMIO_GPA, 4) },
	  0xb4a59687ull },
	{ "mov rax, [rbx]", CODE(0x48, 0x8b, 0x03), 1, { R(MMIO_GPA, 8) }, READ_DATA },
	{ "movzx eax, byte [rbx]", CODE(0x0f, 0xb6, 0x03), 1, { R(MMIO_GPA, 1) }, 0x87 },
	{ "movsx rax, word [rbx]", CODE(0x48, 0x0f, 0xbf, 0x03), 1, { R(MMIO_GPA, 2) },
	  0xffffffffffff9687ull },
	{ "movsxd rax, dword [rbx]", CODE(0x48, 0x63, 0x03), 1, { R(MMIO_GPA, 4) },
	  0xffffffffb4a59687ull },
	{ "add [rbx], eax (read, then write)", CODE(0x01, 0x03), 2,
	  { R(MMIO_GPA, 4), W(MMIO_GPA, 4, (0xb4a59687ull + 0x55667788ull) & 0xffffffff) },
	  RAX_INIT },
	{ "or eax, [rbx]", CODE(0x0b, 0x03), 1, { R(MMIO_GPA, 4) },
	  (0x55667788ull | 0xb4a59687ull) },
	{ "stosb (rdi = MMIO)", CODE(0xaa), 1, { W(MMIO_GPA, 1, 0x88) }, RAX_INIT },
	{ "movsq (RAM to MMIO)", CODE(0x48, 0xa5), 1, { W(MMIO_GPA, 8, 0x0807060504030201ull) },
	  RAX_INIT },
	{ "mov [moffs64], eax", CODE(0xa3, 0x40, 0x00, 0x10, 0, 0, 0, 0, 0), 1,
	  { W(MMIO_GPA + 0x40, 4, 0x55667788) }, RAX_INIT },
	{ "mov [rdx], eax (read-only slot)", CODE(0x89, 0x02), 1, { W(ROM_GPA, 4, 0x55667788) },
	  RAX_INIT },
};

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	unsigned char *ram, *rom;
	struct kvmf_guest_vm gvm;
	struct kvmf_guest_vcpu gvcpu;
};

/* RAM in slot 0, a read-only slot if KVM offers them, a vCPU in 64-bit mode. */
static void vm_create(struct vm *v)
{
	struct kvm_userspace_memory_region rom = {
		.slot = 1, .guest_phys_addr = ROM_GPA, .memory_size = ROM_SIZE,
		.flags = KVM_MEM_READONLY,
	};

	kvmf_guest_vm_create(&v->gvm, RAM_SIZE);
	kvmf_guest_vcpu_add(&v->gvm, &v->gvcpu, 0);
	kvmf_guest_set_mode(&v->gvm, &v->gvcpu, 64);
	v->kvm = v->gvm.kvm;
	v->vm = v->gvm.fd;
	v->ram = v->gvm.ram;
	v->vcpu = v->gvcpu.fd;
	v->run = v->gvcpu.run;

	v->rom = mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KVMF_ASSERT(v->rom != MAP_FAILED, "mmap: %s", strerror(errno));
	rom.userspace_addr = (unsigned long)v->rom;
	if (ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0)
		KVMF_CHECK(ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &rom));
}

/* Runs one case; returns 0, or prints why and returns 1. */
static int run_case(const struct mmio_case *c)
{
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rflags = 2, .rsp = 0x7000, .rax = RAX_INIT,
		.rbx = MMIO_GPA, .rdi = MMIO_GPA, .rsi = DATA_GPA, .rdx = ROM_GPA,
	};
	unsigned int i;
	struct vm v;

	vm_create(&v);
	if (c->acc[0].gpa == ROM_GPA &&
	    ioctl(v.kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
		printf("#   %s: skipped, KVM_CAP_READONLY_MEM not reported\n", c->name);
		return 0;
	}
	memcpy(v.ram + CODE_GPA, c->code, c->code_len);
	v.ram[CODE_GPA + c->code_len] = 0xf4;	/* hlt */
	for (i = 0; i < 8; i++)
		v.ram[DATA_GPA + i] = i + 1;
	KVMF_CHECK(ioctl(v.vcpu, KVM_SET_REGS, &regs));

	for (i = 0; i < c->nr_accesses; i++) {
		const struct mmio_access *a = &c->acc[i];
		unsigned long long data = 0;

		KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
		if (v.run->exit_reason != KVM_EXIT_MMIO) {
			printf("#   %s: access %u: exit reason %u\n", c->name, i,
			       v.run->exit_reason);
			return 1;
		}
		memcpy(&data, v.run->mmio.data, v.run->mmio.len <= 8 ? v.run->mmio.len : 8);
		if (v.run->mmio.phys_addr != a->gpa || v.run->mmio.len != a->len ||
		    v.run->mmio.is_write != a->is_write || (a->is_write && data != a->data)) {
			printf("#   %s: access %u: gpa %#llx len %u write %u data %#llx; expected %#llx %u %d %#llx\n",
			       c->name, i, v.run->mmio.phys_addr, v.run->mmio.len,
			       v.run->mmio.is_write, data, a->gpa, a->len, a->is_write, a->data);
			return 1;
		}
		if (!a->is_write) {
			unsigned long long rd = READ_DATA;

			memcpy(v.run->mmio.data, &rd, sizeof(rd));
		}
	}

	KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
	if (v.run->exit_reason != KVM_EXIT_HLT) {
		printf("#   %s: exit reason %u, expected HLT\n", c->name, v.run->exit_reason);
		return 1;
	}
	KVMF_CHECK(ioctl(v.vcpu, KVM_GET_REGS, &regs));
	if (regs.rax != c->rax_after || regs.rip != CODE_GPA + c->code_len + 1) {
		printf("#   %s: rax %#llx rip %#llx; expected %#llx %#llx\n", c->name, regs.rax,
		       regs.rip, c->rax_after, (unsigned long long)CODE_GPA + c->code_len + 1);
		return 1;
	}
	close(v.vcpu);
	close(v.vm);
	close(v.kvm);
	munmap(v.ram, RAM_SIZE);
	munmap(v.rom, ROM_SIZE);
	return 0;
}

static void test_instruction_forms(void)
{
	unsigned int i, failed = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		failed += run_case(&cases[i]);
	KVMF_ASSERT(!failed, "%u of %zu instruction forms wrong", failed, ARRAY_SIZE(cases));
}

/* A read of RAM through the emulator never leaves the kernel. */
static void test_mmio_then_ram(void)
{
	static const unsigned char code[] = {
		0x8b, 0x03,		/* mov eax, [rbx]: MMIO */
		0x8b, 0x0e,		/* mov ecx, [rsi]: RAM */
		0xf4,
	};
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rflags = 2, .rbx = MMIO_GPA, .rsi = DATA_GPA,
	};
	struct vm v;

	vm_create(&v);
	memcpy(v.ram + CODE_GPA, code, sizeof(code));
	memcpy(v.ram + DATA_GPA, "\x11\x22\x33\x44", 4);
	KVMF_CHECK(ioctl(v.vcpu, KVM_SET_REGS, &regs));
	KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
	KVMF_ASSERT_EQ(v.run->exit_reason, KVM_EXIT_MMIO);
	memcpy(v.run->mmio.data, "\xaa\xbb\xcc\xdd", 4);
	KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
	KVMF_ASSERT_EQ(v.run->exit_reason, KVM_EXIT_HLT);
	KVMF_CHECK(ioctl(v.vcpu, KVM_GET_REGS, &regs));
	KVMF_ASSERT_EQ(regs.rax, 0xddccbbaa);
	KVMF_ASSERT_EQ(regs.rcx, 0x44332211);
}

/* A read-only slot reads like RAM: only writes exit. */
static void test_readonly_slot_reads(void)
{
	static const unsigned char code[] = {
		0x8b, 0x02,		/* mov eax, [rdx] */
		0xf4,
	};
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2, .rdx = ROM_GPA };
	struct vm v;

	vm_create(&v);
	if (ioctl(v.kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		kvmf_skip("KVM_CAP_READONLY_MEM not reported");
	memcpy(v.ram + CODE_GPA, code, sizeof(code));
	memcpy(v.rom, "\x01\x02\x03\x04", 4);
	KVMF_CHECK(ioctl(v.vcpu, KVM_SET_REGS, &regs));
	KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
	KVMF_ASSERT_EQ(v.run->exit_reason, KVM_EXIT_HLT);
	KVMF_CHECK(ioctl(v.vcpu, KVM_GET_REGS, &regs));
	KVMF_ASSERT_EQ(regs.rax, 0x04030201);
}

/*
 * The emulator finds an MMIO access's physical address by walking the
 * guest's page tables: in 32-bit paging and in PAE paging, a store to linear
 * 0x400000, mapped to MMIO_GPA by a 4 KiB page, must exit at MMIO_GPA.
 */
static void run_paged_store(int pae)
{
	static const unsigned char code[] = {
		0x89, 0x03,		/* mov [ebx], eax */
		0xf4,
	};
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2, .rax = 0xcafe, .rbx = 0x400000 };
	struct kvm_segment seg = {
		.limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1, .db = 1,
		.g = 1,
	};
	struct kvm_sregs sregs;
	unsigned int *pd32;
	unsigned long long *pt;
	struct vm v;

	vm_create(&v);
	memset(v.ram + PML4_GPA, 0, 3 * 4096);
	if (pae) {
		pt = (unsigned long long *)(v.ram + PML4_GPA);	/* PDPT */
		pt[0] = PDPT_GPA | 1;
		pt = (unsigned long long *)(v.ram + PDPT_GPA);	/* page directory */
		pt[0] = 0x83;					/* 2 MiB identity */
		pt[2] = PD_GPA | 3;				/* 4 MiB..6 MiB */
		pt = (unsigned long long *)(v.ram + PD_GPA);	/* page table */
		pt[0] = MMIO_GPA | 3;
	} else {
		pd32 = (unsigned int *)(v.ram + PML4_GPA);	/* page directory */
		pd32[0] = 0x83;					/* 4 MiB identity */
		pd32[1] = PD_GPA | 3;				/* 4 MiB..8 MiB */
		pd32 = (unsigned int *)(v.ram + PD_GPA);	/* page table */
		pd32[0] = MMIO_GPA | 3;
	}
	memcpy(v.ram + CODE_GPA, code, sizeof(code));

	KVMF_CHECK(ioctl(v.vcpu, KVM_GET_SREGS, &sregs));
	sregs.cs = seg;
	seg.type = 3;
	seg.selector = 16;
	sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs = seg;
	sregs.cr3 = PML4_GPA;
	sregs.cr4 = pae ? 0x20 : 0x10;	/* PAE, or PSE for the 4 MiB page */
	sregs.cr0 = 0x80000011;
	sregs.efer = 0;
	KVMF_CHECK(ioctl(v.vcpu, KVM_SET_SREGS, &sregs));
	KVMF_CHECK(ioctl(v.vcpu, KVM_SET_REGS, &regs));

	KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
	KVMF_ASSERT_EQ(v.run->exit_reason, KVM_EXIT_MMIO);
	KVMF_ASSERT_EQ(v.run->mmio.phys_addr, MMIO_GPA);
	KVMF_ASSERT_EQ(v.run->mmio.len, 4);
	KVMF_ASSERT_EQ(v.run->mmio.is_write, 1);
	KVMF_ASSERT_EQ(*(unsigned int *)v.run->mmio.data, 0xcafe);
	KVMF_CHECK(ioctl(v.vcpu, KVM_RUN, 0));
	KVMF_ASSERT_EQ(v.run->exit_reason, KVM_EXIT_HLT);
}

static void test_paging_32bit(void)
{
	run_paged_store(0);
}

static void test_paging_pae(void)
{
	run_paged_store(1);
}

static const struct kvmf_test tests[] = {
	{ "paging_32bit", test_paging_32bit },
	{ "paging_pae", test_paging_pae },
	{ "instruction_forms", test_instruction_forms },
	{ "mmio_then_ram", test_mmio_then_ram },
	{ "readonly_slot_reads", test_readonly_slot_reads },
};

int main(void)
{
	return kvmf_test_main("mmio", tests, ARRAY_SIZE(tests));
}
