// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging: KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG, and with
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 KVM_CLEAR_DIRTY_LOG and
 * KVM_DIRTY_LOG_INITIALLY_SET (Documentation/virt/kvm/api.rst).
 *
 * The concurrent cases let one or two vCPUs write to random pages of a
 * logging slot without ever exiting, while the host collects round after
 * round and reads every page after each round (R).  Every guest write
 * stores a value never written before, so a page's value changes exactly
 * when it is written.  A write is logged by the first collection that
 * write-protects the page after it; hence, for rounds c:
 *  - nothing missed: a page whose value changed between R(c-1) and R(c)
 *    is reported by round c or c+1;
 *  - nothing invented: a page reported by round c was written after
 *    R(c-2), so once that write has landed its value differs from the one
 *    read then; pages the guest never writes are never reported;
 * and once the guest has stopped and one more round has collected, a last
 * round reports nothing at all.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define PAGE		4096ul
#define HUGE		(2ul << 20)
#define SLOT		1
#define SLOT_GPA	(1ull << 30)
#define SLOT_GVA	(1ull << 30)
/* Not a multiple of 64: the last bitmap word is partial. */
#define NR_PAGES	1000ul
/* The guest writes pages [0, WRITTEN_PAGES) only. */
#define WRITTEN_PAGES	700ul
#define BITMAP_WORDS	((NR_PAGES + 63) / 64)
#define ROUNDS		30
/* CLEAR in chunks of this many pages (a multiple of 64), then the tail. */
#define CLEAR_CHUNK	192ul

/* The guest's copy of a global, written by the host while the guest runs. */
#define GUEST_VAR(vm, var) (*(volatile __typeof__(var) *)((vm)->ram + (uintptr_t)&(var)))

static struct kvmf_guest_vm vm;
static unsigned char *slot_mem;
static volatile int guest_stop;

/* Writes unique values (a count, then the vCPU id) to random pages until told to stop. */
static void guest_random_writer(void *arg)
{
	uint64_t id = (uint64_t)arg, n = 0;
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (id + 1);

	while (!guest_stop) {
		uint64_t page;

		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		page = (rnd >> 33) % WRITTEN_PAGES;
		*(volatile uint64_t *)(SLOT_GVA + page * PAGE) = (++n << 8) | id;
	}
}

static void set_slot(uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = SLOT, .flags = flags, .guest_phys_addr = SLOT_GPA,
		.memory_size = NR_PAGES * PAGE, .userspace_addr = (uint64_t)slot_mem,
	};

	KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &r));
}

static void enable_manual(uint64_t flags)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = { flags } };

	if (ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) <= 0)
		kvmf_skip("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is not reported");
	KVMF_CHECK(ioctl(vm.fd, KVM_ENABLE_CAP, &cap));
}

/* A VM with the program loaded and the slot (flags @flags) mapped in the guest. */
static void setup(uint32_t flags, uint64_t manual)
{
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	/* 2 MiB aligned, like the slot: the host may back it with a huge page. */
	slot_mem = mmap(NULL, NR_PAGES * PAGE + HUGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KVMF_ASSERT(slot_mem != MAP_FAILED, "mmap: %s", strerror(errno));
	slot_mem = (unsigned char *)(((uintptr_t)slot_mem + HUGE - 1) & ~(HUGE - 1));
	if (manual)
		enable_manual(manual);
	set_slot(flags);
	kvmf_guest_map(&vm, SLOT_GVA, SLOT_GPA, NR_PAGES * PAGE);
}

static void get_log(uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = SLOT, .dirty_bitmap = bitmap };

	memset(bitmap, 0, BITMAP_WORDS * 8);
	KVMF_CHECK(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log));
}

static long clear_log(uint64_t first, uint32_t num, const uint64_t *bitmap)
{
	struct kvm_clear_dirty_log log = {
		.slot = SLOT, .first_page = first, .num_pages = num,
		.dirty_bitmap = (void *)bitmap,
	};

	return ioctl(vm.fd, KVM_CLEAR_DIRTY_LOG, &log);
}

