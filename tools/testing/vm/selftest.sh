#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Single-quoted $... in this file is meant for the guest's shell to expand.
# shellcheck disable=SC2016
#
# Tests of the kvmf-vm runner itself. Prints KTAP-style results and ends
# with a line "N passed, N failed"; exits non-zero if any case failed.
#
#   tools/testing/vm/selftest.sh
#
# Builds tools/testing/vm/warn_test/warn_test.ko in the tree on the way.
# KDIR may be set; by default it is the build tree of the newest Debian
# kernel in /boot, the one kvmf-vm boots.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$DIR/../../.." && pwd)
VM=$DIR/kvmf-vm

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvmf-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

n=0
passed=0
failed=0
skipped=0

# The output of the last kvmf-vm run, and its exit status.
OUT=$TMP/stdout
ERR=$TMP/stderr
rc=0

# vm ARGS...: run kvmf-vm with no stdin, as CI does, and record the result.
# Errors of kvmf-vm's own shell ("kvmf-vm: line N: ...") are collected from
# every run for the last case.
vm()
{
	rc=0
	"$VM" "$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
	grep -E 'kvmf-vm: line [0-9]+: ' "$ERR" >>"$TMP/shell-errors" || true
}

# Show the last run's output as KTAP diagnostics (only after a failure).
diag()
{
	echo "# exit status $rc; stdout:"
	sed 's/^/#   /' "$OUT"
	echo "# stderr:"
	sed 's/^/#   /' "$ERR"
}

ok()
{
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $1"
}

not_ok()
{
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	diag
}

skip()
{
	n=$((n + 1))
	skipped=$((skipped + 1))
	echo "ok $n - $1 # SKIP $2"
}

# check NAME CONDITION...: ok if the command CONDITION succeeds.
check()
{
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name"
	fi
}

status_is()
{
	[ "$rc" -eq "$1" ]
}

echo "KTAP version 1"
echo "1..16"

# --- plain runs and exit status

vm --no-module true
check "--no-module true exits 0" status_is 0

vm --no-module sh -c 'exit 7'
check "the command's exit status (7) comes back" status_is 7

# --- arguments arrive intact: compare with the same printf on the host

# shellcheck disable=SC1003 # a lone backslash is one of the test words
args=('a b' "it's" '"double"' '$HOME' '' '*' "$(printf 'two\nlines')" '\' ' lead' '--')
vm --no-module -- printf '<%s>\n' "${args[@]}"
printf '<%s>\n' "${args[@]}" >"$TMP/want"
args_ok()
{
	status_is 0 && cmp -s "$OUT" "$TMP/want"
}
check "arguments with spaces and quotes arrive intact" args_ok

# --- the working directory is kept

want_dir=$TOP/tools/testing
(cd "$want_dir" && vm --no-module sh -c 'pwd -P')
cwd_ok()
{
	status_is 0 && [ "$(cat "$OUT")" = "$(cd "$want_dir" && pwd -P)" ]
}
check "the working directory is kept" cwd_ok

# --- environment and run directory; KVMF_KEEP keeps the latter

KVMF_KEEP=1 vm --no-module sh -c \
	'test -d "$KVMF_RUN_DIR" && echo hello >"$KVMF_RUN_DIR/from-guest" &&
	 echo "impl=$KVMF_IMPL cpu=$KVMF_CPU dir=$KVMF_RUN_DIR"'
kept=$(sed -n 's/^kvmf-vm: run directory kept: //p' "$ERR")
env_ok()
{
	status_is 0 &&
		grep -qx 'impl=none cpu=max dir=/.*' "$OUT" &&
		[ -n "$kept" ] && [ -d "$kept" ] &&
		[ "$(cat "$kept/from-guest")" = hello ] &&
		[ "$(cat "$kept/status")" = 0 ] &&
		[ -s "$kept/dmesg.txt" ] && [ -s "$kept/boot_time" ]
}
check "KVMF_RUN_DIR, KVMF_IMPL, KVMF_CPU are set; results in the kept run dir" env_ok
case "$kept" in
"${TMPDIR:-/tmp}"/kvmf-run.*) rm -rf "$kept" ;;
esac

# --- a kernel WARN fails the run although the command passed

