// SPDX-License-Identifier: GPL-2.0
/*
 * VMs and vCPUs for the selftests: see kvmf_guest.h.
 */
#include <link.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define PTE_PRESENT_RW	0x3ull
#define PTE_LARGE	0x80ull
#define CR0_PE_ET	0x11ull
#define CR0_PG		0x80000000ull
#define CR4_PAE		0x20ull
#define EFER_LME_LMA	0x500ull

void kvmf_guest_vm_create(struct kvmf_guest_vm *vm, size_t ram_size)
{
	struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = ram_size };

	KVMF_ASSERT(ram_size >= KVMF_GUEST_MIN_RAM, "RAM of %zu bytes is too small", ram_size);
	vm->kvm = kvmf_open_dev();
	vm->fd = kvmf_create_vm(vm->kvm);
	vm->ram_size = ram_size;
	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KVMF_ASSERT(vm->ram != MAP_FAILED, "mmap guest RAM: %s", strerror(errno));
	region.userspace_addr = (unsigned long)vm->ram;
	KVMF_CHECK(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region));
}

void kvmf_guest_vcpu_add(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int id)
{
	long size = KVMF_CHECK(ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0));

	vcpu->fd = KVMF_CHECK(ioctl(vm->fd, KVM_CREATE_VCPU, id));
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	KVMF_ASSERT(vcpu->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno));
}

static void flat_segment(struct kvm_segment *seg, unsigned short sel, int code, int bits)
{
	*seg = (struct kvm_segment) {
		.limit = 0xffffffff, .selector = sel, .type = code ? 11 : 3, .present = 1,
		.s = 1, .g = 1, .db = bits == 32 || (!code && bits == 64),
		.l = code && bits == 64,
	};
}

/*
 * The first GiB, identity-mapped with 2 MiB pages.  Done once: mappings
 * kvmf_guest_map() added beside it hang off the same top-level table.
 */
static void identity_map_1g(struct kvmf_guest_vm *vm)
{
	unsigned long long *pml4 = (void *)(vm->ram + KVMF_GUEST_PML4_GPA);
	unsigned long long *pdpt = (void *)(vm->ram + KVMF_GUEST_PDPT_GPA);
	unsigned long long *pd = (void *)(vm->ram + KVMF_GUEST_PD_GPA);
	unsigned long long i;

	if (pml4[0] == (KVMF_GUEST_PDPT_GPA | PTE_PRESENT_RW))
		return;

	pml4[0] = KVMF_GUEST_PDPT_GPA | PTE_PRESENT_RW;
	pdpt[0] = KVMF_GUEST_PD_GPA | PTE_PRESENT_RW;
	for (i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_LARGE | PTE_PRESENT_RW;
}

void kvmf_guest_set_mode(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int bits)
{
	struct kvm_sregs sregs;

	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_SREGS, &sregs));
	if (bits == 16) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
	} else {
		flat_segment(&sregs.cs, 8, 1, bits);
		flat_segment(&sregs.ds, 16, 0, bits);
		sregs.es = sregs.ss = sregs.fs = sregs.gs = sregs.ds;
		sregs.cr0 = CR0_PE_ET;
	}
	if (bits == 64) {
		identity_map_1g(vm);
		sregs.cr3 = KVMF_GUEST_PML4_GPA;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PG | CR0_PE_ET;
		sregs.efer = EFER_LME_LMA;
	}
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_SREGS, &sregs));
}

void kvmf_guest_run_expect(struct kvmf_guest_vcpu *vcpu, unsigned int exit_reason)
{
	KVMF_CHECK(ioctl(vcpu->fd, KVM_RUN, 0));
	KVMF_ASSERT(vcpu->run->exit_reason == exit_reason, "exit reason %u, expected %u",
		    vcpu->run->exit_reason, exit_reason);
}

void *kvmf_guest_io_data(struct kvmf_guest_vcpu *vcpu)
{
	return (unsigned char *)vcpu->run + vcpu->run->io.data_offset;
}

/* ---- Guest code in C ---- */

#define PAGE_SIZE	4096ul
#define GDT_CODE64	0x08
#define GDT_DATA	0x10
#define GDT_TSS		0x18
#define TSS_LIMIT	0x67
#define CR0_MP		0x2ull
#define CR0_EM		0x4ull
#define CR4_OSFXSR	0x200ull
#define CR4_OSXMMEXCPT	0x400ull
#define GUEST_STACK_PAGES 4
/* Allocations start here, or above the program if it reaches further. */
#define ALLOC_START_GPA	(16ul << 20)

