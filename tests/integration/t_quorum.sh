#!/usr/bin/env bash
# t_quorum.sh - quorum on real clusters with a real iSCSI witness (tgtd in
# the harness's SAN namespace): node majority, node-and-disk majority,
# holder loss, 20 network cuts, a paused holder, amnesia.
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_TOKEN=500 VC_TOKEN_COEFF=0
CUTS=${IT_CUTS:-20}

quorate() { [ "$(cj "$1" quorum show | jq -r .quorum.quorate)" = true ]; }
not_quorate() { [ "$(cj "$1" quorum show | jq -r .quorum.quorate)" = false ]; }
holder() { cj "$1" quorum show | jq -r '.quorum.witness.holder_name // ""'; }
members() { vc members "$1" 2>/dev/null; }
both_quorate() { quorate n1 && quorate n2; }
has_holder() { [ -n "$(holder "$1")" ]; }
# exactly one of n1, n2 quorate (read from each side)
exactly_one() {
	local a b
	a=$(cj n1 quorum show | jq -r .quorum.quorate)
	b=$(cj n2 quorum show | jq -r .quorum.quorate)
	[ "$a" != "$b" ]
}

# ---------------------------------------------------------------- node majority, 3 nodes
if it_up 3; then
	it_pass nm3-up
	vc kill n3
	it_wait 10 bash -c '[ "$('"$VCLUSTER"' members n1)" = 2 ]'
	it_check nm3-lose-one-quorate "n1 not quorate with 2 of 3" it_wait 5 quorate n1
	vc kill n2
	it_check nm3-lose-two-not-quorate "n1 still quorate alone" it_wait 10 not_quorate n1
	# the verdict changes within 1 s of the membership change that causes it
	down_ms=$(cj n1 node list | jq '.nodes[] | select(.name == "n2") | .since_ms')
	lost_ms=$(cj n1 quorum show | jq .quorum.lost_ms)
	it_check nm3-quorum-loss-within-1s "verdict $((lost_ms - down_ms)) ms after n2 went down" \
		[ $((lost_ms - down_ms)) -ge 0 -a $((lost_ms - down_ms)) -lt 1000 ]
	it_info "quorum lost $((lost_ms - down_ms)) ms after the membership change"
	err=$(ca n1 property set description x 2>&1); rc=$?
	it_check nm3-alone-refuses-writes "rc $rc: $err" bash -c "[ $rc = 4 ] && grep -q 'no quorum' <<<\"\$1\"" _ "$err"
	it_down
else
	it_fail nm3-up "cluster did not start"
fi

# ---------------------------------------------------------------- 4 nodes + witness, split 2|2
side_quorate() { # side_quorate A B: both nodes of one side quorate
	quorate "$1" && quorate "$2"
}
exactly_one_side() {
	local a b
	a=$(side_quorate n1 n2 && echo 1 || echo 0)
	b=$(side_quorate n3 n4 && echo 1 || echo 0)
	# one side fully quorate, and no node of the other side quorate
	[ $((a + b)) = 1 ] || return 1
	if [ "$a" = 1 ]; then ! quorate n3 && ! quorate n4; else ! quorate n1 && ! quorate n2; fi
}
if it_up 4; then
	URL4=$(vc san-url 1)
	ca n1 witness init "$URL4" >/dev/null 2>&1
	if ca n1 quorum set --mode node-and-disk-majority --witness "$URL4" >/dev/null 2>&1 &&
	   it_wait 20 bash -c '[ "$('"$VCLUSTER"' exec n4 '"$IT_TOP"'/cli/cluadmin --json quorum show | jq -r .quorum.quorate)" = true ]'; then
		it_pass w4-witness-mode
		vc split n3,n4
		if it_wait 20 bash -c '[ "$('"$VCLUSTER"' members n1)" = 2 ] && [ "$('"$VCLUSTER"' members n3)" = 2 ]' &&
		   it_wait 20 exactly_one_side; then
			it_pass w4-split-2-2-exactly-one-side
			it_info "2|2 split: side n1,n2 quorate=$(quorate n1 && echo yes || echo no), side n3,n4 quorate=$(quorate n3 && echo yes || echo no), witness held by $(holder n1)"
		else
			it_fail w4-split-2-2-exactly-one-side "n1:$(cj n1 quorum show | jq -c '[.quorum.quorate,.quorum.votes]') n3:$(cj n3 quorum show | jq -c '[.quorum.quorate,.quorum.votes]')"
		fi
		vc unsplit
	else
		it_fail w4-witness-mode "4-node cluster did not reach quorum with the witness"
	fi
	it_down
else
	it_fail w4-up "cluster did not start"
fi

# ---------------------------------------------------------------- 2 nodes + witness
if ! it_up 2; then
	it_fail w2-up "cluster did not start"
	exit 1
