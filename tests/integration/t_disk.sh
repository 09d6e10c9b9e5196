#!/usr/bin/env bash
# t_disk.sh - the physical-disk reservation steps (`clusterd-lun disk`,
# resources/lun_disk.c) and QEMU's PR shim (resources/cm_iscsi_pr.so)
# against the harness's real tgt target: two nodes take the scratch LUN
# from each other, QEMU's own iSCSI session (qemu-io, the same block-iscsi
# module QEMU uses) writes only while its node owns the LUN, the fenced
# owner's writes are rejected by the target, and the refusals (owner not
# fenced, unknown holder, target without PR) say why.
# Needs: qemu-io with block-iscsi (qemu-utils, qemu-block-extra), jq.
# LUN_TOOL overrides the tool (default: the built csv/clusterd-lun).
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_CLUSTERD=none VC_LIBVIRT=0
# our own run dir: never the machine's default run
export VC_DIR=$IT_TMP/vc
if ! it_up 2; then
	it_fail disk-up "the harness did not start"
	exit 1
fi
TOOL=${LUN_TOOL:-$IT_TOP/csv/clusterd-lun}
SHIM=$IT_TOP/resources/cm_iscsi_pr.so
URL=$(vc san-url 2)
NOPR=$(vc san-url 3)
PORTAL=${URL#iscsi://}
IQN=${PORTAL#*/}
IQN=${IQN%/*}
PORTAL=${PORTAL%%/*}
I1=$(vc initiator n1)
I2=$(vc initiator n2)
K1=0xc1a0000000000001
K2=0xc1a0000000000002
K9=0xbad0000000000009
NAMES="$K1=n1,$K2=n2"
LOG=$IT_TMP/shim.log
: >"$LOG"

# disk NODE SUBCMD ARGS...: the tool in NODE; stdout+stderr in $IT_TMP/out, exit status returned
disk() {
	local n=$1
	shift
	vc exec "$n" "$TOOL" disk "$1" "$URL" "${@:2}" --timeout 3 >"$IT_TMP/out" 2>&1
}
out_has() { grep -q -- "$1" "$IT_TMP/out"; }
# qio NODE KEY|- : one 4 KiB write by QEMU's initiator, with the shim unless KEY is -
qio() {
	local n=$1 key=$2 ini
	ini=$(vc initiator "$n")
	local opts="driver=iscsi,transport=tcp,portal=$PORTAL,target=$IQN,lun=2,initiator-name=$ini"
	if [[ $key == - ]]; then
		vc exec "$n" timeout 20 qemu-io --image-opts "$opts" -c 'write -P 0x5a 2M 4k' >"$IT_TMP/qio" 2>&1
	else
		vc exec "$n" env LD_PRELOAD="$SHIM" CM_PR_KEY="$key" CM_PR_TARGETS="$IQN/2" CM_PR_LOG="$LOG" \
			timeout 20 qemu-io --image-opts "$opts" -c 'write -P 0x5a 2M 4k' >"$IT_TMP/qio" 2>&1
	fi
}
holder() { vc exec n1 "$TOOL" disk status "$URL" --initiator "$I1" --json | jq -r '.holder // "none"'; }
nregs() { vc exec n1 "$TOOL" disk status "$URL" --initiator "$I1" --json | jq -r '.registrations'; }

if ! command -v qemu-io >/dev/null; then
	it_fail disk-qemu-io "qemu-io is not installed (qemu-utils, qemu-block-extra)"
	exit 1
fi

# 1. n1 takes the free LUN
t0=$(it_now_ms)
disk n1 online --initiator "$I1" --key $K1 --known $K1,$K2 --names "$NAMES"
rc=$?
ms_online=$(( $(it_now_ms) - t0 ))
if [[ $rc == 0 ]] && out_has "reserved"; then it_pass disk-online-free; else it_fail disk-online-free "rc $rc: $(cat "$IT_TMP/out")"; fi
[[ $(holder) == "$K1" ]] && it_pass disk-status-k1 || it_fail disk-status-k1 "holder is $(holder), want $K1"

# 2. QEMU's own session: refused without the shim, writes with it
if ! qio n1 -; then it_pass disk-qemu-needs-shim; else it_fail disk-qemu-needs-shim "an unregistered QEMU session could write"; fi
if qio n1 $K1 && grep -q "took over our reservation" "$LOG"; then
	it_pass disk-qemu-shim-n1-writes
else
	it_fail disk-qemu-shim-n1-writes "$(tail -2 "$IT_TMP/qio"); shim: $(tail -2 "$LOG")"
fi
[[ $(holder) == "$K1" ]] && it_pass disk-still-k1 || it_fail disk-still-k1 "holder is $(holder) after QEMU's takeover"

t0=$(it_now_ms)
disk n1 check --initiator "$I1" --key $K1
rc=$?
ms_check=$(( $(it_now_ms) - t0 ))
[[ $rc == 0 ]] && it_pass disk-check-n1-ok || it_fail disk-check-n1-ok "rc $rc: $(cat "$IT_TMP/out")"

# 3. n2 may not take it while n1 is neither fenced nor released
disk n2 online --initiator "$I2" --key $K2 --known $K1,$K2 --names "$NAMES"
rc=$?
if [[ $rc == 1 ]] && out_has "reserved by n1" && out_has "neither fenced nor released"; then
	it_pass disk-refused-not-fenced
else
	it_fail disk-refused-not-fenced "rc $rc: $(cat "$IT_TMP/out")"
fi
[[ $(holder) == "$K1" ]] && it_pass disk-refusal-left-k1 || it_fail disk-refusal-left-k1 "holder is $(holder)"

# 4. n1 fenced: n2 preempts K1
t0=$(it_now_ms)
disk n2 online --initiator "$I2" --key $K2 --known $K1,$K2 --preempt $K1 --names "$NAMES"
rc=$?
ms_takeover=$(( $(it_now_ms) - t0 ))
if [[ $rc == 0 ]] && out_has "took over from n1"; then it_pass disk-takeover; else it_fail disk-takeover "rc $rc: $(cat "$IT_TMP/out")"; fi
[[ $(holder) == "$K2" ]] && it_pass disk-status-k2 || it_fail disk-status-k2 "holder is $(holder), want $K2"

# 5. the old owner's writes are rejected by the target
if ! qio n1 $K1 && grep -q "not ours" "$LOG"; then
	it_pass disk-qemu-n1-rejected
else
	it_fail disk-qemu-n1-rejected "n1's QEMU could still write: $(tail -2 "$IT_TMP/qio")"
fi
disk n1 write-test 3M --initiator "$I1" --key $K1
rc=$?
[[ $rc == 3 ]] && it_pass disk-write-test-n1-conflict || it_fail disk-write-test-n1-conflict "rc $rc (want 3): $(cat "$IT_TMP/out")"
if qio n2 $K2; then it_pass disk-qemu-n2-writes; else it_fail disk-qemu-n2-writes "$(tail -2 "$IT_TMP/qio"); shim: $(tail -2 "$LOG")"; fi

disk n1 check --initiator "$I1" --key $K1 --names "$NAMES"
rc=$?
if [[ $rc == 1 ]] && out_has "reservation lost: held by n2"; then it_pass disk-check-n1-lost; else it_fail disk-check-n1-lost "rc $rc: $(cat "$IT_TMP/out")"; fi
disk n2 check --initiator "$I2" --key $K2
rc=$?
[[ $rc == 0 ]] && it_pass disk-check-n2-ok || it_fail disk-check-n2-ok "rc $rc: $(cat "$IT_TMP/out")"

# 6. release
disk n2 offline --initiator "$I2" --key $K2
rc=$?
if [[ $rc == 0 ]] && out_has "released" && [[ $(holder) == none && $(nregs) == 0 ]]; then
	it_pass disk-offline-released
else
	it_fail disk-offline-released "rc $rc: $(cat "$IT_TMP/out"); holder $(holder), $(nregs) registrations"
fi
disk n2 check --initiator "$I2" --key $K2
rc=$?
if [[ $rc == 1 ]] && out_has "no reservation" && [[ $(nregs) == 0 ]]; then
	it_pass disk-check-no-side-effects
else
	it_fail disk-check-no-side-effects "rc $rc: $(cat "$IT_TMP/out"); $(nregs) registrations"
fi
disk n2 check --initiator "$I2" --key $K2 --defend
rc=$?
[[ $rc == 0 && $(holder) == "$K2" ]] && it_pass disk-check-defend || it_fail disk-check-defend "rc $rc: $(cat "$IT_TMP/out")"
disk n2 offline --initiator "$I2" --key $K2
disk n1 offline --initiator "$I1" --key $K1
rc=$?
[[ $rc == 0 ]] && out_has "nothing to give up" && it_pass disk-offline-not-ours || it_fail disk-offline-not-ours "rc $rc: $(cat "$IT_TMP/out")"

# 7. a holder that is no node of ours
disk n2 online --initiator "$I2" --key $K9 >/dev/null
disk n1 online --initiator "$I1" --key $K1 --known $K1,$K2 --preempt $K2 --names "$NAMES"
rc=$?
if [[ $rc == 1 ]] && out_has "not a node of this cluster" && [[ $(holder) == "$K9" ]]; then
	it_pass disk-refused-unknown-key
else
	it_fail disk-refused-unknown-key "rc $rc: $(cat "$IT_TMP/out")"
fi
disk n2 offline --initiator "$I2" --key $K9

# 8. a target without persistent reservations; usage errors
vc exec n1 "$TOOL" disk online "$NOPR" --initiator "$I1" --key $K1 --timeout 3 >"$IT_TMP/out" 2>&1
rc=$?
if [[ $rc == 1 ]] && out_has "does not support SCSI-3 persistent reservations"; then it_pass disk-nopr; else it_fail disk-nopr "rc $rc: $(cat "$IT_TMP/out")"; fi
disk n1 online --initiator "$I1"
rc=$?
[[ $rc == 2 ]] && out_has "key 0xK" && it_pass disk-usage || it_fail disk-usage "rc $rc: $(cat "$IT_TMP/out")"

# 9. offline of an unreachable LUN fails (the resource then fails offline)
vc san-cut n1 >/dev/null
vc exec n1 "$TOOL" disk offline "$URL" --initiator "$I1" --key $K1 --timeout 1 >"$IT_TMP/out" 2>&1
rc=$?
vc san-heal n1 >/dev/null
if [[ $rc == 1 ]] && out_has "fails offline"; then it_pass disk-offline-unreachable; else it_fail disk-offline-unreachable "rc $rc: $(cat "$IT_TMP/out")"; fi

it_info "disk online ${ms_online} ms, takeover ${ms_takeover} ms, check ${ms_check} ms (tool process incl. login, via vcluster exec)"
exit $(( IT_FAILS > 0 ))
