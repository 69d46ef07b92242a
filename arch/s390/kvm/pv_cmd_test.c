// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the s390 protected-virtualization command path (pv_cmd.c),
 * part of kvmfork-test.ko on any architecture, never of kvmfork.ko.  pv_cmd.c
 * is compiled into this object by the #include below, so the test sees
 * exactly the code the s390 module runs.
 *
 * The Ultravisor is a fake that records each call and answers as a case
 * tells it to.  Commands travel through real user memory (mm/kunit_user_mm.h),
 * so that copies from and to userspace, and bad pointers, are the real thing.
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include "pv_cmd.c"
#include "../../../mm/kunit_user_mm.h"

/* The handle the fake Ultravisor gives a configuration. */
#define FAKE_HANDLE	0x1234abcd0000ULL
/* What rc/rrc hold before a command, so that an untouched pair shows. */
#define RC_UNTOUCHED	0x5555
#define RRC_UNTOUCHED	0x6666

struct fake_uv {
	struct kvmf_s390_pv pv;
	/* Answers: errno of each kind of call, and the rc/rrc of every call. */
	int sync_ret, unmerge_ret, create_ret, destroy_ret, sec_parms_ret, call_ret;
	u16 rc, rrc;
	/* UNPACK: busy (-EAGAIN) @unpack_busy times at @busy_offset ... */
	unsigned int unpack_busy;
	u64 busy_offset;
	/* ... and failing with @unpack_fail_ret at @fail_offset (U64_MAX: never). */
	u64 fail_offset;
	int unpack_fail_ret;
	/* Calls seen. */
	unsigned int nr_sync, nr_unmerge, nr_create, nr_destroy, nr_sec_parms;
	unsigned int nr_unpack, nr_call;
	enum kvmf_pv_uvc last_uvc;
	u64 hdr_len;
	bool hdr_pattern_ok;
	u64 unpack_gaddr[8], unpack_offset[8], unpack_tweak;
};

static struct fake_uv *to_fake(struct kvmf_s390_pv *pv)
{
	return container_of(pv, struct fake_uv, pv);
}

static void fake_answer(struct fake_uv *uv, u16 *rc, u16 *rrc)
{
	*rc = uv->rc;
	*rrc = uv->rrc;
}

static int fake_sync_memory(struct kvmf_s390_pv *pv)
{
	to_fake(pv)->nr_sync++;
	return to_fake(pv)->sync_ret;
}

static int fake_ksm_unmerge(struct kvmf_s390_pv *pv)
{
	to_fake(pv)->nr_unmerge++;
	return to_fake(pv)->unmerge_ret;
}

static int fake_create_conf(struct kvmf_s390_pv *pv, u64 *handle, u16 *rc, u16 *rrc)
{
	struct fake_uv *uv = to_fake(pv);

	uv->nr_create++;
	fake_answer(uv, rc, rrc);
	if (!uv->create_ret)
		*handle = FAKE_HANDLE;
	return uv->create_ret;
}

static int fake_destroy_conf(struct kvmf_s390_pv *pv, u16 *rc, u16 *rrc)
{
	struct fake_uv *uv = to_fake(pv);

	uv->nr_destroy++;
	fake_answer(uv, rc, rrc);
	return uv->destroy_ret;
}

/* The bytes of the test's SE headers. */
static u8 hdr_byte(u64 i)
{
	return (i * 7 + 3) & 0xff;
}

static int fake_set_sec_parms(struct kvmf_s390_pv *pv, const void *hdr, u64 len,
			      u16 *rc, u16 *rrc)
{
	struct fake_uv *uv = to_fake(pv);
	const u8 *p = hdr;
	u64 i;

	uv->nr_sec_parms++;
	uv->hdr_len = len;
	uv->hdr_pattern_ok = true;
	for (i = 0; i < len; i++)
		if (p[i] != hdr_byte(i))
			uv->hdr_pattern_ok = false;
	fake_answer(uv, rc, rrc);
	return uv->sec_parms_ret;
}

