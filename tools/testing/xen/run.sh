#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [--handshake|--dom0-script FILE|--debug-dom0 BZIMAGE] [--probe]
#        [-m vbackend.ko] [-b BINDIR] [--mib N] [--faults FAULTS_TEST]
#
# The Xen test topology: Xen 4.17 under QEMU TCG, a PV dom0 with vbackend.ko
# and vbackend-sample, PVH domUs whose stock virtio_mmio + virtio_blk
# drivers the sample serves (dom0-init lists the scenarios). Builds the
# frontend helper (vbackend_xen_front.ko) and the initramfs, boots, and
# leaves for verdict.sh:
#   build/logs/xen.log          the serial console (Xen, dom0)
#   build/logs/xen-results.log  dom0's result lines, the logs it dumps
#   build/logs/xen-*.log        each domU's console, each sample's output
# --handshake: the frontend helper's xenstore handshake alone (dom0 fakes
#              the backend); needs no Xen provider in vbackend.ko.
# --debug-dom0: dom0 boots BZIMAGE (the debug kernel: KASAN, lockdep,
#              kmemleak; -m must be vbackend.ko built for it) and runs the
#              debug scenarios (dom0-init); the domUs keep the test kernel.
#              --faults: faults_test, run there against a Xen frontend.
# --probe:     only say whether vbackend.ko (-m) has a Xen provider: exit 0
#              when it imports Xen symbols, 1 when not (nothing is booted).
# -m: the module for the test kernel (default build/vbackend.ko, else
# ./vbackend.ko); -b: where vbackend-sample and vbackend-info are (default
# build/userspace); --mib: MiB domU1 writes (default 64).
# Environment: TEST_KVER, XEN_TIMEOUT (QEMU's, 2400 s), XEN_CPUS (the
# machine's CPUs, 4), XEN_LABEL (the mark of its streamed result lines
# and the name of its logs, "xen"), VB_BUILD.
# Exit status: QEMU's (124: the machine did not power off in time).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../qemu
. "$(dirname "$0")/../qemu/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
mode=full probe=0 ko="" bins=$VB_BUILD/userspace mib=64 script=() dom0_kernel="" faults=()
while [ $# -gt 0 ]; do
	case $1 in
	--handshake) mode=handshake; shift ;;
	--dom0-script) mode=script script=(--script "$2"); shift 2 ;;
	--debug-dom0) mode=debug dom0_kernel=$2; shift 2 ;;
	--faults) faults=(--faults "$2"); shift 2 ;;
	--probe) probe=1; shift ;;
	-m) ko=$2; shift 2 ;;
	-b) bins=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	*) sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
if [ -z "$ko" ]; then
	ko=$VB_BUILD/vbackend.ko
	[ -f "$ko" ] || ko=$VB_TOP/vbackend.ko
fi
[ -f "$ko" ] || die "no $ko: build the module first"

# A Xen provider makes hypercalls and binds event channels: the module
# then imports hypercall_page and xen_*/evtchn symbols.
if [ "$probe" = 1 ]; then
	# (grep -c reads everything: grep -q would quit at the first match
	# and SIGPIPE nm, which pipefail would turn into "no provider")
	n=$(nm -u "$ko" | grep -Ecw 'hypercall_page|xen_[a-z0-9_]+|[a-z0-9_]*evtchn[a-z0-9_]*') || true
	[ "${n:-0}" -gt 0 ]
	exit
fi

kver=$(need_kver)
logs=$VB_BUILD/logs
out=$VB_BUILD/xen
mkdir -p "$logs" "$out"
XEN_TIMEOUT=${XEN_TIMEOUT:-2400}
# Four pCPUs. With two (as many as the host has cores), the 4-vCPU domU1
# and domU2 triple-faulted mid-I/O in 2 runs of 2 (QEMU 7.2's nested SVM
# under TCG; Xen's "dN Triple fault", no guest message): more vCPUs per
# pCPU means more world switches with an event pending. With four, and no
# polling process in dom0, both domUs are served in about 2 minutes.
XEN_CPUS=${XEN_CPUS:-4}
XEN_LABEL=${XEN_LABEL:-xen}
console=$logs/$XEN_LABEL.log results=$logs/$XEN_LABEL-results.log

echo "# xen: building the frontend helper for $kver (log: ${logs#"$VB_TOP"/}/xen-build.log)"
{
	"${MAKE:-make}" -C "$here/frontend" KDIR="/lib/modules/$kver/build" \
		OUT="$out/frontend" &&
		zcat /boot/xen-4.17-amd64.gz >"$out/xen.tmp" && mv "$out/xen.tmp" "$out/xen" &&
		"$here/mkinitramfs.sh" -o "$out/dom0-$mode.cpio.gz" -m "$ko" \
			-f "$out/frontend/vbackend_xen_front.ko" -b "$bins" -k "$kver" \
			--mode "$mode" --mib "$mib" "${script[@]}" "${faults[@]}"
} >"$logs/xen-build.log" 2>&1 || {
	tail -n 20 "$logs/xen-build.log" >&2
	die "building the Xen topology failed (log: $logs/xen-build.log)"
}
tail -n 1 "$logs/xen-build.log"

echo "# xen: booting Xen 4.17 + dom0 under QEMU TCG (timeout ${XEN_TIMEOUT}s); console: ${console#"$VB_TOP"/}"
start=$SECONDS
status=0
"$VB_TOP/tools/testing/qemu/run-qemu.sh" -k "$out/xen" -m 3072M -s "$XEN_CPUS" \
	-a "console=com1 console_timestamps=boot dom0_mem=1536M,max:1536M loglvl=all guest_loglvl=all conring_size=1M" \
	-i "${dom0_kernel:-/boot/vmlinuz-$kver} console=hvc0 earlyprintk=xen panic=-1,$out/dom0-$mode.cpio.gz" \
	-l "$console" -r "$results" -t "$XEN_TIMEOUT" -S "$XEN_LABEL" || status=$?

# One file per log that dom0 dumped ("NAME: line" in the results).
rm -f "$logs/$XEN_LABEL"-guest-*.log "$logs/$XEN_LABEL"-sample-*.log
if [ -f "$results" ]; then
	sed -n 's/^\(guest-[A-Za-z0-9]*\.log\|sample-[A-Za-z0-9]*\.log\): .*/\1/p' "$results" |
		sort -u | while read -r name; do
			sed -n "s/^${name//./\\.}: //p" "$results" >"$logs/$XEN_LABEL-$name"
		done
fi
echo "# xen: QEMU exited with status $status after $((SECONDS - start)) s"
exit "$status"
