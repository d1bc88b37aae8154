#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [-m vbackend.ko] [--rounds N] [--secs S] [--mib M] [--no-verdict]
#
# The Xen benchmark of "make bench": the same virtio-blk device logic (the
# unchanged vbackend-sample) served to two identical PVH domUs, one through
# /dev/vbackend's Xen provider, one through vbackend-sample-baseline (the
# sample linked with xen_session.c: the traditional userspace ioreq loop on
# libxendevicemodel + libxenevtchn), in one Xen 4.17 + dom0 boot under QEMU
# TCG. Each domU runs blkbench (4 KiB random and 1 MiB sequential O_DIRECT
# I/O at QD1, and the 512-byte kick -> backend wakeup -> interrupt round
# trip) in rounds, alternating which backend goes first, one domU at a time.
# Prints the median of each metric over the rounds, both sides, and
# vbackend/baseline ratios.
#
# It reuses the Xen topology of tools/testing/xen (its initramfs, frontend
# helper, vbackend-xen-attach, dom0-lib.sh and domU-init); dom0-bench is
# dom0's init (rdinit=), added with the baseline and blkbench (for the
# domUs) as a second cpio archive.
#
#   -m          the module for the test kernel (default ./vbackend.ko)
#   --rounds N  blkbench runs per backend (default 3)
#   --secs S    seconds per blkbench test (default 2)
#   --mib M     region of the disk the tests cover (default 32)
#   --no-verdict  leave the verdict to the caller (check.sh bench)
#
# Logs: build/logs/xenbench.log (console), build/logs/xenbench-results.log
# (result and blkbench lines, the domUs' consoles, dmesg), the table in
# build/bench-xen-results.log. Exit status: without --no-verdict,
# verdict.sh's (functional failures only, never timings); with it, QEMU's.
# Environment: TEST_KVER, XEN_TIMEOUT (QEMU's, 900 s), XEN_CPUS (the
# machine's CPUs, 4, as the topology's), VB_BUILD.
set -euo pipefail
# shellcheck source=tools/testing/qemu/lib.sh
. "$(dirname "$0")/../../qemu/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
xen=$VB_TOP/tools/testing/xen
ko=$VB_TOP/vbackend.ko rounds=3 secs=2 mib=32 verdict=1
while [ $# -gt 0 ]; do
	case $1 in
	-m) ko=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--no-verdict) verdict=0; shift ;;
	*) sed -n '4p' "$0" | sed 's/^# /usage: /' >&2; exit 2 ;;
	esac
done
[ -f "$ko" ] || die "no $ko: build the module first"

kver=$(need_kver)
logs=$VB_BUILD/logs out=$VB_BUILD/bench-xen
console=$logs/xenbench.log results=$logs/xenbench-results.log
table=$VB_BUILD/bench-xen-results.log
XEN_TIMEOUT=${XEN_TIMEOUT:-900}
mkdir -p "$logs" "$out"

# The topology's initramfs (tools/testing/xen/mkinitramfs.sh), then ours
# as a second archive: the kernel unpacks both. (Run inside "if": no set -e,
# hence the && chains.)
build() {
	local ov
	"${MAKE:-make}" -C "$here" OUTPUT="$out" all &&
		"${MAKE:-make}" -C "$VB_TOP/userspace" O="$VB_BUILD/userspace" lib sample tools &&
		"${MAKE:-make}" -C "$xen/frontend" KDIR="/lib/modules/$kver/build" OUT="$out/frontend" &&
		zcat /boot/xen-4.17-amd64.gz >"$out/xen.tmp" && mv "$out/xen.tmp" "$out/xen" &&
		"$xen/mkinitramfs.sh" -o "$out/dom0-topology.cpio.gz" -m "$ko" \
			-f "$out/frontend/vbackend_xen_front.ko" -b "$VB_BUILD/userspace" -k "$kver" ||
		return 1
	ov=$(mktemp -d) || return 1
	if ! {
		mkdir -p "$ov/domU/usr/bin" "$ov/dom0/usr/bin" "$ov/dom0/boot" "$ov/dom0/etc" &&
			install -m 755 "$out/blkbench" "$ov/domU/usr/bin/blkbench" &&
			pack_initramfs "$ov/domU" "$ov/dom0/boot/blkbench.cpio.gz" &&
			install -m 755 "$here/dom0-bench" "$ov/dom0/xenbench-init" &&
			install -m 755 "$out/vbackend-sample-baseline" "$ov/dom0/usr/bin/" &&
			printf 'ROUNDS=%s\nSECS=%s\nMIB=%s\n' "$rounds" "$secs" "$mib" \
				>"$ov/dom0/etc/vbackend-xenbench.conf" &&
			pack_initramfs "$ov/dom0" "$out/dom0-bench-overlay.cpio.gz" &&
			cat "$out/dom0-topology.cpio.gz" "$out/dom0-bench-overlay.cpio.gz" \
				>"$out/dom0-bench.cpio.gz"
	}; then
		rm -rf "$ov"
		return 1
	fi
	rm -rf "$ov"
}