static int fake_unpack(struct kvmf_s390_pv *pv, u64 gaddr, u64 tweak, u64 offset,
		       u16 *rc, u16 *rrc)
{
	struct fake_uv *uv = to_fake(pv);
	unsigned int n = uv->nr_unpack++;

	if (n < ARRAY_SIZE(uv->unpack_gaddr)) {
		uv->unpack_gaddr[n] = gaddr;
		uv->unpack_offset[n] = offset;
	}
	uv->unpack_tweak = tweak;
	fake_answer(uv, rc, rrc);
	if (offset == uv->busy_offset && uv->unpack_busy) {
		uv->unpack_busy--;
		return -EAGAIN;
	}
	if (offset == uv->fail_offset)
		return uv->unpack_fail_ret;
	return 0;
}

static int fake_call(struct kvmf_s390_pv *pv, enum kvmf_pv_uvc uvc, u16 *rc, u16 *rrc)
{
	struct fake_uv *uv = to_fake(pv);

	uv->nr_call++;
	uv->last_uvc = uvc;
	fake_answer(uv, rc, rrc);
	return uv->call_ret;
}

static void fake_info_vm(struct kvm_s390_pv_info_vm *vm)
{
	vm->inst_calls_list[0] = 0x1111;
	vm->max_cpus = 248;
	vm->max_guests = 0x2222;
	vm->max_guest_addr = 0x3333;
	vm->feature_indication = 0x4444;
}

static void fake_info_dump(struct kvm_s390_pv_info_dump *dump)
{
	dump->dump_cpu_buffer_len = 0x5000;
	dump->dump_config_mem_buffer_per_1m = 0x6000;
	dump->dump_config_finalize_len = 0x7000;
}

static const struct kvmf_s390_uv_ops fake_uv_ops = {
	.sync_memory	= fake_sync_memory,
	.ksm_unmerge	= fake_ksm_unmerge,
	.create_conf	= fake_create_conf,
	.destroy_conf	= fake_destroy_conf,
	.set_sec_parms	= fake_set_sec_parms,
	.unpack		= fake_unpack,
	.call		= fake_call,
	.info_vm	= fake_info_vm,
	.info_dump	= fake_info_dump,
};

static struct fake_uv *fake_uv_new(struct kunit *test, bool protected)
{
	struct fake_uv *uv = kunit_kzalloc(test, sizeof(*uv), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, uv);
	uv->pv.ops = &fake_uv_ops;
	uv->fail_offset = U64_MAX;
	uv->busy_offset = U64_MAX;
	if (protected)
		uv->pv.handle = FAKE_HANDLE;
	return uv;
}

/* Total Ultravisor-side calls, sync and unmerge included. */
static unsigned int fake_calls(const struct fake_uv *uv)
{
	return uv->nr_sync + uv->nr_unmerge + uv->nr_create + uv->nr_destroy +
	       uv->nr_sec_parms + uv->nr_unpack + uv->nr_call;
}

/*
 * Writes a struct kvm_pv_cmd to user memory at @ucmd, runs it, and reads it
 * back into *@out (rc/rrc start as RC_UNTOUCHED/RRC_UNTOUCHED).
 */
static long run_cmd(struct kunit *test, struct fake_uv *uv, unsigned long ucmd,
		    u32 cmd, u64 data, u32 flags, struct kvm_pv_cmd *out)
{
	struct kvm_pv_cmd c = {
		.cmd = cmd, .data = data, .flags = flags,
		.rc = RC_UNTOUCHED, .rrc = RRC_UNTOUCHED,
	};
	long r;

	if (copy_to_user((void __user *)ucmd, &c, sizeof(c))) {
		KUNIT_FAIL(test, "cannot write the command to user memory");
		return -ENOSPC;
	}
	r = kvmf_s390_pv_command(&uv->pv, (struct kvm_pv_cmd __user *)ucmd);
	if (out && copy_from_user(out, (void __user *)ucmd, sizeof(*out)))
		KUNIT_FAIL(test, "cannot read the command back");
	return r;
}

static void expect_untouched(struct kunit *test, const struct kvm_pv_cmd *c)
{
	KUNIT_EXPECT_EQ(test, c->rc, RC_UNTOUCHED);
	KUNIT_EXPECT_EQ(test, c->rrc, RRC_UNTOUCHED);
}

/* flags != 0: -EINVAL before anything else, and the command is not written back. */
static void pv_cmd_flags_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (mem) {
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_VERIFY, 0, 1, &c), -EINVAL);
		expect_untouched(test, &c);
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_INFO, 0, 0x80000000, &c),
				-EINVAL);
		expect_untouched(test, &c);
		KUNIT_EXPECT_EQ(test, fake_calls(uv), 0U);
	}
	kvmf_test_mm_leave();
}