fi
URL=$(vc san-url 1)
out=$(cj n1 witness init "$URL" 2>&1); rc=$?
it_check w2-witness-init "rc $rc: $out" [ $rc = 0 ]
out=$(ca n1 witness init "iscsi://198.19.0.0/bad" 2>&1); rc=$?
it_check w2-witness-init-bad-url "rc $rc: $out" bash -c "[ $rc != 0 ] && grep -qi 'url\|iscsi://' <<<\"\$1\"" _ "$out"
slot=$(sed -n 's/^VC_SLOT=//p' "$VC_DIR/env")
out=$(ca n1 witness init "iscsi://198.19.$slot.253:3260/iqn.2026-11.test.none:x/1" 2>&1); rc=$?
it_check w2-witness-init-unreachable "rc $rc: $out" bash -c "[ $rc != 0 ] && grep -qi 'unreachable\|no route\|timed out\|connect' <<<\"\$1\"" _ "$out"
out=$(ca n1 witness init "$(vc san-url 3)" 2>&1); rc=$?
it_check w2-witness-init-no-pr "rc $rc: $out" bash -c "[ $rc != 0 ] && grep -q 'does not support SCSI-3 persistent reservations' <<<\"\$1\"" _ "$out"
out=$(ca n1 witness init "$(vc san-url 4)" 2>&1); rc=$?
it_check w2-witness-init-too-small "rc $rc: $out" bash -c "[ $rc != 0 ] && grep -q 'at least 16 MiB' <<<\"\$1\"" _ "$out"
SCRATCH=$(vc san-url 2)
if vc exec n1 qemu-io -f raw -c "write -P 0x41 0 4096" "$SCRATCH" >/dev/null 2>&1; then
	out=$(ca n1 witness init "$SCRATCH" 2>&1); rc=$?
	it_check w2-witness-init-foreign "rc $rc: $out" bash -c "[ $rc != 0 ] && grep -q 'does not recognise' <<<\"\$1\"" _ "$out"
	out=$(ca n1 witness init "$SCRATCH" --force 2>&1); rc=$?
	it_check w2-witness-init-force "rc $rc: $out" [ $rc = 0 ]
else
	it_fail w2-witness-init-foreign "qemu-io could not write the scratch LUN"
fi
out=$(ca n1 quorum set --mode node-and-disk-majority 2>&1); rc=$?
it_check w2-mode-needs-witness "rc $rc: $out" bash -c "[ $rc != 0 ] && grep -q 'needs a witness' <<<\"\$1\"" _ "$out"
out=$(ca n1 quorum set --mode node-and-disk-majority --witness "$URL" 2>&1); rc=$?
it_check w2-mode-set "rc $rc: $out" [ $rc = 0 ]
it_check w2-holder "no holder" it_wait 20 has_holder n1
it_check w2-both-quorate "not both quorate" it_wait 10 both_quorate
it_info "witness held by $(holder n1)"

# -- kill either node: the survivor keeps quorum. First the node without the
# witness (the holder must stay quorate throughout), then the holder (the
# other takes the witness over: time measured).
for round in keep takeover; do
	h=$(holder n1)
	if [ $round = keep ]; then victim=$([ "$h" = n1 ] && echo n2 || echo n1); else victim=$h; fi
	survivor=$([ "$victim" = n1 ] && echo n2 || echo n1)
	seen0=$(ca "$survivor" log --limit 1000 2>/dev/null | grep -c "node '$victim' left the view")
	t0=$(it_now_ms)
	vc kill "$victim"
	lost=0
	if [ $round = keep ]; then
		# sample the holder's quorum through the loss of its peer
		for _ in $(seq 1 30); do quorate "$survivor" || lost=$((lost + 1)); sleep 0.1; done
	fi
	if [ $lost = 0 ] && it_wait 30 bash -c "[ \"\$($VCLUSTER members $survivor)\" = 1 ]" &&
	   it_wait 20 quorate "$survivor" && [ "$(holder "$survivor")" = "$survivor" ]; then
		it_pass "w2-kill-$round-survivor-quorate"
		[ $round = takeover ] && it_info "holder loss: $survivor took the witness and quorum $(( $(it_now_ms) - t0 )) ms after kill -9 of $victim"
		if [ $round = takeover ]; then
			# quorum came after the view (it waited for the witness): the
			# policy runs at once, not at the next 30 s timer tick
			tq=$(it_now_ms)
			if it_wait 5 bash -c "[ \$($IT_TOP/tests/harness/vcluster exec $survivor $IT_TOP/cli/cluadmin log --limit 1000 | grep -c \"node '$victim' left the view\") -gt $seen0 ]"; then
				it_pass w2-policy-runs-on-quorum
				it_info "policy step $(( $(it_now_ms) - tq )) ms after quorum returned"
			else
				it_fail w2-policy-runs-on-quorum "no policy step on $survivor within 5 s of quorum (the next timer tick is up to 30 s away)"
			fi
		fi
	else
		it_fail "w2-kill-$round-survivor-quorate" "$survivor (lost quorum in $lost samples): $(cj "$survivor" quorum show | jq -c .quorum)"
	fi
	vc start "$victim" >/dev/null 2>&1
	it_wait 30 both_quorate || it_fail "w2-rejoin-$victim" "not both quorate after restart"
