// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of the ucall channel (see ucall.h).  Runs in the guest:
 * no libc, and nothing that makes the compiler call memset or memcpy.
 */
#include <stdarg.h>

#include "ucall.h"

static void ucall_send(struct kvmf_ucall *uc)
{
	asm volatile("outb %%al, %%dx"
		     : : "a"(0), "d"(KVMF_UCALL_PORT), "D"(uc) : "memory");
}

void kvmf_guest_ucall(uint64_t cmd, uint64_t arg0, uint64_t arg1, uint64_t arg2)
{
	struct kvmf_ucall uc;

	uc.cmd = cmd;
	uc.args[0] = arg0;
	uc.args[1] = arg1;
	uc.args[2] = arg2;
	uc.args[3] = 0;
	uc.buf[0] = '\0';
	ucall_send(&uc);
}

void kvmf_guest_printf(const char *fmt, ...)
{
	struct kvmf_ucall uc;
	va_list ap;

	uc.cmd = UCALL_PRINTF;
	va_start(ap, fmt);
	kvmf_vsnprintf(uc.buf, sizeof(uc.buf), fmt, ap);
	va_end(ap);
	ucall_send(&uc);
}

void kvmf_guest_abort(const char *file, int line, const char *fmt, ...)
{
	struct kvmf_ucall uc;
	va_list ap;

	uc.cmd = UCALL_ABORT;
	uc.args[0] = (uint64_t)file;
	uc.args[1] = line;
	va_start(ap, fmt);
	kvmf_vsnprintf(uc.buf, sizeof(uc.buf), fmt, ap);
	va_end(ap);
	/* The host fails the test here; should it resume us, stop again. */
	for (;;)
		ucall_send(&uc);
}
