#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs, with apt-get, the Debian 12 packages kvmfork's build and tests
# need.  Idempotent: does nothing when everything is already installed.
#   install-deps.sh          what make, make test and make demo need
#   install-deps.sh cross    also the cross compilers of make cross
set -euo pipefail

packages=(
	gcc make libc6-dev		# kbuild, selftests
	linux-image-amd64		# the kernel the test VM boots
	linux-headers-amd64		# what kvmfork.ko is built against
	sparse				# make check
	qemu-system-x86			# the test VM (TCG: no host KVM used)
	busybox-static cpio kmod	# the test VM's initramfs
	# The debug kernel (tools/testing/debug-kernel/build.sh): its source
	# and what building it takes; rsync copies kvmfork's sources for the
	# build against it, binutils' objdump names leaked addresses.
	linux-source-6.1 xz-utils bc flex bison libelf-dev libssl-dev
	rsync binutils
)

if [ "${1:-}" = cross ]; then
	packages+=(gcc-s390x-linux-gnu gcc-powerpc64le-linux-gnu)
fi

missing=()
for p in "${packages[@]}"; do
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ ! -r /etc/debian_version ] || ! command -v apt-get >/dev/null; then
	echo "install-deps: not a Debian system; install by hand: ${missing[*]}" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run 'make deps' as root (it uses apt-get)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
