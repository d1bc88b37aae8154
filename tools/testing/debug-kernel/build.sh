#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the vbackend debug kernel (KASAN, lockdep, kmemleak, UBSAN, ...) from
# Debian's linux-source-6.1 tarball, out of tree and cached.
#
# usage: build.sh [--variant xen-dom0] [<cache-dir>]
#        (default cache /var/cache/vbackend/debug-kernel, and
#        /var/cache/vbackend/debug-kernel-xen-dom0 for the variant)
#
# --variant xen-dom0: config.xen-dom0.fragment on top of config.fragment
#        (no KASAN, which Linux 6.1 cannot run in a Xen PV kernel): the
#        dom0 of the [xen-debug] run.
#
#   <cache-dir>/src    the unpacked kernel source (reused while the tarball
#                      does not change)
#   <cache-dir>/build  the kernel build tree: KDIR for external modules
#                      (make -C <cache-dir>/build M=<repo> modules)
#   <cache-dir>/build/arch/x86/boot/bzImage   the kernel to boot
#
# The source is the tarball with patches/*.patch applied (fixes to kernel
# code that the debug checks report, each saying why).
# The .config is `make ARCH=x86_64 tinyconfig` + the fragments (merge_config.sh) +
# `make olddefconfig`, and every option the fragments set must survive:
# the script stops and lists the ones that did not.
#
# A stamp keyed on sha256(the fragments, the patches, this script, the tarball's version,
# the compiler) makes a second run with nothing changed a no-op. When the key
# changes the tree is reconfigured and kbuild rebuilds what it must.
#
# Environment: LINUX_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
# JOBS (default $(nproc)), FORCE=1 (ignore the stamp).
#
# Needs: gcc make flex bison bc patch libelf-dev (objtool) xz-utils, and the
# linux-source-6.1 package for the tarball.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRAGMENTS=("$HERE/config.fragment")
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-$(nproc)}

CACHE=/var/cache/vbackend/debug-kernel
case "${1:-}" in
-h | --help)
	sed -n '3,35p' "$SELF" | sed 's/^# \{0,1\}//'
	exit 0
	;;
--variant)
	[ "${2:-}" = xen-dom0 ] || { echo "$0: unknown variant '${2:-}' (known: xen-dom0)" >&2; exit 2; }
	FRAGMENTS+=("$HERE/config.$2.fragment")
	CACHE=$CACHE-$2
	shift 2
	;;
esac
[ $# -le 1 ] || { echo "usage: $0 [--variant xen-dom0] [<cache-dir>]" >&2; exit 2; }

CACHE=${1:-$CACHE}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
cd "$CACHE" # a stable cwd: make and tar must not depend on the caller's
SRC=$CACHE/src
BUILD=$CACHE/build
STAMP=$BUILD/.vbackend-debug-kernel.stamp
BZIMAGE=$BUILD/arch/x86/boot/bzImage

start=$(date +%s)

log() { echo "debug-kernel: $*"; }
die() { echo "debug-kernel: error: $*" >&2; exit 1; }

finish() {
	local el=$(($(date +%s) - start))
	log "$1 in $((el / 60))m$((el % 60))s"
	echo "bzImage: $BZIMAGE"
	echo "KDIR=$BUILD"
}

[ -r "$TARBALL" ] || die "no $TARBALL (apt-get install linux-source-6.1)"
for f in "${FRAGMENTS[@]}"; do
	[ -r "$f" ] || die "no $f"
done

# One build at a time per cache dir (a developer and CI on one machine).
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	log "waiting for another build.sh on $CACHE"
	flock 9
fi

# --- the cache key ------------------------------------------------------------
tarball_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
	echo "$(basename "$TARBALL") ${v:-unknown} $(stat -c '%s %Y' "$TARBALL")"
}
TARVER=$(tarball_version)
# the patches' sha256s, one a line: in the key, and listed in the source
# tree they were applied to
PATCHES=$(sha256sum "$HERE"/patches/*.patch | cut -d' ' -f1)
KEY=$({
	cat "${FRAGMENTS[@]}" | sha256sum
	echo "$PATCHES"
	sha256sum <"$SELF"
	echo "$TARVER"
	gcc --version 2>/dev/null | head -n 1 || true
} | sha256sum | cut -d' ' -f1)

if [ "${FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] &&
	[ -f "$SRC/Makefile" ] && [ -f "$BZIMAGE" ] && [ -f "$BUILD/Module.symvers" ] &&
	[ -x "$BUILD/scripts/mod/modpost" ]; then
	finish "up to date (stamp $KEY)"
	exit 0
fi

for tool in gcc make flex bison bc xz perl patch; do
	command -v "$tool" >/dev/null || die "missing tool '$tool'"
done
[ -e /usr/include/gelf.h ] || die "missing libelf headers (apt-get install libelf-dev): objtool needs them"

# --- the source -----------------------------------------------------------------
# A tree from another tarball, or patched differently, is unpacked again;
# one not patched yet is patched in place (kbuild then rebuilds only the
# files the patches touch).
applied=$(cat "$SRC/.vbackend-patches" 2>/dev/null || true)
if [ ! -f "$SRC/Makefile" ] || [ "$(cat "$SRC/.vbackend-tarball" 2>/dev/null)" != "$TARVER" ] ||
	{ [ -n "$applied" ] && [ "$applied" != "$PATCHES" ]; }; then
	log "unpacking $TARBALL into $SRC"
	applied=""
	rm -rf "$SRC" "$SRC.tmp" "$BUILD"
	mkdir -p "$SRC.tmp"
	tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	echo "$TARVER" >"$SRC.tmp/.vbackend-tarball"
	mv "$SRC.tmp" "$SRC"
fi
if [ "$applied" != "$PATCHES" ]; then
	for p in "$HERE"/patches/*.patch; do
		log "patching $SRC: ${p##*/}"
		patch -s -p1 -N -d "$SRC" <"$p" || die "${p##*/} does not apply"
	done
	echo "$PATCHES" >"$SRC/.vbackend-patches"
