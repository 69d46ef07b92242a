#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Cross-builds kvmfork.ko for the architectures whose hypervisor mode cannot
# be run here (s390x: SIE and the Ultravisor; ppc64le: HV mode and the
# Ultravisor), against Debian's linux-source-6.1 configured for each:
#
#   build.sh [ARCH...]      ARCH: s390 (or s390x), powerpc (or ppc64le);
#                           none means both
#   build.sh --key ARCH     print the cache key of ARCH's tree and exit
#
# For each ARCH the kernel tree is configured (the arch's defconfig plus
# ARCH.config next to this script, every line of which is checked to hold)
# and prepared for out-of-tree modules with `make modules_prepare` only, once:
#
#   ${KVMF_CACHE:-/var/cache/kvmfork}/cross/ARCH-KEY/
#       linux/        the configured, prepared tree (only what out-of-tree
#                     modules need is kept: about 130 MB)
#       exports       every symbol the tree's sources export (see below)
#       info          source version, compiler, build time
#       .complete     written last; the directory appears by one rename
#       kvmfork-WT/   kvmfork's sources copied from work tree WT and the
#                     objects built from them (kbuild writes objects next to
#                     the sources; the work tree stays untouched)
#
# KEY hashes the config fragment, the parts of this script that prepare the
# tree, the source package's version and the cross compiler's, so only the
# first run (or one after a change of those) pays for preparing the tree.
#
# kvmfork is then built with W=1.  It passes when the compiler is silent
# (no "warning:" or "error:" line) and modpost reports nothing but the
# consequences of having no vmlinux: its note that Module.symvers is
# missing, and "undefined!" lines for kernel symbols.  Those cannot be
# resolved without a full kernel build, so instead every undefined symbol of
# each module (nm -u) must be exported somewhere in the tree's sources
# (EXPORT_SYMBOL*()): a use of a symbol no module may use still fails.  A
# build that fails its checks leaves no objects behind, so that the next
# run compiles, and warns, again.
#
# Ends with "N passed, N failed", one test per architecture, so that
# tools/testing/run-all.sh can run it as a stage.  Needs the packages
# linux-source-6.1, gcc-s390x-linux-gnu, gcc-powerpc64le-linux-gnu (with
# their binutils), rsync, and what a kernel build needs (make, bc, flex,
# bison, libssl-dev, libelf-dev).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
TOP=$(cd "$HERE/../../.." && pwd)
readonly TOP
readonly SOURCE_PKG=linux-source-6.1
readonly TARBALL=/usr/src/linux-source-6.1.tar.xz
readonly CACHE=${KVMF_CACHE:-/var/cache/kvmfork}/cross
JOBS=$(nproc)
readonly JOBS

msg()
{
	echo "# cross: $*" >&2
}

# ARCH name as kbuild knows it, from what the user may type.
kbuild_arch()
{
	case "$1" in
	s390 | s390x) echo s390 ;;
	powerpc | ppc64le | ppc64el) echo powerpc ;;
	*) return 1 ;;
	esac
}

cross_compile()
{
	case "$1" in
	s390) echo s390x-linux-gnu- ;;
	powerpc) echo powerpc64le-linux-gnu- ;;
	esac
}

defconfig_target()
{
	case "$1" in
	s390) echo defconfig ;;
	powerpc) echo ppc64le_defconfig ;;
	esac
}

# What readelf says of a module built for the arch: machine and byte order.
elf_machine()
{
	case "$1" in
	s390) echo "IBM S/390, big endian" ;;
	powerpc) echo "PowerPC64, little endian" ;;
	esac
}

# Symbols a module may use that no EXPORT_SYMBOL() names: resolved by the
# module loader itself (the ppc64 ELFv2 TOC base).
loader_symbols()
{
	case "$1" in
	powerpc) echo .TOC. ;;
	esac
}

cache_key()
{
	local arch=$1
	{
		sha256sum <"$HERE/$arch.config"
		declare -f prepare_tree prune_tree kmake verify_config \
			wanted_symbols cross_compile defconfig_target | sha256sum
		dpkg-query -W -f='${Package} ${Version}\n' "$SOURCE_PKG"
		"$(cross_compile "$arch")gcc" --version | head -n1
	} | sha256sum | cut -c1-16
}