done

# -- cut the cluster network (SAN stays) $CUTS times: exactly one side quorate every time
ok=0
: >"$IT_TMP/decide"
for i in $(seq 1 "$CUTS"); do
	node=$([ $((i % 2)) = 0 ] && echo n1 || echo n2)
	t0=$(it_now_ms)
	vc cut $node
	if it_wait 20 bash -c "[ \"\$($VCLUSTER members n1)\" = 1 ] && [ \"\$($VCLUSTER members n2)\" = 1 ]" &&
	   it_wait 20 exactly_one; then
		echo $(( $(it_now_ms) - t0 )) >>"$IT_TMP/decide"
		# and it stays so: sample for a second
		stable=1
		for _ in 1 2 3 4 5; do exactly_one || stable=0; sleep 0.2; done
		[ $stable = 1 ] && ok=$((ok + 1))
	fi
	vc heal $node
	it_wait 30 both_quorate || { it_fail "w2-heal-$i" "not both quorate after heal"; break; }
done
it_check w2-cuts-exactly-one "$ok of $CUTS cuts had exactly one quorate side" [ $ok = "$CUTS" ]
if [ -s "$IT_TMP/decide" ]; then
	it_info "decision time after a cut (ms, $CUTS runs): p50 $(sort -n "$IT_TMP/decide" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') max $(sort -n "$IT_TMP/decide" | tail -n1)"
fi

# -- witness unreachable with both up: still quorate; then lose a node: no quorum
vc san-stop >/dev/null 2>&1
sleep 2
it_check w2-no-witness-both-up-quorate "lost quorum without the witness" both_quorate
vc kill n2
it_check w2-no-witness-one-node-not-quorate "n1 quorate alone without witness" it_wait 20 not_quorate n1
vc san-start >/dev/null 2>&1
vc start n2 >/dev/null 2>&1
it_check w2-witness-back "not both quorate after the SAN returned" it_wait 40 both_quorate

# -- a paused holder: never two quorate sides; it does not keep the vote after resuming
agreed_holder() { # the holder both nodes see, casting on both
	local a b
	a=$(holder n1)
	b=$(holder n2)
	[ -n "$a" ] && [ "$a" = "$b" ] && both_quorate && echo "$a"
}
it_wait 15 agreed_holder
h=$(agreed_holder)
# its own 100 ms tick has recorded the gain (what resources will follow)
gain_recorded() { cj "$h" quorum show | jq -e '.quorum.quorate and .quorum.since_ms > .quorum.lost_ms' >/dev/null; }
it_wait 5 gain_recorded
other=$([ "$h" = n1 ] && echo n2 || echo n1)
vc pause "$h"
took_over() { quorate "$other" && [ "$(holder "$other")" = "$other" ] && [ "$(members "$other")" = 1 ]; }
it_check pause-other-takes-over "$other did not take the witness and quorum" it_wait 30 took_over
resume_ms=$(it_now_ms)
vc resume "$h"
it_wait 5 not_quorate "$h"
# the first request after SIGCONT may run before the tick records the loss
lost_after_resume() { [ "$(cj "$h" quorum show | jq .quorum.lost_ms)" -ge "$resume_ms" ]; }
it_wait 5 lost_after_resume
lost_ms=$(cj "$h" quorum show | jq .quorum.lost_ms)
it_check pause-loss-within-1s "the resumed holder's verdict changed $((lost_ms - resume_ms)) ms after resume" \
	[ $((lost_ms - resume_ms)) -ge 0 -a $((lost_ms - resume_ms)) -lt 1000 ]
it_info "resumed holder distrusted its quorum $((lost_ms - resume_ms)) ms after SIGCONT"
both=0
for _ in $(seq 1 40); do
	if quorate "$h" && quorate "$other" && [ "$(members "$h")" = 1 ]; then both=$((both + 1)); fi
	sleep 0.1
done
it_check pause-no-double-quorum "both partitions quorate $both times after resume" [ $both = 0 ]
it_check pause-rejoins "not both quorate after the resumed node rejoined" it_wait 40 both_quorate

# -- amnesia: A down; writes on B; B down; A starts alone with the witness
vc kill n1
it_wait 20 bash -c "[ \"\$($VCLUSTER members n2)\" = 1 ]"
it_wait 30 quorate n2
ca n2 property set description "written while n1 was down" >/dev/null
sleep 2 # the witness copy is written within 1 s of a change
vc kill n2
vc start n1 >/dev/null 2>&1
if it_wait 40 quorate n1; then
	v=$(cj n1 property get description | jq -r .value)
	it_check amnesia-uses-witness-copy "n1 has '$v'" [ "$v" = "written while n1 was down" ]
else
	it_fail amnesia-uses-witness-copy "n1 never became quorate alone with the witness: $(cj n1 quorum show | jq -c .quorum)"
fi
exit $(( IT_FAILS > 0 ))
