// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION through a VM fd: creating, moving, re-flagging
 * and deleting slots, and every way a request can be refused.  What stock
 * KVM (x86, 6.1) answers is what kvmfork must answer.
 *
 * KVM does not look at the host memory behind a slot when the slot is set
 * up, only at the address range, so most cases use made-up (page-aligned,
 * user-range) host addresses; the ones that create real slots map memory.
 */
#include <cpuid.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_test.h"
#include "kvmf_util.h"

#define PG		0x1000ULL
/* A page-aligned user address nothing is mapped at. */
#define HVA_UNMAPPED	0x100000000000ULL

static int open_vm(void)
{
	int kvm = kvmf_open_dev();
	int vm;

	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0)
		kvmf_skip("KVM_CAP_USER_MEMORY is not offered");
	vm = kvmf_create_vm(kvm);
	close(kvm);
	return vm;
}

static int set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		      uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static uint64_t map_memory(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	KVMF_ASSERT(p != MAP_FAILED, "mmap %llu bytes: %s",
		    (unsigned long long)size, strerror(errno));
	return (uintptr_t)p;
}

static void test_create_move_flags_delete(void)
{
	int vm = open_vm();
	uint64_t hva = map_memory(512 * PG);

	KVMF_CHECK(set_region(vm, 0, 0, 0x100000, 512 * PG, hva));
	/* Unchanged: nothing to do, still success. */
	KVMF_CHECK(set_region(vm, 0, 0, 0x100000, 512 * PG, hva));
	/* Move, including onto a range overlapping where it was. */
	KVMF_CHECK(set_region(vm, 0, 0, 0x40000000, 512 * PG, hva));
	KVMF_CHECK(set_region(vm, 0, 0, 0x40000000 + 256 * PG, 512 * PG, hva));
	KVMF_CHECK(set_region(vm, 0, 0, 0x40000000 - 16 * PG, 512 * PG, hva));
	/* Dirty logging on and off. */
	KVMF_CHECK(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0x40000000 - 16 * PG,
			      512 * PG, hva));
	KVMF_CHECK(set_region(vm, 0, 0, 0x40000000 - 16 * PG, 512 * PG, hva));
	/* Move and turn logging on at once. */
	KVMF_CHECK(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 512 * PG, hva));
	/* Delete: the address and flags of the request do not matter. */
	KVMF_CHECK(set_region(vm, 0, 0, 0x12345000, 0, 0));
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 0, 0), EINVAL);
	/* The id and the range are free again. */
	KVMF_CHECK(set_region(vm, 0, KVM_MEM_READONLY, 0, 512 * PG, hva));
	KVMF_CHECK(set_region(vm, 1, 0, 512 * PG, 16 * PG, hva));
	KVMF_CHECK(close(vm));
}

static void test_hva_need_not_be_mapped(void)
{
	int vm = open_vm();

	KVMF_CHECK(set_region(vm, 3, 0, 0, 16 * PG, HVA_UNMAPPED));
	KVMF_CHECK(set_region(vm, 4, 0, 16 * PG, 16 * PG, HVA_UNMAPPED));
	KVMF_CHECK(set_region(vm, 3, 0, 0, 0, 0));
}

static void test_unaligned(void)
{
	int vm = open_vm();

	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, PG + 1, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, PG / 2, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, PG / 2, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 1, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, PG, HVA_UNMAPPED + 8), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, PG, HVA_UNMAPPED + PG / 2), EINVAL);

	/* A delete is checked the same way, even of a slot that exists. */
	KVMF_CHECK(set_region(vm, 0, 0, 0, PG, HVA_UNMAPPED));
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, PG / 2, 0, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 0, HVA_UNMAPPED + 1), EINVAL);
	KVMF_CHECK(set_region(vm, 0, 0, 0, 0, HVA_UNMAPPED));
}

static void test_bad_flags(void)
{
	int vm = open_vm();
	static const uint32_t bad[] = { 1u << 2, 1u << 3, 1u << 16, 1u << 31, ~0u,
					KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | 8 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KVMF_ASSERT_ERRNO(set_region(vm, 0, bad[i], 0, PG, HVA_UNMAPPED), EINVAL);
		/* Also on a delete. */
		KVMF_ASSERT_ERRNO(set_region(vm, 0, bad[i], 0, 0, 0), EINVAL);
	}
	KVMF_CHECK(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY, 0,
			      PG, HVA_UNMAPPED));
}

