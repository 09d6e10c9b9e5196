#!/usr/bin/env bash
# t_cluster.sh - clusterd on a real 3-node harness cluster (corosync token
# 500 ms, token_coefficient 0): membership, failure detection, replication,
# catch-up, full restart, IPC hardening and authorisation.
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_TOKEN=500 VC_TOKEN_COEFF=0

if ! it_up 3; then
	it_fail cluster-up "the 3-node cluster did not start (see $IT_TMP/up.err)"
	exit 1
fi
it_pass cluster-up

# -- membership: every node lists 3 Up nodes
for n in n1 n2 n3; do
	it_check "membership-$n-sees-3-up" "$(up_count $n) Up" [ "$(up_count $n)" = 3 ]
done
it_check status-token "token shown as $(cj n1 status | jq .cluster.token_ms)" \
	[ "$(cj n1 status | jq .cluster.token_ms)" = 500 ]
it_check status-quorate "not quorate" [ "$(cj n2 status | jq .quorum.quorate)" = true ]

# -- 200 concurrent writes spread over all nodes: identical replicas
writer() { # writer NODE FROM TO
	local i
	for ((i = $2; i < $3; i++)); do
		ca "$1" property set "user.k$i" "v$i" >/dev/null || echo "write $i on $1 failed" >>"$IT_TMP/writes.err"
	done
}
t0=$(it_now_ms)
writer n1 0 67 & p1=$!
writer n2 67 134 & p2=$!
writer n3 134 200 & p3=$!
wait $p1 $p2 $p3
t1=$(it_now_ms)
it_info "200 writes from 3 nodes (3 concurrent cluadmin loops) took $((t1 - t0)) ms"
it_check writes-all-acknowledged "$(cat "$IT_TMP/writes.err" 2>/dev/null | head -3)" [ ! -s "$IT_TMP/writes.err" ]
it_check writes-identical-replicas "content hashes differ" same_hash n1 n2 n3
cnt=$(cj n3 property list | jq '[.properties[] | select(.name | startswith("user.k"))] | length')
it_check writes-all-present "$cnt of 200 on n3" [ "$cnt" = 200 ]

# -- kill -9 one node: the others show it Down; measure kill -> Down
kill_ms=$(it_now_ms)
vc kill n3
n3_down_everywhere() { [ "$(state_of n1 n3)" = Down ] && [ "$(state_of n2 n3)" = Down ]; }
if it_wait 15 n3_down_everywhere; then
	seen=$(cj n1 node list | jq '.nodes[] | select(.name == "n3") | .since_ms')
	it_pass kill-shows-down
	it_info "failure detection (kill -9 -> Down on n1, token 500): $((seen - kill_ms)) ms"
else
	it_fail kill-shows-down "n1 sees n3 as $(state_of n1 n3), n2 as $(state_of n2 n3)"
