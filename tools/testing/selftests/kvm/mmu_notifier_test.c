// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory follows the host (KVM_CAP_SYNC_MMU): while a vCPU keeps
 * reading guest memory, the host munmaps, mremaps, madvises, mprotects,
 * forks, splits huge pages and moves or deletes the memslot.  After each
 * change returns, the guest must see exactly what the host mapping holds,
 * and never a page the host has freed: freed pages are refilled with a
 * poison pattern right away, and the guest must never read it.
 *
 * How "after the change" is checked: the host numbers the states of the
 * memory (epochs) and publishes the current epoch in guest memory once a
 * change has returned.  The guest reads the epoch, then the pages, and
 * reports every page whose value differs from what it last reported (and
 * all of them when the epoch moves), with the epoch it read.  A value is
 * valid only if some state at or after that epoch explains it; an EFAULT
 * from KVM_RUN only if the memory was unmapped at some point of the run.
 * The host then waits until every page showed the state's value at the
 * state's epoch or later: a guest stuck on old contents times out.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define PAGE		4096ul
#define HUGE		(2ul << 20)
#define REGION_GPA	(1ull << 30)
#define REGION_GVA	(1ull << 30)
/* The region is one huge page; the guest watches NPAGES pages spread over it. */
#define REGION_SIZE	HUGE
#define NPAGES		16
#define STRIDE		(REGION_SIZE / NPAGES)
#define MMIO_VALUE	0x5a5a5a5a5a5a5a5aull
#define POISON		0xdbdbdbdbdbdbdbdbull
#define POISON_SIZE	(64ul << 20)
#define WAIT_SECONDS	60

#define GUEST_VAR(vm, var) (*(volatile __typeof__(var) *)((vm)->ram + (uintptr_t)&(var)))

/* What each watched page holds in one state of the memory. */
enum kind {
	K_TAG,		/* tag(gen, page) */
	K_ZERO,		/* zero-filled */
	K_MMIO,		/* no memslot there: reads exit as MMIO */
	K_NONE,		/* the host range is unmapped: KVM_RUN fails with EFAULT */
};

struct state {
	enum kind kind;
	uint64_t gen;
	int zero_page;	/* for K_TAG: this watched page reads zero; -1 for none */
};

static uint64_t tag(uint64_t gen, uint64_t page)
{
	return 0x7a6e000000000000ull | gen << 16 | page;
}

static struct kvmf_guest_vm vm;
static unsigned char *region;
static volatile uint64_t guest_epoch;
static volatile int guest_stop;

/* Reads the watched pages forever, reporting (page, value, epoch) on change. */
static void guest_watch(void *arg)
{
	uint64_t last[NPAGES] = {}, seen_epoch = ~0ull, i;

	(void)arg;
	while (!guest_stop) {
		uint64_t epoch = guest_epoch;

		for (i = 0; i < NPAGES; i++) {
			uint64_t v = *(volatile uint64_t *)(REGION_GVA + i * STRIDE);

			if (v != last[i] || epoch != seen_epoch) {
				kvmf_guest_ucall(UCALL_SYNC, i, v, epoch);
				last[i] = v;
			}
		}
		seen_epoch = epoch;
	}
}

