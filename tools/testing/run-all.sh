#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything `make test` runs after building: each stage boots the test VM
# (tools/testing/vm/kvmf-vm) one or more times.  Every stage ends with a
# line "N passed, N failed[, N skipped]"; this script adds them up, prints
# how long each stage took, and ends with the same kind of line.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
vm=tools/testing/vm/kvmf-vm
selftests=tools/testing/selftests/kvm/run_tests.sh
load_test=tools/testing/module/load_test.sh

total_passed=0 total_failed=0 total_skipped=0
timings=()
run_start=$(date +%s)

# stage NAME COMMAND...: runs one stage and adds its counts to the totals;
# returns the command's exit status.  With STAGE_LOG set, the stage's output
# is also kept in that file.  With STAGE_REFERENCE=1 the stage is a run of
# the reference (stock kvm_amd): what fails there is a fact about stock, not
# a failure of kvmfork's; the selftest matrix compares it with kvmfork's
# verdicts and fails on any difference known-differences.txt does not
# explain, so here it is reported and not counted.
stage() {
	local name=$1 log start status counts p f s
	shift
	echo "=== $name"
	log=$(mktemp)
	start=$(date +%s)
	"$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	timings+=("$(printf '%-44s %4ss' "$name" $(($(date +%s) - start)))")
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "${STAGE_LOG:-}" ]; then
		cp "$log" "$STAGE_LOG"
	fi
	rm -f "$log"
	p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$counts")
	f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$counts")
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$counts")
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "# $name: exit status $status with no failure counted: counting one"
		f=1
	fi
	if [ "${STAGE_REFERENCE:-0}" = 1 ] && [ "$f" -ne 0 ]; then
		echo "# $name: $f failed on the reference; the matrix below judges them"
		f=0 status=0
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	total_skipped=$((total_skipped + s))
	return "$status"
}

# Pure logic built for userspace: no VM needed.
stage "memslot set unit tests (userspace)" make -s -C tools/testing/memslot test

# The s390 and powerpc backends: cross-built (W=1, clean), never run here.
stage "cross builds: s390x, ppc64le (built, not run)" tools/testing/cross/build.sh s390 powerpc

stage "test VM runner self-test" tools/testing/vm/selftest.sh

stage "module load/unload (cpu max)" $vm --no-module --cpu max -- $load_test
stage "module refused: no NPT (cpu qemu64)" $vm --no-module --cpu qemu64 -- \
	$load_test --refused "no nested paging"
stage "module refused: no SVM (cpu max,svm=off)" $vm --no-module --cpu max,svm=off -- \
	$load_test --refused "has no SVM"

# The vendor x implementation matrix: every selftest on AMD and Hygon CPU
# models, against kvmfork and against Debian's kvm_amd as the reference;
# then the table of every program's verdict in the four runs.
matrix_logs=$(mktemp -d)
for cpu in max Dhyana; do
	vendor=AMD
	[ "$cpu" = Dhyana ] && vendor=Hygon
	STAGE_LOG=$matrix_logs/kvmfork-$vendor.log \
		stage "selftests: kvmfork, cpu $cpu" $vm --cpu "$cpu" -- $selftests
	STAGE_LOG=$matrix_logs/stock-$vendor.log STAGE_REFERENCE=1 \
		stage "selftests: stock kvm_amd, cpu $cpu" $vm --stock --cpu "$cpu" -- $selftests
done
stage "selftest matrix: kvmfork vs stock" tools/testing/matrix.sh "$matrix_logs"
rm -rf "$matrix_logs"

# The demo VMM: three guests, each must print its line.
stage "demo VMM (tools/vmm/kvmf-run)" $vm -- sh -c \
	'n=$(tools/vmm/kvmf-run | grep -c "Hello from a .*-bit guest"); echo "# $n of 3 guests printed";
	 [ "$n" = 3 ] && echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }'

