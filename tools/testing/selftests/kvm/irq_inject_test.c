// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts from an interrupt controller in userspace: a VM without
 * KVM_CREATE_IRQCHIP, whose VMM injects external interrupts with
 * KVM_INTERRUPT and NMIs with KVM_NMI, asks for an exit when the guest can
 * take an interrupt (request_interrupt_window, KVM_EXIT_IRQ_WINDOW_OPEN),
 * and follows the guest's IF, CR8 and APIC base through kvm_run.
 *
 * Checked, as Debian's 6.1 kvm_amd behaves: delivery and its return
 * address, KVM_INTERRUPT's rules (a vector above 255 is refused, a second
 * interrupt before the first was delivered replaces it, and IF does not
 * hold it back), the interrupt window with IF clear, after STI's interrupt
 * shadow, and with IF already set, HLT in the shadow, NMIs blocked until
 * IRET with one more held pending, CR8 and APIC base in kvm_run, and an
 * interrupt that arrives while the guest runs a nested guest of its own
 * that intercepts INTR.
 *
 * Guest handlers count what they take in globals the host reads straight
 * from guest RAM (the program is loaded at its own addresses).  Guest code
 * marks the instruction an exit or an interrupt is expected at: R12 holds
 * its address and R13 the next one's, read back with KVM_GET_REGS.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "x86/processor.h"
#include "x86/svm.h"

#define VEC_NMI		2
#define VEC_A		0x40
#define VEC_B		0x41
#define RFLAGS_IF	(1ull << 9)
#define MSR_APIC_BASE	0x1bu
#define OUT_DX_AL_LEN	1	/* "out %al, %dx": the ucall's instruction */

#define CASE_TIMEOUT_S	120

struct irq_test {
	struct kvmf_guest_vm vm;
	struct kvmf_guest_vcpu vcpu;
};

/* ---- Host-side helpers ---- */

static void irq_test_create(struct irq_test *t, void (*guest)(void *), void *arg)
{
	/* A guest that never comes back fails its case, not the whole program. */
	alarm(CASE_TIMEOUT_S);
	kvmf_guest_vm_create(&t->vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&t->vm);
	kvmf_guest_vcpu_add_code(&t->vm, &t->vcpu, 0, guest, arg);
}

/* The guest's current value of one of its globals. */
#define GUEST_VAL(t, var) (*(volatile __typeof__(var) *)((t)->vm.ram + (uint64_t)&(var)))

static uint64_t expect_sync(struct irq_test *t)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t->vm, &t->vcpu, &uc), UCALL_SYNC);
	return uc.args[0];
}

static void expect_sync_eq(struct irq_test *t, uint64_t value)
{
	KVMF_ASSERT_EQ(expect_sync(t), value);
}

static void expect_done(struct irq_test *t)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&t->vm, &t->vcpu, &uc), UCALL_DONE);
}

static void get_regs(struct irq_test *t, struct kvm_regs *regs)
{
	KVMF_CHECK(ioctl(t->vcpu.fd, KVM_GET_REGS, regs));
}

static uint64_t guest_rip(struct irq_test *t)
{
	struct kvm_regs regs;

	get_regs(t, &regs);
	return regs.rip;
}

static void run_expect(struct irq_test *t, unsigned int exit_reason)
{
	kvmf_guest_run_expect(&t->vcpu, exit_reason);
}

static int try_inject(struct irq_test *t, uint32_t irq)
{
	struct kvm_interrupt intr = { .irq = irq };

	return ioctl(t->vcpu.fd, KVM_INTERRUPT, &intr);
}

static void inject(struct irq_test *t, uint32_t irq)
{
	KVMF_CHECK(try_inject(t, irq));
}

static void get_events(struct irq_test *t, struct kvm_vcpu_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	KVMF_CHECK(ioctl(t->vcpu.fd, KVM_GET_VCPU_EVENTS, ev));
}

/* kvm_run's view of the guest's interruptibility at the current exit. */
static void expect_if_ready(struct irq_test *t, int if_flag, int ready)
{
	KVMF_ASSERT_EQ(t->vcpu.run->if_flag, if_flag);
	KVMF_ASSERT_EQ(t->vcpu.run->ready_for_interrupt_injection, ready);
}

