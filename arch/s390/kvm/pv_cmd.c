// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_S390_PV_COMMAND: the commands by which a VMM turns a VM into a
 * protected (Secure Execution) VM and loads its encrypted image, checked and
 * copied here, carried out by the Ultravisor behind struct kvmf_s390_uv_ops.
 *
 * The usual sequence: ENABLE (create the secure configuration), SET_SEC_PARMS
 * (hand over the image's Secure Execution header), UNPACK (decrypt the image
 * into guest memory, page by page), VERIFY (check it against the header);
 * then, later, PREP_RESET and UNSHARE_ALL around a reboot, and DISABLE
 * (destroy the configuration).  INFO reports the Ultravisor's limits.
 *
 * Portable on purpose: only the uapi structures of <linux/kvm.h> and portable
 * kernel APIs, so that the same file is built into the s390 module and into
 * the KUnit module on any architecture (pv_cmd_test.c).
 *
 * Locking: every command runs with the VM's mutex held (the ioctl table
 * says KVMF_IOCTL_LOCKED), which serialises them and protects pv->handle.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pv.h"

/* What a command needs of the VM before it runs. */
enum kvmf_pv_need {
	KVMF_PV_NEED_NOTHING,
	KVMF_PV_NEED_UNPROTECTED,
	KVMF_PV_NEED_PROTECTED,
};

struct kvmf_pv_cmd_desc {
	int (*fn)(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd);
	enum kvmf_pv_need need;
};

/*
 * ENABLE: -EINVAL if already protected; -EINTR on a fatal signal while the
 * VMM's memory is taken out of KSM; the Ultravisor's failure (-EIO), or
 * -ENOMEM.
 */
static int kvmf_pv_enable(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	u64 handle = 0;
	int r;

	/* The Ultravisor cannot take over pages that KSM shares with others. */
	r = pv->ops->ksm_unmerge(pv);
	if (r)
		return r;

	r = pv->ops->create_conf(pv, &handle, &cmd->rc, &cmd->rrc);
	if (r)
		return r;
	pv->handle = handle;
	return 0;
}

/*
 * DISABLE: -EINVAL if not protected; the Ultravisor's failure (-EIO), after
 * which the VM stays protected.
 */
static int kvmf_pv_disable(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	int r;

	r = pv->ops->destroy_conf(pv, &cmd->rc, &cmd->rrc);
	if (!r)
		pv->handle = 0;
	return r;
}

/*
 * SET_SEC_PARMS: -EINVAL if not protected or if the header length is 0 or
 * beyond KVMF_PV_SE_HDR_MAX; -EFAULT if the parameters or the header cannot
 * be read; -ENOMEM; the Ultravisor's refusal (-EINVAL, with its rc/rrc).
 */
static int kvmf_pv_set_sec_parms(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	struct kvm_s390_pv_sec_parm parm;
	void *hdr;
	int r;

	if (copy_from_user(&parm, u64_to_user_ptr(cmd->data), sizeof(parm)))
		return -EFAULT;
	if (!parm.length || parm.length > KVMF_PV_SE_HDR_MAX)
		return -EINVAL;

	/* Up to 1 MiB: vmalloc-backed when contiguous pages are scarce. */
	hdr = kvmalloc(parm.length, GFP_KERNEL_ACCOUNT);
	if (!hdr)
		return -ENOMEM;
	if (copy_from_user(hdr, u64_to_user_ptr(parm.origin), parm.length))
		r = -EFAULT;
	else
		r = pv->ops->set_sec_parms(pv, hdr, parm.length, &cmd->rc, &cmd->rrc);
	kvfree(hdr);
	return r;
}

/*
 * UNPACK: -EINVAL if not protected, if address or size is not a multiple of
 * KVMF_PV_PAGE_SIZE, if the size is 0 or the range wraps; -EFAULT if the
 * parameters cannot be read; -EINTR on a fatal signal while the Ultravisor
 * keeps answering "busy"; the first page's failure otherwise, with that
 * page's rc/rrc.
 */
static int kvmf_pv_unpack(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	struct kvm_s390_pv_unp unp;
	u64 offset;
	int r;

	if (copy_from_user(&unp, u64_to_user_ptr(cmd->data), sizeof(unp)))
		return -EFAULT;
	if (!IS_ALIGNED(unp.addr, KVMF_PV_PAGE_SIZE) || !IS_ALIGNED(unp.size, KVMF_PV_PAGE_SIZE))
		return -EINVAL;
	if (!unp.size || unp.size - 1 > U64_MAX - unp.addr)
		return -EINVAL;

	for (offset = 0; offset < unp.size; ) {
		r = pv->ops->unpack(pv, unp.addr + offset, unp.tweak, offset,
				    &cmd->rc, &cmd->rrc);
		if (r == -EAGAIN) {
			/* A busy page: try again, unless the VMM is being killed. */
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
			continue;
		}
		if (r)
			return r;
		offset += KVMF_PV_PAGE_SIZE;
	}
	return 0;
}

