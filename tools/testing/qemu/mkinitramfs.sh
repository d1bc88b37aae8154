#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh -o OUT.cpio.gz -m vbackend.ko [-t TESTDIR] [-b BINDIR]
#                [--mode check|demo|bench|soak|vhost-user] [--timeout SECS]
#                [--duration MINUTES]
#
# Build the test guest's initramfs: static busybox, the init script next to
# this file, the module as /vbackend.ko, the KVM modules of its kernel in
# /lib/kvm, every *_test executable of TESTDIR
# as /tests/*, every executable of BINDIR in /bin (the userspace tools), and
# /etc/vbackend-test.conf with the mode, the per-binary timeout and the
# soak's duration (DURATION, minutes; default 10). Mode vhost-user adds
# the [vhost-user] topology (tools/testing/vhost-user/pack.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
out="" ko="" tests="" bins="" mode=check timeout=300 duration=10

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
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
	--duration) duration=$2; shift 2 ;;
	*) usage ;;
	esac
done
if [ -z "$out" ] || [ -z "$ko" ]; then usage; fi
case $mode in check | demo | bench | soak | vhost-user) ;; *) usage ;; esac
case $duration in '' | *[!0-9]*) usage ;; esac
[ -f "$ko" ] || { echo "mkinitramfs: no module $ko" >&2; exit 1; }

# The guest has no libraries: busybox must be the static build.
busybox=/bin/busybox
need_busybox_static || exit 1

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,tests}
cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$ko" "$root/vbackend.ko"
printf 'MODE=%s\nTEST_TIMEOUT=%s\nDURATION=%s\n' "$mode" "$timeout" "$duration" \
	>"$root/etc/vbackend-test.conf"

if [ -n "$tests" ]; then
	for t in "$tests"/*_test; do
		[ -f "$t" ] && [ -x "$t" ] && cp "$t" "$root/tests/"
	done
fi
# The KVM modules of the kernel vbackend.ko was built for, in the order
# they load, for kvm_vmm_test and vbackend-bench's KVM guest (they skip
# when the modules are missing, as for the debug kernel, whose modules
# are not installed). Decompressed: 6.12's ship as .ko.xz.
kver=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
if [ -n "$tests" ] || [ "$mode" = bench ] || [ "$mode" = vhost-user ]; then
	mkdir -p "$root/lib/kvm"
	for m in virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd; do
		f=/lib/modules/$kver/kernel/$m.ko
		if [ -f "$f" ]; then
			cp "$f" "$root/lib/kvm/"
		elif [ -f "$f.xz" ]; then
			xz -dc "$f.xz" >"$root/lib/kvm/${m##*/}.ko"
		fi
	done
fi
if [ -n "$bins" ]; then
	for b in "$bins"/*; do
		[ -f "$b" ] && [ -x "$b" ] && cp "$b" "$root/bin/"
	done
fi
if [ "$mode" = vhost-user ]; then
	"$here/../vhost-user/pack.sh" "$root" "$kver"
fi
# Dynamic binaries (the sanitizer builds) bring the libraries ldd names,
# at the same paths, and the loader.
copy_libs "$root" "$root"/bin/* "$root"/tests/*
pack_initramfs "$root" "$out"
echo "initramfs: $out ($(du -k "$out" | cut -f1) KiB, mode $mode," \
	"$(find "$root/tests" -type f | wc -l) test binaries)"
