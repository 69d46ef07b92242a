// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts and NMIs from an interrupt controller in userspace (the VM has
 * no in-kernel irqchip), as KVM serves them (Documentation/virt/kvm/api.rst):
 *
 * - KVM_INTERRUPT hands over a vector that goes in on the next entry; the
 *   VMM checked first that the guest can take it (ready_for_interrupt_
 *   injection), so, as on KVM, the guest's IF is not looked at again, and a
 *   second call before the entry replaces the vector.  A nested guest's
 *   hypervisor that intercepts INTR gets #VMEXIT(INTR) instead (the APM's
 *   rule; Debian's 6.1 KVM puts the vector into L2), and the vector once
 *   its GIF is set again.
 * - KVM_NMI queues an NMI, delivered when NMIs are not blocked.
 * - kvm_run.request_interrupt_window: KVM_EXIT_IRQ_WINDOW_OPEN as soon as
 *   the guest could take an interrupt.
 * - Every return from KVM_RUN tells the VMM whether it may inject now, and
 *   the guest's IF, CR8 and APIC base; every KVM_RUN loads kvm_run.cr8 into
 *   the guest's TPR, and a guest that lowers its TPR exits with
 *   KVM_EXIT_SET_TPR (the vendor's CR8 intercept).
 * - KVM_GET/SET_VCPU_EVENTS save and restore all of it, with the event the
 *   vendor is delivering and the interrupt shadow.
 *
 * The vendor decides what "can take one" means (IF, the interrupt shadow,
 * GIF, an event already being delivered, and for a nested guest, whether
 * its hypervisor intercepts interrupts) and how to deliver it, through
 * struct kvmf_x86_vendor_ops.  NMIs go first, as on hardware.
 *
 * Locking: all of it is vCPU state, under vcpu->mutex (the ioctls and
 * KVM_RUN take it).
 */
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include <kvmfork/kvmf_host.h>

#include "x86.h"

/* As on KVM: NMIs that arrive while one waits collapse into at most two. */
#define KVMF_MAX_PENDING_NMIS	2

long kvmf_vcpu_interrupt(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	const struct kvm_interrupt *irq = data;

	if (irq->irq >= 256)
		return -EINVAL;
	vcpu->arch.irq_pending = true;
	vcpu->arch.irq_vector = irq->irq;
	return 0;
}

/* One NMI may wait behind one being handled or delivered, two otherwise (as on KVM). */
long kvmf_vcpu_nmi(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_vcpu_events ev = {};
	unsigned int limit;

	kvmf_x86_vendor->get_events(vcpu, &ev);
	limit = ev.nmi.masked || ev.nmi.injected ? 1 : KVMF_MAX_PENDING_NMIS;
	if (vcpu->arch.nmi_pending < limit)
		vcpu->arch.nmi_pending++;
	return 0;
}

long kvmf_vcpu_get_vcpu_events(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_vcpu_events *ev = data;

	memset(ev, 0, sizeof(*ev));
	kvmf_x86_vendor->get_events(vcpu, ev);
	/* KVM_INTERRUPT's vector counts as being injected already, as on KVM. */
	if (vcpu->arch.irq_pending) {
		ev->interrupt.injected = 1;
		ev->interrupt.nr = vcpu->arch.irq_vector;
		ev->interrupt.soft = 0;
	}
	ev->nmi.pending = vcpu->arch.nmi_pending != 0;
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM;
	return 0;
}

/*
 * KVM_SET_VCPU_EVENTS, checked before anything changes.  kvmfork offers
 * neither exception payloads nor the triple-fault event (their flags are
 * refused, as KVM refuses them until the capability is enabled), and has no
 * SMM: an SMM state to enter is refused too, as KVM built without SMM does.
 */
long kvmf_vcpu_set_vcpu_events(void *obj, void *data, unsigned long arg)
{
	const u32 usable = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			   KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	struct kvm_vcpu_events *ev = data;
	struct kvmf_vcpu *vcpu = obj;

	if (ev->flags & ~usable)
		return -EINVAL;
	/* Without payloads a pending exception is not a state of its own. */
	ev->exception.pending = 0;
	if (ev->exception.injected && (ev->exception.nr > 31 || ev->exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) && (ev->smi.smm || ev->smi.pending))
		return -EINVAL;

	kvmf_x86_vendor->set_events(vcpu, ev);
	vcpu->arch.irq_pending = ev->interrupt.injected && !ev->interrupt.soft;
	vcpu->arch.irq_vector = ev->interrupt.nr;
	if (ev->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		vcpu->arch.nmi_pending = ev->nmi.pending ? 1 : 0;
	return 0;
}

/* At KVM_RUN: the VMM's TPR for the guest, 0 to 15. */
int kvmf_x86_load_run_cr8(struct kvmf_vcpu *vcpu)
{
	u64 cr8 = READ_ONCE(vcpu->run->cr8);

	if (cr8 > 15)
		return -EINVAL;
	kvmf_x86_vendor->set_cr8(vcpu, cr8);
	return 0;
}

/*
 * Before each entry, once the guest's mode is settled: deliver what is
 * pending and may go in; for a VMM waiting for the window, have the guest
 * exit as soon as it could take an interrupt.
 */
void kvmf_x86_inject_events(struct kvmf_vcpu *vcpu)
{
	const struct kvmf_x86_vendor_ops *v = kvmf_x86_vendor;
	struct kvmf_arch_vcpu *a = &vcpu->arch;

	if (a->nmi_pending && v->nmi_allowed(vcpu) && v->inject_nmi(vcpu))
		a->nmi_pending--;
	if (a->irq_pending && v->inject_irq(vcpu, a->irq_vector))
		a->irq_pending = false;
	if (READ_ONCE(vcpu->run->request_interrupt_window))
		v->enable_irq_window(vcpu);
}

/* Whether the VMM may call KVM_INTERRUPT and have the vector delivered right away. */
static bool kvmf_x86_ready_for_interrupt(struct kvmf_vcpu *vcpu)
{
	return !vcpu->arch.irq_pending && kvmf_x86_vendor->interrupt_allowed(vcpu);
}

/* After an exit handled in the kernel: the window the VMM asked for is open. */
bool kvmf_x86_irq_window_open(struct kvmf_vcpu *vcpu)
{
	return READ_ONCE(vcpu->run->request_interrupt_window) &&
	       kvmf_x86_ready_for_interrupt(vcpu);
}

/* On every return from KVM_RUN. */
void kvmf_x86_sync_run(struct kvmf_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 apic_base = 0;

	run->if_flag = !!(vcpu->arch.rflags & X86_EFLAGS_IF);
	run->cr8 = kvmf_x86_vendor->get_cr8(vcpu);
	kvmf_x86_vendor->get_msr(vcpu, MSR_IA32_APICBASE, &apic_base);
	run->apic_base = apic_base;
	run->ready_for_interrupt_injection = kvmf_x86_ready_for_interrupt(vcpu);
}
