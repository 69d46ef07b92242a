// SPDX-License-Identifier: GPL-2.0
/*
 * Running guest code through KVM_RUN in real mode, 32-bit protected mode
 * and 64-bit long mode, with the exits a VMM relies on (port I/O in both
 * directions, HLT, CPUID answered in the kernel, triple fault), and the
 * ioctl rules around KVM_RUN (argument, immediate_exit, signals, vCPU ids).
 * Guest code is hand-assembled bytes until the selftest library grows
 * guest code in C.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define GUEST_MEM_SIZE	(2ul << 20)
#define CODE_GPA	0x8000ul

/* One VM with one vCPU; the fields are the library's, named for brevity. */
struct guest {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	unsigned char *mem;
	struct kvmf_guest_vm gvm;
	struct kvmf_guest_vcpu gvcpu;
};

static void guest_create(struct guest *g)
{
	kvmf_guest_vm_create(&g->gvm, GUEST_MEM_SIZE);
	kvmf_guest_vcpu_add(&g->gvm, &g->gvcpu, 0);
	g->kvm = g->gvm.kvm;
	g->vm = g->gvm.fd;
	g->mem = g->gvm.ram;
	g->vcpu = g->gvcpu.fd;
	g->run = g->gvcpu.run;
}

/* Puts @code at CODE_GPA and sets up the CPU mode for @bits (16, 32, 64). */
static void guest_setup(struct guest *g, int bits, const void *code, size_t len)
{
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2, .rsp = 0x7000 };

	memcpy(g->mem + CODE_GPA, code, len);
	kvmf_guest_set_mode(&g->gvm, &g->gvcpu, bits);
	KVMF_CHECK(ioctl(g->vcpu, KVM_SET_REGS, &regs));
}

static void guest_run(struct guest *g, unsigned int expected_exit)
{
	KVMF_CHECK(ioctl(g->vcpu, KVM_RUN, 0));
	KVMF_ASSERT(g->run->exit_reason == expected_exit, "exit reason %u, expected %u",
		    g->run->exit_reason, expected_exit);
}

static void expect_out(struct guest *g, unsigned short port, unsigned int size,
		       unsigned int value)
{
	unsigned int data = 0;

	guest_run(g, KVM_EXIT_IO);
	KVMF_ASSERT_EQ(g->run->io.direction, KVM_EXIT_IO_OUT);
	KVMF_ASSERT_EQ(g->run->io.port, port);
	KVMF_ASSERT_EQ(g->run->io.size, size);
	KVMF_ASSERT_EQ(g->run->io.count, 1);
	memcpy(&data, (char *)g->run + g->run->io.data_offset, size);
	KVMF_ASSERT_EQ(data, value);
}

static void test_real_mode(void)
{
	static const unsigned char code[] = {
		0xb0, 0x41,		/* mov al, 0x41 */
		0xe6, 0x10,		/* out 0x10, al */
		0xf4,			/* hlt */
	};
	struct kvm_regs regs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 16, code, sizeof(code));
	expect_out(&g, 0x10, 1, 0x41);
	guest_run(&g, KVM_EXIT_HLT);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	KVMF_ASSERT_EQ(regs.rip, CODE_GPA + sizeof(code));
}

static void test_protected_mode_32(void)
{
	static const unsigned char code[] = {
		0xb8, 0x78, 0x56, 0x34, 0x12,	/* mov eax, 0x12345678 */
		0xe7, 0x10,			/* out 0x10, eax */
		0x66, 0xe7, 0x12,		/* out 0x12, ax */
		0xf4,				/* hlt */
	};
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 32, code, sizeof(code));
	expect_out(&g, 0x10, 4, 0x12345678);
	expect_out(&g, 0x12, 2, 0x5678);
	guest_run(&g, KVM_EXIT_HLT);
}