fi
it_check kill-still-quorate "2 of 3 lost quorum" [ "$(cj n1 status | jq .quorum.quorate)" = true ]
left_event() { cj n2 log --limit 20 | jq -e '.events[] | select(.text == "node '\''n3'\'' left the cluster")' >/dev/null; }
it_check kill-event-logged "no 'left' event" it_wait 5 left_event

# -- writes while n3 is down, then it returns and catches up
for i in $(seq 1 10); do ca n1 property set "user.down$i" "x$i" >/dev/null; done
ca n2 property set --node n3 description "written while n3 was down" >/dev/null
vc start n3 >/dev/null 2>&1
three_up() { [ "$(up_count "$1")" = 3 ]; }
if it_wait 30 three_up n3; then it_pass restart-rejoins; else it_fail restart-rejoins "n3 did not come back"; fi
it_check restart-catches-up "replicas differ after rejoin" it_wait 10 same_hash n1 n2 n3
it_check restart-has-missed-write "value on n3: $(cj n3 property get --node n3 description | jq -r .value)" \
	[ "$(cj n3 property get --node n3 description | jq -r .value)" = "written while n3 was down" ]

# -- pause/resume is replicated
ca n1 node pause n2 >/dev/null
it_check pause-replicated "n3 sees n2 as $(state_of n3 n2)" [ "$(state_of n3 n2)" = Paused ]
ca n3 node resume n2 >/dev/null
it_check resume-replicated "n1 sees n2 as $(state_of n1 n2)" [ "$(state_of n1 n2)" = Up ]

# -- whole-cluster stop and start keeps everything
before=$(cj n1 property list | jq -c '[.properties[] | select(.name | startswith("user."))]')
vc stop all >/dev/null 2>&1
vc start all >/dev/null 2>&1
if it_wait 40 three_up n1; then it_pass full-restart-up; else it_fail full-restart-up "cluster did not re-form"; fi
after=$(cj n2 property list | jq -c '[.properties[] | select(.name | startswith("user."))]')
it_check full-restart-keeps-data "properties differ after restart" [ "$before" = "$after" ]
it_check full-restart-identical "replicas differ" it_wait 10 same_hash n1 n2 n3

# -- bad input over IPC: clear errors, the daemon keeps serving
vc exec n2 "$IT_TOP/tests/integration/ipc_probe" || true
err=$(ca n1 node show n9 2>&1 >/dev/null); rc=$?
it_check cli-error-sentence "got rc $rc: $err" [ "$err" = "cluadmin: node 'n9' is not a member of cluster 'demo'" ]
ca n1 frobnicate >/dev/null 2>&1; rc=$?
it_check cli-unknown-command "rc $rc" [ $rc = 2 ]

# -- authorisation: neither root nor haclient is refused; haclient is let in
err=$(vc exec n1 setpriv --reuid 65534 --regid 65534 --clear-groups "$IT_TOP/cli/cluadmin" status 2>&1); rc=$?
refused_ok() { [ "$rc" = 5 ] && grep -q 'permission denied' <<<"$err"; }
it_check auth-refused "rc $rc: $err" refused_ok
gid=$(getent group haclient | cut -d: -f3)
if [[ -n $gid ]]; then
	vc exec n1 setpriv --reuid 65534 --regid "$gid" --clear-groups "$IT_TOP/cli/cluadmin" node list >/dev/null 2>&1; rc=$?
	it_check auth-haclient-allowed "rc $rc" [ $rc = 0 ]
else
	it_fail auth-haclient-allowed "group haclient does not exist (tests/run-all creates it)"
fi
it_check still-serving-after-abuse "clusterd on n2 does not answer after the probe" cj n2 status

# -- the event log: --follow streams new events, --since filters by time
vc exec n1 timeout 4 "$IT_TOP/cli/cluadmin" --json log --follow --limit 1 >"$IT_TMP/follow" 2>&1 &
fpid=$!
sleep 1
ca n2 property set description "followed" >/dev/null
wait $fpid
it_check log-follow "no event for the write in: $(tail -c 300 "$IT_TMP/follow")" \
	grep -q "property 'description' of cluster set to 'followed' by root" "$IT_TMP/follow"
recent=$(cj n3 log --since 1h | jq '.events | length')
future=$(cj n3 log --since "$(date -d '+1 day' '+%Y-%m-%d')" | jq '.events | length')
it_check log-since "since 1h: $recent events, since tomorrow: $future" [ "$recent" -gt 0 -a "$future" = 0 ]

# -- blackbox on request
bb=$(cj n1 blackbox | jq -r .path)
it_check blackbox-dump "no file '$bb'" vc exec n1 test -s "$bb"

# -- clean teardown
prefix=$(basename "$VC_DIR")
it_down
left=$(ip netns list | grep -c "^$prefix-" || true)
it_check teardown-clean "$left namespaces left" [ "$left" = 0 ]
exit $(( IT_FAILS > 0 ))
