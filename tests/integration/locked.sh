#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Locked-down targets.  (1) A target that forbids making memory executable
# after the fact, as systemd's MemoryDenyWriteExecute does (the kernel's
# PR_SET_MDWE and a seccomp filter refusing writable+executable mmaps and
# mprotect to executable) is patched: the patch's code is mapped with its
# final protection and filled through /proc/PID/mem.  (2) A target in its
# own mount namespace and chroot, where neither the patch file nor the
# program's path exists, is patched: livepatch reads every file itself
# (the patch, and the target's modules through /proc/PID/map_files).
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

# ---- (1) memory that may not become executable
build_target "$T/hot-locked" "$TARGETS/hot.c" "$NOCET_CFLAGS" -DLOCKED_VARIANT
build_patch "$T/hot-locked" "$T/locked.lpatch" "$TARGETS/libc-patch.c"
start_target "$T/hot-locked" 2
wait_ready
grep -qx locked "$TARGET_OUT" || fail "the target could not lock itself down: $(head -n 1 "$TARGET_OUT")"
grep -q '^Seccomp:[[:space:]]*2' "/proc/$TARGET_PID/status" || fail "no seccomp filter in the target"
apply "$TARGET_PID" "$T/locked.lpatch"
expect_status 0 "apply to a target that denies executable memory"
wait_all_new 63
grep -q '^patch-libc 63 2$' "$TARGET_OUT" || fail "the patch's libc calls did not run"
expect_value 63
stop_target "$TARGET_PID"

# ---- (2) another mount namespace, in a chroot
[ "$(id -u)" -eq 0 ] || skip "chroot and mount namespaces need root"
command -v unshare >/dev/null 2>&1 || skip "unshare is not installed"
command -v ldd >/dev/null 2>&1 || skip "ldd is not installed"
root=$T/root
mkdir -p "$root"
build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
cp "$T/hot" "$root/hot"
# the program's libraries, at the same paths inside
for lib in $(ldd "$T/hot" | sed -n 's/^.*=> \(\/[^ ]*\) .*$/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*$/\1/p'); do
	mkdir -p "$root$(dirname "$lib")"
	cp "$lib" "$root$lib"
done
build_patch "$T/hot" "$T/chroot.lpatch" "$TARGETS/libc-patch.c"
start_target unshare --mount chroot "$root" /hot 2
wait_ready
[ ! -e "/proc/$TARGET_PID/root$T/chroot.lpatch" ] ||
	fail "the patch file is visible to the target: the test proves nothing"
[ "$(readlink "/proc/$TARGET_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "the target is not in its own mount namespace"
apply "$TARGET_PID" "$T/chroot.lpatch"
expect_status 0 "apply to a target in a chroot and another mount namespace"
wait_all_new 63
grep -q '^patch-libc 63 2$' "$TARGET_OUT" || fail "the patch's libc calls did not run"
run_livepatch list "$TARGET_PID"
expect_status 0 "list in the chroot"
grep -q 'chroot' "$LP_OUT" || fail "list does not show the patch"
id=$("$LIVEPATCH" info "$T/chroot.lpatch" | sed -n 's/^patch: *//p')
REGRESS_OK=1
run_livepatch revert "$TARGET_PID" "$id"
expect_status 0 "revert in the chroot"
wait_value 42
log "ok"
