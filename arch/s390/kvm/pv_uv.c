// SPDX-License-Identifier: GPL-2.0
/*
 * The real Ultravisor behind KVM_S390_PV_COMMAND (struct kvmf_s390_uv_ops),
 * built for s390 only: Ultravisor calls (asm/uv.h), the storage donated to
 * a secure configuration, and the guest address space (gmap) the
 * Ultravisor translates guest addresses through.
 *
 * The gmap.  A gmap maps guest absolute addresses onto the VMM's own page
 * tables in 1 MiB segments, so host changes to a page reach the guest with
 * no notifier; only the segment mappings must follow the memslots.  No vCPU
 * runs here, and the only users of the gmap are the Ultravisor calls of the
 * PV commands, so the segments are brought up to date at the start of each
 * command (kvmf_s390_uv_sync_memory()) rather than at each memslot change.
 * Segments need 1 MiB alignment: a memslot whose guest address, size or
 * host address is not a multiple of 1 MiB fails the command with -EINVAL
 * (s390 KVM refuses such slots when they are created).
 *
 * Locking: every function runs with the VM's mutex held, which protects
 * vm->arch; the gmap and the mm take their own locks.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/gmap.h>
#include <asm/pgtable.h>
#include <asm/uv.h>

#include <kvmfork/kvmf_host.h>

#include "../../../mm/ksm_unmerge.h"
#include "pv.h"
#include "s390.h"

static struct kvmf_vm *kvmf_pv_to_vm(struct kvmf_s390_pv *pv)
{
	return container_of(pv, struct kvmf_vm, arch.pv);
}

/* Whether @slot is mapped into the gmap exactly as @seg says. */
static bool kvmf_s390_seg_matches(const struct kvmf_s390_seg *seg,
				  const struct kvmf_memslot *slot)
{
	return seg->gpa == slot->base_gfn << PAGE_SHIFT &&
	       seg->len == slot->npages << PAGE_SHIFT &&
	       seg->hva == slot->userspace_addr;
}

static bool kvmf_s390_seg_in_set(const struct kvmf_s390_seg *seg,
				 const struct kvmf_memslots *set)
{
	struct kvmf_memslot *const *slots = kvmf_memslots_by_gfn(set);
	u32 i;

	for (i = 0; i < set->nr; i++)
		if (kvmf_s390_seg_matches(seg, slots[i]))
			return true;
	return false;
}

static bool kvmf_s390_slot_mapped(const struct kvmf_arch_vm *arch,
				  const struct kvmf_memslot *slot)
{
	unsigned int i;

	for (i = 0; i < arch->nr_segs; i++)
		if (kvmf_s390_seg_matches(&arch->segs[i], slot))
			return true;
	return false;
}

/*
 * Brings the gmap's segments up to date with the memslots: stale segments
 * out, new slots in.  On error the gmap maps what @arch->segs says.
 */
static int kvmf_s390_uv_sync_memory(struct kvmf_s390_pv *pv)
{
	struct kvmf_vm *vm = kvmf_pv_to_vm(pv);
	struct kvmf_arch_vm *arch = &vm->arch;
	const struct kvmf_memslots *set = kvmf_memslots_get_locked(&vm->mem);
	struct kvmf_memslot *const *slots = kvmf_memslots_by_gfn(set);
	struct kvmf_s390_seg *segs;
	unsigned int i, n = 0;
	int r = 0;

	segs = kvmalloc_array(max_t(u32, set->nr, 1), sizeof(*segs), GFP_KERNEL_ACCOUNT);
	if (!segs)
		return -ENOMEM;

	for (i = 0; i < arch->nr_segs; i++) {
		if (kvmf_s390_seg_in_set(&arch->segs[i], set))
			segs[n++] = arch->segs[i];
		else
			gmap_unmap_segment(arch->gmap, arch->segs[i].gpa, arch->segs[i].len);
	}

	for (i = 0; i < set->nr; i++) {
		const struct kvmf_memslot *slot = slots[i];
		struct kvmf_s390_seg seg = {
			.gpa = slot->base_gfn << PAGE_SHIFT,
			.len = slot->npages << PAGE_SHIFT,
			.hva = slot->userspace_addr,
		};

		if (kvmf_s390_slot_mapped(arch, slot))
			continue;
		r = gmap_map_segment(arch->gmap, seg.hva, seg.gpa, seg.len);
		if (r) {
			pr_info_ratelimited("memslot %u (guest 0x%llx, size 0x%llx, host 0x%lx) cannot back a protected VM: s390 needs 1 MiB alignment (%d)\n",
					    slot->id, seg.gpa, seg.len, seg.hva, r);
			break;
		}
		segs[n++] = seg;
	}

	kvfree(arch->segs);
	arch->segs = segs;
	arch->nr_segs = n;
	return r;
}

