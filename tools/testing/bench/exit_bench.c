// SPDX-License-Identifier: GPL-2.0
/*
 * exit_bench: the cost of a VM exit, as a VMM sees it, for whichever KVM
 * implementation serves /dev/kvm: an exit handled in the kernel (CPUID), a
 * port I/O exit to userspace, and an MMIO exit to userspace.  It prints
 * one line per kind: "exit_bench <kind> <ns per exit>".  A benchmark, not a
 * test: run-bench.sh runs it against kvmfork and stock KVM in one boot of
 * the test VM and prints the ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define MEM_SIZE	0x100000ul
#define CODE_GPA	0x1000ul
#define MMIO_GPA	0x200000ul	/* outside the only memslot */

/* 32-bit: ESI times CPUID(0), then HLT. */
static const unsigned char cpuid_loop[] = {
	0x31, 0xc0,			/* 1: xor eax, eax */
	0x31, 0xc9,			/* xor ecx, ecx */
	0x0f, 0xa2,			/* cpuid */
	0x4e,				/* dec esi */
	0x75, 0xf7,			/* jnz 1b */
	0xf4,				/* hlt */
};

/* 32-bit: OUT forever; the host counts the exits. */
static const unsigned char pio_loop[] = {
	0xe6, 0x10,			/* 1: out 0x10, al */
	0xeb, 0xfc,			/* jmp 1b */
};

/* 32-bit: a store to unbacked memory forever. */
static const unsigned char mmio_loop[] = {
	0xa2, 0x00, 0x00, 0x20, 0x00,	/* 1: mov [MMIO_GPA], al */
	0xeb, 0xf9,			/* jmp 1b */
};

struct bench_vm {
	int vm, vcpu;
	struct kvm_run *run;
	unsigned char *mem;
};

static void die(const char *what)
{
	fprintf(stderr, "exit_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void bench_vm_create(int kvm, struct bench_vm *b, const void *code, size_t len)
{
	struct kvm_userspace_memory_region region = { .memory_size = MEM_SIZE };
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2 };
	struct kvm_segment cs = {
		.limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1,
		.db = 1, .g = 1,
	};
	struct kvm_sregs sregs;

	b->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0)
		die("KVM_CREATE_VM");
	b->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED)
		die("mmap");
	memcpy(b->mem + CODE_GPA, code, len);
	region.userspace_addr = (unsigned long)b->mem;
	if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0);
	if (b->vcpu < 0)
		die("KVM_CREATE_VCPU");
	b->run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		      MAP_SHARED, b->vcpu, 0);
	if (b->run == MAP_FAILED)
		die("mmap kvm_run");

	if (ioctl(b->vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs = cs;
	cs.type = 3;
	cs.selector = 16;
	sregs.ds = sregs.es = sregs.ss = cs;
	sregs.cr0 = 0x11;
	if (ioctl(b->vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	if (ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

static void bench_vm_destroy(struct bench_vm *b)
{
	close(b->vcpu);
	close(b->vm);
	munmap(b->mem, MEM_SIZE);
}

static void bench_cpuid(int kvm, unsigned long n)
{
	struct kvm_regs regs;
	struct bench_vm b;
	double t;

	bench_vm_create(kvm, &b, cpuid_loop, sizeof(cpuid_loop));
	if (ioctl(b.vcpu, KVM_GET_REGS, &regs) < 0)
		die("KVM_GET_REGS");
	regs.rsi = n;
	if (ioctl(b.vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
	t = now_ns();
	if (ioctl(b.vcpu, KVM_RUN, 0) < 0 || b.run->exit_reason != KVM_EXIT_HLT)
		die("CPUID loop did not end in HLT");
	printf("exit_bench cpuid %.0f\n", (now_ns() - t) / n);
	bench_vm_destroy(&b);
}

/* Runs a guest that exits to userspace forever: ns per KVM_RUN round trip. */
static void bench_user_exits(int kvm, const char *name, const void *code, size_t len,
			     unsigned int exit_reason, unsigned long n)
{
	struct bench_vm b;
	unsigned long i;
	double t;

	bench_vm_create(kvm, &b, code, len);
	/* The first exit maps memory and warms caches: not counted. */
	if (ioctl(b.vcpu, KVM_RUN, 0) < 0)
		die("KVM_RUN");
	if (b.run->exit_reason != exit_reason) {
		printf("exit_bench %s unsupported (exit reason %u)\n", name, b.run->exit_reason);
		bench_vm_destroy(&b);
		return;
	}
	t = now_ns();
	for (i = 0; i < n; i++)
		if (ioctl(b.vcpu, KVM_RUN, 0) < 0 || b.run->exit_reason != exit_reason)
			die(name);
	printf("exit_bench %s %.0f\n", name, (now_ns() - t) / n);
	bench_vm_destroy(&b);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0)
		die("open /dev/kvm");
	bench_cpuid(kvm, n);
	bench_user_exits(kvm, "pio", pio_loop, sizeof(pio_loop), KVM_EXIT_IO, n);
	bench_user_exits(kvm, "mmio", mmio_loop, sizeof(mmio_loop), KVM_EXIT_MMIO, n);
	return 0;
}
