// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the secure-memory state machine of Ultravisor-enabled
 * POWER (uvmem.c), part of kvmfork-test.ko on any architecture, never of
 * kvmfork.ko.  uvmem.c is compiled into this object by the #include below.
 *
 * Page moves and Ultravisor calls go to a fake that keeps a small table of
 * "device pages", records every call and checks that it is made with the
 * locks uvmem.h promises.  The KSM unmerge's own fatal-signal behaviour is
 * tested on real VMAs in mm/ksm_unmerge_test.c; here, what a failed unmerge
 * does to the hypercall.
 */
#include <kunit/test.h>

#include "uvmem.c"

#define PG		KVMF_UVMEM_PAGE_SIZE
#define ORDER		KVMF_UVMEM_PAGE_SHIFT
#define SECURE_DEV	(KVMF_UVMEM_SECURE | KVMF_UVMEM_DEV)

/* Two memslots: A, 4 pages at 0; B, 2 pages at 1 GiB. */
#define A_GPA		0ULL
#define B_GPA		(1ULL << 30)
static const struct kvmf_uvmem_slot_desc test_slots[] = {
	{ .id = 1, .gpa = A_GPA, .size = 4 * PG, .hva = 0x7f0000000000UL },
	{ .id = 2, .gpa = B_GPA, .size = 2 * PG, .hva = 0x7f1000000000UL },
};

#define MAX_DEV		16
#define MAX_LOG		16

struct fake_page_op {
	u64 gpa;
	unsigned long hva;
	bool copy;
	void *fault;
};

struct fake {
	struct kunit *test;
	struct kvmf_uvmem *u;
	/* Answers. */
	int mm_lock_ret, unmerge_ret, page_out_ret, share_ret;
	u32 fail_register_id;
	u64 fail_page_in_gpa;
	/* Whether the slots' memory is in KSM, as the VMM left it. */
	bool ksm_mergeable;
	bool mm_locked;
	/* Device pages standing for secure pages. */
	struct {
		bool present;
		u64 gpa, token;
	} dev[MAX_DEV];
	u64 next_token;
	/* Calls seen. */
	unsigned int nr_unmerge, nr_remerge, nr_register, nr_unregister, nr_terminate;
	unsigned int nr_page_in, nr_page_out, nr_share;
	u32 registered[MAX_LOG], unregistered[MAX_LOG];
	struct fake_page_op page_in[MAX_LOG], page_out[MAX_LOG];
};

static struct fake *to_fake(struct kvmf_uvmem *u)
{
	return u->priv;
}

/* Page moves happen with the VMM's mmap lock and uvmem->lock held. */
static void fake_expect_pages_locked(struct fake *f)
{
	KUNIT_EXPECT_TRUE(f->test, f->mm_locked);
	KUNIT_EXPECT_TRUE(f->test, mutex_is_locked(&f->u->lock));
}

static int fake_mm_lock(struct kvmf_uvmem *u)
{
	struct fake *f = to_fake(u);

	if (f->mm_lock_ret)
		return f->mm_lock_ret;
	KUNIT_EXPECT_FALSE(f->test, f->mm_locked);
	f->mm_locked = true;
	return 0;
}

static void fake_mm_unlock(struct kvmf_uvmem *u)
{
	to_fake(u)->mm_locked = false;
}

static int fake_ksm_unmerge(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d,
			    unsigned int nr, unsigned int *mergeable)
{
	struct fake *f = to_fake(u);
	unsigned int i;

	/* The mmap lock is taken for writing inside: neither lock may be held. */
	KUNIT_EXPECT_FALSE(f->test, f->mm_locked);
	KUNIT_EXPECT_FALSE(f->test, mutex_is_locked(&u->lock));
	f->nr_unmerge++;
	if (f->unmerge_ret)
		return f->unmerge_ret;
	for (i = 0; i < nr; i++)
		mergeable[i] = f->ksm_mergeable;
	f->ksm_mergeable = false;
	return 0;
}

static void fake_ksm_remerge(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	struct fake *f = to_fake(u);

	KUNIT_EXPECT_FALSE(f->test, f->mm_locked);
	f->nr_remerge++;
	f->ksm_mergeable = true;
}

static int fake_register_slot(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	struct fake *f = to_fake(u);

	if (f->fail_register_id == d->id)
		return -EINVAL;
	if (f->nr_register < MAX_LOG)
		f->registered[f->nr_register] = d->id;
	f->nr_register++;
	return 0;
}