static void test_slot_id_limit(void)
{
	int vm = open_vm();
	long nr = KVMF_CHECK(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));

	KVMF_ASSERT(nr > 0 && nr <= 0x10000, "KVM_CAP_NR_MEMSLOTS %ld", nr);
	KVMF_ASSERT_ERRNO(set_region(vm, nr, 0, 0, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0xffff, 0, 0, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, nr, 0, 0, 0, 0), EINVAL);
	KVMF_CHECK(set_region(vm, nr - 1, 0, 0, PG, HVA_UNMAPPED));
	KVMF_CHECK(set_region(vm, nr - 1, 0, 0, 0, 0));
}

static void test_address_space(void)
{
	int vm = open_vm();
	long nr_as = KVMF_CHECK(ioctl(vm, KVM_CHECK_EXTENSION,
				      KVM_CAP_MULTI_ADDRESS_SPACE));

	/*
	 * With SMM (stock KVM), address space 1 is real and accepts slots;
	 * without it, only address space 0 exists.  Either way, the first
	 * address space past the count does not.
	 */
	if (nr_as <= 1) {
		KVMF_ASSERT_ERRNO(set_region(vm, 1u << 16, 0, 0, PG, HVA_UNMAPPED),
				  EINVAL);
		nr_as = 1;
	}
	KVMF_ASSERT_ERRNO(set_region(vm, (uint32_t)nr_as << 16, 0, 0, PG, HVA_UNMAPPED),
			  EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0xffffu << 16, 0, 0, PG, HVA_UNMAPPED),
			  EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, ~0u, 0, 0, PG, HVA_UNMAPPED), EINVAL);
}

static void test_wrapping_gpa(void)
{
	int vm = open_vm();

	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, -2 * PG, 4 * PG, HVA_UNMAPPED), EINVAL);
	/* Ending exactly at 2^64 wraps to 0: refused as well. */
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, -PG, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 1ULL << 63, 1ULL << 63, HVA_UNMAPPED),
			  EINVAL);
}

static void test_too_many_pages(void)
{
	int vm = open_vm();

	/* 2^31 pages is one more than a slot may have. */
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, (1ULL << 31) * PG, HVA_UNMAPPED),
			  EINVAL);
}

/*
 * x86 KVM refuses slots reaching past what nested paging can map: the
 * host's MAXPHYADDR as CPUID 0x80000008 reports it.
 */
static void test_gpa_beyond_maxphyaddr(void)
{
	int vm = open_vm();
	unsigned int eax, ebx, ecx, edx;
	uint64_t top;

	if (!__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx))
		kvmf_skip("no CPUID leaf 0x80000008");
	top = 1ULL << (eax & 0xff);

	KVMF_CHECK(set_region(vm, 0, 0, top - PG, PG, HVA_UNMAPPED));
	KVMF_ASSERT_ERRNO(set_region(vm, 1, 0, top, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 1, 0, top - PG, 2 * PG, HVA_UNMAPPED), EEXIST);
	KVMF_ASSERT_ERRNO(set_region(vm, 1, 0, 1ULL << 52, PG, HVA_UNMAPPED), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 1, 0, 1ULL << 63, PG, HVA_UNMAPPED), EINVAL);
	/* Moving the slot there is refused as well; flags are not checked. */
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, top, PG, HVA_UNMAPPED), EINVAL);
	KVMF_CHECK(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, top - PG, PG,
			      HVA_UNMAPPED));
	KVMF_CHECK(set_region(vm, 0, 0, top - 2 * PG, PG, HVA_UNMAPPED));
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, top - PG, 2 * PG, HVA_UNMAPPED), EINVAL);
}

