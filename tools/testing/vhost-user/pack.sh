#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pack.sh ROOT KVER: add the [vhost-user] topology to the test guest's
# initramfs tree ROOT: stock QEMU with its libraries and firmware, the
# stock kernel KVER as the inner guest's and an initramfs for it (busybox,
# the virtio modules, fio), and scenarios.sh, which the guest's init runs
# in mode vhost-user. The guest loads kvm-amd and runs QEMU -accel kvm on
# it (nested SVM): a real KVM guest served by vbackend-vhost-user.
#
# VU_SCENARIOS (environment, comma-separated): blk, the default, is the
# disk alone; rng adds vhost-user-rng-pci, kill a kill -9 of the blk
# bridge and backend under I/O and their restart. Both are out of make
# check for now: each fails some runs (README, "Known").
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../qemu
. "$(dirname "$0")/../qemu/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
root=$1 kver=$2
qemu=/usr/bin/qemu-system-x86_64
fio=/usr/bin/fio
[ -x "$qemu" ] || die "vhost-user: no $qemu"
[ -x "$fio" ] || die "vhost-user: no $fio (make deps installs it)"
vmlinuz=/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || die "vhost-user: no $vmlinuz"

mkdir -p "$root/usr/bin" "$root/usr/share" "$root/vhost-user"
cp "$qemu" "$root/usr/bin/"
# (firmware: QEMU looks beside its binary, ../share/qemu)
cp -rL /usr/share/qemu /usr/share/seabios "$root/usr/share/"
copy_libs "$root" "$root/usr/bin/qemu-system-x86_64"
cp "$here/scenarios.sh" "$root/vhost-user/"
echo "VU_SCENARIOS=${VU_SCENARIOS:-blk}" >"$root/vhost-user/scenarios.conf"
cp "$vmlinuz" "$root/vhost-user/vmlinuz"

inner=$(mktemp -d)
trap 'rm -rf "$inner"' EXIT
mkdir -p "$inner"/{bin,usr/bin,dev,proc,sys,tmp,lib/virtio}
cp /bin/busybox "$inner/bin/"
cp "$here/inner-init" "$inner/init"
chmod 755 "$inner/init"
cp "$fio" "$inner/usr/bin/"
copy_libs "$inner" "$inner/usr/bin/fio"
# in the order they load
for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
	drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
	drivers/virtio/virtio_pci drivers/block/virtio_blk \
	drivers/char/hw_random/virtio-rng; do
	f=/lib/modules/$kver/kernel/$m.ko
	if [ -f "$f" ]; then
		cp "$f" "$inner/lib/virtio/"
	elif [ -f "$f.xz" ]; then
		xz -dc "$f.xz" >"$inner/lib/virtio/${m##*/}.ko"
	fi
	echo "${m##*/}" >>"$inner/lib/virtio/order"
done
pack_initramfs "$inner" "$root/vhost-user/initrd.gz"