/* The host's side: the states, and what the vCPU threads observed. */
static struct {
	pthread_mutex_t lock;
	struct state states[256];
	unsigned int nstates;		/* states[0..nstates) may be in effect */
	unsigned int epoch;		/* states[epoch] is in effect */
	uint64_t last_val[NPAGES];
	unsigned int last_epoch[NPAGES];
	unsigned int efault_epoch;	/* the latest epoch a run failed with EFAULT in */
	bool efault_seen;
	unsigned long reports, efaults, mmio;
} w = { .lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_int host_stop;

static bool state_explains(const struct state *s, uint64_t page, uint64_t v)
{
	switch (s->kind) {
	case K_TAG:
		return v == ((int)page == s->zero_page ? 0 : tag(s->gen, page));
	case K_ZERO:
		return v == 0;
	case K_MMIO:
		return v == MMIO_VALUE;
	case K_NONE:
		return false;
	}
	return false;
}

/* A state that may come into effect from now on (the change is about to start). */
static unsigned int state_add(struct state s)
{
	unsigned int k;

	pthread_mutex_lock(&w.lock);
	KVMF_ASSERT(w.nstates < ARRAY_SIZE(w.states), "too many states");
	k = w.nstates;
	w.states[k] = s;
	w.nstates++;
	pthread_mutex_unlock(&w.lock);
	return k;
}

/* The change to states[k] has returned: tell the host side and the guest. */
static void epoch_set(unsigned int k)
{
	pthread_mutex_lock(&w.lock);
	w.epoch = k;
	GUEST_VAR(&vm, guest_epoch) = k;
	pthread_mutex_unlock(&w.lock);
}

/* Waits until the guest has shown state @k on every watched page. */
static void wait_state(unsigned int k)
{
	time_t deadline = time(NULL) + WAIT_SECONDS;

	for (;;) {
		const struct state *s;
		bool done = true;
		uint64_t i;

		pthread_mutex_lock(&w.lock);
		s = &w.states[k];
		if (s->kind == K_NONE) {
			done = w.efault_seen && w.efault_epoch >= k;
		} else {
			for (i = 0; i < NPAGES; i++)
				if (w.last_epoch[i] < k || !state_explains(s, i, w.last_val[i]))
					done = false;
		}
		pthread_mutex_unlock(&w.lock);
		if (done)
			return;
		KVMF_ASSERT(time(NULL) < deadline,
			    "the guest did not see state %u (kind %d gen %lu) within %d s",
			    k, s->kind, s->gen, WAIT_SECONDS);
		usleep(1000);
	}
}

static void check_report(uint64_t page, uint64_t v, uint64_t epoch)
{
	unsigned int k;

	KVMF_ASSERT(page < NPAGES, "page %lu", page);
	KVMF_ASSERT(v != POISON, "page %lu: the guest read a freed page (epoch %lu)", page, epoch);
	pthread_mutex_lock(&w.lock);
	KVMF_ASSERT(epoch <= w.epoch, "epoch %lu from the future", epoch);
	for (k = epoch; k < w.nstates; k++)
		if (state_explains(&w.states[k], page, v))
			break;
	KVMF_ASSERT(k < w.nstates, "page %lu read %#lx at epoch %lu: no state since explains it",
		    page, v, epoch);
	w.last_val[page] = v;
	w.last_epoch[page] = epoch;
	w.reports++;
	pthread_mutex_unlock(&w.lock);
}

/* A run failed with EFAULT: the host range must have been unmapped meanwhile. */
static void check_efault(unsigned int epoch_before)
{
	unsigned int k;

	pthread_mutex_lock(&w.lock);
	for (k = epoch_before; k < w.nstates; k++)
		if (w.states[k].kind == K_NONE)
			break;
	KVMF_ASSERT(k < w.nstates, "KVM_RUN: EFAULT although the memory stayed mapped since %u",
		    epoch_before);
	if (!w.efault_seen || epoch_before > w.efault_epoch)
		w.efault_epoch = epoch_before;
	w.efault_seen = true;
	w.efaults++;
	pthread_mutex_unlock(&w.lock);
}

struct vcpu_thread {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
};

static void *run_watcher(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvm_run *run = t->vcpu.run;
	struct kvmf_ucall uc;

	for (;;) {
		unsigned int epoch_before;
		int r;

		pthread_mutex_lock(&w.lock);
		epoch_before = w.epoch;
		pthread_mutex_unlock(&w.lock);

		r = ioctl(t->vcpu.fd, KVM_RUN, 0);
		if (r < 0 && errno == EFAULT) {
			check_efault(epoch_before);
			KVMF_ASSERT(!atomic_load(&host_stop), "EFAULT after the test ended");
			usleep(500);
			continue;
		}
		KVMF_ASSERT(r == 0, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t v = MMIO_VALUE;

			KVMF_ASSERT(!run->mmio.is_write, "MMIO write at %#llx", run->mmio.phys_addr);
			memcpy(run->mmio.data, &v, run->mmio.len);
			w.mmio++;
			continue;
		}
		switch (kvmf_guest_get_ucall(&vm, &t->vcpu, &uc)) {
		case UCALL_SYNC:
			check_report(uc.args[0], uc.args[1], uc.args[2]);
			continue;
		case UCALL_DONE:
			return NULL;
		default:
			kvmf_test_fail(__FILE__, __LINE__, "unexpected exit %u, ucall %lu",
				       run->exit_reason, uc.cmd);
		}
	}
}

static void fill(unsigned char *mem, struct state s)
{
	uint64_t i;

	for (i = 0; i < NPAGES; i++)
		*(volatile uint64_t *)(mem + i * STRIDE) = s.kind == K_TAG &&
			(int)i != s.zero_page ? tag(s.gen, i) : 0;
}

/* An anonymous mapping of @size, aligned to 2 MiB so that THP can back it. */
static unsigned char *map_aligned(size_t size)
{
	unsigned char *p = mmap(NULL, size + HUGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	KVMF_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	a = ((uintptr_t)p + HUGE - 1) & ~(HUGE - 1);
	if (a != (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + size), (uintptr_t)p + HUGE - a);
	madvise((void *)a, size, MADV_HUGEPAGE);
	return (unsigned char *)a;
}

static void set_region_slot(uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)region,
	};

	KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &r));
}

