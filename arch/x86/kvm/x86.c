// SPDX-License-Identifier: GPL-2.0
/*
 * x86 common code: the arch ops the core calls, the choice of vendor
 * backend (only AMD SVM, on AMD and Hygon CPUs, exists so far), the KVM_RUN
 * loop, general-purpose registers, and port I/O exits to userspace.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xstate.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/kvmf_host.h>

#include "tdp_mmu.h"
#include "x86.h"

/* RFLAGS bit 1 is reserved and always reads as 1. */
#define KVMF_RFLAGS_FIXED	BIT(1)
/* What RDX holds after reset when userspace set no CPUID: family 6. */
#define KVMF_RESET_RDX		0x600
#define KVMF_RESET_RIP		0xfff0

const struct kvmf_x86_vendor_ops *kvmf_x86_vendor;

static int kvmf_x86_hardware_setup(void)
{
	const struct kvmf_x86_vendor_ops *vendor;
	int r;

	switch (boot_cpu_data.x86_vendor) {
	case X86_VENDOR_AMD:
	case X86_VENDOR_HYGON:
		vendor = &kvmf_svm_vendor_ops;
		break;
	default:
		pr_err("no backend for this CPU vendor (%s): kvmfork runs on AMD and Hygon CPUs\n",
		       boot_cpu_data.x86_vendor_id);
		return -ENODEV;
	}

	r = vendor->probe();
	if (r)
		return r;

	r = vendor->hardware_setup();
	if (r)
		return r;

	kvmf_fpu_setup();
	kvmf_x86_vendor = vendor;
	kvmf_x86_cpuid_set_vendor_hook(vendor->cpuid_supported);
	return 0;
}

static void kvmf_x86_hardware_unsetup(void)
{
	kvmf_x86_cpuid_set_vendor_hook(NULL);
	kvmf_x86_vendor->hardware_unsetup();
	kvmf_x86_vendor = NULL;
}

static int kvmf_x86_cpu_enable(void)
{
	return kvmf_x86_vendor->cpu_enable();
}

static void kvmf_x86_cpu_disable(void)
{
	kvmf_x86_vendor->cpu_disable();
}

static long kvmf_x86_check_extension(struct kvmf_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_READONLY_MEM:	/* writes to read-only slots exit as MMIO */
	case KVM_CAP_MP_STATE:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_EXT_CPUID:		/* KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2 */
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_DEBUGREGS:		/* debugregs.c */
	case KVM_CAP_GET_TSC_KHZ:	/* tsc.c; no TSC_CONTROL: no scaling */
	case KVM_CAP_DISABLE_QUIRKS:
		return 1;
	case KVM_CAP_DISABLE_QUIRKS2:
		return kvmf_x86_disableable_quirks();
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
		return boot_cpu_has(X86_FEATURE_XSAVE);
	case KVM_CAP_MCE:
		return kvmf_mce_nr_banks();
	case KVM_CAP_ADJUST_CLOCK:
		return kvmf_kvmclock_cap();
	case KVM_CAP_IRQ_ROUTING:	/* KVM_SET_GSI_ROUTING: vm_ioctls.c */
		return KVMF_MAX_IRQ_ROUTES;
	case KVM_CAP_NESTED_STATE:
		return kvmf_x86_vendor->nested_state_size ? kvmf_x86_vendor->nested_state_size() : 0;
	default:
		return 0;
	}
}

static int kvmf_x86_vm_init(struct kvmf_vm *vm, unsigned long type)
{
	/*
	 * Guest physical addresses go up to the CPU's MAXPHYADDR as CPUID
	 * reports it (not reduced by SME, as KVM does), and no further than
	 * the 48 bits a 4-level nested page table maps.
	 */
	unsigned int gpa_bits = min_t(unsigned int, cpuid_eax(0x80000008) & 0xff, 48);
	int r;

	/* Only the default VM type exists on x86 in the 6.1 ABI. */
	if (type)
		return -EINVAL;

	vm->mem.max_gfn = (1ull << (gpa_bits - PAGE_SHIFT)) - 1;
	vm->arch.tsc_offset = -(s64)rdtsc();
	kvmf_tsc_vm_init(vm);
	kvmf_kvmclock_vm_init(vm);

	r = kvmf_tdp_init(vm);
	if (r)
		return r;

	r = kvmf_x86_vendor->vm_init(vm);
	if (r)
		kvmf_tdp_destroy(vm);
	return r;
}

static void kvmf_x86_vm_destroy(struct kvmf_vm *vm)
{
	kvmf_x86_vendor->vm_destroy(vm);
	kvmf_tdp_destroy(vm);
}

