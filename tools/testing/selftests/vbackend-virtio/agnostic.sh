#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# agnostic.sh [REPO]: the hypervisor-agnostic claim, checked. The sample
# backend and libvbackend must not contain Xen-, KVM- or ivshmem-specific
# code: no word matching xen|kvm|ivshmem|evtchn|ioreq|gnttab|privcmd (any
# case) in any file under userspace/sample or userspace/lib. The kernel
# parses target strings; the backend passes them through untouched.
#
# Runs on the host (the source tree is not in the test guest) and prints
# one TAP result; exit status 0 when clean, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-$(cd "$here/../../../.." && pwd)}
pattern='xen|kvm|ivshmem|evtchn|ioreq|gnttab|privcmd'
name="agnostic: userspace/sample and userspace/lib name no hypervisor ($pattern)"

echo "TAP version 13"
echo "1..1"
missing=""
for d in userspace/sample userspace/lib; do
	[ -d "$repo/$d" ] || missing="$missing $d"
done
if [ -n "$missing" ]; then
	echo "not ok 1 - $name # missing:$missing"
	exit 1
fi
hits=$(cd "$repo" && grep -rniE -I "$pattern" userspace/sample userspace/lib)
status=$?
if [ "$status" -gt 1 ]; then
	echo "not ok 1 - $name # grep failed ($status)"
	exit 1
fi
if [ -n "$hits" ]; then
	echo "$hits" | head -n 20 | sed 's/^/# /'
	echo "not ok 1 - $name # $(echo "$hits" | wc -l) line(s)"
	exit 1
fi
files=$(cd "$repo" && find userspace/sample userspace/lib -type f | wc -l)
echo "ok 1 - $name # $files files clean"
exit 0