static void test_long_mode_64(void)
{
	static const unsigned char code[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55,
		0x44, 0x33, 0x22, 0x11,		/* mov rax, 0x1122334455667788 */
		0x66, 0xba, 0x34, 0x12,		/* mov dx, 0x1234 */
		0xef,				/* out dx, eax */
		0xe4, 0x20,			/* in al, 0x20 */
		0xe6, 0x21,			/* out 0x21, al */
		0xf4,				/* hlt */
	};
	struct kvm_regs regs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 64, code, sizeof(code));
	expect_out(&g, 0x1234, 4, 0x55667788);

	/* IN: userspace answers through the data page; the guest echoes it. */
	guest_run(&g, KVM_EXIT_IO);
	KVMF_ASSERT_EQ(g.run->io.direction, KVM_EXIT_IO_IN);
	KVMF_ASSERT_EQ(g.run->io.port, 0x20);
	*((unsigned char *)g.run + g.run->io.data_offset) = 0x5a;
	expect_out(&g, 0x21, 1, 0x5a);

	guest_run(&g, KVM_EXIT_HLT);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	/* IN AL replaced only the low byte. */
	KVMF_ASSERT_EQ(regs.rax, 0x112233445566775aull);
	KVMF_ASSERT_EQ(regs.rip, CODE_GPA + sizeof(code));
}

/*
 * Runs the guest until HLT, collecting the data of every OUT/OUTS to @port
 * into @out (whatever the batching of each exit) and answering every IN/INS
 * from @port with bytes counting up from @in_first.  Returns the bytes out.
 */
static size_t run_string_io(struct guest *g, unsigned short port, unsigned char *out,
			    size_t out_size, unsigned char in_first)
{
	size_t n_out = 0;

	for (;;) {
		struct kvm_run *run = g->run;
		unsigned char *data = (unsigned char *)run + run->io.data_offset;
		size_t bytes, i;

		KVMF_CHECK(ioctl(g->vcpu, KVM_RUN, 0));
		if (run->exit_reason == KVM_EXIT_HLT)
			return n_out;
		KVMF_ASSERT(run->exit_reason == KVM_EXIT_IO, "exit reason %u", run->exit_reason);
		KVMF_ASSERT_EQ(run->io.port, port);
		bytes = (size_t)run->io.size * run->io.count;
		KVMF_ASSERT(run->io.count >= 1 && bytes <= 4096, "count %u", run->io.count);
		data = (unsigned char *)run + run->io.data_offset;
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			KVMF_ASSERT(n_out + bytes <= out_size, "too much output");
			memcpy(out + n_out, data, bytes);
			n_out += bytes;
		} else {
			for (i = 0; i < bytes; i++)
				data[i] = in_first++;
		}
	}
}

static void test_string_io(void)
{
	static const unsigned char code[] = {
		0xbe, 0x00, 0x00, 0x01, 0x00,	/* mov esi, 0x10000 */
		0xb9, 0x00, 0x30, 0x00, 0x00,	/* mov ecx, 0x3000 */
		0x66, 0xba, 0x44, 0x00,		/* mov dx, 0x44 */
		0xf3, 0x6e,			/* rep outsb */
		0xbf, 0x00, 0x00, 0x02, 0x00,	/* mov edi, 0x20000 */
		0xb9, 0x05, 0x00, 0x00, 0x00,	/* mov ecx, 5 */
		0xf3, 0x66, 0x6d,		/* rep insw */
		0x31, 0xc9,			/* xor ecx, ecx */
		0xf3, 0x6e,			/* rep outsb, RCX = 0: nothing */
		0xbe, 0x02, 0x00, 0x03, 0x00,	/* mov esi, 0x30002 */
		0xb9, 0x03, 0x00, 0x00, 0x00,	/* mov ecx, 3 */
		0xfd,				/* std */
		0xf3, 0x6e,			/* rep outsb, backwards */
		0xfc,				/* cld */
		0xf4,				/* hlt */
	};
	static unsigned char out[0x3000 + 3];
	struct kvm_regs regs;
	struct guest g;
	size_t n, i;

	guest_create(&g);
	guest_setup(&g, 64, code, sizeof(code));
	for (i = 0; i < 0x3000; i++)
		g.mem[0x10000 + i] = i * 7;
	memcpy(g.mem + 0x30000, "xyz", 3);

	n = run_string_io(&g, 0x44, out, sizeof(out), 0x80);
	KVMF_ASSERT_EQ(n, 0x3000 + 3);
	for (i = 0; i < 0x3000; i++)
		KVMF_ASSERT(out[i] == (unsigned char)(i * 7), "byte %zu: %#x", i, out[i]);
	/* Backwards: z, y, x. */
	KVMF_ASSERT(!memcmp(out + 0x3000, "zyx", 3), "%.3s", out + 0x3000);
	/* INS wrote 5 words of counting bytes. */
	for (i = 0; i < 10; i++)
		KVMF_ASSERT_EQ(g.mem[0x20000 + i], 0x80 + i);

	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	KVMF_ASSERT_EQ(regs.rsi, 0x30002 - 3);
	KVMF_ASSERT_EQ(regs.rdi, 0x2000a);
	KVMF_ASSERT_EQ(regs.rcx, 0);
	KVMF_ASSERT_EQ(regs.rip, CODE_GPA + sizeof(code));
}

