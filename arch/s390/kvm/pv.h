/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s390 Protected Virtualization (IBM Secure Execution): the commands of
 * KVM_S390_PV_COMMAND on a VM fd (pv_cmd.c), and the Ultravisor calls
 * behind them (struct kvmf_s390_uv_ops: the real calls in pv_uv.c, built for
 * s390 only; a fake Ultravisor in pv_cmd_test.c).
 *
 * pv_cmd.c uses portable kernel APIs and the uapi structures of the generic
 * <linux/kvm.h> only, so it is built, and unit-tested, on any architecture.
 */
#ifndef KVMFORK_S390_PV_H
#define KVMFORK_S390_PV_H

#include <linux/compiler_types.h>
#include <linux/kvm.h>
#include <linux/sizes.h>
#include <linux/types.h>

/*
 * The largest Secure Execution header KVM_PV_SET_SEC_PARMS accepts.  Headers
 * grow with the number of host keys an image is encrypted for; KVM's first
 * limit, 8 KiB, turned out too small.
 */
#define KVMF_PV_SE_HDR_MAX	SZ_1M

/* KVM_PV_UNPACK works in s390 pages: address and size are multiples of it. */
#define KVMF_PV_PAGE_SIZE	SZ_4K

struct kvmf_s390_pv;

/* The Ultravisor calls that take nothing but the configuration's handle. */
enum kvmf_pv_uvc {
	KVMF_PV_UVC_VERIFY,		/* Verify Unpacked Image */
	KVMF_PV_UVC_PREP_RESET,		/* Prepare Reset */
	KVMF_PV_UVC_UNSHARE_ALL,	/* Set Unshare All */
};

/*
 * The Ultravisor as the commands see it.  Each call returns 0 when it
 * succeeded, else a negative errno; when it reached the Ultravisor, *@rc and
 * *@rrc hold the Ultravisor's return and reason codes, which userspace gets
 * in kvm_pv_cmd.rc and .rrc.  Called with the VM's mutex held; may sleep.
 */
struct kvmf_s390_uv_ops {
	/*
	 * Makes the guest address space the Ultravisor sees (the gmap) match
	 * the VM's memslots; called before every command but KVM_PV_INFO.
	 */
	int (*sync_memory)(struct kvmf_s390_pv *pv);
	/* Takes the VMM's memory out of KSM (mm/ksm_unmerge.h): 0 or -errno. */
	int (*ksm_unmerge)(struct kvmf_s390_pv *pv);
	/* Create Secure Configuration; its handle in *@handle on success. */
	int (*create_conf)(struct kvmf_s390_pv *pv, u64 *handle, u16 *rc, u16 *rrc);
	/* Destroy Secure Configuration pv->handle. */
	int (*destroy_conf)(struct kvmf_s390_pv *pv, u16 *rc, u16 *rrc);
	/* Set Secure Configuration Parameters: the SE header, @len bytes. */
	int (*set_sec_parms)(struct kvmf_s390_pv *pv, const void *hdr, u64 len,
			     u16 *rc, u16 *rrc);
	/*
	 * Unpack one page of the encrypted image into guest absolute address
	 * @gaddr (the image's @tweak, and the page's @offset in the image);
	 * -EAGAIN when the page was busy and the call should be repeated.
	 */
	int (*unpack)(struct kvmf_s390_pv *pv, u64 gaddr, u64 tweak, u64 offset,
		      u16 *rc, u16 *rrc);
	int (*call)(struct kvmf_s390_pv *pv, enum kvmf_pv_uvc uvc, u16 *rc, u16 *rrc);
	/* What the Ultravisor said of itself at boot (Query Ultravisor Information). */
	void (*info_vm)(struct kvm_s390_pv_info_vm *vm);
	void (*info_dump)(struct kvm_s390_pv_info_dump *dump);
};

/*
 * A VM's protected-virtualization state, embedded in the s390 per-VM state.
 * Locking: the VM's mutex (kvmf_vm.lock) protects @handle.
 */
struct kvmf_s390_pv {
	const struct kvmf_s390_uv_ops *ops;
	/*
	 * The secure configuration's handle: 0 while the VM is not protected.
	 * A configuration the Ultravisor failed to destroy keeps its handle,
	 * so that KVM_PV_DISABLE, and VM teardown, can try again.
	 */
	u64 handle;
};

static inline bool kvmf_s390_pv_is_protected(const struct kvmf_s390_pv *pv)
{
	return pv->handle != 0;
}

/*
 * KVM_S390_PV_COMMAND with @ucmd the user's struct kvm_pv_cmd; called with
 * the VM's mutex held.  Returns 0 or a negative errno; on either, the
 * Ultravisor's rc and rrc are copied back to @ucmd (-EFAULT if that fails),
 * except when @ucmd could not be read or its flags are not 0 (-EINVAL).
 * The errno of each command is listed at its handler in pv_cmd.c; an
 * unknown command, or one not implemented (KVM_PV_DUMP), gets -ENOTTY.
 */
long kvmf_s390_pv_command(struct kvmf_s390_pv *pv, struct kvm_pv_cmd __user *ucmd);

#endif /* KVMFORK_S390_PV_H */
