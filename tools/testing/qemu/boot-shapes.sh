#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# QEMU's Linux boot with the command lines users type, on kvmfork and then
# on stock kvm_amd in ONE boot of the test VM:
#
#   tools/testing/vm/kvmf-vm --no-module --mem 3G -- \
#       tools/testing/qemu/boot-shapes.sh [BOOTS [SHAPE...]]
#
# boot.sh, the boot of make demo, gives QEMU a monitor on a pipe and sends
# its console to a file; the shapes here have no monitor and differ in
# what QEMU's serial port and stdio are attached to, which changes when and
# from which thread QEMU writes, and so the timing between its I/O thread
# and its vCPU thread (Documentation/qemu.rst, "The boot hang"):
#
#   tty         -nodefaults -nographic -serial stdio -m 512, 'quiet': the
#               command line of a user at a terminal (QEMU's stdio is a
#               pseudo-terminal, made by script(1))
#   tty-m256    the same with -m 256
#   tty-loud    the same without 'quiet': the kernel log crosses the
#               emulated UART, an exit per character
#   file        -display none -serial file:PATH, headless as libvirt runs
#               QEMU; the guest idles 3 s before it powers off (kvmf_ticks)
#   daemonize   the same with -daemonize, QEMU detached from its parent
#   monitor     boot.sh's: -m 256 -nographic -vga none -serial stdio with
#               stdout to a file, and a monitor on a pipe nobody writes to
#
# Each shape boots BOOTS times (default 2) on each implementation.  A boot
# passes when the guest's userspace marker (and, for file, its last tick)
# reached the serial port and QEMU exited by itself within
# KVMF_BOOT_LIMIT seconds (default 150; a boot takes 12-25 s here, up to
# 60 s with the host loaded).  A boot that did not end in time is dumped
# (dump-threads.sh) and killed.  Prints each boot's time, each shape's
# mean on both implementations and their ratio (a figure, not a verdict),
# and "N passed, N failed".  KVMF_BOOT_IMPLS limits the implementations
# (default "kvmfork stock"; "loaded" runs on whatever serves /dev/kvm, as
# under kvmf-vm --kernel debug), KVMF_BOOT_KERNEL names the guest's kernel
# (default the test VM's own, from /boot).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$here/dump-threads.sh"

