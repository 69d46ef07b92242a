#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks the debug tier itself: that the debug kernel boots clean, that each
# of its checkers (KASAN, lockdep, atomic sleep, list debugging, kmemleak)
# makes the test VM runner fail a run, and that kvmfork and the stock KVM
# modules load on it.  A checker nobody ever sees fire might as well be off.
# Prints KTAP-style results and ends with "N passed, N failed"; exits non-zero
# if any case failed.
#
#   tools/testing/debug-kernel/selftest.sh
#
# Needs the debug kernel and build/debug/kvmfork.ko ('make debug-modules');
# builds provoke/provoke.ko, which commits the bugs, on the way.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$DIR/../../.." && pwd)
VM=$TOP/tools/testing/vm/kvmf-vm
KDIR=${KVMF_CACHE:-/var/cache/kvmfork}/debug-kernel/build
PROVOKE=$DIR/provoke/provoke.ko

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvmf-debug-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
OUT=$TMP/stdout
ERR=$TMP/stderr

n=0 passed=0 failed=0
rc=0

# vm ARGS...: one run of the debug kernel, output kept for the checks.
# 1 GiB: a kmemleak scan reads all of memory, and takes longer with more.
vm()
{
	rc=0
	"$VM" --kernel debug --mem 1G "$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
	grep -E 'kvmf-vm: line [0-9]+: ' "$ERR" >>"$TMP/shell-errors" || true
}

result()
{
	local name=$1 ok=$2
	n=$((n + 1))
	if [ "$ok" = 1 ]; then
		passed=$((passed + 1))
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name"
		echo "# exit status $rc; last lines of stderr:"
		tail -n 40 "$ERR" | sed 's/^/#   /'
	fi
}

# expect_fail NAME PATTERN...: the last run failed with status 1 (the
# command itself passed) and its stderr matches every ERE given.
expect_fail()
{
	local name=$1 p ok=1
	shift
	[ "$rc" -eq 1 ] || ok=0
	for p in "$@"; do
		grep -qE -- "$p" "$ERR" || ok=0
	done
	result "$name" "$ok"
}

expect_pass()
{
	local ok=1
	[ "$rc" -eq 0 ] || ok=0
	result "$1" "$ok"
}

echo "KTAP version 1"
echo "# building $PROVOKE against $KDIR"
make -s -C "$KDIR" M="$DIR/provoke" W=1 modules >"$TMP/build.log" 2>&1 || {
	cat "$TMP/build.log"
	echo "0 passed, 1 failed"
	exit 1
}

# The control: a clean boot, a module that does nothing, nothing leaked.
vm --module "$PROVOKE" --module-args what=none --kmemleak -- true
expect_pass "clean boot and kmemleak scans, nothing reported"

vm --module "$PROVOKE" --module-args what=kasan -- true
expect_fail "KASAN: out-of-bounds read fails the run" 'BUG: KASAN: slab-out-of-bounds'

vm --module "$PROVOKE" --module-args what=lockdep -- true
expect_fail "lockdep: AB-BA fails the run" 'possible circular locking dependency'

vm --module "$PROVOKE" --module-args what=sleep -- true
expect_fail "might_sleep() under a spinlock fails the run" \
	'BUG: sleeping function called from invalid context'

vm --module "$PROVOKE" --module-args what=list -- true
expect_fail "list corruption fails the run" 'list_add corruption'

vm --module "$PROVOKE" --module-args what=leak --kmemleak -- true
expect_fail "kmemleak: a leak while loaded fails the run" \
	'kmemleak: 1 objects allocated by provoke leaked' 'provoke_alloc\+0x[0-9a-f]+/0x[0-9a-f]+ \[provoke\]'

vm --module "$PROVOKE" --module-args what=exit_leak --kmemleak -- true
expect_fail "kmemleak: a leak left by module exit fails the run, named" \
	'kmemleak: 1 objects allocated by provoke leaked' \
	'= provoke_alloc\+0x[0-9a-f]+ \[provoke \.text[.a-z]*\]'

# A scan's summary line in the kernel log ("N new suspected memory leaks")
# does not fail a run by itself: --kmemleak decides, on the module's own
# leaks.  The line must be there, or this proves nothing.
vm --module "$PROVOKE" --module-args what=leak -- sh -c \
	'sleep 6; for i in 1 2; do echo scan >/sys/kernel/debug/kmemleak; done
	 dmesg | grep -c "new suspected memory leak"'
[ "$rc" -eq 0 ] && [ "$(tail -n1 "$OUT")" -ge 1 ] 2>/dev/null && ok=1 || ok=0
result "a scan's summary line alone does not fail the run" "$ok"

vm -- sh -c 'test -c /dev/kvm && grep -q "^kvmfork " /proc/modules'
expect_pass "kvmfork for the debug kernel loads by default (build/debug/kvmfork.ko)"

vm --stock -- sh -c 'test -c /dev/kvm && grep -q "^kvm_amd " /proc/modules'
expect_pass "--stock loads the debug kernel's own kvm and kvm_amd"

# A timeout in the middle of the kmemleak scans (the command has already
# given its status, the guest has not finished): exit 124, said once.
vm --module "$PROVOKE" --module-args what=none --kmemleak --timeout 20 -- true
[ "$rc" -eq 124 ] && grep -q 'timed out after 20s' "$ERR" && ok=1 || ok=0
result "a timeout during the kmemleak scans exits 124" "$ok"

# None of the runs above tripped over kvmf-vm's own shell code.
rc=0
if [ -s "$TMP/shell-errors" ]; then
	cp "$TMP/shell-errors" "$ERR"
	result "kvmf-vm's shell reported no error of its own in any run" 0
else
	result "kvmf-vm's shell reported no error of its own in any run" 1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
