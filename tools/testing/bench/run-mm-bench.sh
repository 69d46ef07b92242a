#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest memory costs of kvmfork against stock kvm_amd in ONE boot of the
# test VM (TCG makes absolute figures meaningless; only ratios mean
# something).  Build mm_bench on the host first (the VM sees the tree
# read-only), then give the VM room for the guest memory and two CPUs:
#   make modules && make -C tools/testing/bench mm_bench
#   tools/testing/vm/kvmf-vm --no-module --mem 3G --smp 2 -- \
#	tools/testing/bench/run-mm-bench.sh [MIB] [SECONDS]
# MIB (default 1024) is the memory faulted in; SECONDS (default 3) how long
# dirty logging is measured, over 256 MiB.  Each figure is the median of
# three runs.  The ratio column is always kvmfork's time over stock's time
# (for the dirty-log rates: stock's pages/s over kvmfork's), so below 1.00
# means kvmfork is faster.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
mib=${1:-1024}
secs=${2:-3}
bench="$here/mm_bench"
[ -x "$bench" ] || { echo "run-mm-bench.sh: build $bench first (see the top)" >&2; exit 1; }

# median CMD...: the median of three runs' figure.
median() {
	local a b c
	a=$("$@" | awk '{ print $3 }')
	b=$("$@" | awk '{ print $3 }')
	c=$("$@" | awk '{ print $3 }')
	printf '%s\n' "$a" "$b" "$c" | sort -n | sed -n 2p
}

measure() {
	echo "fault $(median "$bench" fault "$mib")"
	echo "fault4k $(median "$bench" fault "$mib" 4k)"
	echo "dirty1 $(median "$bench" dirty 1 256 "$secs")"
	echo "dirty2 $(median "$bench" dirty 2 256 "$secs")"
}

insmod "$top/kvmfork.ko"
kvmfork=$(measure)
rmmod kvmfork
modprobe kvm_amd
stock=$(measure)
rmmod kvm_amd kvm

printf '%-9s %-34s %12s %12s %7s\n' what unit kvmfork stock ratio
while read -r kind unit; do
	k=$(awk -v k="$kind" '$1 == k { print $2 }' <<<"$kvmfork")
	s=$(awk -v k="$kind" '$1 == k { print $2 }' <<<"$stock")
	case $kind in
	dirty*) ratio=$(awk -v k="$k" -v s="$s" 'BEGIN { printf "%.2f", s / k }') ;;
	*) ratio=$(awk -v k="$k" -v s="$s" 'BEGIN { printf "%.2f", k / s }') ;;
	esac
	printf '%-9s %-34s %12s %12s %7s\n' "$kind" "$unit" "$k" "$s" "$ratio"
done <<EOT
fault ms to fault in ${mib} MiB (THP host)
fault4k ms to fault in ${mib} MiB (4 KiB host)
dirty1 dirty pages/s collected, 1 vCPU
dirty2 dirty pages/s collected, 2 vCPUs
EOT
