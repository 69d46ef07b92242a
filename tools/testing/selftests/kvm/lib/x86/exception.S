/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest exception entry: one 16-byte stub per vector (the IDT points at
 * kvmf_exc_stubs + 16 * vector), each pushing a dummy error code where the
 * CPU pushes none, then the vector, then jumping to a common path that saves
 * the general-purpose registers as struct kvmf_exc_frame and calls
 * kvmf_guest_exception(frame).  A handler may change the frame (RIP to skip
 * an instruction, registers) before IRETQ returns to the guest code.
 */
	.text
	.balign 16
	.globl kvmf_exc_stubs
kvmf_exc_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if !((vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30))
	pushq $0
	.endif
	pushq $vec
	jmp kvmf_exc_common
	.set vec, vec + 1
	.endr

kvmf_exc_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	/* The ABI wants a 16-byte aligned stack at the call. */
	movq %rsp, %rbx
	andq $-16, %rsp
	call kvmf_guest_exception
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	/* Vector and error code. */
	addq $16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
