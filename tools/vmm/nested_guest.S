/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest of kvmf-nested: a 64-bit L1 hypervisor in a few dozen
 * instructions, and its L2 guest.  Position-independent: kvmf-nested copies
 * it anywhere into the first 2 MiB, which its page tables identity-map.
 *
 * L1 turns on EFER.SVME, points MSR_VM_HSAVE_PA at a page, and runs L2 with
 * VMRUN on the VMCB the VMM laid out at the address in RBX (as a boot loader
 * would hand one over).  L2 has no device of its own: it passes each byte
 * of its message to L1 with VMMCALL (the byte in DIL; VMRUN and #VMEXIT do
 * not switch the general-purpose registers other than RAX and RSP), and L1,
 * which intercepts VMMCALL and HLT, prints it on debug port 0xe9 and resumes
 * L2 past the VMMCALL.  When L2 halts, L1 says so and halts too.
 *
 * Register use in L1: RBX the VMCB, R12 the host save area; L2 owns RSI
 * and RDI, which L1 leaves alone while L2 is not finished.
 */
#define MSR_EFER		0xc0000080
#define MSR_VM_HSAVE_PA		0xc0010117
#define EFER_SVME		0x1000
#define DEBUG_PORT		0xe9

/* VMCB offsets (APM "VMCB Layout"). */
#define VMCB_EXIT_CODE		0x070
#define VMCB_SAVE_RIP		0x578

#define EXIT_HLT		0x078
#define EXIT_VMMCALL		0x081

	.text
	.code64
	.globl	nested_guest_start, nested_guest_end, nested_guest_l2_offset

nested_guest_start:
	/* In: RBX = the VMCB for L2, R12 = a page for the host save area. */
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_SVME, %eax
	wrmsr
	mov	$MSR_VM_HSAVE_PA, %ecx
	mov	%r12d, %eax
	xor	%edx, %edx
	wrmsr

	lea	l1_hello(%rip), %rsi
	call	l1_puts

run_l2:
	mov	%rbx, %rax
	vmrun
	mov	VMCB_EXIT_CODE(%rbx), %rax
	cmp	$EXIT_VMMCALL, %rax
	jne	1f
	mov	%edi, %eax
	mov	$DEBUG_PORT, %dx
	out	%al, %dx
	/* VMMCALL is three bytes long. */
	addq	$3, VMCB_SAVE_RIP(%rbx)
	jmp	run_l2

1:	lea	l1_done(%rip), %rsi
	cmp	$EXIT_HLT, %rax
	je	2f
	lea	l1_unexpected(%rip), %rsi
2:	call	l1_puts
	hlt

/* Prints the NUL-terminated string at RSI on the debug port. */
l1_puts:
	mov	$DEBUG_PORT, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	ret

l2_code:
	lea	l2_message(%rip), %rsi
1:	movzbl	(%rsi), %edi
	test	%edi, %edi
	jz	2f
	vmmcall
	inc	%rsi
	jmp	1b
2:	hlt

l1_hello:
	.asciz	"L1: EFER.SVME on, running L2 with VMRUN\nL2 (through L1): "
l1_done:
	.asciz	"L1: L2 halted (#VMEXIT HLT); L1 halts too\n"
l1_unexpected:
	.asciz	"L1: unexpected #VMEXIT from L2\n"
l2_message:
	.asciz	"Hello from an L2 guest\n"

	.section .rodata
nested_guest_l2_offset:
	.quad	l2_code - nested_guest_start

	.text
nested_guest_end:

	.section .note.GNU-stack, "", @progbits
