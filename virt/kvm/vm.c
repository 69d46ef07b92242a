// SPDX-License-Identifier: GPL-2.0
/*
 * VM file descriptors: KVM_CREATE_VM, the VM ioctls, and the VM's lifetime.
 *
 * A VM lives while anything holds a reference in vm->users: its own fd, and
 * later each vCPU fd.  The fd's file pins the module (fops.owner), so the
 * module cannot be unloaded while any VM exists.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

void kvmf_vm_get(struct kvmf_vm *vm)
{
	refcount_inc(&vm->users);
}

void kvmf_vm_put(struct kvmf_vm *vm)
{
	unsigned int i;

	if (!refcount_dec_and_test(&vm->users))
		return;

	/*
	 * No fd is left: nothing can run or look at the VM any more.  The
	 * notifier goes first: its callbacks use the vCPUs (kicks) and the
	 * nested page tables, and unregistering waits for them.
	 */
	kvmf_mmu_notifier_unregister(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		kvmf_vcpu_destroy(vm->vcpus[i]);
	kvmf_arch_ops.vm_destroy(vm);
	kvmf_vm_mem_destroy(&vm->mem);
	mmdrop(vm->mm);
	kvfree(vm);
}

static long kvmf_vm_check_extension(void *obj, void *data, unsigned long arg)
{
	return kvmf_check_extension(obj, arg);
}

static long kvmf_vm_create_vcpu(void *obj, void *data, unsigned long arg)
{
	/* Ids are unsigned 32-bit in the ABI; larger values are out of range too. */
	if (arg > U32_MAX)
		return -EINVAL;
	return kvmf_vcpu_create_fd(obj, arg);
}

/* A slot change is published and no vCPU can see the old slot any more. */
static void kvmf_vm_memslot_commit(void *opaque, const struct kvmf_memslot_update *u)
{
	struct kvmf_vm *vm = opaque;

	switch (u->change) {
	case KVMF_MR_DELETE:
	case KVMF_MR_MOVE:
		kvmf_arch_ops.mmu_unmap_range(vm, u->old->base_gfn, u->old->npages, true);
		break;
	case KVMF_MR_FLAGS:
		/* Turning logging off leaves read-only mappings: they refault writable. */
		if (u->new->dirty_bitmap)
			kvmf_dirty_log_slot_enabled(vm, u->new);
		break;
	default:
		/* A new slot's range has no mappings yet. */
		break;
	}
	if (kvmf_arch_ops.memslot_commit)
		kvmf_arch_ops.memslot_commit(vm, u);
}

static long kvmf_vm_set_user_memory_region(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vm *vm = obj;

	return kvmf_vm_mem_set_region(&vm->mem, data,
				      vm->dirty_log_manual & KVM_DIRTY_LOG_INITIALLY_SET,
				      kvmf_vm_memslot_commit, vm);
}

static long kvmf_vm_ioctl_get_dirty_log(void *obj, void *data, unsigned long arg)
{
	return kvmf_vm_get_dirty_log(obj, data);
}

static long kvmf_vm_ioctl_clear_dirty_log(void *obj, void *data, unsigned long arg)
{
	return kvmf_vm_clear_dirty_log(obj, data);
}

/* KVM_ENABLE_CAP on a VM: the core's capabilities, then the arch's. */
static long kvmf_vm_enable_cap(void *obj, void *data, unsigned long arg)
{
	const struct kvm_enable_cap *cap = data;
	struct kvmf_vm *vm = obj;

	if (cap->flags)
		return -EINVAL;
	if (cap->cap == KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)
		return kvmf_vm_enable_cap_dirty_log(vm, cap);
	if (kvmf_arch_ops.vm_enable_cap)
		return kvmf_arch_ops.vm_enable_cap(vm, cap);
	return -EINVAL;
}

static const struct kvmf_ioctl kvmf_vm_ioctls[] = {
	{ KVM_CHECK_EXTENSION,		kvmf_vm_check_extension,	0 },
	{ KVM_CREATE_VCPU,		kvmf_vm_create_vcpu,		KVMF_IOCTL_LOCKED },
	{ KVM_SET_USER_MEMORY_REGION,	kvmf_vm_set_user_memory_region,	KVMF_IOCTL_LOCKED },
	{ KVM_GET_DIRTY_LOG,		kvmf_vm_ioctl_get_dirty_log,	KVMF_IOCTL_LOCKED },
	{ KVM_CLEAR_DIRTY_LOG,		kvmf_vm_ioctl_clear_dirty_log,	KVMF_IOCTL_LOCKED },
	{ KVM_ENABLE_CAP,		kvmf_vm_enable_cap,		KVMF_IOCTL_LOCKED },
};

/* KVM answers unknown VM ioctls with -ENOTTY (x86's arch VM ioctl default). */
static const struct kvmf_ioctl_table kvmf_vm_ioctl_table =
	KVMF_IOCTL_TABLE(kvmf_vm_ioctls, -ENOTTY);

static long kvmf_vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kvmf_vm *vm = file->private_data;

	/* A VM belongs to the address space that created it, fork or not. */
	if (vm->mm != current->mm)
		return -EIO;

	return kvmf_ioctl_dispatch(&kvmf_vm_ioctl_table, kvmf_arch_ops.vm_ioctls, vm,
				   &vm->lock, cmd, arg);
}

static int kvmf_vm_release(struct inode *inode, struct file *file)
{
	kvmf_vm_put(file->private_data);
	return 0;
}

static const struct file_operations kvmf_vm_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvmf_vm_ioctl,
	.release	= kvmf_vm_release,
	.llseek		= noop_llseek,
};

int kvmf_vm_create_fd(unsigned long type)
{
	struct kvmf_vm *vm;
	struct file *file;
	int fd, r;

	vm = kvzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;

	refcount_set(&vm->users, 1);
	mutex_init(&vm->lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);

	r = kvmf_vm_mem_init(&vm->mem);
	if (r)
		goto err_free_vm;

	r = kvmf_arch_ops.vm_init(vm, type);
	if (r)
		goto err_mem_destroy;

	/* Callbacks may come right away: memory and arch state are ready. */
	r = kvmf_mmu_notifier_register(vm);
	if (r)
		goto err_arch_destroy;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_unregister;
	}

	/* anon_inode_getfile() takes the module reference for the file. */
	file = anon_inode_getfile("kvm-vm", &kvmf_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto err_put_fd;
	}

	/* Nothing can fail past this point: the fd becomes visible last. */
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_unregister:
	kvmf_mmu_notifier_unregister(vm);
err_arch_destroy:
	kvmf_arch_ops.vm_destroy(vm);
err_mem_destroy:
	kvmf_vm_mem_destroy(&vm->mem);
err_free_vm:
	mmdrop(vm->mm);
	kvfree(vm);
	return r;
}