/* The command itself cannot be read or written back: -EFAULT. */
static void pv_cmd_bad_pointer_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, false);
	unsigned long hole, ro;

	kvmf_test_mm_enter(test);
	hole = kvmf_test_unmapped_addr();
	KUNIT_EXPECT_EQ(test, kvmf_s390_pv_command(&uv->pv, (void __user *)hole), -EFAULT);
	KUNIT_EXPECT_EQ(test, kvmf_s390_pv_command(&uv->pv, (void __user *)TASK_SIZE), -EFAULT);
	KUNIT_EXPECT_EQ(test, fake_calls(uv), 0U);

	/*
	 * A read-only command: it runs (as in KVM, the VM is protected
	 * afterwards) but rc/rrc cannot go back, and userspace hears so.  A
	 * fresh read-only page reads as zeros: command 0 is ENABLE.
	 */
	ro = kvmf_test_mmap(PAGE_SIZE, PROT_READ);
	KUNIT_EXPECT_NE(test, ro, 0UL);
	if (ro) {
		KUNIT_EXPECT_EQ(test, kvmf_s390_pv_command(&uv->pv, (void __user *)ro), -EFAULT);
		KUNIT_EXPECT_EQ(test, uv->nr_create, 1U);
		KUNIT_EXPECT_TRUE(test, kvmf_s390_pv_is_protected(&uv->pv));
	}
	kvmf_test_munmap(ro, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* Commands that need a protected VM: -EINVAL, no Ultravisor call. */
static void pv_cmd_not_protected_test(struct kunit *test)
{
	static const u32 cmds[] = {
		KVM_PV_DISABLE, KVM_PV_SET_SEC_PARMS, KVM_PV_UNPACK, KVM_PV_VERIFY,
		KVM_PV_PREP_RESET, KVM_PV_UNSHARE_ALL,
	};
	struct fake_uv *uv = fake_uv_new(test, false);
	struct kvm_pv_cmd c;
	unsigned long mem;
	unsigned int i;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	for (i = 0; mem && i < ARRAY_SIZE(cmds); i++) {
		/* data points at zeroed, readable memory: only protection matters. */
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, cmds[i], mem + 512, 0, &c), -EINVAL);
		expect_untouched(test, &c);
	}
	KUNIT_EXPECT_EQ(test, fake_calls(uv), 0U);
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

static void pv_cmd_enable_disable_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, false);
	struct kvm_pv_cmd c;
	unsigned long mem;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (!mem)
		goto out;

	/* The Ultravisor refuses: its rc/rrc reach userspace, nothing changes. */
	uv->create_ret = -EIO;
	uv->rc = 0x8101;
	uv->rrc = 0x22;
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_ENABLE, 0, 0, &c), -EIO);
	KUNIT_EXPECT_EQ(test, c.rc, 0x8101);
	KUNIT_EXPECT_EQ(test, c.rrc, 0x22);
	KUNIT_EXPECT_FALSE(test, kvmf_s390_pv_is_protected(&uv->pv));

	uv->create_ret = 0;
	uv->rc = 1;
	uv->rrc = 0;
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_ENABLE, 0, 0, &c), 0);
	KUNIT_EXPECT_EQ(test, c.rc, 1);
	KUNIT_EXPECT_EQ(test, uv->pv.handle, FAKE_HANDLE);
	/* Memory taken out of KSM and synced before each ENABLE. */
	KUNIT_EXPECT_EQ(test, uv->nr_unmerge, 2U);
	KUNIT_EXPECT_EQ(test, uv->nr_sync, 2U);

	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_ENABLE, 0, 0, &c), -EINVAL);
	expect_untouched(test, &c);
	KUNIT_EXPECT_EQ(test, uv->nr_create, 2U);

	/* A destroy the Ultravisor refuses leaves the VM protected. */
	uv->destroy_ret = -EIO;
	uv->rc = 0x0108;
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_DISABLE, 0, 0, &c), -EIO);
	KUNIT_EXPECT_EQ(test, c.rc, 0x0108);
	KUNIT_EXPECT_TRUE(test, kvmf_s390_pv_is_protected(&uv->pv));

	uv->destroy_ret = 0;
	uv->rc = 1;
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_DISABLE, 0, 0, &c), 0);
	KUNIT_EXPECT_FALSE(test, kvmf_s390_pv_is_protected(&uv->pv));
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_DISABLE, 0, 0, &c), -EINVAL);
	KUNIT_EXPECT_EQ(test, uv->nr_destroy, 2U);
