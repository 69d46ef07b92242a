/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: a small KTAP test harness.
 *
 * A test program is a table of cases; each case runs in its own child
 * process, so a failed assertion or a crash fails that case only.  A case
 * passes by returning, fails through KVMF_ASSERT*, and skips through
 * kvmf_skip() when what it needs is not offered here (kselftest's exit 4).
 */
#ifndef KVMF_TEST_H
#define KVMF_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KVMF_EXIT_SKIP	4

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct kvmf_test {
	const char *name;
	void (*fn)(void);
};

/* Runs every case, prints KTAP, returns the program's exit status. */
int kvmf_test_main(const char *suite, const struct kvmf_test *tests, size_t count);

void kvmf_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void kvmf_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define KVMF_ASSERT(cond, fmt, ...) do {					\
	if (!(cond))								\
		kvmf_test_fail(__FILE__, __LINE__, "'%s' is false: " fmt,	\
			       #cond, ##__VA_ARGS__);				\
} while (0)

#define KVMF_ASSERT_EQ(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);			\
	if (__a != __b)								\
		kvmf_test_fail(__FILE__, __LINE__, "%s == %s: %lld (0x%llx) != %lld (0x%llx)", \
			       #a, #b, __a, __a, __b, __b);			\
} while (0)

/* A call that must fail with exactly @err (an errno value, positive). */
#define KVMF_ASSERT_ERRNO(call, err) do {					\
	errno = 0;								\
	long __r = (long)(call);						\
	int __e = errno;							\
	if (__r != -1 || __e != (err))						\
		kvmf_test_fail(__FILE__, __LINE__,				\
			       "%s: returned %ld errno %d (%s), expected -1 errno %d (%s)", \
			       #call, __r, __e, strerror(__e), (err), strerror(err)); \
} while (0)

/* A call that must succeed (return >= 0); evaluates to its result. */
#define KVMF_CHECK(call) ({							\
	errno = 0;								\
	long __r = (long)(call);						\
	if (__r < 0)								\
		kvmf_test_fail(__FILE__, __LINE__, "%s failed: %ld errno %d (%s)", \
			       #call, __r, errno, strerror(errno));		\
	__r;									\
})

#endif /* KVMF_TEST_H */
