#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The initramfs of the QEMU boot test (boot.sh): busybox and an init that
# prints a marker line from userspace and powers the guest off.  Built on
# the host, in build/qemu-guest/ (the test VM sees the tree read-only).
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
echo "KVMFORK-GUEST: userspace reached, $n CPU(s), kernel $(/bin/busybox uname -r)"
/bin/busybox poweroff -f
INIT
chmod +x "$dir/root/init"
(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -9) >"$dir/initramfs.gz"