/* ---- Guest-side helpers ---- */

static volatile uint64_t intr_count, intr_vector, intr_rip, intr_rflags;

static void count_intr(struct kvmf_exc_frame *frame)
{
	intr_count++;
	intr_vector = frame->vector;
	intr_rip = frame->rip;
	intr_rflags = frame->rflags;
}

static void guest_cli(void)
{
	asm volatile("cli" : : : "memory");
}

static void guest_sti(void)
{
	asm volatile("sti" : : : "memory");
}

/* ---- interrupt_delivered ---- */

static void guest_interrupt_delivered(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[VEC_A] = count_intr;
	guest_sti();
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_SYNC(3);
}

static void test_interrupt_delivered(void)
{
	struct kvm_vcpu_events ev;
	struct irq_test t;
	uint64_t out_rip;

	irq_test_create(&t, guest_interrupt_delivered, NULL);
	expect_sync_eq(&t, 1);
	expect_if_ready(&t, 1, 1);
	/* The exit is on the OUT: KVM completes it on the next KVM_RUN. */
	out_rip = guest_rip(&t);
	inject(&t, VEC_A);
	get_events(&t, &ev);
	KVMF_ASSERT_EQ(ev.interrupt.injected, 1);
	KVMF_ASSERT_EQ(ev.interrupt.nr, VEC_A);
	KVMF_ASSERT_EQ(ev.interrupt.soft, 0);
	/* Queued, not yet delivered: kvm_run says no room for another, IF still set. */
	t.vcpu.run->immediate_exit = 1;
	KVMF_ASSERT_ERRNO(ioctl(t.vcpu.fd, KVM_RUN, 0), EINTR);
	t.vcpu.run->immediate_exit = 0;
	expect_if_ready(&t, 1, 0);

	expect_sync_eq(&t, 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_vector), VEC_A);
	/* Taken on the instruction boundary right after the OUT. */
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rip), out_rip + OUT_DX_AL_LEN);
	KVMF_ASSERT(GUEST_VAL(&t, intr_rflags) & RFLAGS_IF, "rflags %#lx",
		    GUEST_VAL(&t, intr_rflags));
	expect_if_ready(&t, 1, 1);
	get_events(&t, &ev);
	KVMF_ASSERT_EQ(ev.interrupt.injected, 0);

	/* Once only. */
	expect_sync_eq(&t, 3);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	expect_done(&t);
}

/* ---- interrupt_bad_input ---- */

static void guest_bad_input(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[VEC_A] = count_intr;
	kvmf_guest_exc_handlers[VEC_B] = count_intr;
	kvmf_guest_exc_handlers[0xff] = count_intr;
	guest_cli();
	GUEST_SYNC(1);
	GUEST_SYNC(2);
}

/*
 * Vectors above 255 are refused.  Without an in-kernel irqchip KVM keeps
 * one interrupt to inject, and KVM_INTERRUPT is the VMM saying the guest
 * has acknowledged it: a second one before delivery replaces the first
 * (no error), and the one left is delivered on the next entry whatever
 * the guest's IF (it is injected as an event, which IF does not hold
 * back): the VMM is to wait for ready_for_interrupt_injection.
 */
static void test_interrupt_bad_input(void)
{
	struct kvm_vcpu_events ev;
	struct irq_test t;
	uint64_t out_rip;

	irq_test_create(&t, guest_bad_input, NULL);
	expect_sync_eq(&t, 1);
	expect_if_ready(&t, 0, 0);
	out_rip = guest_rip(&t);

	KVMF_ASSERT_ERRNO(try_inject(&t, 256), EINVAL);
	KVMF_ASSERT_ERRNO(try_inject(&t, 0xffffffffu), EINVAL);
	get_events(&t, &ev);
	KVMF_ASSERT_EQ(ev.interrupt.injected, 0);

	inject(&t, 0xff);
	inject(&t, VEC_A);
	inject(&t, VEC_B);
	KVMF_ASSERT_ERRNO(try_inject(&t, 256), EINVAL);
	get_events(&t, &ev);
	KVMF_ASSERT_EQ(ev.interrupt.injected, 1);
	KVMF_ASSERT_EQ(ev.interrupt.nr, VEC_B);

	t.vcpu.run->immediate_exit = 1;
	KVMF_ASSERT_ERRNO(ioctl(t.vcpu.fd, KVM_RUN, 0), EINTR);
	t.vcpu.run->immediate_exit = 0;
	expect_if_ready(&t, 0, 0);

	/* The last one only, right after the OUT, with IF clear. */
	expect_sync_eq(&t, 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_vector), VEC_B);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rip), out_rip + OUT_DX_AL_LEN);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rflags) & RFLAGS_IF, 0);
	expect_if_ready(&t, 0, 0);
	expect_done(&t);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
}

