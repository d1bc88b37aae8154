#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh check|demo|bench: the body of "make check", "make demo" and
# "make bench" (the Makefile installs the packages and unpacks build/ksrc
# first).
#
# check: lint, ABI test, build the module against each test kernel, the
#        kselftests and the userspace tools, boot them in QEMU (the 6.1
#        guest; the same tests on 6.12 [6.12], 6.12 PREEMPT_RT [6.12-rt]
#        and the debug kernel [debug]; then the Xen topology of
#        tools/testing/xen [xen] when vbackend.ko has a Xen provider, and
#        again with the debug kernel's xen-dom0 variant as dom0
#        [xen-debug]), and
#        print the verdict: "N passed, N failed, N skipped". Every result
#        line is printed as its check finishes (the guests' while they
#        run, marked with the guest's label), and every phase says how long
#        it took ("# time:"). Kernel consoles stay in the logs. A failing
#        host check does not stop the run; a failed build skips the boots
#        that need it (and counts as a failure).
# demo:  build the module and the tools, boot QEMU, run vbackend-info and
#        vbackend-tour, and check the guest the same way.
# xen-repeat: build the module and the tools, then the Xen topology and the
#        Xen bench N times each (tools/testing/xen/repeat.sh; N from the
#        environment, default 5).
# vhost-user: build the module, the tests and the tools, then N (from the
#        environment, default 1) runs of the [vhost-user] guest: stock
#        QEMU -accel kvm inside it, its KVM guest served by
#        vbackend-vhost-user (tools/testing/vhost-user).
# bench: build the module and tools/testing/bench, boot QEMU, run
#        vbackend-bench (its table: build/bench-results.log), and check the
#        guest the same way; then, when vbackend.ko has a Xen provider, the
#        Xen comparison (tools/testing/bench/xen/run.sh; its table:
#        build/bench-xen-results.log), checked the same way.
#
# Environment: TEST_KVER (kernel to use), QEMU_TIMEOUT (900 s),
# TEST_TIMEOUT (per test binary: the selftests' settings file, else 300 s),
# VB_BUILD (build directory).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

mode=${1:-check}
case $mode in check | demo | bench | xen-repeat | vhost-user) ;;
*) die "usage: $0 check|demo|bench|xen-repeat|vhost-user" ;;
esac

qemu_dir=$VB_TOP/tools/testing/qemu
kver=$(need_kver)
# The other kernel lines every check runs on (Debian 12's 6.12 and its
# PREEMPT_RT flavour); empty when not installed (make deps installs them).
kver_612=$(kver_of 6.12)
kver_612rt=$(kver_of 6.12-rt)
QEMU_TIMEOUT=${QEMU_TIMEOUT:-900}
# Per test binary: the largest timeout of the kselftest "settings" files,
# else 300 s.
if [ -z "${TEST_TIMEOUT:-}" ]; then
	TEST_TIMEOUT=$(cat "$VB_TOP"/tools/testing/selftests/vbackend*/settings 2>/dev/null |
		sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' | sort -n | tail -n 1)
fi
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
logs=$VB_BUILD/logs
start=$SECONDS
mkdir -p "$logs"
cd "$VB_TOP"

# phase NAME: how long the phase that just ended took
phase_start=$SECONDS
phase() {
	echo "# time: $1: $((SECONDS - phase_start)) s ($((SECONDS - start)) s in all)"
	phase_start=$SECONDS
}

# step DESCRIPTION LOG CMD...: run CMD quietly into LOG and report it.
step() {
	local what=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		tap 0 "$what"
		return 0
	fi
	tap 1 "$what (log: ${log#"$VB_TOP"/})"
	tail -n 25 "$log" | sed 's/^/#   /'
	return 1
}

# build_module KVER OUT [KDIR]: vbackend.ko for KVER, built against KDIR
# (default KVER's headers), copied to OUT.
# (No "make clean" between kernels: it would delete every *.ko under the
# tree, build/ included; kbuild rebuilds on its own when KDIR changes.)
build_module() {
	local k=$1 out=$2 kdir=${3:-/lib/modules/$1/build} vm
	[ -n "$k" ] || { echo "that kernel line is not installed (make deps installs it)"; return 1; }
	rm -f vbackend.ko
	"${MAKE:-make}" -C "$kdir" M="$VB_TOP" modules || return 1
	[ -f vbackend.ko ] || { echo "no vbackend.ko was built"; return 1; }
	vm=$(modinfo -F vermagic vbackend.ko)
	case $vm in
	"$k "*) ;;
	*) echo "vbackend.ko vermagic '$vm' is not for $k"; return 1 ;;
	esac
	cp vbackend.ko "$out"
}