static struct vcpu_thread watchers[2];
static int nr_watchers;

/* The VM, the region at state 0 (gen 1), and @n watchers running. */
/*
 * Address space for the poison mappings, reserved (PROT_NONE, no memory)
 * while the region is mapped, so that no poison mapping can later land in
 * the hole a test makes by unmapping the region: there the guest would
 * legitimately read it.  Each call takes the next window, so the pages of
 * older poison stay allocated and the new poison draws on what the host
 * just freed.
 */
#define POISON_WINDOWS	16
static unsigned char *poison_area;

static void poison_reserve(void)
{
	if (poison_area)
		return;
	poison_area = mmap(NULL, POISON_WINDOWS * POISON_SIZE, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KVMF_ASSERT(poison_area != MAP_FAILED, "mmap poison area: %s", strerror(errno));
}

/*
 * Reuses the pages the host just freed, as far as it can: the allocator
 * hands out recently freed pages first.
 */
static void poison_freed_pages(void)
{
	static unsigned int calls;
	unsigned char *p = mmap(poison_area + (calls++ % POISON_WINDOWS) * POISON_SIZE,
				POISON_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	KVMF_ASSERT(p != MAP_FAILED, "mmap poison: %s", strerror(errno));
	madvise(p, POISON_SIZE, MADV_NOHUGEPAGE);
	memset(p, 0xdb, POISON_SIZE);
}

static void watch_start_n(int n)
{
	struct state s0 = { .kind = K_TAG, .gen = 1, .zero_page = -1 };
	int i;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	KVMF_ASSERT(ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_MMU) == 1,
		    "KVM_CAP_SYNC_MMU is not reported");
	region = map_aligned(REGION_SIZE);
	poison_reserve();
	fill(region, s0);
	set_region_slot(REGION_GPA, REGION_SIZE);
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);

	epoch_set(state_add(s0));
	nr_watchers = n;
	for (i = 0; i < n; i++)
		kvmf_guest_vcpu_add_code(&vm, &watchers[i].vcpu, i, guest_watch, NULL);
	for (i = 0; i < n; i++)
		KVMF_ASSERT_EQ(pthread_create(&watchers[i].thread, NULL, run_watcher,
					      &watchers[i]), 0);
	wait_state(0);
}

static void watch_start(void)
{
	watch_start_n(1);
}