static void test_overlap(void)
{
	int vm = open_vm();
	uint64_t hva = map_memory(0x400 * PG);
	static const struct { uint64_t gfn, npages; } clash[] = {
		{ 0x100, 0x100 },	/* the same range */
		{ 0x140, 0x40 },	/* inside */
		{ 0x80, 0x200 },	/* covering */
		{ 0x80, 0x81 },		/* over the first page */
		{ 0x1ff, 0x80 },	/* over the last page */
		{ 0x100, 1 },
		{ 0x1ff, 1 },
		{ 0x1ff, 0x102 },	/* over both neighbours' edges */
		{ 0x200, 0x101 },	/* the gap plus one page */
		{ 0, 0x1000 },		/* everything */
	};
	size_t i;

	KVMF_CHECK(set_region(vm, 1, 0, 0x100 * PG, 0x100 * PG, hva));
	KVMF_CHECK(set_region(vm, 2, 0, 0x300 * PG, 0x100 * PG, hva + 0x100 * PG));
	for (i = 0; i < ARRAY_SIZE(clash); i++) {
		errno = 0;
		if (set_region(vm, 3, 0, clash[i].gfn * PG, clash[i].npages * PG,
			       hva + 0x200 * PG) != -1 || errno != EEXIST)
			kvmf_test_fail(__FILE__, __LINE__,
				       "gfn 0x%llx + 0x%llx: errno %d, expected EEXIST",
				       (unsigned long long)clash[i].gfn,
				       (unsigned long long)clash[i].npages, errno);
	}
	/* Flags do not make an overlap acceptable. */
	KVMF_ASSERT_ERRNO(set_region(vm, 3, KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES,
				     0x150 * PG, PG, hva), EEXIST);
	/* Touching is not overlapping: the gap exactly, and either outside end. */
	KVMF_CHECK(set_region(vm, 3, 0, 0x200 * PG, 0x100 * PG, hva + 0x200 * PG));
	KVMF_CHECK(set_region(vm, 4, 0, 0xf0 * PG, 0x10 * PG, hva));
	KVMF_CHECK(set_region(vm, 5, 0, 0x400 * PG, 0x10 * PG, hva));
	/* Moving onto another slot, or half onto it. */
	KVMF_ASSERT_ERRNO(set_region(vm, 5, 0, 0x300 * PG, 0x10 * PG, hva), EEXIST);
	KVMF_ASSERT_ERRNO(set_region(vm, 5, 0, 0x3f8 * PG, 0x10 * PG, hva), EEXIST);
	KVMF_ASSERT_ERRNO(set_region(vm, 4, 0, 0xf8 * PG, 0x10 * PG, hva), EEXIST);
	/* Two slots may share host memory. */
	KVMF_CHECK(set_region(vm, 6, 0, 0x800 * PG, 0x10 * PG, hva));
}

static void test_delete_missing(void)
{
	int vm = open_vm();

	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 0, 0), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 5, 0, 0x100000, 0, HVA_UNMAPPED), EINVAL);
	KVMF_CHECK(set_region(vm, 1, 0, 0, PG, HVA_UNMAPPED));
	KVMF_ASSERT_ERRNO(set_region(vm, 2, 0, 0, 0, 0), EINVAL);
	KVMF_CHECK(set_region(vm, 1, 0, 0, 0, 0));
	KVMF_ASSERT_ERRNO(set_region(vm, 1, 0, 0, 0, 0), EINVAL);
}

static void test_modify_refused(void)
{
	int vm = open_vm();
	const uint64_t gpa = 0x100000, size = 16 * PG, hva = HVA_UNMAPPED;

	KVMF_CHECK(set_region(vm, 0, 0, gpa, size, hva));
	KVMF_CHECK(set_region(vm, 1, KVM_MEM_READONLY, gpa + size, size, hva + size));

	/* Size, host address, KVM_MEM_READONLY: fixed for a slot's life. */
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, gpa, size + PG, hva), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, gpa, size - PG, hva), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, gpa, size, hva + PG), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, KVM_MEM_READONLY, gpa, size, hva), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 1, 0, gpa + size, size, hva + size), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 1, KVM_MEM_LOG_DIRTY_PAGES, gpa + size, size,
				     hva + size), EINVAL);
	/* Not even together with a move, and before any overlap check. */
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0x40000000, size + PG, hva), EINVAL);
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, gpa, 2 * size, hva), EINVAL);

	/* The slots are intact: re-stating them changes nothing. */
	KVMF_CHECK(set_region(vm, 0, 0, gpa, size, hva));
	KVMF_CHECK(set_region(vm, 1, KVM_MEM_READONLY, gpa + size, size, hva + size));
}