# Every kselftest binary into build/selftests; then the guests' sets:
# build/tests (all but the fault injection) and build/tests-faults (the
# fault injection alone: it needs the debug kernel).
build_selftests() {
	local dir n t
	rm -rf "$VB_BUILD/selftests" "$VB_BUILD/tests" "$VB_BUILD/tests-faults"
	mkdir -p "$VB_BUILD/selftests" "$VB_BUILD/tests" "$VB_BUILD/tests-faults"
	for dir in tools/testing/selftests/vbackend tools/testing/selftests/vbackend-virtio; do
		[ -f "$dir/Makefile" ] || { echo "$dir/Makefile does not exist"; return 1; }
		"${MAKE:-make}" -C "$dir" KSRC="$VB_KSRC/tools/testing/selftests" \
			OUTPUT="$VB_BUILD/selftests" || return 1
	done
	n=$(find "$VB_BUILD/selftests" -maxdepth 1 -name '*_test' -type f -perm -u+x | wc -l)
	echo "$n test binaries in ${VB_BUILD#"$VB_TOP"/}/selftests"
	[ "$n" -gt 0 ] || { echo "the selftests build made no *_test binary"; return 1; }
	for t in "$VB_BUILD"/selftests/*_test; do
		case ${t##*/} in
		faults_test) cp "$t" "$VB_BUILD/tests-faults/" ;;
		*) cp "$t" "$VB_BUILD/tests/" ;;
		esac
	done
}

# libvbackend, the sample backend (static and ASan/UBSan), the frontend
# simulator and the tools: every executable here goes to the guest's /bin.
build_userspace() {
	rm -rf "$VB_BUILD/userspace"
	"${MAKE:-make}" -C userspace O="$VB_BUILD/userspace" all sample-san
}

# bench: vbackend-bench alone goes to the guest's /bin.
build_bench() {
	rm -rf "$VB_BUILD/bench"
	"${MAKE:-make}" -C tools/testing/bench OUTPUT="$VB_BUILD/bench"
}

# The Xen provider end to end (tools/testing/xen/run.sh: Xen 4.17, a PV
# dom0, PVH domUs with stock virtio drivers), when vbackend.ko has one.
# Its own host checks first: the baseline's session code against fake Xen
# libraries and blkbench on a scratch file, under ASan/UBSan and valgrind.
xen_topology() {
	local status=0 log=$logs/xen-host.log
	if ! tools/testing/xen/run.sh --probe -m "$VB_BUILD/vbackend.ko"; then
		tap 0 "xen: the Xen topology # SKIP vbackend.ko has no Xen provider (CONFIG_XEN_BACKEND and x86)"
		return 0
	fi
	step "xen: baseline session code and blkbench, host unit tests" "$log" \
		"${MAKE:-make}" -C tools/testing/bench/xen OUTPUT="$VB_BUILD/bench-xen" check || true
	tools/testing/xen/run.sh -m "$VB_BUILD/vbackend.ko" || status=$?
	VERDICT_ARGS+=(-g "xen:$logs/xen.log:$logs/xen-results.log:$status")
	phase "xen topology"
}

