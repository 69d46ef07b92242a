#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Loading and unloading kvmfork.ko: run inside the test VM with nothing
# loaded (kvmf-vm --no-module).  Prints KTAP and a closing count line.
#
#   load_test.sh                      on a CPU with SVM and NPT: the full set
#   load_test.sh --refused 'TEXT'     on a CPU kvmfork cannot use: insmod must
#                                     fail with ENODEV and log TEXT
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
ko=$top/kvmfork.ko
info=$top/tools/vmm/kvmf-info
MSR_EFER=0xC0000080
EFER_SVME=$((1 << 12))

passed=0 failed=0 n=0
result() {	# result OK|FAIL description
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n $2"; passed=$((passed + 1))
	else
		echo "not ok $n $2"; failed=$((failed + 1))
	fi
}
check() {	# check description command...
	local what=$1; shift
	if "$@"; then result OK "$what"; else result FAIL "$what"; fi
}

# EFER of one CPU, through the msr driver (8-byte reads at offset = MSR index).
efer_of() {
	dd if="/dev/cpu/$1/msr" bs=8 count=1 skip=$((MSR_EFER / 8)) 2>/dev/null |
		od -An -tx8 | tr -d ' '
}
svme_on_all_cpus() {	# svme_on_all_cpus 1|0
	local cpu efer
	for cpu in /dev/cpu/[0-9]*; do
		cpu=${cpu##*/}
		efer=$((16#$(efer_of "$cpu")))
		if [ $(((efer & EFER_SVME) != 0)) -ne "$1" ]; then
			echo "# CPU $cpu: EFER=$(printf %#x "$efer")"
			return 1
		fi
	done
}

# insmod must fail with errno text $1 and log a line matching $2.
insmod_refused() {
	local out
	dmesg -C
	if out=$(insmod "$ko" 2>&1); then
		echo "# insmod succeeded"; rmmod kvmfork; return 1
	fi
	echo "# insmod: $out"
	echo "# dmesg: $(dmesg | grep kvmfork)"
	grep -q "$1" <<<"$out" && dmesg | grep -q "kvmfork: .*$2"
}

modprobe msr

if [ "${1:-}" = --refused ]; then
	echo "KTAP version 1"; echo "1..2"
	check "insmod refused with ENODEV, logging '$2'" insmod_refused "No such device" "$2"
	check "EFER.SVME left clear" svme_on_all_cpus 0
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]; exit
fi

echo "KTAP version 1"; echo "1..10"
check "insmod kvmfork.ko" insmod "$ko"
check "/dev/kvm is misc 10:232" test "$(stat -c '%t:%T' /dev/kvm)" = "a:e8"
check "EFER.SVME set on every CPU" svme_on_all_cpus 1
check "rmmod with no VM open" rmmod kvmfork
check "EFER.SVME clear again on every CPU" svme_on_all_cpus 0
check "load and unload a second time" sh -c "insmod '$ko' && rmmod kvmfork"

# Stock KVM loaded but idle: SVM is free, /dev/kvm is not.
modprobe kvm_amd
check "refused while kvm_amd is loaded" insmod_refused "busy" "/dev/kvm"

# Stock KVM running a VM: SVM itself is taken.
"$info" --hold >/dev/null & holder=$!
sleep 1
check "refused while kvm_amd runs a VM" insmod_refused "busy" "another hypervisor"
kill "$holder"; wait "$holder" 2>/dev/null
rmmod kvm_amd kvm

# And the other way round: kvm_amd cannot load over kvmfork.
insmod "$ko"
check "kvm_amd refuses to load over kvmfork" sh -c '! modprobe kvm_amd 2>/dev/null'
# kvm.ko stays loaded on purpose: Debian's 6.1 kvm leaves its syscore ops
# registered when kvm_init() fails, so unloading it now would leave a
# dangling pointer that oopses at power-off (a stock kernel bug).
check "kvmfork still unloads" rmmod kvmfork

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
