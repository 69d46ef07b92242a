/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering an SVM guest.  VMRUN saves and restores only part of the host
 * state (APM: "VMRUN" and "#VMEXIT"): this stub saves the callee-saved
 * registers, loads the guest's general-purpose registers (RAX and RSP are
 * in the VMCB), switches the VMLOAD/VMSAVE state (FS, GS, TR, LDTR, the
 * SYSCALL/SYSENTER MSRs, KernelGsBase) around VMRUN, and stores the guest's
 * registers back.  The caller has cleared GIF and set RFLAGS.IF, so that a
 * physical interrupt in the guest causes #VMEXIT and is taken only after
 * the caller sets GIF again.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

/* Offsets in the u64 register array, by architectural register number. */
#define REG_RCX		(1 * 8)
#define REG_RDX		(2 * 8)
#define REG_RBX		(3 * 8)
#define REG_RBP		(5 * 8)
#define REG_RSI		(6 * 8)
#define REG_RDI		(7 * 8)
#define REG_R8		(8 * 8)
#define REG_R9		(9 * 8)
#define REG_R10		(10 * 8)
#define REG_R11		(11 * 8)
#define REG_R12		(12 * 8)
#define REG_R13		(13 * 8)
#define REG_R14		(14 * 8)
#define REG_R15		(15 * 8)

	.text

/*
 * void kvmf_svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_vmsave_pa)
 */
SYM_FUNC_START(kvmf_svm_vmrun)
	push %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	/* Keep the arguments on the stack: every register is the guest's soon. */
	push %rsi
	push %rdi
	push %rdx

	/* Host FS/GS/TR/LDTR and friends go to the per-CPU host area. */
	mov %rdx, %rax
	vmsave %rax

	/* Guest registers, with RSI last since it holds the array. */
	mov REG_RCX(%rsi), %rcx
	mov REG_RDX(%rsi), %rdx
	mov REG_RBX(%rsi), %rbx
	mov REG_RBP(%rsi), %rbp
	mov REG_RDI(%rsi), %rdi
	mov REG_R8(%rsi), %r8
	mov REG_R9(%rsi), %r9
	mov REG_R10(%rsi), %r10
	mov REG_R11(%rsi), %r11
	mov REG_R12(%rsi), %r12
	mov REG_R13(%rsi), %r13
	mov REG_R14(%rsi), %r14
	mov REG_R15(%rsi), %r15
	mov REG_RSI(%rsi), %rsi

	/* RAX = the VMCB, saved at 8(%rsp). */
	mov 8(%rsp), %rax
	vmload %rax
	vmrun %rax
	vmsave %rax

	/* The host RSP is back; 16(%rsp) is the register array. */
	mov 16(%rsp), %rax
	mov %rcx, REG_RCX(%rax)
	mov %rdx, REG_RDX(%rax)
	mov %rbx, REG_RBX(%rax)
	mov %rbp, REG_RBP(%rax)
	mov %rsi, REG_RSI(%rax)
	mov %rdi, REG_RDI(%rax)
	mov %r8, REG_R8(%rax)
	mov %r9, REG_R9(%rax)
	mov %r10, REG_R10(%rax)
	mov %r11, REG_R11(%rax)
	mov %r12, REG_R12(%rax)
	mov %r13, REG_R13(%rax)
	mov %r14, REG_R14(%rax)
	mov %r15, REG_R15(%rax)

	/* Host FS/GS/TR/LDTR back before anything uses per-CPU data. */
	pop %rax
	vmload %rax

	/* The guest must not steer the host's return predictions. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	/* Leave no guest value in a register the host does not reload. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d

	add $16, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(kvmf_svm_vmrun)
