// SPDX-License-Identifier: GPL-2.0
/*
 * x86 processor helpers: vendor detection and the usable guest physical
 * range (host side), the exception dispatcher and the hypercall (guest
 * side).
 */
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "kvmf_test.h"

#include "ucall.h"
#include "x86/processor.h"

static bool vendor_is(const char *signature)
{
	uint32_t eax, v[3];

	kvmf_cpuid(0, 0, &eax, &v[0], &v[2], &v[1]);
	return !memcmp(v, signature, 12);
}

bool kvmf_host_cpu_is_intel(void)
{
	return vendor_is("GenuineIntel");
}

bool kvmf_host_cpu_is_amd(void)
{
	return vendor_is("AuthenticAMD");
}

bool kvmf_host_cpu_is_hygon(void)
{
	return vendor_is("HygonGenuine");
}

bool kvmf_host_cpu_is_amd_compatible(void)
{
	return kvmf_host_cpu_is_amd() || kvmf_host_cpu_is_hygon();
}

bool kvmf_host_is_qemu_tcg(void)
{
	uint32_t eax, ebx, ecx, edx, sig[3];

	kvmf_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	if (!(ecx & (1u << 31)))	/* no hypervisor */
		return false;
	kvmf_cpuid(0x40000000, 0, &eax, &sig[0], &sig[1], &sig[2]);
	return !memcmp(sig, "TCGTCGTCGTCG", 12);
}

struct kvmf_one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entry;
};

int kvmf_vcpu_try_set_msr(int vcpu_fd, uint32_t index, uint64_t value)
{
	struct kvmf_one_msr m = { .hdr.nmsrs = 1, .entry = { .index = index, .data = value } };

	return ioctl(vcpu_fd, KVM_SET_MSRS, &m);
}

uint64_t kvmf_vcpu_get_msr(int vcpu_fd, uint32_t index)
{
	struct kvmf_one_msr m = { .hdr.nmsrs = 1, .entry = { .index = index } };
	int r = ioctl(vcpu_fd, KVM_GET_MSRS, &m);

	if (r != 1)
		kvmf_test_fail(__FILE__, __LINE__, "KVM_GET_MSRS of MSR %#x returned %d", index, r);
	return m.entry.data;
}

/* As many entries as KVM accepts in one table. */
#define KVMF_MAX_CPUID_ENTRIES	256

const struct kvm_cpuid2 *kvmf_supported_cpuid(int kvm_fd)
{
	static struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 entries[KVMF_MAX_CPUID_ENTRIES];
	} table;

	table.hdr.nent = KVMF_MAX_CPUID_ENTRIES;
	KVMF_CHECK(ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &table));
	return &table.hdr;
}

const struct kvm_cpuid_entry2 *kvmf_cpuid_entry(const struct kvm_cpuid2 *t, uint32_t leaf,
						uint32_t index)
{
	uint32_t i;

	for (i = 0; i < t->nent; i++)
		if (t->entries[i].function == leaf && t->entries[i].index == index)
			return &t->entries[i];
	return NULL;
}

void kvmf_vcpu_set_supported_cpuid(int kvm_fd, int vcpu_fd)
{
	KVMF_CHECK(ioctl(vcpu_fd, KVM_SET_CPUID2, kvmf_supported_cpuid(kvm_fd)));
}

uint64_t kvmf_max_guest_gfn(void)
{
	uint32_t eax, ebx, ecx, edx, bits = 36;
	uint64_t max_gfn;

	kvmf_cpuid(0x80000000, 0, &eax, &ebx, &ecx, &edx);
	if (eax >= 0x80000008) {
		kvmf_cpuid(0x80000008, 0, &eax, &ebx, &ecx, &edx);
		bits = eax & 0xff;
	}
	if (bits > 48)
		bits = 48;	/* what 4-level paging reaches */
	max_gfn = (1ull << (bits - 12)) - 1;

	if (kvmf_host_cpu_is_amd_compatible() && max_gfn >= (KVMF_AMD_HT_HOLE_START >> 12))
		max_gfn = (KVMF_AMD_HT_HOLE_START >> 12) - 1;
	return max_gfn;
}

/*
 * Set on the host before a guest is loaded (kvmf_guest_load_program()
 * copies the program's data), read by guest code.
 */
bool kvmf_guest_host_is_amd_compatible;

kvmf_exc_handler kvmf_guest_exc_handlers[256];

/* Called from exception.S, in the guest. */
void kvmf_guest_exception(struct kvmf_exc_frame *frame);
void kvmf_guest_exception(struct kvmf_exc_frame *frame)
{
	kvmf_exc_handler handler = kvmf_guest_exc_handlers[frame->vector & 0xff];

	if (handler) {
		handler(frame);
		return;
	}
	kvmf_guest_ucall(UCALL_UNHANDLED, frame->vector, frame->rip, frame->error_code);
	for (;;)
		asm volatile("hlt");
}

uint64_t kvmf_guest_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
			      uint64_t a3)
{
	uint64_t ret;

	if (kvmf_guest_host_is_amd_compatible)
		asm volatile("vmmcall"
			     : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	else
		asm volatile("vmcall"
			     : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	return ret;
}

volatile uint64_t kvmf_guest_gp_count;

void kvmf_guest_msr_gp(struct kvmf_exc_frame *frame)
{
	kvmf_guest_gp_count++;
	frame->rip += 2;
}

bool kvmf_wrmsr_faults(uint32_t msr, uint64_t value)
{
	uint64_t before = kvmf_guest_gp_count;

	kvmf_wrmsr(msr, value);
	return kvmf_guest_gp_count != before;
}

bool kvmf_rdmsr_faults(uint32_t msr)
{
	uint64_t before = kvmf_guest_gp_count;

	(void)kvmf_rdmsr(msr);
	return kvmf_guest_gp_count != before;
}