/* CLEAR what @bitmap reports, in 64-page-aligned chunks with a short tail. */
static void clear_reported(const uint64_t *bitmap)
{
	uint64_t first;

	for (first = 0; first < NR_PAGES; first += CLEAR_CHUNK) {
		uint64_t num = NR_PAGES - first < CLEAR_CHUNK ? NR_PAGES - first : CLEAR_CHUNK;

		KVMF_CHECK(clear_log(first, num, bitmap + first / 64));
	}
}

static bool test_page(const uint64_t *bitmap, uint64_t page)
{
	return bitmap[page / 64] >> (page % 64) & 1;
}

struct writer {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
};

static void *run_writer(void *arg)
{
	struct writer *w = arg;
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &w->vcpu, &uc), UCALL_DONE);
	return NULL;
}

/*
 * What every round reported and the values read after it: v[0] is before
 * the guest started (all zero), v[c] and rep[c] belong to round c >= 1.
 */
struct rounds {
	unsigned int n;
	uint64_t v[ROUNDS + 3][NR_PAGES];
	bool rep[ROUNDS + 3][NR_PAGES];
};

/* One collection: report, (manual) clear, read every page. */
static void round_collect(struct rounds *r, bool manual)
{
	uint64_t bitmap[BITMAP_WORDS];
	unsigned int c = ++r->n;
	uint64_t p;

	KVMF_ASSERT(c < ROUNDS + 3, "too many rounds");
	get_log(bitmap);
	if (manual)
		clear_reported(bitmap);
	for (p = 0; p < NR_PAGES; p++) {
		r->v[c][p] = *(volatile uint64_t *)(slot_mem + p * PAGE);
		r->rep[c][p] = test_page(bitmap, p);
	}
	/* Bits past the slot's end are never set. */
	KVMF_ASSERT_EQ(bitmap[BITMAP_WORDS - 1] >> (NR_PAGES % 64), 0);
}

/*
 * A dirty bit is set when the write faults, before the data lands: the
 * value of a reported page may change only after the round that reported
 * it.  The faulting store completes as soon as its vCPU runs again; allow
 * it this many rounds (of 20 ms) to do so, or until the guest stopped.
 */
#define LANDING_ROUNDS	4

static void rounds_check(const struct rounds *r, unsigned long *missed, unsigned long *invented,
			 unsigned long *reported)
{
	unsigned int c, last = r->n;
	uint64_t p;

	for (c = 1; c <= last; c++) {
		unsigned int later = c + LANDING_ROUNDS < last ? c + LANDING_ROUNDS : last;
		unsigned int before = c >= 2 ? c - 2 : 0;

		for (p = 0; p < NR_PAGES; p++) {
			bool rep_next = c < last && r->rep[c + 1][p];

			if (r->v[c][p] != r->v[c - 1][p] && !r->rep[c][p] && !rep_next) {
				if ((*missed)++ < 5)
					printf("# round %u: page %lu changed %#lx -> %#lx unreported\n",
					       c, p, r->v[c - 1][p], r->v[c][p]);
			}
			if (!r->rep[c][p])
				continue;
			(*reported)++;
			if (p >= WRITTEN_PAGES || r->v[later][p] == r->v[before][p]) {
				if ((*invented)++ < 5)
					printf("# round %u: page %lu reported, not written (%#lx)\n",
					       c, p, r->v[later][p]);
			}
		}
	}
}

static void dirty_log_concurrent(int nr_vcpus, bool manual)
{
	unsigned long missed = 0, invented = 0, reported = 0;
	struct rounds *r = calloc(1, sizeof(*r));
	uint64_t bitmap[BITMAP_WORDS];
	struct writer w[2];
	int i, c;

	KVMF_ASSERT(r, "calloc");
	setup(KVM_MEM_LOG_DIRTY_PAGES, manual ? KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE : 0);
	for (i = 0; i < nr_vcpus; i++)
		kvmf_guest_vcpu_add_code(&vm, &w[i].vcpu, i, guest_random_writer,
					 (void *)(uint64_t)i);
	for (i = 0; i < nr_vcpus; i++)
		KVMF_ASSERT_EQ(pthread_create(&w[i].thread, NULL, run_writer, &w[i]), 0);

	for (c = 0; c < ROUNDS; c++) {
		usleep(20000);
		round_collect(r, manual);
	}
	GUEST_VAR(&vm, guest_stop) = 1;
	for (i = 0; i < nr_vcpus; i++)
		KVMF_ASSERT_EQ(pthread_join(w[i].thread, NULL), 0);
	/* Collect what the last writes left, then nothing may be left. */
	round_collect(r, manual);
	round_collect(r, manual);
	get_log(bitmap);
	for (i = 0; i < (int)BITMAP_WORDS; i++)
		KVMF_ASSERT(!bitmap[i], "word %d: %#lx after the guest stopped", i, bitmap[i]);

	rounds_check(r, &missed, &invented, &reported);
	printf("# %d vCPU(s), %s: %lu pages reported over %u rounds\n", nr_vcpus,
	       manual ? "GET+CLEAR" : "GET", reported, r->n);
	KVMF_ASSERT_EQ(missed, 0);
	KVMF_ASSERT_EQ(invented, 0);
	/* The guest did run: each round saw writes. */
	KVMF_ASSERT(reported >= ROUNDS, "only %lu pages reported", reported);
	free(r);
}