/* ---- window_exit ---- */

#define MARK	"lea 1f(%%rip), %%r12\n\tlea 2f(%%rip), %%r13\n\t"

static void guest_window_exit(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[VEC_A] = count_intr;
	guest_cli();
	GUEST_SYNC(1);
	/* The window opens after the instruction in STI's shadow. */
	asm volatile(MARK "sti\n1:\tnop\n2:\tnop\n\tnop\n\tnop" : : : "r12", "r13", "memory");
	GUEST_SYNC(2);
	GUEST_SYNC(3);
}

static void test_window_exit(void)
{
	struct kvm_regs regs;
	struct irq_test t;
	uint64_t out_rip;

	irq_test_create(&t, guest_window_exit, NULL);
	expect_sync_eq(&t, 1);
	expect_if_ready(&t, 0, 0);

	t.vcpu.run->request_interrupt_window = 1;
	run_expect(&t, KVM_EXIT_IRQ_WINDOW_OPEN);
	get_regs(&t, &regs);
	expect_if_ready(&t, 1, 1);
	/* After the NOP in STI's shadow, not before it. */
	KVMF_ASSERT_EQ(regs.rip, regs.r13);
	KVMF_ASSERT(regs.rflags & RFLAGS_IF, "rflags %#llx", regs.rflags);
	t.vcpu.run->request_interrupt_window = 0;
	inject(&t, VEC_A);
	expect_sync_eq(&t, 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rip), regs.r13);

	/* IF already set: the window is open before the guest runs an instruction. */
	out_rip = guest_rip(&t);
	t.vcpu.run->request_interrupt_window = 1;
	run_expect(&t, KVM_EXIT_IRQ_WINDOW_OPEN);
	expect_if_ready(&t, 1, 1);
	KVMF_ASSERT_EQ(guest_rip(&t), out_rip + OUT_DX_AL_LEN);
	/* And again, as long as it is asked for. */
	run_expect(&t, KVM_EXIT_IRQ_WINDOW_OPEN);
	KVMF_ASSERT_EQ(guest_rip(&t), out_rip + OUT_DX_AL_LEN);
	expect_if_ready(&t, 1, 1);
	t.vcpu.run->request_interrupt_window = 0;
	expect_sync_eq(&t, 3);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	expect_done(&t);
}

/* ---- sti_shadow ---- */

static void guest_sti_hlt(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[VEC_A] = count_intr;
	kvmf_guest_exc_handlers[VEC_B] = count_intr;
	guest_cli();
	GUEST_SYNC(1);
	asm volatile(MARK "sti\n1:\thlt\n2:\tnop" : : : "r12", "r13", "memory");
	guest_cli();
	GUEST_SYNC(2);
	asm volatile(MARK "sti\n1:\thlt\n2:\tnop" : : : "r12", "r13", "memory");
	GUEST_SYNC(3);
}

/* Returns the RIP after the HLT. */
static uint64_t expect_hlt_exit(struct irq_test *t)
{
	struct kvm_regs regs;

	run_expect(t, KVM_EXIT_HLT);
	get_regs(t, &regs);
	/* Past the HLT, the shadow gone with it. */
	KVMF_ASSERT_EQ(regs.rip, regs.r13);
	expect_if_ready(t, 1, 1);
	return regs.rip;
}

/*
 * STI; HLT with a userspace irqchip: the HLT in STI's shadow exits to the
 * VMM (KVM_EXIT_HLT) before any interrupt window opens, and an interrupt
 * injected then returns to after the HLT.  An interrupt queued while IF
 * was clear does not wait for the STI: it is taken before it.
 */