static void watch_stop(void)
{
	int i;

	atomic_store(&host_stop, 1);
	GUEST_VAR(&vm, guest_stop) = 1;
	for (i = 0; i < nr_watchers; i++)
		KVMF_ASSERT_EQ(pthread_join(watchers[i].thread, NULL), 0);
	printf("# %lu reports, %lu EFAULTs, %lu MMIO reads over %u states\n", w.reports,
	       w.efaults, w.mmio, w.nstates);
}

/* A new state: the change in @change happens between announcing and publishing it. */
#define CHANGE(s, change) do {					\
	unsigned int __k = state_add(s);			\
	change;							\
	epoch_set(__k);						\
	wait_state(__k);					\
} while (0)

static void test_munmap(void)
{
	struct state none = { .kind = K_NONE };
	struct state zero = { .kind = K_ZERO };
	struct state g2 = { .kind = K_TAG, .gen = 2, .zero_page = -1 };
	unsigned int kz;

	watch_start();
	CHANGE(none, {
		KVMF_CHECK(munmap(region, REGION_SIZE));
		poison_freed_pages();
	});
	/* Mapped again: zero-filled at first, then the host fills it. */
	kz = state_add(zero);
	(void)kz;
	CHANGE(g2, {
		KVMF_ASSERT(mmap(region, REGION_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == region,
			    "mmap: %s", strerror(errno));
		fill(region, g2);
	});
	watch_stop();
}

static void test_mremap(void)
{
	struct state none = { .kind = K_NONE };
	struct state g2 = { .kind = K_TAG, .gen = 2, .zero_page = -1 };
	unsigned char *elsewhere;

	watch_start();
	/* Another mapping's pages replace the region's, which are freed. */
	CHANGE(g2, {
		unsigned char *b = map_aligned(REGION_SIZE);

		fill(b, g2);
		KVMF_ASSERT(mremap(b, REGION_SIZE, REGION_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
				   region) == region, "mremap: %s", strerror(errno));
		poison_freed_pages();
	});
	/* Moved away: nothing is mapped there any more. */
	elsewhere = map_aligned(REGION_SIZE);
	CHANGE(none, {
		KVMF_ASSERT(mremap(region, REGION_SIZE, REGION_SIZE,
				   MREMAP_MAYMOVE | MREMAP_FIXED, elsewhere) == elsewhere,
			    "mremap: %s", strerror(errno));
	});
	/* And back, with the host writing a new generation through the new address. */
	CHANGE(g2, {
		KVMF_ASSERT(mremap(elsewhere, REGION_SIZE, REGION_SIZE,
				   MREMAP_MAYMOVE | MREMAP_FIXED, region) == region,
			    "mremap: %s", strerror(errno));
	});
	watch_stop();
}

static void test_madvise_dontneed(void)
{
	struct state zero = { .kind = K_ZERO };
	struct state g3 = { .kind = K_TAG, .gen = 3, .zero_page = -1 };

	watch_start();
	CHANGE(zero, {
		KVMF_CHECK(madvise(region, REGION_SIZE, MADV_DONTNEED));
		poison_freed_pages();
	});
	/* The host writes: the guest sees it, no ioctl needed. */
	CHANGE(g3, fill(region, g3));
	CHANGE(zero, KVMF_CHECK(madvise(region, REGION_SIZE, MADV_DONTNEED)));
	watch_stop();
}

/*
 * Huge pages split under the guest: zapping or protecting one 4 KiB page of
 * a 2 MiB THP changes that page only (the rest stays, unchanged).
 */
static void test_thp_split(void)
{
	struct state one_zero = { .kind = K_TAG, .gen = 1, .zero_page = 5 };
	struct state g4 = { .kind = K_TAG, .gen = 4, .zero_page = -1 };

	watch_start();
	CHANGE(one_zero, {
		KVMF_CHECK(madvise(region + 5 * STRIDE, PAGE, MADV_DONTNEED));
		poison_freed_pages();
	});
	/* Nothing the guest can read changes; the mapping does. */
	CHANGE(one_zero, KVMF_CHECK(mprotect(region + 3 * STRIDE, PAGE, PROT_READ)));
	CHANGE(g4, {
		KVMF_CHECK(mprotect(region + 3 * STRIDE, PAGE, PROT_READ | PROT_WRITE));
		fill(region, g4);
	});
	watch_stop();
}

/*
 * Two vCPUs read the range while its slot is deleted, created again, moved
 * away and back, and its pages dropped so that they fault in again: reads
 * are MMIO exactly while no slot is there.
 */
static void test_memslot_delete_move(void)
{
	struct state mmio = { .kind = K_MMIO };
	struct state zero = { .kind = K_ZERO };
	struct state g1 = { .kind = K_TAG, .gen = 1, .zero_page = -1 };
	struct kvm_userspace_memory_region del = { .slot = 1 };
	int i;

	watch_start_n(2);
	for (i = 0; i < 5; i++) {
		state_add(zero);
		CHANGE(g1, {
			KVMF_CHECK(madvise(region, REGION_SIZE, MADV_DONTNEED));
			fill(region, g1);
		});
		CHANGE(mmio, KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &del)));
		CHANGE(g1, set_region_slot(REGION_GPA, REGION_SIZE));
		CHANGE(mmio, set_region_slot(REGION_GPA + (1ull << 30), REGION_SIZE));
		CHANGE(g1, set_region_slot(REGION_GPA, REGION_SIZE));
	}
	watch_stop();
}