/* The whole address space, as guest memory may come from any mapping. */
static int kvmf_s390_uv_ksm_unmerge(struct kvmf_s390_pv *pv)
{
	struct kvmf_ksm_range all = { .start = 0, .end = TASK_SIZE_MAX };

	return kvmf_ksm_unmerge(kvmf_pv_to_vm(pv)->mm, &all, 1, false);
}

/* The end of guest storage: the highest byte any memslot backs, plus one. */
static u64 kvmf_s390_guest_len(const struct kvmf_arch_vm *arch)
{
	u64 len = 0;
	unsigned int i;

	for (i = 0; i < arch->nr_segs; i++)
		len = max(len, arch->segs[i].gpa + arch->segs[i].len);
	return len;
}

static void kvmf_s390_free_conf_storage(struct kvmf_arch_vm *arch)
{
	vfree(arch->stor_var);
	if (arch->stor_base)
		free_pages(arch->stor_base, get_order(uv_info.guest_base_stor_len));
	arch->stor_var = NULL;
	arch->stor_base = 0;
	arch->guest_len = 0;
}

/*
 * The storage the Ultravisor keeps for a configuration: a fixed base, in
 * absolute (contiguous) pages, and a variable part, virtual, that grows with
 * each MiB of guest storage.
 */
static int kvmf_s390_alloc_conf_storage(struct kvmf_arch_vm *arch)
{
	unsigned long var_len;

	arch->guest_len = kvmf_s390_guest_len(arch);
	arch->stor_base = __get_free_pages(GFP_KERNEL_ACCOUNT,
					   get_order(uv_info.guest_base_stor_len));
	if (!arch->stor_base)
		return -ENOMEM;

	var_len = PAGE_ALIGN(uv_info.guest_virt_var_stor_len * (arch->guest_len / HPAGE_SIZE)) +
		  uv_info.guest_virt_base_stor_len;
	arch->stor_var = vzalloc(var_len);
	if (!arch->stor_var) {
		kvmf_s390_free_conf_storage(arch);
		return -ENOMEM;
	}
	return 0;
}

int kvmf_s390_destroy_conf(struct kvmf_vm *vm, u64 handle, u16 *rc, u16 *rrc)
{
	struct kvmf_arch_vm *arch = &vm->arch;
	int r;

	r = uv_cmd_nodata(handle, UVC_CMD_DESTROY_SEC_CONF, rc, rrc);
	WRITE_ONCE(arch->gmap->guest_handle, 0);

	/*
	 * Pages the guest left secure go back to the host now, while the mm
	 * still counts as protected, rather than one fault at a time later.
	 */
	if (mmget_not_zero(vm->mm)) {
		s390_uv_destroy_range(vm->mm, 0, TASK_SIZE_MAX);
		mmput(vm->mm);
	}

	if (r) {
		/*
		 * The Ultravisor still owns the donated storage and the top
		 * table of the old address space: never free them, and give
		 * the gmap a fresh top table.  The handle stays, so that
		 * destroying can be tried again.
		 */
		s390_replace_asce(arch->gmap);
		pr_warn_ratelimited("the Ultravisor did not destroy secure configuration 0x%llx (rc 0x%x rrc 0x%x): its storage stays donated\n",
				    handle, *rc, *rrc);
		return -EIO;
	}
	atomic_dec(&vm->mm->context.protected_count);
	kvmf_s390_free_conf_storage(arch);
	return 0;
}

static int kvmf_s390_uv_create_conf(struct kvmf_s390_pv *pv, u64 *handle, u16 *rc, u16 *rrc)
{
	struct kvmf_vm *vm = kvmf_pv_to_vm(pv);
	struct kvmf_arch_vm *arch = &vm->arch;
	struct uv_cb_cgc uvcb = {
		.header.cmd = UVC_CMD_CREATE_SEC_CONF,
		.header.len = sizeof(uvcb),
	};
	u16 drc, drrc;
	int r, cc;

	r = kvmf_s390_alloc_conf_storage(arch);
	if (r)
		return r;

	/* Guest storage starts at absolute 0: there is no origin offset. */
	uvcb.guest_stor_origin = 0;
	uvcb.guest_stor_len = arch->guest_len;
	uvcb.guest_asce = arch->gmap->asce;
	uvcb.guest_sca = (unsigned long)arch->sca;
	uvcb.conf_base_stor_origin = arch->stor_base;
	uvcb.conf_virt_stor_origin = (unsigned long)arch->stor_var;

	cc = uv_call_sched(0, (u64)&uvcb);
	*rc = uvcb.header.rc;
	*rrc = uvcb.header.rrc;
	if (!cc) {
		/* From now on the host's mm code treats pages as possibly secure. */
		atomic_inc(&vm->mm->context.protected_count);
		arch->gmap->guest_handle = uvcb.guest_handle;
		*handle = uvcb.guest_handle;
		return 0;
	}

	/* A configuration half made must be destroyed before its storage goes. */
	if (uvcb.header.rc & UVC_RC_NEED_DESTROY) {
		atomic_inc(&vm->mm->context.protected_count);
		kvmf_s390_destroy_conf(vm, uvcb.guest_handle, &drc, &drrc);
	} else {
		kvmf_s390_free_conf_storage(arch);
	}
	return -EIO;
}