static void fake_unregister_slot(struct kvmf_uvmem *u, const struct kvmf_uvmem_slot_desc *d)
{
	struct fake *f = to_fake(u);

	if (f->nr_unregister < MAX_LOG)
		f->unregistered[f->nr_unregister] = d->id;
	f->nr_unregister++;
}

static int fake_dev_find(struct fake *f, u64 gpa)
{
	int i;

	for (i = 0; i < MAX_DEV; i++)
		if (f->dev[i].present && f->dev[i].gpa == gpa)
			return i;
	return -1;
}

static long fake_page_in(struct kvmf_uvmem *u, unsigned long hva, u64 gpa, bool copy)
{
	struct fake *f = to_fake(u);
	int i;

	fake_expect_pages_locked(f);
	if (f->nr_page_in < MAX_LOG)
		f->page_in[f->nr_page_in] = (struct fake_page_op){ gpa, hva, copy, NULL };
	f->nr_page_in++;
	if (gpa == f->fail_page_in_gpa)
		return -ENOMEM;
	/* The VMM's page table can only hold one device page per address. */
	KUNIT_EXPECT_LT(f->test, fake_dev_find(f, gpa), 0);
	for (i = 0; i < MAX_DEV; i++) {
		if (!f->dev[i].present) {
			f->dev[i].present = true;
			f->dev[i].gpa = gpa;
			f->dev[i].token = f->next_token++;
			kvmf_uvmem_get(u);
			return f->dev[i].token;
		}
	}
	return -ENOMEM;
}

/* A device page goes, as the real one does on migration or unmap. */
static void fake_dev_free(struct fake *f, int i)
{
	f->dev[i].present = false;
	kvmf_uvmem_dev_page_freed(f->u, f->dev[i].gpa, f->dev[i].token);
	kvmf_uvmem_put(f->u);
}

static int fake_page_out(struct kvmf_uvmem *u, unsigned long hva, u64 gpa, bool copy,
			 void *fault)
{
	struct fake *f = to_fake(u);
	int i;

	fake_expect_pages_locked(f);
	if (f->nr_page_out < MAX_LOG)
		f->page_out[f->nr_page_out] = (struct fake_page_op){ gpa, hva, copy, fault };
	f->nr_page_out++;
	if (f->page_out_ret)
		return f->page_out_ret;
	i = fake_dev_find(f, gpa);
	if (i < 0)
		return -ENOENT;
	fake_dev_free(f, i);
	return 0;
}

static int fake_share(struct kvmf_uvmem *u, unsigned long hva, u64 gpa)
{
	struct fake *f = to_fake(u);

	fake_expect_pages_locked(f);
	/* Shared pages are normal memory: no device page may stand in. */
	KUNIT_EXPECT_LT(f->test, fake_dev_find(f, gpa), 0);
	f->nr_share++;
	return f->share_ret;
}

static void fake_terminate(struct kvmf_uvmem *u)
{
	to_fake(u)->nr_terminate++;
}

static const struct kvmf_uvmem_ops fake_ops = {
	.mm_lock	= fake_mm_lock,
	.mm_unlock	= fake_mm_unlock,
	.ksm_unmerge	= fake_ksm_unmerge,
	.ksm_remerge	= fake_ksm_remerge,
	.register_slot	= fake_register_slot,
	.unregister_slot = fake_unregister_slot,
	.page_in	= fake_page_in,
	.page_out	= fake_page_out,
	.share		= fake_share,
	.terminate	= fake_terminate,
};

static void fake_free_dev_pages(struct fake *f)
{
	int i;

	for (i = 0; i < MAX_DEV; i++)
		if (f->dev[i].present)
			fake_dev_free(f, i);
}

/* Case exit: the VM is torn down, then the VMM's memory (device pages) goes. */
static void fake_exit(struct kunit *test)
{
	struct fake *f = test->priv;

	if (!f || !f->u)
		return;
	kvmf_uvmem_destroy(f->u);
	fake_free_dev_pages(f);
	f->u = NULL;
}

/* A VM allowed to go secure, torn down when the case ends. */
static struct fake *fake_new(struct kunit *test)
{
	struct fake *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->test = test;
	f->fail_register_id = U32_MAX;
	f->fail_page_in_gpa = U64_MAX;
	f->ksm_mergeable = true;
	f->next_token = 100;
	f->u = kvmf_uvmem_create(&fake_ops, f);
	KUNIT_ASSERT_NOT_NULL(test, f->u);
	f->u->svm_enabled = true;
	test->priv = f;
	return f;
}