/* OUTS honours a segment override; in 32-bit mode segments have bases. */
static void test_string_io_segment(void)
{
	static const unsigned char code[] = {
		0xbe, 0x00, 0x00, 0x00, 0x00,	/* mov esi, 0 */
		0x66, 0xba, 0x45, 0x00,		/* mov dx, 0x45 */
		0x64, 0x6e,			/* fs outsb */
		0x6e,				/* outsb (DS) */
		0xf4,				/* hlt */
	};
	unsigned char out[2];
	struct kvm_sregs sregs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 32, code, sizeof(code));
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.fs.base = 0x40000;
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_SREGS, &sregs));
	g.mem[0x40000] = 'F';
	g.mem[0x40001] = '?';
	g.mem[0] = '?';
	g.mem[1] = 'D';

	KVMF_ASSERT_EQ(run_string_io(&g, 0x45, out, sizeof(out), 0), 2);
	KVMF_ASSERT(out[0] == 'F' && out[1] == 'D', "got %c%c", out[0], out[1]);
}

static void test_cpuid_in_kernel(void)
{
	static const unsigned char code[] = {
		0x31, 0xc0,		/* xor eax, eax */
		0x0f, 0xa2,		/* cpuid */
		0xf4,			/* hlt */
	};
	unsigned int vendor[3];
	struct kvm_regs regs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 64, code, sizeof(code));
	/* CPUID itself must not reach userspace. */
	guest_run(&g, KVM_EXIT_HLT);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	vendor[0] = regs.rbx;
	vendor[1] = regs.rdx;
	vendor[2] = regs.rcx;
	printf("# CPUID 0 vendor: %.12s, max leaf %llu\n", (char *)vendor, regs.rax);
	KVMF_ASSERT_EQ(regs.rip, CODE_GPA + sizeof(code));
}

/*
 * The guest's SSE registers survive exits to userspace, whatever the VMM
 * thread does with its own (the guest FPU state is switched on KVM_RUN).
 */
static void test_guest_fpu_preserved(void)
{
	static const unsigned char code[] = {
		0x66, 0x48, 0x0f, 0x6e, 0xc0,	/* movq xmm0, rax */
		0xe6, 0x10,			/* out 0x10, al */
		0x66, 0x48, 0x0f, 0x7e, 0xc0,	/* movq rax, xmm0 */
		0xf4,				/* hlt */
	};
	volatile double host = 1.5;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct guest g;
	int i;

	guest_create(&g);
	guest_setup(&g, 64, code, sizeof(code));
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.cr4 |= 0x600;		/* OSFXSR | OSXMMEXCPT */
	sregs.cr0 = (sregs.cr0 & ~0x4ull) | 0x2;	/* no EM, MP */
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_SREGS, &sregs));
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	regs.rax = 0x0123456789abcdefull;
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_REGS, &regs));

	guest_run(&g, KVM_EXIT_IO);
	/* Use the host's SSE registers meanwhile. */
	for (i = 0; i < 1000; i++)
		host = host * 1.0001 + 0.5;
	KVMF_ASSERT(host > 1.5, "host arithmetic");
	guest_run(&g, KVM_EXIT_HLT);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	KVMF_ASSERT_EQ(regs.rax, 0x0123456789abcdefull);
}

