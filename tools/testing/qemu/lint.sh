#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh [w1] [sparse] [checkpatch]: static checks of the module sources
# (default: all three). W=1 and sparse run against the headers of each
# kernel line the module supports (the test kernel, 6.12, 6.12 PREEMPT_RT);
# a line that is not installed fails its checks. Each check prints one
# "ok"/"not ok" line (and appends it to $HOST_TAP when set), followed by the
# offending lines as "#" diagnostics. Full logs: build/lint/*.log.
# Exit status: non-zero when any check failed.
# shellcheck disable=SC2317 # the checks are called as lint_$1
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

kvers=("$(need_kver)" "$(kver_of 6.12)" "$(kver_of 6.12-rt)")
lines=("test kernel" "6.12" "6.12-rt")
logs=$VB_BUILD/lint
mkdir -p "$logs"
cd "$VB_TOP"
failed=0

# Our files, as compilers and sparse name them in M= builds (absolute or
# relative to the module directory).
ours="^($VB_TOP/)?(drivers|include)/"

# lint_w1 KVER: a W=1 build against KVER's headers has no warning
lint_w1() {
	local kver=$1 log=$logs/w1-$1.log
	KDIR=/lib/modules/$kver/build
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

# lint_sparse KVER: sparse (C=2) says nothing of our files
lint_sparse() {
	local kver=$1 log=$logs/sparse-$1.log
	KDIR=/lib/modules/$kver/build
	kmake clean >/dev/null 2>&1 || true
	if ! kmake C=2 modules >"$log" 2>&1; then
		tap 1 "lint: sparse (C=2) against $kver (build failed)"
		grep -E 'error|warning:' "$log" | diag /dev/stdin
		return 1
	fi
	if grep -Eq "$ours.*: (warning|error):" "$log"; then
		tap 1 "lint: sparse (C=2) against $kver reports nothing for our files"
		grep -E "$ours.*: (warning|error):" "$log" | diag /dev/stdin
		return 1
	fi
	tap 0 "lint: sparse (C=2) against $kver reports nothing for our files"
}

# lint_kernels CHECK: CHECK against every supported kernel line
lint_kernels() {
	local i st=0
	for i in "${!kvers[@]}"; do
		if [ -z "${kvers[$i]}" ]; then
			tap 1 "lint: $1 against ${lines[$i]}: not installed (make deps installs it)"
			st=1
			continue
		fi
		"lint_$1" "${kvers[$i]}" || st=1
	done
	kmake clean >/dev/null 2>&1 || true
	return $st
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
	w1) lint_kernels w1 || failed=1 ;;
	sparse) lint_kernels sparse || failed=1 ;;
	checkpatch) lint_checkpatch || failed=1 ;;
	*) die "unknown check '$c' (w1, sparse, checkpatch)" ;;
	esac
done
exit "$failed"
