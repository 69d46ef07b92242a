/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: x86 processor facts and helpers, for the host side
 * (vendor detection, usable guest physical range) and for guest code
 * (exception frames and handlers, CPUID, MSRs, the hypercall instruction).
 */
#ifndef KVMF_X86_PROCESSOR_H
#define KVMF_X86_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

/* CPU vendors, from the CPUID leaf 0 signature. */
bool kvmf_host_cpu_is_intel(void);
bool kvmf_host_cpu_is_amd(void);
bool kvmf_host_cpu_is_hygon(void);
/* AMD or Hygon: SVM, VMMCALL, the HyperTransport hole. */
bool kvmf_host_cpu_is_amd_compatible(void);
/*
 * The host is itself a guest of QEMU's TCG (hypervisor signature
 * "TCGTCGTCGTCG"): for the few cases that need what TCG does not emulate.
 */
bool kvmf_host_is_qemu_tcg(void);

/*
 * One MSR of a vCPU through KVM_SET_MSRS / KVM_GET_MSRS: try_set returns
 * what KVM does (1 if it took the value, 0 if it refused it, -1 with errno
 * on error); get fails the case unless KVM returns the MSR.
 */
int kvmf_vcpu_try_set_msr(int vcpu_fd, uint32_t index, uint64_t value);
uint64_t kvmf_vcpu_get_msr(int vcpu_fd, uint32_t index);

struct kvm_cpuid2;
struct kvm_cpuid_entry2;
/*
 * KVM_GET_SUPPORTED_CPUID's table, in a buffer of the library's that the
 * next call fills again; the entry for @leaf.@index of a table, or NULL;
 * and a vCPU given the supported table with KVM_SET_CPUID2.
 */
const struct kvm_cpuid2 *kvmf_supported_cpuid(int kvm_fd);
const struct kvm_cpuid_entry2 *kvmf_cpuid_entry(const struct kvm_cpuid2 *t, uint32_t leaf,
						uint32_t index);
void kvmf_vcpu_set_supported_cpuid(int kvm_fd, int vcpu_fd);

/*
 * Guest physical addresses AMD-compatible CPUs reserve for HyperTransport
 * just below 1 TiB: memory placed there does not behave as memory.
 */
#define KVMF_AMD_HT_HOLE_START	0xfd00000000ull
#define KVMF_AMD_HT_HOLE_END	0xffffffffffull	/* inclusive */

/*
 * The highest guest frame tests may give memory: below the physical
 * address width (CPUID 0x80000008), within 4-level paging, and on
 * AMD-compatible hosts below the HyperTransport hole when the width
 * reaches it.
 */
uint64_t kvmf_max_guest_gfn(void);

static inline void kvmf_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx,
			      uint32_t *ecx, uint32_t *edx)
{
	asm volatile("cpuid"
		     : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx)
		     : "a"(leaf), "c"(subleaf));
}

/* Guest side. */

/* What the exception entry saved; handlers may change it. */
struct kvmf_exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*kvmf_exc_handler)(struct kvmf_exc_frame *frame);

/* Per vector; NULL reports UCALL_UNHANDLED (the host fails the test). */
extern kvmf_exc_handler kvmf_guest_exc_handlers[256];

/*
 * KVM's hypercall: VMMCALL on AMD-compatible hosts, VMCALL on Intel, as the
 * host's vendor says (a global the guest gets a copy of when it is loaded).
 */
uint64_t kvmf_guest_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
			      uint64_t a3);

static inline uint64_t kvmf_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static inline void kvmf_wrmsr(uint32_t msr, uint64_t value)
{
	asm volatile("wrmsr" : : "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(msr)
		     : "memory");
}

/*
 * Guest code that expects an RDMSR or WRMSR to raise #GP: install
 * kvmf_guest_msr_gp as the #GP handler (it counts the fault and skips the
 * 2-byte instruction); the *_faults helpers then say whether one access
 * faulted.
 */
extern volatile uint64_t kvmf_guest_gp_count;
void kvmf_guest_msr_gp(struct kvmf_exc_frame *frame);
bool kvmf_wrmsr_faults(uint32_t msr, uint64_t value);
bool kvmf_rdmsr_faults(uint32_t msr);

#endif /* KVMF_X86_PROCESSOR_H */
