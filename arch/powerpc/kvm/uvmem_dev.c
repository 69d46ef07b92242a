// SPDX-License-Identifier: GPL-2.0
/*
 * The real backend of the secure-memory state machine (uvmem.c), built for
 * powerpc only: device-private memory that stands for the pages the
 * Ultravisor holds, page migration between it and the VMM's memory
 * (migrate_vma_*()), and the Ultravisor calls (<asm/ultravisor.h>).
 *
 * Secure memory belongs to the Ultravisor and the hypervisor cannot read
 * it.  What the VMM's page tables hold for a secure guest page is a device
 * page (MEMORY_DEVICE_PRIVATE) from a range as large as the machine's
 * secure memory, hot-plugged at module load: a host access to it faults
 * (migrate_to_ram), and the page comes back from the Ultravisor, encrypted
 * (UV_PAGE_OUT).  A bitmap hands the device pages out; a device page's
 * token is its index there.
 *
 * The page size is 64 KiB throughout: the host's (the backend refuses to
 * load with any other), and the only one the Ultravisor pages in and out.
 *
 * Locks: kvmf_ppc_secmem.lock (spinlock) protects the bitmap.  The state
 * machine's locks and the VMM's mmap lock are held by the callers, as
 * struct kvmf_uvmem_ops says.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <asm/hvcall.h>
#include <asm/ultravisor.h>

#include <kvmfork/compat.h>
#include <kvmfork/kvmf_host.h>

#include "../../../mm/ksm_unmerge.h"
#include "powerpc.h"
#include "uvmem.h"

/* uvmem.h must build without <asm/hvcall.h>: its codes are checked here. */
static_assert(KVMF_H_SUCCESS == H_SUCCESS);
static_assert(KVMF_H_PARAMETER == H_PARAMETER);
static_assert(KVMF_H_AUTHORITY == H_AUTHORITY);
static_assert(KVMF_H_P2 == H_P2);
static_assert(KVMF_H_P3 == H_P3);
static_assert(KVMF_H_UNSUPPORTED == H_UNSUPPORTED);
static_assert(KVMF_H_STATE == H_STATE);
static_assert(KVMF_H_SVM_PAGE_IN == H_SVM_PAGE_IN);
static_assert(KVMF_H_SVM_PAGE_OUT == H_SVM_PAGE_OUT);
static_assert(KVMF_H_SVM_INIT_START == H_SVM_INIT_START);
static_assert(KVMF_H_SVM_INIT_DONE == H_SVM_INIT_DONE);
static_assert(KVMF_H_SVM_INIT_ABORT == H_SVM_INIT_ABORT);
static_assert(KVMF_H_PAGE_IN_SHARED == H_PAGE_IN_SHARED);

static struct {
	struct dev_pagemap pgmap;
	struct resource *res;
	unsigned long first_pfn;
	unsigned long nr_pages;
	spinlock_t lock;
	unsigned long *bitmap;
} kvmf_ppc_secmem = {
	.lock = __SPIN_LOCK_UNLOCKED(kvmf_ppc_secmem.lock),
};

/* What a device page stands for: its zone_device_data. */
struct kvmf_ppc_dev_page {
	struct kvmf_uvmem *u;
	u64 gpa;
};

static struct kvmf_vm *kvmf_ppc_uvmem_vm(struct kvmf_uvmem *u)
{
	return u->priv;
}

/* ---- device pages -------------------------------------------------------- */

/*
 * A free device page, bound to secure page @gpa of @u (which it keeps
 * alive), locked and referenced as migration wants it; NULL if none is
 * free.  Its token in *@token.
 */
static struct page *kvmf_ppc_dev_page_alloc(struct kvmf_uvmem *u, u64 gpa, unsigned long *token)
{
	struct kvmf_ppc_dev_page *dp;
	struct page *page;
	unsigned long i;

	dp = kmalloc(sizeof(*dp), GFP_KERNEL_ACCOUNT);
	if (!dp)
		return NULL;

	spin_lock(&kvmf_ppc_secmem.lock);
	i = find_first_zero_bit(kvmf_ppc_secmem.bitmap, kvmf_ppc_secmem.nr_pages);
	if (i < kvmf_ppc_secmem.nr_pages)
		__set_bit(i, kvmf_ppc_secmem.bitmap);
	spin_unlock(&kvmf_ppc_secmem.lock);
	if (i >= kvmf_ppc_secmem.nr_pages) {
		kfree(dp);
		return NULL;
	}