out:
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* A fatal signal while unmerging: -EINTR, no configuration. */
static void pv_cmd_enable_killed_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, false);
	struct kvm_pv_cmd c;
	unsigned long mem;

	uv->unmerge_ret = -EINTR;
	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (mem) {
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_ENABLE, 0, 0, &c), -EINTR);
		expect_untouched(test, &c);
		KUNIT_EXPECT_EQ(test, uv->nr_create, 0U);
		KUNIT_EXPECT_FALSE(test, kvmf_s390_pv_is_protected(&uv->pv));
	}
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/*
 * SET_SEC_PARMS with a header of @len bytes, mapped in a buffer of @len
 * (rounded to pages): the command's result.
 */
static long sec_parms(struct kunit *test, struct fake_uv *uv, unsigned long mem, u64 len,
		      struct kvm_pv_cmd *c)
{
	unsigned long map_len = PAGE_ALIGN(max_t(u64, len, 1)), hdr, i;
	struct kvm_s390_pv_sec_parm parm;
	long r = -ENOSPC;
	u8 *chunk;

	hdr = kvmf_test_mmap(map_len, PROT_READ | PROT_WRITE);
	chunk = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!hdr || !chunk) {
		KUNIT_FAIL(test, "no memory for a %llu-byte header", len);
		goto out;
	}
	for (i = 0; i < map_len; i += PAGE_SIZE) {
		unsigned long j;

		for (j = 0; j < PAGE_SIZE; j++)
			chunk[j] = hdr_byte(i + j);
		if (copy_to_user((void __user *)(hdr + i), chunk, PAGE_SIZE))
			goto out;
	}
	parm.origin = hdr;
	parm.length = len;
	if (copy_to_user((void __user *)(mem + 512), &parm, sizeof(parm)))
		goto out;
	r = run_cmd(test, uv, mem, KVM_PV_SET_SEC_PARMS, mem + 512, 0, c);
out:
	kfree(chunk);
	kvmf_test_munmap(hdr, map_len);
	return r;
}

/* The header length boundaries: 0 and anything above 1 MiB are refused. */
static void pv_cmd_sec_parms_length_test(struct kunit *test)
{
	static const struct {
		u64 len;
		long ret;
	} cases[] = {
		{ 0, -EINVAL },
		{ 1, 0 },
		{ SZ_8K, 0 },
		{ SZ_8K + 1, 0 },	/* refused by KVM's first 8 KiB limit */
		{ SZ_1M, 0 },
		{ SZ_1M + 1, -EINVAL },
	};
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;
	unsigned int i, calls;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	for (i = 0; mem && i < ARRAY_SIZE(cases); i++) {
		calls = uv->nr_sec_parms;
		uv->hdr_len = 0;
		uv->hdr_pattern_ok = false;
		KUNIT_EXPECT_EQ_MSG(test, sec_parms(test, uv, mem, cases[i].len, &c),
				    cases[i].ret, "header of %llu bytes", cases[i].len);
		if (cases[i].ret) {
			KUNIT_EXPECT_EQ(test, uv->nr_sec_parms, calls);
			expect_untouched(test, &c);
			continue;
		}
		/* The Ultravisor got exactly the user's bytes. */
		KUNIT_EXPECT_EQ(test, uv->nr_sec_parms, calls + 1);
		KUNIT_EXPECT_EQ(test, uv->hdr_len, cases[i].len);
		KUNIT_EXPECT_TRUE_MSG(test, uv->hdr_pattern_ok, "header of %llu bytes",
				      cases[i].len);
	}
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* Bad parameter and header pointers: -EFAULT, and the Ultravisor is not called. */
static void pv_cmd_sec_parms_fault_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_s390_pv_sec_parm parm;
	unsigned long mem, hole;
	struct kvm_pv_cmd c;

	kvmf_test_mm_enter(test);
	/* Two pages, and a third unmapped again so that nothing follows them. */
	mem = kvmf_test_mmap(3 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (!mem)
		goto out;
	vm_munmap(mem + 2 * PAGE_SIZE, PAGE_SIZE);
	hole = kvmf_test_unmapped_addr();

	/* The parameters themselves. */
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_SET_SEC_PARMS, hole, 0, &c), -EFAULT);
	expect_untouched(test, &c);

	/* A header nowhere. */
	parm.origin = hole;
	parm.length = 64;
	KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)(mem + 512), &parm, sizeof(parm)), 0UL);
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_SET_SEC_PARMS, mem + 512, 0, &c),
			-EFAULT);

	/* A header that runs off the end of its mapping. */
	parm.origin = mem + 2 * PAGE_SIZE - 100;
	parm.length = 200;
	KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)(mem + 512), &parm, sizeof(parm)), 0UL);
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_SET_SEC_PARMS, mem + 512, 0, &c),
			-EFAULT);

	/* A kernel address. */
	parm.origin = TASK_SIZE;
	parm.length = 16;
	KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)(mem + 512), &parm, sizeof(parm)), 0UL);
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_SET_SEC_PARMS, mem + 512, 0, &c),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, uv->nr_sec_parms, 0U);

	/* The same header, readable, goes through: the faults were the cause. */
	parm.origin = mem + 2 * PAGE_SIZE - 300;
	parm.length = 200;
	KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)(mem + 512), &parm, sizeof(parm)), 0UL);
	KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_SET_SEC_PARMS, mem + 512, 0, &c), 0);
	KUNIT_EXPECT_EQ(test, uv->nr_sec_parms, 1U);
	KUNIT_EXPECT_EQ(test, uv->hdr_len, 200ULL);
