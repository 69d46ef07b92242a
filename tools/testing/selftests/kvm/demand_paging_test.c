// SPDX-License-Identifier: GPL-2.0
/*
 * Demand paging through userfaultfd: guest memory starts empty, and every
 * page a vCPU touches is supplied by a userspace handler (UFFDIO_COPY) when
 * the hypervisor first needs it.  Several vCPUs fault at once; every page
 * must arrive exactly as the handler made it, and each page is asked for.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define NR_VCPUS	4
#define REGION_GPA	(1ull << 30)	/* 1 GiB: above the program's RAM */
#define REGION_GVA	(1ull << 31)	/* mapped by kvmf_guest_map() */
#define REGION_SIZE	(16ul << 20)
#define PAGE		4096ul
#define PAGES_PER_VCPU	(REGION_SIZE / PAGE / NR_VCPUS)

static struct kvmf_guest_vm vm;
static int uffd;
static atomic_ulong faults;
static atomic_int stop;

/* What the handler puts in each page: derived from its offset. */
static uint64_t pattern(uint64_t offset)
{
	return 0x5a5a000000000000ull | offset;
}

static void guest_touch_pages(void *arg)
{
	uint64_t id = (uint64_t)arg, i;

	for (i = 0; i < PAGES_PER_VCPU; i++) {
		uint64_t off = (id * PAGES_PER_VCPU + i) * PAGE;
		volatile uint64_t *p = (volatile uint64_t *)(REGION_GVA + off);

		GUEST_ASSERT_EQ(p[0], pattern(off));
		GUEST_ASSERT_EQ(p[PAGE / 8 - 1], pattern(off) + 1);
	}
}

static void *uffd_handler(void *arg)
{
	unsigned char *region = arg;
	uint64_t *page = aligned_alloc(PAGE, PAGE);
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };

	while (!atomic_load(&stop)) {
		struct uffd_msg msg;
		struct uffdio_copy copy;
		uint64_t off;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		off = (msg.arg.pagefault.address & ~(PAGE - 1)) - (uint64_t)region;
		memset(page, 0, PAGE);
		page[0] = pattern(off);
		page[PAGE / 8 - 1] = pattern(off) + 1;
		copy = (struct uffdio_copy) {
			.dst = (uint64_t)region + off, .src = (uint64_t)page, .len = PAGE,
		};
		/* EEXIST: another fault on the same page was served first. */
		if (ioctl(uffd, UFFDIO_COPY, &copy) == 0)
			atomic_fetch_add(&faults, 1);
	}
	free(page);
	return NULL;
}

struct vcpu_thread {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
};

static void *run_vcpu(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &t->vcpu, &uc), UCALL_DONE);
	return NULL;
}

static void test_userfaultfd_demand_paging(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct kvm_userspace_memory_region slot;
	struct vcpu_thread t[NR_VCPUS];
	pthread_t handler;
	unsigned char *region;
	int i;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		kvmf_skip("userfaultfd: %s", strerror(errno));
	KVMF_CHECK(ioctl(uffd, UFFDIO_API, &api));

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	KVMF_ASSERT(region != MAP_FAILED, "mmap: %s", strerror(errno));
	reg = (struct uffdio_register) {
		.range = { .start = (uint64_t)region, .len = REGION_SIZE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	KVMF_CHECK(ioctl(uffd, UFFDIO_REGISTER, &reg));

	slot = (struct kvm_userspace_memory_region) {
		.slot = 1, .guest_phys_addr = REGION_GPA, .memory_size = REGION_SIZE,
		.userspace_addr = (uint64_t)region,
	};
	KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &slot));
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);

	for (i = 0; i < NR_VCPUS; i++)
		kvmf_guest_vcpu_add_code(&vm, &t[i].vcpu, i, guest_touch_pages,
					 (void *)(uint64_t)i);
	KVMF_ASSERT_EQ(pthread_create(&handler, NULL, uffd_handler, region), 0);
	for (i = 0; i < NR_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_create(&t[i].thread, NULL, run_vcpu, &t[i]), 0);
	for (i = 0; i < NR_VCPUS; i++)
		KVMF_ASSERT_EQ(pthread_join(t[i].thread, NULL), 0);
	atomic_store(&stop, 1);
	pthread_join(handler, NULL);

	printf("# %lu pages supplied by userfaultfd\n", atomic_load(&faults));
	KVMF_ASSERT_EQ(atomic_load(&faults), REGION_SIZE / PAGE);
}

static const struct kvmf_test tests[] = {
	{ "userfaultfd_demand_paging", test_userfaultfd_demand_paging },
};

int main(void)
{
	return kvmf_test_main("demand_paging", tests, ARRAY_SIZE(tests));
}
