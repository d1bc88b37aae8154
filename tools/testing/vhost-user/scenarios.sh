# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The [vhost-user] scenarios, sourced by the test guest's init in mode
# vhost-user (say, result: see tools/testing/qemu/init). KVM is loaded and
# held. A bridge per device, each with the unchanged vbackend-sample
# behind it; stock QEMU -accel kvm with vhost-user-blk-pci (2 queues), and
# vhost-user-rng-pci with the rng scenario, boots the stock kernel, whose
# init (inner-init) does the I/O and prints its result lines, counted
# here; with the kill scenario, the blk bridge and its backend are killed
# under that I/O and a new bridge started.
# Around its I/O phase the blk bridge's voluntary context switches, CPU
# time and register accesses are sampled: they must not move while the
# backend serves kicks. (The rng chardev does not reconnect: QEMU 7.2's
# vhost-user-rng does not wait for a reconnecting socket to connect, and
# aborts on "Failed to set msg fds".)

VU_DIR=/vhost-user
VU_LOG=/tmp/vu
# blk always; rng and kill when pack.sh was given them (see there)
VU_SCENARIOS=blk
# shellcheck disable=SC1091 # written by pack.sh
. $VU_DIR/scenarios.conf

vu_has() {
	case ",$VU_SCENARIOS," in *",$1,"*) true ;; *) false ;; esac
}

# vu_backend NAME: the pid of the backend bridge NAME started last, as it
# says it
vu_backend() {
	sed -n 's/.*front-end connected; backend \([0-9]*\) .*/\1/p' "$VU_LOG/$1.log" |
		tail -n 1
}

# vu_sample NAME PID: one line into $VU_LOG/NAME: the bridge's voluntary
# switches and CPU ticks, its register accesses (from the status line its
# SIGUSR1 prints) and the kicks of every queue (its backend's line, in the
# same log), "none" for a figure that did not come. The inner guest idles
# meanwhile: a burst of processes here while it runs I/O is where QEMU's
# nested SVM lost it (README, "Known").
vu_sample() {
	backend=$(vu_backend blk)
	kill -USR1 "$2" ${backend:+"$backend"} 2>/dev/null
	sleep 1
	sw=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$2/status")
	cpu=$(awk '{ print $14 + $15 }' "/proc/$2/stat")
	acc=$(grep 'status: ' "$VU_LOG/blk.log" | tail -n 1 |
		sed -n 's/.* \([0-9]*\) register accesses.*/\1/p')
	kicks=$(grep ' q0 ' "$VU_LOG/blk.log" | tail -n 1 | grep -o 'kicks=[0-9]*' |
		cut -d= -f2 | awk '{ s += $1; n++ } END { if (n) print s }')
	echo "${sw:-none} ${cpu:-none} ${acc:-none} ${kicks:-none}" >"$VU_LOG/$1"
}

vu_inner_qemu() {
	rng=""
	vu_has rng && rng="-chardev socket,id=rng,path=$VU_LOG/rng.sock
		-device vhost-user-rng-pci,chardev=rng"
	# shellcheck disable=SC2086 # $rng: its options
	timeout -s KILL 400 /usr/bin/qemu-system-x86_64 -accel kvm -cpu host \
		-M microvm,pcie=on,memory-backend=mem -m 512 -smp 2 \
		-object memory-backend-memfd,id=mem,size=512M,share=on \
		-chardev socket,id=blk,path=$VU_LOG/blk.sock,reconnect=1 \
		-device vhost-user-blk-pci,chardev=blk,num-queues=2,disable-legacy=on \
		$rng \
		-kernel $VU_DIR/vmlinuz -initrd $VU_DIR/initrd.gz \
		-append "console=ttyS0 panic=-1 loglevel=5 vu.scenarios=$VU_SCENARIOS" \
		-nographic -nodefaults -serial stdio -no-reboot </dev/null 2>&1
	echo "VU: qemu-exit $?"
}

