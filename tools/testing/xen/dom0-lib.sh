# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# /lib/vbackend/dom0-lib.sh: what every dom0 init of the Xen topology
# shares (dom0-init, the scenarios; tools/testing/bench/xen/dom0-bench, the
# benchmark). Sourcing it mounts what dom0 needs, sends the console to
# /dev/console and opens fd 3 on the second serial port for result lines.
# Then: dom0_up starts the Xen tools and loads vbackend.ko; finish reports
# leaks, unloads the module, dumps the logs and powers off.
#
# Result lines ("ok"/"not ok", "rmmod ok", the domUs' consoles and the
# samples' logs, dmesg, then "vbackend-guest: done") go to the console and
# to ttyS1, for the host's verdict.sh, like the plain QEMU guest's.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/log /var/lib
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
ln -s /run /var/run
export PATH=/usr/lib/xen-4.17/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs -o size=90% tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1

if [ -c /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null; then
	exec 3>/dev/ttyS1
else
	echo "vbackend-dom0: no second serial port, result lines on the console only"
	exec 3>/dev/null
fi

LOGS=/var/log/xen/console
STATS=/sys/kernel/debug/vbackend/stats
loaded=0

say() {
	echo "$*"
	echo "$*" >&3
}

# result STATUS DESCRIPTION: "ok" when STATUS is 0
result() {
	if [ "$1" -eq 0 ]; then say "ok - $2"; else say "not ok - $2"; fi
}

skip() {
	say "ok - $1 # SKIP $2"
}

# timing NAME START: one "# time" line for the report
timing() {
	say "# time: $1 $((SECONDS - $2)) s"
}

# dom0_up: the Xen modules and tools (xenstored, xen-init-dom0,
# xenconsoled: each domU's console lands in $LOGS/guest-NAME.log), then
# vbackend.ko. Reports each; on failure it finishes.
dom0_up() {
	local ok=1 m
	while read -r m; do
		insmod "/lib/modules/$m.ko" || say "# insmod $m failed"
	done </etc/modules.load
	mkdir -p /proc/xen /var/lib/xen /var/lib/xenstored /run/xen /run/xenstored \
		/var/log/xen "$LOGS" /var/log/vbackend /etc/xen
	mount -t xenfs xenfs /proc/xen
	# (no daemon, sample or Xen tool inherits the results port: 3>&-)
	xenstored --pid-file /run/xenstored.pid 3>&- || ok=0
	xen-init-dom0 >/var/log/xen/init-dom0.log 2>&1 3>&- || ok=0
	xenconsoled --log=guest --log-dir="$LOGS" 3>&- || ok=0
	if [ "$ok" = 1 ] && xl list >/dev/null 2>&1; then
		result 0 "dom0: xenstored, xen-init-dom0, xenconsoled, xl list"
	else
		result 1 "dom0: the Xen tools did not start"
		cat /var/log/xen/init-dom0.log
		finish
	fi
	if ! insmod /vbackend.ko; then
		result 1 "insmod vbackend.ko"
		finish
	fi
	loaded=1
}

# domu NAME VCPUS EXTRA [RAMDISK]: start a PVH domU (the stock kernel, the
# topology's domU-init; EXTRA goes on its command line). Its lockup
# detectors get the thresholds syzbot (watchdog_thresh=55) and the kernel
# test robot (rcu_cpu_stall_timeout=100) give their VMs: soft lockups are
# reported after 110 s and RCU stalls after 100 s, not 20 and 21. Nine
# vCPUs share four pCPUs that two host cores emulate, and a domU that Xen
# left unscheduled for 21 s, idle or not, was reported as stalled in 2 of
# 3 Xen runs of one day. A real hang still is, and the steps' timeouts
# fail it.
domu() {
	cat >"/etc/xen/$1.cfg" <<EOF
name = "$1"
type = "pvh"
kernel = "/boot/vmlinuz"
ramdisk = "${4:-/boot/domU.cpio.gz}"
extra = "console=hvc0 panic=-1 watchdog_thresh=55 rcupdate.rcu_cpu_stall_timeout=100 $3"
memory = 256
vcpus = $2
on_reboot = "destroy"
on_crash = "destroy"
EOF
	CONSOLE_OFF[$1]=$(stat -c %s "$LOGS/guest-$1.log" 2>/dev/null || echo 0)
	xl create "/etc/xen/$1.cfg" 3>&- || return 1
	DOMIDS[$1]=$(domid "$1")
	# its console on dom0's too (build/logs/xen.log), as it comes: the
	# record of what each domU was doing when, whatever happens next
	tail -n +1 -F "$LOGS/guest-$1.log" 2>/dev/null 3>&- |
		sed "s/^/[$1] /" >/dev/console 2>&1 3>&- &
}

domid() {
	xl domid "$1" 2>/dev/null
}

# DOMIDS[NAME]: the domid NAME got at its last xl create, and
# CONSOLE_OFF[NAME] how long its console log was then: to look its death up
# in Xen's log and in its own console once the domain is gone
declare -A DOMIDS CONSOLE_OFF

# killed_by_emulator NAME: NAME is gone, killed the two ways QEMU 7.2's
# nested SVM kills PVH domUs at random, before any vbackend code ran for
# them too (README, "Known"): Xen's log says it triple-faulted, or its
# kernel found the user's GS base where its own should be ("BUG:
# ENTRY_TRAMPOLINE stack guard page was hit"). Prints which. For the
# second, says "vbackend-emulator-death: NAME" to the results, so that
# verdict.sh does not count that oops as a kernel report of ours.
killed_by_emulator() {
	local d=${DOMIDS[$1]:-} line
	[ -n "$d" ] || return 1
	! domid "$1" >/dev/null || return 1
	if line=$(xl dmesg 2>/dev/null | grep -m1 -oE "\bd${d}v[0-9]+ Triple fault.*"); then
		echo "Xen: $line"
	elif line=$(tail -c +"$((${CONSOLE_OFF[$1]:-0} + 1))" "$LOGS/guest-$1.log" 2>/dev/null |
		    tr -d '\r' | grep -m1 -ao "BUG: ENTRY_TRAMPOLINE stack guard page was hit"); then
		echo "vbackend-emulator-death: $1" >&3
		echo "its console: $line"
	else
		return 1
	fi
}

# skip_if_emulator_killed NAME CHECK: when killed_by_emulator NAME, CHECK
# is reported skipped, saying how; fails otherwise (the caller reports
# CHECK failed)
skip_if_emulator_killed() {
	local how
	how=$(killed_by_emulator "$1") || return 1
	skip "$2" "$1 was killed by QEMU 7.2's nested SVM, not by a check ($how; README, Known)"
}

# key DOMAIN KEY: the domU's data/vbtest/KEY ("" when absent)
key() {
	local d
	d=$(domid "$1") || return 0
	xenstore-read "/local/domain/$d/data/vbtest/$2" 2>/dev/null || true
}

# send_cmd DOMAIN CMD: a command for the domU's domU-init (data/vbtest/cmd)
send_cmd() {
	xenstore-write "/local/domain/$(domid "$1")/data/vbtest/cmd" "$2"
}

# wait_key DOMAIN KEY SECS [PATTERN]: until KEY is set (and matches the
# extended regex PATTERN); prints its value, fails on timeout or when the
# domain is gone (Xen destroys a domU that triple-faults). Waits on a
# xenstore watch, not in a busy loop: another domU may be measuring.
wait_key() {
	local deadline=$((SECONDS + $3)) v d
	d=$(domid "$1") || return 1
	while :; do
		v=$(xenstore-read "/local/domain/$d/data/vbtest/$2" 2>/dev/null) || true
		if [ -n "$v" ] && { [ -z "${4:-}" ] || echo "$v" | grep -Eq "$4"; }; then
			echo "$v"
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] || { echo "$v"; return 1; }
		xenstore-read "/local/domain/$d/name" >/dev/null 2>&1 || { echo "$v"; return 1; }
		# returns at once (registration), then on a change; the timeout
		# covers a change between the read above and the registration
		timeout 5 xenstore-watch -n 2 "/local/domain/$d/data/vbtest/$2" >/dev/null 2>&1
	done
}