	kvmf_uvmem_get(u);
	dp->u = u;
	dp->gpa = gpa;
	page = pfn_to_page(kvmf_ppc_secmem.first_pfn + i);
	page->zone_device_data = dp;
	zone_device_page_init(page);
	*token = i;
	return page;
}

/* The last reference to a device page went: migrated back, or unmapped. */
static void kvmf_ppc_dev_page_free(struct page *page)
{
	struct kvmf_ppc_dev_page *dp = page->zone_device_data;
	unsigned long i = page_to_pfn(page) - kvmf_ppc_secmem.first_pfn;

	page->zone_device_data = NULL;
	kvmf_uvmem_dev_page_freed(dp->u, dp->gpa, i);
	kvmf_uvmem_put(dp->u);
	kfree(dp);

	spin_lock(&kvmf_ppc_secmem.lock);
	__clear_bit(i, kvmf_ppc_secmem.bitmap);
	spin_unlock(&kvmf_ppc_secmem.lock);
}

/* The host touched a secure page: it comes back from the Ultravisor. */
static vm_fault_t kvmf_ppc_dev_page_fault(struct vm_fault *vmf)
{
	/* The fault holds a reference: the page and its owner stay. */
	struct kvmf_ppc_dev_page *dp = vmf->page->zone_device_data;

	return kvmf_uvmem_host_fault(dp->u, dp->gpa, vmf->address, vmf) ? VM_FAULT_SIGBUS : 0;
}

static const struct dev_pagemap_ops kvmf_ppc_dev_page_ops = {
	.page_free	= kvmf_ppc_dev_page_free,
	.migrate_to_ram	= kvmf_ppc_dev_page_fault,
};

/*
 * The machine's secure memory, from the device tree: the "reg" sizes of the
 * ibm,secure-memory nodes, or else, from older firmware, the sizes in the
 * secure-memory-ranges property of the ibm,uv-firmware node (address and
 * size, two cells each, per range).
 */
static u64 kvmf_ppc_secmem_size(void)
{
	struct device_node *np;
	const __be32 *prop;
	u64 size = 0;
	int len, i;

	for_each_compatible_node(np, NULL, "ibm,secure-memory") {
		prop = of_get_property(np, "reg", &len);
		if (prop && len >= 4 * (int)sizeof(*prop))
			size += of_read_number(prop + 2, 2);
	}
	if (size)
		return size;

	np = of_find_compatible_node(NULL, NULL, "ibm,uv-firmware");
	if (!np)
		return 0;
	prop = of_get_property(np, "secure-memory-ranges", &len);
	for (i = 0; prop && i + 4 <= len / (int)sizeof(*prop); i += 4)
		size += of_read_number(prop + i + 2, 2);
	of_node_put(np);
	return size;
}

int kvmf_ppc_secmem_init(void)
{
	u64 size = kvmf_ppc_secmem_size();
	struct resource *res;
	void *addr;
	int r;

	if (!size) {
		pr_err("the firmware describes no secure memory (ibm,secure-memory): no secure guests here\n");
		return -ENODEV;
	}

	res = request_free_mem_region(&iomem_resource, size, "kvmfork-secure-memory");
	if (IS_ERR(res))
		return PTR_ERR(res);

	kvmf_ppc_secmem.res = res;
	kvmf_ppc_secmem.first_pfn = res->start >> PAGE_SHIFT;
	kvmf_ppc_secmem.nr_pages = resource_size(res) >> PAGE_SHIFT;
	kvmf_ppc_secmem.bitmap = bitmap_zalloc(kvmf_ppc_secmem.nr_pages, GFP_KERNEL);
	if (!kvmf_ppc_secmem.bitmap) {
		r = -ENOMEM;
		goto err_release;
	}

	kvmf_ppc_secmem.pgmap.type = MEMORY_DEVICE_PRIVATE;
	kvmf_ppc_secmem.pgmap.range.start = res->start;
	kvmf_ppc_secmem.pgmap.range.end = res->end;
	kvmf_ppc_secmem.pgmap.nr_range = 1;
	kvmf_ppc_secmem.pgmap.ops = &kvmf_ppc_dev_page_ops;
	/* Migration picks only our device pages by this owner. */
	kvmf_ppc_secmem.pgmap.owner = &kvmf_ppc_secmem;
	addr = memremap_pages(&kvmf_ppc_secmem.pgmap, NUMA_NO_NODE);
	if (IS_ERR(addr)) {
		r = PTR_ERR(addr);
		goto err_free_bitmap;
	}
	pr_info("%llu MiB of secure memory\n", size >> 20);
	return 0;

err_free_bitmap:
	bitmap_free(kvmf_ppc_secmem.bitmap);
err_release:
	release_mem_region(res->start, resource_size(res));
	return r;
}

