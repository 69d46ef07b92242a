/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-driven ioctl dispatch.  Every fd kvmfork hands out declares its
 * ioctls in one table; copying the argument in and out, the checks on
 * integer arguments and the locking happen in kvmf_ioctl_dispatch(), so a
 * handler only ever sees a kernel copy of its argument.
 */
#ifndef KVMFORK_IOCTL_H
#define KVMFORK_IOCTL_H

#include <linux/mutex.h>
#include <linux/types.h>

/*
 * A handler gets the object the fd stands for, the kernel copy of the
 * argument (@data: NULL for _IO ioctls), and the raw argument (the integer
 * of an _IO ioctl, or the user pointer for KVMF_IOCTL_USER_COPY ioctls).
 * It returns a value >= 0 for userspace or a negative errno; for _IOR and
 * _IOWR ioctls @data is copied back to userspace only on success.
 */
typedef long (*kvmf_ioctl_fn)(void *obj, void *data, unsigned long arg);

/* The integer argument must be 0, else -EINVAL. */
#define KVMF_IOCTL_ARG_ZERO	BIT(0)
/* Hold the object's mutex (taken killable: -EINTR on a fatal signal). */
#define KVMF_IOCTL_LOCKED	BIT(1)
/* Variable-size payload: the handler copies from and to @arg itself. */
#define KVMF_IOCTL_USER_COPY	BIT(2)

struct kvmf_ioctl {
	unsigned int cmd;
	kvmf_ioctl_fn fn;
	unsigned int flags;
};

struct kvmf_ioctl_table {
	const struct kvmf_ioctl *entries;
	unsigned int count;
	/* What KVM returns on this kind of fd for a command it does not know. */
	long unknown_cmd_error;
};

#define KVMF_IOCTL_TABLE(array, unknown_err) {			\
	.entries = (array),					\
	.count = ARRAY_SIZE(array),				\
	.unknown_cmd_error = (unknown_err),			\
}

/*
 * Looks @cmd up in the core's @table, then in the arch's @arch_table (which
 * may be NULL); a command in neither gets @table's unknown_cmd_error.
 */
long kvmf_ioctl_dispatch(const struct kvmf_ioctl_table *table,
			 const struct kvmf_ioctl_table *arch_table, void *obj,
			 struct mutex *lock, unsigned int cmd, unsigned long arg);

#endif /* KVMFORK_IOCTL_H */
