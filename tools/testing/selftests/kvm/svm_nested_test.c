// SPDX-License-Identifier: GPL-2.0
/*
 * Nested SVM: the guest (L1) turns on EFER.SVME, builds a VMCB12 and runs
 * a nested guest (L2) of its own with VMRUN.  L2 runs in L1's guest
 * physical address space (no nested paging, except in the nested_npt and
 * npt_* cases), with L1's page tables and descriptor tables
 * (lib/x86/svm.c).
 *
 * Checked: intercepted instructions and exceptions with their exit codes
 * and exit information, permission maps, shutdown, L2 clearing EFER.SVME
 * (intercepted, and not: then L1 must take a triple fault), VMRUN's
 * consistency checks and bad VMCB addresses, VMLOAD/VMSAVE/STGI/CLGI, GIF
 * as KVM_GET_NESTED_STATE reports it (also after L1 clears EFER.SVME),
 * and moving a vCPU that is running L2 to another vCPU with
 * KVM_GET/SET_NESTED_STATE.  With nested paging: L1 remapping and
 * flushing, nested page faults and their error codes, the host changing
 * the memory under L2, MMIO through L1's table, and the move again.
 *
 * L2 code marks the instruction L1 is to see an exit on: R12 holds its
 * address and R13 the address after it, which L1 reads from the
 * registers kvmf_svm_vmrun_pa() saved and resumes L2 at.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"
#include "x86/svm.h"

#define VEC_DE		0
#define VEC_UD		6
#define VEC_GP		13
#define VEC_PF		14

/* A failed VMRUN's exit code; QEMU's emulated SVM writes only the low half. */
#define VMEXIT_INVALID_LOW	0xffffffffull

#define CASE_TIMEOUT_S	120

struct nested_buf {
	struct kvm_nested_state s;
	uint8_t vmcb12[KVM_STATE_NESTED_SVM_VMCB_SIZE];
};

struct nested_test {
	struct kvmf_guest_vm vm;
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_svm *svm;		/* guest address */
};

/*
 * Whether the module under test is Debian's kvm_amd (kvmf-vm --stock), for
 * the few checks where it and kvmfork differ on purpose; guest code reads
 * it too.
 */
static volatile bool impl_is_stock;

/* A VM whose vCPU 0 runs @l1(svm) with SVM in its CPUID (skips without). */
static void nested_test_create(struct nested_test *t, void (*l1)(void *))
{
	/* A guest that never comes back fails its case, not the whole program. */
	alarm(CASE_TIMEOUT_S);
	impl_is_stock = !strcmp(getenv("KVMF_IMPL") ?: "", "stock");
	kvmf_guest_vm_create(&t->vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&t->vm);
	t->svm = kvmf_svm_alloc(&t->vm);
	kvmf_guest_vcpu_add_code(&t->vm, &t->vcpu, 0, l1, t->svm);
	kvmf_svm_set_cpuid(&t->vm, &t->vcpu);
}

static uint64_t expect_sync(struct nested_test *t)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t->vm, &t->vcpu, &uc), UCALL_SYNC);
	return uc.args[0];
}

static void expect_done(struct nested_test *t)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t->vm, &t->vcpu, &uc), UCALL_DONE);
}

static void get_nested(struct kvmf_guest_vcpu *vcpu, struct nested_buf *n)
{
	memset(n, 0, sizeof(*n));
	n->s.size = sizeof(*n);
	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_NESTED_STATE, n));
	KVMF_ASSERT_EQ(n->s.format, KVM_STATE_NESTED_FORMAT_SVM);
}

static uint16_t nested_flags(struct kvmf_guest_vcpu *vcpu)
{
	static struct nested_buf n;

	get_nested(vcpu, &n);
	return n.s.flags;
}

/* ---- Guest-side helpers ---- */

/* L2's next exit must be @code at the instruction L2 marked in R12. */
static void expect_exit(struct kvmf_svm *svm, uint64_t code)
{
	struct vmcb *vmcb = svm->vmcb;
	uint64_t got = kvmf_svm_run(svm);

	if (got != code)
		GUEST_FAIL("exit %#lx, expected %#lx (info1 %#lx info2 %#lx rip %#lx)", got, code,
			   vmcb->control.exit_info_1, vmcb->control.exit_info_2, vmcb->save.rip);
	GUEST_ASSERT_EQ(vmcb->save.rip, svm->l2.r12);
	GUEST_ASSERT_EQ(vmcb->control.exit_int_info, 0);
}

/* Resumes L2 after its marked instruction. */
static void skip_marked(struct kvmf_svm *svm)
{
	kvmf_svm_set_rip(svm, svm->l2.r13);
}

static volatile uint64_t exc_count, exc_vector, exc_error;

/* An exception handler that counts and skips a 3-byte SVM instruction. */
static void skip_svm_insn(struct kvmf_exc_frame *frame)
{
	exc_count++;
	exc_vector = frame->vector;
	exc_error = frame->error_code;
	frame->rip += 3;
}

/* ---- vmmcall_exit ---- */

#define L2_RAX_1	0x1111222233334444ull
#define L2_RAX_2	0x5555666677778888ull

static volatile uint64_t l2_progress, l2_seen_rax;

static void l2_two_vmmcalls(void)
{
	uint64_t rax = L2_RAX_1;

	asm volatile("lea 1f(%%rip), %%r12\n1:\tvmmcall" : "+a"(rax) : : "r12", "memory");
	l2_seen_rax = rax;
	l2_progress = 1;
	asm volatile("lea 1f(%%rip), %%r12\n1:\tvmmcall" : : : "rax", "r12", "memory");
	l2_progress = 2;
}

