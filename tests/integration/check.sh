#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# livepatch check tells which functions can be patched, and why the others
# cannot, on tests/targets/check.c + check-asm.S: padded functions; one
# without a pad (patchable_function_entry(0, 0)); hand-written assembly;
# a pad listed but not NOPs; an ifunc.  It lists the compiler's copies
# (scale.constprop.0, total.isra.0, checked.cold) under their function.
# Checked on the file (gcc, gcc with CET, clang), on the running process,
# and on the process after a patch replaced plain_a (reported "patched",
# still patchable).  Refused: a file that is not ELF, ELF of another
# machine, an object file, a missing file, a dead PID, bad arguments.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

command -v nm >/dev/null 2>&1 || skip "nm is not installed"

# The functions of check.c that must be patchable, as the compiler made
# them: the clones replace (or join) the functions they come from.
PATCHABLE_CANDIDATES="complain main ifunc_impl plain_a plain_b checked round_of_calls
scale scale.constprop.0 total total.isra.0"
# Every function that must not be patchable, and why ("name:status").
# _start comes from the C library's crt1.o: assembly with unwind
# information and no pad.
NOT_PATCHABLE="_start:no-pad
asm_add:asm
asm_badpad:pad-not-nops
asm_local:asm
nopad:no-pad
pick_ifunc:ifunc"

# percent PART WHOLE: tenths as livepatch prints them (rounded half up,
# never 100.0 or 0.0 unless exact).
percent() {
	awk -v p="$1" -v w="$2" 'BEGIN {
		v = w ? int((p * 2000 + w) / (2 * w)) : 0
		if (v == 1000 && p < w) v = 999
		if (v == 0 && p > 0) v = 1
		printf "%d.%d\n", int(v / 10), v % 10 }'
}

# expected_patchable ELF: the candidates ELF defines, one a line, in
# $T/expected.patchable; their number in N_PATCHABLE.
expected_patchable() {
	nm "$1" | awk '$2 == "t" || $2 == "T" { print $3 }' | sort >"$T/defined"
	for _ep in $PATCHABLE_CANDIDATES; do
		grep -qx -- "$_ep" "$T/defined" && echo "$_ep"
	done >"$T/expected.patchable"
	N_PATCHABLE=$(wc -l <"$T/expected.patchable" | tr -d ' ')
	N_FUNCS=$((N_PATCHABLE + $(echo "$NOT_PATCHABLE" | wc -l)))
	log "$(basename "$1"): expecting $N_PATCHABLE of $N_FUNCS patchable:" \
		"$(tr '\n' ' ' <"$T/expected.patchable")"
}

# module_index FILE PATH: the index of the module PATH in the --json
# document FILE, in MOD.
module_index() {
	json_get "$1" ".modules|length" || fail "no modules in $(cat "$1")"
	_mi_n=$JSON_VALUE
	MOD=0
	while [ "$MOD" -lt "$_mi_n" ]; do
		json_get "$1" ".modules[$MOD].path"
		[ "$JSON_VALUE" = "$2" ] && return 0
		MOD=$((MOD + 1))
	done
	fail "no module $2 in the report"
}

# func_statuses FILE MOD LIST: "name:status" of each function of the
# array LIST (not_patchable, patched_functions, all) of module MOD,
# sorted, into $T/got.
func_statuses() {
	json_get "$1" ".modules[$2].$3|length" || fail "no $3 in module $2"
	_fs_n=$JSON_VALUE
	_fs_i=0
	: >"$T/got.unsorted"
	while [ "$_fs_i" -lt "$_fs_n" ]; do
		json_get "$1" ".modules[$2].$3[$_fs_i].name"
		_fs_name=$JSON_VALUE
		json_get "$1" ".modules[$2].$3[$_fs_i].status"
		echo "$_fs_name:$JSON_VALUE" >>"$T/got.unsorted"
		_fs_i=$((_fs_i + 1))
	done
	sort "$T/got.unsorted" >"$T/got"
}

# expect_not_patchable FILE MOD: the not-patchable functions of module MOD
# are exactly NOT_PATCHABLE, with their reasons.
expect_not_patchable() {
	func_statuses "$1" "$2" not_patchable
	echo "$NOT_PATCHABLE" | sort >"$T/want"
	if ! cmp -s "$T/want" "$T/got"; then
		diff "$T/want" "$T/got"
		fail "the functions reported not patchable differ from the expected ones"
	fi
	log "not patchable, as expected: $(tr '\n' ' ' <"$T/got")"
}

