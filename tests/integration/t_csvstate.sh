#!/usr/bin/env bash
# t_csvstate.sh - a VM's saved (quick-migration) state in a CSV volume
# through `clusterd-lun csv put-state|get-state|clear-state` (csv/lun_csv.c)
# against the harness's real tgt target, on the CSV LUN: a 100 MiB image
# goes in and comes back equal, a state saved for another name (another VM, an earlier volume) counts as none, a damaged
# data byte is "corrupt saved state" (exit 1, no FILE), a damaged or cleared
# header is "no saved state" (exit 4), and the placements that would write
# over the CSV's header, past the LUN or over another volume are refused.
# Each check is a PASS/FAIL line; put and get speeds are INFO lines.
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_CLUSTERD=none VC_LIBVIRT=0
# our own run dir: never the machine's default run
export VC_DIR=$IT_TMP/vc
if ! it_up 1; then
	it_fail csvstate-up "the harness did not start"
	exit 1
fi
LUN_TOOL=${LUN_TOOL:-$IT_TOP/csv/clusterd-lun}
URL=$(vc san-url 5)
INIT=$(vc initiator n1)
LUNFILE=$(. "$IT_TOP/tests/harness/vc_lib.sh" && vc_load && vc_san_file 5)
UUID=0123456789abcdef0123456789abcdef
MIB=$((1024 * 1024))
OFF=$((16 * MIB))
SIZE=$((160 * MIB))
IMG=$IT_TMP/img
OUT=$IT_TMP/restored
VOL=(--offset "$OFF" --size "$SIZE")

# lun SUBCMD [ARGS...]: the tool in n1; stdout to $IT_TMP/out, stderr to $IT_TMP/err
lun() {
	local sub=$1
	shift
	vc exec n1 "$LUN_TOOL" csv "$sub" "$URL" --initiator "$INIT" --timeout 5 "$@" \
		>"$IT_TMP/out" 2>"$IT_TMP/err"
}
# expect NAME WANT_RC [TEXT] -- SUBCMD ARGS...
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
# flip BYTE: xor one byte of the LUN's backing file with 0x5a (again: undone)
flip() {
	local b
	b=$(od -An -tu1 -j "$1" -N1 "$LUNFILE" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o' $((b ^ 0x5a)))" | dd of="$LUNFILE" bs=1 seek="$1" conv=notrunc status=none
}
rate() { sed -n 's/.*(\([0-9.]*\) MiB\/s).*/\1/p' "$IT_TMP/out"; }
no_file() { # no_file NAME: neither $OUT nor its temporary exists
	if [[ -e $OUT || -e $OUT.tmp ]]; then
		it_fail "$1" "$(ls -l "$OUT" "$OUT.tmp" 2>&1)"
	else
		it_pass "$1"
	fi
}
lunsum() { md5sum <"$LUNFILE" | cut -d' ' -f1; }

head -c $((100 * MIB)) /dev/urandom >"$IMG"
expect csvstate-format 0 "formatted CSV 's'" -- format --name s --uuid "$UUID"

# 1. put, get back equal
expect csvstate-put 0 "saved 100.0 MiB of state for 'vm1'" -- put-state "${VOL[@]}" --name vm1 "$IMG"
it_info "put-state 100 MiB: $(rate) MiB/s"
expect csvstate-get 0 "read 100.0 MiB of state for 'vm1'" -- get-state "${VOL[@]}" --name vm1 "$OUT"
it_info "get-state 100 MiB: $(rate) MiB/s"
if cmp -s "$IMG" "$OUT"; then it_pass csvstate-get-equal; else it_fail csvstate-get-equal "the image came back different"; fi
mode=$(stat -c %a "$OUT" 2>/dev/null)
[[ $mode == 600 && ! -e $OUT.tmp ]] && it_pass csvstate-get-mode || it_fail csvstate-get-mode "mode '$mode', or $OUT.tmp left"
# overwrite allowed
expect csvstate-get-overwrite 0 "read 100.0 MiB" -- get-state "${VOL[@]}" "$OUT"
rm -f "$OUT"

# 2. another VM's state
expect csvstate-get-wrong-name 4 "no saved state for 'vm2'" -- get-state "${VOL[@]}" --name vm2 "$OUT"
no_file csvstate-get-wrong-name-no-file
expect csvstate-clear-wrong-name 1 "refusing to clear" -- clear-state "${VOL[@]}" --name vm2

# 3. a damaged data byte (50 MiB into the image): corrupt, no FILE
DATA_BYTE=$((OFF + 4096 + 50 * MIB + 7))
flip $DATA_BYTE
expect csvstate-get-corrupt 1 "corrupt saved state for 'vm1'" -- get-state "${VOL[@]}" --name vm1 "$OUT"
no_file csvstate-get-corrupt-no-file
flip $DATA_BYTE

# 4. a damaged header is no state; so is a cleared one
flip $((OFF + 48))
expect csvstate-get-torn-header 4 "no saved state" -- get-state "${VOL[@]}" --name vm1 "$OUT"
no_file csvstate-get-torn-header-no-file
flip $((OFF + 48))
expect csvstate-get-again 0 "read 100.0 MiB" -- get-state "${VOL[@]}" --name vm1 "$OUT"
rm -f "$OUT"
expect csvstate-clear 0 "cleared the saved state of 'vm1'" -- clear-state "${VOL[@]}" --name vm1
expect csvstate-get-cleared 4 "no saved state" -- get-state "${VOL[@]}" --name vm1 "$OUT"
no_file csvstate-get-cleared-no-file

# 5. refusals that write nothing
before=$(lunsum)
expect csvstate-offset-0 1 "inside the CSV's first MiB" -- put-state --offset 0 --size "$SIZE" --name vm1 "$IMG"
expect csvstate-offset-512k 1 "inside the CSV's first MiB" -- put-state --offset 512K --size 16M --name vm1 "$IMG"
expect csvstate-clear-offset-0 1 "inside the CSV's first MiB" -- clear-state --offset 0 --size 16M
expect csvstate-too-big 1 "the volume takes 1 to 16773120" -- put-state --offset 200M --size 16M --name vm1 "$IMG"
expect csvstate-past-end 1 "the LUN ends at 512 MiB" -- put-state --offset 480M --size 160M --name vm1 "$IMG"
expect csvstate-misaligned 2 "multiples of 1 MiB" -- put-state --offset 16M --size 1000000 --name vm1 "$IMG"
[[ $(lunsum) == "$before" ]] && it_pass csvstate-refusals-write-nothing || it_fail csvstate-refusals-write-nothing "the LUN file changed"
expect csvstate-vol-create 0 "volume 'web1' created: offset 1048576" -- apply --op create --vol web1 --size 8M
expect csvstate-overlap 1 "overlaps volume 'web1'" -- put-state --offset 4M --size 16M --name vm1 "$IMG"
exit $(( IT_FAILS > 0 ))