static void l1_vmmcall_exit(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;

	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_two_vmmcalls);
	kvmf_svm_vmrun_pa((uint64_t)vmcb, &svm->l2);
	/* Back in L1 after #VMEXIT, GIF clear until STGI. */
	GUEST_ASSERT_EQ(vmcb->control.exit_code, VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(vmcb->save.rip, svm->l2.r12);
	GUEST_ASSERT_EQ(vmcb->save.rax, L2_RAX_1);
	GUEST_ASSERT_EQ(vmcb->control.exit_int_info, 0);
	GUEST_ASSERT_EQ(l2_progress, 0);
	GUEST_ASSERT(vmcb->save.rsp < svm->l2_stack_top &&
		     vmcb->save.rsp > svm->l2_stack_top - KVMF_SVM_L2_STACK_PAGES * 4096);
	GUEST_SYNC(1);
	kvmf_svm_stgi();
	GUEST_SYNC(2);

	/* No NRIP save needed: VMMCALL is 3 bytes. */
	vmcb->save.rip += 3;
	vmcb->save.rax = L2_RAX_2;
	kvmf_svm_vmrun_pa((uint64_t)vmcb, &svm->l2);
	GUEST_ASSERT_EQ(vmcb->control.exit_code, VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(vmcb->save.rip, svm->l2.r12);
	GUEST_ASSERT_EQ(l2_progress, 1);
	GUEST_ASSERT_EQ(l2_seen_rax, L2_RAX_2);
	kvmf_svm_stgi();
}

static void test_vmmcall_exit(void)
{
	struct nested_test t;
	uint16_t flags;

	nested_test_create(&t, l1_vmmcall_exit);
	/* Before VMRUN: not in guest mode, GIF set. */
	KVMF_ASSERT_EQ(nested_flags(&t.vcpu), KVM_STATE_NESTED_GIF_SET);
	KVMF_ASSERT_EQ(expect_sync(&t), 1);
	flags = nested_flags(&t.vcpu);
	KVMF_ASSERT(!(flags & KVM_STATE_NESTED_GUEST_MODE), "flags %#x", flags);
	KVMF_ASSERT(!(flags & KVM_STATE_NESTED_GIF_SET), "GIF set after #VMEXIT: flags %#x",
		    flags);
	KVMF_ASSERT_EQ(expect_sync(&t), 2);
	KVMF_ASSERT_EQ(nested_flags(&t.vcpu), KVM_STATE_NESTED_GIF_SET);
	expect_done(&t);
}

/* ---- intercepts ---- */

#define L2_CPUID_LEAF	0x4000abcdu
#define L2_OUT_PORT	0x99
#define L2_IN_PORT	0x9a
#define L2_IN_VALUE	0x5678
#define L2_STAR_READ	0x2222222211111111ull
#define L2_STAR_WRITE	0x3333333344444444ull
/* PML4 entry 1 is not present: a #PF in L2. */
#define UNMAPPED_GVA	0x8000001234ull

enum {
	V_CPUID_A, V_CPUID_B, V_CPUID_C, V_CPUID_D, V_IN, V_STAR, V_EFER, V_DONE, V_COUNT
};
static volatile uint64_t l2_vals[V_COUNT];

#define STR_(x)	#x
#define STR(x)	STR_(x)
#define MARK	"lea 1f(%%rip), %%r12\n\tlea 2f(%%rip), %%r13\n1:\t"
#define MARK_END "\n2:"

static void l2_intercepts(void)
{
	uint32_t a, b, c, d;
	uint64_t v = 0;

	asm volatile(MARK "cpuid" MARK_END
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(L2_CPUID_LEAF), "c"(0)
		     : "r12", "r13", "memory");
	l2_vals[V_CPUID_A] = a;
	l2_vals[V_CPUID_B] = b;
	l2_vals[V_CPUID_C] = c;
	l2_vals[V_CPUID_D] = d;
	asm volatile(MARK "hlt" MARK_END : : : "r12", "r13", "memory");
	asm volatile(MARK "outb %%al, $" STR(L2_OUT_PORT) MARK_END
		     : : "a"(0x5a) : "r12", "r13", "memory");
	asm volatile(MARK "inw %%dx, %%ax" MARK_END
		     : "+a"(v) : "d"(L2_IN_PORT) : "r12", "r13", "memory");
	l2_vals[V_IN] = v & 0xffff;
	asm volatile(MARK "rdmsr" MARK_END
		     : "=a"(a), "=d"(d) : "c"(MSR_STAR) : "r12", "r13", "memory");
	l2_vals[V_STAR] = (uint64_t)d << 32 | a;
	asm volatile(MARK "wrmsr" MARK_END
		     : : "a"((uint32_t)L2_STAR_WRITE), "d"((uint32_t)(L2_STAR_WRITE >> 32)),
		       "c"(MSR_STAR) : "r12", "r13", "memory");
	/* Not in the MSRPM: KVM answers, L1 sees nothing. */
	l2_vals[V_EFER] = kvmf_rdmsr(MSR_EFER);
	asm volatile(MARK "ud2" MARK_END : : : "r12", "r13", "memory");
	a = 1;
	d = 0;
	asm volatile(MARK "divl %%ecx" MARK_END
		     : "+a"(a), "+d"(d) : "c"(0) : "r12", "r13", "memory");
	v = UNMAPPED_GVA;
	asm volatile(MARK "mov (%%rax), %%rax" MARK_END : "+a"(v) : : "r12", "r13", "memory");
	l2_vals[V_DONE] = 1;
	asm volatile(MARK "vmmcall" MARK_END : : : "r12", "r13", "memory");
}

static void l1_intercepts(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;
	uint64_t info1, star = kvmf_rdmsr(MSR_STAR);

	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_intercepts);
	vmcb->control.intercept_misc1 |= INTERCEPT_CPUID | INTERCEPT_HLT | INTERCEPT_IOIO_PROT |
					 INTERCEPT_MSR_PROT;
	vmcb->control.intercept_exceptions = 1u << VEC_DE | 1u << VEC_UD | 1u << VEC_PF;
	kvmf_svm_set_bit(svm->iopm, L2_OUT_PORT);
	kvmf_svm_set_bit(svm->iopm, L2_IN_PORT);
	kvmf_svm_intercept_msr(svm, MSR_STAR, true, true);

	/* CPUID: L1 answers with its own values. */
	expect_exit(svm, VMEXIT_CPUID);
	GUEST_ASSERT_EQ(vmcb->save.rax, L2_CPUID_LEAF);
	vmcb->save.rax = 0xaaaa;
	svm->l2.rbx = 0xbbbb;
	svm->l2.rcx = 0xcccc;
	svm->l2.rdx = 0xdddd;
	skip_marked(svm);

	expect_exit(svm, VMEXIT_HLT);
	GUEST_ASSERT_EQ(l2_vals[V_CPUID_A], 0xaaaa);
	GUEST_ASSERT_EQ(l2_vals[V_CPUID_B], 0xbbbb);
	GUEST_ASSERT_EQ(l2_vals[V_CPUID_C], 0xcccc);
	GUEST_ASSERT_EQ(l2_vals[V_CPUID_D], 0xdddd);
	skip_marked(svm);

	/* OUT imm8, 8 bits: EXITINFO2 is the next RIP. */
	expect_exit(svm, VMEXIT_IOIO);
	info1 = vmcb->control.exit_info_1;
	GUEST_PRINTF("OUT %#x: EXITINFO1 %#lx\n", L2_OUT_PORT, info1);
	GUEST_ASSERT_EQ(info1 >> IOIO_PORT_SHIFT, L2_OUT_PORT);
	GUEST_ASSERT_EQ(info1 & (IOIO_TYPE_IN | IOIO_STR | IOIO_REP), 0);
	GUEST_ASSERT_EQ(info1 & (IOIO_SZ8 | IOIO_SZ16 | IOIO_SZ32), IOIO_SZ8);
	/*
	 * The address size: A64 on AMD's CPUs; QEMU's emulated SVM, which
	 * KVM passes the exit information of through, reports none.
	 */
	GUEST_ASSERT((info1 & (IOIO_A16 | IOIO_A32 | IOIO_A64)) == IOIO_A64 ||
		     !(info1 & (IOIO_A16 | IOIO_A32 | IOIO_A64)));
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, svm->l2.r13);
	GUEST_ASSERT_EQ(vmcb->save.rax & 0xff, 0x5a);
	skip_marked(svm);

	/* IN DX, 16 bits: L1 supplies the value. */
	expect_exit(svm, VMEXIT_IOIO);
	info1 = vmcb->control.exit_info_1;
	GUEST_PRINTF("IN %#x: EXITINFO1 %#lx\n", L2_IN_PORT, info1);
	GUEST_ASSERT_EQ(info1 >> IOIO_PORT_SHIFT, L2_IN_PORT);
	GUEST_ASSERT_EQ(info1 & (IOIO_TYPE_IN | IOIO_STR | IOIO_REP), IOIO_TYPE_IN);
	GUEST_ASSERT_EQ(info1 & (IOIO_SZ8 | IOIO_SZ16 | IOIO_SZ32), IOIO_SZ16);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, svm->l2.r13);
	vmcb->save.rax = L2_IN_VALUE;
	skip_marked(svm);

	/* RDMSR of an intercepted MSR: EXITINFO1 0. */
	expect_exit(svm, VMEXIT_MSR);
	GUEST_ASSERT_EQ(l2_vals[V_IN], L2_IN_VALUE);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 0);
	GUEST_ASSERT_EQ(svm->l2.rcx, MSR_STAR);
	vmcb->save.rax = (uint32_t)L2_STAR_READ;
	svm->l2.rdx = L2_STAR_READ >> 32;
	skip_marked(svm);

	/* WRMSR: EXITINFO1 1, the value in EDX:EAX; the MSR is untouched. */
	expect_exit(svm, VMEXIT_MSR);
	GUEST_ASSERT_EQ(l2_vals[V_STAR], L2_STAR_READ);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 1);
	GUEST_ASSERT_EQ(svm->l2.rcx, MSR_STAR);
	GUEST_ASSERT_EQ((uint32_t)vmcb->save.rax, (uint32_t)L2_STAR_WRITE);
	GUEST_ASSERT_EQ((uint32_t)svm->l2.rdx, L2_STAR_WRITE >> 32);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_STAR), star);
	skip_marked(svm);

	/* The RDMSR of EFER went to KVM, so the next exit is the #UD. */
	expect_exit(svm, VMEXIT_EXCP(VEC_UD));
	GUEST_ASSERT_EQ(l2_vals[V_EFER], vmcb->save.efer);
	skip_marked(svm);

	expect_exit(svm, VMEXIT_EXCP(VEC_DE));
	skip_marked(svm);

	/* #PF: EXITINFO1 the error code (not present, read), EXITINFO2 the address. */
	expect_exit(svm, VMEXIT_EXCP(VEC_PF));
	GUEST_PRINTF("#PF: EXITINFO1 %#lx EXITINFO2 %#lx\n", vmcb->control.exit_info_1,
		     vmcb->control.exit_info_2);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, UNMAPPED_GVA);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 0);
	skip_marked(svm);

	expect_exit(svm, VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(l2_vals[V_DONE], 1);
}

static void test_intercepts(void)
{
	struct nested_test t;

	nested_test_create(&t, l1_intercepts);
	expect_done(&t);
}

/* ---- shutdown_intercepted ---- */

static void l2_triple_fault(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	/* #UD cannot be delivered, nor the #GP for that, nor the #DF: shutdown. */
	asm volatile("lidt %0\n\t"
		     "lea 1f(%%rip), %%r12\n"
		     "1:\tud2" : : "m"(empty_idt) : "r12", "memory");
}

static void count_ud(struct kvmf_exc_frame *frame)
{
	exc_count++;
	frame->rip += 2;
}

static void l1_shutdown_intercepted(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;

	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_triple_fault);
	vmcb->control.intercept_misc1 |= INTERCEPT_SHUTDOWN;
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_SHUTDOWN);

	/* L1's own IDT is untouched. */
	kvmf_guest_exc_handlers[VEC_UD] = count_ud;
	asm volatile("ud2");
	GUEST_ASSERT_EQ(exc_count, 1);
}

static void test_shutdown_intercepted(void)
{
	struct nested_test t;

	nested_test_create(&t, l1_shutdown_intercepted);
	expect_done(&t);
}

/* ---- efer_svme_clear_intercepted / efer_svme_clear_not_intercepted ---- */

