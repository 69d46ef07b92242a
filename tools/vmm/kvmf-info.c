// SPDX-License-Identifier: GPL-2.0
/*
 * kvmf-info: asks /dev/kvm what it serves (API version, vCPU mmap size, the
 * capabilities it reports) and creates and closes one VM.  The first half of
 * `make demo`; works the same against kvmfork and stock KVM.
 *
 * With --hold it keeps the VM open until killed: tests use that to have a
 * hypervisor hold SVM while they try to load another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

/* Capabilities worth showing, with their names from <linux/kvm.h>. */
#define CAP(name) { KVM_CAP_##name, #name }
static const struct {
	int cap;
	const char *name;
} caps[] = {
	CAP(CHECK_EXTENSION_VM), CAP(USER_MEMORY), CAP(NR_VCPUS), CAP(MAX_VCPUS),
	CAP(NR_MEMSLOTS), CAP(EXT_CPUID), CAP(IRQCHIP), CAP(IMMEDIATE_EXIT),
	CAP(NESTED_STATE), CAP(MANUAL_DIRTY_LOG_PROTECT2),
};

int main(int argc, char **argv)
{
	int hold = argc > 1 && !strcmp(argv[1], "--hold");
	int kvm, vm, version, mmap_size;
	size_t i;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvmf-info: open /dev/kvm: %s\n", strerror(errno));
		return 1;
	}

	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	printf("/dev/kvm: API version %d, vCPU mmap size %d bytes\n", version, mmap_size);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "kvmf-info: expected API version %d\n", KVM_API_VERSION);
		return 1;
	}

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("  KVM_CAP_%-26s %d\n", caps[i].name,
		       ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap));

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "kvmf-info: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	printf("KVM_CREATE_VM: VM fd %d; the VM answers KVM_CHECK_EXTENSION: %d\n", vm,
	       ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM));
	if (hold) {
		fflush(stdout);
		pause();
	}
	close(vm);
	close(kvm);
	return 0;
}