static void test_sti_shadow(void)
{
	uint64_t out_rip, after_hlt;
	struct irq_test t;

	irq_test_create(&t, guest_sti_hlt, NULL);

	expect_sync_eq(&t, 1);
	t.vcpu.run->request_interrupt_window = 1;
	after_hlt = expect_hlt_exit(&t);
	t.vcpu.run->request_interrupt_window = 0;
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 0);
	inject(&t, VEC_A);
	expect_sync_eq(&t, 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_vector), VEC_A);
	KVMF_ASSERT(GUEST_VAL(&t, intr_rflags) & RFLAGS_IF, "rflags %#lx",
		    GUEST_VAL(&t, intr_rflags));
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rip), after_hlt);

	out_rip = guest_rip(&t);
	inject(&t, VEC_B);
	expect_hlt_exit(&t);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_vector), VEC_B);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rip), out_rip + OUT_DX_AL_LEN);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rflags) & RFLAGS_IF, 0);
	expect_sync_eq(&t, 3);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 2);
	expect_done(&t);
}

/* ---- nmi ---- */

static volatile uint64_t nmi_count, nmi_rip[4];

static void count_nmi(struct kvmf_exc_frame *frame)
{
	uint64_t n = ++nmi_count;

	if (n <= 4)
		nmi_rip[n - 1] = frame->rip;
	/* The first one stays in its handler across two exits to the host. */
	if (n == 1) {
		GUEST_SYNC(0x101);
		GUEST_SYNC(0x102);
	}
}

static void guest_nmi(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[VEC_NMI] = count_nmi;
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_SYNC(3);
}

static void nmi(struct irq_test *t)
{
	KVMF_CHECK(ioctl(t->vcpu.fd, KVM_NMI, 0));
}

static void expect_nmi_state(struct irq_test *t, int pending, int masked)
{
	struct kvm_vcpu_events ev;

	get_events(t, &ev);
	KVMF_ASSERT_EQ(ev.nmi.injected, 0);
	KVMF_ASSERT_EQ(ev.nmi.pending, pending);
	KVMF_ASSERT_EQ(ev.nmi.masked, masked);
}

/*
 * NMIs are blocked from delivery until the handler's IRET: of those that
 * arrive meanwhile one is held and delivered right after the IRET, on the
 * instruction the first one interrupted, and the rest are dropped.  With
 * none in progress, two of three go through.
 */
static void test_nmi(void)
{
	struct irq_test t;
	uint64_t out_rip;

	irq_test_create(&t, guest_nmi, NULL);
	expect_sync_eq(&t, 1);
	out_rip = guest_rip(&t);
	nmi(&t);
	expect_nmi_state(&t, 1, 0);

	expect_sync_eq(&t, 0x101);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_rip[0]), out_rip + OUT_DX_AL_LEN);
	expect_nmi_state(&t, 0, 1);
	nmi(&t);
	nmi(&t);
	nmi(&t);
	expect_nmi_state(&t, 1, 1);
	/* Still in the handler, across an exit and an entry. */
	expect_sync_eq(&t, 0x102);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_count), 1);
	expect_nmi_state(&t, 1, 1);

	expect_sync_eq(&t, 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_count), 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_rip[1]), out_rip + OUT_DX_AL_LEN);
	expect_nmi_state(&t, 0, 0);

	out_rip = guest_rip(&t);
	nmi(&t);
	nmi(&t);
	nmi(&t);
	/* KVM_GET_VCPU_EVENTS says whether any is pending, not how many. */
	expect_nmi_state(&t, 1, 0);
	expect_sync_eq(&t, 3);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_count), 4);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_rip[2]), out_rip + OUT_DX_AL_LEN);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, nmi_rip[3]), out_rip + OUT_DX_AL_LEN);
	expect_nmi_state(&t, 0, 0);
	expect_done(&t);
}

/* ---- run_fields ---- */

#define APIC_BASE_DEFAULT	0xfee00000ull
#define APIC_BASE_BSP		(1ull << 8)
#define APIC_BASE_ENABLE	(1ull << 11)
#define APIC_BASE_MOVED		(0xfec00000ull | APIC_BASE_ENABLE)

static volatile uint64_t seen_cr8, seen_apic_base;

