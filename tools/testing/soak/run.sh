#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [--duration MINUTES] [-m vbackend.ko] [-u USERSPACE_DIR] [--no-verdict]
#
# make soak: build vbackend.ko for the test kernel and the userspace tools,
# boot the test guest in soak mode (tools/testing/qemu/init) and let
# vbackend-soak (next to this file) run verified virtio-blk I/O through
# vbackend-sample for MINUTES (default: $DURATION, else 10) while the
# backend is killed and restarted, the frontend reset and created again
# and the kicks churned; then judge the guest with verdict.sh, its lines
# marked "[soak]".
# -m: a module already built for the test kernel; -u: a directory holding
# static vbackend-sample and vbackend-frontend-sim builds (each skips that
# build). --no-verdict: leave the verdict to the caller (check.sh) and exit
# with QEMU's status; the logs are build/logs/soak.log (console) and
# build/logs/soak-results.log (result lines).
# Environment: TEST_KVER, VB_BUILD, QEMU_TIMEOUT (default: the duration
# plus 12 minutes: boot, the last run's own bound, the final checks).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../qemu
. "$(dirname "$0")/../qemu/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
qemu_dir=$VB_TOP/tools/testing/qemu
duration=${DURATION:-10} ko="" us="" verdict=1
usage() {
	sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
	-m) [ $# -ge 2 ] || usage; ko=$2; shift 2 ;;
	-u) [ $# -ge 2 ] || usage; us=$2; shift 2 ;;
	--no-verdict) verdict=0; shift ;;
	*) usage ;;
	esac
done
case $duration in '' | *[!0-9]*) die "--duration: '$duration' is not a number of minutes" ;; esac
[ "$duration" -ge 1 ] || die "--duration: at least 1 minute"

kver=$(need_kver)
# shellcheck disable=SC2034 # used by kmake (lib.sh)
KDIR=/lib/modules/$kver/build
out=$VB_BUILD/soak
logs=$VB_BUILD/logs
console=$logs/soak.log results=$logs/soak-results.log
QEMU_TIMEOUT=${QEMU_TIMEOUT:-$((duration * 60 + 720))}
start=$SECONDS
mkdir -p "$out" "$logs"

build() {
	if [ -z "$ko" ]; then
		(cd "$VB_TOP" && rm -f vbackend.ko && kmake modules)
		ko=$out/vbackend.ko
		cp "$VB_TOP/vbackend.ko" "$ko"
	fi
	case $(modinfo -F vermagic "$ko") in
	"$kver "*) ;;
	*) echo "$ko is not built for $kver"; return 1 ;;
	esac
	if [ -z "$us" ]; then
		us=$out/userspace
		rm -rf "$us"
		"${MAKE:-make}" -C "$VB_TOP/userspace" O="$us" all
	fi
	# the guest's /bin: the two programs and the driver
	rm -rf "${out:?}/bin"
	mkdir -p "$out/bin"
	cp "$us/vbackend-sample" "$us/vbackend-frontend-sim" "$here/vbackend-soak" "$out/bin/"
	"$qemu_dir/mkinitramfs.sh" -o "$out/initramfs.cpio.gz" -m "$ko" -b "$out/bin" \
		--mode soak --duration "$duration"
}

echo "# soak: building for $kver (log: ${logs#"$VB_TOP"/}/soak-build.log)"
if ! build >"$logs/soak-build.log" 2>&1; then
	tail -n 20 "$logs/soak-build.log" >&2
	die "building the soak guest failed (log: $logs/soak-build.log)"
fi
tail -n 1 "$logs/soak-build.log"

echo "# soak: $duration min under QEMU TCG (timeout ${QEMU_TIMEOUT}s); console: ${console#"$VB_TOP"/}"
status=0
"$qemu_dir/run-qemu.sh" -k "/boot/vmlinuz-$kver" -i "$out/initramfs.cpio.gz" \
	-l "$console" -r "$results" -t "$QEMU_TIMEOUT" -S soak || status=$?
echo "# soak: QEMU exited with status $status after $((SECONDS - start)) s in all"
if [ -f "$results" ]; then
	sed -n 's/^\(soak: .*\)/# \1/p' "$results"
fi
[ "$verdict" = 1 ] || exit "$status"
exec "$qemu_dir/verdict.sh" -P -g "soak:$console:$results:$status"
