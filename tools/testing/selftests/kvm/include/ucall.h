/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfork selftests: the guest -> host call channel.
 *
 * Guest code fills a struct kvmf_ucall on its stack and writes to port
 * KVMF_UCALL_PORT with RDI pointing at it; the host sees KVM_EXIT_IO on that
 * port, reads RDI and copies the struct out of guest memory (guest code runs
 * identity-mapped, so the pointer is also the guest physical address).
 */
#ifndef KVMF_UCALL_H
#define KVMF_UCALL_H

#include <stdint.h>

#define KVMF_UCALL_PORT		0x1234
#define KVMF_UCALL_MAX_ARGS	4
#define KVMF_UCALL_BUF_SIZE	256

enum kvmf_ucall_cmd {
	UCALL_NONE,
	UCALL_SYNC,		/* args[0]: the guest's value */
	UCALL_DONE,
	UCALL_PRINTF,		/* buf: the text */
	UCALL_ABORT,		/* args[0]: file, args[1]: line; buf: the message */
	UCALL_UNHANDLED,	/* args[0]: vector, args[1]: RIP, args[2]: error code */
};

struct kvmf_ucall {
	uint64_t cmd;
	uint64_t args[KVMF_UCALL_MAX_ARGS];
	char buf[KVMF_UCALL_BUF_SIZE];
};

/* Guest side. */
void kvmf_guest_ucall(uint64_t cmd, uint64_t arg0, uint64_t arg1, uint64_t arg2);
void kvmf_guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvmf_guest_abort(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define GUEST_SYNC(arg)		kvmf_guest_ucall(UCALL_SYNC, (uint64_t)(arg), 0, 0)
#define GUEST_DONE()		kvmf_guest_ucall(UCALL_DONE, 0, 0, 0)
#define GUEST_PRINTF(fmt, ...)	kvmf_guest_printf(fmt, ##__VA_ARGS__)
#define GUEST_FAIL(fmt, ...)	kvmf_guest_abort(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define GUEST_ASSERT(cond) do {							\
	if (!(cond))								\
		kvmf_guest_abort(__FILE__, __LINE__, "'%s' is false", #cond);	\
} while (0)

#define GUEST_ASSERT_EQ(a, b) do {						\
	uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);			\
	if (__ga != __gb)							\
		kvmf_guest_abort(__FILE__, __LINE__, "%s == %s: %#lx != %#lx",	\
				 #a, #b, __ga, __gb);				\
} while (0)

/*
 * Formats like snprintf, for guest code (which may not call libc): %d %i
 * %u %x %X %p %s %c %% with the l/ll/z length modifiers, '#', '0' and a
 * field width.  Always NUL-terminates; returns the length written.
 */
int kvmf_vsnprintf(char *buf, unsigned long size, const char *fmt, __builtin_va_list ap);

#endif /* KVMF_UCALL_H */