# not_done DOMAIN SECS: why a wait_key on DOMAIN failed, for a result line
not_done() {
	if domid "$1" >/dev/null; then
		echo "timed out after ${2}s"
	else
		echo "$1 died (Xen's console says how)"
	fi
}

# wait_change DOMAIN KEY OLD SECS: until the domU's KEY is no longer OLD;
# fails on timeout
wait_change() {
	local deadline=$((SECONDS + $4)) d
	d=$(domid "$1") || return 1
	while [ "$(key "$1" "$2")" = "$3" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		timeout 5 xenstore-watch -n 2 "/local/domain/$d/data/vbtest/$2" >/dev/null 2>&1
	done
}

# wait_path PATH SECS: until the xenstore PATH exists; prints its value,
# fails on timeout. Like wait_key, on a watch.
wait_path() {
	local deadline=$((SECONDS + $2)) v
	while :; do
		if v=$(xenstore-read "$1" 2>/dev/null); then
			echo "$v"
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] || return 1
		timeout 5 xenstore-watch -n 2 "$1" >/dev/null 2>&1
	done
}

# pause SECS: sleep without a process (a read with a timeout on a FIFO that
# nobody writes): in a PV dom0 each fork and exec costs dozens of
# page-table hypercalls, and under TCG a polling loop of them starves the
# domUs that share the pCPUs.
pause_fifo=/run/dom0-lib.pause
[ -p "$pause_fifo" ] || mkfifo "$pause_fifo"
exec 4<>"$pause_fifo"
pause() {
	read -r -t "$1" -u 4 _ || true
}

