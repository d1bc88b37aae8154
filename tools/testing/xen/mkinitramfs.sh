#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh -o DOM0.cpio.gz -m vbackend.ko -f vbackend_xen_front.ko
#                -b BINDIR [-k KVER] [--mode full|handshake|script|debug]
#                [--mib N] [--script FILE] [--faults FAULTS_TEST]
#
# Build the Xen topology's initramfs: the dom0's, with the domU's inside.
#  domU: static busybox, domU-init, the virtio-mmio/virtio-blk/ext4 modules
#        of KVER, the frontend helper, mke2fs and the xenstore client;
#  dom0: static busybox, bash, dom0-init and dom0-lib.sh, the Xen modules (xenfs and the
#        devices it needs) and loop+ext4 of KVER, vbackend.ko as
#        /vbackend.ko, vbackend-sample and vbackend-info from BINDIR,
#        vbackend-xen-attach, the Xen tools, e2fsck, the domU's kernel
#        (/boot/vmlinuz-KVER) and initramfs, and /etc/vbackend-xen.conf
#        (mode, MiB domU1 writes), and with --script FILE (mode script)
#        FILE as /etc/dom0-script.sh. Mode debug is for a dom0 that runs
#        the debug kernel, which has the Xen drivers built in: no Xen,
#        loop or ext4 modules; --faults adds that kselftest binary as
#        /usr/bin/faults_test.
# Every dynamic binary brings the libraries ldd lists; KVER defaults to the
# test kernel.
set -euo pipefail
trap 'echo "mkinitramfs: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
# shellcheck source-path=SCRIPTDIR/../qemu
. "$(dirname "$0")/../qemu/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
out="" ko="" front="" bins="" kver="" mode=full mib=64 script="" faults=""
XEN_BIN=/usr/lib/xen-4.17/bin

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-m) ko=$2; shift 2 ;;
	-f) front=$2; shift 2 ;;
	-b) bins=$2; shift 2 ;;
	-k) kver=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--script) script=$2; shift 2 ;;
	--faults) faults=$2; shift 2 ;;
	*) usage ;;
	esac
done
if [ -z "$out" ] || [ -z "$ko" ] || [ -z "$front" ] || [ -z "$bins" ]; then usage; fi
case $mode in full | handshake | debug) ;; script) [ -f "$script" ] || usage ;; *) usage ;; esac
kver=${kver:-$(need_kver)}
for f in "$ko" "$front" "$bins/vbackend-sample" "$bins/vbackend-info" \
	"/boot/vmlinuz-$kver" "$XEN_BIN/xl" /sbin/mke2fs /sbin/e2fsck /bin/bash; do
	[ -f "$f" ] || die "mkinitramfs: no $f (make deps, and build the module and userspace first)"
done
need_busybox_static

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# add_modules ROOT MODULE...: each module of KVER and what it depends on,
# flat in ROOT/lib/modules, their load order in ROOT/etc/modules.load.
# crc32c-intel needs SSE4.2, which the emulated CPU lacks; crc32c_generic
# stands in for it.
add_modules() {
	local root=$1 m path name
	shift
	mkdir -p "$root/lib/modules" "$root/etc"
	touch "$root/etc/modules.load"
	for m in "$@"; do
		modprobe -S "$kver" --show-depends "$m" | while read -r _ path _; do
			name=$(basename "$path" .ko)
			[ "$name" != crc32c-intel ] || continue
			grep -qx "$name" "$root/etc/modules.load" && continue
			cp "$path" "$root/lib/modules/"
			echo "$name" >>"$root/etc/modules.load"
		done
	done
}

# base_root ROOT INIT: busybox and an init
base_root() {
	mkdir -p "$1"/{bin,sbin,dev,etc,proc,sys,tmp,usr/bin,boot}
	cp /bin/busybox "$1/bin/busybox"
	cp "$2" "$1/init"
	chmod 755 "$1/init"
}

# add_xenstore_client ROOT: the xenstore-* commands (one binary that acts
# on its name)
add_xenstore_client() {
	local c
	cp /usr/bin/xenstore "$1/usr/bin/"
	for c in read write rm ls list exists watch chmod; do
		ln -sf xenstore "$1/usr/bin/xenstore-$c"
	done
}

# ---- domU ----
domu=$work/domU
base_root "$domu" "$here/domU-init"
add_modules "$domu" virtio_mmio virtio_blk ext4
cp "$front" "$domu/lib/modules/vbackend_xen_front.ko"
cp /sbin/mke2fs "$domu/sbin/"
cp /etc/mke2fs.conf "$domu/etc/"
add_xenstore_client "$domu"
copy_libs "$domu" "$domu"/sbin/* "$domu"/usr/bin/*
pack_initramfs "$domu" "$work/domU.cpio.gz"

# ---- dom0 ----
dom0=$work/dom0
base_root "$dom0" "$here/dom0-init"
mkdir -p "$dom0/lib/vbackend"
cp "$here/dom0-lib.sh" "$dom0/lib/vbackend/"
if [ "$mode" = debug ]; then
	mkdir -p "$dom0/lib/modules" && : >"$dom0/etc/modules.load"
else
	add_modules "$dom0" xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs loop ext4
fi
[ -z "$faults" ] || cp "$faults" "$dom0/usr/bin/faults_test"
cp "$ko" "$dom0/vbackend.ko"
cp /bin/bash "$dom0/bin/bash"
cp "$bins/vbackend-sample" "$bins/vbackend-info" "$here/vbackend-xen-attach" "$dom0/usr/bin/"
cp /sbin/e2fsck "$dom0/sbin/"
add_xenstore_client "$dom0"
mkdir -p "$dom0$XEN_BIN" "$dom0/etc/xen"
for b in xl xenstored xenconsoled xen-init-dom0 lsevtchn; do
	cp "$XEN_BIN/$b" "$dom0$XEN_BIN/"
done
: >"$dom0/etc/xen/xl.conf"
copy_libs "$dom0" "$dom0"/bin/* "$dom0"/sbin/* "$dom0"/usr/bin/* "$dom0$XEN_BIN"/*
# xl aborts without libgcc_s (pthread_cancel loads it)
# (awk reads all of ldconfig's output: exiting at the first match would
# SIGPIPE ldconfig, which pipefail turns into a failure)
libgcc=$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ && !f { f = $NF } END { print f }')
[ -n "$libgcc" ] || die "mkinitramfs: no libgcc_s.so.1"
cp -L --parents "$libgcc" "$dom0"
cp "/boot/vmlinuz-$kver" "$dom0/boot/vmlinuz"
cp "$work/domU.cpio.gz" "$dom0/boot/domU.cpio.gz"
printf 'XEN_MODE=%s\nMIB=%s\n' "$mode" "$mib" >"$dom0/etc/vbackend-xen.conf"
[ -z "$script" ] || cp "$script" "$dom0/etc/dom0-script.sh"
pack_initramfs "$dom0" "$out"
echo "initramfs: $out ($(du -k "$out" | cut -f1) KiB, mode $mode; domU initramfs" \
	"$(du -k "$work/domU.cpio.gz" | cut -f1) KiB)"