# expect_counts FILE MOD PATCHED: the counts of module MOD and that every
# expected function is patchable (PATCHED: how many of them are patched).
expect_counts() {
	json_expect "$1" ".modules[$2].functions" "$N_FUNCS"
	json_expect "$1" ".modules[$2].patchable" "$N_PATCHABLE"
	json_expect "$1" ".modules[$2].patched" "$3"
	json_expect "$1" ".modules[$2].percent" "$(percent "$N_PATCHABLE" "$N_FUNCS")"
	json_expect "$1" ".modules[$2].pad_list" true
	json_expect "$1" ".modules[$2].stripped" false
	func_statuses "$1" "$2" all
	while read -r _ec_f; do
		grep -qx -- "$_ec_f:patchable" "$T/got" || grep -qx -- "$_ec_f:patched" "$T/got" ||
			fail "$_ec_f is not reported patchable: $(grep -- "^$_ec_f:" "$T/got")"
	done <"$T/expected.patchable"
}

# find_copy FILE MOD NAME: the group and index of the copy NAME in module
# MOD, in GROUP and COPY; returns 1 if it is not listed.
find_copy() {
	json_get "$1" ".modules[$2].copies|length"
	_fc_ng=$JSON_VALUE
	GROUP=0
	while [ "$GROUP" -lt "$_fc_ng" ]; do
		json_get "$1" ".modules[$2].copies[$GROUP].copies|length"
		_fc_nc=$JSON_VALUE
		COPY=0
		while [ "$COPY" -lt "$_fc_nc" ]; do
			json_get "$1" ".modules[$2].copies[$GROUP].copies[$COPY].name"
			[ "$JSON_VALUE" = "$3" ] && return 0
			COPY=$((COPY + 1))
		done
		GROUP=$((GROUP + 1))
	done
	return 1
}

# expect_copy FILE MOD NAME BASE KIND ENTRY STATUS: the copy NAME is listed
# under BASE, of kind KIND, a function entry or not, with STATUS.  Skipped
# (with a line in the log) when the compiler did not make NAME.
expect_copy() {
	if ! grep -qx -- "$3" "$T/defined"; then
		log "the compiler made no $3: its assertion is skipped"
		return 0
	fi
	find_copy "$1" "$2" "$3" || fail "the copy $3 is not listed"
	_ec_p=".modules[$2].copies[$GROUP]"
	json_expect "$1" "$_ec_p.function" "$4"
	# the base function's status: null when the compiler left no function
	# of that name (all callers use the copies)
	if grep -qx -- "$4" "$T/defined"; then
		json_expect "$1" "$_ec_p.status" patchable
	else
		json_expect "$1" "$_ec_p.status" null
	fi
	json_expect "$1" "$_ec_p.copies[$COPY].kind" "$5"
	json_expect "$1" "$_ec_p.copies[$COPY].entry" "$6"
	json_expect "$1" "$_ec_p.copies[$COPY].same_entry" false
	json_expect "$1" "$_ec_p.copies[$COPY].status" "$7"
	log "copy $3 of $4: $5, $7"
}