static volatile uint64_t l1_after_vmrun;

static void l2_clear_svme(void)
{
	uint64_t efer = kvmf_rdmsr(MSR_EFER) & ~EFER_SVME;

	asm volatile(MARK "wrmsr" MARK_END
		     : : "a"((uint32_t)efer), "d"((uint32_t)(efer >> 32)), "c"(MSR_EFER)
		     : "r12", "r13", "memory");
	/* Only reached when L1 skipped the WRMSR, or the host let L2 go on. */
	GUEST_SYNC(0x5e5e);
	l2_vals[V_EFER] = kvmf_rdmsr(MSR_EFER);
	asm volatile(MARK "vmmcall" MARK_END : : : "r12", "r13", "memory");
}

static void l1_efer_svme_clear(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;
	uint64_t efer;

	kvmf_svm_enable(svm);
	efer = kvmf_rdmsr(MSR_EFER);
	kvmf_svm_vmcb_init(svm, l2_clear_svme);
	vmcb->control.intercept_misc1 |= INTERCEPT_MSR_PROT;
	kvmf_svm_intercept_msr(svm, MSR_EFER, false, true);

	expect_exit(svm, VMEXIT_MSR);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 1);
	GUEST_ASSERT_EQ(svm->l2.rcx, MSR_EFER);
	GUEST_ASSERT_EQ((uint32_t)vmcb->save.rax, (uint32_t)(efer & ~EFER_SVME));
	GUEST_ASSERT(vmcb->save.efer & EFER_SVME);
	skip_marked(svm);

	/* L2 goes on with SVME still set, through its GUEST_SYNC, to VMMCALL. */
	expect_exit(svm, VMEXIT_VMMCALL);
	GUEST_ASSERT(l2_vals[V_EFER] & EFER_SVME);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_EFER), efer);
}

static void test_efer_svme_clear_intercepted(void)
{
	struct nested_test t;

	nested_test_create(&t, l1_efer_svme_clear);
	KVMF_ASSERT_EQ(expect_sync(&t), 0x5e5e);
	expect_done(&t);
}

static void l1_efer_svme_clear_unintercepted(void *arg)
{
	struct kvmf_svm *svm = arg;

	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_clear_svme);
	/* The MSRPM is in use, but EFER's bits are clear. */
	svm->vmcb->control.intercept_misc1 |= INTERCEPT_MSR_PROT;
	kvmf_svm_run(svm);
	l1_after_vmrun = 1;
	GUEST_SYNC(0x1111);
}

/*
 * L2 clearing EFER.SVME without L1 intercepting it leaves the CPU in a
 * state it cannot be in (guest mode without SVM): L1 takes a triple fault
 * (KVM_EXIT_SHUTDOWN for the VMM) and never runs again.  Debian's 6.1
 * kvm_amd instead drops guest mode and goes on running L2's code with
 * L1's other state (see known-differences.txt).
 */
static void test_efer_svme_clear_not_intercepted(void)
{
	struct nested_test t;
	struct kvmf_ucall uc;
	uint64_t *marker;

	nested_test_create(&t, l1_efer_svme_clear_unintercepted);
	marker = KVMF_SVM_HOST_PTR(&t.vm, &l1_after_vmrun);
	KVMF_CHECK(ioctl(t.vcpu.fd, KVM_RUN, 0));
	if (kvmf_guest_get_ucall(&t.vm, &t.vcpu, &uc) != UCALL_NONE)
		printf("# ucall %lu (%#lx) after L2's WRMSR, L1 marker %lu\n", uc.cmd,
		       uc.args[0], *marker);
	KVMF_ASSERT(t.vcpu.run->exit_reason == KVM_EXIT_SHUTDOWN,
		    "exit reason %u, expected KVM_EXIT_SHUTDOWN", t.vcpu.run->exit_reason);
	KVMF_ASSERT_EQ(*marker, 0);
}

/* ---- vmrun_illegal_vmcb ---- */

static volatile uint64_t l2_ran;

static void l2_mark_ran(void)
{
	l2_ran = 1;
}

enum illegal_vmcb {
	BAD_EFER_SVME,
	BAD_ASID_0,
	BAD_NO_VMRUN_INTERCEPT,
	BAD_CR0_NW_NOT_CD,
	BAD_CR0_HIGH,
	BAD_CR4_PAE,
	BAD_CS_L_AND_D,
	BAD_DR6_HIGH,
	BAD_DR7_HIGH,
	BAD_EFER_RESERVED,
	BAD_CR4_RESERVED,
	BAD_MSRPM_ADDR,
	BAD_IOPM_ADDR,
	BAD_COUNT
};

static volatile uint64_t phys_bits;

static void make_illegal(struct vmcb *vmcb, enum illegal_vmcb bad)
{
	switch (bad) {
	case BAD_EFER_SVME:
		vmcb->save.efer &= ~EFER_SVME;
		break;
	case BAD_ASID_0:
		vmcb->control.asid = 0;
		break;
	case BAD_NO_VMRUN_INTERCEPT:
		vmcb->control.intercept_misc2 &= ~INTERCEPT_VMRUN;
		break;
	case BAD_CR0_NW_NOT_CD:
		vmcb->save.cr0 = (vmcb->save.cr0 & ~X86_CR0_CD) | X86_CR0_NW;
		break;
	case BAD_CR0_HIGH:
		vmcb->save.cr0 |= 1ull << 32;
		break;
	case BAD_CR4_PAE:
		vmcb->save.cr4 &= ~X86_CR4_PAE;
		break;
	case BAD_CS_L_AND_D:
		vmcb->save.cs.attrib |= 1u << 9 | 1u << 10;	/* L and D */
		break;
	case BAD_DR6_HIGH:
		vmcb->save.dr6 |= 1ull << 32;
		break;
	case BAD_DR7_HIGH:
		vmcb->save.dr7 |= 1ull << 32;
		break;
	case BAD_EFER_RESERVED:
		vmcb->save.efer |= 1ull << 63;
		break;
	case BAD_CR4_RESERVED:
		vmcb->save.cr4 |= 1ull << 63;
		break;
	case BAD_MSRPM_ADDR:
		vmcb->control.intercept_misc1 |= INTERCEPT_MSR_PROT;
		vmcb->control.msrpm_base_pa = 1ull << phys_bits;
		break;
	case BAD_IOPM_ADDR:
		vmcb->control.intercept_misc1 |= INTERCEPT_IOIO_PROT;
		vmcb->control.iopm_base_pa = 1ull << phys_bits;
		break;
	case BAD_COUNT:
		break;
	}
}

static void l1_illegal_vmcb(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;
	unsigned int bad;
	uint64_t code;

	kvmf_svm_enable(svm);
	for (bad = 0; bad < BAD_COUNT; bad++) {
		kvmf_svm_vmcb_init(svm, l2_mark_ran);
		make_illegal(vmcb, bad);
		vmcb->control.exit_code = 0x1234;
		vmcb->control.exit_info_1 = 0x5678;
		vmcb->control.exit_info_2 = 0x9abc;
		kvmf_svm_vmrun_pa((uint64_t)vmcb, &svm->l2);
		code = vmcb->control.exit_code;
		if (code != VMEXIT_INVALID && code != VMEXIT_INVALID_LOW)
			GUEST_FAIL("illegal VMCB %u: exit code %#lx", bad, code);
		if (!bad)
			GUEST_PRINTF("illegal VMCB: exit code %#lx\n", code);
		GUEST_ASSERT_EQ(l2_ran, 0);
		GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 0);
		GUEST_ASSERT_EQ(vmcb->control.exit_info_2, 0);
		/* The host checks GIF: clear, as after any #VMEXIT (VMEXIT_INVALID is one). */
		GUEST_SYNC(bad);
		kvmf_svm_stgi();
	}
	/* The same VMCB, legal, runs. */
	kvmf_svm_vmcb_init(svm, l2_mark_ran);
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(l2_ran, 1);
}

static void test_vmrun_illegal_vmcb(void)
{
	struct nested_test t;
	uint32_t eax, ebx, ecx, edx;
	unsigned int bad;
	uint16_t flags;

	kvmf_cpuid(0x80000008, 0, &eax, &ebx, &ecx, &edx);
	phys_bits = eax & 0xff;
	nested_test_create(&t, l1_illegal_vmcb);
	for (bad = 0; bad < BAD_COUNT; bad++) {
		KVMF_ASSERT_EQ(expect_sync(&t), bad);
		flags = nested_flags(&t.vcpu);
		KVMF_ASSERT(flags == 0, "illegal VMCB %u: flags %#x", bad, flags);
	}
	expect_done(&t);
}

/* ---- vmrun_bad_address ---- */

static volatile uint64_t unbacked_gpa;

