/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel types and helpers arch/x86/kvm/emulate.c uses, for its
 * userspace builds (tests and fuzzer).  Kept this small on purpose: the
 * emulator must not grow dependencies the kernel build would lack.
 */
#ifndef KVMFORK_EMULATE_SHIM_H
#define KVMFORK_EMULATE_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#endif /* KVMFORK_EMULATE_SHIM_H */
