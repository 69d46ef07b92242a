// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory with each kind of backing the library offers: anonymous,
 * shared (memfd) and hugetlbfs.  The guest writes every page, the host
 * reads the writes back through its mapping, and for shared memory through
 * a second, independent mapping of the same memfd too.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define REGION_GPA	(1ull << 30)
#define REGION_GVA	(3ull << 30)
#define REGION_SIZE	(4ul << 20)
#define PAGE		4096ul

static void guest_write_pages(void *arg)
{
	uint64_t off;

	(void)arg;
	for (off = 0; off < REGION_SIZE; off += PAGE)
		*(volatile uint64_t *)(REGION_GVA + off) = 0xb0b0000000000000ull | off;
}

static void run_backing(enum kvmf_backing backing)
{
	struct kvmf_guest_region region;
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_guest_vm vm;
	struct kvmf_ucall uc;
	uint64_t off, *second = NULL;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_add_region(&vm, &region, 1, REGION_GPA, REGION_SIZE, backing);
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_write_pages, NULL);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);

	if (region.memfd >= 0) {
		second = mmap(NULL, REGION_SIZE, PROT_READ, MAP_SHARED, region.memfd, 0);
		KVMF_ASSERT(second != MAP_FAILED, "mmap memfd: %s", strerror(errno));
	}
	for (off = 0; off < REGION_SIZE; off += PAGE) {
		uint64_t expect = 0xb0b0000000000000ull | off;

		KVMF_ASSERT_EQ(*(uint64_t *)((char *)region.host + off), expect);
		if (second)
			KVMF_ASSERT_EQ(second[off / 8], expect);
	}
}

static void test_anonymous(void)
{
	run_backing(KVMF_BACKING_ANON);
}

static void test_shared_memfd(void)
{
	run_backing(KVMF_BACKING_SHMEM);
}

/* Reserves the 2 MiB pages the region needs, if there are none (root only). */
static void reserve_huge_pages(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r+");
	long n = 0;

	if (!f)
		return;
	if (fscanf(f, "%ld", &n) == 1 && n < (long)(REGION_SIZE >> 21)) {
		rewind(f);
		fprintf(f, "%lu\n", REGION_SIZE >> 21);
	}
	fclose(f);
}

static void test_hugetlbfs(void)
{
	reserve_huge_pages();
	run_backing(KVMF_BACKING_HUGETLB);
}

static const struct kvmf_test tests[] = {
	{ "anonymous", test_anonymous },
	{ "shared_memfd", test_shared_memfd },
	{ "hugetlbfs", test_hugetlbfs },
};

int main(void)
{
	return kvmf_test_main("memory_backing", tests, ARRAY_SIZE(tests));
}