/*
 * mprotect: a read-only host mapping can be read by the guest but a guest
 * write fails (KVM_RUN: EFAULT) until it is writable again; PROT_NONE
 * makes reads fail too.
 */
static void guest_mprotect_steps(void *arg)
{
	volatile uint64_t *p = (volatile uint64_t *)REGION_GVA;

	(void)arg;
	p[0] = 1;
	GUEST_SYNC(1);
	GUEST_SYNC(p[0]);	/* read-only now */
	p[0] = 2;		/* fails until writable */
	GUEST_SYNC(p[0]);
	GUEST_SYNC(p[0]);	/* PROT_NONE meanwhile, until the host wrote 3 */
}

static void expect_sync(struct kvmf_guest_vcpu *vcpu, uint64_t value)
{
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, vcpu, &uc), UCALL_SYNC);
	KVMF_ASSERT_EQ(uc.args[0], value);
}

static void test_mprotect(void)
{
	struct kvmf_guest_vcpu vcpu;
	struct kvmf_ucall uc;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	region = map_aligned(REGION_SIZE);
	set_region_slot(REGION_GPA, REGION_SIZE);
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_mprotect_steps, NULL);

	expect_sync(&vcpu, 1);
	KVMF_ASSERT_EQ(*(uint64_t *)region, 1);

	KVMF_CHECK(mprotect(region, REGION_SIZE, PROT_READ));
	expect_sync(&vcpu, 1);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_RUN, 0), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_RUN, 0), EFAULT);
	KVMF_ASSERT_EQ(*(uint64_t *)region, 1);
	KVMF_CHECK(mprotect(region, REGION_SIZE, PROT_READ | PROT_WRITE));
	expect_sync(&vcpu, 2);
	KVMF_ASSERT_EQ(*(uint64_t *)region, 2);

	KVMF_CHECK(mprotect(region, REGION_SIZE, PROT_NONE));
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_RUN, 0), EFAULT);
	KVMF_CHECK(mprotect(region, REGION_SIZE, PROT_READ | PROT_WRITE));
	*(uint64_t *)region = 3;
	expect_sync(&vcpu, 3);
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &uc), UCALL_DONE);
}

/* Increments a counter in each watched page, forever. */
static void guest_count(void *arg)
{
	uint64_t i;

	(void)arg;
	while (!guest_stop)
		for (i = 0; i < NPAGES; i++)
			(*(volatile uint64_t *)(REGION_GVA + i * STRIDE))++;
}

static void *run_counter(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvmf_ucall uc;

	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &t->vcpu, &uc), UCALL_DONE);
	return NULL;
}

