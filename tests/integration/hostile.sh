#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile patch files against a running target: cut short, grown huge,
# for another architecture, not ELF at all, not a regular file (a
# directory, /dev/zero, a FIFO, which must not block the open), and valid
# patches with their .livepatch.replace section, relocations, program or
# section headers damaged and then sealed again (tests/targets/reseal.c),
# so that the checksum passes and the structural checks must catch the
# damage.  Each "livepatch apply" must refuse with its status (6: not a
# patch, or a corrupt one) and one line on standard error, never crash,
# and leave the target running unchanged, with the same mappings.  The
# reader itself is fuzzed by tests/integration/fuzz.sh.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

good=$T/answer.lpatch

# hostile STATUS WHAT FILE [OPTION...]: livepatch apply [OPTION...] FILE
# must exit with STATUS, print one line (and nothing on standard output),
# and leave the target running as it was, with the same mappings.  (That
# it still computes the old value is checked after each group of cases,
# and after each case that reaches the target: unchanged.)  The files made
# here are the user's and not writable by others, so that livepatch, run
# as root, trusts them: it refuses other files before it reads them
# (tests/integration/trust.sh).
hostile() {
	_ho_status=$1
	_ho_what=$2
	_ho_file=$3
	shift 3
	if [ -f "$_ho_file" ] && [ ! -L "$_ho_file" ] && [ "${_ho_file#"$T"/}" != "$_ho_file" ]; then
		chmod go-w "$_ho_file"
	fi
	run_livepatch_split apply "$@" "$target" "$_ho_file"
	[ "$LP_STATUS" -lt 128 ] ||
		fail "$_ho_what: livepatch crashed (status $LP_STATUS, signal $((LP_STATUS - 128)))"
	expect_status "$_ho_status" "$_ho_what"
	expect_one_error_line "$_ho_what"
	[ ! -s "$LP_STDOUT" ] || fail "$_ho_what: livepatch wrote to its standard output"
	grep -q '^livepatch: ' "$LP_STDERR" ||
		fail "$_ho_what: the error does not start with 'livepatch: '"
	expect_maps "$T/maps.before" "$_ho_what"
	assert_alive
	! grep -q '^all-new' "$TARGET_OUT" ||
		fail "refused apply ($_ho_what) changed the target anyway"
}

# unchanged WHAT: the target computes the old value, in every thread.
unchanged() {
	expect_unchanged "$1"
	log "$1: the target runs unchanged"
}

# crafted STATUS WHAT EDIT...: a copy of the good patch with the EDITs of
# tests/targets/reseal.c, sealed again, must be refused with STATUS.
crafted() {
	_cr_status=$1
	_cr_what=$2
	shift 2
	cp "$good" "$T/crafted.lpatch"
	"$T/reseal" "$T/crafted.lpatch" "$@" || fail "$_cr_what: reseal $* failed"
	cmp -s "$good" "$T/crafted.lpatch" && fail "$_cr_what: reseal $* changed nothing"
	hostile "$_cr_status" "$_cr_what (sealed)" "$T/crafted.lpatch"
}

# unsealed STATUS WHAT EDIT...: the same, not sealed again.
unsealed() {
	_un_status=$1
	_un_what=$2
	shift 2
	cp "$good" "$T/unsealed.lpatch"
	"$T/reseal" -n "$T/unsealed.lpatch" "$@" || fail "$_un_what: reseal -n $* failed"
	cmp -s "$good" "$T/unsealed.lpatch" && fail "$_un_what: reseal -n $* changed nothing"
	hostile "$_un_status" "$_un_what (not sealed)" "$T/unsealed.lpatch"
}

log "compile $T/reseal"
if ! $CC -O2 -Wall -Wextra -I"$top_srcdir/include" -o "$T/reseal" \
	"$TARGETS/reseal.c" -L"$top_builddir/.libs" -llivepatch \
	-Wl,-rpath,"$top_builddir/.libs" >"$T/compile.log" 2>&1; then
	cat "$T/compile.log"
	fail "cannot build the reseal helper"
fi
cat "$T/compile.log"

build_target "$T/hot" "$TARGETS/hot.c" "$NOCET_CFLAGS"
build_patch "$T/hot" "$good" "$TARGETS/answer-patch.c"
start_target "$T/hot" 2
wait_ready
expect_value 42
target=$TARGET_PID
save_maps "$T/maps.before"
size=$(wc -c <"$good" | tr -d ' ')