# The nested demo: L2 prints its line through L1, on kvmfork and on stock.
for impl in kvmfork stock; do
	flag=; [ $impl = stock ] && flag=--stock
	stage "nested demo VMM (tools/vmm/kvmf-nested), $impl" $vm $flag -- sh -c \
		'tools/vmm/kvmf-nested | tee /tmp/out; grep -q "^L2 (through L1): Hello from an L2 guest" /tmp/out &&
		 echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }'
done

# Debian's QEMU boots Debian's kernel to userspace on /dev/kvm (its own
# interrupt controllers), on kvmfork and then on stock in one VM boot, with
# both times and their ratio: make demo's command line (boot-shapes.sh's
# monitor shape).  The other command lines users type, in the reported
# 3 GiB test VM, are make qemu-boots: there the test VM itself still
# freezes now and then under kvmfork (Documentation/qemu.rst, "The boot
# hang"), which would fail one run of this in several.
stage "QEMU initramfs (host)" sh -c 'tools/testing/qemu/make-initramfs.sh && echo "1 passed, 0 failed"'
stage "QEMU boots Linux to userspace: kvmfork, then stock" \
	$vm --no-module --mem 1G -- tools/testing/qemu/boot-shapes.sh 1 monitor
# The same with a CPU model that has XSAVE and AVX: the guest's kernel must
# enable AVX state.  Not on stock: under QEMU's TCG stock 6.1 can leave a
# guest's XCR0 in the host (xsave_test).
stage "QEMU boots Linux with XSAVE and AVX (-cpu EPYC), kvmfork" \
	$vm --mem 1G -- env KVMF_BOOT_CPU=EPYC \
	KVMF_BOOT_EXPECT='x86/fpu: Enabled xstate features 0x7' tools/testing/qemu/boot.sh

# Several vCPUs on two host CPUs (single-threaded TCG: see FACTS).
stage "selftests: kvmfork, cpu max, 2 CPUs" $vm --smp 2 --cpu max -- $selftests

# The debug tier (Documentation/debug-kernel.rst): a kernel with KUnit,
# KASAN, lockdep and kmemleak, built from linux-source-6.1 on the first run
# and cached outside the tree after that, and kvmfork built for it.  Then
# the tier's own check (a clean boot; each checker fails a run), kvmfork's
# KUnit suites, and the selftests against kvmfork with a kmemleak scan at the
# end.  The vendor x implementation matrix stays on Debian's kernel above.
# Part of every run: about 7 minutes with the kernel cached, 11 more for the
# kernel's first build on 2 cores (Documentation/debug-kernel.rst, Time).
# KVMF_DEBUG_TIER=0 skips it, for a quick run by hand.
if [ "${KVMF_DEBUG_TIER:-1}" = 0 ]; then
	echo "# debug tier skipped (KVMF_DEBUG_TIER=0)"
elif stage "debug kernel (cached) + kvmfork for it" \
	make -s --no-print-directory debug-modules; then
	stage "debug kernel: clean boot, checkers fire" \
		tools/testing/debug-kernel/selftest.sh
	stage "KUnit suites (debug kernel)" $vm --kernel debug \
		--module build/debug/kvmfork-test.ko -- tools/testing/debug-kernel/kunit.sh
	# vm_lifecycle_test bounds the growth of "Slab" in /proc/meminfo over
	# 1000 VMs; KASAN's quarantine holds freed objects for a while, so on
	# this kernel the slab grows by megabytes without a leak.  It runs on
	# Debian's kernel above; kmemleak is the leak check here.
	debug_selftests=()
	for prog in tools/testing/selftests/kvm/out/*_test; do
		case "${prog##*/}" in
		vm_lifecycle_test)	;;
		*)			debug_selftests+=("$prog") ;;
		esac
	done
	stage "selftests: kvmfork, cpu max, debug+kmemleak" $vm --kernel debug \
		--kmemleak --timeout 2400 --cpu max -- $selftests "${debug_selftests[@]}"
else
	echo "# the debug kernel or kvmfork's build for it failed: its stages did not run"
fi

echo "=== stage timings"
printf '%s\n' "${timings[@]}"
printf '%-44s %4ss\n' "total (these stages)" $(($(date +%s) - run_start))
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
