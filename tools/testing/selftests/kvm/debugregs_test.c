// SPDX-License-Identifier: GPL-2.0
/*
 * Debug registers: KVM_CAP_DEBUGREGS, KVM_GET/SET_DEBUGREGS with their
 * validity rules, and the guest's own MOV to and from DR0-DR7: values it
 * and the VMM see alike, DR4/DR5 aliasing, #UD and #GP where the SDM and
 * APM put them, breakpoints that really fire in the guest, and one VM's
 * registers never showing in another.  The expectations are stock
 * kvm_amd's (Debian's 6.1 under QEMU's -cpu max).
 */
#include <sys/ioctl.h>

#include "kvmf_guest.h"
#include "kvmf_test.h"
#include "kvmf_util.h"
#include "x86/processor.h"

#define DB_VECTOR	1
#define UD_VECTOR	6
#define GP_VECTOR	13
#define CR4_DE		(1ull << 3)

#define DR6_RESET	0xffff0ff0ull
#define DR6_B0		(1ull << 0)
#define DR6_BD		(1ull << 13)
#define DR7_RESET	0x400ull
#define DR7_L0		(1ull << 0)
#define DR7_GD		(1ull << 13)
/* Breakpoint 0 on data writes (R/W0 = 01), 4 bytes (LEN0 = 11). */
#define DR7_W0_LEN4	((1ull << 16) | (3ull << 18))

static struct kvmf_guest_vm vm;
static struct kvmf_guest_vcpu vcpu;

/* ---- Guest side ---- */

/* Exceptions the guest took: count and vector of the last, and DR6 and DR7 in the handler. */
static volatile uint64_t exc_count, exc_vector, exc_dr6, exc_dr7;

/*
 * Every MOV DR below is written with RAX (3 bytes: 0F 21/23 /r), so a
 * faulting one is skipped by adding 3 to RIP.
 */
#define MOV_DR_LEN	3

#define READ_DR(n) ({							\
	uint64_t __v = 0;						\
	asm volatile("mov %%dr" #n ", %0" : "+a"(__v));			\
	__v; })
#define WRITE_DR(n, v) asm volatile("mov %0, %%dr" #n : : "a"((uint64_t)(v)) : "memory")

static void record_fault(struct kvmf_exc_frame *frame)
{
	exc_count++;
	exc_vector = frame->vector;
	frame->rip += MOV_DR_LEN;
}

/* #DB of a general-detect fault: DR6 and DR7 as the handler finds them. */
static void record_db_fault(struct kvmf_exc_frame *frame)
{
	exc_dr6 = READ_DR(6);
	exc_dr7 = READ_DR(7);
	record_fault(frame);
}

/* #DB of a data breakpoint: a trap, RIP is already past the write. */
static void record_db_trap(struct kvmf_exc_frame *frame)
{
	exc_count++;
	exc_vector = frame->vector;
	exc_dr6 = READ_DR(6);
	WRITE_DR(6, 0);
}

static void guest_set_cr4(uint64_t set, uint64_t clear)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"((cr4 | set) & ~clear));
}

/* ---- Host side ---- */

static struct kvm_debugregs get_debugregs(void)
{
	struct kvm_debugregs d;

	memset(&d, 0xa5, sizeof(d));
	KVMF_CHECK(ioctl(vcpu.fd, KVM_GET_DEBUGREGS, &d));
	return d;
}

static void create_guest(void (*fn)(void *arg))
{
	kvmf_guest_vm_create(&vm, KVMF_GUEST_PROGRAM_RAM);
	kvmf_guest_load_program(&vm);
	kvmf_guest_vcpu_add_code(&vm, &vcpu, 0, fn, NULL);
}

#define expect_sync(a0, a1, a2)	KVMF_GUEST_EXPECT_SYNC(&vm, &vcpu, a0, a1, a2)

static void expect_done(void)
{
	KVMF_ASSERT_EQ(kvmf_guest_run_ucall(&vm, &vcpu, &(struct kvmf_ucall){}), UCALL_DONE);
}

/* ---- Cases ---- */

static void test_cap(void)
{
	KVMF_ASSERT_EQ(ioctl(kvmf_open_dev(), KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS), 1);
}