# ---- cut short
for cut in 1 16 64 1024 $((size / 2)) $((size - 1)); do
	head -c "$cut" "$good" >"$T/cut.lpatch"
	hostile 6 "patch cut to $cut of $size bytes" "$T/cut.lpatch"
done
unchanged "patches cut short"

# ---- grown: 64 MiB of garbage after a valid patch, 100 MiB of zeros, and
# a (sparse) file past the 2 GiB the reader takes at most
cp "$good" "$T/grown.lpatch"
head -c 67108864 /dev/urandom >>"$T/grown.lpatch"
hostile 6 "valid patch and 64 MiB of garbage" "$T/grown.lpatch"
rm -f "$T/grown.lpatch"
head -c 104857600 /dev/zero >"$T/zeros.lpatch"
hostile 6 "100 MiB of zeros" "$T/zeros.lpatch"
rm -f "$T/zeros.lpatch"
if truncate -s 2147483649 "$T/sparse.lpatch" 2>/dev/null; then
	hostile 6 "2 GiB and 1 byte (sparse)" "$T/sparse.lpatch"
else
	log "no truncate -s: not testing a file over 2 GiB"
fi
rm -f "$T/sparse.lpatch"
unchanged "grown patches"

# ---- not ELF, or not a regular file
: >"$T/empty.lpatch"
hostile 6 "empty file" "$T/empty.lpatch"
echo "this is not a patch" >"$T/text.lpatch"
hostile 6 "text file" "$T/text.lpatch"
printf '\177ELF' >"$T/magic.lpatch"
hostile 6 "ELF magic only" "$T/magic.lpatch"
hostile 6 "C source of the patch" "$TARGETS/answer-patch.c"
mkdir "$T/dir.lpatch"
hostile 6 "directory" "$T/dir.lpatch"
# /dev/zero is writable by everybody: root must say --insecure-file
if [ "$(id -u)" -eq 0 ]; then
	hostile 16 "/dev/zero, as root" /dev/zero
fi
hostile 6 "/dev/zero" /dev/zero --insecure-file
ln -s /dev/zero "$T/zero-link.lpatch"
hostile 6 "symbolic link to /dev/zero" "$T/zero-link.lpatch" --insecure-file
# A FIFO: opening one for reading blocks until a writer comes, and reading
# it until a writer leaves.  Neither may happen: no writer at all, then a
# writer that keeps it open and writes a valid patch.
mkfifo "$T/fifo.lpatch" || fail "cannot make a FIFO"
saved_timeout=$TOOL_TIMEOUT
TOOL_TIMEOUT=10
hostile 6 "FIFO without a writer" "$T/fifo.lpatch"
cat "$good" >"$T/fifo.lpatch" 2>/dev/null &
writer=$!
hostile 6 "FIFO with a writer" "$T/fifo.lpatch"
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
TOOL_TIMEOUT=$saved_timeout
unchanged "files that are not patches"

# ---- another architecture
unsealed 6 "e_machine aarch64" machine=183
crafted 6 "e_machine aarch64" machine=183
crafted 6 "e_machine i386" machine=3
crafted 6 "an executable (ET_EXEC)" type=2
id=$(build_id "$T/hot")
: "${id:=00}"
cat >"$T/foreign.c" <<EOF
/* answer-patch.c, and the .livepatch.info of livepatch-build */
#include "$TARGETS/answer-patch.c"
struct lp_info {
	char magic[8];
	unsigned int version, flags;
	unsigned long long sum;
	char build_id[80], module[152];
};
__attribute__((used, section(".livepatch.info"), aligned(8)))
static const struct lp_info livepatch_info = {
	{ 'L', 'P', 'I', 'N', 'F', 'O', '0', '1' }, 1, 0, 0, "$id", "hot"
};
EOF
# i386, when $CC can make 32-bit code (no library is needed)
if $CC -m32 -O2 -fPIC -shared -nostdlib -I"$LIVEPATCH_INCLUDEDIR" \
	-o "$T/i386.lpatch" "$T/foreign.c" >"$T/m32.log" 2>&1; then
	"$T/reseal" "$T/i386.lpatch" || fail "cannot seal the i386 patch"
	hostile 6 "i386 shared object with a sealed .livepatch.info" "$T/i386.lpatch"
else
	sed 's/^/  | /' "$T/m32.log"
	log "$CC cannot build i386 code: not testing an i386 patch"