extern bool kvmf_guest_host_is_amd_compatible;
extern const unsigned char kvmf_exc_stubs[];

static int copy_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	struct kvmf_guest_vm *vm = data;
	unsigned int i;

	(void)size;
	/* The first object is the program itself (static: the only one). */
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;

		if (ph->p_type != PT_LOAD)
			continue;
		KVMF_ASSERT(end <= vm->ram_size, "program segment %#lx-%#lx is beyond guest RAM",
			    start, end);
		memcpy(vm->ram + start, (void *)start, ph->p_memsz);
		if (end > vm->next_free_gpa)
			vm->next_free_gpa = end;
	}
	return 1;
}

/* A 64-bit code descriptor, a flat data descriptor and a 16-byte TSS descriptor. */
static void write_descriptors(struct kvmf_guest_vm *vm)
{
	uint64_t *gdt = (void *)(vm->ram + KVMF_GUEST_GDT_GPA);
	uint64_t tss = KVMF_GUEST_TSS_GPA;
	unsigned char *idt = vm->ram + KVMF_GUEST_IDT_GPA;
	unsigned int v;

	gdt[GDT_CODE64 / 8] = 0x00209a0000000000ull;	/* P, DPL 0, code, L */
	gdt[GDT_DATA / 8] = 0x00cf92000000ffffull;	/* P, DPL 0, data RW, 4 GiB */
	gdt[GDT_TSS / 8] = TSS_LIMIT | (tss & 0xffffff) << 16 | 0x89ull << 40 |
			   ((tss >> 24) & 0xff) << 56;
	gdt[GDT_TSS / 8 + 1] = tss >> 32;

	/* 16-byte interrupt gates to the stubs in exception.S. */
	for (v = 0; v < 256; v++) {
		uint64_t handler = (uint64_t)kvmf_exc_stubs + 16 * v;
		uint64_t *gate = (void *)(idt + 16 * v);

		gate[0] = (handler & 0xffff) | (uint64_t)GDT_CODE64 << 16 | 0x8eull << 40 |
			  ((handler >> 16) & 0xffff) << 48;
		gate[1] = handler >> 32;
	}
}

void kvmf_guest_load_program(struct kvmf_guest_vm *vm)
{
	/* Globals the guest reads are copied with the program's data. */
	kvmf_guest_host_is_amd_compatible = kvmf_host_cpu_is_amd_compatible();

	vm->next_free_gpa = 0;
	dl_iterate_phdr(copy_segment, vm);
	if (vm->next_free_gpa < ALLOC_START_GPA)
		vm->next_free_gpa = ALLOC_START_GPA;
	vm->next_free_gpa = (vm->next_free_gpa + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	write_descriptors(vm);
}

uint64_t kvmf_guest_alloc_pages(struct kvmf_guest_vm *vm, unsigned int npages)
{
	uint64_t gpa = vm->next_free_gpa;

	KVMF_ASSERT(vm->next_free_gpa && npages * PAGE_SIZE <= vm->ram_size - gpa,
		    "guest RAM exhausted (or no program loaded)");
	vm->next_free_gpa += npages * PAGE_SIZE;
	memset(vm->ram + gpa, 0, npages * PAGE_SIZE);
	return gpa;
}

void kvmf_guest_sync_global(struct kvmf_guest_vm *vm, const void *addr, size_t size)
{
	uint64_t gpa = (uint64_t)addr;

	KVMF_ASSERT(gpa < vm->ram_size && size <= vm->ram_size - gpa, "%p is not guest RAM",
		    addr);
	memcpy(vm->ram + gpa, addr, size);
}

/* Where guest code goes when its function returns. */
static void guest_returned(void)
{
	GUEST_DONE();
	for (;;)
		asm volatile("hlt");
}

void kvmf_guest_vcpu_add_code(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu, int id,
			      void (*fn)(void *arg), void *arg)
{
	uint64_t stack = kvmf_guest_alloc_pages(vm, GUEST_STACK_PAGES);
	uint64_t rsp = stack + GUEST_STACK_PAGES * PAGE_SIZE - 8;
	struct kvm_regs regs = { .rip = (uint64_t)fn, .rdi = (uint64_t)arg, .rflags = 2 };
	struct kvm_sregs sregs;

	kvmf_guest_vcpu_add(vm, vcpu, id);
	kvmf_guest_set_mode(vm, vcpu, 64);

	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_SREGS, &sregs));
	sregs.gdt.base = KVMF_GUEST_GDT_GPA;
	sregs.gdt.limit = GDT_TSS + 16 - 1;
	sregs.idt.base = KVMF_GUEST_IDT_GPA;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.tr = (struct kvm_segment) {
		.base = KVMF_GUEST_TSS_GPA, .limit = TSS_LIMIT, .selector = GDT_TSS,
		.type = 11, .present = 1,
	};
	/* Compiled C may use SSE: let it. */
	sregs.cr0 = (sregs.cr0 | CR0_MP) & ~CR0_EM;
	sregs.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_SREGS, &sregs));

	/* A return address, as if fn had been called: rsp + 8 is 16-byte aligned. */
	*(uint64_t *)(vm->ram + rsp) = (uint64_t)guest_returned;
	regs.rsp = rsp;
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_REGS, &regs));
}