static void l1_vmrun_bad_address(void *arg)
{
	struct kvmf_svm *svm = arg;
	uint64_t vmcb = (uint64_t)svm->vmcb;
	const uint64_t bad[] = { unbacked_gpa, 1ull << phys_bits, vmcb + 0x10 };
	unsigned int i;

	kvmf_guest_exc_handlers[VEC_GP] = skip_svm_insn;

	/* EFER.SVME set, but MSR_VM_HSAVE_PA never written: KVM refuses with #GP(0). */
	kvmf_wrmsr(MSR_EFER, kvmf_rdmsr(MSR_EFER) | EFER_SVME);
	kvmf_svm_vmcb_init(svm, l2_mark_ran);
	kvmf_svm_vmrun_pa(vmcb, &svm->l2);
	GUEST_ASSERT_EQ(exc_count, 1);
	GUEST_ASSERT_EQ(exc_vector, VEC_GP);
	GUEST_ASSERT_EQ(exc_error, 0);
	GUEST_ASSERT_EQ(l2_ran, 0);

	/*
	 * No memory there, beyond MAXPHYADDR, not page-aligned: #GP(0) for
	 * VMRUN, VMLOAD and VMSAVE, and L2 does not run.
	 */
	kvmf_svm_enable(svm);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		kvmf_svm_vmcb_init(svm, l2_mark_ran);
		exc_count = 0;
		exc_vector = exc_error = ~0ull;
		kvmf_svm_vmrun_pa(bad[i], &svm->l2);
		kvmf_svm_stgi();
		GUEST_ASSERT_EQ(exc_count, 1);
		GUEST_ASSERT_EQ(exc_vector, VEC_GP);
		GUEST_ASSERT_EQ(exc_error, 0);
		GUEST_ASSERT_EQ(l2_ran, 0);
		GUEST_ASSERT_EQ(svm->vmcb->control.exit_code, 0);

		exc_count = 0;
		exc_vector = exc_error = ~0ull;
		kvmf_svm_vmload(bad[i]);
		GUEST_ASSERT_EQ(exc_count, 1);
		GUEST_ASSERT_EQ(exc_vector, VEC_GP);
		GUEST_ASSERT_EQ(exc_error, 0);

		exc_count = 0;
		exc_vector = exc_error = ~0ull;
		kvmf_svm_vmsave(bad[i]);
		GUEST_ASSERT_EQ(exc_count, 1);
		GUEST_ASSERT_EQ(exc_vector, VEC_GP);
		GUEST_ASSERT_EQ(exc_error, 0);
	}

	/* And with a good address L2 runs. */
	kvmf_svm_vmcb_init(svm, l2_mark_ran);
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(l2_ran, 1);
}

static void test_vmrun_bad_address(void)
{
	uint32_t eax, ebx, ecx, edx;
	struct nested_test t;

	kvmf_cpuid(0x80000008, 0, &eax, &ebx, &ecx, &edx);
	phys_bits = eax & 0xff;
	/* Far above guest RAM and below MAXPHYADDR, with no memslot. */
	unbacked_gpa = kvmf_max_guest_gfn() << 12;
	nested_test_create(&t, l1_vmrun_bad_address);
	expect_done(&t);
}

/* ---- vmload_vmsave_gif ---- */

#define KGS_VALUE	0xffff888012340000ull
#define STAR_VALUE	0x0023001000000000ull
#define LSTAR_VALUE	0xffffffff81000000ull
#define CSTAR_VALUE	0xffffffff81000100ull
#define SFMASK_VALUE	0x47700ull
#define FS_VALUE	0x7f0000001000ull
#define GS_VALUE	0x7f0000002000ull
/* 32 bits: AMD's SYSENTER MSRs keep no more (QEMU's keep 64). */
#define SYSENTER_VALUE	0x81000200ull

static void l1_vmload_vmsave_gif(void *arg)
{
	struct kvmf_svm *svm = arg;
	/* The I/O permission map is not in use here: a second page. */
	struct vmcb *a = svm->scratch, *b = (void *)svm->iopm;
	volatile uint64_t *src, *dst;
	unsigned int i, n;

	kvmf_svm_enable(svm);
	kvmf_wrmsr(MSR_KERNEL_GS_BASE, KGS_VALUE);
	kvmf_wrmsr(MSR_STAR, STAR_VALUE);
	kvmf_wrmsr(MSR_LSTAR, LSTAR_VALUE);
	kvmf_wrmsr(MSR_CSTAR, CSTAR_VALUE);
	kvmf_wrmsr(MSR_SFMASK, SFMASK_VALUE);
	kvmf_wrmsr(MSR_SYSENTER_EIP, SYSENTER_VALUE);
	kvmf_wrmsr(MSR_FS_BASE, FS_VALUE);
	kvmf_wrmsr(MSR_GS_BASE, GS_VALUE);

	kvmf_svm_vmsave((uint64_t)a);
	GUEST_ASSERT_EQ(a->save.kernel_gs_base, KGS_VALUE);
	GUEST_ASSERT_EQ(a->save.star, STAR_VALUE);
	GUEST_ASSERT_EQ(a->save.lstar, LSTAR_VALUE);
	GUEST_ASSERT_EQ(a->save.cstar, CSTAR_VALUE);
	GUEST_ASSERT_EQ(a->save.sfmask, SFMASK_VALUE);
	GUEST_ASSERT_EQ(a->save.sysenter_eip, SYSENTER_VALUE);
	GUEST_ASSERT_EQ(a->save.fs.base, FS_VALUE);
	GUEST_ASSERT_EQ(a->save.gs.base, GS_VALUE);
	GUEST_ASSERT_EQ(a->save.tr.selector, 0x18);
	GUEST_ASSERT_EQ(a->save.tr.base, KVMF_GUEST_TSS_GPA);

	/* A copy with other values: VMLOAD puts them in the MSRs. */
	src = (volatile uint64_t *)a;
	dst = (volatile uint64_t *)b;
	n = sizeof(struct vmcb) / 8;
	for (i = 0; i < n; i++)
		dst[i] = src[i];
	b->save.kernel_gs_base = KGS_VALUE + 0x1000;
	b->save.star = STAR_VALUE + (1ull << 48);
	b->save.lstar = LSTAR_VALUE + 0x1000;
	b->save.fs.base = FS_VALUE + 0x1000;
	b->save.gs.base = GS_VALUE + 0x1000;
	kvmf_svm_vmload((uint64_t)b);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_KERNEL_GS_BASE), KGS_VALUE + 0x1000);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_STAR), STAR_VALUE + (1ull << 48));
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_LSTAR), LSTAR_VALUE + 0x1000);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_CSTAR), CSTAR_VALUE);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_FS_BASE), FS_VALUE + 0x1000);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_GS_BASE), GS_VALUE + 0x1000);
	kvmf_svm_vmload((uint64_t)a);
	GUEST_ASSERT_EQ(kvmf_rdmsr(MSR_KERNEL_GS_BASE), KGS_VALUE);
	kvmf_wrmsr(MSR_FS_BASE, 0);
	kvmf_wrmsr(MSR_GS_BASE, 0);

	/* GIF as the host sees it. */
	kvmf_svm_clgi();
	GUEST_SYNC(1);
	kvmf_svm_stgi();
	GUEST_SYNC(2);

	/* Without EFER.SVME the SVM instructions are undefined. */
	kvmf_guest_exc_handlers[VEC_UD] = skip_svm_insn;
	kvmf_wrmsr(MSR_EFER, kvmf_rdmsr(MSR_EFER) & ~EFER_SVME);
	exc_count = 0;
	kvmf_svm_vmrun_pa((uint64_t)svm->vmcb, &svm->l2);
	GUEST_ASSERT_EQ(exc_count, 1);
	kvmf_svm_vmload((uint64_t)a);
	GUEST_ASSERT_EQ(exc_count, 2);
	kvmf_svm_vmsave((uint64_t)a);
	GUEST_ASSERT_EQ(exc_count, 3);
	GUEST_ASSERT_EQ(exc_vector, VEC_UD);
	kvmf_svm_clgi();
	kvmf_svm_stgi();
	GUEST_PRINTF("CLGI and STGI without EFER.SVME: %lu #UD\n", exc_count - 3);
	/*
	 * Debian's 6.1 kvm_amd lets the CPU run CLGI and STGI itself when it
	 * has virtual GIF, and the CPU sees EFER.SVME set for any guest: no
	 * #UD there.  kvmfork intercepts them while the guest's SVME is clear.
	 */
	if (!impl_is_stock)
		GUEST_ASSERT_EQ(exc_count, 5);
}

static void test_vmload_vmsave_gif(void)
{
	struct nested_test t;

	nested_test_create(&t, l1_vmload_vmsave_gif);
	KVMF_ASSERT_EQ(expect_sync(&t), 1);
	KVMF_ASSERT_EQ(nested_flags(&t.vcpu), 0);
	KVMF_ASSERT_EQ(expect_sync(&t), 2);
	KVMF_ASSERT_EQ(nested_flags(&t.vcpu), KVM_STATE_NESTED_GIF_SET);
	expect_done(&t);
}

/* ---- nested_state_save_restore ---- */

#define L2_SYNC_VALUE	0x12

static void l2_sync_then_vmmcall(void)
{
	GUEST_SYNC(L2_SYNC_VALUE);
	l2_progress = 1;
	asm volatile("lea 1f(%%rip), %%r12\n1:\tvmmcall" : : : "r12", "memory");
	l2_progress = 2;
}

