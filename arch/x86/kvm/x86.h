/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seam between x86 common code and a vendor backend (SVM today).  x86
 * common code calls the backend only through struct kvmf_x86_vendor_ops.
 */
#ifndef KVMFORK_X86_H
#define KVMFORK_X86_H

#include <linux/kvm.h>
#include <linux/types.h>

#include <kvmfork/kvmf_host.h>

#include "emulate.h"

struct kvmf_vm;
struct kvmf_vcpu;

/* Exit handlers' return convention, shared by x86 common code and vendors. */
enum kvmf_exit_result {
	KVMF_EXIT_TO_USER = 0,	/* vcpu->run is filled in: return from KVM_RUN */
	KVMF_EXIT_RESUME = 1,	/* handled: enter the guest again */
};

struct kvmf_x86_vendor_ops {
	const char *name;

	/* Whether this backend can drive the boot CPU; prints why not. */
	int (*probe)(void);
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);

	int (*vm_init)(struct kvmf_vm *vm);
	void (*vm_destroy)(struct kvmf_vm *vm);

	int (*vcpu_create)(struct kvmf_vcpu *vcpu);
	void (*vcpu_destroy)(struct kvmf_vcpu *vcpu);
	/*
	 * Enter the guest once and handle the exit: a kvmf_exit_result, or a
	 * negative errno.  Called with the guest FPU loaded, preemptible.
	 */
	int (*vcpu_run_once)(struct kvmf_vcpu *vcpu);
	int (*get_sregs)(struct kvmf_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct kvmf_vcpu *vcpu, const struct kvm_sregs *sregs);
	/* MSRs held in the vendor's guest state; 0 or -EINVAL. */
	int (*get_msr)(struct kvmf_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host);
	/* Deliver an exception on the next entry (@cr2 for #PF). */
	void (*queue_exception)(struct kvmf_vcpu *vcpu, u8 vector, bool has_error,
				u32 error, u64 cr2);
	/*
	 * Interrupts and NMIs from userspace (irq.c): whether the guest can
	 * take one now, and delivering it on the next entry.  inject_* return
	 * false if it must still wait (it became an exit to a nested guest's
	 * hypervisor instead).  enable_irq_window makes the guest exit as soon
	 * as it could take an interrupt.
	 */
	bool (*interrupt_allowed)(struct kvmf_vcpu *vcpu);
	bool (*inject_irq)(struct kvmf_vcpu *vcpu, u8 vector);
	void (*enable_irq_window)(struct kvmf_vcpu *vcpu);
	bool (*nmi_allowed)(struct kvmf_vcpu *vcpu);
	bool (*inject_nmi)(struct kvmf_vcpu *vcpu);
	u8 (*get_cr8)(struct kvmf_vcpu *vcpu);
	u64 (*get_cr4)(struct kvmf_vcpu *vcpu);
	/* The guest's DR6 and DR7 (debugregs.c keeps DR0-DR3); set takes them as given. */
	void (*get_dr6_dr7)(struct kvmf_vcpu *vcpu, u64 *dr6, u64 *dr7);
	void (*set_dr6_dr7)(struct kvmf_vcpu *vcpu, u64 dr6, u64 dr7);
	/* The guest shuts down before its next instruction (KVM_EXIT_SHUTDOWN). */
	void (*triple_fault)(struct kvmf_vcpu *vcpu);
	/* The TSC of the guest (L1's while a nested guest runs), for kvmclock. */
	u64 (*read_l1_tsc)(struct kvmf_vcpu *vcpu);
	void (*set_cr8)(struct kvmf_vcpu *vcpu, u8 cr8);
	/*
	 * KVM_GET/SET_VCPU_EVENTS: the exception, NMI or soft interrupt being
	 * delivered, the interrupt shadow and NMI blocking.  set_events gets
	 * checked input.
	 */
	void (*get_events)(struct kvmf_vcpu *vcpu, struct kvm_vcpu_events *ev);
	void (*set_events)(struct kvmf_vcpu *vcpu, const struct kvm_vcpu_events *ev);
	/* Adds what the vendor virtualizes to a leaf of KVM_GET_SUPPORTED_CPUID. */
	void (*cpuid_supported)(u32 leaf, u32 out[4]);
	/* Nested virtualization: KVM_CAP_NESTED_STATE and KVM_GET/SET_NESTED_STATE. */
	int (*nested_state_size)(void);
	long (*get_nested_state)(struct kvmf_vcpu *vcpu, struct kvm_nested_state __user *ustate);
	long (*set_nested_state)(struct kvmf_vcpu *vcpu, struct kvm_nested_state __user *ustate);
};