# The fragment's requests, one "CONFIG_FOO=value" or "CONFIG_FOO=n" a line.
wanted_symbols()
{
	sed -nE -e 's/^(CONFIG_[A-Za-z0-9_]+=.*)$/\1/p' \
		-e 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1=n/p' "$1"
}

# Kconfig drops a request whose dependencies are not met without a word:
# compare each with the final .config.
verify_config()
{
	local fragment=$1 config=$2 line sym want got bad=0
	while IFS= read -r line; do
		sym=${line%%=*}
		want=${line#*=}
		got=$(sed -nE "s/^$sym=(.*)$/\1/p" "$config")
		[ -n "$got" ] || got=n
		if [ "$got" != "$want" ]; then
			msg "config: $sym wanted '$want', got '$got' (missing dependency?)"
			bad=1
		fi
	done < <(wanted_symbols "$fragment")
	return "$bad"
}

# Runs make in the kernel tree for the arch, niced: the machine's cores are
# shared with other builds.
kmake()
{
	local arch=$1 tree=$2
	shift 2
	nice -n 19 make -C "$tree" ARCH="$arch" CROSS_COMPILE="$(cross_compile "$arch")" "$@"
}

# Unpacks, configures and prepares the tree of ARCH-KEY in a temporary
# directory, then moves it into place in one rename.
prepare_tree()
{
	local arch=$1 key=$2 final=$3 tmp tree log start t0
	start=$SECONDS
	tmp=$(mktemp -d "$CACHE/.build-$arch-$key.XXXXXX") || return 1
	tree=$tmp/linux
	log=$tmp/build.log
	msg "$arch: preparing a $SOURCE_PKG tree in $tmp (log: $log)"

	mkdir -p "$tree"
	t0=$SECONDS
	if ! tar -xJf "$TARBALL" -C "$tree" --strip-components=1; then
		msg "$arch: cannot unpack $TARBALL"
		rm -rf "$tmp"
		return 1
	fi
	msg "$arch: unpacked in $((SECONDS - t0))s"

	t0=$SECONDS
	if ! {
		kmake "$arch" "$tree" "$(defconfig_target "$arch")" &&
			(cd "$tree" && ARCH=$arch CROSS_COMPILE=$(cross_compile "$arch") \
				scripts/kconfig/merge_config.sh -m .config "$HERE/$arch.config") &&
			kmake "$arch" "$tree" olddefconfig
	} >>"$log" 2>&1 || ! verify_config "$HERE/$arch.config" "$tree/.config"; then
		msg "$arch: configuring failed; last lines of $log:"
		tail -n 20 "$log" >&2
		cp -f "$log" "$CACHE/last-failure-$arch.log"
		rm -rf "$tmp"
		return 1
	fi
	msg "$arch: configured in $((SECONDS - t0))s; every line of $arch.config holds"

	t0=$SECONDS
	if ! kmake "$arch" "$tree" -j"$JOBS" modules_prepare >>"$log" 2>&1; then
		msg "$arch: modules_prepare failed; last lines of $log:"
		tail -n 20 "$log" >&2
		cp -f "$log" "$CACHE/last-failure-$arch.log"
		rm -rf "$tmp"
		return 1
	fi
	msg "$arch: modules_prepare took $((SECONDS - t0))s"

	# Every symbol some source of the tree exports, whatever the config:
	# an over-approximation of what vmlinux and the modules export.
	# A tracepoint export stands for the symbols its users reference.
	grep -rhoE --include='*.[chS]' \
		'EXPORT_(SYMBOL|SYMBOL_GPL|SYMBOL_NS|SYMBOL_NS_GPL|TRACEPOINT_SYMBOL|TRACEPOINT_SYMBOL_GPL)\([[:space:]]*[A-Za-z0-9_]+' \
		"$tree" | sed -E -e 's/^EXPORT_TRACEPOINT_SYMBOL(_GPL)?\([[:space:]]*(.*)/__tracepoint_\2\n__traceiter_\2\n__SCK__tp_func_\2/' \
		-e 's/.*\([[:space:]]*//' | sort -u >"$tmp/exports"

	# What out-of-tree modules need is the configured tree's Makefiles,
	# scripts, headers and arch directory: the rest of the sources (1.3 of
	# its 1.5 GB) goes.
	prune_tree "$arch" "$tree"

	{
		echo "arch=$arch"
		echo "key=$key"
		echo "source=$(dpkg-query -W -f='${Package} ${Version}' "$SOURCE_PKG")"
		echo "compiler=$("$(cross_compile "$arch")gcc" --version | head -n1)"
		echo "release=$(cat "$tree/include/config/kernel.release")"
		echo "prepare_seconds=$((SECONDS - start))"
		echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$tmp/info"
	touch "$tmp/.complete"
	if ! mv -T "$tmp" "$final"; then
		rm -rf "$tmp"
		return 1
	fi
	msg "$arch: tree ready in $((SECONDS - start))s: $final"
}

# Keeps the top-level files and scripts/, include/, tools/ and arch/ARCH/.
prune_tree()
{
	local arch=$1 tree=$2 d
	for d in "$tree"/*/ "$tree"/arch/*/; do
		d=${d%/}
		case "${d#"$tree"/}" in
		scripts | include | tools | arch | "arch/$arch") ;;
		*) rm -rf "$d" ;;
		esac
	done
}

