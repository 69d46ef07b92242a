// SPDX-License-Identifier: GPL-2.0
/*
 * The KTAP harness behind kvmf_test.h: one child process per case.
 */
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmf_test.h"

void kvmf_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(1);
}

void kvmf_skip(const char *fmt, ...)
{
	va_list ap;

	printf("# SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(KVMF_EXIT_SKIP);
}

/* Runs one case in a child; returns 0 pass, 1 fail, KVMF_EXIT_SKIP skip. */
static int kvmf_run_case(const struct kvmf_test *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("# fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		printf("# waitpid: %s\n", strerror(errno));
		return 1;
	}
	if (WIFSIGNALED(status)) {
		printf("# killed by signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 1;
	}
	if (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == KVMF_EXIT_SKIP)
		return WEXITSTATUS(status);
	return 1;
}

int kvmf_test_main(const char *suite, const struct kvmf_test *tests, size_t count)
{
	unsigned int passed = 0, failed = 0, skipped = 0;
	size_t i;

	printf("KTAP version 1\n");
	printf("# suite: %s\n", suite);
	printf("1..%zu\n", count);

	for (i = 0; i < count; i++) {
		int r = kvmf_run_case(&tests[i]);

		if (r == KVMF_EXIT_SKIP) {
			printf("ok %zu %s # SKIP\n", i + 1, tests[i].name);
			skipped++;
		} else if (r == 0) {
			printf("ok %zu %s\n", i + 1, tests[i].name);
			passed++;
		} else {
			printf("not ok %zu %s\n", i + 1, tests[i].name);
			failed++;
		}
	}

	printf("# %s: %u passed, %u failed, %u skipped\n", suite, passed, failed, skipped);
	if (failed)
		return 1;
	return passed ? 0 : KVMF_EXIT_SKIP;
}
