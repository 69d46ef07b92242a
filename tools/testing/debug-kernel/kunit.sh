#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Collects the results of kvmfork's KUnit suites inside the test VM, on the
# debug kernel, after kvmf-vm has loaded kvmfork-test.ko (KUnit runs a
# module's suites while it loads):
#
#   tools/testing/vm/kvmf-vm --kernel debug \
#       --module build/debug/kvmfork-test.ko -- tools/testing/debug-kernel/kunit.sh
#
# Prints the suites' KTAP, taken from the kernel log, and ends with
# "N passed, N failed, N skipped" counting test cases (not suites), the way
# tools/testing/run-all.sh adds them up.  Suite names given as arguments
# select those suites (each must have run); by default every suite counts.
# Exit status: 0 when every case passed or was skipped.
#
# The kernel log rather than /sys/kernel/debug/kunit/SUITE/results: on 6.1
# those keep 512 bytes per case, and a failing case's messages push its own
# "not ok" line out of them.
set -euo pipefail

log=$(mktemp)
trap 'rm -f "$log" "$log.out"' EXIT
# util-linux dmesg without timestamps; the host root's, run in the VM.
dmesg --notime >"$log"

# One pass over the log: the KTAP lines of the selected suites, then a
# summary line "SUMMARY passed failed skipped".  A suite's cases are indented
# one level ("    ok 1 name"); parameterised cases' subtests are indented
# further and not counted.  A planned case without a result line (its test
# thread died) counts as failed, as does a named suite that never ran.
#
# KUnit also prints its own count before a suite's result line ("# SUITE:
# pass:N fail:N skip:N total:N"); when it is there, it decides.  A failed
# expectation's message can be longer than a kernel log record, and the
# truncated record then runs into the next one, "ok N" line included, so the
# case lines alone undercount; the count line is looked for anywhere in a
# line for the same reason.  A suite reported "not ok" with no failed case
# (its init failed, say) counts one failure.
awk -v want="$*" '
	BEGIN {
		nw = split(want, w, " ")
		for (i = 1; i <= nw; i++)
			wanted[w[i]] = 1
	}
	function finish_suite(suite_failed,   done_cases) {
		if (suite == "" || !counting) {
			suite = ""
			return
		}
		if (kt_total >= 0) {
			if (kt_pass != sp || kt_fail != sf || kt_skip != ss)
				printf "# %s: KUnit counts pass:%d fail:%d skip:%d, the log shows %d/%d/%d case lines; KUnit'"'"'s count used\n",
					suite, kt_pass, kt_fail, kt_skip, sp, sf, ss
			sp = kt_pass; sf = kt_fail; ss = kt_skip
		}
		done_cases = sp + sf + ss
		if (planned > done_cases) {
			printf "# %s: %d of %d cases have no result\n", suite,
				planned - done_cases, planned
			sf += planned - done_cases
		}
		if (suite_failed && sf == 0) {
			printf "# %s: the suite failed without a failed case\n", suite
			sf = 1
		}
		p += sp; f += sf; s += ss
		suite = ""
	}
	/^    # Subtest: / {
		finish_suite(0)
		suite = $3
		counting = nw == 0 || (suite in wanted)
		seen[suite] = 1
		planned = sp = sf = ss = 0
		kt_total = -1
		if (counting)
			print "    KTAP version 1"
	}
	suite == "" { next }
	counting { print }
	match($0, /# [A-Za-z0-9_]+: pass:[0-9]+ fail:[0-9]+ skip:[0-9]+ total:[0-9]+/) {
		split(substr($0, RSTART + 2, RLENGTH - 2), kt, /[: ]+/)
		if (kt[1] == suite) {
			kt_pass = kt[3] + 0; kt_fail = kt[5] + 0
			kt_skip = kt[7] + 0; kt_total = kt[9] + 0
		}
	}
	/^    1\.\.[0-9]+$/ { planned = substr($1, 4) + 0 }
	/^    ok [0-9]+ / {
		if ($0 ~ /# SKIP/)
			ss++
		else
			sp++
	}
	/^    not ok [0-9]+ / { sf++ }
	/^(not )?ok [0-9]+ / { finish_suite($1 == "not") }
	END {
		finish_suite(0)
		nseen = 0
		for (x in seen)
			nseen++
		if (nseen == 0) {
			print "# no KUnit suite in the kernel log (is kvmfork-test.ko loaded?)"
			f++
		}
		for (i = 1; i <= nw; i++)
			if (!(w[i] in seen)) {
				printf "# suite %s did not run\n", w[i]
				f++
			}
		printf "SUMMARY %d %d %d\n", p, f, s
	}' "$log" >"$log.out"

grep -v '^SUMMARY ' "$log.out"
# No process substitution: the VM's /dev (devtmpfs) has no /dev/fd.
summary=$(grep '^SUMMARY ' "$log.out")
read -r _ passed failed skipped <<<"$summary"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
