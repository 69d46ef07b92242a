#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Exit costs of kvmfork against stock kvm_amd in ONE boot of the test VM
# (TCG makes absolute figures meaningless; only the ratio means something):
#   tools/testing/vm/kvmf-vm --no-module -- tools/testing/bench/run-bench.sh [N]
# Loads kvmfork, runs exit_bench, unloads it, loads kvm_amd, runs it again,
# and prints ns per exit for both and the ratio kvmfork/stock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
n=${1:-20000}

insmod "$top/kvmfork.ko"
kvmfork=$("$here/exit_bench" "$n")
rmmod kvmfork
modprobe kvm_amd
stock=$("$here/exit_bench" "$n")
rmmod kvm_amd kvm

printf '%-6s %14s %14s %8s\n' exit "kvmfork ns" "stock ns" ratio
for kind in cpuid pio mmio; do
	k=$(awk -v k="$kind" '$2 == k { print $3 }' <<<"$kvmfork")
	s=$(awk -v k="$kind" '$2 == k { print $3 }' <<<"$stock")
	if [[ "$k" =~ ^[0-9]+$ && "$s" =~ ^[0-9]+$ ]]; then
		ratio=$(awk -v k="$k" -v s="$s" 'BEGIN { printf "%.2f", k / s }')
	else
		ratio=n/a
	fi
	printf '%-6s %14s %14s %8s\n' "$kind" "$k" "$s" "$ratio"
done