/* What the instruction emulator needs to know of the vCPU's mode. */
struct kvmf_x86_cpu_mode {
	enum kvmf_emul_mode mode;
	bool cs_d;
	bool la57;
	u64 seg_base[KVMF_NR_SEGS];
	struct kvmf_x86_paging paging;
};

extern const struct kvmf_x86_vendor_ops kvmf_svm_vendor_ops;
/* The backend serving this host, for x86 common code. */
extern const struct kvmf_x86_vendor_ops *kvmf_x86_vendor;

/* arch/x86/kvm/x86.c: services for vendor backends. */
void kvmf_x86_kick_vcpus(struct kvmf_vm *vm);
bool kvmf_x86_entry_must_wait(void);
void kvmf_x86_reset_regs(struct kvmf_vcpu *vcpu);
int kvmf_x86_internal_error(struct kvmf_vcpu *vcpu, u32 suberror, unsigned int ndata,
			    const u64 *data);

/* arch/x86/kvm/pio.c: port I/O to userspace, string forms included. */
int kvmf_x86_pio(struct kvmf_vcpu *vcpu, const struct kvmf_pio_insn *insn);
void kvmf_x86_pio_complete(struct kvmf_vcpu *vcpu);

/* arch/x86/kvm/mmio.c: the instruction emulator on a vCPU. */
int kvmf_x86_emul_create(struct kvmf_vcpu *vcpu);
void kvmf_x86_emul_destroy(struct kvmf_vcpu *vcpu);
int kvmf_x86_emulate_mmio(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m);
int kvmf_x86_mmio_complete(struct kvmf_vcpu *vcpu);
/* Decodes the instruction at CS:RIP (for its length, prefixes...); NULL if it cannot. */
const struct kvmf_insn *kvmf_x86_decode(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m);
/* KVM_EXIT_INTERNAL_ERROR (emulation) with the bytes the decoder fetched. */
int kvmf_x86_emulation_failure(struct kvmf_vcpu *vcpu);
void kvmf_x86_queue_exception(struct kvmf_vcpu *vcpu, u8 vector, bool has_error, u32 error,
			      u64 cr2);

