// SPDX-License-Identifier: GPL-2.0
/*
 * The instruction emulator's link to a vCPU: the ops that reach guest
 * memory (RAM through the memslots; anything else becomes KVM_EXIT_MMIO),
 * emulation of the instruction behind an MMIO nested page fault, its
 * completion after userspace answered, and instruction lengths for CPUs
 * without NRIP save.
 *
 * An MMIO read stops the instruction: the emulator's context stays in the
 * vCPU with nothing of the guest's state changed, and the next KVM_RUN
 * hands userspace's data to the emulator and runs the instruction to its
 * end (KVM_EXIT_MMIO again if it has another MMIO access).  An MMIO write
 * is done once userspace has seen it, in the same way.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>

#include <kvmfork/kvmf_host.h>

#include "emulate.h"
#include "guest_mem.h"
#include "x86.h"

/* The emulator numbers registers as the vCPU does (architectural order). */
static_assert((int)KVMF_NR_REGS == (int)KVMF_NR_GPRS && (int)KVMF_REG_RDI == (int)KVMF_RDI);

/* #PF error code bits for a fault the emulator's own walk ran into. */
#define PFERR_WRITE	BIT(1)
#define PFERR_FETCH	BIT(4)

struct kvmf_x86_emul {
	struct kvmf_emul_ctxt ctxt;
	struct kvmf_vcpu *vcpu;
	struct kvmf_x86_paging paging;
	/* An access userspace has to complete (KVM_EXIT_MMIO), if pending. */
	bool mmio_pending;
	u64 mmio_gpa;
	u8 mmio_len;
	bool mmio_write;
	u8 mmio_data[8];
};

static struct kvmf_x86_emul *to_emul(struct kvmf_emul_ctxt *ctxt)
{
	return container_of(ctxt, struct kvmf_x86_emul, ctxt);
}

/* Translates a linear address, raising #PF in the context when it cannot. */
static int emul_translate(struct kvmf_x86_emul *e, u64 gva, u32 pferr, u64 *gpa)
{
	if (kvmf_x86_gva_to_gpa(e->vcpu, &e->paging, gva, gpa))
		return kvmf_emul_raise(&e->ctxt, KVMF_VEC_PF, pferr, gva);
	return KVMF_EMUL_OK;
}

static int emul_fetch(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf, unsigned int len)
{
	struct kvmf_x86_emul *e = to_emul(ctxt);

	if (kvmf_x86_read_guest_virt(e->vcpu, &e->paging, gva, buf, len))
		return kvmf_emul_raise(ctxt, KVMF_VEC_PF, PFERR_FETCH, gva);
	return KVMF_EMUL_OK;
}

/*
 * A data access.  RAM (and reads of read-only slots) is copied directly;
 * anything else goes to userspace.  An access that straddles two pages is
 * done page by page through RAM, and not emulated if either is MMIO.
 */
static int emul_access(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf, unsigned int len,
		       bool write)
{
	struct kvmf_x86_emul *e = to_emul(ctxt);
	u32 pferr = write ? PFERR_WRITE : 0;
	u64 gpa, last_gpa;
	int r;

	r = emul_translate(e, gva, pferr, &gpa);
	if (r)
		return r;

	if (offset_in_page(gva) + len > PAGE_SIZE) {
		r = emul_translate(e, gva + len - 1, pferr, &last_gpa);
		if (r)
			return r;
		if (write ? kvmf_x86_write_guest_virt(e->vcpu, &e->paging, gva, buf, len) :
			    kvmf_x86_read_guest_virt(e->vcpu, &e->paging, gva, buf, len))
			return KVMF_EMUL_UNHANDLED;
		return KVMF_EMUL_OK;
	}

	/* One page: RAM if a memslot takes the access, MMIO otherwise. */
	if (!(write ? kvmf_x86_write_guest_phys(e->vcpu, gpa, buf, len) :
		      kvmf_x86_read_guest_phys(e->vcpu, gpa, buf, len)))
		return KVMF_EMUL_OK;
	if (len > sizeof(e->mmio_data))
		return KVMF_EMUL_UNHANDLED;

	e->mmio_pending = true;
	e->mmio_gpa = gpa;
	e->mmio_len = len;
	e->mmio_write = write;
	memset(e->mmio_data, 0, sizeof(e->mmio_data));
	if (write)
		memcpy(e->mmio_data, buf, len);
	return KVMF_EMUL_MMIO_EXIT;
}

static int emul_read_mem(struct kvmf_emul_ctxt *ctxt, u64 gva, void *buf, unsigned int len)
{
	return emul_access(ctxt, gva, buf, len, false);
}

static int emul_write_mem(struct kvmf_emul_ctxt *ctxt, u64 gva, const void *buf,
			  unsigned int len)
{
	return emul_access(ctxt, gva, (void *)buf, len, true);
}

static const struct kvmf_emul_ops kvmf_x86_emul_ops = {
	.fetch = emul_fetch,
	.read_mem = emul_read_mem,
	.write_mem = emul_write_mem,
};

