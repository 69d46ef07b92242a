// SPDX-License-Identifier: GPL-2.0
/*
 * A VMM killed at a bad moment: the host must survive and the VMM must die
 * promptly, whatever its vCPUs were doing.
 *
 *  - A vCPU's fault waits inside the host's page fault (a userfaultfd
 *    nobody answers): SIGKILL ends it.
 *  - vCPU faults and VM creation compete for the mmap lock with a thread
 *    that keeps it write-locked for long stretches: SIGKILL ends them.
 *  - The dying VMM's memory is reaped with process_mrelease(), which runs
 *    the OOM reaper's own code: the MMU notifier is called in non-blocking
 *    mode while the vCPUs may still be in the guest.
 *  - The VMM runs out of memory in a small memory cgroup and the OOM
 *    killer kills it while its vCPUs run.  The OOM killer dumps a stack
 *    trace to the kernel log; the test VM's log check leaves out reports
 *    about cgroups named kvmf-oom-* (this test's) and still fails on
 *    anything else, a sleeping lock in the kill path included (on the
 *    debug kernel: DEBUG_ATOMIC_SLEEP, PROVE_RAW_LOCK_NESTING).  The OOM
 *    reaper itself only reaps a victim
 *    still alive after its delay (2 s on 6.1), which a VMM whose vCPUs
 *    leave the guest at once rarely is: the process_mrelease() case is
 *    what runs the reaper's code against the notifier every time.
 *
 * Each VMM is a child process; the test is the parent.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"

#define PAGE		4096ul
#define REGION_GPA	(1ull << 30)
#define REGION_GVA	(1ull << 30)
/* Kill to death: generous, the test VM emulates its CPU. */
#define DEATH_SECONDS	5.0

#define GUEST_VAR(vm, var) (*(volatile __typeof__(var) *)((vm)->ram + (uintptr_t)&(var)))

static struct kvmf_guest_vm vm;
static uint64_t guest_region_size;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes every page of the region, round after round, and syncs after each round. */
static void guest_write_all(void *arg)
{
	uint64_t round, off;

	(void)arg;
	for (round = 1;; round++) {
		for (off = 0; off < guest_region_size; off += PAGE)
			*(volatile uint64_t *)(REGION_GVA + off) = round;
		GUEST_SYNC(round);
	}
}

/* Child side: the VM with a region of @size at @mem, mapped in the guest. */
static void child_vm(void *mem, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = REGION_GPA, .memory_size = size,
		.userspace_addr = (uint64_t)mem,
	};

	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	guest_region_size = size;
	kvmf_guest_load_program(&vm);
	KVMF_CHECK(ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &r));
	kvmf_guest_map(&vm, REGION_GVA, REGION_GPA, size);
}

struct vcpu_thread {
	pthread_t thread;
	struct kvmf_guest_vcpu vcpu;
	int ready_fd;		/* written once after the first round */
};

static void *run_writer(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvmf_ucall uc;
	char c = 'r';

	for (;;) {
		KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &t->vcpu, &uc), UCALL_SYNC);
		if (uc.args[0] == 1 && t->ready_fd >= 0)
			KVMF_ASSERT_EQ(write(t->ready_fd, &c, 1), 1);
	}
	return NULL;
}

/* Starts @n writer vCPUs; each writes a byte to @ready_fd after its first round. */
static void child_start_writers(struct vcpu_thread *t, int n, int ready_fd)
{
	int i;

	for (i = 0; i < n; i++) {
		kvmf_guest_vcpu_add_code(&vm, &t[i].vcpu, i, guest_write_all, NULL);
		t[i].ready_fd = ready_fd;
	}
	for (i = 0; i < n; i++)
		KVMF_ASSERT_EQ(pthread_create(&t[i].thread, NULL, run_writer, &t[i]), 0);
}

/* Reads @n bytes from @fd, failing after @seconds. */
static void wait_bytes(int fd, int n, double seconds)
{
	double deadline = now() + seconds;
	char buf[16];

	while (n > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left_ms = (int)((deadline - now()) * 1000);
		ssize_t got;

		KVMF_ASSERT(left_ms > 0, "the VMM did not get ready");
		if (poll(&p, 1, left_ms) <= 0)
			continue;
		got = read(fd, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf));
		KVMF_ASSERT(got > 0, "the VMM died early");
		n -= got;
	}
}

/* SIGKILLs @pid and waits for it: it must die of that signal, promptly. */
static void kill_and_reap(pid_t pid, const char *what)
{
	double start = now(), took;
	int status;

	KVMF_CHECK(kill(pid, SIGKILL));
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		KVMF_ASSERT(r >= 0, "waitpid: %s", strerror(errno));
		if (r == pid)
			break;
		KVMF_ASSERT(now() - start < DEATH_SECONDS, "%s: still alive %.1f s after SIGKILL",
			    what, now() - start);
		usleep(1000);
	}
	took = now() - start;
	printf("# %s: dead %.0f ms after SIGKILL\n", what, took * 1000);
	KVMF_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s: status %#x", what,
		    status);
}