/* Every byte of PAT must be a memory type: UC, WC, WT, WP, WB or UC-. */
static inline bool kvmf_x86_pat_valid(u64 pat)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/* arch/x86/kvm/msr.c */
int kvmf_x86_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmf_x86_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host);
bool kvmf_x86_guest_msr(struct kvmf_vcpu *vcpu, bool write);
int kvmf_x86_vendor_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data);
int kvmf_x86_vendor_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host);
long kvmf_vcpu_get_msrs(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_msrs(void *obj, void *data, unsigned long arg);
long kvmf_dev_get_msr_index_list(void *obj, void *data, unsigned long arg);

/* arch/x86/kvm/cpuid.c: the guest's CPUID, and the CPUID ioctls. */
void kvmf_x86_cpuid(struct kvmf_vcpu *vcpu, u32 leaf, u32 subleaf, u32 out[4]);
void kvmf_x86_cpuid_runtime(u32 leaf, u32 subleaf, u64 cr4, u64 xcr0, u32 out[4]);
void kvmf_x86_cpuid_set_guest_xcr0(u64 xcr0);
void kvmf_cpuid_adjust(u32 leaf, u32 out[4]);
void kvmf_x86_cpuid_free(struct kvmf_vcpu *vcpu);
void kvmf_x86_cpuid_set_vendor_hook(void (*hook)(u32 leaf, u32 out[4]));
long kvmf_dev_get_supported_cpuid(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_cpuid2(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_get_cpuid2(void *obj, void *data, unsigned long arg);

/* arch/x86/kvm/fpu.c */
void kvmf_fpu_setup(void);
int kvmf_x86_set_xcr0(struct kvmf_vcpu *vcpu, u64 xcr0);
bool kvmf_x86_load_guest_xcr0(struct kvmf_vcpu *vcpu, bool guest_osxsave);
void kvmf_x86_put_guest_xcr0(struct kvmf_vcpu *vcpu, bool loaded, bool guest_osxsave);
long kvmf_vcpu_get_fpu(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_fpu(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_get_xsave(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_xsave(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_get_xcrs(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_xcrs(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_get_mp_state(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_mp_state(void *obj, void *data, unsigned long arg);

/* arch/x86/kvm/mce.c */
int kvmf_mce_nr_banks(void);
void kvmf_mce_vcpu_init(struct kvmf_vcpu *vcpu);
long kvmf_dev_get_mce_cap_supported(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_setup_mce(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_mce(void *obj, void *data, unsigned long arg);
bool kvmf_mce_msr(u32 index);
int kvmf_mce_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmf_mce_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host);

/* arch/x86/kvm/mtrr.c */
bool kvmf_mtrr_msr(u32 index);
int kvmf_mtrr_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data);
int kvmf_mtrr_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data);

/* arch/x86/kvm/kvmclock.c */
void kvmf_kvmclock_vm_init(struct kvmf_vm *vm);
void kvmf_kvmclock_update(struct kvmf_vcpu *vcpu);
bool kvmf_kvmclock_msr(u32 index);
int kvmf_kvmclock_get_msr(struct kvmf_vcpu *vcpu, u32 index, u64 *data);
int kvmf_kvmclock_set_msr(struct kvmf_vcpu *vcpu, u32 index, u64 data, bool host);
long kvmf_vm_get_clock(void *obj, void *data, unsigned long arg);
long kvmf_vm_set_clock(void *obj, void *data, unsigned long arg);
int kvmf_kvmclock_cap(void);

/* arch/x86/kvm/irq.c */
long kvmf_vcpu_interrupt(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_nmi(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_get_vcpu_events(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_vcpu_events(void *obj, void *data, unsigned long arg);
int kvmf_x86_load_run_cr8(struct kvmf_vcpu *vcpu);
void kvmf_x86_inject_events(struct kvmf_vcpu *vcpu);
bool kvmf_x86_irq_window_open(struct kvmf_vcpu *vcpu);
void kvmf_x86_sync_run(struct kvmf_vcpu *vcpu);

/* arch/x86/kvm/tsc.c */
void kvmf_tsc_vm_init(struct kvmf_vm *vm);
void kvmf_tsc_vcpu_init(struct kvmf_vcpu *vcpu);
long kvmf_vcpu_get_tsc_khz(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_tsc_khz(void *obj, void *data, unsigned long arg);
long kvmf_vm_get_tsc_khz(void *obj, void *data, unsigned long arg);
long kvmf_vm_set_tsc_khz(void *obj, void *data, unsigned long arg);

/* arch/x86/kvm/debugregs.c */
long kvmf_vcpu_get_debugregs(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_debugregs(void *obj, void *data, unsigned long arg);
int kvmf_x86_mov_dr(struct kvmf_vcpu *vcpu, unsigned int dr, unsigned int reg, bool write,
		    bool long_mode);
void kvmf_x86_load_guest_db(struct kvmf_vcpu *vcpu, u64 guest_dr7);

/* arch/x86/kvm/x86.c */
long kvmf_vcpu_get_nested_state(void *obj, void *data, unsigned long arg);
long kvmf_vcpu_set_nested_state(void *obj, void *data, unsigned long arg);

/* arch/x86/kvm/hypercall.c */
u64 kvmf_x86_disableable_quirks(void);
int kvmf_x86_vm_enable_cap(struct kvmf_vm *vm, const struct kvm_enable_cap *cap);
bool kvmf_x86_fix_hypercall(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m,
			    const u8 foreign[3], const u8 native[3]);

/* arch/x86/kvm/ioctls.c */
extern const struct kvmf_ioctl_table kvmf_x86_dev_ioctls;
extern const struct kvmf_ioctl_table kvmf_x86_vcpu_ioctls;
/* arch/x86/kvm/vm_ioctls.c; KVM's size of a GSI routing table (KVM_MAX_IRQ_ROUTES) */
#define KVMF_MAX_IRQ_ROUTES	4096
extern const struct kvmf_ioctl_table kvmf_x86_vm_ioctls;

#endif /* KVMFORK_X86_H */