static long start(struct fake *f)
{
	return kvmf_uvmem_h_svm_init_start(f->u, test_slots, ARRAY_SIZE(test_slots));
}

/* The state word of @gpa, or U64_MAX when no slot holds it. */
static u64 word(struct fake *f, u64 gpa)
{
	struct kvmf_uvmem_slot *s = uvmem_slot_of(f->u, gpa);

	return s ? uvmem_get(f->u, s, gpa) : U64_MAX;
}

static bool is_secure_dev(struct fake *f, u64 gpa)
{
	return (word(f, gpa) & ~KVMF_UVMEM_TOKEN) == SECURE_DEV;
}

static unsigned int nr_slots(struct fake *f)
{
	struct kvmf_uvmem_slot *s;
	unsigned int n = 0;

	list_for_each_entry(s, &f->u->slots, list)
		n++;
	return n;
}

static void uvmem_init_start_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	/* The VMM did not enable KVM_CAP_PPC_SECURE_GUEST. */
	f->u->svm_enabled = false;
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_AUTHORITY);
	KUNIT_EXPECT_EQ(test, f->nr_unmerge, 0U);
	f->u->svm_enabled = true;

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->u->state, KVMF_SVM_TRANSIENT);
	KUNIT_EXPECT_EQ(test, f->nr_register, 2U);
	KUNIT_EXPECT_EQ(test, f->registered[0], 1U);
	KUNIT_EXPECT_EQ(test, f->registered[1], 2U);
	/* Both slots out of KSM in one go. */
	KUNIT_EXPECT_EQ(test, f->nr_unmerge, 1U);
	KUNIT_EXPECT_FALSE(test, f->ksm_mergeable);
	KUNIT_EXPECT_EQ(test, nr_slots(f), 2U);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA + 3 * PG), 0ULL);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA + 4 * PG), U64_MAX);

	/* Once is enough. */
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, f->nr_register, 2U);
}

/* A slot the Ultravisor cannot take: nothing is left behind. */
static void uvmem_init_start_refused_test(struct kunit *test)
{
	static const struct kvmf_uvmem_slot_desc odd = {
		.id = 3, .gpa = 0x1000, .size = PG, .hva = 0x7f2000000000UL,
	};
	struct fake *f = fake_new(test);

	/* Not made of 64 KiB pages. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_start(f->u, &odd, 1), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, f->nr_unmerge, 0U);

	f->fail_register_id = 2;
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_PARAMETER);
	KUNIT_EXPECT_EQ(test, f->nr_unregister, 1U);
	KUNIT_EXPECT_EQ(test, f->unregistered[0], 1U);
	KUNIT_EXPECT_TRUE(test, f->ksm_mergeable);
	KUNIT_EXPECT_EQ(test, nr_slots(f), 0U);
	KUNIT_EXPECT_EQ(test, f->u->state, KVMF_SVM_NORMAL);
}

/*
 * The VMM is killed while its memory is taken out of KSM: H_STATE, no slot
 * registered or tracked, KSM as it was, and the VM still normal, so that
 * nothing else of the transition happens.
 */
static void uvmem_init_start_killed_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	f->unmerge_ret = -EINTR;
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, f->nr_register, 0U);
	KUNIT_EXPECT_EQ(test, f->nr_remerge, 0U);
	KUNIT_EXPECT_TRUE(test, f->ksm_mergeable);
	KUNIT_EXPECT_EQ(test, nr_slots(f), 0U);
	KUNIT_EXPECT_EQ(test, f->u->state, KVMF_SVM_NORMAL);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER),
			KVMF_H_UNSUPPORTED);

	/* Memory that is not mapped fails the same way. */
	f->unmerge_ret = -EFAULT;
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, f->nr_register, 0U);

	/* And the Ultravisor can try again. */
	f->unmerge_ret = 0;
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
}

/* The checks of H_SVM_PAGE_IN, in the order of their codes. */
static void uvmem_page_in_checks_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER),
			KVMF_H_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);

	/* 64 KiB pages only: not 4 KiB, not 2 MiB. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, 12), KVMF_H_P3);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, 21), KVMF_H_P3);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0x2, 12), KVMF_H_P3);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0x2, ORDER), KVMF_H_P2);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + 0x1000, 0, ORDER),
			KVMF_H_PARAMETER);
	/* No memslot there. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + 4 * PG, 0, ORDER),
			KVMF_H_PARAMETER);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 0U);

	/* The VMM is being killed: its memory cannot be locked. */
	f->mm_lock_ret = -EINTR;
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 0U);
}

