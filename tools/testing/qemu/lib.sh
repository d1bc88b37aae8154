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
# (/lib/modules/V/build) and a bootable image (/boot/vmlinuz-V).
test_kver() {
	local d v
	if [ -n "${TEST_KVER:-}" ]; then
		echo "$TEST_KVER"
		return 0
	fi
	for d in /lib/modules/6.1*/; do
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
