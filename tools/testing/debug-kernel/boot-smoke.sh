#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test of the debug kernel: boot it under QEMU TCG with a busybox
# initramfs that loads and unloads a module, and check the console log.
#
# usage: boot-smoke.sh <cache-dir> <module.ko> [<work-dir>]
#
# SMOKE_TESTS="prog..." (static binaries, e.g. the kselftests) are copied in
# and run, each one once, while the module is loaded; each must exit 0.
# SMOKE_APPEND: more kernel command line (e.g. init_on_alloc=1).
#
# Checks: the kernel reaches /init; lockdep, KASAN and kmemleak report
# themselves enabled; the module loads and unloads; an explicit kmemleak
# scan runs; and no BUG/WARNING/KASAN/UBSAN/lockdep/RCU splat, nor a
# suspected leak, shows on the console. Prints one "ok"/"not ok" line per
# check, the time the kernel took to reach init, and exits non-zero on any
# failure. The console log is <work-dir>/console.log.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 <cache-dir> <module.ko> [<work-dir>]" >&2
	exit 2
fi
CACHE=$1
KO=$2
WORK=${3:-$(mktemp -d /tmp/debug-kernel-smoke.XXXXXX)}
BZIMAGE=$CACHE/build/arch/x86/boot/bzImage
TIMEOUT=${SMOKE_TIMEOUT:-900}
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ -f "$BZIMAGE" ] || { echo "no $BZIMAGE: run build.sh $CACHE first" >&2; exit 1; }
[ -f "$KO" ] || { echo "no $KO" >&2; exit 1; }
mod=$(basename "$KO" .ko)

# --- the initramfs ----------------------------------------------------------------
root=$WORK/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$BUSYBOX" "$root/bin/busybox"
cp "$KO" "$root/$mod.ko"
tests=
for t in ${SMOKE_TESTS:-}; do
	cp "$t" "$root/bin/"
	tests="$tests $(basename "$t")"
done
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
echo "SMOKE: init reached, uptime \$(cut -d' ' -f1 /proc/uptime) s"
echo "SMOKE: kernel \$(uname -r)"
# Baseline: kmemleak reports only objects older than 5 s, so wait until the
# boot's objects are that old, scan, and forget what the scan found (boot
# noise, printed here for the record), so that the final report is about
# what happened from here on.
while [ "\$(cut -d. -f1 /proc/uptime)" -lt 6 ]; do sleep 1; done
echo scan > /sys/kernel/debug/kmemleak
echo "SMOKE: kmemleak baseline begin"
cat /sys/kernel/debug/kmemleak
echo "SMOKE: kmemleak baseline end"
echo clear > /sys/kernel/debug/kmemleak
if insmod /$mod.ko; then
	echo "SMOKE: insmod ok"
	grep "^$mod " /proc/modules
	ls -l /dev | grep -i $mod
	for t in $tests; do
		if /bin/\$t; then echo "SMOKE: test \$t ok"; else echo "SMOKE: test \$t FAILED"; fi
	done
else
	echo "SMOKE: insmod FAILED"
fi
if rmmod $mod; then echo "SMOKE: rmmod ok"; else echo "SMOKE: rmmod FAILED"; fi
# kmemleak reports objects only once they are older than 5 s
sleep 6
echo scan > /sys/kernel/debug/kmemleak && echo "SMOKE: kmemleak scan ok"
echo "SMOKE: kmemleak report begin"
cat /sys/kernel/debug/kmemleak
echo "SMOKE: kmemleak report end"
echo "SMOKE: done, uptime \$(cut -d' ' -f1 /proc/uptime) s"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.cpio.gz"

# --- the boot ------------------------------------------------------------------------
log=$WORK/console.log
t0=$(date +%s.%N)
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt -m 1024 -smp 2 \
	-nographic -no-reboot -kernel "$BZIMAGE" -initrd "$WORK/initrd.cpio.gz" \
	-append "console=ttyS0 panic=-1 ${SMOKE_APPEND:-}" </dev/null >"$log" 2>&1 &
qpid=$!
# note the wall time at which the guest's init speaks
init_wall=
while kill -0 "$qpid" 2>/dev/null; do
	if [ -z "$init_wall" ] && grep -q '^SMOKE: init reached' "$log"; then
		init_wall=$(echo "$(date +%s.%N) - $t0" | bc)
	fi
	sleep 0.5
done
rc=0
wait "$qpid" || rc=$?
wall=$(echo "$(date +%s.%N) - $t0" | bc)
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

# --- the verdict ----------------------------------------------------------------------
pass=0
fail=0
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "ok - $d"; pass=$((pass + 1)); else echo "not ok - $d"; fail=$((fail + 1)); fi
}
has() { grep -qE "$1" "$log"; }
hasnt() { ! grep -qE "$1" "$log"; }

check "qemu exited by itself (rc $rc)" test "$rc" -eq 0
check "kernel reached /init" has '^SMOKE: init reached'
check "lockdep enabled" has 'Lock dependency validator'
check "KASAN enabled" has 'KernelAddressSanitizer initialized'
check "kmemleak enabled" has 'kmemleak: Kernel memory leak detector initialized'
check "kmemleak not disabled" hasnt 'kmemleak: .*(disabled|Memory pool empty|Cannot allocate)'
check "module loads" has '^SMOKE: insmod ok'
for t in $tests; do
	check "test $t" has "^SMOKE: test $t ok"
done
check "module unloads" has '^SMOKE: rmmod ok'
check "kmemleak scan runs" has '^SMOKE: kmemleak scan ok'
after_baseline() { sed -n '/^SMOKE: kmemleak baseline end/,$p' "$log"; }
no_leak_after_baseline() {
	local n
	n=$(after_baseline | grep -cE '^unreferenced object|new suspected memory leaks') || true
	[ "${n:-0}" -eq 0 ]
}
check "no suspected leak after insmod/rmmod" no_leak_after_baseline
check "no BUG/WARNING/KASAN/UBSAN/lockdep/RCU splat" \
	hasnt 'BUG:|WARNING:|KASAN:|UBSAN:|Oops|Kernel panic|possible recursive locking|circular locking|inconsistent lock state|suspicious RCU usage|lock held when returning|DEBUG_LOCKS_WARN_ON|ODEBUG:|list_(add|del) corruption'
check "poweroff reached" has '^SMOKE: done'

init_t=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$log" | sed -n 1p)
echo "# kernel ran /init at ${init_t:-?} s guest uptime, ${init_wall:-?} s wall after QEMU started; whole run ${wall} s wall"
n=$(sed -n '/^SMOKE: kmemleak baseline begin/,/^SMOKE: kmemleak baseline end/p' "$log" | grep -c '^unreferenced object' || true)
echo "# kmemleak baseline (boot, before insmod): $n suspected leak(s)"
echo "# console log: $log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