static void uvmem_page_in_twice_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, B_GPA + PG, 0, ORDER),
			KVMF_H_SUCCESS);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, B_GPA + PG));
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 1U);
	/* The content went to the Ultravisor, from the slot's host address. */
	KUNIT_EXPECT_TRUE(test, f->page_in[0].copy);
	KUNIT_EXPECT_EQ(test, f->page_in[0].hva, test_slots[1].hva + PG);

	/* The same page again: refused, nothing moves. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, B_GPA + PG, 0, ORDER),
			KVMF_H_PARAMETER);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 1U);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, B_GPA + PG));

	/* A page the backend cannot move: refused, state unchanged. */
	f->fail_page_in_gpa = B_GPA;
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, B_GPA, 0, ORDER),
			KVMF_H_PARAMETER);
	KUNIT_EXPECT_EQ(test, word(f, B_GPA), 0ULL);
}

static void uvmem_page_out_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER),
			KVMF_H_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, 12), KVMF_H_P3);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 1, ORDER), KVMF_H_P2);
	/* No flag is valid for PAGE_OUT, H_PAGE_IN_SHARED neither. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, KVMF_H_PAGE_IN_SHARED,
							ORDER), KVMF_H_P2);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, 8 * PG, 0, ORDER),
			KVMF_H_PARAMETER);

	/* A page that is not secure: its content is in normal memory already. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 0U);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA), 0ULL);

	/* A secure page comes back, with its content, and stays secure. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 1U);
	KUNIT_EXPECT_TRUE(test, f->page_out[0].copy);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA), KVMF_UVMEM_SECURE);
	KUNIT_EXPECT_LT(test, fake_dev_find(f, A_GPA), 0);
	/* Paged out twice: nothing to do the second time. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 1U);
	/* And it can come in again. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, A_GPA));

	/* A page-out the backend fails leaves the page secure in secure memory. */
	f->page_out_ret = -ENOMEM;
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER),
			KVMF_H_PARAMETER);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, A_GPA));
}

static void uvmem_share_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);

	/* A normal page is shared where it is. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + PG, KVMF_H_PAGE_IN_SHARED,
						       ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA + PG), KVMF_UVMEM_SHARED);
	KUNIT_EXPECT_EQ(test, f->nr_share, 1U);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 0U);
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 0U);

	/* A secure page leaves secure memory without its content first. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + 2 * PG, 0, ORDER),
			KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + 2 * PG,
						       KVMF_H_PAGE_IN_SHARED, ORDER),
			KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 1U);
	KUNIT_EXPECT_FALSE(test, f->page_out[0].copy);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA + 2 * PG), KVMF_UVMEM_SHARED);
	KUNIT_EXPECT_EQ(test, f->nr_share, 2U);

	/* Unsharing: a shared page paged in becomes secure. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + PG, 0, ORDER),
			KVMF_H_SUCCESS);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, A_GPA + PG));

	/* The Ultravisor refuses the share: H_PARAMETER, the page not shared. */
	f->share_ret = -EINVAL;
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + 3 * PG,
						       KVMF_H_PAGE_IN_SHARED, ORDER),
			KVMF_H_PARAMETER);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA + 3 * PG), 0ULL);
}

