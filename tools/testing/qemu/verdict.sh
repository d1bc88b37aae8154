#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# verdict.sh [-H HOST_TAP] [-g LABEL:CONSOLE_LOG:RESULTS_LOG:QEMU_STATUS]...
#            [-n REASON] [-P]
#
# Count every result line of a run and print "N passed, N failed, N skipped"
# as the last line. Counted: the host checks (HOST_TAP), and for each guest
# (-g, one per boot) its result lines (RESULTS_LOG: our own lines and every
# kselftest "ok"/"not ok"; "ok ... # SKIP" is a skip), plus three checks
# made here on that guest:
#  - it powered off by itself (QEMU_STATUS 0, "vbackend-guest: done" seen);
#  - the module unloaded ("rmmod ok");
#  - the kernel said nothing bad (BUG:, WARNING:, Oops, lockdep, refcount_t,
#    KASAN, UBSAN, kmemleak, SLUB debugging's "BUG <cache> (...)", general
#    protection, Call Trace) on the console or in the dmesg dump.
# Result lines of a guest other than the first are prefixed with its label
# ("[LABEL] "); -P: those of the first one too.
# -n REASON: the guest was not booted (counts as one failure).
# Exit status: 0 only when nothing failed and something passed.
set -euo pipefail

host="" noguest="" guests=() first=1
while getopts H:g:n:P opt; do
	case $opt in
	H) host=$OPTARG ;;
	g) guests+=("$OPTARG") ;;
	n) noguest=$OPTARG ;;
	P) first=0 ;;
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
bad_re='\[ *[0-9]+\.[0-9]+\].*(BUG:|BUG [^ ]+ \(|WARNING:|Oops|lockdep|refcount_t|KASAN:|UBSAN:|kmemleak: [0-9]+ new suspected|general protection|Call Trace)'
# banners of the debug kernel that name a checker without reporting anything
benign_re='RCU lockdep checking is enabled'

# drop_emulator_deaths KLOG NAMES: a domU the Xen dom0 reported with
# "vbackend-emulator-death: NAME" died of the oops QEMU 7.2's nested SVM
# deals PVH domUs ("BUG: ENTRY_TRAMPOLINE stack guard page was hit", the
# user's GS base where the kernel's should be; README, "Known"): that oops,
# from its BUG line to the domU's next boot, is not counted. Its lines are
# those with the domU's console prefixes, "[NAME] " and "guest-NAME.log: ".
drop_emulator_deaths() {
	awk -v names="$2" '
		BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) dead[a[i]] = 1 }
		{
			name = ""
			if (match($0, /^\[[^] ]+\] /))
				name = substr($0, 2, RLENGTH - 3)
			else if (match($0, /^guest-[^ ]+\.log: /))
				name = substr($0, 7, RLENGTH - 12)
			if (name in dead) {
				if (index($0, "Linux version"))
					oops[name] = 0
				if (index($0, "BUG: ENTRY_TRAMPOLINE stack guard page was hit"))
					oops[name] = 1
				if (oops[name])
					next
			}
			print
		}' "$1" >"$1.kept" && mv "$1.kept" "$1"
}

if [ -n "$host" ] && [ -f "$host" ]; then
	grep -E '^(not )?ok ' "$host" >>"$lines" || true
fi

# guest_checks LABEL CONSOLE RESULTS QSTATUS PREFIX
guest_checks() {
	local label=$1 console=$2 results=$3 qstatus=$4 p=$5 deaths
	if [ -f "$results" ]; then tr -d '\r' <"$results" >"$res"; else : >"$res"; fi
	cat "$console" "$results" 2>/dev/null | tr -d '\r' | grep -Ev "$benign_re" >"$klog" || true
	deaths=$(sed -n 's/^vbackend-emulator-death: //p' "$res" | sort -u | tr '\n' ' ')
	if [ -n "$deaths" ]; then
		drop_emulator_deaths "$klog" "$deaths"
		echo "# ${p}kernel log: the oops that killed ${deaths% } not counted (QEMU's nested SVM; README, Known)"
	fi
	grep -E '^((not )?ok |Bail out!)' "$res" |
		sed -E "s/^((not )?ok( [0-9]+)?( -)?) /\\1 $p/" >>"$lines" || true

	echo "# guest checks ($label)"
	if [ "$qstatus" = 0 ] && grep -q '^vbackend-guest: done$' "$res"; then
		echo "ok - ${p}guest: ran to the end and powered off" | tee -a "$lines"
	elif [ "$qstatus" = 124 ]; then
		echo "not ok - ${p}guest: did not power off in time (killed; see $console)" | tee -a "$lines"
	else
		echo "not ok - ${p}guest: did not run to the end (QEMU status $qstatus; see $console)" | tee -a "$lines"
	fi
	if grep -q '^rmmod ok$' "$res"; then
		echo "ok - ${p}guest: rmmod vbackend" | tee -a "$lines"
	else
		echo "not ok - ${p}guest: no \"rmmod ok\" marker" | tee -a "$lines"
	fi
	if grep -Eq "$bad_re" "$klog"; then
		echo "not ok - ${p}guest: kernel log is clean" | tee -a "$lines"
		grep -E "$bad_re" "$klog" | awk '!seen[$0]++ && n++ < 30' | sed 's/^/#   /'
	else
		echo "ok - ${p}guest: kernel log is clean" | tee -a "$lines"
	fi
}

if [ -n "$noguest" ]; then
	echo "not ok - guest: $noguest" | tee -a "$lines"
fi
for g in "${guests[@]}"; do
	IFS=: read -r label console results qstatus <<<"$g"
	prefix=""
	[ "$first" = 1 ] || prefix="[$label] "
	guest_checks "$label" "$console" "$results" "$qstatus" "$prefix"
	first=0
done

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