/* Waits until every device page is free: VMs are gone by module unload. */
void kvmf_ppc_secmem_exit(void)
{
	memunmap_pages(&kvmf_ppc_secmem.pgmap);
	bitmap_free(kvmf_ppc_secmem.bitmap);
	release_mem_region(kvmf_ppc_secmem.res->start, resource_size(kvmf_ppc_secmem.res));
}

/* ---- struct kvmf_uvmem_ops ----------------------------------------------- */

static int kvmf_ppc_mm_lock(struct kvmf_uvmem *u)
{
	struct mm_struct *mm = kvmf_ppc_uvmem_vm(u)->mm;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	return 0;
}

static void kvmf_ppc_mm_unlock(struct kvmf_uvmem *u)
{
	struct mm_struct *mm = kvmf_ppc_uvmem_vm(u)->mm;

	mmap_read_unlock(mm);
	mmput(mm);
}

static int kvmf_ppc_ksm_unmerge(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d,
				unsigned int nr, unsigned int *mergeable)
{
	struct mm_struct *mm = kvmf_ppc_uvmem_vm(u)->mm;
	struct kvmf_ksm_range *ranges;
	unsigned int i;
	int r;

	ranges = kcalloc(nr, sizeof(*ranges), GFP_KERNEL);
	if (!ranges && nr)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		ranges[i].start = d[i].hva;
		ranges[i].end = d[i].hva + d[i].size;
	}
	r = -ESRCH;
	if (mmget_not_zero(mm)) {
		r = kvmf_ksm_unmerge(mm, ranges, nr, true);
		mmput(mm);
	}
	for (i = 0; !r && i < nr; i++)
		mergeable[i] = ranges[i].mergeable;
	kfree(ranges);
	return r;
}

static void kvmf_ppc_ksm_remerge(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	struct mm_struct *mm = kvmf_ppc_uvmem_vm(u)->mm;

	if (mmget_not_zero(mm)) {
		kvmf_ksm_remerge(mm, d->hva, d->hva + d->size);
		mmput(mm);
	}
}

static int kvmf_ppc_register_slot(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	return uv_register_mem_slot(kvmf_ppc_uvmem_vm(u)->arch.lpid, d->gpa, d->size, 0,
				    d->id) == U_SUCCESS ? 0 : -EIO;
}

static void kvmf_ppc_unregister_slot(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	uv_unregister_mem_slot(kvmf_ppc_uvmem_vm(u)->arch.lpid, d->id);
}

static long kvmf_ppc_page_in(struct kvmf_uvmem *u, unsigned long hva, u64 gpa, bool copy)
{
	unsigned int lpid = kvmf_ppc_uvmem_vm(u)->arch.lpid;
	unsigned long src = 0, dst = 0, token;
	struct migrate_vma mig = {
		.start = hva,
		.end = hva + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};
	struct page *spage, *dpage;
	long r;

	mig.vma = vma_lookup(kvmf_ppc_uvmem_vm(u)->mm, hva);
	if (!mig.vma || mig.end > mig.vma->vm_end)
		return -EFAULT;
	if (migrate_vma_setup(&mig))
		return -EFAULT;
	if (!(src & MIGRATE_PFN_MIGRATE)) {
		r = -EBUSY;
		goto out_finalize;
	}

	dpage = kvmf_ppc_dev_page_alloc(u, gpa, &token);
	if (!dpage) {
		r = -ENOMEM;
		goto out_finalize;
	}
	/* A page never touched has no content to give. */
	spage = migrate_pfn_to_page(src);
	if (copy && spage &&
	    uv_page_in(lpid, page_to_pfn(spage) << PAGE_SHIFT, gpa, 0, PAGE_SHIFT) != U_SUCCESS) {
		unlock_page(dpage);
		put_page(dpage);
		r = -EIO;
		goto out_finalize;
	}

	dst = migrate_pfn(page_to_pfn(dpage));
	migrate_vma_pages(&mig);
	/* The page may have been pinned meanwhile: then it did not move. */
	r = (src & MIGRATE_PFN_MIGRATE) ? (long)token : -EBUSY;
out_finalize:
	migrate_vma_finalize(&mig);
	return r;
}

