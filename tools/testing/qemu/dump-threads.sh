# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the QEMU boot tests: dump_threads PID prints what a hung
# process and the kernel know of each of its threads (state, user and
# system ticks, kernel stack) and, with gdb installed, their user stacks,
# as comment lines, so that a hang can be understood from the log alone.

dump_threads()
{
	local pid=$1 t

	echo "# ----- hung process $pid: threads (state, user ticks, system ticks) -----"
	for t in /proc/"$pid"/task/*; do
		echo "# thread ${t##*/}: $(cut -d' ' -f3,14,15 "$t/stat" 2>/dev/null)"
		sed 's/^/#   /' "$t/stack" 2>/dev/null
	done
	if command -v gdb >/dev/null; then
		echo "# ----- user stacks -----"
		timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt 12" 2>&1 |
			grep -E '^Thread|^#' | sed 's/^/#   /'
	fi
}
