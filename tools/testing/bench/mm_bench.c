// SPDX-License-Identifier: GPL-2.0
/*
 * mm_bench: guest memory costs, as a VMM sees them, for whichever KVM
 * implementation serves /dev/kvm.  A benchmark, not a test: run-mm-bench.sh
 * runs it against kvmfork and stock KVM in one boot of the test VM and
 * prints the ratios.
 *
 *   mm_bench fault MIB [4k]        one vCPU writes every page of MIB MiB of
 *                                  fresh memory once: "mm_bench fault <ms>"
 *                                  ("fault4k" with 4k: host memory without
 *                                  transparent huge pages)
 *   mm_bench dirty VCPUS MIB SEC   VCPUS vCPUs keep writing every page of
 *                                  MIB MiB while the host collects
 *                                  KVM_GET_DIRTY_LOG for SEC seconds:
 *                                  "mm_bench dirtyN <pages per second>"
 *
 * Guest memory is anonymous and 2 MiB aligned, as QEMU allocates it, so
 * the host may back it with transparent huge pages.  The guest runs in
 * 32-bit protected mode without paging.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/kvm.h>

#define PAGE		4096ul
#define HUGE		(2ul << 20)
#define CODE_SIZE	0x100000ul
#define CODE_GPA	0x1000ul
#define DATA_GPA	0x40000000ul	/* 1 GiB */
#define MAX_VCPUS	2

/* ESI = base, ECX = pages: write each page once, then HLT. */
static const unsigned char touch_once[] = {
	0x89, 0x06,				/* 1: mov [esi], eax */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* add esi, 4096 */
	0x49,					/* dec ecx */
	0x75, 0xf5,				/* jnz 1b */
	0xf4,					/* hlt */
};

/* EBX = base, ECX = pages: write a counter to each page, round and round. */
static const unsigned char touch_forever[] = {
	0x89, 0xde,				/* 2: mov esi, ebx */
	0x89, 0xcf,				/* mov edi, ecx */
	0x89, 0x16,				/* 1: mov [esi], edx */
	0x42,					/* inc edx */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* add esi, 4096 */
	0x4f,					/* dec edi */
	0x75, 0xf4,				/* jnz 1b */
	0xeb, 0xee,				/* jmp 2b */
};

struct vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
};

static int kvm, vm;
static long run_size;
static unsigned char *data;
static atomic_int stop;

