#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The life of one patch in a running process: apply it (list --json shows
# it, with the id of livepatch info, its name, its absolute path and its
# function live; the journal and its code are mapped), apply it again (14,
# nothing changes), revert it (the old function is back, nothing is
# listed, the maps are exactly those from before the first apply), revert
# an id that is not applied (15), apply it again, revert --all.  The
# --json documents of apply, revert and list are valid and say the same.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

NTHREADS=2

# The address of SYMBOL of the executable EXE in process PID, in decimal
# (empty when nm is missing).
symbol_address() {
	command -v nm >/dev/null 2>&1 || return 0
	_sa_off=$(nm "$1" | awk -v s="$2" '$3 == s && ($2 == "T" || $2 == "t") { print $1; exit }')
	_sa_base=$(awk -v exe="$(canonical "$1")" \
		'$6 == exe && $3 ~ /^0+$/ { sub(/-.*/, "", $1); print $1; exit }' "/proc/$3/maps")
	[ -n "$_sa_off" ] && [ -n "$_sa_base" ] || return 0
	echo $((0x$_sa_base + 0x$_sa_off))
}

# check_listed_patch JSON PATH_EXPR: the patch at PATH_EXPR of the list
# document JSON is $id, applied from $patch, live, mapped where the maps
# of $pid say, applied between $t_before and now.
check_listed_patch() {
	_p=$2
	json_expect "$1" "$_p.id" "$id"
	json_expect "$1" "$_p.name" answer
	json_get "$1" "$_p.path" || fail "no $_p.path"
	case $JSON_VALUE in
	"$patch" | "$(canonical "$patch")") ;;
	*) fail "list shows the patch file as '$JSON_VALUE', expected $patch" ;;
	esac
	json_expect "$1" "$_p.state" applied
	json_expect_type "$1" "$_p.time" number
	json_get "$1" "$_p.time"
	_now=$(date +%s)
	{ [ "$JSON_VALUE" -ge $((t_before - 1)) ] && [ "$JSON_VALUE" -le $((_now + 1)) ]; } ||
		fail "list shows the patch applied at $JSON_VALUE, not between $t_before and $_now"

	# The map is where /proc/PID/maps has the patch's memfd.
	_lines=$(grep " /memfd:livepatch:$id (deleted)\$" "/proc/$pid/maps")
	[ -n "$_lines" ] || fail "the code of patch $id is not mapped"
	_first=$(echo "$_lines" | head -n 1 | sed 's/-.*//')
	_last=$(echo "$_lines" | tail -n 1 | sed 's/^[0-9a-f]*-\([0-9a-f]*\) .*/\1/')
	json_get "$1" "$_p.map.start"
	[ "$(printf %d "$JSON_VALUE")" -eq $((0x$_first)) ] ||
		fail "list shows the patch mapped at $JSON_VALUE, the maps at 0x$_first"
	map_start=$((0x$_first))
	json_expect_type "$1" "$_p.map.size" number
	json_get "$1" "$_p.map.size"
	map_size=$JSON_VALUE
	{ [ "$map_size" -gt 0 ] && [ $((map_start + map_size)) -le $((0x$_last)) ]; } ||
		fail "list shows a map of $map_size bytes, the maps span 0x$_first-0x$_last"

	json_expect "$1" "$_p.functions|length" 1
	_f="$_p.functions[0]"
	json_expect "$1" "$_f.name" answer
	json_expect "$1" "$_f.module" "$(canonical "$T/rev")"
	json_expect "$1" "$_f.live" true
	json_expect_type "$1" "$_f.live" boolean
	json_get "$1" "$_f.address"
	case $JSON_VALUE in 0x*) ;; *) fail "address '$JSON_VALUE' is not 0x..." ;; esac
	if [ -n "$answer_addr" ]; then
		[ "$(printf %d "$JSON_VALUE")" -eq "$answer_addr" ] ||
			fail "list shows answer at $JSON_VALUE, it is at $(printf %#x "$answer_addr")"
	fi
	json_get "$1" "$_f.new_address"
	case $JSON_VALUE in 0x*) ;; *) fail "new_address '$JSON_VALUE' is not 0x..." ;; esac
	_new=$(printf %d "$JSON_VALUE")
	{ [ "$_new" -ge "$map_start" ] && [ "$_new" -lt $((map_start + map_size)) ]; } ||
		fail "the new answer() at $JSON_VALUE is not in the patch's map"
}

