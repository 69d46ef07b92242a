// SPDX-License-Identifier: GPL-2.0
/*
 * A guest that makes KVM's hypercall with the other vendor's instruction
 * (VMCALL on an AMD or Hygon host, VMMCALL on Intel): by default KVM
 * rewrites the instruction in guest memory to the native one and the
 * hypercall goes through; once userspace disables
 * KVM_X86_QUIRK_FIX_HYPERCALL_INSN (KVM_CAP_DISABLE_QUIRKS2), the guest gets
 * #UD instead and its code is left alone.
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

/* KVM's hypercall ABI: an unknown hypercall returns -KVM_ENOSYS. */
#define KVM_ENOSYS_RET	((uint64_t)-1000)
#define UNKNOWN_HC	0xffff

static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 };
static const uint8_t vmmcall[3] = { 0x0f, 0x01, 0xd9 };

/* Set by the host before the guest is loaded. */
static bool host_is_amd_compatible, quirk_disabled;
static volatile uint64_t ud_count;

static void skip_ud(struct kvmf_exc_frame *frame)
{
	ud_count++;
	frame->rip += 3;
	frame->rax = 0xdead;
}

static void guest_other_vendor_hypercall(void *arg)
{
	const uint8_t *foreign = host_is_amd_compatible ? vmcall : vmmcall;
	const uint8_t *native = host_is_amd_compatible ? vmmcall : vmcall;
	const volatile uint8_t *insn;
	uint64_t ret = UNKNOWN_HC;
	int i;

	(void)arg;
	kvmf_guest_exc_handlers[6] = skip_ud;
	/* Written as bytes, with their address taken so the guest can read them back. */
	if (host_is_amd_compatible)
		asm volatile("lea 1f(%%rip), %1\n\t1: .byte 0x0f, 0x01, 0xc1"
			     : "+a"(ret), "=&r"(insn) : : "memory");
	else
		asm volatile("lea 1f(%%rip), %1\n\t1: .byte 0x0f, 0x01, 0xd9"
			     : "+a"(ret), "=&r"(insn) : : "memory");

	if (quirk_disabled) {
		GUEST_ASSERT_EQ(ud_count, 1);
		GUEST_ASSERT_EQ(ret, 0xdead);
		for (i = 0; i < 3; i++)
			GUEST_ASSERT_EQ(insn[i], foreign[i]);
	} else {
		GUEST_ASSERT_EQ(ud_count, 0);
		GUEST_ASSERT_EQ(ret, KVM_ENOSYS_RET);
		for (i = 0; i < 3; i++)
			GUEST_ASSERT_EQ(insn[i], native[i]);
	}
}

static void run(bool disable_quirk)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_DISABLE_QUIRKS2, .args = { KVM_X86_QUIRK_FIX_HYPERCALL_INSN },
	};
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;
	struct kvmf_ucall uc;

	host_is_amd_compatible = kvmf_host_cpu_is_amd_compatible();
	quirk_disabled = disable_quirk;
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	if (disable_quirk) {
		if (!(ioctl(vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2) &
		      KVM_X86_QUIRK_FIX_HYPERCALL_INSN))
			kvmf_skip("KVM_X86_QUIRK_FIX_HYPERCALL_INSN cannot be disabled");
		KVMF_CHECK(ioctl(vm.fd, KVM_ENABLE_CAP, &cap));
	}
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_other_vendor_hypercall, NULL);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);
}

static void test_quirk_rewrites_instruction(void)
{
	run(false);
}

static void test_quirk_disabled_gives_ud(void)
{
	run(true);
}

static void test_disable_quirks2_bad_input(void)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DISABLE_QUIRKS2 };
	int kvm = kvmf_open_dev(), vm = kvmf_create_vm(kvm);
	long valid = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);

	if (valid <= 0)
		kvmf_skip("KVM_CAP_DISABLE_QUIRKS2 not reported");
	/* Quirks KVM does not know, and flags, are refused. */
	cap.args[0] = ~(uint64_t)valid;
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = KVM_X86_QUIRK_FIX_HYPERCALL_INSN;
	cap.flags = 1;
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.flags = 0;
	KVMF_CHECK(ioctl(vm, KVM_ENABLE_CAP, &cap));
}

static const struct kvmf_test tests[] = {
	{ "quirk_rewrites_instruction", test_quirk_rewrites_instruction },
	{ "quirk_disabled_gives_ud", test_quirk_disabled_gives_ud },
	{ "disable_quirks2_bad_input", test_disable_quirks2_bad_input },
};

int main(void)
{
	return kvmf_test_main("fix_hypercall", tests, ARRAY_SIZE(tests));
}
