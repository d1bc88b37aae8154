#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh -o OUT.cpio.gz -m vbackend.ko [-t TESTDIR] [-b BINDIR]
#                [--mode check|demo|bench] [--timeout SECS]
#
# Build the test guest's initramfs: static busybox, the init script next to
# this file, the module as /vbackend.ko, every *_test executable of TESTDIR
# as /tests/*, every executable of BINDIR in /bin (the userspace tools), and
# /etc/vbackend-test.conf with the mode and the per-binary timeout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="" ko="" tests="" bins="" mode=check timeout=300

usage() {
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-m) ko=$2; shift 2 ;;
	-t) tests=$2; shift 2 ;;
	-b) bins=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	*) usage ;;
	esac
done
if [ -z "$out" ] || [ -z "$ko" ]; then usage; fi
case $mode in check | demo | bench) ;; *) usage ;; esac
[ -f "$ko" ] || { echo "mkinitramfs: no module $ko" >&2; exit 1; }

# The guest has no libraries: busybox must be the static build.
busybox=/bin/busybox
status=$(dpkg -s busybox-static 2>/dev/null | sed -n 's/^Status: //p') || true
if [ "$status" != "install ok installed" ]; then
	echo "mkinitramfs: need the busybox-static package (make deps)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,tests}
cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$ko" "$root/vbackend.ko"
printf 'MODE=%s\nTEST_TIMEOUT=%s\n' "$mode" "$timeout" >"$root/etc/vbackend-test.conf"

if [ -n "$tests" ]; then
	for t in "$tests"/*_test; do
		[ -f "$t" ] && [ -x "$t" ] && cp "$t" "$root/tests/"
	done
fi
if [ -n "$bins" ]; then
	for b in "$bins"/*; do
		[ -f "$b" ] && [ -x "$b" ] && cp "$b" "$root/bin/"
	done
fi
# Dynamic binaries (the sanitizer builds) bring the libraries ldd names,
# at the same paths, and the loader.
for f in "$root"/bin/* "$root"/tests/*; do
	[ -f "$f" ] || continue
	ldd "$f" >/dev/null 2>&1 || continue
	ldd "$f" | grep -o '/[^ ]*' | while read -r lib; do
		[ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
	done
done
# The kernel opens /dev/console for init before devtmpfs is mounted.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out ($(du -k "$out" | cut -f1) KiB, mode $mode," \
	"$(find "$root/tests" -type f | wc -l) test binaries)"