# The number of threads of $pid.
nthreads() {
	# shellcheck disable=SC2046
	set -- $(cd "/proc/$pid/task" && echo *)
	echo "$#"
}

build_target "$T/rev" "$TARGETS/rev.c" "$NOCET_CFLAGS"
patch=$T/answer.lpatch
build_patch "$T/rev" "$patch" "$TARGETS/answer-patch.c"
patch_id "$patch"
id=$PATCH_ID
log "patch id $id"
start_target "$T/rev" "$NTHREADS"
wait_ready
expect_value 42
pid=$TARGET_PID
answer_addr=$(symbol_address "$T/rev" answer "$pid")

# ---- nothing applied yet
list_patches "$pid"
[ "$LIST_N" -eq 0 ] || fail "list shows patches before any apply"
json_expect "$LIST_JSON" '.processes[0].exe' "$(canonical "$T/rev")"
has_journal "$pid" && fail "a journal is mapped before any apply"
save_maps "$T/maps.before"
run_livepatch_split list --json "$(dead_pid)"
expect_status 3 "list --json of a PID that does not exist"
run_livepatch revert "$pid" "$id"
expect_status 15 "revert before any apply"
expect_maps "$T/maps.before" "after the refused revert"
# A failed apply --json: an error document, and the message on stderr.
run_livepatch_split apply --json "$pid" "$T/no-such.lpatch"
expect_status 6 "apply --json of a file that does not exist"
expect_one_error_line "apply --json of a file that does not exist"
json_expect "$LP_STDOUT" .command apply
json_expect "$LP_STDOUT" .pid "$pid"
json_expect "$LP_STDOUT" .status error
json_expect "$LP_STDOUT" .exit_status 6
json_expect_type "$LP_STDOUT" .error string
expect_maps "$T/maps.before" "after the failed apply"

# ---- apply, with --json
t_before=$(date +%s)
run_livepatch_split apply --json "$pid" "$patch"
expect_status 0 "apply --json"
j=$LP_STDOUT
json_expect "$j" .command apply
json_expect "$j" .pid "$pid"
json_expect "$j" .status applied
json_expect "$j" .id "$id"
json_expect "$j" .name answer
json_expect "$j" .functions 1
json_expect_type "$j" .replaced array
json_expect "$j" '.replaced|length' 0
json_expect_type "$j" .pause_ms number
json_expect "$j" .threads $((NTHREADS + 1))
json_expect_type "$j" .attempts number
json_get "$j" .attempts
[ "$JSON_VALUE" -ge 1 ] || fail "apply --json: attempts $JSON_VALUE"
wait_value 63
expect_value 63

expect_patches "after apply" "$id"
check_listed_patch "$LIST_JSON" '.processes[0].patches[0]'
json_expect "$LIST_JSON" '.processes[0].exe' "$(canonical "$T/rev")"
cp "$LIST_JSON" "$T/list.applied"
save_maps "$T/maps.applied"
run_livepatch list "$pid"
expect_status 0 "list (human format)"

# ---- the same patch again: 14, nothing done
run_livepatch_split apply "$pid" "$patch"
expect_status 14 "apply of a patch already applied"
expect_one_error_line "apply of a patch already applied"
grep -qi 'already applied' "$LP_STDERR" || fail "the error does not say 'already applied'"
[ ! -s "$LP_STDOUT" ] || fail "apply of a patch already applied wrote to stdout"
run_livepatch_split apply --json "$pid" "$patch"
expect_status 14 "apply --json of a patch already applied"
expect_one_error_line "apply --json of a patch already applied"
json_expect "$LP_STDOUT" .command apply
json_expect "$LP_STDOUT" .pid "$pid"
json_expect "$LP_STDOUT" .status already-applied
expect_maps "$T/maps.applied" "after applying the patch twice"
list_patches "$pid"
cmp -s "$LIST_JSON" "$T/list.applied" ||
	fail "list --json changed after applying the patch twice: $(cat "$LIST_JSON")"
expect_value 63

