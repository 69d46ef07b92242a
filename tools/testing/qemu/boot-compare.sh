#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU boot (boot.sh) on kvmfork and then on stock kvm_amd in ONE boot
# of the test VM, so that the two times compare (TCG makes absolute figures
# meaningless):
#
#   tools/testing/vm/kvmf-vm --no-module --mem 1G -- tools/testing/qemu/boot-compare.sh
#
# Passes if both boots reach userspace; prints both times and the ratio
# kvmfork/stock (the goal is at most 1.1), which is a figure, not a verdict:
# one boot's time varies by some 10% here.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
declare -A ms
failed=0

for impl in kvmfork stock; do
	echo "=== $impl"
	if [ "$impl" = kvmfork ]; then
		insmod "$top/kvmfork.ko" || exit 1
	else
		modprobe kvm_amd nested=1 || exit 1
	fi
	log=$("$here/boot.sh")
	r=$?
	echo "$log"
	ms[$impl]=$(awk '$1 == "boot_ms" { print $2 }' <<<"$log")
	[ "$r" = 0 ] || failed=$((failed + 1))
	if [ "$impl" = kvmfork ]; then
		rmmod kvmfork
	else
		rmmod kvm_amd kvm
	fi
done

if [ -n "${ms[kvmfork]}" ] && [ -n "${ms[stock]}" ]; then
	echo "# QEMU boot to userspace: kvmfork ${ms[kvmfork]} ms, stock ${ms[stock]} ms," \
	     "ratio $(awk -v k="${ms[kvmfork]}" -v s="${ms[stock]}" 'BEGIN { printf "%.2f", k / s }')"
fi
echo "$((2 - failed)) passed, $failed failed"
[ "$failed" = 0 ]