# [xen-debug]: the debug kernel's xen-dom0 variant (lockdep, kmemleak,
# UBSAN, SLUB debugging, DEBUG_OBJECTS; no KASAN, which Linux 6.1 cannot
# run in a Xen PV kernel) as the Xen topology's dom0: frontend destroyed
# mid-I/O, backend kill -9 with a vCPU waiting, the fault injection of the
# Xen bind, kmemleak, rmmod; any kernel report fails it.
xen_debug() {
	local status=0 faults=() ko=$VB_BUILD/vbackend-xen-debug.ko
	if ! tools/testing/xen/run.sh --probe -m "$VB_BUILD/vbackend.ko"; then
		tap 0 "xen-debug: the Xen topology with the debug kernel as dom0 # SKIP vbackend.ko has no Xen provider"
		return 0
	fi
	step "build: the debug kernel's xen-dom0 variant and vbackend.ko for it" \
		"$logs/debug-xen.log" build_debug "$DEBUG_XEN_CACHE" "$ko" --variant xen-dom0 || return 0
	phase "xen-debug kernel build"
	if ! tools/testing/xen/run.sh --probe -m "$ko"; then
		tap 1 "xen-debug: vbackend.ko for the debug kernel has a Xen provider"
		return 0
	fi
	[ ! -x "$VB_BUILD/tests-faults/faults_test" ] ||
		faults=(--faults "$VB_BUILD/tests-faults/faults_test")
	XEN_LABEL=xen-debug XEN_TIMEOUT=${XEN_DEBUG_TIMEOUT:-1200} \
		tools/testing/xen/run.sh --debug-dom0 "$DEBUG_XEN_BZIMAGE" -m "$ko" "${faults[@]}" ||
		status=$?
	VERDICT_ARGS+=(-g "xen-debug:$logs/xen-debug.log:$logs/xen-debug-results.log:$status")
	phase "xen-debug topology"
}

# bench: vbackend vs the traditional userspace ioreq loop on Xen
# (tools/testing/bench/xen/run.sh: its own Xen + dom0 boot), when
# vbackend.ko has a Xen provider. Its guest is one more in the verdict.
xen_bench() {
	local status=0
	if ! tools/testing/xen/run.sh --probe -m "$VB_BUILD/vbackend.ko"; then
		tap 0 "bench: Xen, vbackend vs the libxendevicemodel baseline # SKIP vbackend.ko has no Xen provider"
		return 0
	fi
	tools/testing/bench/xen/run.sh -m "$VB_BUILD/vbackend.ko" --no-verdict || status=$?
	VERDICT_ARGS+=(-g "xenbench:$VB_BUILD/logs/xenbench.log:$VB_BUILD/logs/xenbench-results.log:$status")
}

# [soak]: two minutes of verified virtio-blk I/O over the VMM-fed provider
# while the backend is killed and restarted, the frontend reset and
# re-created and the kicks churned (tools/testing/soak; make soak runs it
# longer).
soak_check() {
	local status=0
	tools/testing/soak/run.sh --duration 2 -m "$VB_BUILD/vbackend.ko" \
		-u "$VB_BUILD/userspace" --no-verdict || status=$?
	VERDICT_ARGS+=(-g "soak:$logs/soak.log:$logs/soak-results.log:$status")
	phase "soak"
}

# The debug kernel (KASAN, lockdep, kmemleak, UBSAN; built once and cached
# outside the tree) and vbackend.ko for it; its xen-dom0 variant (the same
# without KASAN, which a Xen PV kernel cannot run) for [xen-debug].
DEBUG_CACHE=${VB_DEBUG_CACHE:-/var/cache/vbackend/debug-kernel}
DEBUG_BZIMAGE=$DEBUG_CACHE/build/arch/x86/boot/bzImage
DEBUG_XEN_CACHE=$DEBUG_CACHE-xen-dom0
DEBUG_XEN_BZIMAGE=$DEBUG_XEN_CACHE/build/arch/x86/boot/bzImage

# build_debug CACHE OUT [--variant V]: that debug kernel, and vbackend.ko
# for it copied to OUT
build_debug() {
	local cache=$1 out=$2 k
	shift 2
	"$VB_TOP/tools/testing/debug-kernel/build.sh" "$@" "$cache" || return 1
	k=$(cat "$cache/build/include/config/kernel.release") || return 1
	build_module "$k" "$out" "$cache/build"
}