static void read_counters(uint64_t *out)
{
	uint64_t i;

	for (i = 0; i < NPAGES; i++)
		out[i] = *(volatile uint64_t *)(region + i * STRIDE);
}

#define CHILD_MARK	0xc41dc41dc41dc41dull

/* In the child: its copy must not change while the parent's guest keeps writing. */
static int fork_child(void)
{
	uint64_t first[NPAGES], later[NPAGES], i;

	read_counters(first);
	usleep(300000);
	read_counters(later);
	for (i = 0; i < NPAGES; i++) {
		if (later[i] != first[i]) {
			printf("# child: page %lu changed %lu -> %lu: the guest wrote into it\n",
			       i, first[i], later[i]);
			return 1;
		}
		*(volatile uint64_t *)(region + i * STRIDE) = CHILD_MARK;
	}
	return 0;
}

/*
 * fork() with a guest writing: the parent's pages become copy-on-write, so
 * the guest's next writes must go to the parent's fresh copies, never into
 * pages the child shares or owns.
 */
static void test_fork_cow(void)
{
	uint64_t before[NPAGES], after[NPAGES], i;
	struct vcpu_thread t;
	int status, forks;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	region = map_aligned(REGION_SIZE);
	set_region_slot(REGION_GPA, REGION_SIZE);
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);
	kvmf_guest_vcpu_add_code(&vm, &t.vcpu, 0, guest_count, NULL);
	KVMF_ASSERT_EQ(pthread_create(&t.thread, NULL, run_counter, &t), 0);

	for (forks = 0; forks < 3; forks++) {
		pid_t pid;

		do {
			usleep(20000);
			read_counters(before);
		} while (!before[NPAGES - 1]);

		fflush(stdout);
		pid = fork();
		KVMF_ASSERT(pid >= 0, "fork: %s", strerror(errno));
		if (!pid)
			_exit(fork_child());

		/* The guest's writes keep landing in the parent's memory. */
		usleep(100000);
		read_counters(before);
		usleep(200000);
		read_counters(after);
		for (i = 0; i < NPAGES; i++)
			KVMF_ASSERT(after[i] > before[i], "page %lu: %lu -> %lu after fork", i,
				    before[i], after[i]);

		KVMF_ASSERT_EQ(waitpid(pid, &status, 0), pid);
		KVMF_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "child: status %#x", status);
		/* And the child's writes never reach the parent or its guest. */
		read_counters(after);
		for (i = 0; i < NPAGES; i++)
			KVMF_ASSERT(after[i] < (1ull << 40), "page %lu: %#lx", i, after[i]);
	}
	GUEST_VAR(&vm, guest_stop) = 1;
	KVMF_ASSERT_EQ(pthread_join(t.thread, NULL), 0);
}

#define KSM_VALUE	0x6b736d6b736d6b73ull
#define KSM_WRITTEN	0x7772697474656e21ull
#define KSM_SYSFS	"/sys/kernel/mm/ksm/"

/* Reads (twice) the identical pages, writes one, reads them all again. */
static void guest_ksm_steps(void *arg)
{
	uint64_t i, round;

	(void)arg;
	for (round = 1; round <= 2; round++) {
		for (i = 0; i < NPAGES; i++)
			GUEST_ASSERT_EQ(*(volatile uint64_t *)(REGION_GVA + i * STRIDE), KSM_VALUE);
		GUEST_SYNC(round);
	}
	*(volatile uint64_t *)(REGION_GVA + 3 * STRIDE) = KSM_WRITTEN;
	GUEST_SYNC(3);
	for (i = 0; i < NPAGES; i++)
		GUEST_ASSERT_EQ(*(volatile uint64_t *)(REGION_GVA + i * STRIDE),
				i == 3 ? KSM_WRITTEN : KSM_VALUE);
	GUEST_SYNC(4);
}

