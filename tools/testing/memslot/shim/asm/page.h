/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: x86's 4 KiB base page, as the kernel build sees it. */
#ifndef KVMF_SHIM_ASM_PAGE_H
#define KVMF_SHIM_ASM_PAGE_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

#endif /* KVMF_SHIM_ASM_PAGE_H */