static void test_get_1_vcpu(void)
{
	dirty_log_concurrent(1, false);
}

static void test_get_2_vcpus(void)
{
	dirty_log_concurrent(2, false);
}

static void test_get_clear_1_vcpu(void)
{
	dirty_log_concurrent(1, true);
}

static void test_get_clear_2_vcpus(void)
{
	dirty_log_concurrent(2, true);
}

static const uint64_t *guest_page_list;
static volatile uint64_t guest_page_count;

/* Writes the pages the host listed, then says so. */
static void guest_write_listed(void *arg)
{
	uint64_t i;

	(void)arg;
	for (;;) {
		for (i = 0; i < guest_page_count; i++)
			*(volatile uint64_t *)(SLOT_GVA + guest_page_list[i] * PAGE) += 1;
		GUEST_SYNC(guest_page_count);
	}
}

/* A vCPU that writes the pages in @pages when run_listed() is called. */
static struct kvmf_guest_vcpu listed_vcpu;
static uint64_t *listed_pages;

static void listed_setup(void)
{
	uint64_t gpa = kvmf_guest_alloc_pages(&vm, 1);

	listed_pages = (uint64_t *)(vm.ram + gpa);
	guest_page_list = (const uint64_t *)gpa;
	KVMF_GUEST_SYNC_GLOBAL(&vm, guest_page_list);
	kvmf_guest_vcpu_add_code(&vm, &listed_vcpu, 0, guest_write_listed, NULL);
}

static void run_listed(const uint64_t *pages, uint64_t n)
{
	struct kvmf_ucall uc;

	memcpy(listed_pages, pages, n * 8);
	GUEST_VAR(&vm, guest_page_count) = n;
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &listed_vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], n);
}

static void expect_log(const uint64_t *pages, uint64_t n)
{
	uint64_t bitmap[BITMAP_WORDS], expect[BITMAP_WORDS] = {};
	uint64_t i;

	for (i = 0; i < n; i++)
		expect[pages[i] / 64] |= 1ull << (pages[i] % 64);
	get_log(bitmap);
	for (i = 0; i < BITMAP_WORDS; i++)
		KVMF_ASSERT(bitmap[i] == expect[i], "word %lu: %#lx, expected %#lx", i, bitmap[i],
			    expect[i]);
}

/*
 * KVM_DIRTY_LOG_INITIALLY_SET: a slot that starts logging reports every
 * page (and no bit past its end) until KVM_CLEAR_DIRTY_LOG clears them;
 * after that only written pages come back.  Manual mode: GET does not clear.
 */
static void test_initially_set(void)
{
	static const uint64_t written[] = { 7, 63, 64, 999 };
	uint64_t bitmap[BITMAP_WORDS], ones[BITMAP_WORDS];
	uint64_t i;

	setup(KVM_MEM_LOG_DIRTY_PAGES,
	      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), 3);
	listed_setup();

	get_log(bitmap);
	for (i = 0; i < BITMAP_WORDS - 1; i++)
		KVMF_ASSERT_EQ(bitmap[i], ~0ull);
	KVMF_ASSERT_EQ(bitmap[BITMAP_WORDS - 1], (1ull << (NR_PAGES % 64)) - 1);
	/* Manual protection: reporting does not clear. */
	get_log(bitmap);
	KVMF_ASSERT_EQ(bitmap[0], ~0ull);

	/* Written while initially set: still reported once, like every page. */
	run_listed(written, 2);
	memset(ones, 0xff, sizeof(ones));
	clear_reported(ones);
	expect_log(NULL, 0);

	run_listed(written, ARRAY_SIZE(written));
	expect_log(written, ARRAY_SIZE(written));
	/* Clearing one page leaves the others. */
	memset(bitmap, 0, sizeof(bitmap));
	bitmap[0] = 1;			/* bit 0 of a range starting at page 64 */
	KVMF_CHECK(clear_log(64, 64, bitmap));
	{
		static const uint64_t left[] = { 7, 63, 999 };

		expect_log(left, ARRAY_SIZE(left));
	}
}