out:
	kvmf_test_munmap(mem, 2 * PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* The Ultravisor rejects the header: -EINVAL, with its rc/rrc for userspace. */
static void pv_cmd_sec_parms_refused_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;

	uv->sec_parms_ret = -EINVAL;
	uv->rc = 0x0106;
	uv->rrc = 0x0007;
	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (mem) {
		KUNIT_EXPECT_EQ(test, sec_parms(test, uv, mem, 4000, &c), -EINVAL);
		KUNIT_EXPECT_EQ(test, c.rc, 0x0106);
		KUNIT_EXPECT_EQ(test, c.rrc, 0x0007);
		KUNIT_EXPECT_EQ(test, uv->nr_sec_parms, 1U);
	}
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

static long unpack(struct kunit *test, struct fake_uv *uv, unsigned long mem,
		   u64 addr, u64 size, u64 tweak, struct kvm_pv_cmd *c)
{
	struct kvm_s390_pv_unp unp = { .addr = addr, .size = size, .tweak = tweak };

	if (copy_to_user((void __user *)(mem + 512), &unp, sizeof(unp)))
		return -ENOSPC;
	return run_cmd(test, uv, mem, KVM_PV_UNPACK, mem + 512, 0, c);
}

static void pv_cmd_unpack_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;
	unsigned int i;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (!mem)
		goto out;

	/* Alignment, emptiness, wrap-around: -EINVAL before any call. */
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, 0x10800, 0x1000, 0, &c), -EINVAL);
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, 0x10000, 0x1800, 0, &c), -EINVAL);
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, 0x10000, 0, 0, &c), -EINVAL);
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, U64_MAX - 0xfff, 0x2000, 0, &c), -EINVAL);
	KUNIT_EXPECT_EQ(test, uv->nr_unpack, 0U);
	/* The last page of the address space is not a wrap. */
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, U64_MAX - 0xfff, 0x1000, 0, &c), 0);
	KUNIT_EXPECT_EQ(test, uv->nr_unpack, 1U);

	/* Three pages, the second busy twice: every page once, in order. */
	uv->nr_unpack = 0;
	uv->busy_offset = 0x1000;
	uv->unpack_busy = 2;
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, 0x10000, 0x3000, 0xabc, &c), 0);
	KUNIT_EXPECT_EQ(test, uv->nr_unpack, 5U);
	KUNIT_EXPECT_EQ(test, uv->unpack_tweak, 0xabcULL);
	for (i = 0; i < 5; i++) {
		static const u64 offs[] = { 0, 0x1000, 0x1000, 0x1000, 0x2000 };

		KUNIT_EXPECT_EQ(test, uv->unpack_offset[i], offs[i]);
		KUNIT_EXPECT_EQ(test, uv->unpack_gaddr[i], 0x10000 + offs[i]);
	}

	/* A failing page ends the command with its error and rc/rrc. */
	uv->nr_unpack = 0;
	uv->fail_offset = 0x2000;
	uv->unpack_fail_ret = -EFAULT;
	uv->rc = 0x010a;
	KUNIT_EXPECT_EQ(test, unpack(test, uv, mem, 0x10000, 0x4000, 0, &c), -EFAULT);
	KUNIT_EXPECT_EQ(test, uv->nr_unpack, 3U);
	KUNIT_EXPECT_EQ(test, c.rc, 0x010a);
