// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/kvm system ioctls and the VM fd's basic rules, with bad input:
 * what KVM returns is what kvmfork must return.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmf_test.h"
#include "kvmf_util.h"

/* A capability number far beyond any KVM has defined. */
#define KVMF_CAP_NONEXISTENT	100000

static void test_api_version(void)
{
	int kvm = kvmf_open_dev();

	KVMF_ASSERT_EQ(ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	/* The argument is reserved: anything but 0 is refused. */
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_API_VERSION, 1), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_API_VERSION, -1L), EINVAL);
}

static void test_vcpu_mmap_size(void)
{
	int kvm = kvmf_open_dev();
	long page = sysconf(_SC_PAGESIZE);
	long size = KVMF_CHECK(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));

	/* At least kvm_run and the port I/O page, in whole pages. */
	KVMF_ASSERT(size >= (KVM_PIO_PAGE_OFFSET + 1) * page, "size %ld", size);
	KVMF_ASSERT_EQ(size % page, 0);
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 1), EINVAL);
}

static void test_check_extension(void)
{
	int kvm = kvmf_open_dev();

	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	/* Unknown capabilities are "not supported", never an error. */
	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVMF_CAP_NONEXISTENT), 0);
	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, -1L), 0);
}

static void test_create_vm(void)
{
	int kvm = kvmf_open_dev();
	int vm = kvmf_create_vm(kvm);

	KVMF_ASSERT(fcntl(vm, F_GETFD) & FD_CLOEXEC, "VM fd must be close-on-exec");
	KVMF_ASSERT(vm != kvm, "VM fd %d is the /dev/kvm fd", vm);
	KVMF_CHECK(close(vm));
}

static void test_create_vm_bad_type(void)
{
	int kvm = kvmf_open_dev();
	static const unsigned long bad_types[] = { 1, 2, 0x80000000ul, ~0ul };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_types); i++)
		KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_CREATE_VM, bad_types[i]), EINVAL);
}

static void test_unknown_system_ioctls(void)
{
	int kvm = kvmf_open_dev();

	/* x86 KVM answers commands it does not know on /dev/kvm with EINVAL. */
	KVMF_ASSERT_ERRNO(ioctl(kvm, _IO(KVMIO, 0xff), 0), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(kvm, _IOR('x', 1, int), 0), EINVAL);
	/* A VM ioctl sent to /dev/kvm is just as unknown there. */
	KVMF_ASSERT_ERRNO(ioctl(kvm, KVM_CREATE_VCPU, 0), EINVAL);
}

static void test_vm_check_extension(void)
{
	int vm = kvmf_create_vm(kvmf_open_dev());

	KVMF_ASSERT_EQ(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	KVMF_ASSERT_EQ(ioctl(vm, KVM_CHECK_EXTENSION, KVMF_CAP_NONEXISTENT), 0);
}

static void test_unknown_vm_ioctls(void)
{
	int vm = kvmf_create_vm(kvmf_open_dev());

	/* x86 KVM answers commands it does not know on a VM fd with ENOTTY. */
	KVMF_ASSERT_ERRNO(ioctl(vm, _IO(KVMIO, 0xff), 0), ENOTTY);
	KVMF_ASSERT_ERRNO(ioctl(vm, _IOR('x', 1, int), 0), ENOTTY);
	/* System ioctls are not VM ioctls. */
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_GET_API_VERSION, 0), ENOTTY);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_CREATE_VM, 0), ENOTTY);
}

/*
 * The addresses VMX wants for real mode and unpaged protected mode: SVM
 * needs neither, KVM accepts them within its limits and reports the
 * capabilities; VMMs (QEMU) set them whatever the vendor.
 */