static void l1_nested_state(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;

	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_sync_then_vmmcall);
	/* L2's GUEST_SYNC port is not intercepted: it goes straight to the VMM. */
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	/* From here on, on the second vCPU. */
	GUEST_ASSERT_EQ(vmcb->save.rip, svm->l2.r12);
	GUEST_ASSERT_EQ(l2_progress, 1);
	GUEST_SYNC(0x21);
	/* VMRUN again works there too (MSR_VM_HSAVE_PA came along). */
	vmcb->save.rip += 3;
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(l2_progress, 2);
}

static const uint32_t moved_msrs[] = {
	MSR_VM_HSAVE_PA, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE,
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
};

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[ARRAY_SIZE(moved_msrs)];
};

/* What moving a vCPU to another takes, as a VMM would save it. */
struct vcpu_state {
	struct nested_buf n;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct msr_buf msrs;
};

/*
 * After a ucall exit: finishes the OUT (RIP past it) without entering the
 * guest, as a VMM does before saving, then saves the vCPU's state.
 */
static void vcpu_state_save(struct kvmf_guest_vcpu *vcpu, struct vcpu_state *st)
{
	unsigned int i;

	vcpu->run->immediate_exit = 1;
	KVMF_ASSERT_ERRNO(ioctl(vcpu->fd, KVM_RUN, 0), EINTR);
	vcpu->run->immediate_exit = 0;

	get_nested(vcpu, &st->n);
	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_REGS, &st->regs));
	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_SREGS, &st->sregs));
	KVMF_CHECK(ioctl(vcpu->fd, KVM_GET_FPU, &st->fpu));
	memset(&st->msrs, 0, sizeof(st->msrs));
	st->msrs.hdr.nmsrs = ARRAY_SIZE(moved_msrs);
	for (i = 0; i < ARRAY_SIZE(moved_msrs); i++)
		st->msrs.e[i].index = moved_msrs[i];
	KVMF_ASSERT_EQ(ioctl(vcpu->fd, KVM_GET_MSRS, &st->msrs), ARRAY_SIZE(moved_msrs));
}

/* A new vCPU @id with the CPUID and the segments and control registers of @st. */
static void vcpu_state_new_vcpu(struct nested_test *t, struct kvmf_guest_vcpu *vcpu, int id,
				const struct vcpu_state *st)
{
	kvmf_guest_vcpu_add(&t->vm, vcpu, id);
	kvmf_svm_set_cpuid(&t->vm, vcpu);
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_SREGS, &st->sregs));
}

/* The rest of @st on such a vCPU: registers, FPU, MSRs, then the nested state. */
static void vcpu_state_load(struct kvmf_guest_vcpu *vcpu, const struct vcpu_state *st)
{
	static struct nested_buf got;

	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_REGS, &st->regs));
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_FPU, &st->fpu));
	KVMF_ASSERT_EQ(ioctl(vcpu->fd, KVM_SET_MSRS, &st->msrs), ARRAY_SIZE(moved_msrs));
	KVMF_CHECK(ioctl(vcpu->fd, KVM_SET_NESTED_STATE, &st->n));
	get_nested(vcpu, &got);
	KVMF_ASSERT_EQ(got.s.flags, st->n.s.flags);
	KVMF_ASSERT_EQ(got.s.size, st->n.s.size);
	KVMF_ASSERT_EQ(got.s.hdr.svm.vmcb_pa, st->n.s.hdr.svm.vmcb_pa);
}

/* The whole state of @t's vCPU 0, saved in @st, onto a new vCPU @id. */
static void vcpu_move(struct nested_test *t, struct kvmf_guest_vcpu *vcpu, int id,
		      struct vcpu_state *st)
{
	vcpu_state_save(&t->vcpu, st);
	vcpu_state_new_vcpu(t, vcpu, id, st);
	vcpu_state_load(vcpu, st);
}

/* KVM_SET_NESTED_STATE of @n changed by the caller must fail with EINVAL. */
static void expect_set_einval(struct kvmf_guest_vcpu *vcpu, struct nested_buf *n,
			      const char *what)
{
	errno = 0;
	if (ioctl(vcpu->fd, KVM_SET_NESTED_STATE, n) != -1 || errno != EINVAL)
		kvmf_test_fail(__FILE__, __LINE__, "KVM_SET_NESTED_STATE with %s: errno %d (%s)",
			       what, errno, strerror(errno));
}

/*
 * Too small a buffer for KVM_GET_NESTED_STATE in guest mode: E2BIG, and
 * the size needed written back.  Given room for the header only, Debian's
 * 6.1 kvm_amd also writes the 4 KiB of VMCB12 past the end of the
 * caller's buffer (a canary in a larger buffer shows it); kvmfork writes
 * nothing beyond the size it is given.
 */
static void check_get_e2big(struct kvmf_guest_vcpu *vcpu)
{
	static struct nested_buf bad;
	unsigned int i;

	memset(&bad, 0x5a, sizeof(bad));
	memset(&bad.s, 0, sizeof(bad.s));
	bad.s.size = sizeof(bad.s);
	KVMF_ASSERT_ERRNO(ioctl(vcpu->fd, KVM_GET_NESTED_STATE, &bad), E2BIG);
	KVMF_ASSERT_EQ(bad.s.size, sizeof(bad));
	KVMF_ASSERT_EQ(bad.s.flags, KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET);
	for (i = 0; i < sizeof(bad.vmcb12) && bad.vmcb12[i] == 0x5a; i++)
		;
	if (i < sizeof(bad.vmcb12))
		printf("# KVM_GET_NESTED_STATE of size %zu wrote beyond it, at offset %zu\n",
		       sizeof(bad.s), sizeof(bad.s) + i);
	if (!impl_is_stock)
		KVMF_ASSERT(i == sizeof(bad.vmcb12), "written beyond the buffer");
	/*
	 * With less than the header KVM writes nothing but the size, which
	 * is the header's: the caller learns the full size on its next try.
	 */
	memset(&bad, 0x5a, sizeof(bad));
	bad.s.size = 0;
	KVMF_ASSERT_ERRNO(ioctl(vcpu->fd, KVM_GET_NESTED_STATE, &bad), E2BIG);
	KVMF_ASSERT_EQ(bad.s.size, sizeof(bad.s));
	KVMF_ASSERT_EQ(bad.s.flags, 0x5a5a);
}

/* Nested states KVM_SET_NESTED_STATE must refuse, each a change of @good. */
static void check_set_einval(struct kvmf_guest_vcpu *vcpu, const struct nested_buf *good)
{
	static struct nested_buf bad, got;

	bad = *good;
	bad.s.format = KVM_STATE_NESTED_FORMAT_VMX;
	expect_set_einval(vcpu, &bad, "the VMX format");
	bad = *good;
	bad.s.flags |= 0x80;
	expect_set_einval(vcpu, &bad, "an unknown flag");
	bad = *good;
	bad.s.flags |= KVM_STATE_NESTED_EVMCS;
	expect_set_einval(vcpu, &bad, "the eVMCS flag");
	bad = *good;
	bad.s.flags = KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GIF_SET;
	expect_set_einval(vcpu, &bad, "run pending outside guest mode");
	bad = *good;
	bad.s.size = sizeof(bad.s);
	expect_set_einval(vcpu, &bad, "guest mode and no VMCB12");
	bad = *good;
	bad.s.size = sizeof(bad.s) - 1;
	expect_set_einval(vcpu, &bad, "a size below the header");
	bad = *good;
	bad.s.hdr.svm.vmcb_pa += 8;
	expect_set_einval(vcpu, &bad, "an unaligned VMCB12 address");
	bad = *good;
	((struct vmcb *)bad.vmcb12)->control.asid = 0;
	expect_set_einval(vcpu, &bad, "ASID 0");
	bad = *good;
	((struct vmcb *)bad.vmcb12)->control.intercept_misc2 &= ~INTERCEPT_VMRUN;
	expect_set_einval(vcpu, &bad, "no VMRUN intercept");
	bad = *good;
	((struct vmcb *)bad.vmcb12)->save.cr0 &= ~X86_CR0_PG;
	expect_set_einval(vcpu, &bad, "L1 without paging");
	/* Nothing of that took: the vCPU is not in guest mode. */
	get_nested(vcpu, &got);
	KVMF_ASSERT_EQ(got.s.flags, KVM_STATE_NESTED_GIF_SET);
}

