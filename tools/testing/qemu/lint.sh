#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh [w1] [sparse] [checkpatch]: static checks of the module sources
# against the test kernel's headers (default: all three). Each check prints
# one "ok"/"not ok" line (and appends it to $HOST_TAP when set), followed by
# the offending lines as "#" diagnostics. Full logs: build/lint/*.log.
# Exit status: non-zero when any check failed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

kver=$(need_kver)
# shellcheck disable=SC2034 # used by kmake (lib.sh)
KDIR=${TEST_KDIR:-/lib/modules/$kver/build}
logs=$VB_BUILD/lint
mkdir -p "$logs"
cd "$VB_TOP"
failed=0

# Our files, as compilers and sparse name them in M= builds (absolute or
# relative to the module directory).
ours="^($VB_TOP/)?(drivers|include)/"

lint_w1() {
	local log=$logs/w1.log
	kmake clean >/dev/null 2>&1 || true
	if ! kmake W=1 modules >"$log" 2>&1; then
		tap 1 "lint: W=1 build against $kver (build failed)"
		grep -E 'error|warning:' "$log" | diag /dev/stdin
		return 1
	fi
	if grep -qi 'warning:' "$log"; then
		tap 1 "lint: W=1 build against $kver has no warnings"
		grep -i 'warning:' "$log" | diag /dev/stdin
		return 1
	fi
	tap 0 "lint: W=1 build against $kver has no warnings"
}

lint_sparse() {
	local log=$logs/sparse.log
	if ! kmake C=2 modules >"$log" 2>&1; then
		tap 1 "lint: sparse (C=2) (build failed)"
		grep -E 'error|warning:' "$log" | diag /dev/stdin
		return 1
	fi
	if grep -Eq "$ours.*: (warning|error):" "$log"; then
		tap 1 "lint: sparse (C=2) reports nothing for our files"
		grep -E "$ours.*: (warning|error):" "$log" | diag /dev/stdin
		return 1
	fi
	tap 0 "lint: sparse (C=2) reports nothing for our files"
}

lint_checkpatch() {
	local log=$logs/checkpatch.log cp=$VB_KSRC/scripts/checkpatch.pl
	local -a files
	[ -f "$cp" ] || die "$cp missing: run 'make ksrc'"
	mapfile -t files < <(find drivers -name '*.[ch]' 2>/dev/null | LC_ALL=C sort)
	files+=(include/uapi/linux/vbackend.h)
	# No --ignore: checkpatch runs in full --strict mode. (FILE_PATH_CHANGES
	# only fires on patches, never with -f.)
	perl "$cp" --strict --no-tree --terse --show-types --no-summary \
		-f "${files[@]}" >"$log" 2>&1 || true
	if grep -Eq '(ERROR|WARNING|CHECK):' "$log"; then
		tap 1 "lint: checkpatch --strict over ${#files[@]} files"
		grep -E '(ERROR|WARNING|CHECK):' "$log" | diag /dev/stdin
		return 1
	fi
	tap 0 "lint: checkpatch --strict over ${#files[@]} files"
}

checks=("$@")
[ "${#checks[@]}" -gt 0 ] || checks=(w1 sparse checkpatch)
for c in "${checks[@]}"; do
	case $c in
	w1) lint_w1 || failed=1 ;;
	sparse) lint_sparse || failed=1 ;;
	checkpatch) lint_checkpatch || failed=1 ;;
	*) die "unknown check '$c' (w1, sparse, checkpatch)" ;;
	esac
done
exit "$failed"
