#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds kvmfork's debug kernel (KUnit, KASAN, lockdep, kmemleak) from
# Debian's linux-source-6.1 and caches it outside the work tree:
#
#   ${KVMF_CACHE:-/var/cache/kvmfork}/debug-kernel/
#       KEY/bzImage            the kernel (kvmf-vm --kernel debug)
#       KEY/modules/lib/modules/VERSION/   kvm.ko, kvm-amd.ko (for --stock)
#       KEY/linux/             configured tree for out-of-tree modules
#                              (make -C KEY/linux M=...), objects removed
#       KEY/build.log          the full build log
#       current -> KEY         switched by one rename once KEY is complete
#       bzImage, modules, build  fixed links through current
#
# KEY is a hash of debug.config, this script, the source package's version
# and the compiler, so only the first run on a machine (or after one of
# those changes) pays for the build.  Usage:
#
#   build.sh               build unless cached; prints the cache directory
#   build.sh --key         print the key and exit
#   build.sh --check-config  configure a scratch tree and verify only
#
# See Documentation/debug-kernel.rst.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly FRAGMENT=$HERE/debug.config
readonly SOURCE_PKG=linux-source-6.1
readonly TARBALL=/usr/src/linux-source-6.1.tar.xz
readonly CACHE=${KVMF_CACHE:-/var/cache/kvmfork}/debug-kernel

msg()
{
	echo "debug-kernel: $*" >&2
}

die()
{
	msg "error: $*"
	exit 1
}

# Everything that changes what gets built goes into the key.
cache_key()
{
	{
		sha256sum <"$FRAGMENT"
		sha256sum <"${BASH_SOURCE[0]}"
		dpkg-query -W -f='${Package} ${Version}\n' "$SOURCE_PKG"
		gcc --version | head -n1
	} | sha256sum | cut -c1-16
}

# The fragment's requests, one "CONFIG_FOO=value" or "CONFIG_FOO=n" a line.
wanted_symbols()
{
	sed -nE -e 's/^(CONFIG_[A-Za-z0-9_]+=.*)$/\1/p' \
		-e 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1=n/p' "$FRAGMENT"
}

