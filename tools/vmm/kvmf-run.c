// SPDX-License-Identifier: GPL-2.0
/*
 * kvmf-run: the smallest VMM that shows guests running.  It runs three
 * guests one after the other, in 16-bit real mode, 32-bit protected mode
 * and 64-bit long mode; each prints a line, one byte at a time, to the
 * debug port 0xe9 and halts.  The second half of `make demo`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm.h"

#define MEM_SIZE	0x200000ul
#define CODE_GPA	0x1000ul
#define MSG_GPA		0x1100ul
#define PML4_GPA	0x2000ul
#define PDPT_GPA	0x3000ul
#define PD_GPA		0x4000ul
#define DEBUG_PORT	0xe9

/* Print the NUL-terminated string at MSG_GPA to port 0xe9, then HLT. */
static const unsigned char code16[] = {
	0xbe, 0x00, 0x11,		/* mov si, MSG_GPA */
	0xba, 0xe9, 0x00,		/* mov dx, 0xe9 */
	0x8a, 0x04,			/* 1: mov al, [si] */
	0x84, 0xc0,			/* test al, al */
	0x74, 0x04,			/* jz 2f */
	0xee,				/* out dx, al */
	0x46,				/* inc si */
	0xeb, 0xf6,			/* jmp 1b */
	0xf4,				/* 2: hlt */
};

static const unsigned char code32[] = {
	0xbe, 0x00, 0x11, 0x00, 0x00,	/* mov esi, MSG_GPA */
	0xba, 0xe9, 0x00, 0x00, 0x00,	/* mov edx, 0xe9 */
	0x8a, 0x06,			/* 1: mov al, [esi] */
	0x84, 0xc0,			/* test al, al */
	0x74, 0x04,			/* jz 2f */
	0xee,				/* out dx, al */
	0x46,				/* inc esi */
	0xeb, 0xf6,			/* jmp 1b */
	0xf4,				/* 2: hlt */
};

static const unsigned char code64[] = {
	0xbe, 0x00, 0x11, 0x00, 0x00,	/* mov esi, MSG_GPA */
	0xba, 0xe9, 0x00, 0x00, 0x00,	/* mov edx, 0xe9 */
	0x8a, 0x06,			/* 1: mov al, [rsi] */
	0x84, 0xc0,			/* test al, al */
	0x74, 0x05,			/* jz 2f */
	0xee,				/* out dx, al */
	0xff, 0xc6,			/* inc esi */
	0xeb, 0xf5,			/* jmp 1b */
	0xf4,				/* 2: hlt */
};

static const struct demo_guest {
	const char *name;
	int bits;
	const unsigned char *code;
	size_t len;
	const char *msg;
} guests[] = {
	{ "16-bit real mode", 16, code16, sizeof(code16), "Hello from a 16-bit guest\n" },
	{ "32-bit protected mode", 32, code32, sizeof(code32), "Hello from a 32-bit guest\n" },
	{ "64-bit long mode", 64, code64, sizeof(code64), "Hello from a 64-bit guest\n" },
};

static void flat_segment(struct kvm_segment *seg, int selector, int code, int bits)
{
	*seg = (struct kvm_segment) {
		.limit = 0xffffffff, .selector = selector, .type = code ? 11 : 3,
		.present = 1, .s = 1, .g = 1,
		.db = bits == 32 || !code, .l = code && bits == 64,
	};
}

/* Segments, control registers and (64-bit) identity page tables for @bits. */
static void set_mode(int vcpu, unsigned char *mem, int bits)
{
	struct kvm_sregs sregs;
	unsigned long long *pt;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		vmm_die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (bits >= 32) {
		flat_segment(&sregs.cs, 8, 1, bits);
		flat_segment(&sregs.ds, 16, 0, bits);
		sregs.es = sregs.ss = sregs.ds;
		sregs.cr0 = 0x11;			/* PE | ET */
	}
	if (bits == 64) {
		pt = (unsigned long long *)(mem + PML4_GPA);
		pt[0] = PDPT_GPA | 3;
		pt = (unsigned long long *)(mem + PDPT_GPA);
		pt[0] = PD_GPA | 3;
		pt = (unsigned long long *)(mem + PD_GPA);
		pt[0] = 0x83;				/* 2 MiB page at 0 */
		sregs.cr3 = PML4_GPA;
		sregs.cr4 = 0x20;			/* PAE */
		sregs.cr0 = 0x80000011;			/* PG | PE | ET */
		sregs.efer = 0x500;			/* LME | LMA */
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		vmm_die("KVM_SET_SREGS");
}

static int run_guest(int kvm, const struct demo_guest *d)
{
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2 };
	struct vmm vmm = { .kvm = kvm };
	unsigned int exits;

	vmm_create(&vmm, MEM_SIZE);
	memcpy(vmm.mem + CODE_GPA, d->code, d->len);
	strcpy((char *)vmm.mem + MSG_GPA, d->msg);
	set_mode(vmm.vcpu, vmm.mem, d->bits);
	if (ioctl(vmm.vcpu, KVM_SET_REGS, &regs) < 0)
		vmm_die("KVM_SET_REGS");

	printf("%s guest: ", d->name);
	exits = vmm_run_console(&vmm, DEBUG_PORT);
	printf("  (halted after %u exits to userspace)\n", exits);
	vmm_destroy(&vmm);
	return 0;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	size_t i;

	if (kvm < 0)
		vmm_die("open /dev/kvm");
	setvbuf(stdout, NULL, _IONBF, 0);
	for (i = 0; i < sizeof(guests) / sizeof(guests[0]); i++)
		if (run_guest(kvm, &guests[i]))
			return 1;
	return 0;
}