# libvbackend's host unit tests (ASan+UBSan, no kernel needed): each of
# their TAP lines counts as a host check.
userspace_unit_tests() {
	local log=$logs/userspace-check.log out=$VB_BUILD/userspace-host status=0
	"${MAKE:-make}" -C userspace O="$out" check >"$log" 2>&1 || status=$?
	grep -E '^(not )?ok ' "$log" | sed -E 's/^((not )?ok) [0-9]+ /\1 - libvbackend: /' |
		tee -a "$HOST_TAP"
	if [ "$status" -ne 0 ] && ! grep -qE '^not ok ' "$log"; then
		tap 1 "libvbackend: host unit tests (log: ${log#"$VB_TOP"/})"
		tail -n 25 "$log" | sed 's/^/#   /'
	fi
}

# The sample and the library contain no hypervisor-specific code.
agnostic_check() {
	local line
	# (its failure is its "not ok" line, not the end of the run)
	line=$(tools/testing/selftests/vbackend-virtio/agnostic.sh "$VB_TOP" |
		grep -E '^(not )?ok ' | sed -E 's/^((not )?ok) [0-9]+ /\1 /') || true
	echo "$line" | tee -a "$HOST_TAP"
}

# boot LABEL QUIET(-q or "") TESTDIR ("" for none) KERNEL MODULE: one
# guest; its result lines stream as they come, marked [LABEL] but for the
# first guest of the run (verdict.sh marks them the same way).
boot() {
	local label=$1 quiet=$2 tests=$3 kernel=$4 ko=$5
	local initrd=$VB_BUILD/initramfs-$1.cpio.gz
	local console=$VB_BUILD/$label.log results=$VB_BUILD/$label-results.log
	local status=0 args=() qargs=() bins=$VB_BUILD/userspace mark=$label
	local m=${BOOT_MODE:-$mode}
	[ -z "$tests" ] || args+=(-t "$tests")
	# demo and bench boot a quiet kernel and show its console: what the
	# demo and the benchmark print is the point of them
	[ -z "$quiet" ] || qargs+=(-q -v)
	[ "$mode" != bench ] || bins=$VB_BUILD/bench
	[ "${#VERDICT_ARGS[@]}" -gt 0 ] || mark=""
	"$qemu_dir/mkinitramfs.sh" -o "$initrd" -m "$ko" "${args[@]}" \
		-b "$bins" --mode "$m" --timeout "$TEST_TIMEOUT" >/dev/null
	echo "# $label: booting ${kernel#"$VB_TOP"/} under QEMU TCG (timeout ${QEMU_TIMEOUT}s); console: ${console#"$VB_TOP"/}"
	"$qemu_dir/run-qemu.sh" -k "$kernel" -i "$initrd" -l "$console" \
		-r "$results" -t "$QEMU_TIMEOUT" -S "$mark" -m "${BOOT_MEM:-1024M}" \
		"${qargs[@]}" || status=$?
	echo "# $label: QEMU exited with status $status"
	VERDICT_ARGS+=(-g "$label:$console:$results:$status")
	phase "guest $label"
}

# vhost_user_check LABEL: the 6.1 guest with kvm-amd runs stock QEMU
# -accel kvm, its vhost-user-blk-pci served by vbackend-vhost-user and the
# unchanged sample (tools/testing/vhost-user). Of the tests, only
# kvm_vmm_test goes in: it loads and holds KVM.
vhost_user_check() {
	rm -rf "$VB_BUILD/tests-vu"
	mkdir -p "$VB_BUILD/tests-vu"
	cp "$VB_BUILD/tests/kvm_vmm_test" "$VB_BUILD/tests-vu/"
	BOOT_MODE=vhost-user BOOT_MEM=2048M boot "$1" "" "$VB_BUILD/tests-vu" \
		"/boot/vmlinuz-$kver" "$VB_BUILD/vbackend.ko"
}

# boot_line LABEL KVER: the kselftests and virtio tests on that kernel line
boot_line() {
	local label=$1 k=$2
	if step "build: vbackend.ko for $k" "$logs/module-$label.log" \
		build_module "$k" "$VB_BUILD/vbackend-$label.ko"; then
		boot "$label" "" "$VB_BUILD/tests" "/boot/vmlinuz-$k" "$VB_BUILD/vbackend-$label.ko"
	fi
}

export HOST_TAP=$VB_BUILD/$mode-host.tap
: >"$HOST_TAP"
VERDICT_ARGS=()
built=1