static void test_triple_fault(void)
{
	static const unsigned char code[] = { 0x0f, 0x0b };	/* ud2 */
	struct kvm_sregs sregs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 32, code, sizeof(code));
	/* No IDT: #UD escalates to #DF and then to a triple fault. */
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.idt.limit = 0;
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_SREGS, &sregs));
	guest_run(&g, KVM_EXIT_SHUTDOWN);
}

/*
 * EFER bits 63:32 must be zero (APM: "Canonicalization and Consistency
 * Checks"): KVM_SET_SREGS does not check EFER on KVM, VMRUN refuses the
 * state, and userspace gets KVM_EXIT_FAIL_ENTRY with the hardware's reason,
 * VMEXIT_INVALID (-1).
 */
static void test_invalid_state_fail_entry(void)
{
	static const unsigned char code[] = { 0xf4 };
	struct kvm_sregs sregs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 32, code, sizeof(code));
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.efer |= 1ull << 32;
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_SREGS, &sregs));
	guest_run(&g, KVM_EXIT_FAIL_ENTRY);
	/* QEMU's SVM reports the code as 0xffffffff rather than all ones. */
	KVMF_ASSERT(g.run->fail_entry.hardware_entry_failure_reason == ~0ull ||
		    g.run->fail_entry.hardware_entry_failure_reason == 0xffffffffull,
		    "reason %#llx", g.run->fail_entry.hardware_entry_failure_reason);
}

static void test_run_bad_arg(void)
{
	struct guest g;

	guest_create(&g);
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_RUN, 1), EINVAL);
}

static void test_immediate_exit(void)
{
	static const unsigned char code[] = { 0xf4 };
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 16, code, sizeof(code));
	g.run->immediate_exit = 1;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_RUN, 0), EINTR);
	g.run->immediate_exit = 0;
	guest_run(&g, KVM_EXIT_HLT);
}

/* immediate_exit still completes the IN userspace answered. */
static void test_immediate_exit_completes_in(void)
{
	static const unsigned char code[] = {
		0xe4, 0x20,		/* in al, 0x20 */
		0xf4,			/* hlt */
	};
	struct kvm_regs regs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 16, code, sizeof(code));
	guest_run(&g, KVM_EXIT_IO);
	*((unsigned char *)g.run + g.run->io.data_offset) = 0x77;
	g.run->immediate_exit = 1;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_RUN, 0), EINTR);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	KVMF_ASSERT_EQ(regs.rax & 0xff, 0x77);
	KVMF_ASSERT_EQ(regs.rip, CODE_GPA + 2);
	g.run->immediate_exit = 0;
	guest_run(&g, KVM_EXIT_HLT);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_signal_interrupts_guest_loop(void)
{
	static const unsigned char code[] = { 0xeb, 0xfe };	/* jmp . */
	struct itimerval timer = { .it_value = { .tv_usec = 100000 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 16, code, sizeof(code));
	KVMF_CHECK(sigaction(SIGALRM, &sa, NULL));
	KVMF_CHECK(setitimer(ITIMER_REAL, &timer, NULL));
	/* A guest spinning forever still gives its thread back on a signal. */
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_RUN, 0), EINTR);
	KVMF_ASSERT_EQ(g.run->exit_reason, KVM_EXIT_INTR);
}

/*
 * KVM_SET_SIGNAL_MASK: the mask applies while KVM_RUN runs the guest.  The
 * thread blocks SIGALRM; a mask without it lets the timer interrupt a guest
 * that spins forever.  Bad sizes and pointers are refused.
 */