static void test_ioctls(void)
{
	struct kvm_debugregs d, set = {
		.db = { 0x1000, 0xffffffff80001000ull, 0x7fff0000, 0x10 },
		.dr6 = DR6_RESET | DR6_B0,
		.dr7 = DR7_RESET | DR7_L0 | DR7_W0_LEN4,
	}, bad;
	unsigned int i;

	kvmf_guest_vm_create(&vm, KVMF_GUEST_MIN_RAM);
	kvmf_guest_vcpu_add(&vm, &vcpu, 0);

	/* A new vCPU has the registers' reset values. */
	d = get_debugregs();
	for (i = 0; i < 4; i++)
		KVMF_ASSERT_EQ(d.db[i], 0);
	KVMF_ASSERT_EQ(d.dr6, DR6_RESET);
	KVMF_ASSERT_EQ(d.dr7, DR7_RESET);
	KVMF_ASSERT_EQ(d.flags, 0);

	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, &set), 0);
	d = get_debugregs();
	KVMF_ASSERT(!memcmp(d.db, set.db, sizeof(d.db)), "DR0-DR3 differ from what was set");
	KVMF_ASSERT_EQ(d.dr6, set.dr6);
	KVMF_ASSERT_EQ(d.dr7, set.dr7);

	/* Refused, and nothing changes: flags, bits above 31 of DR6 or DR7. */
	bad = set;
	bad.db[0] = 0x2000;
	bad.flags = 1;
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, &bad), EINVAL);
	bad.flags = 0;
	bad.dr6 = set.dr6 | (1ull << 32);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, &bad), EINVAL);
	bad.dr6 = set.dr6;
	bad.dr7 = set.dr7 | (1ull << 40);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, &bad), EINVAL);
	d = get_debugregs();
	KVMF_ASSERT_EQ(d.db[0], set.db[0]);
	KVMF_ASSERT_EQ(d.dr7, set.dr7);

	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_GET_DEBUGREGS, NULL), EFAULT);
	KVMF_ASSERT_ERRNO(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, NULL), EFAULT);
}

/* The VMM's DR0-DR3 in, the guest's own out, through ucalls. */
static void guest_mov(void *arg)
{
	(void)arg;
	kvmf_guest_ucall(UCALL_SYNC, READ_DR(0), READ_DR(1), READ_DR(2));
	kvmf_guest_ucall(UCALL_SYNC, READ_DR(3), READ_DR(6), READ_DR(7));
	WRITE_DR(0, 0xaaaa0000);
	WRITE_DR(1, 0xffff8000bbbb0000ull);
	WRITE_DR(2, 0xcccc0000);
	WRITE_DR(3, 0xdddd0000);
	/* Only the bits software may change: the rest reads as fixed. */
	WRITE_DR(6, 0);
	WRITE_DR(7, 0);
	kvmf_guest_ucall(UCALL_SYNC, READ_DR(1), READ_DR(6), READ_DR(7));
	GUEST_DONE();
}

static void test_guest_mov(void)
{
	struct kvm_debugregs d = {
		.db = { 0x1111, 0x2222, 0x3333, 0x4444 },
		.dr6 = DR6_RESET,
		.dr7 = DR7_RESET,
	};

	create_guest(guest_mov);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, &d), 0);
	expect_sync(0x1111, 0x2222, 0x3333);
	expect_sync(0x4444, DR6_RESET, DR7_RESET);
	expect_sync(0xffff8000bbbb0000ull, DR6_RESET, DR7_RESET);
	d = get_debugregs();
	KVMF_ASSERT_EQ(d.db[0], 0xaaaa0000);
	KVMF_ASSERT_EQ(d.db[1], 0xffff8000bbbb0000ull);
	KVMF_ASSERT_EQ(d.db[2], 0xcccc0000);
	KVMF_ASSERT_EQ(d.db[3], 0xdddd0000);
	expect_done();
}

/* DR4 and DR5 are DR6 and DR7 with CR4.DE clear, #UD with it set. */
static void guest_dr4_dr5(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[UD_VECTOR] = record_fault;
	guest_set_cr4(0, CR4_DE);
	WRITE_DR(7, DR7_RESET | DR7_L0);
	kvmf_guest_ucall(UCALL_SYNC, READ_DR(4), READ_DR(5), exc_count);
	WRITE_DR(5, DR7_RESET);
	kvmf_guest_ucall(UCALL_SYNC, READ_DR(7), exc_count, 0);

	guest_set_cr4(CR4_DE, 0);
	(void)READ_DR(4);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, 0);
	WRITE_DR(5, DR7_RESET | DR7_L0);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, READ_DR(7));
	GUEST_DONE();
}

static void test_dr4_dr5(void)
{
	create_guest(guest_dr4_dr5);
	expect_sync(DR6_RESET, DR7_RESET | DR7_L0, 0);
	expect_sync(DR7_RESET, 0, 0);
	expect_sync(1, UD_VECTOR, 0);
	expect_sync(2, UD_VECTOR, DR7_RESET);
	expect_done();
}

/* DR6 and DR7 are 32 bits wide even in long mode: setting a bit above is #GP(0). */
static void guest_upper_bits(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[GP_VECTOR] = record_fault;
	WRITE_DR(7, DR7_RESET | DR7_L0 | (1ull << 32));
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, READ_DR(7));
	WRITE_DR(6, DR6_RESET | (1ull << 63));
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, READ_DR(6));
	/* DR0-DR3 hold 64-bit addresses. */
	WRITE_DR(3, 0xfedcba9876543210ull);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, READ_DR(3), 0);
	GUEST_DONE();
}

