// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl dispatcher shared by /dev/kvm, VM fds and vCPU fds: finds the
 * command in the fd's table, copies a fixed-size argument in and out, checks
 * integer arguments that must be zero, and takes the object's lock.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kvmfork/ioctl.h>

/* Arguments up to this size are copied to the stack, larger ones to the heap. */
#define KVMF_IOCTL_STACK_BYTES	256

static const struct kvmf_ioctl *kvmf_ioctl_find(const struct kvmf_ioctl_table *table,
						unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < table->count; i++)
		if (table->entries[i].cmd == cmd)
			return &table->entries[i];
	return NULL;
}

static long kvmf_ioctl_call(const struct kvmf_ioctl *ioc, void *obj, struct mutex *lock,
			    void *data, unsigned long arg)
{
	long r;

	if (!(ioc->flags & KVMF_IOCTL_LOCKED))
		return ioc->fn(obj, data, arg);

	if (mutex_lock_killable(lock))
		return -EINTR;
	r = ioc->fn(obj, data, arg);
	mutex_unlock(lock);
	return r;
}

long kvmf_ioctl_dispatch(const struct kvmf_ioctl_table *table,
			 const struct kvmf_ioctl_table *arch_table, void *obj,
			 struct mutex *lock, unsigned int cmd, unsigned long arg)
{
	u64 stack_buf[KVMF_IOCTL_STACK_BYTES / sizeof(u64)];
	void __user *uarg = (void __user *)arg;
	const struct kvmf_ioctl *ioc;
	unsigned int size, dir;
	void *data = NULL;
	long r;

	ioc = kvmf_ioctl_find(table, cmd);
	if (!ioc && arch_table)
		ioc = kvmf_ioctl_find(arch_table, cmd);
	if (!ioc)
		return table->unknown_cmd_error;

	if ((ioc->flags & KVMF_IOCTL_ARG_ZERO) && arg)
		return -EINVAL;

	dir = _IOC_DIR(cmd);
	size = _IOC_SIZE(cmd);
	if ((ioc->flags & KVMF_IOCTL_USER_COPY) || dir == _IOC_NONE || !size)
		return kvmf_ioctl_call(ioc, obj, lock, NULL, arg);

	data = size <= sizeof(stack_buf) ? stack_buf : kmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!data)
		return -ENOMEM;

	if (dir & _IOC_WRITE) {
		if (copy_from_user(data, uarg, size)) {
			r = -EFAULT;
			goto out_free;
		}
	} else {
		/* Output-only: never hand stale stack bytes back to userspace. */
		memset(data, 0, size);
	}

	r = kvmf_ioctl_call(ioc, obj, lock, data, arg);
	if (r >= 0 && (dir & _IOC_READ) && copy_to_user(uarg, data, size))
		r = -EFAULT;

out_free:
	if (data != stack_buf)
		kfree(data);
	return r;
}
