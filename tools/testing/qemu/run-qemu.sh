#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-qemu.sh -k VMLINUZ -i INITRD -l CONSOLE_LOG -r RESULTS_LOG
#             [-t TIMEOUT_SECS] [-q] [-m MEM] [-s CPUS] [-a APPEND]
#
# Boot the test guest under QEMU TCG (no KVM, no network, no disk). The
# console (ttyS0) streams to stdout and to CONSOLE_LOG; the guest's result
# port (ttyS1) goes to RESULTS_LOG. -q boots with "quiet" (the demo).
# -m: guest RAM (default 1024M). -s: vCPUs (default 2). -a: the whole
# command line instead of "console=ttyS0 panic=-1" (the Xen topology boots
# Xen with its dom0 and dom0 initramfs as multiboot modules:
# -i "VMLINUZ ARGS,INITRD").
# Exit status: QEMU's, or 124 when the guest did not power off in time.
set -euo pipefail

kernel="" initrd="" log="" results="" secs=900 quiet="" mem=1024M cpus=2 append=""
while getopts k:i:l:r:t:qm:s:a: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	l) log=$OPTARG ;;
	r) results=$OPTARG ;;
	t) secs=$OPTARG ;;
	q) quiet=" quiet" ;;
	m) mem=$OPTARG ;;
	s) cpus=$OPTARG ;;
	a) append=$OPTARG ;;
	*) exit 2 ;;
	esac
done
if [ -z "$kernel" ] || [ -z "$initrd" ] || [ -z "$log" ] || [ -z "$results" ]; then
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
[ -r "$kernel" ] || { echo "run-qemu: cannot read $kernel" >&2; exit 1; }
append=${append:-console=ttyS0 panic=-1$quiet}

mkdir -p "$(dirname "$log")" "$(dirname "$results")"
rm -f "$log" "$results"

# -serial twice: ttyS0 is the console on stdio, ttyS1 the results file.
# sed drops the terminal control sequences the firmware prints.
# panic=-1 with -no-reboot: a panicking guest ends QEMU at once.
status=0
timeout -k 10 "$secs" qemu-system-x86_64 \
	-accel tcg -cpu qemu64,+svm,+npt -m "$mem" -smp "$cpus" \
	-nographic -monitor none -no-reboot -nic none \
	-serial stdio -serial "file:$results" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "$append" \
	</dev/null 2>&1 |
	sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' |
	tee "$log" || status=${PIPESTATUS[0]}
exit "$status"