# Trees of older keys are about 130 MB each: remove those unused for a week,
# and temporary directories of builds interrupted more than a day ago.
housekeeping()
{
	local arch=$1 keep=$2 dir
	for dir in "$CACHE/$arch"-*/; do
		dir=${dir%/}
		if [ ! -f "$dir/.complete" ] || [ "$dir" = "$keep" ]; then
			continue
		fi
		if [ -n "$(find "$dir/.complete" -mtime +7)" ]; then
			msg "removing the unused tree $dir"
			rm -rf "$dir"
		fi
	done
	find "$CACHE" -maxdepth 1 -name '.build-*' -mmin +1440 \
		-exec rm -rf {} + 2>/dev/null || true
}

# Checks the log of kvmfork's build: see the top of this file.
check_log()
{
	local log=$1 bad=0
	# make's own jobserver note (make -jN on the outer make) is no warning.
	if grep -E 'warning:|error:' "$log" | grep -v '^make\[[0-9]*\]: warning: -j' >&2; then
		msg "the compiler warned"
		bad=1
	fi
	while IFS= read -r line; do
		case "$line" in
		'WARNING: Module.symvers is missing.' | \
			'         Modules may not have dependencies or modversions.' | \
			'         You may get many unresolved symbol warnings.' | \
			'WARNING: modpost: "'*'" ['*'] undefined!' | \
			'WARNING: modpost: suppressed '*' unresolved symbol warnings because there were too many)')
			;;
		*)
			echo "$line" >&2
			bad=1
			;;
		esac
	done < <(grep -E '^WARNING|^ {9}' "$log")
	return "$bad"
}

# Every symbol a module takes from the kernel must be exported by some source
# of the tree (modpost cannot tell without vmlinux).  Prints the count.
check_symbols()
{
	local arch=$1 work=$2 exports=$3 ko sym n=0 bad=0
	while IFS= read -r ko; do
		# Absolute paths to .ko files in 6.1; relative .o in other kernels.
		ko=${ko%.o}
		ko=${ko%.ko}.ko
		[ "${ko#/}" != "$ko" ] || ko=$work/$ko
		while IFS= read -r sym; do
			n=$((n + 1))
			if ! grep -qxF "$sym" "$exports" &&
				! loader_symbols "$arch" | grep -qxF -- "$sym"; then
				msg "$(basename "$ko") uses $sym, which no source of the kernel exports"
				bad=1
			fi
		done < <("$(cross_compile "$arch")nm" -u "$ko" | awk '{ print $2 }' | sort -u)
	done <"$work/modules.order"
	echo "$n"
	return "$bad"
}

# Keeps the log of a failed build and drops its objects: the next run must
# compile every file again, so that a warning is never seen only once.
build_failed()
{
	local arch=$1 dir=$2 work=$3 what=$4
	cp -f "$work/.build.log" "$dir/kvmfork-last-failure.log"
	find "$work" -name '*.o' -delete
	msg "$arch: $what (log: $dir/kvmfork-last-failure.log)"
}