int kvmf_x86_emul_create(struct kvmf_vcpu *vcpu)
{
	struct kvmf_x86_emul *e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);

	if (!e)
		return -ENOMEM;
	e->vcpu = vcpu;
	e->ctxt.ops = &kvmf_x86_emul_ops;
	vcpu->arch.emul = e;
	return 0;
}

void kvmf_x86_emul_destroy(struct kvmf_vcpu *vcpu)
{
	kfree(vcpu->arch.emul);
	vcpu->arch.emul = NULL;
}

/* Loads the vCPU's state into a fresh emulation context. */
static void emul_begin(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m)
{
	struct kvmf_x86_emul *e = vcpu->arch.emul;
	struct kvmf_emul_ctxt *ctxt = &e->ctxt;

	memset(ctxt, 0, sizeof(*ctxt));
	ctxt->ops = &kvmf_x86_emul_ops;
	ctxt->mode = m->mode;
	ctxt->cs_d = m->cs_d;
	ctxt->la57 = m->la57;
	memcpy(ctxt->seg_base, m->seg_base, sizeof(ctxt->seg_base));
	memcpy(ctxt->regs, vcpu->arch.regs, sizeof(ctxt->regs));
	ctxt->rip = vcpu->arch.rip;
	ctxt->rflags = vcpu->arch.rflags;
	e->paging = m->paging;
	e->mmio_pending = false;
}

int kvmf_x86_emulation_failure(struct kvmf_vcpu *vcpu)
{
	const struct kvmf_insn *insn = &vcpu->arch.emul->ctxt.insn;
	u64 data[3] = { insn->nr_bytes };

	/* As KVM's emulation failure: the length, then the instruction bytes. */
	memcpy(&data[1], insn->bytes, min_t(unsigned int, insn->nr_bytes, 2 * sizeof(u64)));
	return kvmf_x86_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION, ARRAY_SIZE(data),
				       data);
}

/* Acts on what kvmf_insn_emulate() returned. */
static int emul_finish(struct kvmf_vcpu *vcpu, int r)
{
	struct kvmf_x86_emul *e = vcpu->arch.emul;
	struct kvmf_emul_ctxt *ctxt = &e->ctxt;
	struct kvm_run *run = vcpu->run;

	switch (r) {
	case KVMF_EMUL_OK:
	case KVMF_EMUL_FAULT:
		/*
		 * On a fault the context is unchanged, except that a REP string
		 * instruction keeps the iterations it finished: keep them too,
		 * so that they are not done (written to a device) twice.
		 */
		memcpy(vcpu->arch.regs, ctxt->regs, sizeof(ctxt->regs));
		vcpu->arch.rip = ctxt->rip;
		vcpu->arch.rflags = ctxt->rflags;
		if (r == KVMF_EMUL_OK)
			return KVMF_EXIT_RESUME;
		kvmf_x86_queue_exception(vcpu, ctxt->fault.vector, ctxt->fault.error_code_valid,
					 ctxt->fault.error_code, ctxt->fault.address);
		return KVMF_EXIT_RESUME;
	case KVMF_EMUL_MMIO_EXIT:
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = e->mmio_gpa;
		run->mmio.len = e->mmio_len;
		run->mmio.is_write = e->mmio_write;
		memcpy(run->mmio.data, e->mmio_data, sizeof(run->mmio.data));
		return KVMF_EXIT_TO_USER;
	default:
		return kvmf_x86_emulation_failure(vcpu);
	}
}

int kvmf_x86_emulate_mmio(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m)
{
	struct kvmf_emul_ctxt *ctxt = &vcpu->arch.emul->ctxt;
	int r;

	emul_begin(vcpu, m);
	r = kvmf_insn_decode(ctxt);
	if (r == KVMF_EMUL_OK)
		r = kvmf_insn_emulate(ctxt);
	return emul_finish(vcpu, r);
}

/* At KVM_RUN: userspace has answered the MMIO access; finish the instruction. */
int kvmf_x86_mmio_complete(struct kvmf_vcpu *vcpu)
{
	struct kvmf_x86_emul *e = vcpu->arch.emul;

	if (!e->mmio_pending)
		return KVMF_EXIT_RESUME;
	e->mmio_pending = false;

	kvmf_emul_mmio_complete(&e->ctxt, e->mmio_write ? NULL : vcpu->run->mmio.data,
				e->mmio_len);
	return emul_finish(vcpu, kvmf_insn_emulate(&e->ctxt));
}

const struct kvmf_insn *kvmf_x86_decode(struct kvmf_vcpu *vcpu, const struct kvmf_x86_cpu_mode *m)
{
	struct kvmf_emul_ctxt *ctxt = &vcpu->arch.emul->ctxt;

	emul_begin(vcpu, m);
	return kvmf_insn_decode(ctxt) == KVMF_EMUL_OK ? &ctxt->insn : NULL;
}
