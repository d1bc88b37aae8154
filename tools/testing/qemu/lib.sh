# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the host-side scripts of the vbackend test harness.
# Sourced, never run.

VB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VB_BUILD=${VB_BUILD:-$VB_TOP/build}
VB_KSRC=${VB_KSRC:-$VB_BUILD/ksrc}
# When HOST_TAP names a file, every result line is appended to it too, so
# that the final verdict can count the host checks.
HOST_TAP=${HOST_TAP:-}

# tap STATUS DESCRIPTION: print one result line, "ok" when STATUS is 0.
tap() {
	local line
	if [ "$1" -eq 0 ]; then
		line="ok - $2"
	else
		line="not ok - $2"
	fi
	echo "$line"
	if [ -n "$HOST_TAP" ]; then
		echo "$line" >>"$HOST_TAP"
	fi
}

# diag FILE [MAX]: show the first MAX (default 30) lines of FILE as TAP
# diagnostics.
diag() {
	sed -n "1,${2:-30}p" "$1" | sed 's/^/#   /'
}

die() {
	echo "error: $*" >&2
	exit 1
}

# test_kver: the kernel the tests build against and boot: TEST_KVER when
# set, else the newest 6.1 kernel that has both headers
# (/lib/modules/V/build) and a bootable image (/boot/vmlinuz-V); "6.1.*",
# so that a 6.12 kernel on the machine is not taken for one.
test_kver() {
	local d v
	if [ -n "${TEST_KVER:-}" ]; then
		echo "$TEST_KVER"
		return 0
	fi
	for d in /lib/modules/6.1.*/; do
		v=$(basename "$d")
		if [ -e "/boot/vmlinuz-$v" ] && [ -e "$d/build/Makefile" ]; then
			echo "$v"
		fi
	done | sort -V | tail -n 1
}

# need_kver: like test_kver, but fail loudly when there is none.
need_kver() {
	local v
	v=$(test_kver)
	[ -n "$v" ] || die "no 6.1 kernel with headers and /boot/vmlinuz-* (run 'make deps' as root)"
	[ -e "/lib/modules/$v/build/Makefile" ] || die "no headers for $v in /lib/modules/$v/build"
	[ -e "/boot/vmlinuz-$v" ] || die "no /boot/vmlinuz-$v"
	echo "$v"
}

# kmake ARGS...: run the kernel's make for this module against KDIR.
kmake() {
	"${MAKE:-make}" -C "$KDIR" M="$VB_TOP" "$@"
}

# copy_libs ROOT FILE...: copy into ROOT, at the same paths, every library
# that ldd lists for the dynamic executables among FILE (static ones and
# scripts are skipped), the loader included.
copy_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		ldd "$f" >/dev/null 2>&1 || continue
		ldd "$f" | grep -o '/[^ ]*' | while read -r lib; do
			[ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
		done
	done
}

# pack_initramfs ROOT OUT: ROOT as a gzipped newc cpio owned by root, with
# /dev/console (the kernel opens it for init before devtmpfs is mounted).
pack_initramfs() {
	local root=$1 out=$2
	mkdir -p "$root/dev" "$(dirname "$out")"
	if [ "$(id -u)" -eq 0 ] && [ ! -e "$root/dev/console" ]; then
		mknod -m 600 "$root/dev/console" c 5 1
	fi
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
	mv "$out.tmp" "$out"
}

# need_busybox_static: the guests have no libraries of their own, so their
# busybox must be the static build.
need_busybox_static() {
	local status
	status=$(dpkg -s busybox-static 2>/dev/null | sed -n 's/^Status: //p') || true
	if [ "$status" != "install ok installed" ]; then
		echo "need the busybox-static package (make deps)" >&2
		return 1
	fi
}
