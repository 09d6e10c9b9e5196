#!/usr/bin/env bash
# t_wit_scsi.sh - the witness's SCSI layer (witness/wit_scsi.c) against the
# harness's real tgt target: two sessions play two nodes on the scratch LUN
# (register, reserve, conflicts, preempt, unit attentions, reconnect and
# recovery, unreachable portal, bad URLs). Each check of wit_scsi_try
# becomes a PASS/FAIL line.
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_CLUSTERD=none
if ! it_up 1; then
	it_fail wit-scsi-up "the harness did not start"
	exit 1
fi
slot=$(sed -n 's/^VC_SLOT=//p' "$VC_DIR/env")
vc exec n1 "$IT_TOP/tests/integration/wit_scsi_try" -t 2 -n 50 \
	--unreach "iscsi://198.19.$slot.253:3260/iqn.2026-11.test.none:x/1" \
	"$(vc san-url 2)" >"$IT_TMP/try.out" 2>&1
rc=$?
sed -n 's/^ok  */PASS wit-scsi: /p; s/^FAIL */FAIL wit-scsi: /p' "$IT_TMP/try.out"
grep -q '^FAIL' "$IT_TMP/try.out" && IT_FAILS=1
[ $rc = 0 ] || { [ "$IT_FAILS" = 0 ] && it_fail wit-scsi-exit "wit_scsi_try exited $rc: $(tail -3 "$IT_TMP/try.out")"; }
exit $(( IT_FAILS > 0 ))