fi

# --- the configuration ----------------------------------------------------------
# wanted FRAGMENT...: their option lines, a later line for the same
# symbol winning (as in merge_config.sh)
wanted() {
	awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { s = $0; sub(/=.*/, "", s) }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { s = $2 }
	s != "" { if (!(s in v)) o[n++] = s; v[s] = $0; s = "" }
	END { for (i = 0; i < n; i++) print v[o[i]] }' "$@"
}

# check_config FRAGMENT CONFIG: print every CONFIG_X=v / "# CONFIG_X is not
# set" line of FRAGMENT that CONFIG does not have; fail if there is one.
check_config() {
	local line sym act bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		act=$(grep -E "^(# )?${sym}[= ]" "$2" || true)
		# "is not set" and absent (dependencies not met) both mean off
		if [ -z "$act" ] && [ "${line:0:1}" = "#" ]; then
			continue
		fi
		if [ "$act" != "$line" ]; then
			echo "  wanted: $line"
			echo "  got:    ${act:-(absent: no such symbol, or its dependencies are not met)}"
			bad=1
		fi
	done <"$1"
	return $bad
}

mkdir -p "$BUILD"
rm -f "$STAMP"
log "configuring $BUILD (tinyconfig + ${FRAGMENTS[*]##*/})"
# ARCH=x86_64 for tinyconfig only: plain tinyconfig on x86 is a 32-bit config
# whose 32-bit defaults (FRAME_WARN=1024, ...) would survive into the 64-bit
# one. Every later make, like the M= builds of external modules, runs
# without ARCH (x86, 64-bit from CONFIG_64BIT=y) so that kbuild never sees
# ARCH change and reconfigures.
make -s -C "$SRC" O="$BUILD" ARCH=x86_64 tinyconfig >"$BUILD/tinyconfig.log" 2>&1 ||
	{ cat "$BUILD/tinyconfig.log" >&2; die "make tinyconfig failed"; }
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "${FRAGMENTS[@]}" >"$BUILD/merge_config.log" 2>&1 ||
	{ cat "$BUILD/merge_config.log" >&2; die "merge_config.sh failed"; }
make -s -C "$SRC" O="$BUILD" olddefconfig >"$BUILD/olddefconfig.log" 2>&1 ||
	{ cat "$BUILD/olddefconfig.log" >&2; die "make olddefconfig failed"; }
cat "$BUILD/olddefconfig.log"
wanted "${FRAGMENTS[@]}" >"$BUILD/fragment.wanted"
if ! bad=$(check_config "$BUILD/fragment.wanted" "$BUILD/.config"); then
	echo "$bad" >&2
	die "options of ${FRAGMENTS[*]##*/} did not end up in $BUILD/.config (fix their dependencies)"
fi
log "all $(wc -l <"$BUILD/fragment.wanted") fragment options are set as asked"

# --- the build --------------------------------------------------------------------
# bzImage to boot; `modules` builds no module here (nothing is =m) but runs
# modpost on vmlinux, which writes the Module.symvers that external modules
# link against, and implies modules_prepare.
log "building bzImage + modules_prepare with -j$JOBS (log: $BUILD/build.log)"
make -C "$SRC" O="$BUILD" -j"$JOBS" bzImage modules modules_prepare 2>&1 | tee "$BUILD/build.log"

[ -f "$BZIMAGE" ] || die "no $BZIMAGE after the build"
[ -f "$BUILD/Module.symvers" ] || die "no $BUILD/Module.symvers after the build"
echo "$KEY" >"$STAMP"
finish "built $(make -s -C "$SRC" O="$BUILD" kernelrelease)"