static void test_nested_state_save_restore(void)
{
	static struct vcpu_state st;
	static struct nested_buf bad;
	struct vmcb *saved = (struct vmcb *)st.n.vmcb12;
	struct kvmf_guest_vcpu vcpu2, vcpu3;
	struct nested_test t;
	struct kvmf_ucall uc;
	struct kvmf_svm *svm;
	long cap;

	nested_test_create(&t, l1_nested_state);
	svm = KVMF_SVM_HOST_PTR(&t.vm, t.svm);
	cap = ioctl(t.vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
	printf("# KVM_CAP_NESTED_STATE %ld\n", cap);
	KVMF_ASSERT(cap >= (long)sizeof(st.n), "KVM_CAP_NESTED_STATE %ld", cap);

	/* Outside guest mode: the header alone. */
	get_nested(&t.vcpu, &st.n);
	KVMF_ASSERT_EQ(st.n.s.flags, KVM_STATE_NESTED_GIF_SET);
	KVMF_ASSERT_EQ(st.n.s.size, sizeof(st.n.s));

	KVMF_ASSERT_EQ(expect_sync(&t), L2_SYNC_VALUE);
	vcpu_state_save(&t.vcpu, &st);
	check_get_e2big(&t.vcpu);

	KVMF_ASSERT_EQ(st.n.s.flags, KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET);
	KVMF_ASSERT_EQ(st.n.s.size, sizeof(st.n));
	KVMF_ASSERT_EQ(st.n.s.hdr.svm.vmcb_pa, (uint64_t)svm->vmcb);
	/* The control area is VMCB12's, the save area L1's state to return to. */
	KVMF_ASSERT_EQ(saved->control.intercept_misc2, INTERCEPT_VMRUN | INTERCEPT_VMMCALL);
	KVMF_ASSERT_EQ(saved->control.asid, 1);
	KVMF_ASSERT(saved->save.efer & EFER_SVME, "L1 EFER %#lx", saved->save.efer);
	KVMF_ASSERT_EQ(saved->save.cr3, KVMF_GUEST_PML4_GPA);
	printf("# saved L1 RIP %#lx RSP %#lx RAX %#lx\n", saved->save.rip, saved->save.rsp,
	       saved->save.rax);
	KVMF_ASSERT_EQ(saved->save.rax, (uint64_t)svm->vmcb);
	KVMF_ASSERT_EQ(st.msrs.e[0].data, (uint64_t)svm->hsave);
	/* L2 runs on its own stack. */
	KVMF_ASSERT(st.regs.rsp < svm->l2_stack_top &&
		    st.regs.rsp > svm->l2_stack_top - KVMF_SVM_L2_STACK_PAGES * 4096,
		    "L2 RSP %#llx", st.regs.rsp);

	/* A fresh vCPU without EFER.SVME takes no guest mode. */
	kvmf_guest_vcpu_add(&t.vm, &vcpu3, 2);
	kvmf_svm_set_cpuid(&t.vm, &vcpu3);
	bad = st.n;
	expect_set_einval(&vcpu3, &bad, "guest mode, EFER.SVME clear");
	/*
	 * GIF clear without EFER.SVME: stock refuses it, since clearing
	 * EFER.SVME sets GIF there; kvmfork leaves GIF alone then, so the
	 * state exists and must be restorable (svme_clear_keeps_gif).
	 */
	bad.s.flags = 0;
	if (impl_is_stock)
		expect_set_einval(&vcpu3, &bad, "GIF clear, EFER.SVME clear");

	vcpu_state_new_vcpu(&t, &vcpu2, 1, &st);
	check_set_einval(&vcpu2, &st.n);
	/* The whole state, L2's registers first, then the nested state. */
	vcpu_state_load(&vcpu2, &st);

	/* L2 goes on on the second vCPU; its VMMCALL exits to L1 there. */
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t.vm, &vcpu2, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], 0x21);
	KVMF_ASSERT_EQ(nested_flags(&vcpu2), KVM_STATE_NESTED_GIF_SET);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t.vm, &vcpu2, &uc), UCALL_DONE);
}

/* ---- soft_int_next_rip ---- */

#define SOFT_INT_VECTOR	0x80

static volatile uint64_t soft_int_rip;

static void record_soft_int(struct kvmf_exc_frame *frame)
{
	soft_int_rip = frame->rip;
}

static void l2_cpuid_then_nops(void)
{
	uint32_t a = 0, b, c = 0, d;

	/* L1 injects a 2-byte software interrupt "at" the two NOPs. */
	asm volatile(MARK "cpuid" MARK_END "\n\tnop\n\tnop"
		     : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "r12", "r13", "memory");
	asm volatile(MARK "vmmcall" MARK_END : : : "r12", "r13", "memory");
}

static void l1_soft_int_next_rip(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;
	uint64_t after;

	kvmf_guest_exc_handlers[SOFT_INT_VECTOR] = record_soft_int;
	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_cpuid_then_nops);
	vmcb->control.intercept_misc1 |= INTERCEPT_CPUID;
	expect_exit(svm, VMEXIT_CPUID);
	GUEST_ASSERT_EQ(vmcb->control.next_rip, svm->l2.r13);

	/* With NRIP save, the interrupt's return address is next_rip. */
	after = svm->l2.r13;
	vmcb->save.rip = after;
	vmcb->control.next_rip = after + 2;
	vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_SOFT | SOFT_INT_VECTOR;
	expect_exit(svm, VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(soft_int_rip, after + 2);
}

static void test_soft_int_next_rip(void)
{
	struct nested_test t;

	nested_test_create(&t, l1_soft_int_next_rip);
	if (!(kvmf_svm_supported_features(t.vm.kvm) & CPUID_SVM_EDX_NRIPS))
		kvmf_skip("NRIP save not offered to the guest");
	expect_done(&t);
}

/* ---- Nested paging: nested_npt, npt_* ---- */

/*
 * L1's nested page tables map L2's guest RAM to the same L1 addresses
 * with 2 MiB pages (lib/x86/svm.c), so L2's code, stack and page tables
 * (L1's) are where they are for L1.  Above guest RAM, in the GiB L1's own
 * page tables map 1:1 for L1 and L2 alike, the cases put what they test.
 */
/* A 2 MiB page of L2's physical space that nested paging moves elsewhere. */
#define NPT_MOVED_GPA	0x6000000ull
#define NPT_TARGET_GPA	0x6200000ull
/* Mapped by L1's page tables, not by the nested page tables: #NPF. */
#define NPT_HOLE_GPA	0x20000000ull
/* The 2 MiB range of 4 KiB nested pages: X, Y and Z, no memory for L1. */
#define NPT_X_GPA	0x20200000ull
#define NPT_Y_GPA	(NPT_X_GPA + 0x1000)
#define NPT_Z_GPA	(NPT_X_GPA + 0x2000)

/* L1 pages the 4 KiB nested pages point to, each with its marker in its first 8 bytes. */
#define NPT_L1_PAGES	3
#define PAGE_MARKER(i)	(0x5a5a00000000a000ull + (i))

static uint64_t npt_pages[NPT_L1_PAGES][512] __attribute__((aligned(4096)));

static uint64_t l1_page(unsigned int i)
{
	return (uint64_t)npt_pages[i];
}

/* A VM for a nested paging case (skips without nested paging for the guest). */
static void npt_test_create(struct nested_test *t, void (*l1)(void *))
{
	nested_test_create(t, l1);
	if (!(kvmf_svm_supported_features(t->vm.kvm) & CPUID_SVM_EDX_NP))
		kvmf_skip("nested paging not offered to the guest");
}

/* L1: SVM on, L2 to run @l2_fn with nested paging, the markers in L1's pages. */
static void l1_npt_start(struct kvmf_svm *svm, void (*l2_fn)(void))
{
	unsigned int i;

	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_fn);
	kvmf_svm_npt_init(svm, KVMF_GUEST_PROGRAM_RAM);
	for (i = 0; i < NPT_L1_PAGES; i++)
		npt_pages[i][0] = PAGE_MARKER(i);
}

/* L2's next exit must be a nested page fault at @l2_gpa with EXITINFO1 @info1. */
static void expect_npf(struct kvmf_svm *svm, uint64_t l2_gpa, uint64_t info1)
{
	struct vmcb *vmcb = svm->vmcb;

	expect_exit(svm, VMEXIT_NPF);
	GUEST_PRINTF("#NPF: EXITINFO1 %#lx EXITINFO2 %#lx\n", vmcb->control.exit_info_1,
		     vmcb->control.exit_info_2);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, l2_gpa);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, info1);
}

/* L2 hands L1, in RAX, the 8 bytes at the address L1 put in RBX, and again. */
static void l2_read_loop(void)
{
	asm volatile("1:\tmov (%%rbx), %%rax\n\t"
		     "lea 2f(%%rip), %%r12\n"
		     "2:\tvmmcall\n\t"
		     "jmp 1b" : : : "rax", "r12", "memory");
}

/* L1 running l2_read_loop: what L2 reads at @gpa. */
static uint64_t l2_read(struct kvmf_svm *svm, uint64_t gpa)
{
	svm->l2.rbx = gpa;
	expect_exit(svm, VMEXIT_VMMCALL);
	svm->vmcb->save.rip += 3;
	return svm->vmcb->save.rax;
}

/* ---- nested_npt ---- */

static volatile uint64_t npt_read;

static void l2_npt(void)
{
	uint64_t v = NPT_MOVED_GPA;

	asm volatile("mov (%%rax), %%rax" : "+a"(v) : : "memory");
	npt_read = v;
	v = NPT_HOLE_GPA;
	asm volatile(MARK "movq $1, (%%rax)" MARK_END : : "a"(v) : "r12", "r13", "memory");
}