# check_elf ELF: livepatch check on the file, human and JSON.
check_elf() {
	expected_patchable "$1"
	run_livepatch_split check "$1"
	expect_status 0 "check $1"
	grep -qx "$1: $N_PATCHABLE of $N_FUNCS functions hot-patchable ($(percent "$N_PATCHABLE" "$N_FUNCS")%)" \
		"$LP_STDOUT" || fail "check does not sum up $1 as $N_PATCHABLE of $N_FUNCS"
	grep -Eq '^    nopad +no pad$' "$LP_STDOUT" || fail "nopad is not reported without a pad"
	grep -Eq '^    asm_add +hand-written assembly' "$LP_STDOUT" ||
		fail "asm_add is not reported as hand-written assembly"
	grep -Eq '^    asm_badpad +pad not NOPs: the 14 bytes before the entry are not NOPs \(found cc cc cc cc cc cc cc cc cc cc cc cc cc cc \| 90 90\)$' \
		"$LP_STDOUT" || fail "asm_badpad's pad is not reported with the bytes found"
	grep -Eq '^    pick_ifunc +ifunc: the address is its resolver \(resolve_pick\)' "$LP_STDOUT" ||
		fail "pick_ifunc is not reported as an ifunc"
	grep -q 'plain_a' "$LP_STDOUT" && fail "plain_a is listed in the summary of $1"
	[ ! -s "$LP_STDERR" ] || fail "check wrote to stderr"

	run_livepatch_split check --json "$1"
	expect_status 0 "check --json $1"
	cp "$LP_STDOUT" "$T/file.json"
	json_expect "$T/file.json" .command check
	json_expect "$T/file.json" .status checked
	json_expect "$T/file.json" .file "$1"
	json_expect "$T/file.json" ".modules|length" 1
	json_expect "$T/file.json" .modules[0].path "$1"
	json_expect "$T/file.json" .total.functions "$N_FUNCS"
	json_expect "$T/file.json" .total.patchable "$N_PATCHABLE"
	json_expect "$T/file.json" .total.percent "$(percent "$N_PATCHABLE" "$N_FUNCS")"
	json_get "$T/file.json" .modules[0].all &&
		fail "--json without -v lists every function"
	expect_not_patchable "$T/file.json" 0

	run_livepatch_split check -v --json "$1"
	expect_status 0 "check -v --json $1"
	cp "$LP_STDOUT" "$T/file.json"
	expect_counts "$T/file.json" 0 0
	expect_copy "$T/file.json" 0 scale.constprop.0 scale constprop true patchable
	expect_copy "$T/file.json" 0 total.isra.0 total isra true patchable
	expect_copy "$T/file.json" 0 checked.cold checked cold false part
}

# check_json OUT ARGS...: livepatch check --json ARGS, the document in the
# file OUT; only its start goes to the log (a process's libraries make it
# long).  Permission denied (4) skips the test.
check_json() {
	_cj_out=$1
	shift
	LP_SEQ=$((LP_SEQ + 1))
	LP_OUT=$T/livepatch$LP_SEQ.err
	log "livepatch check --json $*"
	with_timeout "$LIVEPATCH" check --json "$@" >"$_cj_out" 2>"$LP_OUT"
	LP_STATUS=$?
	echo "  | $(head -c 300 "$_cj_out")... ($(wc -c <"$_cj_out" | tr -d ' ') bytes)"
	sed 's/^/  | /' "$LP_OUT"
	log "livepatch: status $LP_STATUS"
	[ "$LP_STATUS" -ne 4 ] || skip "livepatch cannot read processes here: $(cat "$LP_OUT")"
}

# ---- the file, as three compilers build it ---------------------------------------

build_target "$T/check" "$TARGETS/check.c" "$TARGETS/check-asm.S" "$NOCET_CFLAGS"
nm "$T/check" | grep -q ' t scale\.constprop\.0$' ||
	log "gcc made no scale.constprop.0 here"
nm "$T/check" | grep -q ' t checked\.cold$' || log "gcc made no checked.cold here"
check_elf "$T/check"
run_livepatch check "$T/check"
if grep -qx scale.constprop.0 "$T/defined"; then
	grep -Eq '^      scale\.constprop\.0 +constprop: patchable, patch it too$' "$LP_OUT" ||
		fail "check does not say to patch scale.constprop.0 too"
fi
if grep -qx checked.cold "$T/defined"; then
	grep -Eq '^      checked\.cold +cold part: not a function entry, cannot be patched on its own' \
		"$LP_OUT" || fail "check does not say checked.cold cannot be patched"
fi
run_livepatch check -v "$T/check"
expect_status 0 "check -v"
grep -Eq '^    0x[0-9a-f]+ +plain_a +patchable$' "$LP_OUT" ||
	fail "check -v does not list plain_a as patchable"

build_target "$T/check-cet" "$TARGETS/check.c" "$TARGETS/check-asm.S" -fcf-protection=full
check_elf "$T/check-cet"
if [ -n "$CLANG" ]; then
	build_target_clang "$T/check-clang" "$TARGETS/check.c" "$TARGETS/check-asm.S"
	check_elf "$T/check-clang"
else
	log "no clang: the clang build is not checked"
fi

# ---- refusals ------------------------------------------------------------------------

run_livepatch_split check "$TARGETS/check.c"
expect_status 5 "check of a C source"
expect_one_error_line "check of a C source"
grep -q 'not an ELF file' "$LP_STDERR" || fail "the refusal does not say it is not ELF"
run_livepatch_split check --json "$TARGETS/check.c"
expect_status 5 "check --json of a C source"
json_expect "$LP_STDOUT" .status error
json_expect "$LP_STDOUT" .exit_status 5
json_expect "$LP_STDOUT" .file "$TARGETS/check.c"