static void uvmem_init_done_test(struct kunit *test)
{
	struct fake *f = fake_new(test);
	u64 gpa;

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_done(f->u), KVMF_H_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, B_GPA, KVMF_H_PAGE_IN_SHARED, ORDER),
			KVMF_H_SUCCESS);

	/* A page the backend cannot move: H_STATE, the VM stays transient. */
	f->fail_page_in_gpa = A_GPA + 2 * PG;
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_done(f->u), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, f->u->state, KVMF_SVM_TRANSIENT);
	f->fail_page_in_gpa = U64_MAX;

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_done(f->u), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, f->u->state, KVMF_SVM_SECURE);
	/* Every normal page is secure now; the shared one stays shared. */
	for (gpa = A_GPA; gpa < A_GPA + 4 * PG; gpa += PG)
		KUNIT_EXPECT_TRUE(test, is_secure_dev(f, gpa));
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, B_GPA + PG));
	KUNIT_EXPECT_EQ(test, word(f, B_GPA), KVMF_UVMEM_SHARED);
	/* Without content, and the page paged in before not moved again. */
	KUNIT_EXPECT_FALSE(test, f->page_in[f->nr_page_in - 1].copy);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 1U + 1U + 4U);

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_done(f->u), KVMF_H_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_abort(f->u), KVMF_H_STATE);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_start(f->u, test_slots, 2), KVMF_H_STATE);
	/* A secure VM still pages in and out. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
}

static void uvmem_init_abort_test(struct kunit *test)
{
	struct fake *f = fake_new(test);
	unsigned int i;

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_abort(f->u), KVMF_H_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, B_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + PG, KVMF_H_PAGE_IN_SHARED,
						       ORDER), KVMF_H_SUCCESS);

	/* Success is H_PARAMETER: what the guest must see of its UV_ESM. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_abort(f->u), KVMF_H_PARAMETER);
	KUNIT_EXPECT_EQ(test, f->u->state, KVMF_SVM_NORMAL);
	KUNIT_EXPECT_EQ(test, f->nr_terminate, 1U);
	/* Both secure pages came back with their contents. */
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 2U);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_TRUE(test, f->page_out[i].copy);
	KUNIT_EXPECT_LT(test, fake_dev_find(f, A_GPA), 0);
	KUNIT_EXPECT_LT(test, fake_dev_find(f, B_GPA), 0);
	/* Slots forgotten (the Ultravisor forgot the VM), KSM restored. */
	KUNIT_EXPECT_EQ(test, nr_slots(f), 0U);
	KUNIT_EXPECT_EQ(test, f->nr_unregister, 0U);
	KUNIT_EXPECT_TRUE(test, f->ksm_mergeable);

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER),
			KVMF_H_UNSUPPORTED);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_abort(f->u), KVMF_H_UNSUPPORTED);
	/* A normal VM may try again. */
	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
}

static void uvmem_memslot_delete_test(struct kunit *test)
{
	struct fake *f = fake_new(test);

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + 3 * PG, 0, ORDER),
			KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, B_GPA, 0, ORDER), KVMF_H_SUCCESS);

	/* A slot nobody knows: nothing happens. */
	kvmf_uvmem_memslot_delete(f->u, 77);
	KUNIT_EXPECT_EQ(test, f->nr_unregister, 0U);

	kvmf_uvmem_memslot_delete(f->u, 1);
	/* Its secure pages dropped, not paged out: the memory leaves the guest. */
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 2U);
	KUNIT_EXPECT_FALSE(test, f->page_out[0].copy);
	KUNIT_EXPECT_FALSE(test, f->page_out[1].copy);
	KUNIT_EXPECT_LT(test, fake_dev_find(f, A_GPA), 0);
	KUNIT_EXPECT_LT(test, fake_dev_find(f, A_GPA + 3 * PG), 0);
	KUNIT_EXPECT_EQ(test, f->nr_unregister, 1U);
	KUNIT_EXPECT_EQ(test, f->unregistered[0], 1U);
	KUNIT_EXPECT_EQ(test, f->nr_remerge, 1U);
	KUNIT_EXPECT_EQ(test, nr_slots(f), 1U);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA), U64_MAX);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER),
			KVMF_H_PARAMETER);

	/* The other slot is untouched. */
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, B_GPA));
	KUNIT_EXPECT_GE(test, fake_dev_find(f, B_GPA), 0);
}

static void uvmem_memslot_create_test(struct kunit *test)
{
	static const struct kvmf_uvmem_slot_desc c = {
		.id = 5, .gpa = 2ULL << 30, .size = 2 * PG, .hva = 0x7f3000000000UL,
	};
	static const struct kvmf_uvmem_slot_desc d = {
		.id = 6, .gpa = 3ULL << 30, .size = 3 * PG, .hva = 0x7f4000000000UL,
	};
	struct fake *f = fake_new(test);

	/* A normal VM's slots wait for H_SVM_INIT_START. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_memslot_create(f->u, &c), 0);
	KUNIT_EXPECT_EQ(test, f->nr_register, 0U);

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	/* Transient: registered, pages still normal. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_memslot_create(f->u, &c), 0);
	KUNIT_EXPECT_EQ(test, f->nr_register, 3U);
	KUNIT_EXPECT_EQ(test, word(f, c.gpa + PG), 0ULL);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 0U);

	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_init_done(f->u), KVMF_H_SUCCESS);
	f->nr_page_in = 0;
	/* Secure: registered and secure at once. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_memslot_create(f->u, &d), 0);
	KUNIT_EXPECT_EQ(test, f->nr_register, 4U);
	KUNIT_EXPECT_EQ(test, f->nr_page_in, 3U);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, d.gpa + 2 * PG));
}

/* The host touches a secure page: its content comes back, paged out. */
static void uvmem_host_fault_test(struct kunit *test)
{
	struct fake *f = fake_new(test);
	int fault_token;

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);

	/* The fault path holds the mmap lock itself. */
	f->mm_locked = true;
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_host_fault(f->u, A_GPA, test_slots[0].hva,
						    &fault_token), 0);
	KUNIT_EXPECT_EQ(test, f->nr_page_out, 1U);
	KUNIT_EXPECT_TRUE(test, f->page_out[0].copy);
	KUNIT_EXPECT_PTR_EQ(test, f->page_out[0].fault, (void *)&fault_token);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA), KVMF_UVMEM_SECURE);

	/* A device page the state does not know comes back empty. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_host_fault(f->u, 40 * PG, 0x1000000, &fault_token),
			-ENOENT);
	KUNIT_EXPECT_FALSE(test, f->page_out[1].copy);
	f->mm_locked = false;
}

/*
 * A device page freed behind the state machine's back (the VMM unmapped its
 * memory): the page is paged out; a stale report changes nothing.
 */