static void kvmf_x86_kick_nop(void *unused)
{
}

/*
 * Forces every vCPU of @vm that is in guest mode out of it, and returns once
 * each has left: the IPI causes a #VMEXIT (physical INTR intercept), and
 * the empty function runs on the target only after that, when the exit
 * path sets GIF and enables interrupts.  A vCPU between publishing
 * guest_cpu and VMRUN has GIF clear, so the IPI waits and makes VMRUN exit
 * at once; one that has not published yet reads the TLB flush generation
 * after publishing (svm_vcpu_run_once()).
 *
 * Callers: vCPU faults, ioctls and MMU-notifier invalidations, blocking or
 * not.  Why waiting for the IPIs cannot deadlock, even from a notifier in
 * non-blocking mode (the OOM reaper):
 *  - smp_call_function_single() with wait spins (csd_lock_wait()), it never
 *    sleeps; non-blocking notifiers forbid sleeping, not spinning.  It needs
 *    task context with interrupts enabled, which every caller has (notifier
 *    invalidations run in task context even in non-blocking mode).
 *  - The wait ends when the target CPU takes the IPI, i.e. as soon as it
 *    runs with interrupts (and GIF) enabled.  A deadlock needs the target
 *    to spin with interrupts off waiting for something the kicker holds.
 *    kvmfork never takes a lock with interrupts disabled, and kicks only
 *    after dropping its own spinlocks; the kernel locks a notifier's caller
 *    may hold (mmap lock, i_mmap_rwsem, anon_vma lock, page locks) are
 *    sleeping locks, never waited for with interrupts off.
 *  - Two CPUs kicking each other both wait with interrupts enabled and
 *    serve each other's IPI; a target that is the calling CPU itself runs
 *    the function directly.
 * So the cost is one guest exit per running vCPU, and no wait on anything
 * but those exits.
 */
void kvmf_x86_kick_vcpus(struct kvmf_vm *vm)
{
	unsigned int i, n = kvmf_vm_nr_vcpus(vm);

	for (i = 0; i < n; i++) {
		int cpu = READ_ONCE(vm->vcpus[i]->arch.guest_cpu);

		if (cpu >= 0)
			smp_call_function_single(cpu, kvmf_x86_kick_nop, NULL, 1);
	}
}

/*
 * Asked by the vendor's entry path with interrupts off, right before it
 * would enter the guest: a signal or a reschedule that came since the run
 * loop last looked (an interrupt handler, or another CPU, set the flag)
 * must not wait for the guest's next exit, which may be a whole host tick
 * away.  From here to VMRUN interrupts stay off, and an IPI a remote
 * signaller sends after this check makes the entry exit at once.
 */
bool kvmf_x86_entry_must_wait(void)
{
	lockdep_assert_irqs_disabled();
	return signal_pending(current) || need_resched();
}

/* General-purpose registers, RIP and RFLAGS as RESET or INIT leaves them. */
void kvmf_x86_reset_regs(struct kvmf_vcpu *vcpu)
{
	struct kvmf_arch_vcpu *arch = &vcpu->arch;

	memset(arch->regs, 0, sizeof(arch->regs));
	arch->regs[KVMF_REG_RDX] = KVMF_RESET_RDX;
	arch->rip = KVMF_RESET_RIP;
	arch->rflags = KVMF_RFLAGS_FIXED;
	arch->rflags_forced = 0;
	memset(arch->db, 0, sizeof(arch->db));
}

static int kvmf_x86_vcpu_create(struct kvmf_vcpu *vcpu)
{
	struct kvmf_arch_vcpu *arch = &vcpu->arch;
	int r;

	arch->guest_cpu = -1;
	arch->xcr0 = XFEATURE_MASK_FP;
	kvmf_mce_vcpu_init(vcpu);
	kvmf_tsc_vcpu_init(vcpu);
	kvmf_x86_reset_regs(vcpu);

	arch->pio_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!arch->pio_page)
		return -ENOMEM;

	if (!fpu_alloc_guest_fpstate(&arch->guest_fpu)) {
		r = -ENOMEM;
		goto err_free_pio;
	}

	r = kvmf_x86_emul_create(vcpu);
	if (r)
		goto err_free_fpu;

	r = kvmf_x86_vendor->vcpu_create(vcpu);
	if (r)
		goto err_free_emul;
	return 0;

err_free_emul:
	kvmf_x86_emul_destroy(vcpu);
err_free_fpu:
	fpu_free_guest_fpstate(&arch->guest_fpu);