# Builds kvmfork for ARCH against the cached tree: 0 if it passed.
build_kvmfork()
{
	local arch=$1 dir=$2 work log lock_fd start nsyms elf
	start=$SECONDS
	work=$dir/kvmfork-$(echo "$TOP" | sha256sum | cut -c1-8)
	log=$work/.build.log
	mkdir -p "$work"
	# One build per work tree and arch at a time.
	exec {lock_fd}>"$work.lock"
	flock "$lock_fd"
	# Sources and Kbuild files only, as `make debug-modules` copies them.
	rsync -a --delete --prune-empty-dirs \
		--exclude=/.git/ --exclude=/build/ --exclude=/tools/ \
		--exclude=/Documentation/ --exclude=/scripts/ \
		--include='*/' --include=Kbuild --include='Kbuild.*' \
		--include='*.[chS]' --exclude='*' "$TOP/" "$work/" || return 1

	if ! kmake "$arch" "$dir/linux" M="$work" W=1 -j"$JOBS" modules >"$log" 2>&1; then
		grep -E 'error|Error' "$log" | head -n 40 >&2
		build_failed "$arch" "$dir" "$work" "the build failed"
		return 1
	fi
	if ! check_log "$log"; then
		build_failed "$arch" "$dir" "$work" "the build is not clean"
		return 1
	fi
	elf=$("$(cross_compile "$arch")readelf" -h "$work/kvmfork.ko" |
		sed -nE 's/^ *Machine: *(.*)$/\1/p; s/^ *Data: *2.s complement, (.*)$/\1/p' |
		tac | paste -sd, | sed 's/,/, /')
	if [ "$elf" != "$(elf_machine "$arch")" ]; then
		msg "$arch: $work/kvmfork.ko is for '$elf', not '$(elf_machine "$arch")'"
		return 1
	fi
	nsyms=$(check_symbols "$arch" "$work" "$dir/exports") || {
		msg "$arch: a module uses a symbol the kernel does not export"
		return 1
	}
	exec {lock_fd}>&-
	msg "$arch: $(sed 's|.*/||; s|\.o$|.ko|' "$work/modules.order" | xargs) built in" \
		"$((SECONDS - start))s; $nsyms kernel symbols used, all exported"
}

# One architecture: the tree (cached), then kvmfork.  0 if it passed.
cross_one()
{
	local arch=$1 key dir lock_fd gcc
	gcc=$(cross_compile "$arch")gcc
	if ! command -v "$gcc" >/dev/null; then
		msg "$arch: $gcc not found; run 'make deps'"
		return 1
	fi
	key=$(cache_key "$arch")
	dir=$CACHE/$arch-$key
	if [ ! -f "$dir/.complete" ]; then
		# One preparation per arch at a time: a second runner waits and
		# then finds the tree ready.
		exec {lock_fd}>"$CACHE/.lock-$arch"
		flock "$lock_fd"
		if [ ! -f "$dir/.complete" ]; then
			prepare_tree "$arch" "$key" "$dir" || return 1
		fi
		exec {lock_fd}>&-
	else
		msg "$arch: using the prepared tree $dir"
		touch "$dir/.complete"
	fi
	housekeeping "$arch" "$dir"
	build_kvmfork "$arch" "$dir"
}

main()
{
	local arches=() a k passed=0 failed=0 n=0 start
	if [ "${1:-}" = --key ]; then
		k=$(kbuild_arch "${2:-}") || { msg "usage: build.sh --key s390|powerpc"; exit 2; }
		cache_key "$k"
		exit 0
	fi
	[ $# -gt 0 ] || set -- s390 powerpc
	for a in "$@"; do
		k=$(kbuild_arch "$a") || { msg "unknown architecture '$a' (s390, powerpc)"; exit 2; }
		arches+=("$k")
	done

	echo "TAP version 13"
	echo "1..${#arches[@]}"
	if [ ! -r "$TARBALL" ]; then
		msg "$TARBALL not found (package $SOURCE_PKG); run 'make deps'"
	elif ! mkdir -p "$CACHE"; then
		msg "cannot create $CACHE; set KVMF_CACHE"
	fi
	for a in "${arches[@]}"; do
		n=$((n + 1))
		start=$SECONDS
		if [ -r "$TARBALL" ] && [ -d "$CACHE" ] && cross_one "$a"; then
			echo "ok $n $a: kvmfork.ko cross-built, W=1, clean ($((SECONDS - start))s)"
			passed=$((passed + 1))
		else
			echo "not ok $n $a: kvmfork.ko cross build ($((SECONDS - start))s)"
			failed=$((failed + 1))
		fi
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
