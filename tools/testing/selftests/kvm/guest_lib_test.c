// SPDX-License-Identifier: GPL-2.0
/*
 * The selftest library itself: guest code written in C runs in a 64-bit
 * guest, talks to the host through ucalls (values, formatted text,
 * assertion failures with file and line), handles exceptions through the
 * IDT, makes the host vendor's hypercall, and runs on several vCPUs at once.
 */
#include <pthread.h>
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

/* KVM's hypercall ABI: an unknown hypercall returns -KVM_ENOSYS. */
#define KVM_ENOSYS_RET	((uint64_t)-1000)

static struct kvmf_guest_vm vm;

static void new_vm(void)
{
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
}

static void guest_sync_sequence(void *arg)
{
	uint64_t base = (uint64_t)arg, i;

	for (i = 0; i < 5; i++)
		GUEST_SYNC(base + i);
	GUEST_PRINTF("counted to %lu from %#lx\n", i, base);
	/* Returning is GUEST_DONE. */
}

static void test_sync_and_done(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;
	uint64_t i;

	new_vm();
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_sync_sequence, (void *)0x100);
	for (i = 0; i < 5; i++) {
		KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);
		KVMF_ASSERT_EQ(uc.args[0], 0x100 + i);
	}
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);
}

static void guest_printf_formats(void *arg)
{
	(void)arg;
	GUEST_PRINTF("%d %u %x %#lx %s %c %05d|%5s|%%", -42, 42u, 0xbeefu, 0x1234ul, "str",
		     'c', 7, "ab");
}

static void test_printf(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;

	new_vm();
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_printf_formats, NULL);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_RUN, 0));
	KVMF_ASSERT_EQ(kvmf_guest_get_ucall(&vm, &vcpu, &uc), UCALL_PRINTF);
	KVMF_ASSERT(!strcmp(uc.buf, "-42 42 beef 0x1234 str c 00007|   ab|%"), "got '%s'",
		    uc.buf);
}

static int assert_line;

static void guest_failing_assert(void *arg)
{
	uint64_t x = (uint64_t)arg;

	assert_line = __LINE__ + 1;
	GUEST_ASSERT_EQ(x, 4);
}

static void test_assert_reaches_host(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;

	new_vm();
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_failing_assert, (void *)3);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_RUN, 0));
	KVMF_ASSERT_EQ(kvmf_guest_get_ucall(&vm, &vcpu, &uc), UCALL_ABORT);
	/* The line the guest recorded is in the guest's copy of the global. */
	kvmf_guest_sync_global(&vm, &assert_line, 0);
	KVMF_ASSERT_EQ(uc.args[1], *(int *)(vm.ram + (uint64_t)&assert_line));
	KVMF_ASSERT(!strcmp((const char *)uc.args[0], __FILE__), "file %s",
		    (const char *)uc.args[0]);
	KVMF_ASSERT(strstr(uc.buf, "x == 4: 0x3 != 0x4"), "message '%s'", uc.buf);
}

static void skip_ud2(struct kvmf_exc_frame *frame)
{
	GUEST_ASSERT_EQ(frame->vector, 6);
	frame->rip += 2;
	frame->rax = 0x600d;
}

static void guest_exceptions(void *arg)
{
	uint64_t rax;

	(void)arg;
	kvmf_guest_exc_handlers[6] = skip_ud2;
	asm volatile("ud2" : "=a"(rax) : "a"(0) : "memory");
	GUEST_ASSERT_EQ(rax, 0x600d);
	kvmf_guest_exc_handlers[6] = NULL;
	/* No handler now: the host must hear of it. */
	asm volatile("ud2");
	GUEST_FAIL("survived #UD without a handler");
}

static void test_exceptions(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;

	new_vm();
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_exceptions, NULL);
	KVMF_CHECK(ioctl(vcpu.fd, KVM_RUN, 0));
	KVMF_ASSERT_EQ(kvmf_guest_get_ucall(&vm, &vcpu, &uc), UCALL_UNHANDLED);
	KVMF_ASSERT_EQ(uc.args[0], 6);
}

static void guest_hypercall(void *arg)
{
	(void)arg;
	/* Hypercall number 0xffff does not exist. */
	GUEST_ASSERT_EQ(kvmf_guest_hypercall(0xffff, 0, 0, 0, 0), KVM_ENOSYS_RET);
}

static void test_hypercall_native_instruction(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;

	new_vm();
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_hypercall, NULL);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);
}

#define NR_VCPUS	4

struct vcpu_thread {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
	uint64_t syncs;
	uint64_t bad;
};

static void guest_count(void *arg)
{
	uint64_t id = (uint64_t)arg, i;

	for (i = 0; i < 50; i++)
		GUEST_SYNC(id << 32 | i);
}

static void *run_vcpu(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvmf_ucall uc;

	while (kvmf_guest_run_ucall(&vm, &t->vcpu, &uc) == UCALL_SYNC) {
		if ((uc.args[0] & 0xffffffff) != t->syncs)
			t->bad++;
		t->syncs++;
	}
	return NULL;
}

static void test_vcpus_in_threads(void)
{
	struct vcpu_thread t[NR_VCPUS];
	int i;

	new_vm();
	for (i = 0; i < NR_VCPUS; i++) {
		t[i] = (struct vcpu_thread) { 0 };
		kvmf_guest_vcpu_add_code(&vm, &t[i].vcpu, i, guest_count, (void *)(uint64_t)i);
	}
	for (i = 0; i < NR_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_create(&t[i].thread, NULL, run_vcpu, &t[i]), 0);
	for (i = 0; i < NR_VCPUS; i++) {
		KVMF_ASSERT_EQ(pthread_join(t[i].thread, NULL), 0);
		KVMF_ASSERT_EQ(t[i].syncs, 50);
		KVMF_ASSERT_EQ(t[i].bad, 0);
	}
}

static void test_vendor_and_max_gfn(void)
{
	uint64_t max_gfn = kvmf_max_guest_gfn();

	printf("# host vendor: %s; max guest gfn %#lx\n",
	       kvmf_host_cpu_is_amd() ? "AMD" : kvmf_host_cpu_is_hygon() ? "Hygon" :
	       kvmf_host_cpu_is_intel() ? "Intel" : "other", max_gfn);
	KVMF_ASSERT(kvmf_host_cpu_is_amd_compatible() != kvmf_host_cpu_is_intel(),
		    "a CPU is either AMD-compatible or Intel here");
	if (kvmf_host_cpu_is_amd_compatible())
		KVMF_ASSERT(max_gfn < KVMF_AMD_HT_HOLE_START >> 12 ||
			    max_gfn > KVMF_AMD_HT_HOLE_END >> 12,
			    "max gfn %#lx is in the HyperTransport hole", max_gfn);
}

static const struct kvmf_test tests[] = {
	{ "vendor_and_max_gfn", test_vendor_and_max_gfn },
	{ "sync_and_done", test_sync_and_done },
	{ "printf", test_printf },
	{ "assert_reaches_host", test_assert_reaches_host },
	{ "exceptions", test_exceptions },
	{ "hypercall_native_instruction", test_hypercall_native_instruction },
	{ "vcpus_in_threads", test_vcpus_in_threads },
};

int main(void)
{
	return kvmf_test_main("guest_lib", tests, ARRAY_SIZE(tests));
}