err_free_pio:
	__free_page(arch->pio_page);
	return r;
}

static void kvmf_x86_vcpu_destroy(struct kvmf_vcpu *vcpu)
{
	kvmf_x86_vendor->vcpu_destroy(vcpu);
	kvmf_x86_cpuid_free(vcpu);
	kvmf_x86_emul_destroy(vcpu);
	fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
	__free_page(vcpu->arch.pio_page);
}

static struct page *kvmf_x86_vcpu_mmap_page(struct kvmf_vcpu *vcpu, unsigned long pgoff)
{
	return pgoff == KVM_PIO_PAGE_OFFSET ? vcpu->arch.pio_page : NULL;
}

int kvmf_x86_internal_error(struct kvmf_vcpu *vcpu, u32 suberror, unsigned int ndata,
			    const u64 *data)
{
	struct kvm_run *run = vcpu->run;

	ndata = min_t(unsigned int, ndata, ARRAY_SIZE(run->internal.data));
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = ndata;
	memcpy(run->internal.data, data, ndata * sizeof(*data));
	return KVMF_EXIT_TO_USER;
}

int kvmf_x86_vendor_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data)
{
	return kvmf_x86_vendor->get_msr(vcpu, index, data);
}

int kvmf_x86_vendor_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host)
{
	return kvmf_x86_vendor->set_msr(vcpu, index, data, host);
}

/* KVM_GET_NESTED_STATE / KVM_SET_NESTED_STATE: the vendor's format; -EINVAL without one. */
long kvmf_vcpu_get_nested_state(void *obj, void *data, unsigned long arg)
{
	if (!kvmf_x86_vendor->get_nested_state)
		return -EINVAL;
	return kvmf_x86_vendor->get_nested_state(obj, (void __user *)arg);
}

long kvmf_vcpu_set_nested_state(void *obj, void *data, unsigned long arg)
{
	if (!kvmf_x86_vendor->set_nested_state)
		return -EINVAL;
	return kvmf_x86_vendor->set_nested_state(obj, (void __user *)arg);
}

void kvmf_x86_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error,
			      u64 cr2)
{
	kvmf_x86_vendor->queue_exception(vcpu, vector, has_error, error, cr2);
}

static int kvmf_x86_vcpu_run_loop(struct kvmf_vcpu *vcpu)
{
	int r;

	/* No in-kernel local APIC: the VMM's TPR comes in with every KVM_RUN. */
	r = kvmf_x86_load_run_cr8(vcpu);
	if (r)
		return r;
	kvmf_kvmclock_update(vcpu);
	kvmf_x86_pio_complete(vcpu);
	r = kvmf_x86_mmio_complete(vcpu);
	if (r != KVMF_EXIT_RESUME)
		return r;

	/*
	 * Userspace may ask for an exit before any guest instruction runs;
	 * pending I/O is completed first, so that the state it reads after
	 * this (to migrate, say) is whole.
	 */
	if (READ_ONCE(vcpu->run->immediate_exit))
		return -EINTR;

	r = fpu_swap_kvm_fpstate(&vcpu->arch.guest_fpu, true);
	if (r)
		return r;
	vcpu->arch.has_run = true;

	for (;;) {
		/*
		 * The guest never keeps the host from scheduling: schedule()
		 * rather than cond_resched(), which is empty under preempt=full
		 * and would leave the entry path below refusing to enter until
		 * the next tick.  Before the signal check: whoever runs
		 * meanwhile may signal this thread (QEMU's I/O thread kicks
		 * its vCPU thread with SIG_IPI).
		 */
		if (need_resched())
			schedule();
		if (signal_pending(current)) {
			vcpu->run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}

		r = kvmf_x86_vendor->vcpu_run_once(vcpu);
		if (r != KVMF_EXIT_RESUME)
			break;
		if (kvmf_x86_irq_window_open(vcpu)) {
			vcpu->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = KVMF_EXIT_TO_USER;
			break;
		}
	}

	fpu_swap_kvm_fpstate(&vcpu->arch.guest_fpu, false);
	return r;
}

/* Whatever the outcome, kvm_run tells the VMM where the guest stands. */
static int kvmf_x86_vcpu_run(struct kvmf_vcpu *vcpu)
{
	int r = kvmf_x86_vcpu_run_loop(vcpu);

	kvmf_x86_sync_run(vcpu);
	return r;
}