boots=${1:-2}
[ $# -gt 0 ] && shift
all_shapes=(tty tty-m256 tty-loud file daemonize monitor)
if [ $# -gt 0 ]; then
	shapes=("$@")
else
	shapes=("${all_shapes[@]}")
fi
limit=${KVMF_BOOT_LIMIT:-150}
read -r -a impls <<<"${KVMF_BOOT_IMPLS:-kvmfork stock}"
kernel=${KVMF_BOOT_KERNEL:-/boot/vmlinuz-$(uname -r)}
initrd=$top/build/qemu-guest/initramfs.gz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -r "$initrd" ] || { echo "boot-shapes.sh: no $initrd (run tools/testing/qemu/make-initramfs.sh)"; exit 1; }

marker='KVMFORK-GUEST: userspace reached'
passed=0 failed=0
declare -A total_ms count

# boot IMPL SHAPE N: one boot; prints its line and counts its verdict.
boot()
{
	local impl=$1 shape=$2 n=$3 log=$work/$1-$2-$3.log pidf=$work/qemu.pid
	local args=(-accel kvm -machine q35,kernel-irqchip=off -cpu qemu64 -smp 1
		    -nodefaults -no-reboot -kernel "$kernel" -initrd "$initrd" -pidfile "$pidf")
	local append='console=ttyS0 quiet panic=-1' expect=$marker mode start pid w
	local qemu_out=$work/qemu.out
	local hung=0 ms

	case $shape in
	tty)		args+=(-m 512 -nographic -serial stdio); mode=tty ;;
	tty-m256)	args+=(-m 256 -nographic -serial stdio); mode=tty ;;
	tty-loud)	args+=(-m 512 -nographic -serial stdio); mode=tty
			append='console=ttyS0 panic=-1' ;;
	file)		args+=(-m 512 -display none -serial "file:$log"); mode=bg
			append="$append kvmf_ticks=3" expect='KVMFORK-GUEST: tick 3' ;;
	daemonize)	args+=(-m 512 -display none -serial "file:$log" -daemonize); mode=daemon ;;
	monitor)	rm -f "$work/mon.in" "$work/mon.out"
			mkfifo "$work/mon.in" "$work/mon.out"
			args+=(-m 256 -nographic -vga none -serial stdio
			       -chardev "pipe,id=mon0,path=$work/mon" -mon chardev=mon0)
			mode=bg qemu_out=$log ;;
	*)		echo "boot-shapes.sh: no shape '$shape' (${all_shapes[*]})"; exit 1 ;;
	esac
	args+=(-append "$append")

	rm -f "$pidf" "$log"
	start=$(date +%s%N)
	case $mode in
	tty)
		# script(1) gives QEMU a pseudo-terminal as stdin and stdout and
		# copies what QEMU writes there into the log.
		script -qefc "$(printf '%q ' qemu-system-x86_64 "${args[@]}")" /dev/null \
			</dev/null >"$log" 2>&1 &
		;;
	bg)
		qemu-system-x86_64 "${args[@]}" </dev/null >"$qemu_out" 2>&1 &
		;;
	daemon)
		# The parent exits once the daemon is set up; the daemon is
		# then followed by its pid file.
		qemu-system-x86_64 "${args[@]}" </dev/null >"$qemu_out" 2>&1 ||
			echo "# qemu -daemonize failed: $(head -c 300 "$qemu_out")"
		;;
	esac
	# QEMU (the tty shape's is a grandchild, the daemon an orphan) is
	# followed through its pid file, by one process that sleeps between
	# looks: a polling shell loop would compete with QEMU for the test
	# VM's one CPU and slow the boot it measures.
	for ((w = 0; w < 200; w++)); do
		[ -s "$pidf" ] && break
		[ "$mode" = daemon ] || kill -0 $! 2>/dev/null || break
		sleep 0.05
	done
	pid=$(cat "$pidf" 2>/dev/null)
	if [ -n "$pid" ] && ! timeout "$limit" tail --pid="$pid" -s 0.1 -f /dev/null; then
		hung=1
		dump_threads "$pid"
		kill -9 "$pid"
	fi
	[ "$mode" = daemon ] || wait $! 2>/dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))

	if [ "$hung" = 0 ] && grep -aq "$marker" "$log" 2>/dev/null &&
	   grep -aq "$expect" "$log"; then
		passed=$((passed + 1))
		total_ms[$impl-$shape]=$(( ${total_ms[$impl-$shape]:-0} + ms ))
		count[$impl-$shape]=$(( ${count[$impl-$shape]:-0} + 1 ))
		echo "ok   $impl $shape boot $n: $ms ms"
	else
		failed=$((failed + 1))
		if [ "$hung" = 1 ]; then
			echo "FAIL $impl $shape boot $n: no end after $limit s (killed)"
		else
			echo "FAIL $impl $shape boot $n: ended after $ms ms without '$expect'"
		fi
		echo "# ----- its console -----"
		sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' "$log" 2>/dev/null | tr -d '\r' |
			grep -av '^$' | tail -n 40 | sed 's/^/#   /'
	fi
}

for impl in "${impls[@]}"; do
	echo "=== $impl"
	case $impl in
	kvmfork)	insmod "$top/kvmfork.ko" || exit 1 ;;
	stock)		modprobe kvm_amd nested=1 || exit 1 ;;
	esac
	for shape in "${shapes[@]}"; do
		for ((i = 1; i <= boots; i++)); do
			boot "$impl" "$shape" "$i"
		done
	done
	case $impl in
	kvmfork)	rmmod kvmfork ;;
	stock)		rmmod kvm_amd kvm ;;
	esac
done

echo "# mean boot time per shape (boots that passed), ms:"
for shape in "${shapes[@]}"; do
	line=$(printf '#   %-10s' "$shape")
	for impl in "${impls[@]}"; do
		c=${count[$impl-$shape]:-0}
		if [ "$c" -gt 0 ]; then
			line+=$(printf ' %s %6d' "$impl" $(( ${total_ms[$impl-$shape]} / c )))
		else
			line+=" $impl      -"
		fi
	done
	if [ -n "${count[kvmfork-$shape]:-}" ] && [ -n "${count[stock-$shape]:-}" ]; then
		line+=$(awk -v k="${total_ms[kvmfork-$shape]}" -v kc="${count[kvmfork-$shape]}" \
			    -v s="${total_ms[stock-$shape]}" -v sc="${count[stock-$shape]}" \
			    'BEGIN { printf "  ratio %.2f", (k / kc) / (s / sc) }')
	fi
	echo "$line"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
