#!/usr/bin/env bash
# t_csvio.sh - the CSV LUN's I/O (csv/csv_io.c) through `clusterd-lun csv`
# against the harness's real tgt target, on the scratch LUN: probe, format
# and its refusals (another CSV, foreign data), volume changes and their
# refusals, dump's consistency verdict, the check's sentences, and damage
# that dump reports without writing anything. Each check is a PASS/FAIL line.
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_CLUSTERD=none
if ! it_up 1; then
	it_fail csvio-up "the harness did not start"
	exit 1
fi
LUN_TOOL=$IT_TOP/csv/clusterd-lun
URL=$(vc san-url 2)
INIT=$(vc initiator n1)
FILE=$(. "$IT_TOP/tests/harness/vc_lib.sh" && vc_load && vc_san_file 2)
UUID=0123456789abcdef0123456789abcdef
slot=$(sed -n 's/^VC_SLOT=//p' "$VC_DIR/env")

# lun SUBCMD [ARGS...]: the tool in n1; stdout to $IT_TMP/out, stderr to $IT_TMP/err
lun() {
	local sub=$1
	shift
	vc exec n1 "$LUN_TOOL" csv "$sub" "$URL" --initiator "$INIT" --timeout 3 "$@" \
		>"$IT_TMP/out" 2>"$IT_TMP/err"
}
out_has() { grep -qF -- "$1" "$IT_TMP/out"; }
err_has() { grep -qF -- "$1" "$IT_TMP/err"; }
# expect NAME WANT_RC [ERR_TEXT] -- SUBCMD ARGS...
expect() {
	local name=$1 want=$2 text=$3 rc
	shift 4
	lun "$@"
	rc=$?
	if [[ $rc != "$want" ]]; then
		it_fail "$name" "exit $rc, wanted $want: $(head -c 300 "$IT_TMP/err") $(head -c 300 "$IT_TMP/out")"
	elif [[ -n $text ]] && ! grep -qF -- "$text" "$IT_TMP/err" "$IT_TMP/out"; then
		it_fail "$name" "no '$text' in: $(head -c 300 "$IT_TMP/err") $(head -c 300 "$IT_TMP/out")"
	else
		it_pass "$name"
	fi
}
sum() { md5sum <"$FILE" | cut -d' ' -f1; }
# dump_fails NAME TEXT: dump says exactly TEXT, exits 1 and writes nothing
dump_fails() {
	local before after
	before=$(sum)
	expect "$1" 1 "$2" -- dump
	after=$(sum)
	[[ $before == "$after" ]] && it_pass "$1-nothing-written" || it_fail "$1-nothing-written" "the LUN file changed"
}

# 1. probe, format, probe
dd if=/dev/zero of="$FILE" bs=1M count=1 conv=notrunc status=none
expect csvio-probe-empty 0 empty -- probe
expect csvio-format 0 "formatted CSV 'c1'" -- format --name c1 --uuid "$UUID"
expect csvio-probe-ours 0 "name c1" -- probe
out_has ours || it_fail csvio-probe-ours-word "probe did not say ours"

# 2. format refusals and --force
expect csvio-format-again-refused 1 "already holds the CSV 'c1'" -- format --name c2 --uuid "$UUID"
expect csvio-format-force 0 "formatted CSV 'c2'" -- format --name c2 --uuid "$UUID" --force
expect csvio-format-force-back 0 "formatted CSV 'c1'" -- format --name c1 --uuid "$UUID" --force