static void test_bad_hva(void)
{
	int vm = open_vm();
	static const uint64_t bad[] = {
		0xffff888000000000ULL,	/* the direct map */
		0xffffffff81000000ULL,	/* kernel text */
		-PG,			/* the last page of all */
		0x8000000000000000ULL,	/* non-canonical */
		0x0100000000000000ULL,	/* non-canonical even with 5 levels */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		if (set_region(vm, 0, 0, 0, PG, bad[i]) != -1 || errno != EINVAL)
			kvmf_test_fail(__FILE__, __LINE__,
				       "hva 0x%llx: errno %d, expected EINVAL",
				       (unsigned long long)bad[i], errno);
	}
	/*
	 * A range that starts below the top of the user range, with 5-level
	 * paging, and runs past it (with 4 levels it is non-canonical).
	 */
	KVMF_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 2 * PG, (1ULL << 56) - 2 * PG),
			  EINVAL);
}

static void test_bad_argument_pointer(void)
{
	int vm = open_vm();

	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_USER_MEMORY_REGION, NULL), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_USER_MEMORY_REGION, (void *)8), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_USER_MEMORY_REGION,
				(void *)0xffff888000000000ULL), EFAULT);
}

#define MANY_SLOTS	500

static void test_many_slots(void)
{
	int vm = open_vm();
	uint64_t hva = map_memory(MANY_SLOTS * 4 * PG);
	int i;

	/* Back to back, created from the top down. */
	for (i = MANY_SLOTS - 1; i >= 0; i--)
		KVMF_CHECK(set_region(vm, i, 0, i * 4 * PG, 4 * PG, hva + i * 4 * PG));
	for (i = 0; i < MANY_SLOTS; i += 37) {
		KVMF_ASSERT_ERRNO(set_region(vm, MANY_SLOTS, 0, i * 4 * PG + 3 * PG,
					     2 * PG, hva), EEXIST);
		/* Already there: unchanged. */
		KVMF_CHECK(set_region(vm, i, 0, i * 4 * PG, 4 * PG, hva + i * 4 * PG));
	}
	/* Past the end is free. */
	KVMF_CHECK(set_region(vm, MANY_SLOTS, 0, MANY_SLOTS * 4 * PG, PG, hva));
	/* Delete the even ones, then fill their holes with new ids. */
	for (i = 0; i < MANY_SLOTS; i += 2)
		KVMF_CHECK(set_region(vm, i, 0, 0, 0, 0));
	for (i = 0; i < MANY_SLOTS; i += 2)
		KVMF_CHECK(set_region(vm, 1000 + i, KVM_MEM_LOG_DIRTY_PAGES,
				      i * 4 * PG, 4 * PG, hva));
	for (i = 0; i < MANY_SLOTS; i++)
		KVMF_CHECK(set_region(vm, i % 2 ? i : 1000 + i, 0, 0, 0, 0));
	KVMF_CHECK(close(vm));
}

static const struct kvmf_test tests[] = {
	{ "create_move_flags_delete", test_create_move_flags_delete },
	{ "hva_need_not_be_mapped", test_hva_need_not_be_mapped },
	{ "unaligned", test_unaligned },
	{ "bad_flags", test_bad_flags },
	{ "slot_id_limit", test_slot_id_limit },
	{ "address_space", test_address_space },
	{ "wrapping_gpa", test_wrapping_gpa },
	{ "too_many_pages", test_too_many_pages },
	{ "gpa_beyond_maxphyaddr", test_gpa_beyond_maxphyaddr },
	{ "overlap", test_overlap },
	{ "delete_missing", test_delete_missing },
	{ "modify_refused", test_modify_refused },
	{ "bad_hva", test_bad_hva },
	{ "bad_argument_pointer", test_bad_argument_pointer },
	{ "many_slots", test_many_slots },
};

int main(void)
{
	return kvmf_test_main("memslot", tests, ARRAY_SIZE(tests));
}
