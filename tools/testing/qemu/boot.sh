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
# Prints the marker, the time QEMU took, and "1 passed, 0 failed" (or the
# contrary).  The initramfs is built by make-initramfs.sh (make test does).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
smp=${1:-1}
initrd=$top/build/qemu-guest/initramfs.gz
kernel=/boot/vmlinuz-$(uname -r)

[ -r "$initrd" ] || { echo "boot.sh: no $initrd (run tools/testing/qemu/make-initramfs.sh)"; exit 1; }
out=/tmp/qemu-boot.out
start=$(date +%s%N)
timeout 300 qemu-system-x86_64 -accel kvm -machine q35,kernel-irqchip=off -cpu qemu64 \
	-smp "$smp" -m 256 -nographic -vga none -nodefaults -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 panic=-1 quiet" \
	>"$out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# The guest's console, without QEMU's warnings (features kvmfork does not
# offer, the userspace APIC being deprecated) and terminal escapes.
echo "----- guest console -----"
grep -av 'qemu-system-x86_64: warning' "$out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'
echo "----- end of guest console -----"
if grep -aq 'KVMFORK-GUEST: userspace reached' "$out"; then
	echo "# QEMU ($smp vCPU) booted to userspace and powered off in $ms ms (exit $rc)"
	echo "1 passed, 0 failed"
else
	echo "# QEMU ($smp vCPU) did not reach userspace (exit $rc, $ms ms)"
	echo "0 passed, 1 failed"
	exit 1
fi