static uint64_t read_cr8(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void guest_run_fields(void *arg)
{
	(void)arg;
	seen_apic_base = kvmf_rdmsr(MSR_APIC_BASE);
	GUEST_SYNC(1);
	asm volatile("mov %0, %%cr8" : : "r"(5ull) : "memory");
	GUEST_SYNC(2);
	asm volatile(MARK "1:\tmov %0, %%cr8\n2:" : : "r"(2ull) : "r12", "r13", "memory");
	seen_cr8 = read_cr8();
	seen_apic_base = kvmf_rdmsr(MSR_APIC_BASE);
	GUEST_SYNC(3);
	seen_cr8 = read_cr8();
	GUEST_SYNC(4);
}

static uint64_t fresh_apic_base(struct irq_test *t, int id)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvm_sregs sregs;

	kvmf_guest_vcpu_add(&t->vm, &vcpu, id);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_SREGS, &sregs));
	return sregs.apic_base;
}

static void set_apic_base(struct irq_test *t, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msrs = { .hdr.nmsrs = 1, .e = { .index = MSR_APIC_BASE, .data = value } };

	KVMF_ASSERT_EQ(ioctl(t->vcpu.fd, KVM_SET_MSRS, &msrs), 1);
}

/*
 * Without an in-kernel APIC, CR8 lives in kvm_run: KVM reports the
 * guest's CR8 at every exit and loads kvm_run->cr8 into the guest at every
 * KVM_RUN (above 15: EINVAL).  The guest lowering its CR8 exits with
 * KVM_EXIT_SET_TPR after the MOV (a VMM may have interrupts to deliver
 * now); raising it does not exit.  The APIC base MSR has its reset value
 * (BSP flag on vCPU 0 only) and follows KVM_SET_MSRS.
 */
static void test_run_fields(void)
{
	struct kvm_regs regs;
	struct irq_test t;

	irq_test_create(&t, guest_run_fields, NULL);
	KVMF_ASSERT_EQ(fresh_apic_base(&t, 1), APIC_BASE_DEFAULT | APIC_BASE_ENABLE);
	expect_sync_eq(&t, 1);
	KVMF_ASSERT_EQ(t.vcpu.run->apic_base, APIC_BASE_DEFAULT | APIC_BASE_ENABLE | APIC_BASE_BSP);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, seen_apic_base),
		       APIC_BASE_DEFAULT | APIC_BASE_ENABLE | APIC_BASE_BSP);
	KVMF_ASSERT_EQ(t.vcpu.run->cr8, 0);
	set_apic_base(&t, APIC_BASE_MOVED);

	expect_sync_eq(&t, 2);
	KVMF_ASSERT_EQ(t.vcpu.run->cr8, 5);
	KVMF_ASSERT_EQ(t.vcpu.run->apic_base, APIC_BASE_MOVED);

	run_expect(&t, KVM_EXIT_SET_TPR);
	get_regs(&t, &regs);
	KVMF_ASSERT_EQ(regs.rip, regs.r13);
	KVMF_ASSERT_EQ(t.vcpu.run->cr8, 2);
	expect_sync_eq(&t, 3);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, seen_cr8), 2);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, seen_apic_base), APIC_BASE_MOVED);
	KVMF_ASSERT_EQ(t.vcpu.run->cr8, 2);

	t.vcpu.run->cr8 = 9;
	expect_sync_eq(&t, 4);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, seen_cr8), 9);
	KVMF_ASSERT_EQ(t.vcpu.run->cr8, 9);

	t.vcpu.run->cr8 = 16;
	KVMF_ASSERT_ERRNO(ioctl(t.vcpu.fd, KVM_RUN, 0), EINVAL);
	t.vcpu.run->cr8 = 0;
	expect_done(&t);
}

/* ---- nested_intr ---- */

static volatile uint64_t l2_running, l1_exit_code;
static volatile uint64_t count_before_stgi, count_after_stgi, intr_in_l2;

static void count_intr_where(struct kvmf_exc_frame *frame)
{
	count_intr(frame);
	intr_in_l2 = l2_running;
}

static void l2_sync_loop(void)
{
	uint64_t i;

	l2_running = 1;
	for (i = 0; i < 3; i++)
		GUEST_SYNC(0x200 + i);
	l2_running = 0;
	/* Returning is VMMCALL, which L1 intercepts. */
}

