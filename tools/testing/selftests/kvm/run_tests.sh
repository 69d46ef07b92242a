#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every selftest program in out/ (or those named as arguments), passes
# their KTAP through, and ends with the plain line
#   N passed, N failed, N skipped
# counting test cases.  A program that crashes or exits non-zero without
# reporting a failed case counts as one failure.  Each program's verdict is
# also printed as "# result: <program> PASS|FAIL|SKIP" (SKIP: nothing ran
# but skips), which tools/testing/matrix.sh tabulates.  Exit status: 0 when
# nothing failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ]; then
	programs=("$@")
else
	programs=("$here"/out/*_test)
fi

passed=0 failed=0 skipped=0
for prog in "${programs[@]}"; do
	log=$(mktemp)
	"$prog" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$log")
	p=$(($(grep -cE '^ok [0-9]+ ' "$log") - s))
	f=$(grep -cE '^not ok [0-9]+' "$log")
	rm -f "$log"
	if [ "$status" -ne 0 ] && [ "$status" -ne 4 ] && [ "$f" -eq 0 ]; then
		echo "# $(basename "$prog"): exited with status $status without a failed case"
		f=1
	fi
	if [ "$f" -gt 0 ]; then
		verdict=FAIL
	elif [ "$p" -eq 0 ]; then
		verdict=SKIP
	else
		verdict=PASS
	fi
	echo "# result: $(basename "$prog") $verdict"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