/*
 * Logging switched on for a slot the guest has been writing (possibly
 * through 2 MiB mappings): only writes after the switch are reported;
 * switched off, the slot has no log (-ENOENT) and writes still work.
 */
static void test_enable_on_live_slot(void)
{
	static const uint64_t before[] = { 1, 2, 3, 500, 510, 600 };
	static const uint64_t after[] = { 10, 600 };
	uint64_t bitmap[BITMAP_WORDS], all[WRITTEN_PAGES];
	struct kvm_dirty_log log = { .slot = SLOT, .dirty_bitmap = bitmap };
	uint64_t i;

	setup(0, 0);
	listed_setup();
	for (i = 0; i < WRITTEN_PAGES; i++)
		all[i] = i;
	run_listed(all, WRITTEN_PAGES);
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), ENOENT);

	set_slot(KVM_MEM_LOG_DIRTY_PAGES);
	expect_log(NULL, 0);
	run_listed(after, ARRAY_SIZE(after));
	expect_log(after, ARRAY_SIZE(after));
	run_listed(before, ARRAY_SIZE(before));
	expect_log(before, ARRAY_SIZE(before));
	expect_log(NULL, 0);

	set_slot(0);
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), ENOENT);
	run_listed(after, ARRAY_SIZE(after));
	/* Page 600: all, after, before, after again; page 10: all and after twice. */
	KVMF_ASSERT_EQ(*(uint64_t *)(slot_mem + 600 * PAGE), 4);
	KVMF_ASSERT_EQ(*(uint64_t *)(slot_mem + 10 * PAGE), 3);
}

#define INS_PORT	0x77
#define INS_PAGE	5

/* REP INSB into the slot: the hypervisor writes guest memory for the guest. */
static void guest_rep_insb(void *arg)
{
	uint64_t dst = SLOT_GVA + INS_PAGE * PAGE + 100, count = 16;

	(void)arg;
	asm volatile("rep insb" : "+D"(dst), "+c"(count) : "d"(INS_PORT) : "memory");
	GUEST_DONE();
}

static void test_string_io_write_is_logged(void)
{
	static const uint64_t page[] = { INS_PAGE };
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;
	unsigned int ins = 0;

	setup(KVM_MEM_LOG_DIRTY_PAGES, 0);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_rep_insb, NULL);
	expect_log(NULL, 0);
	for (;;) {
		struct kvm_run *run = vcpu.run;

		KVMF_CHECK(ioctl(vcpu.fd, KVM_RUN, 0));
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == INS_PORT) {
			KVMF_ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
			memset(kvmf_guest_io_data(&vcpu), 0xab, run->io.size * run->io.count);
			ins += run->io.count;
			continue;
		}
		KVMF_ASSERT_EQ(kvmf_guest_get_ucall(&vm, &vcpu, &uc), UCALL_DONE);
		break;
	}
	KVMF_ASSERT_EQ(ins, 16);
	KVMF_ASSERT_EQ(slot_mem[INS_PAGE * PAGE + 100], 0xab);
	expect_log(page, 1);
}