static void l1_nested_npt(void *arg)
{
	struct kvmf_svm *svm = arg;

	l1_npt_start(svm, l2_npt);
	kvmf_svm_npt_map_2m(svm, NPT_MOVED_GPA, NPT_TARGET_GPA, NPT_RWU);
	*(volatile uint64_t *)NPT_MOVED_GPA = 0x1111;
	*(volatile uint64_t *)NPT_TARGET_GPA = 0x2222;
	/* Not present, a write, a user access (nested walks are), at L2's final address. */
	expect_npf(svm, NPT_HOLE_GPA, NPF_FINAL_GPA | NPF_USER | NPF_WRITE);
	GUEST_ASSERT_EQ(npt_read, 0x2222);
}

static void test_nested_npt(void)
{
	struct nested_test t;

	npt_test_create(&t, l1_nested_npt);
	expect_done(&t);
}

/* ---- npt_remap_and_flush ---- */

/*
 * L1 points X at another page and tells the CPU to forget what it cached:
 * with TLB_CONTROL, then with a new ASID.  L2 must see the new page.
 */
static void l1_npt_remap_and_flush(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;

	l1_npt_start(svm, l2_read_loop);
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(0), NPT_RWU);
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(0));
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(0));

	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(1), NPT_RWU);
	vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(1));
	/* The new translation stays without further flushes. */
	vmcb->control.tlb_control = SVM_TLB_FLUSH_NONE;
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(1));

	/* An ASID the CPU has cached nothing for. */
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(2), NPT_RWU);
	vmcb->control.asid = 2;
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(2));
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(2));

	/* A page L1 adds needs no flush: nothing was cached for it. */
	kvmf_svm_npt_map_4k(svm, NPT_Y_GPA, l1_page(0), NPT_RWU);
	GUEST_ASSERT_EQ(l2_read(svm, NPT_Y_GPA), PAGE_MARKER(0));
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(2));
}

static void test_npt_remap_and_flush(void)
{
	struct nested_test t;

	npt_test_create(&t, l1_npt_remap_and_flush);
	expect_done(&t);
}

/* ---- npt_protection ---- */

#define NPT_L2_WRITE	0x77
#define INSN_RET	0xc3

static void l2_npt_protection(void)
{
	uint64_t v = NPT_X_GPA;

	asm volatile(MARK "movq $" STR(NPT_L2_WRITE) ", (%%rax)" MARK_END
		     : : "a"(v) : "r12", "r13", "memory");
	v = NPT_Y_GPA;
	asm volatile(MARK "mov (%%rax), %%rax" MARK_END : "+a"(v) : : "r12", "r13", "memory");
	npt_read = v;
	/* A call to Z: the fault is on fetching its first byte, at RIP Z. */
	asm volatile("lea 2f(%%rip), %%r13\n\t"
		     "mov %%rax, %%r12\n\t"
		     "call *%%rax\n"
		     "2:" : : "a"(NPT_Z_GPA) : "r12", "r13", "memory");
}

/*
 * X read-only, Y not present, Z not executable in L1's nested page table:
 * L2's write, read and fetch are L1's nested page faults, with the
 * error code of the walk.  L1 then grants the access and L2 goes on.
 */
static void l1_npt_protection(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;

	/* NX in nested page tables takes EFER.NXE of L1 (the host of that walk). */
	kvmf_wrmsr(MSR_EFER, kvmf_rdmsr(MSR_EFER) | EFER_NXE);
	l1_npt_start(svm, l2_npt_protection);
	*(volatile uint8_t *)l1_page(2) = INSN_RET;
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(0), NPT_PRESENT | NPT_USER);
	kvmf_svm_npt_map_4k(svm, NPT_Y_GPA, l1_page(1), 0);
	kvmf_svm_npt_map_4k(svm, NPT_Z_GPA, l1_page(2), NPT_RWU | NPT_NX);

	expect_npf(svm, NPT_X_GPA, NPF_FINAL_GPA | NPF_USER | NPF_WRITE | NPF_PRESENT);
	GUEST_ASSERT_EQ(npt_pages[0][0], PAGE_MARKER(0));
	/* More rights for a cached translation: flushed, and L2 retries its write. */
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(0), NPT_RWU);
	vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;

	expect_npf(svm, NPT_Y_GPA, NPF_FINAL_GPA | NPF_USER);
	GUEST_ASSERT_EQ(npt_pages[0][0], NPT_L2_WRITE);
	/* A not-present entry is never cached: no flush. */
	kvmf_svm_npt_map_4k(svm, NPT_Y_GPA, l1_page(1), NPT_RWU);
	vmcb->control.tlb_control = SVM_TLB_FLUSH_NONE;

	expect_npf(svm, NPT_Z_GPA, NPF_FINAL_GPA | NPF_USER | NPF_FETCH | NPF_PRESENT);
	GUEST_ASSERT_EQ(npt_read, PAGE_MARKER(1));
	kvmf_svm_npt_map_4k(svm, NPT_Z_GPA, l1_page(2), NPT_RWU);
	vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;

	/* Z's RET came back, and L2 returned into its VMMCALL loop. */
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
}

static void test_npt_protection(void)
{
	struct nested_test t;

	npt_test_create(&t, l1_npt_protection);
	expect_done(&t);
}

/* ---- npt_host_invalidation ---- */

/* A memslot of its own, private anonymous memory, in L1's identity-mapped GiB. */
#define HOST_REGION_SLOT	1
#define HOST_REGION_GPA		0x10000000ull
#define HOST_REGION_SIZE	(2ull << 20)
#define HOST_ROUNDS		5
#define L1_WROTE		0x1111000000000001ull
#define L2_WROTE		0x2222000000000002ull
#define HOST_WROTE(i)		(0x4444000000000000ull + (i))

/* L2 tells the host what X reads, HOST_ROUNDS times, then writes X. */
static void l2_host_invalidation(void)
{
	volatile uint64_t *x = (void *)NPT_X_GPA;
	unsigned int i;

	for (i = 0; i < HOST_ROUNDS; i++)
		GUEST_SYNC(*x);
	*x = L2_WROTE;
	GUEST_SYNC(0);
}

static void l1_npt_host_invalidation(void *arg)
{
	struct kvmf_svm *svm = arg;

	l1_npt_start(svm, l2_host_invalidation);
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, HOST_REGION_GPA, NPT_RWU);
	*(volatile uint64_t *)HOST_REGION_GPA = L1_WROTE;
	/* L2's GUEST_SYNCs go straight to the host; then L2 returns. */
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)HOST_REGION_GPA, L2_WROTE);
}

/*
 * Between L2's reads of X, the host changes the memory behind L1's page
 * that X is: what L2 reads must follow, whatever the hypervisor's shadow
 * of L1's nested page table had cached.
 */
static void test_npt_host_invalidation(void)
{
	struct kvmf_guest_region region;
	struct nested_test t;
	volatile uint64_t *page;

	npt_test_create(&t, l1_npt_host_invalidation);
	kvmf_guest_add_region(&t.vm, &region, HOST_REGION_SLOT, HOST_REGION_GPA,
			      HOST_REGION_SIZE, KVMF_BACKING_ANON);
	page = region.host;
	KVMF_ASSERT_EQ(expect_sync(&t), L1_WROTE);

	/* The same page, a new value. */
	*page = HOST_WROTE(1);
	KVMF_ASSERT_EQ(expect_sync(&t), HOST_WROTE(1));
	/* The page dropped: private anonymous memory reads as zeros again. */
	KVMF_CHECK(madvise((void *)page, 4096, MADV_DONTNEED));
	KVMF_ASSERT_EQ(expect_sync(&t), 0);
	/* L2's read may have mapped the shared zero page: this write replaces it. */
	*page = HOST_WROTE(2);
	KVMF_ASSERT_EQ(expect_sync(&t), HOST_WROTE(2));
	/* Dropped and written again before L2 looks: a new page. */
	KVMF_CHECK(madvise((void *)page, 4096, MADV_DONTNEED));
	*page = HOST_WROTE(3);
	KVMF_ASSERT_EQ(expect_sync(&t), HOST_WROTE(3));
	/* L2's write lands in the host's page. */
	KVMF_ASSERT_EQ(expect_sync(&t), 0);
	KVMF_ASSERT_EQ(*page, L2_WROTE);
	expect_done(&t);
}

/* ---- npt_mmio ---- */

/* X is this L1 address, where no memslot is. */
#define MMIO_L1_GPA	0xd0000000ull
#define MMIO_READ4	0x89abcdefull
#define MMIO_READ2	0x4321ull
#define MMIO_WRITE8	0x1122334455667788ull
#define MMIO_WRITE1	0x5a

static volatile uint64_t mmio_got4, mmio_got2;

