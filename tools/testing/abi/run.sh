#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ABI layout test of include/uapi/linux/vbackend.h: compile layout.c for
# x86_64 (-m64) and i386 (-m32), write the size and offset of every field of
# every structure to build/abi/layout-{64,32}.txt, and require
#  - both to build (the _Static_assert sizes hold),
#  - every byte of every structure to belong to a listed field (no implicit
#    padding, no field missing from layout.c),
#  - every structure of the header to be listed,
#  - the two layouts (and the ioctl numbers) to be identical.
# Prints one "ok"/"not ok" line per check (appended to $HOST_TAP when set).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../qemu
. "$(dirname "$0")/../qemu/lib.sh"

out=$VB_BUILD/abi
src=$VB_TOP/tools/testing/abi/layout.c
hdr=$VB_TOP/include/uapi/linux/vbackend.h
mkdir -p "$out"
failed=0

# check_layout RAW: print the readable table; exit 1 when a structure has a
# byte no field covers or a size other than the frozen one.
check_layout() {
	awk '
	function flush(  b) {
		if (name == "")
			return
		for (b = 0; b < size; b++) {
			if (!(b in cov)) {
				printf "# BAD: struct %s byte %d belongs to no field " \
				       "(implicit padding, or a field missing from layout.c)\n", name, b
				bad = 1
				break
			}
		}
		delete cov
	}
	$1 == "struct" {
		flush()
		name = $2; size = $3
		printf "struct %s size %d align %d\n", name, size, $4
		if ($3 != $5) {
			printf "# BAD: struct %s is %d bytes, frozen at %d\n", name, $3, $5
			bad = 1
		}
	}
	$1 == "field" {
		printf "  %-22s offset %3d size %3d\n", $2, $3, $4
		for (b = $3; b < $3 + $4; b++)
			cov[b] = 1
	}
	$1 == "const" {
		flush(); name = ""
		printf "%-24s 0x%08x\n", $2, $3 * 65536 + $4
	}
	END { flush(); exit bad }
	' "$1"
}

for m in 64 32; do
	raw=$out/layout-$m.raw
	txt=$out/layout-$m.txt
	if ! gcc -m"$m" -std=gnu11 -Wall -Wextra -Werror -I"$VB_TOP/include/uapi" \
		-S "$src" -o "$out/layout-$m.s" 2>"$out/layout-$m.log"; then
		tap 1 "abi: layout.c compiles with -m$m (frozen sizes hold)"
		diag "$out/layout-$m.log"
		failed=1
		continue
	fi
	sed -n 's/^[[:space:]]*\.ascii "->\(.*\)"$/\1/p' "$out/layout-$m.s" >"$raw"
	if check_layout "$raw" >"$txt"; then
		tap 0 "abi: -m$m layout has the frozen sizes and no implicit padding"
	else
		tap 1 "abi: -m$m layout has the frozen sizes and no implicit padding"
		grep '^# BAD' "$txt" | diag /dev/stdin
		failed=1
	fi
done

# Every structure the header defines must be in layout.c.
missing=$(comm -23 \
	<(sed -n 's/^struct \(vbackend_[a-z0-9_]*\) {.*/\1/p' "$hdr" | LC_ALL=C sort -u) \
	<(awk '$1 == "struct" { print $2 }' "$out/layout-64.raw" 2>/dev/null | LC_ALL=C sort -u))
if [ -z "$missing" ]; then
	tap 0 "abi: layout.c covers every structure of vbackend.h"
else
	tap 1 "abi: layout.c covers every structure of vbackend.h (missing: $(echo "$missing" | tr '\n' ' '))"
	failed=1
fi

if [ -s "$out/layout-64.txt" ] && [ -s "$out/layout-32.txt" ] &&
	diff -u "$out/layout-64.txt" "$out/layout-32.txt" >"$out/layout.diff"; then
	n=$(grep -c '^struct' "$out/layout-64.txt")
	tap 0 "abi: i386 and x86_64 layouts identical ($n structs, build/abi/layout-64.txt)"
else
	tap 1 "abi: i386 and x86_64 layouts identical"
	[ ! -s "$out/layout.diff" ] || diag "$out/layout.diff"
	failed=1
fi
exit "$failed"