static void test_tss_and_identity_map_addr(void)
{
	int kvm = kvmf_open_dev(), vm = kvmf_create_vm(kvm);
	uint64_t addr = 0xfeffc000;

	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR), 1);
	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR), 1);
	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_EXT_CPUID), 1);

	/* Three pages from the address on must stay below 4 GiB. */
	KVMF_CHECK(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul));	/* QEMU's */
	KVMF_CHECK(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffffffful - 3 * 4096 + 1));
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffffffful - 3 * 4096 + 2), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffff000ul), EINVAL);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_TSS_ADDR, 0x100000000ul), EINVAL);

	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, NULL), EFAULT);
	KVMF_CHECK(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr));
	/* Only before the first vCPU. */
	KVMF_ASSERT(ioctl(vm, KVM_CREATE_VCPU, 0) >= 0, "KVM_CREATE_VCPU");
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr), EINVAL);
}

/* GSI routes need an in-kernel irqchip: without one, KVM refuses them. */
static void test_gsi_routing_without_irqchip(void)
{
	int kvm = kvmf_open_dev(), vm = kvmf_create_vm(kvm);
	struct kvm_irq_routing routing = { .nr = 0 };

	KVMF_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING), 4096);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_GSI_ROUTING, NULL), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_GSI_ROUTING, &routing), EINVAL);
	routing.flags = 1;
	KVMF_ASSERT_ERRNO(ioctl(vm, KVM_SET_GSI_ROUTING, &routing), EINVAL);
}

static void test_vm_fd_other_mm(void)
{
	int vm = kvmf_create_vm(kvmf_open_dev());
	int status;
	pid_t pid;

	/* The parent still may. */
	KVMF_ASSERT_EQ(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);

	pid = KVMF_CHECK(fork());
	if (pid == 0) {
		/* A forked child has another mm: every VM ioctl is refused with EIO. */
		errno = 0;
		if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM) != -1 ||
		    errno != EIO)
			_exit(1);
		if (ioctl(vm, _IO(KVMIO, 0xff), 0) != -1 || errno != EIO)
			_exit(2);
		_exit(0);
	}
	KVMF_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	KVMF_ASSERT(WIFEXITED(status), "child died: status 0x%x", status);
	KVMF_ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void test_vm_pins_module(void)
{
	const char *mod = kvmf_vm_owner_module();
	long base = kvmf_module_refcnt(mod);
	int kvm = kvmf_open_dev();
	long with_vm;
	int vm;

	KVMF_ASSERT(base >= 0, "cannot read the refcount of %s", mod);
	vm = kvmf_create_vm(kvm);
	with_vm = kvmf_module_refcnt(mod);
	KVMF_ASSERT(with_vm > base, "%s refcount %ld with a VM open, %ld before", mod,
		    with_vm, base);

	/* The module must refuse to go while the VM exists. */
	KVMF_ASSERT_ERRNO(syscall(SYS_delete_module, mod, O_NONBLOCK), EWOULDBLOCK);

	KVMF_CHECK(close(vm));
	KVMF_CHECK(close(kvm));
	KVMF_ASSERT_EQ(kvmf_module_refcnt(mod), base);
}

static const struct kvmf_test tests[] = {
	{ "api_version", test_api_version },
	{ "vcpu_mmap_size", test_vcpu_mmap_size },
	{ "check_extension", test_check_extension },
	{ "create_vm", test_create_vm },
	{ "create_vm_bad_type", test_create_vm_bad_type },
	{ "unknown_system_ioctls", test_unknown_system_ioctls },
	{ "vm_check_extension", test_vm_check_extension },
	{ "unknown_vm_ioctls", test_unknown_vm_ioctls },
	{ "tss_and_identity_map_addr", test_tss_and_identity_map_addr },
	{ "gsi_routing_without_irqchip", test_gsi_routing_without_irqchip },
	{ "vm_fd_other_mm", test_vm_fd_other_mm },
	{ "vm_pins_module", test_vm_pins_module },
};

int main(void)
{
	return kvmf_test_main("system_ioctls", tests, ARRAY_SIZE(tests));
}
