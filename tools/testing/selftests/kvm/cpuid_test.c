// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID ioctls: KVM_GET_SUPPORTED_CPUID (sizes, KVM's paravirtual
 * signature), KVM_SET_CPUID2 / KVM_GET_CPUID2 (sizes, bad pointers, the
 * rule that the table may not change after the first KVM_RUN), and the
 * guest's CPUID instruction answering from the table that was set.
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define MAX_ENTRIES	256

struct cpuid_buf {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 entries[MAX_ENTRIES + 1];
};

static struct cpuid_buf supported;

static void get_supported(int kvm)
{
	supported.hdr.nent = MAX_ENTRIES;
	KVMF_CHECK(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &supported));
	KVMF_ASSERT(supported.hdr.nent > 0 && supported.hdr.nent <= MAX_ENTRIES, "nent %u",
		    supported.hdr.nent);
}

static const struct kvm_cpuid_entry2 *find(const struct cpuid_buf *b, uint32_t fn, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < b->hdr.nent; i++)
		if (b->entries[i].function == fn && b->entries[i].index == idx)
			return &b->entries[i];
	return NULL;
}

static void test_supported_cpuid(void)
{
	struct cpuid_buf small = { .hdr.nent = 1 };
	const struct kvm_cpuid_entry2 *e;
	int kvm = kvmf_open_dev();
	char sig[13] = { 0 };

	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &small), E2BIG);
	small.hdr.nent = 0;
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &small), E2BIG);
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, (void *)8), EFAULT);

	get_supported(kvm);
	KVMF_ASSERT(find(&supported, 0, 0) && find(&supported, 0x80000000, 0), "basic leaves");
	e = find(&supported, 0x40000000, 0);
	KVMF_ASSERT(e, "no KVM signature leaf");
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	KVMF_ASSERT(!strcmp(sig, "KVMKVMKVM"), "signature '%s'", sig);
}

static void test_set_get_cpuid2_bad_input(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;
	struct cpuid_buf got = { .hdr.nent = 1 };
	struct cpuid_buf big;
	uint32_t i;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);
	get_supported(vm.kvm);

	big = supported;
	big.hdr.nent = MAX_ENTRIES + 1;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_CPUID2, &big), E2BIG);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_CPUID2, (void *)8), EFAULT);

	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_CPUID2, &supported));
	if (supported.hdr.nent > 1)
		KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_GET_CPUID2, &got), E2BIG);
	/* KVM 6.1 leaves nent as given on success: compare the entries. */
	got.hdr.nent = MAX_ENTRIES;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_CPUID2, &got));
	/*
	 * The same leaves come back; KVM adjusts a few dynamic values (XSAVE
	 * sizes, OS-controlled bits), so only leaves 0 and 0x80000000 are
	 * compared whole.
	 */
	for (i = 0; i < supported.hdr.nent; i++) {
		const struct kvm_cpuid_entry2 *s = &supported.entries[i], *g = &got.entries[i];

		KVMF_ASSERT(s->function == g->function && s->index == g->index,
			    "entry %u: leaf %#x.%u came back as %#x.%u", i, s->function,
			    s->index, g->function, g->index);
		if (s->function == 0 || s->function == 0x80000000)
			KVMF_ASSERT(!memcmp(s, g, sizeof(*s)), "leaf %#x changed", s->function);
	}
}

#define LEAF_MISSING	0x2	/* a leaf the test's table leaves out */

static void guest_cpuid(void *arg)
{
	uint32_t eax, ebx, ecx, edx;

	(void)arg;
	asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0), "c"(0));
	GUEST_SYNC(ebx);
	asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
		     : "a"(0x40000000), "c"(0));
	GUEST_SYNC(ebx);
	asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
		     : "a"(LEAF_MISSING), "c"(0));
	GUEST_SYNC(eax | ebx | ecx | edx);
}

static void test_guest_sees_its_table(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;
	struct cpuid_buf table, changed;
	struct kvmf_ucall uc;
	uint32_t i, n = 0;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_cpuid, NULL);
	get_supported(vm.kvm);

	/* The supported table without LEAF_MISSING, and a changed vendor. */
	for (i = 0; i < supported.hdr.nent; i++)
		if (supported.entries[i].function != LEAF_MISSING)
			table.entries[n++] = supported.entries[i];
	table.hdr.nent = n;
	for (i = 0; i < n; i++)
		if (table.entries[i].function == 0)
			table.entries[i].ebx = 0x12345678;
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_CPUID2, &table));

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], 0x12345678);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], 0x4b4d564b);	/* "KVMK" */
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], 0);

	/* After KVM_RUN: the same table again is fine, a different one is not. */
	KVMF_CHECK(ioctl(vcpu.fd, KVM_SET_CPUID2, &table));
	changed = table;
	changed.entries[0].eax ^= 1;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_CPUID2, &changed), EINVAL);
}

static const struct kvmf_test tests[] = {
	{ "supported_cpuid", test_supported_cpuid },
	{ "set_get_cpuid2_bad_input", test_set_get_cpuid2_bad_input },
	{ "guest_sees_its_table", test_guest_sees_its_table },
};

int main(void)
{
	return kvmf_test_main("cpuid", tests, ARRAY_SIZE(tests));
}