static void die(const char *what)
{
	fprintf(stderr, "mm_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *map_aligned(size_t size, bool huge)
{
	unsigned char *p = mmap(NULL, size + HUGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	p = (unsigned char *)(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
	madvise(p, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return p;
}

static void vm_create(const void *code, size_t len, size_t data_size, bool huge, uint32_t flags)
{
	struct kvm_userspace_memory_region r = { .memory_size = CODE_SIZE };
	unsigned char *code_mem = map_aligned(CODE_SIZE, false);

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	memcpy(code_mem + CODE_GPA, code, len);
	r.userspace_addr = (uintptr_t)code_mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION 0");
	data = map_aligned(data_size, huge);
	r = (struct kvm_userspace_memory_region) {
		.slot = 1, .flags = flags, .guest_phys_addr = DATA_GPA,
		.memory_size = data_size, .userspace_addr = (uintptr_t)data,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION 1");
}

/* A vCPU in flat 32-bit protected mode at CODE_GPA with the given registers. */
static void vcpu_create(struct vcpu *v, int id, uint32_t ebx, uint32_t ecx, uint32_t esi)
{
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2, .rbx = ebx, .rcx = ecx,
				 .rsi = esi };
	struct kvm_segment cs = {
		.limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1,
		.db = 1, .g = 1,
	};
	struct kvm_sregs sregs;

	v->fd = ioctl(vm, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		die("KVM_CREATE_VCPU");
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs = cs;
	cs.type = 3;
	cs.selector = 16;
	sregs.ds = sregs.es = sregs.ss = cs;
	sregs.cr0 = 0x11;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

static void vm_destroy(struct vcpu *v, int n, size_t data_size)
{
	int i;

	for (i = 0; i < n; i++)
		close(v[i].fd);
	close(vm);
	munmap(data, data_size);
}

static void bench_fault(size_t mib, bool huge)
{
	size_t size = mib << 20;
	struct vcpu v;
	double t;

	vm_create(touch_once, sizeof(touch_once), size, huge, 0);
	vcpu_create(&v, 0, 0, size / PAGE, DATA_GPA);
	t = now_s();
	if (ioctl(v.fd, KVM_RUN, 0) < 0 || v.run->exit_reason != KVM_EXIT_HLT)
		die("fault-in did not end in HLT");
	printf("mm_bench %s %.0f\n", huge ? "fault" : "fault4k", (now_s() - t) * 1000);
	vm_destroy(&v, 1, size);
}

static void on_signal(int sig)
{
	(void)sig;
}

static void *run_forever(void *arg)
{
	struct vcpu *v = arg;

	while (!atomic_load(&stop))
		if (ioctl(v->fd, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
	return NULL;
}

static void bench_dirty(int nr_vcpus, size_t mib, double seconds)
{
	struct sigaction sa = { .sa_handler = on_signal };
	size_t size = mib << 20, npages = size / PAGE, per = npages / nr_vcpus;
	uint64_t *bitmap = calloc(npages / 64 + 1, 8), pages = 0;
	struct kvm_dirty_log log = { .slot = 1, .dirty_bitmap = bitmap };
	struct vcpu v[MAX_VCPUS];
	double start, end;
	size_t i;
	int n;

	sigaction(SIGUSR1, &sa, NULL);
	vm_create(touch_forever, sizeof(touch_forever), size, true, KVM_MEM_LOG_DIRTY_PAGES);
	for (n = 0; n < nr_vcpus; n++)
		vcpu_create(&v[n], n, DATA_GPA + n * per * PAGE, per, 0);
	atomic_store(&stop, 0);
	for (n = 0; n < nr_vcpus; n++)
		pthread_create(&v[n].thread, NULL, run_forever, &v[n]);

	/* Warm up: every page mapped once, the first collection not counted. */
	usleep(200000);
	if (ioctl(vm, KVM_GET_DIRTY_LOG, &log) < 0)
		die("KVM_GET_DIRTY_LOG");
	start = now_s();
	do {
		if (ioctl(vm, KVM_GET_DIRTY_LOG, &log) < 0)
			die("KVM_GET_DIRTY_LOG");
		for (i = 0; i < npages / 64 + 1; i++)
			pages += __builtin_popcountll(bitmap[i]);
		end = now_s();
	} while (end - start < seconds);

	atomic_store(&stop, 1);
	for (n = 0; n < nr_vcpus; n++)
		pthread_kill(v[n].thread, SIGUSR1);
	for (n = 0; n < nr_vcpus; n++)
		pthread_join(v[n].thread, NULL);
	printf("mm_bench dirty%d %.0f\n", nr_vcpus, pages / (end - start));
	vm_destroy(v, nr_vcpus, size);
	free(bitmap);
}

int main(int argc, char **argv)
{
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");

	if (argc >= 3 && !strcmp(argv[1], "fault")) {
		bench_fault(strtoul(argv[2], NULL, 0), argc < 4 || strcmp(argv[3], "4k"));
	} else if (argc >= 5 && !strcmp(argv[1], "dirty")) {
		int n = atoi(argv[2]);

		if (n < 1 || n > MAX_VCPUS) {
			fprintf(stderr, "mm_bench: 1 to %d vCPUs\n", MAX_VCPUS);
			return 2;
		}
		bench_dirty(n, strtoul(argv[3], NULL, 0), atof(argv[4]));
	} else {
		fprintf(stderr, "usage: mm_bench fault MIB [4k] | mm_bench dirty VCPUS MIB SECONDS\n");
		return 2;
	}
	return 0;
}