out:
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* An Ultravisor busy for ever does not keep a dying VMM in the kernel. */
static void pv_cmd_unpack_killed_test(struct kunit *test)
{
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;

	uv->busy_offset = 0;
	uv->unpack_busy = UINT_MAX;
	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	/* The command's page is touched before the signal: no fault with it pending. */
	if (mem && !clear_user((void __user *)mem, PAGE_SIZE)) {
		struct kvm_s390_pv_unp unp = { .addr = 0, .size = 0x1000 };

		KUNIT_EXPECT_EQ(test, copy_to_user((void __user *)(mem + 512), &unp,
						   sizeof(unp)), 0UL);
		kvmf_test_fatal_signal(true);
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_UNPACK, mem + 512, 0, &c),
				-EINTR);
		kvmf_test_fatal_signal(false);
		KUNIT_EXPECT_EQ(test, uv->nr_unpack, 1U);
	} else {
		KUNIT_FAIL(test, "no user memory");
	}
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* VERIFY, PREP_RESET, UNSHARE_ALL reach their own Ultravisor call. */
static void pv_cmd_nodata_test(struct kunit *test)
{
	static const struct {
		u32 cmd;
		enum kvmf_pv_uvc uvc;
	} cases[] = {
		{ KVM_PV_VERIFY, KVMF_PV_UVC_VERIFY },
		{ KVM_PV_PREP_RESET, KVMF_PV_UVC_PREP_RESET },
		{ KVM_PV_UNSHARE_ALL, KVMF_PV_UVC_UNSHARE_ALL },
	};
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;
	unsigned int i;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	for (i = 0; mem && i < ARRAY_SIZE(cases); i++) {
		/* The last one refused by the Ultravisor. */
		long want = i == 2 ? -EINVAL : 0;

		uv->rc = 0x100 + i;
		uv->call_ret = want;
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, cases[i].cmd, 0, 0, &c), want);
		KUNIT_EXPECT_EQ(test, uv->last_uvc, cases[i].uvc);
		KUNIT_EXPECT_EQ(test, c.rc, 0x100 + i);
	}
	KUNIT_EXPECT_EQ(test, uv->nr_call, 3U);
	KUNIT_EXPECT_EQ(test, uv->nr_sync, 3U);

	/* Memslots the Ultravisor cannot be given: the call is not made. */
	uv->sync_ret = -EINVAL;
	if (mem)
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, KVM_PV_VERIFY, 0, 0, &c), -EINVAL);
	KUNIT_EXPECT_EQ(test, uv->nr_call, 3U);
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

static long info(struct kunit *test, struct fake_uv *uv, unsigned long mem, u32 id,
		 u32 len_max, struct kvm_s390_pv_info *out)
{
	struct kvm_s390_pv_info in;
	long r;

	/* Past the header: a marker that must survive where nothing is written. */
	memset(&in, 0xa5, sizeof(in));
	in.header.id = id;
	in.header.len_max = len_max;
	in.header.len_written = 0;
	if (copy_to_user((void __user *)(mem + 512), &in, sizeof(in)))
		return -ENOSPC;
	r = run_cmd(test, uv, mem, KVM_PV_INFO, mem + 512, 0, NULL);
	if (copy_from_user(out, (void __user *)(mem + 512), sizeof(*out)))
		return -ENOSPC;
	return r;
}