/* The host still runs guests. */
static void host_still_works(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	KVMF_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		struct vcpu_thread t;
		struct kvmf_ucall uc;
		void *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		child_vm(mem, 1 << 20);
		kvmf_guest_vcpu_add_code(&vm, &t.vcpu, 0, guest_write_all, NULL);
		KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &t.vcpu, &uc), UCALL_SYNC);
		KVMF_ASSERT_EQ(*(uint64_t *)mem, 1);
		_exit(0);
	}
	KVMF_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	KVMF_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status), "a new VM failed: %#x", status);
}

/* ---- A fault waiting in userfaultfd ---------------------------------- */

static void uffd_child(int ready)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct vcpu_thread t;
	struct uffd_msg msg;
	struct pollfd p;
	void *mem;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0) {
		KVMF_ASSERT_EQ(write(ready, "s", 1), 1);
		_exit(KVMF_EXIT_SKIP);
	}
	KVMF_CHECK(ioctl(uffd, UFFDIO_API, &api));
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KVMF_ASSERT(mem != MAP_FAILED, "mmap");
	reg = (struct uffdio_register) {
		.range = { .start = (uint64_t)mem, .len = 1 << 20 },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	KVMF_CHECK(ioctl(uffd, UFFDIO_REGISTER, &reg));
	child_vm(mem, 1 << 20);
	child_start_writers(&t, 1, -1);

	/* The vCPU's fault has reached the handler nobody runs. */
	p = (struct pollfd) { .fd = uffd, .events = POLLIN };
	KVMF_ASSERT_EQ(poll(&p, 1, 30000), 1);
	KVMF_ASSERT_EQ(read(uffd, &msg, sizeof(msg)), sizeof(msg));
	KVMF_ASSERT_EQ(msg.event, UFFD_EVENT_PAGEFAULT);
	KVMF_ASSERT_EQ(write(ready, "b", 1), 1);
	for (;;)
		pause();
}

static void test_sigkill_fault_in_userfaultfd(void)
{
	int fds[2], status;
	char c = 0;
	pid_t pid;

	KVMF_CHECK(pipe(fds));
	fflush(stdout);
	pid = fork();
	KVMF_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(fds[0]);
		uffd_child(fds[1]);
	}
	close(fds[1]);
	KVMF_ASSERT_EQ(read(fds[0], &c, 1), 1);
	if (c == 's') {
		waitpid(pid, &status, 0);
		kvmf_skip("no userfaultfd");
	}
	KVMF_ASSERT_EQ(c, 'b');
	/* Still waiting a while later: the fault really blocks. */
	usleep(300000);
	KVMF_ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0);
	kill_and_reap(pid, "vCPU waiting for userfaultfd");
	host_still_works();
}

/* ---- The mmap lock under contention ------------------------------------ */

#define CONTENDED_SIZE	(256ul << 20)
#define FAULT_REGION	(64ul << 20)

/* Keeps the mmap lock write-locked for long stretches: mprotect of many PTEs. */
static void *mmap_lock_hog(void *arg)
{
	unsigned char *mem = arg;

	for (;;) {
		mprotect(mem, CONTENDED_SIZE, PROT_READ);
		mprotect(mem, CONTENDED_SIZE, PROT_READ | PROT_WRITE);
	}
	return NULL;
}