# ---- revert: the old function, no patch, the maps from before
run_livepatch_split revert "$pid" "$id"
expect_status 0 "revert"
expect_reverted "$LP_STDOUT" "$id" "$pid"
[ "$(wc -l <"$LP_STDOUT" | tr -d ' ')" -eq 1 ] || fail "revert printed more than one line"
wait_value 42
expect_value 42
expect_patches "after revert"
expect_maps "$T/maps.before" "after revert"

# ---- ids that are not applied: 15
run_livepatch_split revert "$pid" "$id"
expect_status 15 "revert of the patch reverted already"
expect_one_error_line "revert of the patch reverted already"
other=ffffffffffffffff
[ "$other" != "$id" ] || other=0000000000000000
run_livepatch_split revert --json "$pid" "$other"
expect_status 15 "revert --json of an id never applied"
expect_one_error_line "revert --json of an id never applied"
json_expect "$LP_STDOUT" .command revert
json_expect "$LP_STDOUT" .pid "$pid"
json_expect "$LP_STDOUT" .status error
json_expect "$LP_STDOUT" .exit_status 15
json_expect_type "$LP_STDOUT" .error string
json_get "$LP_STDOUT" .error
[ -n "$JSON_VALUE" ] || fail "revert --json: empty error message"
expect_maps "$T/maps.before" "after the refused reverts"
expect_value 42

# ---- apply again, with a relative path: it is recorded absolute
t_before=$(date +%s)
here=$(pwd)
cd "$T" || fail "cannot cd to $T"
run_livepatch_split apply "$pid" answer.lpatch
cd "$here" || fail "cannot cd back to $here"
expect_status 0 "apply after revert"
[ "$(cat "$LP_STDOUT")" = "livepatch: applied patch $id to process $pid (1 function)" ] ||
	fail "apply printed '$(cat "$LP_STDOUT")'"
wait_value 63
expect_patches "after the second apply" "$id"
check_listed_patch "$LIST_JSON" '.processes[0].patches[0]'

# ---- list without a PID: every patched process, this one among them
run_livepatch_split list --json
expect_status 0 "list --json of every process"
all=$LP_STDOUT
json_get "$all" '.processes|length'
n=$JSON_VALUE
i=0
found=
while [ "$i" -lt "$n" ]; do
	json_get "$all" ".processes[$i].pid"
	if [ "$JSON_VALUE" = "$pid" ]; then
		found=$i
		break
	fi
	i=$((i + 1))
done
[ -n "$found" ] || fail "list --json without a PID does not show process $pid"
json_expect "$all" ".processes[$found].exe" "$(canonical "$T/rev")"
json_expect "$all" ".processes[$found].patches|length" 1
check_listed_patch "$all" ".processes[$found].patches[0]"
run_livepatch list
expect_status 0 "list (human format) of every process"
grep -q "$id" "$LP_OUT" || fail "list without a PID does not name patch $id"

# ---- revert --all, with --json
run_livepatch_split revert --json --all "$pid"
expect_status 0 "revert --json --all"
j=$LP_STDOUT
json_expect "$j" .command revert
json_expect "$j" .pid "$pid"
json_expect "$j" .status reverted
json_expect "$j" '.reverted|length' 1
json_expect "$j" '.reverted[0]' "$id"
json_expect_type "$j" .still_mapped array
json_expect_type "$j" .pause_ms number
json_expect "$j" .threads "$(nthreads)"
json_expect_type "$j" .attempts number
wait_value 42
expect_value 42
expect_patches "after revert --all"
expect_maps "$T/maps.before" "after revert --all"

# With nothing applied, revert --all has nothing to do and succeeds.
run_livepatch_split revert --all "$pid"
expect_status 0 "revert --all with nothing applied"
grep -q 'reverted patch' "$LP_STDOUT" && fail "revert --all reverted something that was not there"
run_livepatch_split revert --json --all "$pid"
expect_status 0 "revert --json --all with nothing applied"
json_expect "$LP_STDOUT" .status reverted
json_expect "$LP_STDOUT" '.reverted|length' 0
expect_maps "$T/maps.before" "after revert --all with nothing applied"
assert_alive_for 0.3
expect_value 42
log "ok"