if [ "$mode" = check ]; then
	echo "# host checks against $kver, ${kver_612:-no 6.12}, ${kver_612rt:-no 6.12-rt}"
	"$qemu_dir/lint.sh" || true
	"$VB_TOP/tools/testing/abi/run.sh" || true
	userspace_unit_tests
	agnostic_check
	phase "host checks"
	# (the Xen runs take build/vbackend.ko: the module for the test kernel)
	step "build: vbackend.ko for $kver" "$logs/module.log" \
		build_module "$kver" "$VB_BUILD/vbackend.ko" || built=0
	step "build: kselftests" "$logs/selftests.log" build_selftests || built=0
	step "build: userspace" "$logs/userspace.log" build_userspace || built=0
	phase "builds"
	if [ "$built" = 1 ]; then
		boot guest "" "$VB_BUILD/tests" "/boot/vmlinuz-$kver" "$VB_BUILD/vbackend.ko"
		boot_line 6.12 "$kver_612"
		boot_line 6.12-rt "$kver_612rt"
		soak_check
		# everything again under KASAN, lockdep, kmemleak and UBSAN, then
		# the fault injection on the same kernel
		if step "build: debug kernel and vbackend.ko for it" "$logs/debug.log" \
			build_debug "$DEBUG_CACHE" "$VB_BUILD/vbackend-debug.ko"; then
			phase "debug kernel build"
			boot debug "" "$VB_BUILD/tests" "$DEBUG_BZIMAGE" "$VB_BUILD/vbackend-debug.ko"
			if [ -n "$(ls "$VB_BUILD/tests-faults")" ]; then
				boot faults "" "$VB_BUILD/tests-faults" "$DEBUG_BZIMAGE" \
					"$VB_BUILD/vbackend-debug.ko"
			fi
		fi
		xen_topology
		xen_debug
	else
		VERDICT_ARGS=(-n "not booted, a build failed")
	fi
elif [ "$mode" = xen-repeat ]; then
	step "build: vbackend.ko for $kver" "$logs/module.log" \
		build_module "$kver" "$VB_BUILD/vbackend.ko" || exit 1
	step "build: userspace" "$logs/userspace.log" build_userspace || exit 1
	exec "$VB_TOP/tools/testing/xen/repeat.sh" -n "${N:-5}" -m "$VB_BUILD/vbackend.ko"
elif [ "$mode" = vhost-user ]; then
	step "build: vbackend.ko for $kver" "$logs/module.log" \
		build_module "$kver" "$VB_BUILD/vbackend.ko" || built=0
	step "build: kselftests" "$logs/selftests.log" build_selftests || built=0
	step "build: userspace" "$logs/userspace.log" build_userspace || built=0
	if [ "$built" = 1 ]; then
		for i in $(seq 1 "${N:-1}"); do
			vhost_user_check "vhost-user-$i"
		done
	else
		VERDICT_ARGS=(-n "not booted, a build failed")
	fi
elif [ "$mode" = bench ]; then
	echo "# building vbackend.ko for $kver and vbackend-bench"
	step "build: vbackend.ko for $kver" "$logs/module.log" \
		build_module "$kver" "$VB_BUILD/vbackend.ko" || built=0
	step "build: vbackend-bench" "$logs/bench.log" build_bench || built=0
	if [ "$built" = 1 ]; then
		boot bench -q "" "/boot/vmlinuz-$kver" "$VB_BUILD/vbackend.ko"
		xen_bench
	else
		VERDICT_ARGS=(-n "not booted, a build failed")
	fi
else
	echo "# building vbackend.ko for $kver, libvbackend, the sample backend and the frontend simulator"
	step "build: vbackend.ko for $kver" "$logs/module.log" \
		build_module "$kver" "$VB_BUILD/vbackend.ko" || built=0
	step "build: userspace" "$logs/userspace.log" build_userspace || built=0
	if [ "$built" = 1 ]; then
		boot demo -q "" "/boot/vmlinuz-$kver" "$VB_BUILD/vbackend.ko"
	else
		VERDICT_ARGS=(-n "not booted, a build failed")
	fi
fi

echo "# verdict ($mode, $((SECONDS - start)) s)"
exec "$qemu_dir/verdict.sh" -H "$HOST_TAP" "${VERDICT_ARGS[@]}"
