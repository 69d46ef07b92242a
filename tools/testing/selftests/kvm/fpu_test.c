// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's FPU/SSE state survives everything that happens to the vCPU
 * thread between exits: exits to userspace, the VMM using its own SSE
 * registers, and the thread being preempted and rescheduled (a second thread
 * computing on the same CPU forces that).  A state lost even once fails.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define ROUNDS	3000

static void guest_keep_xmm(void *arg)
{
	uint64_t i, v;

	(void)arg;
	for (i = 1; i <= ROUNDS; i++) {
		asm volatile("movq %0, %%xmm0; movq %0, %%xmm7" : : "r"(i * 0x9e3779b97f4a7c15ull)
			     : "xmm0", "xmm7");
		GUEST_SYNC(i);
		asm volatile("movq %%xmm0, %0" : "=r"(v) : : "xmm0");
		GUEST_ASSERT_EQ(v, i * 0x9e3779b97f4a7c15ull);
		asm volatile("movq %%xmm7, %0" : "=r"(v) : : "xmm7");
		GUEST_ASSERT_EQ(v, i * 0x9e3779b97f4a7c15ull);
	}
}

static atomic_int stop;

/* Competes for the CPU, using SSE registers all the time. */
static void *host_sse_load(void *arg)
{
	volatile double x = 1.0;

	(void)arg;
	while (!atomic_load(&stop)) {
		x = x * 1.000001 + 0.25;
		if ((long)x % 1000 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_xmm_survives_exits_and_preemption(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;
	struct kvmf_ucall uc;
	pthread_t load[2];
	uint64_t n = 0;
	int i;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_keep_xmm, NULL);
	for (i = 0; i < 2; i++)
		KVMF_ASSERT_EQ(pthread_create(&load[i], NULL, host_sse_load, NULL), 0);
	while (kvmf_guest_run_ucall(&vm, &vcpu, &uc) == UCALL_SYNC)
		KVMF_ASSERT_EQ(uc.args[0], ++n);
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(load[i], NULL);
	KVMF_ASSERT_EQ(n, ROUNDS);
}

static const struct kvmf_test tests[] = {
	{ "xmm_survives_exits_and_preemption", test_xmm_survives_exits_and_preemption },
};

int main(void)
{
	return kvmf_test_main("fpu", tests, ARRAY_SIZE(tests));
}
