#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian 12 packages that building and testing vbackend need.
# Idempotent: apt-get runs only when a package is missing.
set -euo pipefail

pkgs=(
	qemu-system-x86		# the test guest (TCG)
	linux-image-amd64	# the kernel the guest boots
	linux-headers-amd64	# ... and its headers, to build the module
	linux-image-6.12-amd64		# Debian 12's 6.12 line: [6.12] guest
	linux-headers-6.12-amd64	# ... and the module built for it
	linux-image-6.12-rt-amd64	# 6.12 PREEMPT_RT: [6.12-rt] guest
	linux-headers-6.12-rt-amd64
	busybox-static		# the guest's userspace
	cpio			# the guest's initramfs
	sparse			# make lint
	linux-source-6.1	# checkpatch.pl and kselftest_harness.h
	gcc
	make
	kmod
	xz-utils		# unpacks linux-source-6.1
	gcc-multilib		# the i386 half of make abi-test
	flex bison bc libelf-dev patch	# the debug kernel (tools/testing/debug-kernel)
	libc6-dev		# static test binaries
	perl			# checkpatch.pl
	xen-hypervisor-4.17-amd64	# the Xen topology (make check, make bench)
	xen-utils-4.17		# xl, xenstored, xenconsoled for the test dom0
	xenstore-utils		# xenstore-read/-write for the launcher
	libxen-dev		# the libxendevicemodel baseline (make bench)
	e2fsprogs		# mke2fs for the domUs, e2fsck for dom0
	fio			# the [vhost-user] inner guest's I/O
)

missing=()
for p in "${pkgs[@]}"; do
	# sed, not grep -q: grep would stop early and SIGPIPE dpkg (pipefail).
	status=$(dpkg -s "$p" 2>/dev/null | sed -n 's/^Status: //p') || true
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to run apt-get; run 'make deps' as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