static void test_upper_bits(void)
{
	create_guest(guest_upper_bits);
	expect_sync(1, GP_VECTOR, DR7_RESET);
	expect_sync(2, GP_VECTOR, DR6_RESET);
	expect_sync(2, 0xfedcba9876543210ull, 0);
	expect_done();
}

/* A data breakpoint on a guest variable fires on a write to it, not on a read. */
static volatile uint32_t watched;

static void guest_breakpoint(void *arg)
{
	uint32_t v;

	(void)arg;
	kvmf_guest_exc_handlers[DB_VECTOR] = record_db_trap;
	/* Armed by the VMM (KVM_SET_DEBUGREGS): DR0 = &watched, writes. */
	v = watched;
	kvmf_guest_ucall(UCALL_SYNC, exc_count, v, 0);
	watched = 1;
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, exc_dr6 & 0xf);
	/* Disarmed and armed again by the guest itself. */
	WRITE_DR(7, DR7_RESET);
	watched = 2;
	kvmf_guest_ucall(UCALL_SYNC, exc_count, 0, 0);
	WRITE_DR(0, (uint64_t)&watched);
	WRITE_DR(7, DR7_RESET | DR7_L0 | DR7_W0_LEN4);
	watched = 3;
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, exc_dr6 & 0xf);
	WRITE_DR(7, DR7_RESET);
	GUEST_DONE();
}

static void test_breakpoint(void)
{
	struct kvm_debugregs d = {
		.db = { (uint64_t)&watched },
		.dr6 = DR6_RESET,
		.dr7 = DR7_RESET | DR7_L0 | DR7_W0_LEN4,
	};

	/*
	 * QEMU's TCG loads DR7 from the VMCB at VMRUN without arming its
	 * breakpoints: stock kvm_amd fails this case there exactly as
	 * kvmfork would.
	 */
	if (kvmf_host_is_qemu_tcg())
		kvmf_skip("QEMU's TCG does not arm breakpoints VMRUN loads from the VMCB");
	create_guest(guest_breakpoint);
	KVMF_ASSERT_EQ(ioctl(vcpu.fd, KVM_SET_DEBUGREGS, &d), 0);
	expect_sync(0, 0, 0);
	expect_sync(1, DB_VECTOR, DR6_B0);
	expect_sync(1, 0, 0);
	expect_sync(2, DB_VECTOR, DR6_B0);
	expect_done();
}

/*
 * DR7.GD: any MOV DR faults with #DB before it runs; the handler finds BD
 * in DR6 and GD cleared, so that it may touch the registers itself.
 */
static void guest_general_detect(void *arg)
{
	(void)arg;
	kvmf_guest_exc_handlers[DB_VECTOR] = record_db_fault;
	WRITE_DR(0, 0x1234);
	WRITE_DR(7, DR7_RESET | DR7_GD);
	WRITE_DR(0, 0x5678);
	kvmf_guest_ucall(UCALL_SYNC, exc_count, exc_vector, READ_DR(0));
	kvmf_guest_ucall(UCALL_SYNC, exc_dr6 & DR6_BD, exc_dr7 & DR7_GD, READ_DR(7));
	GUEST_DONE();
}

static void test_general_detect(void)
{
	create_guest(guest_general_detect);
	expect_sync(1, DB_VECTOR, 0x1234);
	expect_sync(DR6_BD, 0, DR7_RESET);
	expect_done();
}

/* One VM's debug registers never show in another's. */
static void guest_fill(void *arg)
{
	(void)arg;
	WRITE_DR(0, 0x10000);
	WRITE_DR(1, 0x20000);
	WRITE_DR(2, 0x30000);
	WRITE_DR(3, 0x40000);
	WRITE_DR(7, DR7_RESET | 0xff);
	GUEST_DONE();
}

static void guest_peek(void *arg)
{
	(void)arg;
	kvmf_guest_ucall(UCALL_SYNC, READ_DR(0) | READ_DR(1), READ_DR(2) | READ_DR(3), READ_DR(7));
	GUEST_DONE();
}

/* The first VM stays open, its registers set, while the second runs. */
static void test_isolation(void)
{
	create_guest(guest_fill);
	expect_done();

	create_guest(guest_peek);
	expect_sync(0, 0, DR7_RESET);
	expect_done();
}

static const struct kvmf_test tests[] = {
	{ "cap", test_cap },
	{ "ioctls", test_ioctls },
	{ "guest_mov", test_guest_mov },
	{ "dr4_dr5", test_dr4_dr5 },
	{ "upper_bits", test_upper_bits },
	{ "breakpoint", test_breakpoint },
	{ "general_detect", test_general_detect },
	{ "isolation", test_isolation },
};

int main(void)
{
	return kvmf_test_main("debugregs", tests, ARRAY_SIZE(tests));
}