static void l2_npt_mmio(void)
{
	uint64_t a, d = 0;

	asm volatile("movl 8(%2), %k0\n\t"
		     "movq %3, 0x10(%2)\n\t"
		     "movb $" STR(MMIO_WRITE1) ", 3(%2)\n\t"
		     "movw 0x20(%2), %w1"
		     : "=&a"(a), "+d"(d) : "b"(NPT_X_GPA), "c"(MMIO_WRITE8) : "memory");
	mmio_got4 = a;
	mmio_got2 = d;
}

static void l1_npt_mmio(void *arg)
{
	struct kvmf_svm *svm = arg;

	l1_npt_start(svm, l2_npt_mmio);
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, MMIO_L1_GPA, NPT_RWU);
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(mmio_got4, MMIO_READ4);
	GUEST_ASSERT_EQ(mmio_got2, MMIO_READ2);
}

struct mmio_access {
	uint64_t l1_gpa;
	uint32_t len;
	uint8_t is_write;
	uint64_t data;		/* written, or to be read */
};

/* L2's accesses to X, in order, as the VMM sees them: at L1's address. */
static const struct mmio_access npt_mmio_accesses[] = {
	{ MMIO_L1_GPA + 8, 4, 0, MMIO_READ4 },
	{ MMIO_L1_GPA + 0x10, 8, 1, MMIO_WRITE8 },
	{ MMIO_L1_GPA + 3, 1, 1, MMIO_WRITE1 },
	{ MMIO_L1_GPA + 0x20, 2, 0, MMIO_READ2 },
};

static void test_npt_mmio(void)
{
	struct nested_test t;
	struct kvm_run *run;
	unsigned int i;
	uint64_t data;

	npt_test_create(&t, l1_npt_mmio);
	run = t.vcpu.run;
	for (i = 0; i < ARRAY_SIZE(npt_mmio_accesses); i++) {
		const struct mmio_access *m = &npt_mmio_accesses[i];

		kvmf_guest_run_expect(&t.vcpu, KVM_EXIT_MMIO);
		printf("# MMIO %u: addr %#llx len %u write %u\n", i, run->mmio.phys_addr,
		       run->mmio.len, run->mmio.is_write);
		KVMF_ASSERT_EQ(run->mmio.phys_addr, m->l1_gpa);
		KVMF_ASSERT_EQ(run->mmio.len, m->len);
		KVMF_ASSERT_EQ(run->mmio.is_write, m->is_write);
		data = 0;
		if (m->is_write) {
			memcpy(&data, run->mmio.data, m->len);
			KVMF_ASSERT_EQ(data, m->data);
		} else {
			memcpy(run->mmio.data, &m->data, m->len);
		}
	}
	expect_done(&t);
}

/* ---- npt_state_save_restore ---- */

/* L2 reads X, is moved to another vCPU, reads X again and Y for the first time. */
static void l2_npt_moved(void)
{
	GUEST_SYNC(*(volatile uint64_t *)NPT_X_GPA);
	GUEST_SYNC(*(volatile uint64_t *)NPT_X_GPA);
	GUEST_SYNC(*(volatile uint64_t *)NPT_Y_GPA);
}

static void l1_npt_state(void *arg)
{
	struct kvmf_svm *svm = arg;

	l1_npt_start(svm, l2_npt_moved);
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(0), NPT_RWU);
	kvmf_svm_npt_map_4k(svm, NPT_Y_GPA, l1_page(1), NPT_RWU);
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);

	/* On the new vCPU, L1's remap and flush reach L2 as before. */
	kvmf_svm_set_rip(svm, (uint64_t)l2_read_loop);
	kvmf_svm_npt_map_4k(svm, NPT_X_GPA, l1_page(2), NPT_RWU);
	svm->vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
	GUEST_ASSERT_EQ(l2_read(svm, NPT_X_GPA), PAGE_MARKER(2));
}

static void test_npt_state_save_restore(void)
{
	static struct vcpu_state st;
	struct vmcb *saved = (struct vmcb *)st.n.vmcb12;
	struct kvmf_guest_vcpu vcpu2;
	struct nested_test t;
	struct kvmf_ucall uc;
	struct kvmf_svm *svm;

	npt_test_create(&t, l1_npt_state);
	svm = KVMF_SVM_HOST_PTR(&t.vm, t.svm);
	KVMF_ASSERT_EQ(expect_sync(&t), PAGE_MARKER(0));
	vcpu_move(&t, &vcpu2, 1, &st);
	KVMF_ASSERT_EQ(st.n.s.flags, KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET);
	KVMF_ASSERT_EQ(saved->control.np_control & SVM_NP_ENABLE, SVM_NP_ENABLE);
	KVMF_ASSERT_EQ(saved->control.n_cr3, (uint64_t)svm->npt);

	/* X is no memory of L1's: only the nested page table makes it a page. */
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t.vm, &vcpu2, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], PAGE_MARKER(0));
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t.vm, &vcpu2, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], PAGE_MARKER(1));
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t.vm, &vcpu2, &uc), UCALL_DONE);
}

/* ---- svme_clear_keeps_gif ---- */

static void l1_svme_clear_gif(void *arg)
{
	struct kvmf_svm *svm = arg;
	uint64_t efer;

	kvmf_svm_enable(svm);
	efer = kvmf_rdmsr(MSR_EFER);
	kvmf_svm_clgi();
	kvmf_wrmsr(MSR_EFER, efer & ~EFER_SVME);
	GUEST_SYNC(1);
	kvmf_wrmsr(MSR_EFER, efer);
	GUEST_SYNC(2);
	kvmf_wrmsr(MSR_EFER, efer & ~EFER_SVME);
	GUEST_SYNC(3);
	kvmf_wrmsr(MSR_EFER, efer);
	kvmf_svm_stgi();
	GUEST_SYNC(4);
	kvmf_svm_vmcb_init(svm, l2_mark_ran);
	GUEST_ASSERT_EQ(kvmf_svm_run(svm), VMEXIT_VMMCALL);
	GUEST_ASSERT_EQ(l2_ran, 1);
}

/* L1's next GUEST_SYNC on @vcpu must be @value, with GIF as the nested state gives @flags. */
static void expect_sync_flags(struct nested_test *t, struct kvmf_guest_vcpu *vcpu,
			      uint64_t value, uint16_t flags)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t->vm, vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], value);
	KVMF_ASSERT_EQ(nested_flags(vcpu), flags);
}

/*
 * L1 clears GIF, then EFER.SVME.  kvmfork leaves GIF clear, as later
 * upstream KVM does: clearing SVME is no STGI, and GIF stays clear when
 * SVME is set again, until L1's STGI.  Debian's 6.1 kvm_amd sets GIF when
 * the guest clears EFER.SVME (it leaves nested operation there and resets
 * GIF with it).  Either way, what KVM_GET_NESTED_STATE reports there,
 * KVM_SET_NESTED_STATE must take on a new vCPU: a VMM may move the vCPU
 * at any time.
 */
static void test_svme_clear_keeps_gif(void)
{
	static struct vcpu_state st;
	struct kvmf_guest_vcpu vcpu2;
	struct nested_test t;
	struct kvmf_ucall uc;
	uint16_t gif_after_svme_clear;

	nested_test_create(&t, l1_svme_clear_gif);
	gif_after_svme_clear = impl_is_stock ? KVM_STATE_NESTED_GIF_SET : 0;
	expect_sync_flags(&t, &t.vcpu, 1, gif_after_svme_clear);
	expect_sync_flags(&t, &t.vcpu, 2, gif_after_svme_clear);
	expect_sync_flags(&t, &t.vcpu, 3, gif_after_svme_clear);
	vcpu_move(&t, &vcpu2, 1, &st);
	KVMF_ASSERT_EQ(st.sregs.efer & EFER_SVME, 0);
	expect_sync_flags(&t, &vcpu2, 4, KVM_STATE_NESTED_GIF_SET);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t.vm, &vcpu2, &uc), UCALL_DONE);
}

static const struct kvmf_test tests[] = {
	{ "vmmcall_exit", test_vmmcall_exit },
	{ "intercepts", test_intercepts },
	{ "shutdown_intercepted", test_shutdown_intercepted },
	{ "efer_svme_clear_intercepted", test_efer_svme_clear_intercepted },
	{ "efer_svme_clear_not_intercepted", test_efer_svme_clear_not_intercepted },
	{ "vmrun_illegal_vmcb", test_vmrun_illegal_vmcb },
	{ "vmrun_bad_address", test_vmrun_bad_address },
	{ "vmload_vmsave_gif", test_vmload_vmsave_gif },
	{ "nested_state_save_restore", test_nested_state_save_restore },
	{ "soft_int_next_rip", test_soft_int_next_rip },
	{ "nested_npt", test_nested_npt },
	{ "npt_remap_and_flush", test_npt_remap_and_flush },
	{ "npt_protection", test_npt_protection },
	{ "npt_host_invalidation", test_npt_host_invalidation },
	{ "npt_mmio", test_npt_mmio },
	{ "npt_state_save_restore", test_npt_state_save_restore },
	{ "svme_clear_keeps_gif", test_svme_clear_keeps_gif },
};

int main(void)
{
	return kvmf_test_main("svm_nested", tests, ARRAY_SIZE(tests));
}
