// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU file descriptors: KVM_CREATE_VCPU, the kvm_run mmap, KVM_RUN and the
 * generic vCPU ioctls.  The arch backend does the running and owns the
 * register state; this file owns the fd, the shared kvm_run page, signal
 * handling around KVM_RUN and the ioctl table.
 *
 * Locking: vcpu->mutex (killable, through the dispatcher) serialises all
 * vCPU ioctls; vm->lock serialises creation against other VM ioctls.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/ioctl.h>
#include <kvmfork/kvmf_host.h>

static long kvmf_vcpu_run(void *obj, void *data, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = obj;
	sigset_t saved;
	int r;

	if (vcpu->sigmask_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigmask, &saved);

	r = kvmf_arch_ops.vcpu_run(vcpu);

	if (vcpu->sigmask_active)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

static long kvmf_vcpu_get_regs(void *obj, void *data, unsigned long arg)
{
	return kvmf_arch_ops.get_regs(obj, data);
}

static long kvmf_vcpu_set_regs(void *obj, void *data, unsigned long arg)
{
	return kvmf_arch_ops.set_regs(obj, data);
}

static long kvmf_vcpu_get_sregs(void *obj, void *data, unsigned long arg)
{
	return kvmf_arch_ops.get_sregs(obj, data);
}

static long kvmf_vcpu_set_sregs(void *obj, void *data, unsigned long arg)
{
	return kvmf_arch_ops.set_sregs(obj, data);
}

/*
 * KVM_SET_SIGNAL_MASK: a NULL argument clears the mask; otherwise the
 * header's len must be the kernel's sigset size (8 on x86-64).
 */
static long kvmf_vcpu_set_signal_mask(void *obj, void *data, unsigned long arg)
{
	struct kvm_signal_mask __user *umask = (void __user *)arg;
	struct kvmf_vcpu *vcpu = obj;
	struct kvm_signal_mask hdr;
	sigset_t set;

	if (!umask) {
		vcpu->sigmask_active = false;
		return 0;
	}
	if (copy_from_user(&hdr, umask, sizeof(hdr)))
		return -EFAULT;
	if (hdr.len != sizeof(set))
		return -EINVAL;
	if (copy_from_user(&set, umask->sigset, sizeof(set)))
		return -EFAULT;

	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigmask = set;
	vcpu->sigmask_active = true;
	return 0;
}

static const struct kvmf_ioctl kvmf_vcpu_ioctls[] = {
	{ KVM_RUN,		kvmf_vcpu_run,		   KVMF_IOCTL_LOCKED | KVMF_IOCTL_ARG_ZERO },
	{ KVM_GET_REGS,		kvmf_vcpu_get_regs,	   KVMF_IOCTL_LOCKED },
	{ KVM_SET_REGS,		kvmf_vcpu_set_regs,	   KVMF_IOCTL_LOCKED },
	{ KVM_GET_SREGS,	kvmf_vcpu_get_sregs,	   KVMF_IOCTL_LOCKED },
	{ KVM_SET_SREGS,	kvmf_vcpu_set_sregs,	   KVMF_IOCTL_LOCKED },
	{ KVM_SET_SIGNAL_MASK,	kvmf_vcpu_set_signal_mask,
	  KVMF_IOCTL_LOCKED | KVMF_IOCTL_USER_COPY },
};

/* KVM answers unknown vCPU ioctls with -EINVAL (x86's arch vCPU default). */
static const struct kvmf_ioctl_table kvmf_vcpu_ioctl_table =
	KVMF_IOCTL_TABLE(kvmf_vcpu_ioctls, -EINVAL);

static long kvmf_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kvmf_vcpu *vcpu = file->private_data;

	if (vcpu->vm->mm != current->mm)
		return -EIO;

	return kvmf_ioctl_dispatch(&kvmf_vcpu_ioctl_table, kvmf_arch_ops.vcpu_ioctls, vcpu,
				   &vcpu->mutex, cmd, arg);
}

static vm_fault_t kvmf_vcpu_fault(struct vm_fault *vmf)
{
	struct kvmf_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else
		page = kvmf_arch_ops.vcpu_mmap_page(vcpu, vmf->pgoff);
	if (!page)
		return VM_FAULT_SIGBUS;

	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct kvmf_vcpu_vm_ops = {
	.fault = kvmf_vcpu_fault,
};

static int kvmf_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff >= KVMF_VCPU_MMAP_PAGES ||
	    vma_pages(vma) > KVMF_VCPU_MMAP_PAGES - vma->vm_pgoff)
		return -EINVAL;

	vma->vm_ops = &kvmf_vcpu_vm_ops;
	return 0;
}

static int kvmf_vcpu_release(struct inode *inode, struct file *file)
{
	struct kvmf_vcpu *vcpu = file->private_data;

	kvmf_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations kvmf_vcpu_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvmf_vcpu_ioctl,
	.mmap		= kvmf_vcpu_mmap,
	.release	= kvmf_vcpu_release,
	.llseek		= noop_llseek,
};

void kvmf_vcpu_destroy(struct kvmf_vcpu *vcpu)
{
	kvmf_arch_ops.vcpu_destroy(vcpu);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

/* Called with vm->lock held. */
long kvmf_vcpu_create_fd(struct kvmf_vm *vm, u32 id)
{
	struct kvmf_vcpu *vcpu;
	struct file *file;
	char name[32];
	unsigned int i;
	int fd, r;

	lockdep_assert_held(&vm->lock);

	if (id >= KVMF_MAX_VCPU_IDS)
		return -EINVAL;
	if (vm->nr_vcpus >= KVMF_MAX_VCPUS)
		return -EINVAL;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->vcpu_id == id)
			return -EEXIST;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->vcpu_id = id;
	mutex_init(&vcpu->mutex);

	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run) {
		r = -ENOMEM;
		goto err_free_vcpu;
	}

	r = kvmf_arch_ops.vcpu_create(vcpu);
	if (r)
		goto err_free_run;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_arch_destroy;
	}

	snprintf(name, sizeof(name), "kvm-vcpu:%u", id);
	file = anon_inode_getfile(name, &kvmf_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto err_put_fd;
	}

	/* The fd's reference on the VM, dropped in kvmf_vcpu_release(). */
	kvmf_vm_get(vm);
	vm->vcpus[vm->nr_vcpus] = vcpu;
	/* Kicks read the count without vm->lock: the vCPU is visible first. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_arch_destroy:
	kvmf_arch_ops.vcpu_destroy(vcpu);
err_free_run:
	free_page((unsigned long)vcpu->run);
err_free_vcpu:
	kfree(vcpu);
	return r;
}