fi
# aarch64, with clang (a cross compiler): a shared object if ld.lld is
# there, else an object file
if [ -n "$CLANG" ]; then
	if $CLANG --target=aarch64-linux-gnu -O2 -fPIC -shared -nostdlib -fuse-ld=lld \
		-I"$LIVEPATCH_INCLUDEDIR" -o "$T/aarch64.lpatch" "$T/foreign.c" \
		>"$T/aarch64.log" 2>&1; then
		what="aarch64 shared object"
	elif $CLANG --target=aarch64-linux-gnu -O2 -fPIC -c -I"$LIVEPATCH_INCLUDEDIR" \
		-o "$T/aarch64.lpatch" "$T/foreign.c" >"$T/aarch64.log" 2>&1; then
		what="aarch64 object file"
	else
		what=
		sed 's/^/  | /' "$T/aarch64.log"
		log "$CLANG cannot build aarch64 code: not testing an aarch64 patch"
	fi
	if [ -n "$what" ]; then
		"$T/reseal" "$T/aarch64.lpatch" || fail "cannot seal the $what"
		hostile 6 "$what with a sealed .livepatch.info" "$T/aarch64.lpatch"
	fi
else
	log "no clang: not testing an aarch64 patch"
fi
unchanged "patches for another architecture"

# ---- .livepatch.replace
crafted 6 "replacement pointing at data" new=info
crafted 6 "replacement pointing at code that is no function" new=text
crafted 6 "replacement at address 0" new=0
crafted 6 "old name outside the file" name=0x7ff000000000
crafted 6 "replace section of 8 bytes" replace-size=8
crafted 6 "replace section past the end of the file" replace-size=0x10000000
# the bytes there ("LPINFO01", then the format version 1) are no name: a
# name with a control character is refused with the file (6)
crafted 6 "old name pointing at the .livepatch.info magic" name=info
unchanged "damaged .livepatch.replace"

# ---- relocations
crafted 6 "relocation R_X86_64_PC32" reloc-type=2
crafted 6 "relocation R_X86_64_TPOFF64 without a symbol" reloc-type=18
crafted 6 "relocation R_X86_64_IRELATIVE" reloc-type=37
crafted 6 "relocation of an unknown type" reloc-type=0x7fffffff
crafted 6 "relocation with a symbol past the symbol table" reloc-sym=0xffffff
crafted 6 "relocation section of 7 bytes" rela-size=7
crafted 6 "relocation section past the end of the file" rela-size=0x1000000
# the next ones pass the reader: the loader refuses them once it has
# reserved memory in the target, and must give it back
crafted 6 "relocation outside the patch's image" reloc-offset=0x100000
unchanged "relocation outside the patch's image"
crafted 6 "relocation at the end of the address space" reloc-offset=0xfffffffffffffff8
unchanged "relocation at the end of the address space"

# ---- program headers
unsealed 6 "code segment past the end of the file" exec-offset=0x100000000
unsealed 6 "code segment larger in the file than in memory" exec-filesz=0x100000
unsealed 6 "code segment of 3 GiB" exec-memsz=0xc0000000
crafted 6 "no program headers" phnum=0
crafted 6 "code segment not executable" exec-flags=4
unchanged "damaged program headers"
# refused by the loader, with the process stopped (as above)
crafted 6 "code segment writable" exec-flags=7
unchanged "code segment writable"
crafted 6 "code segment of 1.25 GiB" exec-memsz=0x50000000
unchanged "code segment of 1.25 GiB"
crafted 6 "last segment at 0x7fff00000000" last-vaddr=0x7fff00000000
unchanged "last segment at 0x7fff00000000"
crafted 6 "last segment at the end of the address space" last-vaddr=0xfffffffffffff000
unchanged "last segment at the end of the address space"
crafted 6 "two segments at the same address" overlap
unchanged "two segments at the same address"

# ---- section headers and .livepatch.info
unsealed 6 "section headers past the end of the file" shoff=0xffffffff
unsealed 6 "no section headers" shnum=0
crafted 6 "three targets in .livepatch.info, two of them garbage" info-size=768
unchanged "damaged section headers and .livepatch.info"

# ---- after all that the good patch still applies
run_livepatch apply "$target" "$good"
expect_status 0 "apply the good patch"
wait_all_new 63
assert_alive_for 0.5
expect_value 63
log "ok"