static void uvmem_dev_page_freed_test(struct kunit *test)
{
	struct fake *f = fake_new(test);
	int i;

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(f->u, A_GPA + PG, 0, ORDER),
			KVMF_H_SUCCESS);

	kvmf_uvmem_dev_page_freed(f->u, A_GPA, 12345);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, A_GPA));

	i = fake_dev_find(f, A_GPA);
	KUNIT_EXPECT_GE(test, i, 0);
	if (i >= 0)
		fake_dev_free(f, i);
	KUNIT_EXPECT_EQ(test, word(f, A_GPA), KVMF_UVMEM_SECURE);
	KUNIT_EXPECT_TRUE(test, is_secure_dev(f, A_GPA + PG));

	/* The Ultravisor pages it out: nothing left to move, and that is fine. */
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_out(f->u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
}

/*
 * Teardown of a secure VM: pages dropped, the Ultravisor told; device pages
 * left behind keep the state alive until they go (KASAN watches).
 */
static void uvmem_destroy_test(struct kunit *test)
{
	struct fake *f = fake_new(test);
	struct kvmf_uvmem *u = f->u;

	KUNIT_EXPECT_EQ(test, start(f), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(u, A_GPA, 0, ORDER), KVMF_H_SUCCESS);
	KUNIT_EXPECT_EQ(test, kvmf_uvmem_h_svm_page_in(u, B_GPA, 0, ORDER), KVMF_H_SUCCESS);

	/* No device page can be moved (the VMM's memory is gone, say). */
	f->page_out_ret = -EFAULT;
	KUNIT_EXPECT_EQ(test, refcount_read(&u->refs), 3U);
	kvmf_uvmem_destroy(u);
	KUNIT_EXPECT_EQ(test, f->nr_terminate, 1U);
	KUNIT_EXPECT_TRUE(test, list_empty(&u->slots));
	/* The VM's reference is gone; the two device pages hold theirs. */
	KUNIT_EXPECT_EQ(test, refcount_read(&u->refs), 2U);
	/* Their release reports to a state with no slot left; the last frees it. */
	fake_free_dev_pages(f);
	f->u = NULL;
}

static struct kunit_case uvmem_cases[] = {
	KUNIT_CASE(uvmem_init_start_test),
	KUNIT_CASE(uvmem_init_start_refused_test),
	KUNIT_CASE(uvmem_init_start_killed_test),
	KUNIT_CASE(uvmem_page_in_checks_test),
	KUNIT_CASE(uvmem_page_in_twice_test),
	KUNIT_CASE(uvmem_page_out_test),
	KUNIT_CASE(uvmem_share_test),
	KUNIT_CASE(uvmem_init_done_test),
	KUNIT_CASE(uvmem_init_abort_test),
	KUNIT_CASE(uvmem_memslot_delete_test),
	KUNIT_CASE(uvmem_memslot_create_test),
	KUNIT_CASE(uvmem_host_fault_test),
	KUNIT_CASE(uvmem_dev_page_freed_test),
	KUNIT_CASE(uvmem_destroy_test),
	{}
};

static struct kunit_suite uvmem_suite = {
	.name = "kvmf_ppc_uvmem",
	.exit = fake_exit,
	.test_cases = uvmem_cases,
};

kunit_test_suite(uvmem_suite);