cp "$T/check" "$T/check-arm"
# e_machine (offset 18) = 40, EM_ARM
printf '\050\000' | dd of="$T/check-arm" bs=1 seek=18 conv=notrunc 2>/dev/null ||
	fail "cannot write $T/check-arm"
run_livepatch check "$T/check-arm"
expect_status 5 "check of an ARM ELF file"
grep -q 'not an x86-64 ELF file' "$LP_OUT" || fail "the refusal does not name the machine"

$CC -c -o "$T/check.o" "$TARGETS/check.c" || fail "cannot compile check.o"
run_livepatch check "$T/check.o"
expect_status 5 "check of an object file"
grep -q 'no executable segment' "$LP_OUT" || fail "the refusal does not say why"

run_livepatch check "$T/no-such-file"
expect_status 2 "check of a missing file"
grep -q 'No such file' "$LP_OUT" || fail "the refusal does not say the file is missing"
run_livepatch check "$(dead_pid)"
expect_status 3 "check of a dead process"
run_livepatch check
expect_status 2 "check without an argument"
run_livepatch check "$T/check" "$T/check"
expect_status 2 "check with two arguments"

if command -v strip >/dev/null 2>&1; then
	strip -o "$T/check-stripped" "$T/check"
	run_livepatch check "$T/check-stripped"
	expect_status 0 "check of a stripped file"
	grep -q "^$T/check-stripped: .*(stripped: exported functions only)\$" "$LP_OUT" ||
		fail "check does not say the file is stripped"
fi

# ---- the running process, before and after a patch ------------------------------------

expected_patchable "$T/check"
exe=$(canonical "$T/check")
start_target "$T/check"
wait_ready
check_json "$T/proc.json" "$TARGET_PID"
expect_status 0 "check of process $TARGET_PID"
json_expect "$T/proc.json" .pid "$TARGET_PID"
module_index "$T/proc.json" "$exe"
expect_not_patchable "$T/proc.json" "$MOD"
json_expect "$T/proc.json" ".modules[$MOD].patched" 0
json_expect "$T/proc.json" ".modules[$MOD].patchable" "$N_PATCHABLE"
json_expect "$T/proc.json" ".modules[$MOD].functions" "$N_FUNCS"
json_get "$T/proc.json" ".modules|length"
[ "$JSON_VALUE" -ge 2 ] || fail "the process's libraries are not checked"
grep -q 'memfd:livepatch' "$T/proc.json" && fail "check reports livepatch's own mappings"

build_patch "$T/check" "$T/check.lpatch" "$TARGETS/check-patch.c"
patch_id "$T/check.lpatch"
apply "$TARGET_PID" "$T/check.lpatch"
expect_status 0 "apply"
wait_for_line "$TARGET_OUT" '^plain_a 101$' 20 "$TARGET_PID" ||
	{ assert_alive; fail "the patch of plain_a does not run"; }

check_json "$T/patched.json" -v "$TARGET_PID"
expect_status 0 "check of the patched process"
grep -q 'memfd:livepatch' "$T/patched.json" && fail "check reports the patch's mapping as a module"
module_index "$T/patched.json" "$exe"
expect_counts "$T/patched.json" "$MOD" 1
expect_not_patchable "$T/patched.json" "$MOD"
func_statuses "$T/patched.json" "$MOD" patched_functions
[ "$(cat "$T/got")" = "plain_a:patched" ] ||
	fail "the patched functions are '$(cat "$T/got")', expected plain_a"
json_expect "$T/patched.json" ".modules[$MOD].patched_functions[0].detail" \
	"by patch $PATCH_ID (check)"
json_expect "$T/patched.json" .total.patched 1

run_livepatch check "$TARGET_PID"
expect_status 0 "check of the patched process, text"
grep -qx "$exe: $N_PATCHABLE of $N_FUNCS functions hot-patchable ($(percent "$N_PATCHABLE" "$N_FUNCS")%), 1 of them patched" \
	"$LP_OUT" || fail "the summary does not count the patched function"
grep -Eq "^    plain_a +by patch $PATCH_ID \\(check\\)\$" "$LP_OUT" ||
	fail "plain_a is not listed as patched"
grep -q '^total: .* in [0-9]* modules, 1 of them patched$' "$LP_OUT" ||
	fail "no total line for the process"
assert_alive
log "ok"
