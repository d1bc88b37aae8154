#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# repeat.sh [-n N] [--no-bench] [-m vbackend.ko] [-b BINDIR]
#
# "make check-xen-repeat N=5": the Xen topology (tools/testing/xen/run.sh)
# and the Xen benchmark (tools/testing/bench/xen/run.sh) N times each,
# alternately, each run judged by verdict.sh as make check judges it.
# Prints, per run, its verdict line, how long it took and the boot phases
# of each domU (the "# time: domU..." lines: built, init, helper, served,
# probed), then how many runs of each passed. Logs of run K are kept in
# build/logs/xen-repeat/K-{xen,xenbench}*.
# Exit status: 0 only when every run passed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../qemu
. "$(dirname "$0")/../qemu/lib.sh"

n=5 bench=1 ko=$VB_BUILD/vbackend.ko bins=$VB_BUILD/userspace
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	--no-bench) bench=0; shift ;;
	-m) ko=$2; shift 2 ;;
	-b) bins=$2; shift 2 ;;
	*) sed -n '4p' "$0" | sed 's/^# /usage: /' >&2; exit 2 ;;
	esac
done
case $n in '' | *[!0-9]* | 0) die "-n takes a positive count, not '$n'" ;; esac
logs=$VB_BUILD/logs
keep=$logs/xen-repeat
rm -rf "$keep"
mkdir -p "$keep"
passed_xen=0 passed_bench=0

# judge NAME K CONSOLE RESULTS STATUS SECS: the verdict of one run, kept
judge() {
	local name=$1 k=$2 console=$3 results=$4 st=$5 secs=$6 v=0 last
	"$VB_TOP/tools/testing/qemu/verdict.sh" -g "$name:$console:$results:$st" \
		>"$keep/$k-$name-verdict.log" 2>&1 || v=1
	cp "$console" "$keep/$k-$name.log" 2>/dev/null || true
	cp "$results" "$keep/$k-$name-results.log" 2>/dev/null || true
	last=$(sed -n '$p' "$keep/$k-$name-verdict.log")
	echo "# repeat: $name run $k of $n: $([ $v = 0 ] && echo passed || echo FAILED) ($last) in $secs s"
	{ [ ! -f "$results" ] || tr -d '\r' <"$results"; } |
		sed -n -E 's/^# time: (domU[A-Za-z0-9]* .*)/# repeat:   \1/p'
	[ $v = 0 ] || sed -n 's/^#   not ok/# repeat:   not ok/p' "$keep/$k-$name-verdict.log"
	return $v
}

for k in $(seq "$n"); do
	t0=$SECONDS st=0
	"$VB_TOP/tools/testing/xen/run.sh" -m "$ko" -b "$bins" >"$keep/$k-xen-run.log" 2>&1 || st=$?
	if judge xen "$k" "$logs/xen.log" "$logs/xen-results.log" "$st" $((SECONDS - t0)); then
		passed_xen=$((passed_xen + 1))
	fi
	[ "$bench" = 1 ] || continue
	t0=$SECONDS st=0
	"$VB_TOP/tools/testing/bench/xen/run.sh" -m "$ko" --no-verdict >"$keep/$k-xenbench-run.log" 2>&1 || st=$?
	if judge xenbench "$k" "$logs/xenbench.log" "$logs/xenbench-results.log" "$st" $((SECONDS - t0)); then
		passed_bench=$((passed_bench + 1))
	fi
done

echo "# repeat: Xen topology passed $passed_xen of $n runs$([ "$bench" = 0 ] || echo ", Xen bench passed $passed_bench of $n runs")"
total=$((n * (1 + bench)))
ok=$((passed_xen + passed_bench))
echo "$ok passed, $((total - ok)) failed"
[ "$ok" -eq "$total" ]