# vu_bridge NAME ARGS...: a bridge (--once) in the background, its output
# in $VU_LOG/NAME.log, its exit status in NAME.status; its pid, as it
# says it, in NAME.pid once it listens (5 s at most)
vu_bridge() {
	name=$1
	shift
	(
		vbackend-vhost-user --once "$@" >"$VU_LOG/$name.log" 2>&1
		echo $? >"$VU_LOG/$name.status"
	) &
	n=0
	while ! grep -q 'listening on .* (pid [0-9]*)$' "$VU_LOG/$name.log" 2>/dev/null &&
		[ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	sed -n 's/.*listening on .* (pid \([0-9]*\))$/\1/p' "$VU_LOG/$name.log" >"$VU_LOG/$name.pid"
}

# vu_status NAME: a bridge's exit status, once it is there (10 s at most)
vu_status() {
	n=0
	while [ ! -s "$VU_LOG/$1.status" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	cat "$VU_LOG/$1.status" 2>/dev/null || echo "none: still running"
}

VU_BLK="--socket $VU_LOG/blk.sock --device blk,image=$VU_LOG/disk.img,queues=2"

# The inner guest's fio is under way: kill -9 the blk bridge and its
# backend, and start a new bridge on the same socket; QEMU reconnects.
vu_kill_restart() {
	sleep 1
	pid=$(cat $VU_LOG/blk.pid)
	kid=$(vu_backend blk)
	kill -9 "$pid" ${kid:+"$kid"}
	say "# vhost-user: killed the blk bridge $pid and its backend $kid"
	# shellcheck disable=SC2086 # its arguments
	vu_bridge blk2 $VU_BLK
}

vu_scenarios() {
	mkdir -p $VU_LOG
	truncate -s 64M $VU_LOG/disk.img
	# shellcheck disable=SC2086 # its arguments
	vu_bridge blk $VU_BLK
	[ -s $VU_LOG/blk.pid ] && [ -S $VU_LOG/blk.sock ]
	result $? "vhost-user: the blk bridge listens"
	if vu_has rng; then
		vu_bridge rng --socket $VU_LOG/rng.sock --device rng --verbose
		[ -s $VU_LOG/rng.pid ] && [ -S $VU_LOG/rng.sock ]
		result $? "vhost-user: the rng bridge listens"
	fi
	blk=$(cat $VU_LOG/blk.pid)

	say "# vhost-user: stock QEMU -accel kvm, the stock kernel inside"
	# (no tr -d in the pipe: it would hold the lines back in its buffer,
	# and the phases must be seen when they happen)
	cr=$(printf '\r')
	vu_inner_qemu | while IFS= read -r line; do
		line=${line%"$cr"}
		echo "$line"
		case $line in
		"VU: ok - "* | "VU: not ok - "*) say "${line#VU: }" ;;
		"VU: phase io-begin") vu_sample begin "$blk" ;;
		"VU: phase io-end") vu_sample end "$blk" ;;
		"VU: phase kill") vu_kill_restart ;;
		"VU: phase rng-stuck")
			# shellcheck disable=SC2046 # the bridge and its backend
			kill -USR1 $(cat $VU_LOG/rng.pid) $(vu_backend rng)
			;;
		"VU: done") touch $VU_LOG/inner-done ;;
		"VU: qemu-exit "*) echo "${line#VU: qemu-exit }" >$VU_LOG/qemu-status ;;
		esac
	done
	[ -f $VU_LOG/inner-done ]
	result $? "vhost-user: the inner guest ran to the end (QEMU status $(cat $VU_LOG/qemu-status))"
	grep -q 'front-end connected; backend [0-9]* serves 2 queues' $VU_LOG/blk.log
	result $? "vhost-user: QEMU connected to the blk bridge, its backend serves 2 queues"

	if [ -s $VU_LOG/begin ] && [ -s $VU_LOG/end ] &&
		! grep -q none $VU_LOG/begin $VU_LOG/end; then
		# shellcheck disable=SC2046 # four numbers per file
		set -- $(cat $VU_LOG/begin) $(cat $VU_LOG/end)
		sw=$(($5 - $1)) cpu=$(($6 - $2)) acc=$(($7 - $3)) kicks=$(($8 - $4))
		# (the sampling's own SIGUSR1 wakes the bridge once: one switch)
		[ $sw -le 2 ] && [ $cpu -le 1 ] && [ $acc -eq 0 ] && [ $kicks -gt 0 ]
		result $? "vhost-user: the bridge stays off the data path: $kicks kicks reached the backend while the bridge made $acc register accesses, $sw voluntary switches, $cpu CPU ticks"
	else
		result 1 "vhost-user: the bridge was not sampled around the I/O phase (before: $(cat $VU_LOG/begin 2>/dev/null), after: $(cat $VU_LOG/end 2>/dev/null))"
	fi

	last=blk
	if vu_has kill; then
		st=$(vu_status blk)
		[ "$st" = 137 ]
		result $? "vhost-user: the first blk bridge was killed mid-I/O (status $st)"
		grep -q 'front-end connected; backend [0-9]* serves 2 queues' $VU_LOG/blk2.log
		result $? "vhost-user: QEMU reconnected to the restarted blk bridge"
		last=blk2
	fi
	# the guest is gone: so must be the bridges (--once) and their backends
	bridges=$last
	vu_has rng && bridges="$last rng"
	for b in $bridges; do
		st=$(vu_status "$b")
		grep -q 'the front-end closed the connection' "$VU_LOG/$b.log" && [ "$st" = 0 ] &&
			grep -q 'frontend gone' "$VU_LOG/$b.log"
		result $? "vhost-user: the $b bridge and its backend end with the guest (status $st)"
	done
	[ "$last" = blk ] || bridges="blk $bridges"
	for b in $bridges; do
		say "# vhost-user: $b bridge log:"
		grep -v '^vbackend-vhost-user: [A-Z_]*$' "$VU_LOG/$b.log" | tail -n 12 |
			while IFS= read -r l; do say "#   $l"; done
	done
	vu_has rng && grep -q '^vbackend-vhost-user: [A-Z_]*$' $VU_LOG/rng.log &&
		say "# vhost-user: rng requests: $(grep -o '^vbackend-vhost-user: [A-Z_]*$' $VU_LOG/rng.log | cut -d' ' -f2 | tr '\n' ' ')"
}

vu_scenarios