/* Where each general-purpose register sits in struct kvm_regs. */
static const u16 kvmf_kvm_regs_offset[KVMF_NR_REGS] = {
	[KVMF_REG_RAX] = offsetof(struct kvm_regs, rax),
	[KVMF_REG_RCX] = offsetof(struct kvm_regs, rcx),
	[KVMF_REG_RDX] = offsetof(struct kvm_regs, rdx),
	[KVMF_REG_RBX] = offsetof(struct kvm_regs, rbx),
	[KVMF_REG_RSP] = offsetof(struct kvm_regs, rsp),
	[KVMF_REG_RBP] = offsetof(struct kvm_regs, rbp),
	[KVMF_REG_RSI] = offsetof(struct kvm_regs, rsi),
	[KVMF_REG_RDI] = offsetof(struct kvm_regs, rdi),
	[KVMF_REG_R8]  = offsetof(struct kvm_regs, r8),
	[KVMF_REG_R9]  = offsetof(struct kvm_regs, r9),
	[KVMF_REG_R10] = offsetof(struct kvm_regs, r10),
	[KVMF_REG_R11] = offsetof(struct kvm_regs, r11),
	[KVMF_REG_R12] = offsetof(struct kvm_regs, r12),
	[KVMF_REG_R13] = offsetof(struct kvm_regs, r13),
	[KVMF_REG_R14] = offsetof(struct kvm_regs, r14),
	[KVMF_REG_R15] = offsetof(struct kvm_regs, r15),
};

static int kvmf_x86_get_regs(struct kvmf_vcpu *vcpu, struct kvm_regs *regs)
{
	int i;

	for (i = 0; i < KVMF_NR_REGS; i++)
		*(u64 *)((u8 *)regs + kvmf_kvm_regs_offset[i]) = vcpu->arch.regs[i];
	regs->rip = vcpu->arch.rip;
	regs->rflags = (vcpu->arch.rflags & ~vcpu->arch.rflags_forced) |
		       (vcpu->arch.rflags_guest & vcpu->arch.rflags_forced);
	return 0;
}

static int kvmf_x86_set_regs(struct kvmf_vcpu *vcpu, const struct kvm_regs *regs)
{
	int i;

	for (i = 0; i < KVMF_NR_REGS; i++)
		vcpu->arch.regs[i] = *(const u64 *)((const u8 *)regs + kvmf_kvm_regs_offset[i]);
	vcpu->arch.rip = regs->rip;
	/* As on hardware, bit 1 always reads as 1. */
	vcpu->arch.rflags_guest = regs->rflags & vcpu->arch.rflags_forced;
	vcpu->arch.rflags = regs->rflags | KVMF_RFLAGS_FIXED | vcpu->arch.rflags_forced;
	return 0;
}

static int kvmf_x86_get_sregs(struct kvmf_vcpu *vcpu, struct kvm_sregs *sregs)
{
	return kvmf_x86_vendor->get_sregs(vcpu, sregs);
}

static int kvmf_x86_set_sregs(struct kvmf_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return kvmf_x86_vendor->set_sregs(vcpu, sregs);
}

const struct kvmf_arch_ops kvmf_arch_ops = {
	.name			= "x86",
	.dev_ioctls		= &kvmf_x86_dev_ioctls,
	.vm_ioctls		= &kvmf_x86_vm_ioctls,
	.vcpu_ioctls		= &kvmf_x86_vcpu_ioctls,
	.vm_enable_cap		= kvmf_x86_vm_enable_cap,
	.hardware_setup		= kvmf_x86_hardware_setup,
	.hardware_unsetup	= kvmf_x86_hardware_unsetup,
	.cpu_enable		= kvmf_x86_cpu_enable,
	.cpu_disable		= kvmf_x86_cpu_disable,
	.check_extension	= kvmf_x86_check_extension,
	.vm_init		= kvmf_x86_vm_init,
	.vm_destroy		= kvmf_x86_vm_destroy,
	.mmu_unmap_range	= kvmf_tdp_unmap_range,
	.mmu_age_range		= kvmf_tdp_age_range,
	.mmu_log_dirty_enable	= kvmf_tdp_log_dirty_enable,
	.mmu_write_protect	= kvmf_tdp_write_protect,
	.mmu_flush		= kvmf_tdp_flush,
	.vcpu_create		= kvmf_x86_vcpu_create,
	.vcpu_destroy		= kvmf_x86_vcpu_destroy,
	.vcpu_run		= kvmf_x86_vcpu_run,
	.vcpu_mmap_page		= kvmf_x86_vcpu_mmap_page,
	.get_regs		= kvmf_x86_get_regs,
	.set_regs		= kvmf_x86_set_regs,
	.get_sregs		= kvmf_x86_get_sregs,
	.set_sregs		= kvmf_x86_set_sregs,
};