# 3. volumes: create, hole, reuse, refusals that write nothing
expect csvio-create-web1 0 "volume 'web1' created" -- apply --op create --vol web1 --size 10M
expect csvio-create-db1 0 "volume 'db1' created" -- apply --op create --vol db1 --size 20M
expect csvio-delete-web1 0 "volume 'web1' deleted" -- apply --op delete --vol web1
expect csvio-create-iso 0 "volume 'iso' created: offset 1048576" -- apply --op create --vol iso --size 5M
expect csvio-grow-iso 0 "volume 'iso' resized" -- apply --op resize --vol iso --size 8M
before=$(sum)
expect csvio-dup-refused 1 "volume 'db1' already exists" -- apply --op create --vol db1 --size 1M
expect csvio-big-refused 1 "largest free extent" -- apply --op create --vol big --size 1G
expect csvio-grow-refused 1 "can grow in place to at most" -- apply --op resize --vol iso --size 11M
expect csvio-delete-missing 1 "does not exist" -- apply --op delete --vol nothere
[[ $(sum) == "$before" ]] && it_pass csvio-refusals-write-nothing || it_fail csvio-refusals-write-nothing "the LUN file changed"

# 4. dump: consistent, no overlap, inside the data area (read from the LUN)
if lun dump --json && jq -e '
	.consistent and .table.count == 2 and .table.generation == 5 and
	(.table.volumes | map(.name) == ["iso", "db1"]) and
	([.table.volumes[] | .offset >= $h.data_offset and .offset + .size <= $h.data_end] | all) and
	([range(1; .table.volumes | length) as $i | .table.volumes[$i - 1] as $a | .table.volumes[$i] as $b |
	  $a.offset + $a.size <= $b.offset] | all)' \
	--argjson h "$(jq .header "$IT_TMP/out")" "$IT_TMP/out" >/dev/null; then
	it_pass csvio-dump-consistent
else
	it_fail csvio-dump-consistent "$(head -c 600 "$IT_TMP/out")"
fi

# 5. the check and its sentences
expect csvio-check-ok 0 "CSV 'c1' of this cluster" -- check --uuid "$UUID" --name c1
expect csvio-check-wrong-uuid 1 "the header is not a CSV of this cluster (uuid $UUID)" -- check --uuid feedbeef
expect csvio-check-wrong-name 1 "holds the CSV 'c1', not 'c9'" -- check --uuid "$UUID" --name c9
URL_SAVE=$URL
URL="iscsi://198.19.$slot.253:3260/iqn.2026-11.test.none:x/1"
expect csvio-check-unreachable 1 "iscsi://198.19.$slot.253:3260/iqn.2026-11.test.none:x/1: no TCP connection within" -- check --uuid "$UUID"
URL=$URL_SAVE

# 6. damage: dump names it, exits 1, writes nothing
# copy A holds generation 4, B generation 5 (in use)
expect csvio-corrupt-table-a 0 "damaged table copy A" -- corrupt --what table-a
dump_fails csvio-dump-table-a "copy A: the table header fails its checksum"
out_has "using copy B (generation 5" || it_fail csvio-dump-table-a-uses-b "$(cat "$IT_TMP/out")"
expect csvio-check-spare-damaged 0 "" -- check --uuid "$UUID"
expect csvio-corrupt-entry 0 "entry 0 ('iso') of table copy B" -- corrupt --what entry
dump_fails csvio-dump-entry "no usable volume table: copy A: the table header fails its checksum; copy B: entry 0 fails its checksum"
expect csvio-check-no-table 1 "no usable volume table" -- check --uuid "$UUID"
expect csvio-corrupt-header 0 "damaged the CSV header" -- corrupt --what header
dump_fails csvio-dump-header "the CSV header fails its checksum"
expect csvio-check-bad-header 1 "the CSV header fails its checksum" -- check --uuid "$UUID"
expect csvio-format-damaged-refused 1 "does not recognise" -- format --name c1 --uuid "$UUID"

# 7. foreign data
dd if=/dev/urandom of="$FILE" bs=4096 count=1 conv=notrunc status=none
expect csvio-probe-foreign 0 foreign -- probe
expect csvio-format-foreign-refused 1 "does not recognise (not a CSV)" -- format --name c1 --uuid "$UUID"
expect csvio-format-foreign-force 0 "formatted CSV 'c1'" -- format --name c1 --uuid "$UUID" --force
expect csvio-dump-after-force 0 consistent -- dump
exit $(( IT_FAILS > 0 ))