if [ -z "${KDIR:-}" ]; then
	kver=$(printf '%s\n' /boot/vmlinuz-*-amd64 | sort -V | tail -n1)
	kver=${kver#/boot/vmlinuz-}
	KDIR=/lib/modules/$kver/build
fi
if make -C "$KDIR" M="$DIR/warn_test" W=1 modules >"$TMP/build.log" 2>&1 &&
	! grep -q 'warning:' "$TMP/build.log"; then
	vm --no-module insmod "$DIR/warn_test/warn_test.ko"
	warn_ok()
	{
		status_is 1 &&
			grep -q '^kvmf-vm: ----- guest console log' "$ERR" &&
			grep -q '^console| .*WARNING: ' "$ERR" &&
			grep -q '^kvmf-vm: .*kernel log shows problems' "$ERR"
	}
	check "a WARN() in the kernel log fails the run and shows the console" warn_ok
else
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - warn_test.ko builds (KDIR=$KDIR) without warnings"
	sed 's/^/#   /' "$TMP/build.log"
fi

# --- a module that will not unload fails the run

if [ -f "$DIR/warn_test/warn_test.ko" ]; then
	# The command unloads the module itself, so the runner's rmmod fails.
	vm --module "$DIR/warn_test/warn_test.ko" -- rmmod warn_test
	unload_ok()
	{
		status_is 1 && grep -q '^kvmf-vm: unloading warn_test failed' "$ERR"
	}
	check "an unload failure fails the run" unload_ok
else
	skip "an unload failure fails the run" "warn_test.ko did not build"
fi

# --- timeout

vm --timeout 5 --no-module sleep 100
timeout_ok()
{
	status_is 124 && grep -q 'timed out' "$ERR"
}
check "--timeout 5 on 'sleep 100' exits 124" timeout_ok

# --- the stock KVM modules load and unload

stock_ok()
{
	status_is 0 && [ "$(cat "$OUT")" = "stock 1" ]
}
for model in max Dhyana; do
	vm --stock --cpu "$model" -- sh -c \
		'echo "$KVMF_IMPL $(grep -c "^kvm_amd " /proc/modules)"'
	check "--stock loads and unloads kvm_amd on --cpu $model" stock_ok
done

# --- OOM killer reports: only the selftests' own memory cgroups pass

# Runs a memory hog (tail keeps one endless line of /dev/zero) in a new
# memory cgroup named $1, limited to 16 MiB, until the OOM killer ends it.
oom_in_cgroup()
{
	vm --no-module -- sh -c '
		mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
		echo +memory >/sys/fs/cgroup/cgroup.subtree_control
		mkdir /sys/fs/cgroup/$0 && echo 16M >/sys/fs/cgroup/$0/memory.max &&
		sh -c "echo \$\$ >/sys/fs/cgroup/$0/cgroup.procs; exec tail /dev/zero"
		grep -q "^oom_kill [1-9]" /sys/fs/cgroup/$0/memory.events' "$1"
}
oom_ours_ok()
{
	status_is 0 && grep -q "note: OOM killer reports for the selftests' own" "$ERR"
}
oom_other_ok()
{
	status_is 1 && grep -q '^kvmf-vm: .*kernel log shows problems' "$ERR" &&
		grep -q 'Call Trace:' "$ERR"
}
oom_in_cgroup kvmf-oom-1
check "an OOM kill in a kvmf-oom-* cgroup does not fail the run" oom_ours_ok
oom_in_cgroup other-oom
check "any other OOM kill fails the run" oom_other_ok

# --- more than one vCPU

vm --smp 2 --no-module nproc
smp_ok()
{
	status_is 0 && [ "$(cat "$OUT")" = 2 ]
}
check "--smp 2 gives the guest two CPUs" smp_ok

# --- a bad module fails as an infrastructure error

printf 'not an ELF file\n' >"$TMP/bad.ko"
vm --module "$TMP/bad.ko" true
bad_ok()
{
	status_is 125 && grep -q 'loading kvmfork failed' "$ERR"
}
check "a module that does not load exits 125" bad_ok

# --- kvmfork.ko itself, when it has been built

if [ -f "$TOP/kvmfork.ko" ]; then
	vm -- sh -c 'echo "$KVMF_IMPL $(grep -c "^kvmfork " /proc/modules)"'
	kvmfork_ok()
	{
		status_is 0 && [ "$(cat "$OUT")" = "kvmfork 1" ]
	}
	check "kvmfork.ko loads and unloads" kvmfork_ok
else
	skip "kvmfork.ko loads and unloads" "no $TOP/kvmfork.ko (run make)"
fi

# --- no run, failed or not, tripped over kvmf-vm's own shell code (such as
# an unset variable or a word run as a command on the timeout path)

shell_ok()
{
	! [ -s "$TMP/shell-errors" ]
}
if shell_ok; then
	ok "kvmf-vm's shell reported no error of its own in any run"
else
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - kvmf-vm's shell reported no error of its own in any run"
	sed 's/^/#   /' "$TMP/shell-errors"
fi

[ "$skipped" -eq 0 ] || echo "# $skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