static void pv_cmd_info_test(struct kunit *test)
{
	const u32 hdr = sizeof(struct kvm_s390_pv_info_header);
	const u32 vm_len = hdr + sizeof(struct kvm_s390_pv_info_vm);
	const u32 dump_len = hdr + sizeof(struct kvm_s390_pv_info_dump);
	struct fake_uv *uv = fake_uv_new(test, false);
	struct kvm_s390_pv_info out;
	unsigned long mem;
	const u8 *tail;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	if (!mem)
		goto out;

	KUNIT_EXPECT_EQ(test, info(test, uv, mem, KVM_PV_INFO_VM, hdr - 1, &out), -EINVAL);
	KUNIT_EXPECT_EQ(test, info(test, uv, mem, KVM_PV_INFO_VM, vm_len - 1, &out), -EINVAL);
	KUNIT_EXPECT_EQ(test, info(test, uv, mem, 7, 4096, &out), -EINVAL);
	KUNIT_EXPECT_EQ(test, out.header.len_written, 0U);

	/* Not protected, and no memory sync needed: INFO answers anyway. */
	KUNIT_EXPECT_EQ(test, info(test, uv, mem, KVM_PV_INFO_VM, vm_len, &out), 0);
	KUNIT_EXPECT_EQ(test, out.header.len_written, vm_len);
	KUNIT_EXPECT_EQ(test, out.vm.inst_calls_list[0], 0x1111ULL);
	KUNIT_EXPECT_EQ(test, out.vm.max_cpus, 248ULL);
	KUNIT_EXPECT_EQ(test, out.vm.feature_indication, 0x4444ULL);

	KUNIT_EXPECT_EQ(test, info(test, uv, mem, KVM_PV_INFO_DUMP, 4096, &out), 0);
	KUNIT_EXPECT_EQ(test, out.header.len_written, dump_len);
	KUNIT_EXPECT_EQ(test, out.dump.dump_config_finalize_len, 0x7000ULL);
	/* Nothing written past the dump data. */
	tail = (const u8 *)&out + dump_len;
	KUNIT_EXPECT_EQ(test, tail[0], 0xa5);
	KUNIT_EXPECT_EQ(test, fake_calls(uv), 0U);
out:
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

/* KVM_PV_DUMP (not implemented) and unknown commands: -ENOTTY. */
static void pv_cmd_unknown_test(struct kunit *test)
{
	static const u32 cmds[] = { KVM_PV_DUMP, KVM_PV_DUMP + 1, 100, U32_MAX };
	struct fake_uv *uv = fake_uv_new(test, true);
	struct kvm_pv_cmd c;
	unsigned long mem;
	unsigned int i;

	kvmf_test_mm_enter(test);
	mem = kvmf_test_mmap(PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_NE(test, mem, 0UL);
	for (i = 0; mem && i < ARRAY_SIZE(cmds); i++) {
		KUNIT_EXPECT_EQ(test, run_cmd(test, uv, mem, cmds[i], 0, 0, &c), -ENOTTY);
		expect_untouched(test, &c);
	}
	KUNIT_EXPECT_EQ(test, fake_calls(uv), 0U);
	kvmf_test_munmap(mem, PAGE_SIZE);
	kvmf_test_mm_leave();
}

static struct kunit_case pv_cmd_cases[] = {
	KUNIT_CASE(pv_cmd_flags_test),
	KUNIT_CASE(pv_cmd_bad_pointer_test),
	KUNIT_CASE(pv_cmd_not_protected_test),
	KUNIT_CASE(pv_cmd_enable_disable_test),
	KUNIT_CASE(pv_cmd_enable_killed_test),
	KUNIT_CASE(pv_cmd_sec_parms_length_test),
	KUNIT_CASE(pv_cmd_sec_parms_fault_test),
	KUNIT_CASE(pv_cmd_sec_parms_refused_test),
	KUNIT_CASE(pv_cmd_unpack_test),
	KUNIT_CASE(pv_cmd_unpack_killed_test),
	KUNIT_CASE(pv_cmd_nodata_test),
	KUNIT_CASE(pv_cmd_info_test),
	KUNIT_CASE(pv_cmd_unknown_test),
	{}
};

static struct kunit_suite pv_cmd_suite = {
	.name = "kvmf_s390_pv_cmd",
	.suite_init = kvmf_test_mm_grab,
	.suite_exit = kvmf_test_mm_drop,
	.test_cases = pv_cmd_cases,
};

kunit_test_suite(pv_cmd_suite);