static void test_signal_mask(void)
{
	static const unsigned char code[] = { 0xeb, 0xfe };	/* jmp . */
	struct itimerval timer = { .it_value = { .tv_usec = 100000 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct {
		struct kvm_signal_mask hdr;
		unsigned long long set;
	} mask = { .hdr.len = 8, .set = 0 };
	sigset_t block;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 16, code, sizeof(code));

	mask.hdr.len = 4;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SIGNAL_MASK, &mask), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SIGNAL_MASK, (void *)8), EFAULT);
	mask.hdr.len = 8;
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_SIGNAL_MASK, &mask));

	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	KVMF_CHECK(sigprocmask(SIG_BLOCK, &block, NULL));
	KVMF_CHECK(sigaction(SIGALRM, &sa, NULL));
	KVMF_CHECK(setitimer(ITIMER_REAL, &timer, NULL));
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_RUN, 0), EINTR);
	KVMF_ASSERT_EQ(g.run->exit_reason, KVM_EXIT_INTR);

	/* Clearing the mask (NULL) is accepted. */
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_SIGNAL_MASK, NULL));
}

/*
 * An MMIO access by an instruction no emulator handles (an x87 store) is
 * reported as an emulation failure, on kvmfork as on KVM.
 */
static void test_unemulated_mmio_internal_error(void)
{
	static const unsigned char code[] = {
		0xd9, 0xe8,		/* fld1 */
		0xd9, 0x1b,		/* fstp dword [rbx] */
		0xf4,
	};
	struct kvm_regs regs;
	struct guest g;

	guest_create(&g);
	guest_setup(&g, 64, code, sizeof(code));
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	regs.rbx = GUEST_MEM_SIZE + 0x1000;	/* past the only memslot */
	KVMF_CHECK(ioctl(g.vcpu, KVM_SET_REGS, &regs));
	guest_run(&g, KVM_EXIT_INTERNAL_ERROR);
	KVMF_ASSERT_EQ(g.run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
}

static void test_vcpu_ids(void)
{
	int kvm = kvmf_open_dev();
	int vm = kvmf_create_vm(kvm);
	long max_id = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);

	if (max_id <= 0)
		max_id = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	KVMF_ASSERT(max_id > 0, "no vCPU id limit reported");
	KVMF_CHECK(ioctl(vm, KVM_CREATE_VCPU, 0));
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_CREATE_VCPU, 0), EEXIST);
	KVMF_CHECK(ioctl(vm, KVM_CREATE_VCPU, max_id - 1));
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_CREATE_VCPU, max_id), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_CREATE_VCPU, -1L), EINVAL);
}

static void test_bad_sregs(void)
{
	struct kvm_sregs sregs;
	struct guest g;

	guest_create(&g);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	/* Long mode active with paging but without PAE: refused. */
	sregs.cr0 |= 0x80000001;
	sregs.efer |= 0x500;
	sregs.cr4 &= ~0x20ull;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, &sregs), EINVAL);
	/* LMA without paging: refused. */
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.efer |= 0x400;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, &sregs), EINVAL);
	/* CR0: bits 63:32, NW without CD, PG without PE: refused. */
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.cr0 |= 1ull << 32;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, &sregs), EINVAL);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.cr0 = (sregs.cr0 | 0x20000000) & ~0x40000000ull;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, &sregs), EINVAL);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.cr0 = (sregs.cr0 | 0x80000000) & ~1ull;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, &sregs), EINVAL);
	/* A reserved CR4 bit (bit 31): refused. */
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	sregs.cr4 |= 1ull << 31;
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, &sregs), EINVAL);
	/* Bad pointers. */
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_SET_SREGS, (void *)8), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(g.vcpu, KVM_GET_REGS, (void *)8), EFAULT);
}

static void test_reset_state(void)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct guest g;

	guest_create(&g);
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_REGS, &regs));
	KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
	KVMF_ASSERT_EQ(regs.rip, 0xfff0);
	KVMF_ASSERT_EQ(regs.rflags, 2);
	KVMF_ASSERT_EQ(sregs.cs.selector, 0xf000);
	KVMF_ASSERT_EQ(sregs.cs.base, 0xffff0000);
	KVMF_ASSERT_EQ(sregs.cr0, 0x60000010);
	KVMF_ASSERT_EQ(sregs.efer, 0);
}

#define PARALLEL_VCPUS		4
#define PARALLEL_ITERATIONS	300

