#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-qemu.sh -k VMLINUZ -i INITRD -l CONSOLE_LOG -r RESULTS_LOG
#             [-t TIMEOUT_SECS] [-q]
#
# Boot the test guest under QEMU TCG (no KVM, no network, no disk). The
# console (ttyS0) streams to stdout and to CONSOLE_LOG; the guest's result
# port (ttyS1) goes to RESULTS_LOG. -q boots with "quiet" (the demo).
# Exit status: QEMU's, or 124 when the guest did not power off in time.
set -euo pipefail

kernel="" initrd="" log="" results="" secs=900 quiet=""
while getopts k:i:l:r:t:q opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	l) log=$OPTARG ;;
	r) results=$OPTARG ;;
	t) secs=$OPTARG ;;
	q) quiet=" quiet" ;;
	*) exit 2 ;;
	esac
done
if [ -z "$kernel" ] || [ -z "$initrd" ] || [ -z "$log" ] || [ -z "$results" ]; then
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
[ -r "$kernel" ] || { echo "run-qemu: cannot read $kernel" >&2; exit 1; }

mkdir -p "$(dirname "$log")" "$(dirname "$results")"
rm -f "$log" "$results"

# -serial twice: ttyS0 is the console on stdio, ttyS1 the results file.
# sed drops the terminal control sequences the firmware prints.
# panic=-1 with -no-reboot: a panicking guest ends QEMU at once.
status=0
timeout -k 10 "$secs" qemu-system-x86_64 \
	-accel tcg -cpu qemu64,+svm,+npt -m 1024 -smp 2 \
	-nographic -monitor none -no-reboot -nic none \
	-serial stdio -serial "file:$results" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1$quiet" \
	</dev/null 2>&1 |
	sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' |
	tee "$log" || status=${PIPESTATUS[0]}
exit "$status"