static void l1_nested_intr(void *arg)
{
	struct kvmf_svm *svm = arg;
	struct vmcb *vmcb = svm->vmcb;

	kvmf_guest_exc_handlers[VEC_B] = count_intr_where;
	kvmf_svm_enable(svm);
	kvmf_svm_vmcb_init(svm, l2_sync_loop);
	vmcb->control.intercept_misc1 |= INTERCEPT_INTR;
	vmcb->control.int_ctl |= SVM_INT_CTL_V_INTR_MASKING;
	/* With V_INTR_MASKING, L1's IF at VMRUN lets physical interrupts exit. */
	guest_sti();
	kvmf_svm_vmrun_pa((uint64_t)vmcb, &svm->l2);
	l1_exit_code = vmcb->control.exit_code;
	count_before_stgi = intr_count;
	kvmf_svm_stgi();
	asm volatile("nop");
	count_after_stgi = intr_count;
	GUEST_SYNC(0x300);
}

/*
 * An interrupt from KVM_INTERRUPT while L2 runs with INTR intercepted and
 * V_INTR_MASKING, L1's IF set.  As on hardware (the APM), kvmfork gives L1
 * #VMEXIT(INTR), and L1 takes the interrupt itself after STGI.  Debian's
 * 6.1 kvm_amd instead injects it straight into L2, through L2's IDT,
 * whatever L2's IF: an interrupt from KVM_INTERRUPT counts as one already
 * being delivered, and delivery in progress goes before nested exits; L1
 * sees only the VMMCALL L2 ends with.  The case checks each for what it
 * does (KVMF_IMPL, set by kvmf-vm).
 */
static void test_nested_intr_kvmfork(struct irq_test *t)
{
	expect_sync_eq(t, 0x300);
	KVMF_ASSERT_EQ(GUEST_VAL(t, l1_exit_code), VMEXIT_INTR);
	KVMF_ASSERT_EQ(GUEST_VAL(t, count_before_stgi), 0);
	KVMF_ASSERT_EQ(GUEST_VAL(t, count_after_stgi), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(t, intr_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(t, intr_vector), VEC_B);
	KVMF_ASSERT(GUEST_VAL(t, intr_rflags) & RFLAGS_IF, "L1 took it with IF set");
	expect_done(t);
}

static void test_nested_intr(void)
{
	struct irq_test t;
	struct kvmf_svm *svm;
	uint64_t out_rip;

	alarm(CASE_TIMEOUT_S);
	kvmf_guest_vm_create(&t.vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&t.vm);
	svm = kvmf_svm_alloc(&t.vm);
	kvmf_guest_vcpu_add_code(&t.vm, &t.vcpu, 0, l1_nested_intr, svm);
	kvmf_svm_set_cpuid(&t.vm, &t.vcpu);

	expect_sync_eq(&t, 0x200);
	/* kvm_run shows L2's IF; readiness follows L1's IF under V_INTR_MASKING. */
	expect_if_ready(&t, 0, 1);
	out_rip = guest_rip(&t);
	inject(&t, VEC_B);
	if (strcmp(getenv("KVMF_IMPL") ?: "", "stock")) {
		test_nested_intr_kvmfork(&t);
		return;
	}

	expect_sync_eq(&t, 0x201);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_count), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_in_l2), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_vector), VEC_B);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rip), out_rip + OUT_DX_AL_LEN);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, intr_rflags) & RFLAGS_IF, 0);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, l1_exit_code), 0);

	expect_sync_eq(&t, 0x202);
	expect_sync_eq(&t, 0x300);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, l1_exit_code), VMEXIT_VMMCALL);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, count_before_stgi), 1);
	KVMF_ASSERT_EQ(GUEST_VAL(&t, count_after_stgi), 1);
	expect_done(&t);
}

static const struct kvmf_test tests[] = {
	{ "interrupt_delivered", test_interrupt_delivered },
	{ "interrupt_bad_input", test_interrupt_bad_input },
	{ "window_exit", test_window_exit },
	{ "sti_shadow", test_sti_shadow },
	{ "nmi", test_nmi },
	{ "run_fields", test_run_fields },
	{ "nested_intr", test_nested_intr },
};

int main(void)
{
	return kvmf_test_main("irq_inject", tests, ARRAY_SIZE(tests));
}
