#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The selftest matrix: one row per selftest program, one column per
# implementation x CPU vendor (kvmfork and stock kvm_amd, on AMD and Hygon
# CPU models), PASS/FAIL/SKIP in each cell, from the logs of the selftest
# stages of run-all.sh (the "# result:" lines of run_tests.sh).
#
#   matrix.sh LOG_DIR
#
# LOG_DIR holds <impl>-<vendor>.log for impl in kvmfork, stock and vendor in
# AMD, Hygon.  Where kvmfork's verdict differs from stock's on the same
# vendor, the difference must be explained by a line "<program> <reason>"
# in tools/testing/selftests/kvm/known-differences.txt; an unexplained
# difference fails (exit 1).  Ends with "N passed, N failed": one per cell
# that matches stock or is explained, one per unexplained difference.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
logs=$1
known=$top/tools/testing/selftests/kvm/known-differences.txt
columns=(kvmfork-AMD stock-AMD kvmfork-Hygon stock-Hygon)

declare -A verdict
programs=()
for col in "${columns[@]}"; do
	log=$logs/$col.log
	[ -f "$log" ] || continue
	while read -r _ _ prog v; do
		verdict[$prog,$col]=$v
		[[ " ${programs[*]} " == *" $prog "* ]] || programs+=("$prog")
	done < <(grep -E '^# result: ' "$log")
done

reason() {
	[ -f "$known" ] && awk -v p="$1" '$1 == p { $1 = ""; sub(/^ /, ""); print; exit }' "$known"
}

printf '%-32s' test
printf ' %-13s' "${columns[@]}"
printf '\n'
same=0 differ=0 notes=()
for prog in "${programs[@]}"; do
	printf '%-32s' "$prog"
	for col in "${columns[@]}"; do
		printf ' %-13s' "${verdict[$prog,$col]:--}"
	done
	printf '\n'
	for vendor in AMD Hygon; do
		k=${verdict[$prog,kvmfork-$vendor]:--} s=${verdict[$prog,stock-$vendor]:--}
		if [ "$k" = "$s" ]; then
			same=$((same + 1))
		elif r=$(reason "$prog") && [ -n "$r" ]; then
			same=$((same + 1))
			notes+=("  $prog on $vendor: kvmfork $k, stock $s: $r")
		else
			differ=$((differ + 1))
			notes+=("  $prog on $vendor: kvmfork $k, stock $s: UNEXPLAINED")
		fi
	done
done
if [ ${#notes[@]} -gt 0 ]; then
	echo "differences from stock:"
	printf '%s\n' "${notes[@]}"
fi
echo "$same passed, $differ failed"
[ "$differ" -eq 0 ]
