// SPDX-License-Identifier: GPL-2.0
/*
 * Access tracking through the kernel's idle page tracking: pages the host
 * marks idle must lose that mark once the guest touches them (the
 * hypervisor reports its own accessed bits to the kernel's page aging),
 * and pages the guest leaves alone must stay idle.  Skips when the kernel
 * has no idle page tracking (Debian's 6.1 has none; the debug kernel may).
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define REGION_GPA	(1ull << 30)
#define REGION_GVA	(3ull << 30)
#define REGION_SIZE	(2ul << 20)
#define PAGE		4096ul
#define PAGES		(REGION_SIZE / PAGE)
#define PAGEMAP_PFN	((1ull << 55) - 1)
#define PAGEMAP_PRESENT	(1ull << 63)

/* Touch every page; then, after each sync, the first half again. */
static void guest_touch(void *arg)
{
	uint64_t off;

	(void)arg;
	for (off = 0; off < REGION_SIZE; off += PAGE)
		*(volatile uint64_t *)(REGION_GVA + off) = off;
	GUEST_SYNC(0);
	for (off = 0; off < REGION_SIZE / 2; off += PAGE)
		(void)*(volatile uint64_t *)(REGION_GVA + off);
	GUEST_SYNC(1);
}

static uint64_t pfn_of(int pagemap, void *addr)
{
	uint64_t entry;

	KVMF_ASSERT(pread(pagemap, &entry, 8, (uint64_t)addr / PAGE * 8) == 8, "pagemap");
	KVMF_ASSERT(entry & PAGEMAP_PRESENT, "page %p not present", addr);
	return entry & PAGEMAP_PFN;
}

/* One bit per PFN, in 64-bit words. */
static void set_idle(int bitmap, uint64_t pfn)
{
	uint64_t word = 1ull << (pfn % 64);

	KVMF_ASSERT(pwrite(bitmap, &word, 8, pfn / 64 * 8) == 8, "write idle bitmap: %s",
		    strerror(errno));
}

static bool is_idle(int bitmap, uint64_t pfn)
{
	uint64_t word;

	KVMF_ASSERT(pread(bitmap, &word, 8, pfn / 64 * 8) == 8, "read idle bitmap");
	return word & (1ull << (pfn % 64));
}

static void test_guest_accesses_clear_idle(void)
{
	struct kvmf_guest_region region;
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;
	struct kvmf_ucall uc;
	uint64_t pfns[PAGES], i, touched_idle = 0, untouched_idle = 0;
	int bitmap, pagemap;

	bitmap = open("/sys/kernel/mm/page_idle/bitmap", O_RDWR);
	if (bitmap < 0)
		kvmf_skip("no idle page tracking in this kernel");
	pagemap = KVMF_CHECK(open("/proc/self/pagemap", O_RDONLY));

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_add_region(&vm, &region, 1, REGION_GPA, REGION_SIZE, KVMF_BACKING_ANON);
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_touch, NULL);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);

	for (i = 0; i < PAGES; i++) {
		pfns[i] = pfn_of(pagemap, (char *)region.host + i * PAGE);
		set_idle(bitmap, pfns[i]);
	}
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_SYNC);

	for (i = 0; i < PAGES; i++) {
		bool idle = is_idle(bitmap, pfns[i]);

		if (i < PAGES / 2)
			touched_idle += idle;
		else
			untouched_idle += idle;
	}
	printf("# still idle: %lu of %lu touched pages, %lu of %lu untouched\n", touched_idle,
	       PAGES / 2, untouched_idle, PAGES / 2);
	KVMF_ASSERT_EQ(touched_idle, 0);
	KVMF_ASSERT(untouched_idle > PAGES / 4, "untouched pages lost their idle mark");
}

static const struct kvmf_test tests[] = {
	{ "guest_accesses_clear_idle", test_guest_accesses_clear_idle },
};

int main(void)
{
	return kvmf_test_main("access_tracking", tests, ARRAY_SIZE(tests));
}