static int kvmf_s390_uv_destroy_conf(struct kvmf_s390_pv *pv, u16 *rc, u16 *rrc)
{
	return kvmf_s390_destroy_conf(kvmf_pv_to_vm(pv), pv->handle, rc, rrc);
}

static int kvmf_s390_uv_set_sec_parms(struct kvmf_s390_pv *pv, const void *hdr, u64 len,
				      u16 *rc, u16 *rrc)
{
	struct uv_cb_ssc uvcb = {
		.header.cmd = UVC_CMD_SET_SEC_CONF_PARAMS,
		.header.len = sizeof(uvcb),
		.guest_handle = pv->handle,
		.sec_header_origin = (u64)hdr,
		.sec_header_len = len,
	};
	/* A large header may take the Ultravisor several rounds: let others run. */
	int cc = uv_call_sched(0, (u64)&uvcb);

	*rc = uvcb.header.rc;
	*rrc = uvcb.header.rrc;
	return cc ? -EINVAL : 0;
}

static int kvmf_s390_uv_unpack(struct kvmf_s390_pv *pv, u64 gaddr, u64 tweak, u64 offset,
			       u16 *rc, u16 *rrc)
{
	struct uv_cb_unp uvcb = {
		.header.cmd = UVC_CMD_UNPACK_IMG,
		.header.len = sizeof(uvcb),
		.guest_handle = pv->handle,
		.gaddr = gaddr,
		.tweak[0] = tweak,
		.tweak[1] = offset,
	};
	/* Faults the page in through the gmap and makes it secure. */
	int r = gmap_make_secure(kvmf_pv_to_vm(pv)->arch.gmap, gaddr, &uvcb);

	*rc = uvcb.header.rc;
	*rrc = uvcb.header.rrc;
	return r;
}

static int kvmf_s390_uv_call(struct kvmf_s390_pv *pv, enum kvmf_pv_uvc uvc, u16 *rc, u16 *rrc)
{
	static const u16 cmds[] = {
		[KVMF_PV_UVC_VERIFY]		= UVC_CMD_VERIFY_IMG,
		[KVMF_PV_UVC_PREP_RESET]	= UVC_CMD_PREPARE_RESET,
		[KVMF_PV_UVC_UNSHARE_ALL]	= UVC_CMD_SET_UNSHARE_ALL,
	};

	return uv_cmd_nodata(pv->handle, cmds[uvc], rc, rrc);
}

static void kvmf_s390_uv_info_vm(struct kvm_s390_pv_info_vm *info)
{
	BUILD_BUG_ON(sizeof(info->inst_calls_list) != sizeof(uv_info.inst_calls_list));
	memcpy(info->inst_calls_list, uv_info.inst_calls_list, sizeof(info->inst_calls_list));
	/* The Ultravisor reports the highest CPU id, not a count. */
	info->max_cpus = uv_info.max_guest_cpu_id + 1;
	info->max_guests = uv_info.max_num_sec_conf;
	info->max_guest_addr = uv_info.max_sec_stor_addr;
	info->feature_indication = uv_info.uv_feature_indications;
}

static void kvmf_s390_uv_info_dump(struct kvm_s390_pv_info_dump *info)
{
	info->dump_cpu_buffer_len = uv_info.guest_cpu_stor_len;
	info->dump_config_mem_buffer_per_1m = uv_info.conf_dump_storage_state_len;
	info->dump_config_finalize_len = uv_info.conf_dump_finalize_len;
}

const struct kvmf_s390_uv_ops kvmf_s390_uv_ops = {
	.sync_memory	= kvmf_s390_uv_sync_memory,
	.ksm_unmerge	= kvmf_s390_uv_ksm_unmerge,
	.create_conf	= kvmf_s390_uv_create_conf,
	.destroy_conf	= kvmf_s390_uv_destroy_conf,
	.set_sec_parms	= kvmf_s390_uv_set_sec_parms,
	.unpack		= kvmf_s390_uv_unpack,
	.call		= kvmf_s390_uv_call,
	.info_vm	= kvmf_s390_uv_info_vm,
	.info_dump	= kvmf_s390_uv_info_dump,
};