/* A 4 KiB page-table page for kvmf_guest_map(): the entry's table, made if missing. */
static uint64_t *next_table(struct kvmf_guest_vm *vm, uint64_t *entry)
{
	if (!(*entry & 1))
		*entry = kvmf_guest_alloc_pages(vm, 1) | PTE_PRESENT_RW;
	KVMF_ASSERT(!(*entry & PTE_LARGE), "kvmf_guest_map: large page in the way");
	return (uint64_t *)(vm->ram + (*entry & 0x000ffffffffff000ull));
}

void kvmf_guest_map(struct kvmf_guest_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size)
{
	uint64_t *pml4 = (void *)(vm->ram + KVMF_GUEST_PML4_GPA);
	uint64_t off;

	KVMF_ASSERT(gva >= (1ull << 30), "kvmf_guest_map: %#lx is in the identity-mapped GiB",
		    gva);
	KVMF_ASSERT(!(gva % PAGE_SIZE) && !(gpa % PAGE_SIZE) && !(size % PAGE_SIZE),
		    "kvmf_guest_map: unaligned");
	identity_map_1g(vm);
	for (off = 0; off < size; off += PAGE_SIZE) {
		uint64_t va = gva + off;
		uint64_t *pdpt = next_table(vm, &pml4[(va >> 39) & 511]);
		uint64_t *pd = next_table(vm, &pdpt[(va >> 30) & 511]);
		uint64_t *pt = next_table(vm, &pd[(va >> 21) & 511]);

		pt[(va >> 12) & 511] = (gpa + off) | PTE_PRESENT_RW;
	}
}

uint64_t kvmf_guest_get_ucall(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu,
			      struct kvmf_ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != KVMF_UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT)
		return UCALL_NONE;
	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_REGS, &regs));
	KVMF_ASSERT(regs.rdi < vm->ram_size && sizeof(*uc) <= vm->ram_size - regs.rdi,
		    "ucall struct at %#llx is outside guest RAM", regs.rdi);
	memcpy(uc, vm->ram + regs.rdi, sizeof(*uc));
	uc->buf[sizeof(uc->buf) - 1] = '\0';
	return uc->cmd;
}

uint64_t kvmf_guest_run_ucall(struct kvmf_guest_vm *vm, struct kvmf_guest_vcpu *vcpu,
			      struct kvmf_ucall *uc)
{
	for (;;) {
		KVMF_CHECK(ioctl(vcpu->fd, KVM_RUN, 0));
		switch (kvmf_guest_get_ucall(vm, vcpu, uc)) {
		case UCALL_PRINTF:
			printf("# guest: %s", uc->buf);
			continue;
		case UCALL_ABORT:
			/* The file name is a pointer into the same program's data. */
			kvmf_test_fail((const char *)uc->args[0], (int)uc->args[1], "guest: %s",
				       uc->buf);
		case UCALL_UNHANDLED:
			kvmf_test_fail(__FILE__, __LINE__,
				       "guest: unexpected exception %lu at RIP %#lx, error code %#lx",
				       uc->args[0], uc->args[1], uc->args[2]);
		case UCALL_NONE:
			kvmf_test_fail(__FILE__, __LINE__, "guest: unexpected exit %u",
				       vcpu->run->exit_reason);
		default:
			return uc->cmd;
		}
	}
}
