// SPDX-License-Identifier: GPL-2.0
/*
 * Entering the guest once: ASID and TLB management, the switch of register
 * state around VMRUN, and the GIF/IF dance that keeps host interrupts
 * working (APM: "Global Interrupt Flag", "Physical (INTR) Interrupt Masking
 * in EFLAGS").
 *
 * ASIDs are per CPU and handed out in generations: a vCPU takes a fresh
 * ASID whenever it runs on another CPU than last time, its VMCB was reset,
 * or its VM's nested page tables lost mappings.  A fresh ASID has no TLB
 * entries, so no flush-by-ASID is needed (QEMU's SVM has none); when a
 * CPU runs out of ASIDs it starts a new generation with one full flush.
 */
#include <linux/hw_breakpoint.h>
#include <linux/irqflags.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/io.h>
#include <asm/msr.h>

#include "../x86.h"
#include "svm.h"

static void svm_clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static void svm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/* Called with interrupts off, on the CPU about to run @vcpu. */
static void svm_pick_asid(struct kvmf_vcpu *vcpu, int cpu)
{
	struct kvmf_svm_cpu *sc = this_cpu_ptr(&kvmf_svm_cpu);
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u64 flush_gen = atomic64_read(&vcpu->vm->arch.tdp.flush_generation);

	c->tlb_control = SVM_TLB_CONTROL_NONE;
	if (svm->asid_cpu == cpu && svm->asid_generation == sc->asid_generation &&
	    vcpu->arch.tdp_flush_seen == flush_gen)
		return;

	if (sc->next_asid > sc->max_asid) {
		sc->asid_generation++;
		sc->next_asid = 1;
		c->tlb_control = SVM_TLB_CONTROL_FLUSH_ALL;
	}
	svm->asid = sc->next_asid++;
	svm->asid_cpu = cpu;
	svm->asid_generation = sc->asid_generation;
	vcpu->arch.tdp_flush_seen = flush_gen;
	c->asid = svm->asid;
}

static void svm_load_guest_regs(struct kvmf_vcpu *vcpu, struct vmcb_save_area *save)
{
	save->rax = vcpu->arch.regs[KVMF_REG_RAX];
	save->rsp = vcpu->arch.regs[KVMF_REG_RSP];
	save->rip = vcpu->arch.rip;
	save->rflags = vcpu->arch.rflags;
}

static void svm_store_guest_regs(struct kvmf_vcpu *vcpu, const struct vmcb_save_area *save)
{
	vcpu->arch.regs[KVMF_REG_RAX] = save->rax;
	vcpu->arch.regs[KVMF_REG_RSP] = save->rsp;
	vcpu->arch.rip = save->rip;
	vcpu->arch.rflags = save->rflags;
}

int svm_vcpu_run_once(struct kvmf_vcpu *vcpu)
{
	struct kvmf_svm_vcpu *svm = to_svm(vcpu);
	struct kvmf_svm_cpu *sc;
	struct vmcb *vmcb;
	bool swap_tsc_aux, swap_xcr0;
	int cpu, r;

	/* A #VMEXIT or triple fault raised while handling the last exit. */
	r = svm_nested_before_entry(vcpu);
	if (r != KVMF_EXIT_RESUME)
		return r;
	kvmf_x86_inject_events(vcpu);
	vmcb = svm->vmcb;
	svm_load_guest_regs(vcpu, &vmcb->save);

	local_irq_disable();
	cpu = smp_processor_id();
	sc = this_cpu_ptr(&kvmf_svm_cpu);

	/*
	 * The guest's FPU state was loaded at KVM_RUN, but a context switch
	 * since (cond_resched(), preemption) or kernel FPU use in an interrupt
	 * saved it away and left the registers to be reloaded on the way back
	 * to userspace.  The guest is about to use them: reload them now, with
	 * interrupts off so that nothing takes them again before VMRUN.
	 */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	/* Publish where we run before looking at the flush generation (kicks). */
	WRITE_ONCE(vcpu->arch.guest_cpu, cpu);
	smp_mb();
	svm_pick_asid(vcpu, cpu);
	/*
	 * kvmfork's table changed since the shadow of L1's was checked (check
	 * it again), or the thread must not enter the guest now: the run loop
	 * acts on it.  An event already in EVENTINJ stays there for the next
	 * entry, and KVM_GET_VCPU_EVENTS reads it from there.
	 */
	if (unlikely(svm_nested_npt_stale(vcpu) || kvmf_x86_entry_must_wait())) {
		WRITE_ONCE(vcpu->arch.guest_cpu, -1);
		local_irq_enable();
		return KVMF_EXIT_RESUME;
	}

	/*
	 * GIF=0 holds every interrupt and NMI from here to STGI; IF=1 lets a
	 * physical interrupt in the guest cause #VMEXIT (INTR intercept).
	 */
	/* RDTSCP and RDPID read MSR_TSC_AUX directly: give the guest its own. */
	swap_tsc_aux = vcpu->arch.tsc_aux != sc->host_tsc_aux;
	if (swap_tsc_aux)
		wrmsrl(MSR_TSC_AUX, vcpu->arch.tsc_aux);
	/* The VMCB brings the guest's DR6 and DR7; its DR0-DR3 only if DR7 uses them. */
	kvmf_x86_load_guest_db(vcpu, vmcb->save.dr7);
	/* Nor does VMRUN switch XCR0. */
	swap_xcr0 = kvmf_x86_load_guest_xcr0(vcpu, vmcb->save.cr4 & X86_CR4_OSXSAVE);

	svm_clgi();
	local_irq_enable();
	kvmf_svm_vmrun(virt_to_phys(vmcb), vcpu->arch.regs,
		       page_to_phys(sc->host_vmsave));
	local_irq_disable();

	kvmf_x86_put_guest_xcr0(vcpu, swap_xcr0, vmcb->save.cr4 & X86_CR4_OSXSAVE);
	if (swap_tsc_aux)
		wrmsrl(MSR_TSC_AUX, sc->host_tsc_aux);

	/* #VMEXIT left DR7 at its reset value: give the host its breakpoints back. */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	svm_stgi();
	WRITE_ONCE(vcpu->arch.guest_cpu, -1);
	/* A host interrupt that made the guest exit is taken here. */
	local_irq_enable();

	svm_store_guest_regs(vcpu, &vmcb->save);
	return svm_handle_exit(vcpu);
}
