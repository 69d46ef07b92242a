// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers around /dev/kvm for the selftests.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvmf_test.h"
#include "kvmf_util.h"

int kvmf_open_dev(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	KVMF_ASSERT(fd >= 0, "open /dev/kvm: %s", strerror(errno));
	return fd;
}

int kvmf_create_vm(int kvm_fd)
{
	return KVMF_CHECK(ioctl(kvm_fd, KVM_CREATE_VM, 0));
}

const char *kvmf_vm_owner_module(void)
{
	const char *impl = getenv("KVMF_IMPL");
	struct stat st;

	if (impl)
		return strcmp(impl, "stock") ? "kvmfork" : "kvm_amd";
	/* Run by hand outside the test VM: ask sysfs. */
	return stat("/sys/module/kvmfork", &st) == 0 ? "kvmfork" : "kvm_amd";
}

long kvmf_module_refcnt(const char *name)
{
	char path[128];
	long refcnt;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%ld", &refcnt);
	fclose(f);
	return n == 1 ? refcnt : -1;
}

long kvmf_meminfo_kib(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long kib = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			kib = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}
