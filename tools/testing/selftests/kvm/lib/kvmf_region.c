// SPDX-License-Identifier: GPL-2.0
/*
 * Memory regions for the selftests, with a choice of backing: anonymous
 * memory, shared memory (a memfd) or hugetlbfs pages.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define HUGE_2M		(2ul << 20)

static void *map_backing(struct kvmf_guest_region *r, enum kvmf_backing backing)
{
	void *p;

	r->memfd = -1;
	switch (backing) {
	case KVMF_BACKING_ANON:
		return mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	case KVMF_BACKING_SHMEM:
		r->memfd = KVMF_CHECK(memfd_create("kvmf-guest-mem", MFD_CLOEXEC));
		KVMF_CHECK(ftruncate(r->memfd, r->size));
		return mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	case KVMF_BACKING_HUGETLB:
		KVMF_ASSERT(!(r->size % HUGE_2M), "hugetlbfs regions come in 2 MiB pages");
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			kvmf_skip("no 2 MiB hugetlbfs pages (vm.nr_hugepages): %s",
				  strerror(errno));
		return p;
	}
	return MAP_FAILED;
}

void kvmf_guest_add_region(struct kvmf_guest_vm *vm, struct kvmf_guest_region *region,
			   uint32_t slot, uint64_t gpa, uint64_t size, enum kvmf_backing backing)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
	};

	region->gpa = gpa;
	region->size = size;
	region->slot = slot;
	region->host = map_backing(region, backing);
	KVMF_ASSERT(region->host != MAP_FAILED, "mmap: %s", strerror(errno));
	r.userspace_addr = (uint64_t)region->host;
	KVMF_CHECK(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r));
}