struct parallel_vcpu {
	int fd;
	unsigned int id;
	struct kvm_run *run;
	unsigned int outs;
	int error;
};

/* Runs one vCPU to HLT, checking that each OUT carries this vCPU's id. */
static void *parallel_vcpu_thread(void *arg)
{
	struct parallel_vcpu *v = arg;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			v->error = errno;
			return NULL;
		}
		if (v->run->exit_reason == KVM_EXIT_HLT)
			return NULL;
		if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != 0x10 ||
		    *((unsigned char *)v->run + v->run->io.data_offset) != v->id) {
			v->error = -1;
			return NULL;
		}
		v->outs++;
	}
}

static void test_parallel_vcpus(void)
{
	static const unsigned char code[] = {
		0xe6, 0x10,		/* 1: out 0x10, al */
		0x49,			/* dec cx */
		0x75, 0xfb,		/* jnz 1b */
		0xf4,			/* hlt */
	};
	struct parallel_vcpu v[PARALLEL_VCPUS];
	pthread_t threads[PARALLEL_VCPUS];
	long mmap_size;
	struct guest g;
	int i;

	guest_create(&g);
	guest_setup(&g, 16, code, sizeof(code));
	mmap_size = KVMF_CHECK(ioctl(g.kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	for (i = 0; i < PARALLEL_VCPUS; i++) {
		struct kvm_regs regs = {
			.rip = CODE_GPA, .rflags = 2, .rax = i + 1, .rcx = PARALLEL_ITERATIONS,
		};
		struct kvm_sregs sregs;

		v[i] = (struct parallel_vcpu) { .fd = g.vcpu, .id = i + 1 };
		if (i) {
			/* vCPU 0 is the one guest_setup() prepared; copy its mode. */
			KVMF_CHECK(ioctl(g.vcpu, KVM_GET_SREGS, &sregs));
			v[i].fd = KVMF_CHECK(ioctl(g.vm, KVM_CREATE_VCPU, i));
			KVMF_CHECK(ioctl(v[i].fd, KVM_SET_SREGS, &sregs));
		}
		KVMF_CHECK(ioctl(v[i].fd, KVM_SET_REGS, &regs));
		v[i].run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v[i].fd, 0);
		KVMF_ASSERT(v[i].run != MAP_FAILED, "mmap: %s", strerror(errno));
	}
	for (i = 0; i < PARALLEL_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_create(&threads[i], NULL, parallel_vcpu_thread, &v[i]), 0);
	for (i = 0; i < PARALLEL_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_join(threads[i], NULL), 0);
	for (i = 0; i < PARALLEL_VCPUS; i++) {
		KVMF_ASSERT(!v[i].error, "vCPU %d: error %d", i, v[i].error);
		KVMF_ASSERT_EQ(v[i].outs, PARALLEL_ITERATIONS);
	}
}

static const struct kvmf_test tests[] = {
	{ "reset_state", test_reset_state },
	{ "real_mode", test_real_mode },
	{ "protected_mode_32", test_protected_mode_32 },
	{ "long_mode_64", test_long_mode_64 },
	{ "string_io", test_string_io },
	{ "string_io_segment", test_string_io_segment },
	{ "cpuid_in_kernel", test_cpuid_in_kernel },
	{ "guest_fpu_preserved", test_guest_fpu_preserved },
	{ "triple_fault", test_triple_fault },
	{ "invalid_state_fail_entry", test_invalid_state_fail_entry },
	{ "run_bad_arg", test_run_bad_arg },
	{ "immediate_exit", test_immediate_exit },
	{ "immediate_exit_completes_in", test_immediate_exit_completes_in },
	{ "signal_interrupts_guest_loop", test_signal_interrupts_guest_loop },
	{ "signal_mask", test_signal_mask },
	{ "unemulated_mmio_internal_error", test_unemulated_mmio_internal_error },
	{ "vcpu_ids", test_vcpu_ids },
	{ "parallel_vcpus", test_parallel_vcpus },
	{ "bad_sregs", test_bad_sregs },
};

int main(void)
{
	return kvmf_test_main("vcpu_run", tests, ARRAY_SIZE(tests));
}
