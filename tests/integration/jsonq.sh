#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The JSON checker of the tests (tests/tools/jsonq) accepts valid JSON and
# finds values in it, and refuses anything RFC 8259 does not allow, so
# that the tests of the --json output can trust json_get.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

[ -x "$JSONQ" ] || fail "$JSONQ is not built"

# valid TEXT: jsonq accepts TEXT.
valid() {
	printf '%s' "$1" >"$T/doc.json"
	"$JSONQ" "$T/doc.json" . >/dev/null 2>"$T/err" ||
		fail "jsonq refuses valid JSON '$1': $(cat "$T/err")"
}

# invalid TEXT: jsonq exits 3 on TEXT, with a message.
invalid() {
	printf '%s' "$1" >"$T/doc.json"
	"$JSONQ" "$T/doc.json" . >/dev/null 2>"$T/err"
	_st=$?
	[ "$_st" -eq 3 ] || fail "jsonq exits $_st on invalid JSON '$1', expected 3"
	[ -s "$T/err" ] || fail "jsonq says nothing about invalid JSON '$1'"
}

for text in '{}' '[]' '0' '-0' '-1.5e+10' '1E-3' '"x"' 'true' 'false' 'null' \
	' [1, {"a": [true, null]}, "\u00e9\ud83d\ude00\n"] ' '{"a":1,"b":{"a":2}}'; do
	valid "$text"
done
for text in '' ' ' '01' '1.' '.5' '+1' '1e' '-' 'NaN' 'Infinity' 'tru' 'nul' \
	'[1,]' '{"a":1,}' '[1 2]' '{"a" 1}' "{'a':1}" '{a:1}' '[1]]' '[1] [2]' \
	'{"a":1}x' '"\x"' '"\u12"' '"a' '[' '{"a":1,"a":2}' '[1] /* c */'; do
	invalid "$text"
done
printf '"tab\there"' >"$T/doc.json"
"$JSONQ" "$T/doc.json" . >/dev/null 2>&1
[ $? -eq 3 ] || fail "jsonq accepts a raw tab in a string"
printf '"\377"' >"$T/doc.json"
"$JSONQ" "$T/doc.json" . >/dev/null 2>&1
[ $? -eq 3 ] || fail "jsonq accepts invalid UTF-8"
printf '\357\273\277{}' >"$T/doc.json"
"$JSONQ" "$T/doc.json" . >/dev/null 2>&1
[ $? -eq 3 ] || fail "jsonq accepts a byte order mark"

# ---- queries
cat >"$T/list.json" <<'EOF'
{"processes": [
  {"pid": 123, "exe": "/bin/x",
   "patches": [{"id": "0123456789abcdef", "name": "a \"b\"", "live": true,
                "map": {"start": "0x7f00", "size": 8192}, "e": [], "o": {}},
               {"id": "fedcba9876543210", "time": 1.5e3, "n": null}]}],
 "a|b": [1, 2]}
EOF
json_expect "$T/list.json" '.processes|length' 1
json_expect "$T/list.json" '.processes[0].pid' 123
json_expect_type "$T/list.json" '.processes[0].pid' number
json_expect "$T/list.json" '.processes[0].patches|length' 2
json_expect "$T/list.json" '.processes[0].patches[1].id' fedcba9876543210
json_expect "$T/list.json" '.processes[0].patches[-1].time' 1.5e3
json_expect "$T/list.json" '.processes[0].patches[1].n' null
json_expect_type "$T/list.json" '.processes[0].patches[1].n' null
json_expect "$T/list.json" '.processes[0].patches[0].name' 'a "b"'
json_expect "$T/list.json" '.processes[0].patches[0].live' true
json_expect_type "$T/list.json" '.processes[0].patches[0].live' boolean
json_expect "$T/list.json" '.processes[0].patches[0].map' '{"start":"0x7f00","size":8192}'
json_expect "$T/list.json" '.processes[0].patches[0].map|length' 2
json_expect "$T/list.json" '.processes[0].patches[0].e|length' 0
json_expect "$T/list.json" '.processes[0].patches[0].o|length' 0
json_expect_type "$T/list.json" '.processes[0].patches[0].o' object
json_expect "$T/list.json" '.["a|b"]' '[1,2]'
json_expect "$T/list.json" '.["a|b"]|length' 2
for expr in .nope '.processes[1]' '.processes[0].pid.x' '.processes[0].pid|length' \
	'.processes.pid' '.["a|b"][2]'; do
	json_get "$T/list.json" "$expr" && fail "json_get finds $expr: '$JSON_VALUE'"
done
"$JSONQ" "$T/list.json" 'processes' >/dev/null 2>&1
[ $? -eq 1 ] || fail "jsonq takes an expression without the leading '.'"

# json_get ends the test on invalid JSON.
printf '{"a":1,}' >"$T/bad.json"
(json_get "$T/bad.json" .a) >"$T/sub.out" 2>&1 && fail "json_get accepted invalid JSON"
grep -q '^FAIL: ' "$T/sub.out" || fail "json_get did not fail the test on invalid JSON"
log "ok"