/* KVM's errnos for bad requests, in KVM's order of checks. */
static void test_bad_input(void)
{
	uint64_t bitmap[BITMAP_WORDS];
	struct kvm_dirty_log log = { .dirty_bitmap = bitmap };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
	bool stock = !strcmp(kvmf_vm_owner_module(), "kvm_amd");

	setup(KVM_MEM_LOG_DIRTY_PAGES, 0);
	KVMF_ASSERT_EQ(ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), 3);

	/* KVM_GET_DIRTY_LOG */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, (void *)8), EFAULT);
	log.slot = 0;				/* exists, does not log */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), ENOENT);
	log.slot = 2;				/* does not exist */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), ENOENT);
	log.slot = 32764;			/* KVM_CAP_NR_MEMSLOTS: out of range */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), EINVAL);
	log.slot = 0xffffffff;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), EINVAL);
	log.slot = 2 << 16 | SLOT;		/* address space 2: none on x86 */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), EINVAL);
	/*
	 * Address space 1 is x86 KVM's SMM view, empty here (-ENOENT); kvmfork
	 * has no SMM and one address space, so it is invalid there, as on a
	 * KVM built without SMM support.
	 */
	log.slot = 1 << 16 | SLOT;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), stock ? ENOENT : EINVAL);
	log.slot = SLOT;
	log.dirty_bitmap = (void *)8;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), EFAULT);
	log.dirty_bitmap = NULL;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_GET_DIRTY_LOG, &log), EFAULT);

	/* KVM_CLEAR_DIRTY_LOG works without the capability enabled, only reported. */
	memset(bitmap, 0xff, sizeof(bitmap));
	KVMF_CHECK(clear_log(0, 64, bitmap));
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_CLEAR_DIRTY_LOG, (void *)8), EFAULT);
	{
		struct kvm_clear_dirty_log c = {
			.slot = 2, .first_page = 1, .num_pages = 64, .dirty_bitmap = bitmap,
		};

		/* first_page is checked before the slot is looked up ... */
		KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_CLEAR_DIRTY_LOG, &c), EINVAL);
		c.first_page = 0;
		c.num_pages = 63;
		/* ... num_pages after. */
		KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_CLEAR_DIRTY_LOG, &c), ENOENT);
		c.slot = 0;
		KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_CLEAR_DIRTY_LOG, &c), ENOENT);
		c.slot = 32764;
		KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_CLEAR_DIRTY_LOG, &c), EINVAL);
	}
	/* Unaligned start, short chunk not at the end, past the end. */
	KVMF_ASSERT_ERRNO(clear_log(1, 64, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(32, 64, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(0, 63, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(896, 100, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(896, 128, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(1024, 64, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(1024, 0, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(-64ull, 128, bitmap), EINVAL);
	KVMF_ASSERT_ERRNO(clear_log(0, 0xffffffc0, bitmap), EINVAL);
	/* A short chunk is fine where the slot ends; nothing is fine too. */
	KVMF_CHECK(clear_log(960, 40, bitmap));
	KVMF_CHECK(clear_log(0, NR_PAGES, bitmap));
	KVMF_ASSERT_EQ(clear_log(0, 0, (void *)8), 0);
	KVMF_ASSERT_ERRNO(clear_log(0, 64, (void *)8), EFAULT);
	KVMF_ASSERT_ERRNO(clear_log(0, 64, NULL), EFAULT);

	/* KVM_ENABLE_CAP */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, (void *)8), EFAULT);
	cap.args[0] = 4;			/* unknown flag */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = 1ull << 32 | 1;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = KVM_DIRTY_LOG_INITIALLY_SET;	/* needs MANUAL_PROTECT_ENABLE */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = 1;
	cap.flags = 1;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.flags = 0;
	cap.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT;	/* the buggy predecessor */
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.cap = 100000;
	KVMF_ASSERT_ERRNO(ioctl(vm.fd, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2;
	cap.args[0] = 3;
	KVMF_CHECK(ioctl(vm.fd, KVM_ENABLE_CAP, &cap));
	cap.args[0] = 0;
	KVMF_CHECK(ioctl(vm.fd, KVM_ENABLE_CAP, &cap));
}

static const struct kvmf_test tests[] = {
	{ "get_1_vcpu", test_get_1_vcpu },
	{ "get_2_vcpus", test_get_2_vcpus },
	{ "get_clear_1_vcpu", test_get_clear_1_vcpu },
	{ "get_clear_2_vcpus", test_get_clear_2_vcpus },
	{ "initially_set", test_initially_set },
	{ "enable_on_live_slot", test_enable_on_live_slot },
	{ "string_io_write_is_logged", test_string_io_write_is_logged },
	{ "bad_input", test_bad_input },
};

int main(void)
{
	return kvmf_test_main("dirty_log", tests, ARRAY_SIZE(tests));
}
