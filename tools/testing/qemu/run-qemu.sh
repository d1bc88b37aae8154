#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-qemu.sh -k VMLINUZ -i INITRD -l CONSOLE_LOG -r RESULTS_LOG
#             [-t TIMEOUT_SECS] [-q] [-m MEM] [-s CPUS] [-a APPEND]
#             [-S LABEL] [-v]
#
# Boot the test guest under QEMU TCG (no KVM, no network, no disk). The
# console (ttyS0) goes to CONSOLE_LOG (-v: to stdout too); the guest's
# result port (ttyS1) goes to RESULTS_LOG. -S streams the result lines
# ("ok", "not ok", "Bail out!", "# time:", "# faults:") to stdout while the guest runs,
# marked "[LABEL] " unless LABEL is empty: "ok - [6.12] trap.batch_of_eight".
# -q boots with "quiet" (the demo).
# -m: guest RAM (default 1024M). -s: vCPUs (default 2). -a: the whole
# command line instead of "console=ttyS0 panic=-1" (the Xen topology boots
# Xen with its dom0 and dom0 initramfs as multiboot modules:
# -i "VMLINUZ ARGS,INITRD").
# Exit status: QEMU's, or 124 when the guest did not power off in time.
set -euo pipefail

kernel="" initrd="" log="" results="" secs=900 quiet="" mem=1024M cpus=2 append=""
stream=0 label="" verbose=0
while getopts k:i:l:r:t:qm:s:a:S:v opt; do
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
	S) stream=1 label=$OPTARG ;;
	v) verbose=1 ;;
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
console_sink() {
	if [ "$verbose" = 1 ]; then tee "$log"; else cat >"$log"; fi
}
(
	timeout -k 10 "$secs" qemu-system-x86_64 \
		-accel tcg -cpu qemu64,+svm,+npt -m "$mem" -smp "$cpus" \
		-nographic -monitor none -no-reboot -nic none \
		-serial stdio -serial "file:$results" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "$append" \
		</dev/null 2>&1 |
		sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' |
		console_sink
	exit "${PIPESTATUS[0]}"
) &
qpid=$!

# The result lines as they arrive; tail ends once QEMU has (--pid).
spid=""
if [ "$stream" = 1 ]; then
	mark=${label:+[$label] }
	tail -n +1 -F -s 0.5 --pid="$qpid" "$results" 2>/dev/null |
		sed -un -E -e 's/\r//g' \
			-e "s/^((not )?ok( [0-9]+)?( -)?) /\\1 $mark/p" \
			-e "s/^(Bail out!.*)/${mark}\\1/p" \
			-e "s/^# (time|faults): /# \\1: $mark/p" &
	spid=$!
fi
status=0
wait "$qpid" || status=$?
[ -z "$spid" ] || wait "$spid" || true
exit "$status"
