// SPDX-License-Identifier: GPL-2.0
/*
 * Creating and closing many VMs leaves nothing behind: no module
 * reference, no file, and no kernel memory beyond noise.  (Leaks smaller
 * than the tolerance below are kmemleak's job on the debug kernel.)
 */
#include <dirent.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmf_test.h"
#include "kvmf_util.h"

#define VM_CYCLES		1000
/* A leak of 1 KiB per VM over VM_CYCLES shows up well above this. */
#define SLAB_GROWTH_LIMIT_KIB	512

static int count_open_fds(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	KVMF_ASSERT(d, "opendir /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void create_close_vms(int kvm, int cycles)
{
	int i;

	for (i = 0; i < cycles; i++)
		KVMF_CHECK(close(kvmf_create_vm(kvm)));
}

static void test_create_close_many(void)
{
	const char *mod = kvmf_vm_owner_module();
	int kvm = kvmf_open_dev();
	long ref_before, slab_before, slab_after;
	int fds_before;

	/* Warm caches first so that their growth is not counted as a leak. */
	create_close_vms(kvm, 50);

	ref_before = kvmf_module_refcnt(mod);
	fds_before = count_open_fds();
	slab_before = kvmf_meminfo_kib("Slab");
	KVMF_ASSERT(ref_before >= 0 && slab_before >= 0, "cannot read refcnt or meminfo");

	create_close_vms(kvm, VM_CYCLES);

	slab_after = kvmf_meminfo_kib("Slab");
	KVMF_ASSERT_EQ(kvmf_module_refcnt(mod), ref_before);
	KVMF_ASSERT_EQ(count_open_fds(), fds_before);
	printf("# Slab %ld KiB -> %ld KiB over %d VMs\n", slab_before, slab_after, VM_CYCLES);
	KVMF_ASSERT(slab_after - slab_before < SLAB_GROWTH_LIMIT_KIB,
		    "Slab grew by %ld KiB over %d VMs", slab_after - slab_before, VM_CYCLES);
}

static void test_many_open_at_once(void)
{
	enum { OPEN_VMS = 64 };
	const char *mod = kvmf_vm_owner_module();
	int kvm = kvmf_open_dev();
	long ref_before = kvmf_module_refcnt(mod);
	int vms[OPEN_VMS], i;

	for (i = 0; i < OPEN_VMS; i++)
		vms[i] = kvmf_create_vm(kvm);
	for (i = 0; i < OPEN_VMS; i++)
		KVMF_ASSERT_EQ(ioctl(vms[i], KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	/* Close in an order unlike creation's. */
	for (i = 0; i < OPEN_VMS; i += 2)
		KVMF_CHECK(close(vms[i]));
	for (i = 1; i < OPEN_VMS; i += 2)
		KVMF_CHECK(close(vms[i]));
	KVMF_ASSERT_EQ(kvmf_module_refcnt(mod), ref_before);
}

static const struct kvmf_test tests[] = {
	{ "create_close_many", test_create_close_many },
	{ "many_open_at_once", test_many_open_at_once },
};

int main(void)
{
	return kvmf_test_main("vm_lifecycle", tests, ARRAY_SIZE(tests));
}