static long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The frame behind @addr, from /proc/self/pagemap (0 if not present). */
static uint64_t pfn_of(const void *addr)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	KVMF_ASSERT(fd >= 0, "pagemap: %s", strerror(errno));
	KVMF_ASSERT_EQ(pread(fd, &entry, 8, (uintptr_t)addr / PAGE * 8), 8);
	close(fd);
	return entry >> 63 ? entry & ((1ull << 55) - 1) : 0;
}

static bool write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld", v) > 0;
	return fclose(f) == 0 && ok;
}

/*
 * KSM merges identical guest pages into one write-protected page while the
 * guest has them mapped; a guest write to one of them must then get a copy
 * of its own, and never reach the page the others share.
 */
static void test_ksm_merge(void)
{
	long run = read_long(KSM_SYSFS "run"), sleep_ms = read_long(KSM_SYSFS "sleep_millisecs");
	long to_scan = read_long(KSM_SYSFS "pages_to_scan");
	struct kvmf_guest_vcpu vcpu;
	time_t deadline;
	uint64_t i;

	if (run < 0)
		kvmf_skip("no KSM");
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	region = map_aligned(REGION_SIZE);
	/* KSM merges small pages only. */
	KVMF_CHECK(madvise(region, REGION_SIZE, MADV_NOHUGEPAGE));
	for (i = 0; i < NPAGES; i++)
		*(uint64_t *)(region + i * STRIDE) = KSM_VALUE;
	if (madvise(region, REGION_SIZE, MADV_MERGEABLE))
		kvmf_skip("MADV_MERGEABLE: %s", strerror(errno));
	set_region_slot(REGION_GPA, REGION_SIZE);
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, REGION_SIZE);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, guest_ksm_steps, NULL);
	expect_sync(&vcpu, 1);

	KVMF_ASSERT(write_long(KSM_SYSFS "sleep_millisecs", 10) &&
		    write_long(KSM_SYSFS "pages_to_scan", 10000) && write_long(KSM_SYSFS "run", 1),
		    "cannot start ksmd");
	deadline = time(NULL) + 30;
	while (read_long("/proc/self/ksm_merging_pages") < (long)NPAGES && time(NULL) < deadline)
		usleep(10000);
	i = read_long("/proc/self/ksm_merging_pages");
	write_long(KSM_SYSFS "run", run);
	write_long(KSM_SYSFS "sleep_millisecs", sleep_ms);
	write_long(KSM_SYSFS "pages_to_scan", to_scan);
	if ((long)i < (long)NPAGES)
		kvmf_skip("ksmd merged %ld pages only", (long)i);
	printf("# %lu pages merged\n", i);

	/* Reading merged pages keeps them merged: a read breaks no sharing. */
	expect_sync(&vcpu, 2);
	for (i = 1; i < NPAGES; i++)
		KVMF_ASSERT(pfn_of(region + i * STRIDE) == pfn_of(region),
			    "page %lu is not merged any more after the guest read it", i);
	/* The written page leaves the merge, alone. */
	expect_sync(&vcpu, 3);
	for (i = 1; i < NPAGES; i++)
		KVMF_ASSERT((pfn_of(region + i * STRIDE) == pfn_of(region)) == (i != 3),
			    "page %lu: merged %d after the guest wrote page 3", i,
			    pfn_of(region + i * STRIDE) == pfn_of(region));
	for (i = 0; i < NPAGES; i++)
		KVMF_ASSERT_EQ(*(volatile uint64_t *)(region + i * STRIDE),
			       i == 3 ? KSM_WRITTEN : KSM_VALUE);
	expect_sync(&vcpu, 4);
}

static const struct kvmf_test tests[] = {
	{ "munmap", test_munmap },
	{ "mremap", test_mremap },
	{ "madvise_dontneed", test_madvise_dontneed },
	{ "thp_split", test_thp_split },
	{ "memslot_delete_move", test_memslot_delete_move },
	{ "mprotect", test_mprotect },
	{ "fork_cow", test_fork_cow },
	{ "ksm_merge", test_ksm_merge },
};

int main(void)
{
	return kvmf_test_main("mmu_notifier", tests, ARRAY_SIZE(tests));
}
