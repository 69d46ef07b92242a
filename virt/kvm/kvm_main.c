// SPDX-License-Identifier: GPL-2.0
/*
 * kvmfork's entry point: module load and unload, the /dev/kvm character
 * device, and the system ioctls served on it.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

struct kvmf_cap {
	long cap;
	long value;
};

/* Capabilities implemented by the arch-neutral core, whatever the arch. */
static const struct kvmf_cap kvmf_core_caps[] = {
	{ KVM_CAP_CHECK_EXTENSION_VM,		1 },
	{ KVM_CAP_USER_MEMORY,			1 },
	{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS,	1 },
	{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,	1 },
	{ KVM_CAP_NR_MEMSLOTS,			KVMF_USER_MEM_SLOTS },
	{ KVM_CAP_MAX_VCPUS,			KVMF_MAX_VCPUS },
	{ KVM_CAP_MAX_VCPU_ID,			KVMF_MAX_VCPU_IDS },
	{ KVM_CAP_IMMEDIATE_EXIT,		1 },
	/* Host changes to guest memory reach the guest (MMU notifier). */
	{ KVM_CAP_SYNC_MMU,			1 },
	{ KVM_CAP_ENABLE_CAP_VM,		1 },
	{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,	KVMF_DIRTY_LOG_MANUAL_CAPS },
};

long kvmf_check_extension(struct kvmf_vm *vm, long cap)
{
	unsigned int i;

	/* The vCPU count that runs well: one per online host CPU. */
	if (cap == KVM_CAP_NR_VCPUS)
		return min_t(long, num_online_cpus(), KVMF_MAX_VCPUS);

	for (i = 0; i < ARRAY_SIZE(kvmf_core_caps); i++)
		if (kvmf_core_caps[i].cap == cap)
			return kvmf_core_caps[i].value;

	return kvmf_arch_ops.check_extension(vm, cap);
}

static long kvmf_dev_get_api_version(void *obj, void *data, unsigned long arg)
{
	return KVM_API_VERSION;
}

static long kvmf_dev_create_vm(void *obj, void *data, unsigned long arg)
{
	return kvmf_vm_create_fd(arg);
}

static long kvmf_dev_check_extension(void *obj, void *data, unsigned long arg)
{
	return kvmf_check_extension(NULL, arg);
}

static long kvmf_dev_get_vcpu_mmap_size(void *obj, void *data, unsigned long arg)
{
	return KVMF_VCPU_MMAP_PAGES * PAGE_SIZE;
}

static const struct kvmf_ioctl kvmf_dev_ioctls[] = {
	{ KVM_GET_API_VERSION,	  kvmf_dev_get_api_version,	KVMF_IOCTL_ARG_ZERO },
	{ KVM_CREATE_VM,	  kvmf_dev_create_vm,		0 },
	{ KVM_CHECK_EXTENSION,	  kvmf_dev_check_extension,	0 },
	{ KVM_GET_VCPU_MMAP_SIZE, kvmf_dev_get_vcpu_mmap_size,	KVMF_IOCTL_ARG_ZERO },
};

/* KVM answers unknown /dev/kvm ioctls with -EINVAL (x86's arch default). */
static const struct kvmf_ioctl_table kvmf_dev_ioctl_table =
	KVMF_IOCTL_TABLE(kvmf_dev_ioctls, -EINVAL);

static long kvmf_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return kvmf_ioctl_dispatch(&kvmf_dev_ioctl_table, kvmf_arch_ops.dev_ioctls, NULL, NULL,
				   cmd, arg);
}

static const struct file_operations kvmf_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvmf_dev_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvmf_dev = {
	.minor	= KVM_MINOR,
	.name	= "kvm",
	.fops	= &kvmf_dev_fops,
};

static int __init kvmf_init(void)
{
	int r;

	r = kvmf_arch_ops.hardware_setup();
	if (r)
		return r;

	r = kvmf_hardware_enable_all();
	if (r)
		goto err_unsetup;

	/* Last: userspace can open /dev/kvm only once everything is ready. */
	r = misc_register(&kvmf_dev);
	if (r) {
		pr_err("cannot register /dev/kvm (misc minor %d): %d; is kvm.ko loaded?\n",
		       KVM_MINOR, r);
		goto err_disable;
	}

	pr_info("serving /dev/kvm (%s)\n", kvmf_arch_ops.name);
	return 0;

err_disable:
	kvmf_hardware_disable_all();
err_unsetup:
	kvmf_arch_ops.hardware_unsetup();
	return r;
}

static void __exit kvmf_exit(void)
{
	misc_deregister(&kvmf_dev);
	kvmf_hardware_disable_all();
	kvmf_arch_ops.hardware_unsetup();
}

module_init(kvmf_init);
module_exit(kvmf_exit);

MODULE_DESCRIPTION("kvmfork: a hypervisor serving the KVM ABI");
MODULE_LICENSE("GPL");