static int kvmf_ppc_page_out(struct kvmf_uvmem *u, unsigned long hva, u64 gpa, bool copy,
			     void *fault)
{
	unsigned int lpid = kvmf_ppc_uvmem_vm(u)->arch.lpid;
	struct vm_fault *vmf = fault;
	unsigned long src = 0, dst = 0;
	struct migrate_vma mig = {
		.start = hva,
		.end = hva + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		/* Only our own device pages are collected. */
		.pgmap_owner = &kvmf_ppc_secmem,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf ? vmf->page : NULL,
	};
	struct kvmf_ppc_dev_page *dp;
	struct page *spage, *dpage;
	int r;

	mig.vma = vmf ? vmf->vma : vma_lookup(kvmf_ppc_uvmem_vm(u)->mm, hva);
	if (!mig.vma || mig.end > mig.vma->vm_end)
		return -ENOENT;
	if (migrate_vma_setup(&mig))
		return -EFAULT;

	spage = migrate_pfn_to_page(src);
	dp = spage ? spage->zone_device_data : NULL;
	if (!(src & MIGRATE_PFN_MIGRATE) || !dp || dp->u != u || dp->gpa != gpa) {
		r = -ENOENT;
		goto out_finalize;
	}

	dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, mig.vma, hva);
	if (!dpage) {
		r = -ENOMEM;
		goto out_finalize;
	}
	lock_page(dpage);
	if (copy) {
		r = uv_page_out(lpid, page_to_pfn(dpage) << PAGE_SHIFT, gpa, 0, PAGE_SHIFT);
		if (r != U_SUCCESS) {
			unlock_page(dpage);
			put_page(dpage);
			r = -EIO;
			goto out_finalize;
		}
	} else {
		/* Content not wanted: the VMM must not see old host data either. */
		clear_highpage(dpage);
	}

	dst = migrate_pfn(page_to_pfn(dpage));
	migrate_vma_pages(&mig);
	r = (src & MIGRATE_PFN_MIGRATE) ? 0 : -EBUSY;
out_finalize:
	migrate_vma_finalize(&mig);
	return r;
}

/*
 * The page stays where it is: the Ultravisor maps it into the guest too.
 * The state machine paged out any device page there before, so faulting
 * the page in cannot come back into it.
 */
static int kvmf_ppc_share(struct kvmf_uvmem *u, unsigned long hva, u64 gpa)
{
	struct kvmf_vm *vm = kvmf_ppc_uvmem_vm(u);
	struct page *page;
	int locked = 1;
	long n;
	int r;

	n = kvmf_compat_gup_remote_locked(vm->mm, hva, FOLL_WRITE, &page, &locked);
	/* The caller holds the mmap lock and releases it. */
	if (!locked)
		mmap_read_lock(vm->mm);
	if (n != 1)
		return n < 0 ? n : -EFAULT;
	r = uv_page_in(vm->arch.lpid, page_to_pfn(page) << PAGE_SHIFT, gpa, 0, PAGE_SHIFT);
	put_page(page);
	return r == U_SUCCESS ? 0 : -EIO;
}

static void kvmf_ppc_terminate(struct kvmf_uvmem *u)
{
	uv_svm_terminate(kvmf_ppc_uvmem_vm(u)->arch.lpid);
}

const struct kvmf_uvmem_ops kvmf_ppc_uvmem_ops = {
	.mm_lock	= kvmf_ppc_mm_lock,
	.mm_unlock	= kvmf_ppc_mm_unlock,
	.ksm_unmerge	= kvmf_ppc_ksm_unmerge,
	.ksm_remerge	= kvmf_ppc_ksm_remerge,
	.register_slot	= kvmf_ppc_register_slot,
	.unregister_slot = kvmf_ppc_unregister_slot,
	.page_in	= kvmf_ppc_page_in,
	.page_out	= kvmf_ppc_page_out,
	.share		= kvmf_ppc_share,
	.terminate	= kvmf_ppc_terminate,
};