/* VERIFY, PREP_RESET, UNSHARE_ALL: -EINVAL if not protected or refused. */
static int kvmf_pv_verify(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	return pv->ops->call(pv, KVMF_PV_UVC_VERIFY, &cmd->rc, &cmd->rrc);
}

static int kvmf_pv_prep_reset(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	return pv->ops->call(pv, KVMF_PV_UVC_PREP_RESET, &cmd->rc, &cmd->rrc);
}

static int kvmf_pv_unshare_all(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	return pv->ops->call(pv, KVMF_PV_UVC_UNSHARE_ALL, &cmd->rc, &cmd->rrc);
}

/*
 * INFO, protected or not: the header's id picks the data, and its len_max
 * says how much room userspace has; -EINVAL for an unknown id or too little
 * room, -EFAULT.  Writes the header (len_written set) and the data.
 */
static int kvmf_pv_info(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	void __user *uinfo = u64_to_user_ptr(cmd->data);
	struct kvm_s390_pv_info info = {};
	size_t len;

	if (copy_from_user(&info.header, uinfo, sizeof(info.header)))
		return -EFAULT;

	switch (info.header.id) {
	case KVM_PV_INFO_VM:
		len = sizeof(info.header) + sizeof(info.vm);
		if (info.header.len_max < len)
			return -EINVAL;
		pv->ops->info_vm(&info.vm);
		break;
	case KVM_PV_INFO_DUMP:
		len = sizeof(info.header) + sizeof(info.dump);
		if (info.header.len_max < len)
			return -EINVAL;
		pv->ops->info_dump(&info.dump);
		break;
	default:
		return -EINVAL;
	}

	/* A later, longer version of the data can be told by this length. */
	info.header.len_written = len;
	if (copy_to_user(uinfo, &info, len))
		return -EFAULT;
	return 0;
}

/* Indexed by enum pv_cmd_id; KVM_PV_DUMP is not implemented. */
static const struct kvmf_pv_cmd_desc kvmf_pv_cmds[] = {
	[KVM_PV_ENABLE]		= { kvmf_pv_enable,		KVMF_PV_NEED_UNPROTECTED },
	[KVM_PV_DISABLE]	= { kvmf_pv_disable,		KVMF_PV_NEED_PROTECTED },
	[KVM_PV_SET_SEC_PARMS]	= { kvmf_pv_set_sec_parms,	KVMF_PV_NEED_PROTECTED },
	[KVM_PV_UNPACK]		= { kvmf_pv_unpack,		KVMF_PV_NEED_PROTECTED },
	[KVM_PV_VERIFY]		= { kvmf_pv_verify,		KVMF_PV_NEED_PROTECTED },
	[KVM_PV_PREP_RESET]	= { kvmf_pv_prep_reset,		KVMF_PV_NEED_PROTECTED },
	[KVM_PV_UNSHARE_ALL]	= { kvmf_pv_unshare_all,	KVMF_PV_NEED_PROTECTED },
	[KVM_PV_INFO]		= { kvmf_pv_info,		KVMF_PV_NEED_NOTHING },
};

static int kvmf_pv_run(struct kvmf_s390_pv *pv, struct kvm_pv_cmd *cmd)
{
	const struct kvmf_pv_cmd_desc *desc;
	int r;

	if (cmd->cmd >= ARRAY_SIZE(kvmf_pv_cmds))
		return -ENOTTY;
	desc = &kvmf_pv_cmds[array_index_nospec(cmd->cmd, ARRAY_SIZE(kvmf_pv_cmds))];
	if (!desc->fn)
		return -ENOTTY;

	switch (desc->need) {
	case KVMF_PV_NEED_UNPROTECTED:
		if (kvmf_s390_pv_is_protected(pv))
			return -EINVAL;
		break;
	case KVMF_PV_NEED_PROTECTED:
		if (!kvmf_s390_pv_is_protected(pv))
			return -EINVAL;
		break;
	case KVMF_PV_NEED_NOTHING:
		return desc->fn(pv, cmd);
	}

	/* Memslots may have changed since the last command. */
	r = pv->ops->sync_memory(pv);
	if (r)
		return r;
	return desc->fn(pv, cmd);
}

long kvmf_s390_pv_command(struct kvmf_s390_pv *pv, struct kvm_pv_cmd __user *ucmd)
{
	struct kvm_pv_cmd cmd;
	int r;

	if (copy_from_user(&cmd, ucmd, sizeof(cmd)))
		return -EFAULT;
	if (cmd.flags)
		return -EINVAL;

	/*
	 * rc and rrc go back as the Ultravisor left them, whatever the
	 * outcome: they are how userspace learns why a call failed.
	 */
	r = kvmf_pv_run(pv, &cmd);
	if (copy_to_user(ucmd, &cmd, sizeof(cmd)))
		return -EFAULT;
	return r;
}
