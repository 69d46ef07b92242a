#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Debian's QEMU boots Debian's kernel with a busybox initramfs on /dev/kvm
# (kvmfork, or stock kvm_amd with kvmf-vm --stock), with QEMU's own
# interrupt controllers (kernel-irqchip=off), inside the test VM:
#
#   tools/testing/vm/kvmf-vm --mem 1G -- tools/testing/qemu/boot.sh [SMP]
#
# The guest's init prints a marker line from userspace and powers off.
# Prints the guest's console, "boot_ms N" (the time QEMU took) and
# "1 passed, 0 failed" (or the contrary).  The initramfs is built by
# make-initramfs.sh (make test does).
#
# KVMF_BOOT_CPU names QEMU's CPU model (default qemu64); KVMF_BOOT_EXPECT
# is a pattern the guest's kernel log must also show (the log is then not
# quiet), e.g. which XSAVE features the guest enabled.
#
# A boot that has not ended after KVMF_BOOT_LIMIT seconds (default 240; one
# takes 10-30 s here) is a hang: before QEMU is killed, what it and the
# kernel know of it is printed (QEMU's monitor, every thread's state and
# kernel stack, and their user stacks if gdb is installed), so that the hang
# can be understood from the log alone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
smp=${1:-1}
limit=${KVMF_BOOT_LIMIT:-240}
cpu=${KVMF_BOOT_CPU:-qemu64}
expect=${KVMF_BOOT_EXPECT:-}
append="console=ttyS0 panic=-1"
[ -n "$expect" ] || append="$append quiet"
initrd=$top/build/qemu-guest/initramfs.gz
kernel=/boot/vmlinuz-$(uname -r)
out=/tmp/qemu-boot.out
mon=/tmp/qemu-boot-monitor

[ -r "$initrd" ] || { echo "boot.sh: no $initrd (run tools/testing/qemu/make-initramfs.sh)"; exit 1; }

. "$here/dump-threads.sh"

# What the hung QEMU is doing.  The monitor answers only if no vCPU thread
# holds QEMU's big lock, hence the timeout on reading its answers.
dump_hang()
{
	local pid=$1 c

	dump_threads "$pid"
	echo "# ----- QEMU monitor -----"
	timeout 40 cat "$mon.out" >/tmp/qemu-boot-monitor.log &
	for c in "info status" "info cpus" "info registers -a" "info pic" "info lapic" "info irq"; do
		echo "$c" >"$mon.in"
		sleep 5
	done
	wait
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' /tmp/qemu-boot-monitor.log | tr -d '\r' | grep -v '^$' |
		sed 's/^/#   /'
}

rm -f "$mon.in" "$mon.out"
mkfifo "$mon.in" "$mon.out"
start=$(date +%s%N)
qemu-system-x86_64 -accel kvm -machine q35,kernel-irqchip=off -cpu "$cpu" \
	-smp "$smp" -m 256 -nographic -vga none -nodefaults -serial stdio -no-reboot \
	-chardev pipe,id=mon0,path="$mon" -mon chardev=mon0 \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	>"$out" 2>&1 &
qpid=$!
deadline=$(( $(date +%s) + limit ))
hung=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		hung=1
		dump_hang "$qpid"
		kill -9 "$qpid"
		break
	fi
	sleep 0.2
done
wait "$qpid"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
rm -f "$mon.in" "$mon.out"

# The guest's console, without QEMU's warnings (features kvmfork does not
# offer, the userspace APIC being deprecated) and terminal escapes.
echo "----- guest console -----"
grep -av 'qemu-system-x86_64: warning' "$out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'
echo "----- end of guest console -----"
missing=0
if [ -n "$expect" ] && ! grep -aqE "$expect" "$out"; then
	echo "# the guest's log does not show: $expect"
	missing=1
fi
if [ "$hung" = 0 ] && [ "$missing" = 0 ] && grep -aq 'KVMFORK-GUEST: userspace reached' "$out"; then
	echo "# QEMU ($smp vCPU, -cpu $cpu) booted to userspace and powered off in $ms ms (exit $rc)"
	echo "boot_ms $ms"
	echo "1 passed, 0 failed"
else
	[ "$hung" = 1 ] && echo "# QEMU ($smp vCPU) hung: killed after $limit s"
	echo "# QEMU ($smp vCPU, -cpu $cpu) failed (exit $rc, $ms ms)"
	echo "0 passed, 1 failed"
	exit 1
fi
