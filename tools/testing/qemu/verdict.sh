#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# verdict.sh [-H HOST_TAP] [-c CONSOLE_LOG -r RESULTS_LOG -s QEMU_STATUS]
#            [-n REASON]
#
# Count every result line of a run and print "N passed, N failed, N skipped"
# as the last line. Counted: the host checks (HOST_TAP), the guest's result
# lines (RESULTS_LOG: our own lines and every kselftest "ok"/"not ok"; "ok
# ... # SKIP" is a skip), plus three checks made here on the guest:
#  - it powered off by itself (QEMU_STATUS 0, "vbackend-guest: done" seen);
#  - the module unloaded ("rmmod ok");
#  - the kernel said nothing bad (BUG:, WARNING:, Oops, lockdep, refcount_t,
#    KASAN, UBSAN, general protection, Call Trace) on the console or in the
#    dmesg dump.
# -n REASON: the guest was not booted (counts as one failure).
# Exit status: 0 only when nothing failed and something passed.
set -euo pipefail

host="" console="" results="" qstatus="" noguest=""
while getopts H:c:r:s:n: opt; do
	case $opt in
	H) host=$OPTARG ;;
	c) console=$OPTARG ;;
	r) results=$OPTARG ;;
	s) qstatus=$OPTARG ;;
	n) noguest=$OPTARG ;;
	*) exit 2 ;;
	esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lines=$tmp/lines	# every result line counted
klog=$tmp/klog		# console and results, without carriage returns
res=$tmp/results
: >"$lines"
# (Files, not pipes into "grep -q": with pipefail, grep -q quitting early
# would fail the writer with SIGPIPE.)

# Kernel messages carry a "[ seconds.micros]" stamp (CONFIG_PRINTK_TIME);
# requiring it keeps test output such as "# WARNING: ..." out of the match.
bad_re='\[ *[0-9]+\.[0-9]+\].*(BUG:|WARNING:|Oops|lockdep|refcount_t|KASAN|UBSAN|general protection|Call Trace)'

if [ -n "$host" ] && [ -f "$host" ]; then
	grep -E '^(not )?ok ' "$host" >>"$lines" || true
fi

if [ -n "$noguest" ]; then
	echo "not ok - guest: $noguest" | tee -a "$lines"
elif [ -n "$results" ]; then
	if [ -f "$results" ]; then tr -d '\r' <"$results" >"$res"; else : >"$res"; fi
	cat "$console" "$results" 2>/dev/null | tr -d '\r' >"$klog" || true
	grep -E '^((not )?ok |Bail out!)' "$res" >>"$lines" || true

	echo "# guest checks"
	if [ "$qstatus" = 0 ] && grep -q '^vbackend-guest: done$' "$res"; then
		echo "ok - guest: ran to the end and powered off" | tee -a "$lines"
	elif [ "$qstatus" = 124 ]; then
		echo "not ok - guest: did not power off in time (killed; see $console)" | tee -a "$lines"
	else
		echo "not ok - guest: did not run to the end (QEMU status $qstatus; see $console)" | tee -a "$lines"
	fi
	if grep -q '^rmmod ok$' "$res"; then
		echo "ok - guest: rmmod vbackend" | tee -a "$lines"
	else
		echo "not ok - guest: no \"rmmod ok\" marker" | tee -a "$lines"
	fi
	if grep -Eq "$bad_re" "$klog"; then
		echo "not ok - guest: kernel log is clean" | tee -a "$lines"
		grep -E "$bad_re" "$klog" | awk '!seen[$0]++ && n++ < 30' | sed 's/^/#   /'
	else
		echo "ok - guest: kernel log is clean" | tee -a "$lines"
	fi
fi

if grep -qE '^(not ok |Bail out!)' "$lines"; then
	echo "# failures:"
	grep -E '^(not ok |Bail out!)' "$lines" | sed 's/^/#   /'
fi
awk '
	/^Bail out!/ { fail++; next }
	/^not ok / { fail++; next }
	/^ok .*# *[Ss][Kk][Ii][Pp]/ { skip++; next }
	/^ok / { pass++ }
	END {
		printf "%d passed, %d failed, %d skipped\n", pass, fail, skip
		exit (fail > 0 || pass == 0)
	}
' "$lines"