/* Creates and destroys VMs: KVM_CREATE_VM write-locks the mmap lock too. */
static void *vm_creator(void *arg)
{
	int kvm = *(int *)arg;

	for (;;) {
		int fd = ioctl(kvm, KVM_CREATE_VM, 0);

		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static void contention_child(int ready)
{
	struct vcpu_thread t[2];
	pthread_t hog, creator;
	unsigned char *big, *faults;
	uint64_t i;

	big = mmap(NULL, CONTENDED_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	KVMF_ASSERT(big != MAP_FAILED, "mmap");
	/* 4 KiB pages: every one a PTE for mprotect to walk. */
	madvise(big, CONTENDED_SIZE, MADV_NOHUGEPAGE);
	for (i = 0; i < CONTENDED_SIZE; i += PAGE)
		big[i] = 1;
	faults = mmap(NULL, FAULT_REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	KVMF_ASSERT(faults != MAP_FAILED, "mmap");
	madvise(faults, FAULT_REGION, MADV_NOHUGEPAGE);

	child_vm(faults, FAULT_REGION);
	KVMF_ASSERT_EQ(pthread_create(&hog, NULL, mmap_lock_hog, big), 0);
	KVMF_ASSERT_EQ(pthread_create(&creator, NULL, vm_creator, &vm.kvm), 0);
	child_start_writers(t, 2, -1);
	KVMF_ASSERT_EQ(write(ready, "b", 1), 1);
	for (;;) {
		/* Keep the vCPUs faulting: every page has to come back. */
		usleep(50000);
		madvise(faults, FAULT_REGION, MADV_DONTNEED);
	}
}

static void test_sigkill_mmap_lock_contention(void)
{
	int fds[2], status;
	pid_t pid;
	char c;

	KVMF_CHECK(pipe(fds));
	fflush(stdout);
	pid = fork();
	KVMF_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(fds[0]);
		contention_child(fds[1]);
	}
	close(fds[1]);
	KVMF_ASSERT_EQ(read(fds[0], &c, 1), 1);
	usleep(500000);
	KVMF_ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0);
	kill_and_reap(pid, "VMM contending for the mmap lock");
	host_still_works();
}

/* ---- process_mrelease(): the OOM reaper's path -------------------------- */

#define REAP_REGION	(16ul << 20)
#define REAP_VCPUS	2
#define REAP_ROUNDS	5

static void test_process_mrelease_while_running(void)
{
	int round, reaped = 0;

	for (round = 0; round < REAP_ROUNDS; round++) {
		int fds[2], pidfd, status;
		double start;
		pid_t pid;
		long r;

		KVMF_CHECK(pipe(fds));
		fflush(stdout);
		pid = fork();
		KVMF_ASSERT(pid >= 0, "fork");
		if (!pid) {
			struct vcpu_thread t[REAP_VCPUS];
			void *mem = mmap(NULL, REAP_REGION, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			close(fds[0]);
			child_vm(mem, REAP_REGION);
			child_start_writers(t, REAP_VCPUS, fds[1]);
			for (;;)
				pause();
		}
		close(fds[1]);
		/* Every vCPU has mapped the whole region and keeps writing it. */
		wait_bytes(fds[0], REAP_VCPUS, 120);
		close(fds[0]);

		pidfd = syscall(SYS_pidfd_open, pid, 0);
		KVMF_ASSERT(pidfd >= 0, "pidfd_open: %s", strerror(errno));
		start = now();
		KVMF_CHECK(kill(pid, SIGKILL));
		r = syscall(SYS_process_mrelease, pidfd, 0);
		if (r < 0 && errno == ENOSYS)
			kvmf_skip("no process_mrelease()");
		/*
		 * ESRCH: the VMM finished exiting (its mm gone) before the
		 * call, a race a slow kernel (KASAN) loses now and then; that
		 * round reaped nothing, but the others must have.
		 */
		KVMF_ASSERT(r == 0 || errno == ESRCH, "process_mrelease: %s", strerror(errno));
		KVMF_ASSERT_EQ(waitpid(pid, &status, 0), pid);
		KVMF_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x",
			    status);
		close(pidfd);
		reaped += r == 0;
		printf("# round %d: %s and dead in %.0f ms\n", round,
		       r == 0 ? "reaped" : "gone before the reap", (now() - start) * 1000);
	}
	KVMF_ASSERT(reaped > 0, "no round reaped a running VMM");
	host_still_works();
}

/* ---- The OOM killer in a memory cgroup ---------------------------------- */

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define OOM_LIMIT	"96M"
#define OOM_REGION	(512ul << 20)

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

static long cgroup_event(const char *dir, const char *event)
{
	char path[256], line[128];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, event, strlen(event)) && line[strlen(event)] == ' ')
			value = strtol(line + strlen(event) + 1, NULL, 10);
	fclose(f);
	return value;
}

static void test_memcg_oom_kill(void)
{
	char dir[128], path[160], pid_text[32];
	struct stat st;
	int status;
	pid_t pid;

	if (stat(CGROUP_ROOT "/cgroup.controllers", &st))
		mount("none", CGROUP_ROOT, "cgroup2", 0, NULL);
	if (stat(CGROUP_ROOT "/cgroup.controllers", &st))
		kvmf_skip("no cgroup2 at " CGROUP_ROOT);
	write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/kvmf-oom-%d", getpid());
	KVMF_CHECK(mkdir(dir, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	if (!write_file(path, OOM_LIMIT)) {
		rmdir(dir);
		kvmf_skip("no memory controller");
	}
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	write_file(path, "0");

	fflush(stdout);
	pid = fork();
	KVMF_ASSERT(pid >= 0, "fork");
	if (!pid) {
		struct vcpu_thread t[2];
		void *mem;

		snprintf(pid_text, sizeof(pid_text), "%d", getpid());
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		KVMF_ASSERT(write_file(path, pid_text), "cannot join the cgroup");
		/* More than the cgroup may have: the vCPUs' faults hit the limit. */
		mem = mmap(NULL, OOM_REGION, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		child_vm(mem, OOM_REGION);
		child_start_writers(t, 2, -1);
		for (;;)
			pause();
	}
	KVMF_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	printf("# memory.events: oom %ld, oom_kill %ld\n", cgroup_event(dir, "oom"),
	       cgroup_event(dir, "oom_kill"));
	KVMF_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
	KVMF_ASSERT(cgroup_event(dir, "oom_kill") >= 1, "no OOM kill recorded");
	KVMF_CHECK(rmdir(dir));
	host_still_works();
}

static const struct kvmf_test tests[] = {
	{ "sigkill_fault_in_userfaultfd", test_sigkill_fault_in_userfaultfd },
	{ "sigkill_mmap_lock_contention", test_sigkill_mmap_lock_contention },
	{ "process_mrelease_while_running", test_process_mrelease_while_running },
	{ "memcg_oom_kill", test_memcg_oom_kill },
};

int main(void)
{
	return kvmf_test_main("vmm_kill", tests, ARRAY_SIZE(tests));
}