# file_has FILE TEXT: FILE has a line containing TEXT (builtins only)
file_has() {
	local line
	[ -r "$1" ] || return 1
	while IFS= read -r line; do
		[[ $line != *"$2"* ]] || return 0
	done <"$1"
	return 1
}

BOOT_TIMEOUT=300
ATTACH_JOB=""

# serve_domu NAME VCPUS EXTRA SPEC [RAMDISK]: boot the PVH domU NAME (see
# domu) and serve its device 0 at 0xfe000000 with vbackend-xen-attach -w
# (SPEC: the sample's device spec; VBACKEND_SAMPLE picks the backend
# program), its output in /tmp/attach-NAME, its job in ATTACH_JOB. Prints
# one "# time:" line with the phases, each since xl create: the domain
# built, its init running, the frontend helper's port published, the
# backend serving, virtio_blk probed. A domU that does not reach its init
# within BOOT_TIMEOUT s (or dies before it) is destroyed and booted once
# more, with a line that says so: nothing of vbackend has run in it or for
# it by then. Fails (with a result line, a skip when the emulator killed
# it) when it is not served.
serve_domu() {
	local name=$1 vcpus=$2 extra=$3 spec=$4 ramdisk=${5:-} try t0 d v why
	local t_create t_init t_helper t_served
	for try in 1 2; do
		t0=$SECONDS
		if ! domu "$name" "$vcpus" "$extra" ${ramdisk:+"$ramdisk"}; then
			result 1 "$name: xl create"
			return 1
		fi
		t_create=$((SECONDS - t0))
		wait_key "$name" state "$BOOT_TIMEOUT" >/dev/null && break
		console_tail "$name"
		if domid "$name" >/dev/null; then
			why="did not reach its init within ${BOOT_TIMEOUT} s"
			xl destroy "$name"
		else
			why=$(killed_by_emulator "$name") || why="Xen's console says how"
			why="died after $((SECONDS - t0)) s, before its init ($why)"
		fi
		if [ "$try" = 2 ]; then
			result 1 "$name: reached its init (twice not: $why)"
			return 1
		fi
		say "# $name $why, before any vbackend code ran for it: booting it once more"
	done
	t_init=$((SECONDS - t0))
	d=$(domid "$name")
	vbackend-xen-attach -t 600 -w -l "/var/log/vbackend/sample-$name.log" \
		"$name" 0 0xfe000000 "$spec" >"/tmp/attach-$name" 2>&1 3>&- &
	ATTACH_JOB=$!
	wait_path "/local/domain/$d/data/vbackend/0/evtchn" 600 >/dev/null || true
	t_helper=$((SECONDS - t0))
	until file_has "/tmp/attach-$name" "vbackend-xen-attach: pid " ||
		! kill -0 "$ATTACH_JOB" 2>/dev/null; do
		pause 0.5
	done
	t_served=$((SECONDS - t0))
	v=$(wait_key "$name" disk 600) || true
	cat "/tmp/attach-$name"
	say "# time: $name ($vcpus vCPUs): built ${t_create} s, init ${t_init} s, helper ${t_helper} s, served ${t_served} s, probed $((SECONDS - t0)) s after xl create"
	if [ -n "$v" ]; then
		result 0 "$name: vbackend-xen-attach served it, virtio_blk probed ($v)"
		return 0
	fi
	skip_if_emulator_killed "$name" "$name: vbackend-xen-attach served it, virtio_blk probed" ||
		result 1 "$name: not attached (state '$(key "$name" state)', result '$(key "$name" result)')"
	console_tail "$name"
	return 1
}

