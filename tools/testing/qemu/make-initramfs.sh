#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The initramfs of the QEMU boot tests (boot.sh, boot-shapes.sh): busybox
# and an init that prints a marker line from userspace and powers the guest
# off.  With kvmf_ticks=N on the kernel command line it first prints N more
# lines a second apart: the guest then idles (HLT) and needs its timer
# interrupt to go on.  Built on the host, in build/qemu-guest/ (the test VM
# sees the tree read-only).
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
dir=$top/build/qemu-guest
rm -rf "$dir/root"
mkdir -p "$dir/root/bin"
cp /bin/busybox "$dir/root/bin/busybox"
cat >"$dir/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
n=$(/bin/busybox grep -c ^processor /proc/cpuinfo)
read -r up idle </proc/uptime
echo "KVMFORK-GUEST: userspace reached, $n CPU(s), kernel $(/bin/busybox uname -r), uptime $up s"
ticks=0
for arg in $(/bin/busybox cat /proc/cmdline); do
	case $arg in kvmf_ticks=*) ticks=${arg#kvmf_ticks=} ;; esac
done
i=0
while [ "$i" -lt "$ticks" ]; do
	/bin/busybox sleep 1
	i=$((i + 1))
	echo "KVMFORK-GUEST: tick $i"
done
/bin/busybox poweroff -f
INIT
chmod +x "$dir/root/init"
(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -9) >"$dir/initramfs.gz"