echo "# xenbench: building (log: ${logs#"$VB_TOP"/}/xenbench-build.log)"
if ! build >"$logs/xenbench-build.log" 2>&1; then
	tail -n 20 "$logs/xenbench-build.log" >&2
	echo "not ok - xenbench: build (log: ${logs#"$VB_TOP"/}/xenbench-build.log)"
	exit 1
fi

echo "# xenbench: booting Xen 4.17 + dom0 under QEMU TCG, $rounds rounds x 5 tests x ${secs}s" \
	"(timeout ${XEN_TIMEOUT}s); console: ${console#"$VB_TOP"/}"
start=$SECONDS
status=0
"$VB_TOP/tools/testing/qemu/run-qemu.sh" -k "$out/xen" -m 3072M -s "${XEN_CPUS:-4}" \
	-a "console=com1 console_timestamps=boot dom0_mem=1536M,max:1536M loglvl=all guest_loglvl=all conring_size=1M" \
	-i "/boot/vmlinuz-$kver console=hvc0 earlyprintk=xen panic=-1 rdinit=/xenbench-init,$out/dom0-bench.cpio.gz" \
	-l "$console" -r "$results" -t "$XEN_TIMEOUT" -S xenbench || status=$?
echo "# xenbench: QEMU exited with status $status after $((SECONDS - start)) s"

# The medians over the rounds, side by side, and the ratios.
{ [ ! -f "$results" ] || tr -d '\r' <"$results"; } | awk -v rounds="$rounds" '
	/^(not )?ok - xenbench:/ { print "# " $0 }
	/^blkbench: label=[a-z]+\/[0-9]+ test=/ {
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			f[kv[1]] = kv[2]
		}
		split(f["label"], lb, "/")
		t = f["test"]
		if (!(t in seen)) { order[++nt] = t; seen[t] = 1 }
		for (m in f) {
			if (m == "label" || m == "test" || m == "bs" || m == "ops" || m == "secs")
				continue
			k = lb[1] SUBSEP t SUBSEP m
			v[k, ++n[k]] = f[m]
		}
		delete f
	}
	function median(k,    i, j, c, a, x) {
		c = n[k]
		if (!c) return ""
		for (i = 1; i <= c; i++) a[i] = v[k, i] + 0
		for (i = 2; i <= c; i++) {	# insertion sort
			x = a[i]
			for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
			a[j + 1] = x
		}
		return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
	}
	END {
		if (!nt) { print "xenbench: no blkbench results"; exit }
		print "xenbench: medians over the rounds; ratio = vbackend / baseline"
		print "xenbench: rtt512 = kick -> backend wakeup -> interrupt round trip (512-byte O_DIRECT read, QD1)"
		printf "xenbench: %-12s %-12s %12s %12s %8s\n", "test", "metric", "vbackend", "baseline", "ratio"
		split("iops mibps lat_mean_us lat_p50_us lat_p99_us", ms, " ")
		for (i = 1; i <= nt; i++) {
			t = order[i]
			for (j = 1; j <= 5; j++) {
				m = ms[j]
				if (t ~ /^seq/ && m == "iops") continue
				if (t == "rtt512" && m == "mibps") continue
				a = median("vbackend" SUBSEP t SUBSEP m)
				b = median("baseline" SUBSEP t SUBSEP m)
				r = (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2fx", a / b) : "-"
				printf "xenbench: %-12s %-12s %12s %12s %8s\n", t, m, a, b, r
				if (r != "-")
					ratios = ratios sprintf("ratio: xen %s %s = %s (%s is better)\n", t, m, r,
						m ~ /^lat/ ? "lower" : "higher")
			}
		}
		printf "%s", ratios
		printf "xenbench: runs: vbackend %d, baseline %d of %d each\n",
			n["vbackend" SUBSEP "rtt512" SUBSEP "iops"], n["baseline" SUBSEP "rtt512" SUBSEP "iops"], rounds
	}' | tee "$table"

[ "$verdict" = 1 ] || exit "$status"
exec "$VB_TOP/tools/testing/qemu/verdict.sh" -g "xenbench:$console:$results:$status"