# console_tail DOMAIN: the last lines of its console, as comments
console_tail() {
	[ -f "$LOGS/guest-$1.log" ] && tail -n 15 "$LOGS/guest-$1.log" | tr -d '\r' | sed 's/^/#   /'
}

# counter NAME: a vbackend debugfs counter
counter() {
	awk -v k="$1" '$1 == k { print $2 }' "$STATS"
}

# attach_pid FILE: the sample's pid that vbackend-xen-attach printed in FILE
attach_pid() {
	sed -n 's/^vbackend-xen-attach: pid //p' "$1"
}

# The domUs' consoles and the samples' logs to the results port (prefixed,
# so that no line of theirs counts as a result, but kernel warnings in them
# still fail the verdict).
dump_logs() {
	local f
	for f in "$LOGS"/guest-*.log /var/log/vbackend/*.log; do
		if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi
		say "===== $f ====="
		sed "s|^|${f##*/}: |" "$f" | tr -d '\r' >&3
	done
}

# finish: destroy what is left, check for leaks (kmemleak when the kernel
# has it, every vbackend debugfs counter back to zero), rmmod, dump the
# logs and dmesg, power off. Never returns.
finish() {
	local n=0 left d
	for d in $(xl list 2>/dev/null | awk 'NR > 2 { print $1 }'); do
		xl destroy "$d"
	done
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		echo scan >/sys/kernel/debug/kmemleak
		n=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
		result "$((n != 0))" "kmemleak: $n unreferenced objects"
	fi
	if [ "$loaded" = 1 ] && [ -r "$STATS" ]; then
		n=0
		while awk '$2 != 0 { bad = 1 } END { exit !bad }' "$STATS" && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		left=$(awk '$2 != 0 { s = s (s == "" ? "" : " ") $1 "=" $2 } END { print s }' "$STATS")
		if [ -z "$left" ]; then
			result 0 "leak check: every debugfs counter is zero"
		else
			result 1 "leak check: left behind: $left"
		fi
	fi
	if [ "$loaded" = 0 ]; then
		say "rmmod FAILED (the module never loaded)"
	elif rmmod vbackend; then
		say "rmmod ok"
	else
		say "rmmod FAILED"
	fi
	# a fresh descriptor for the bulk: children that shared ours may have
	# left it non-blocking
	exec 3>&-
	if ! exec 3>/dev/ttyS1; then
		exec 3>/dev/null
	fi
	dump_logs
	say "===== vbackend-dom0: dmesg begin ====="
	dmesg >/tmp/dmesg 2>&1
	cat /tmp/dmesg >&3
	say "===== vbackend-dom0: dmesg end ====="
	say "vbackend-guest: done"
	exec 3>&-
	sync
	poweroff -f
	sleep 5
	reboot -f
	while :; do sleep 1; done
}