# Kconfig drops a symbol whose dependencies are not met without a word, so
# compare every request with the final .config and fail on any difference.
verify_config()
{
	local config=$1 line sym want got bad=0
	while IFS= read -r line; do
		sym=${line%%=*}
		want=${line#*=}
		got=$(sed -nE "s/^$sym=(.*)$/\1/p" "$config")
		[ -n "$got" ] || got=n
		if [ "$got" != "$want" ]; then
			msg "config: $sym wanted '$want', got '$got' (missing dependency?)"
			bad=1
		fi
	done < <(wanted_symbols)
	[ "$bad" -eq 0 ] || die "the configuration does not match $FRAGMENT"
	msg "config: all $(wanted_symbols | wc -l) requests of $(basename "$FRAGMENT") hold"
}

# allnoconfig, then the fragment, then defaults for everything else.
configure()
{
	local tree=$1
	# merge_config.sh keeps its temporary files in the current directory.
	(
		cd "$tree"
		make -s allnoconfig
		scripts/kconfig/merge_config.sh -m .config "$FRAGMENT"
		make -s olddefconfig
	)
	verify_config "$tree/.config"
}

unpack()
{
	local dest=$1
	mkdir -p "$dest"
	tar -xJf "$TARBALL" -C "$dest" --strip-components=1
}

# Runs "$@" in the background with its output in $log, printing a line
# every minute so that CI and people can see it is alive.
with_progress()
{
	local what=$1 tree=$2 pid start now rc=0
	shift 2
	start=$SECONDS
	"$@" >>"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		# Short sleeps, so the build's end is noticed at once.
		for _ in $(seq 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		kill -0 "$pid" 2>/dev/null || break
		now=$((SECONDS - start))
		msg "$what: $((now / 60))m$((now % 60))s elapsed," \
			"$(find "$tree" -name '*.o' | wc -l) objects so far"
	done
	wait "$pid" || rc=$?
	return "$rc"
}

# Out-of-tree modules need the configured tree, its generated headers,
# scripts and tools (objtool, modpost) and Module.symvers: not the kernel's
# own objects, which are most of its size.
prune_tree()
{
	local tree=$1
	find "$tree" \( -path "$tree/scripts" -o -path "$tree/tools" \) -prune -o \
		\( -name '*.o' -o -name '*.a' -o -name '*.ko' -o -name '.tmp_*' \) \
		-type f -print0 | xargs -0r rm -f
	rm -f "$tree/vmlinux.o" "$tree/arch/x86/boot/compressed/vmlinux.bin"*
	rm -rf "$tree/Documentation"
}

# Make KEY the current build: one rename of the "current" link, so that a
# reader sees the old build or the new one, never a mix.
publish()
{
	local key=$1 link
	ln -sfn "$key" "$CACHE/.current.$$"
	mv -Tf "$CACHE/.current.$$" "$CACHE/current"
	for link in bzImage:current/bzImage modules:current/modules build:current/linux; do
		[ -L "$CACHE/${link%%:*}" ] || ln -sfn "${link#*:}" "$CACHE/${link%%:*}"
	done
}

# Other keys are left over from older fragments or source versions: each
# is a few gigabytes, so remove those not used for a week.
housekeeping()
{
	local keep=$1 dir
	for dir in "$CACHE"/*/; do
		dir=${dir%/}
		[ "$(basename "$dir")" != "$keep" ] || continue
		[ -f "$dir/.complete" ] || continue
		if [ -n "$(find "$dir/.complete" -mtime +7)" ]; then
			msg "removing the unused build $dir"
			rm -rf "$dir"
		fi
	done
	# Builds interrupted more than a day ago.
	find "$CACHE" -maxdepth 1 -name '.build-*' -mmin +1440 \
		-exec rm -rf {} + 2>/dev/null || true
}

tmp=
log=
cleanup()
{
	local rc=$?
	trap - EXIT
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		if [ "$rc" -ne 0 ] && [ -n "$log" ] && [ -f "$log" ]; then
			cp -f "$log" "$CACHE/last-failure.log" 2>/dev/null || true
			msg "----- last 40 lines of the build log -----"
			tail -n 40 "$log" >&2
			msg "----- full log: $CACHE/last-failure.log -----"
		fi
		rm -rf "$tmp"
	fi
	exit "$rc"
}

build()
{
	local key=$1 final=$CACHE/$1 tree start t0 version jobs
	start=$SECONDS
	jobs=$(nproc)
	tmp=$(mktemp -d "$CACHE/.build-$key.XXXXXX")
	# mktemp makes it private; the result is for everyone to read.
	chmod 755 "$tmp"
	log=$tmp/build.log
	tree=$tmp/linux
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	msg "building $key in $tmp (full log: $log)"
	t0=$SECONDS
	unpack "$tree"
	msg "unpacked $TARBALL in $((SECONDS - t0))s"
	configure "$tree" >>"$log" 2>&1 || {
		grep '^debug-kernel:' "$log" >&2 || true
		die "configuring failed"
	}
	grep '^debug-kernel:' "$log" | tail -n 1 >&2
	cp "$FRAGMENT" "$tmp/debug.config"

	t0=$SECONDS
	msg "compiling with -j$jobs; a line every minute"
	with_progress compiling "$tree" make -C "$tree" -j"$jobs" bzImage modules ||
		die "the kernel build failed"
	msg "compiled in $(((SECONDS - t0) / 60))m$(((SECONDS - t0) % 60))s"

	make -C "$tree" -s INSTALL_MOD_PATH="$tmp/modules" modules_install >>"$log" 2>&1 ||
		die "modules_install failed"
	version=$(cat "$tree/include/config/kernel.release")
	# modules_install points this at the temporary tree; the tree moves.
	ln -sfn ../../../../linux "$tmp/modules/lib/modules/$version/build"
	rm -f "$tmp/modules/lib/modules/$version/source"
	cp "$tree/arch/x86/boot/bzImage" "$tmp/bzImage"
	prune_tree "$tree"

	{
		echo "key=$key"
		echo "version=$version"
		echo "source=$(dpkg-query -W -f='${Package} ${Version}' "$SOURCE_PKG")"
		echo "build_seconds=$((SECONDS - start))"
		echo "jobs=$jobs"
		echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$tmp/info"
	touch "$tmp/.complete"
	# rename() within one file system is atomic: the key directory appears
	# complete or not at all.
	mv -T "$tmp" "$final"
	tmp=
	msg "built $version in $(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s"
}

main()
{
	local key lock_fd
	[ -r "$TARBALL" ] ||
		die "$TARBALL not found (package $SOURCE_PKG); run 'make deps'"
	key=$(cache_key)
	case "${1:-}" in
	--key)
		echo "$key"
		return
		;;
	--check-config)
		local scratch
		scratch=$(mktemp -d "${TMPDIR:-/tmp}/kvmf-kconfig.XXXXXX")
		# shellcheck disable=SC2064 # expand now: the path is fixed
		trap "rm -rf '$scratch'" EXIT
		unpack "$scratch"
		configure "$scratch"
		return
		;;
	"")
		;;
	*)
		die "unknown argument: $1"
		;;
	esac

	mkdir -p "$CACHE" || die "cannot create $CACHE; set KVMF_CACHE"
	# One build at a time: a second runner waits for the first and then
	# finds the result cached.
	exec {lock_fd}>"$CACHE/.lock"
	if ! flock -n "$lock_fd"; then
		msg "another build holds $CACHE/.lock; waiting for it"
		flock "$lock_fd"
	fi
	if [ -f "$CACHE/$key/.complete" ]; then
		touch "$CACHE/$key/.complete"
	else
		build "$key"
	fi
	publish "$key"
	housekeeping "$key"
	echo "$CACHE/$key"
}

main "$@"
