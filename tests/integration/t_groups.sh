#!/usr/bin/env bash
# t_groups.sh - resource groups on a real 3-node harness cluster (token
# 500 ms): dependency order, restart and failover thresholds, node loss with
# fencing before recovery, a paused owner, failback, anti-affinity,
# priorities and capacity, bad input. A watcher checks throughout that no
# resource process ever runs in two nodes at once.
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_TOKEN=500 VC_TOKEN_COEFF=0
FENCE=$IT_TOP/tests/harness/fence_vcluster
SLEEPER='exec sleep 100000'

if ! it_up 3; then
	it_fail groups-cluster-up "the 3-node cluster did not start (see $IT_TMP/up.err)"
	exit 1
fi
it_pass groups-cluster-up

# ---------------------------------------------------------------- helpers
# Nodes (by netns) where processes of resource $1 run, from the environment
# the executor gives them (CLUSTERD_RESOURCE). One line per node.
net_of_node() { readlink "/proc/$(vc pids "$1" | awk '$1 == "holder" {print $2}')/ns/net"; }
declare -A NET
for n in n1 n2 n3; do NET[$n]=$(net_of_node $n); done
# "pid resource" of every process started by an executor (one grep for all)
res_procs() {
	local f pid
	grep -a -l -z '^CLUSTERD_RESOURCE=' /proc/[0-9]*/environ 2>/dev/null | while read -r f; do
		pid=${f#/proc/}; pid=${pid%/environ}
		printf '%s %s\n' "$pid" "$(grep -a -z '^CLUSTERD_RESOURCE=' "$f" 2>/dev/null | tr -d '\0' | cut -d= -f2)"
	done
}
node_of_pid() {
	local net n
	net=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 0
	for n in n1 n2 n3; do [[ ${NET[$n]} == "$net" ]] && echo "$n"; done
}
runs_on() { # nodes where resource $1 has processes, one per line
	res_procs | awk -v r="$1" '$2 == r {print $1}' | while read -r pid; do node_of_pid "$pid"; done | sort -u
}
pid_of() { # pid_of RES: its process group leader
	local pid
	for pid in $(res_procs | awk -v r="$1" '$2 == r {print $1}'); do
		[[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]] && { echo "$pid"; return; }
	done
}
# The watcher: every 100 ms, the nodes each resource has processes on.
watcher() {
	local pid res net
	while :; do
		declare -A seen=() seenp=()
		while read -r pid res; do
			net=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || continue
			[[ -n $(node_of_pid "$pid") ]] || continue # not a node of this run
			if [[ -n ${seen[$res]:-} && ${seen[$res]} != "$net" ]]; then
				echo "$(date +%T.%3N) $res runs in two nodes: $(node_of_pid "$pid") and ${seenp[$res]} ($(node_of_pid "${seenp[$res]}"))" >>"$IT_TMP/double"
			fi
			seen[$res]=$net
			seenp[$res]=$pid
		done < <(res_procs)
		unset seen seenp
		sleep 0.1
	done
}
watcher & WATCHER=$!
trap 'kill $WATCHER 2>/dev/null; it_down; rm -rf "$IT_TMP"' EXIT

gj() { cj "${V:-n1}" group show "$1"; }
gstate() { gj "$1" | jq -r .state; }
gowner() { gj "$1" | jq -r .owner; }
rstate() { cj "${V:-n1}" resource show "$1" | jq -r .state; }
online_on() { [[ $(gstate "$1") == Online && $(gowner "$1") == "$2" ]]; }
# Time (ms) of the first event whose text contains $1, as seen from $V.
ev_time() { cj "${V:-n1}" log --limit 2000 | jq -r --arg t "$1" '[.events[] | select(.text | contains($t))][0].time_ms // empty'; }
ev_id() { cj "${V:-n1}" log --limit 2000 | jq -r --arg t "$1" '[.events[] | select(.text | contains($t))][0].id // empty'; }
mkgroup() { # mkgroup NAME [key=value...]: a group with one process resource NAME-p
	local g=$1; shift
	ca n1 group create "$g" >/dev/null && { (($# == 0)) || ca n1 group set "$g" "$@" >/dev/null; } &&
		ca n1 resource create "$g-p" --group "$g" --type process command="$SLEEPER" >/dev/null
}

for n in n1 n2 n3; do
	ca n1 property set --node $n fence_agent "$FENCE" >/dev/null
	ca n1 property set --node $n fence_args "vc_dir=$VC_DIR" >/dev/null
done

# ---------------------------------------------------------------- dependency order
ca n1 group create web >/dev/null
ca n1 group set web preferred_owners=n2,n3,n1 >/dev/null
ca n1 resource create web-db --group web --type process command="$SLEEPER" >/dev/null
ca n1 resource create web-app --group web --type process command="$SLEEPER" >/dev/null
ca n1 resource depend add web-app web-db >/dev/null
t0=$(it_now_ms)
ca n1 --timeout 30 group online web --wait >/dev/null
it_check web-online-on-first-preferred "web is $(gstate web) on $(gowner web)" online_on web n2
it_info "group online (2 dependent processes): $(( $(it_now_ms) - t0 )) ms"
db_up=$(ev_time "resource 'web-db': OnlinePending -> Online")
app_start=$(ev_time "resource 'web-app': Offline -> OnlinePending")
it_check dependency-order-online "db online at $db_up, app started at $app_start" \
	[ -n "$db_up" ] && [ -n "$app_start" ] && [ "$app_start" -ge "$db_up" ]
it_check web-processes-on-n2 "web-db runs on '$(runs_on web-db | tr '\n' ' ')'" [ "$(runs_on web-db)" = n2 ]

ca n1 --timeout 30 group offline web --wait >/dev/null
app_down=$(ev_time "resource 'web-app': OfflinePending -> Offline")
db_stop=$(ev_time "resource 'web-db': Online -> OfflinePending")
it_check dependency-order-offline "app offline at $app_down, db stopped at $db_stop" \
	[ -n "$app_down" ] && [ -n "$db_stop" ] && [ "$db_stop" -ge "$app_down" ]
it_check web-offline-no-process "web-db still runs on '$(runs_on web-db)'" [ -z "$(runs_on web-db)" ]
ca n1 --timeout 30 group online web --wait >/dev/null

# ---------------------------------------------------------------- restart, failover, Failed
mkgroup flaky preferred_owners=n1,n3,n2 failover_threshold=1
ca n1 resource set flaky-p restart_threshold=1 >/dev/null
ca n1 --timeout 30 group online flaky --wait >/dev/null
p1=$(pid_of flaky-p)
kill -9 "$p1" 2>/dev/null
restarted() { [[ $(rstate flaky-p) == Online && -n $(pid_of flaky-p) && $(pid_of flaky-p) != "$p1" ]]; }
it_check restart-same-node "flaky-p: $(rstate flaky-p) on $(gowner flaky)" \
	it_wait 10 eval 'restarted && [ "$(gowner flaky)" = n1 ] && [ "$(runs_on flaky-p)" = n1 ]'
p2=$(pid_of flaky-p)
kill -9 "$p2" 2>/dev/null
it_check beyond-restart-threshold-fails-over "flaky is $(gstate flaky) on $(gowner flaky)" \
	it_wait 15 online_on flaky n3
it_check failover-process-moved "flaky-p runs on '$(runs_on flaky-p | tr '\n' ' ')'" [ "$(runs_on flaky-p)" = n3 ]
kill -9 "$(pid_of flaky-p)" 2>/dev/null
failed_with_reason() { [[ $(gstate flaky) == Failed ]] && gj flaky | jq -e '.reason | test("threshold")' >/dev/null; }
it_check beyond-failover-threshold-failed "flaky is $(gstate flaky): $(gj flaky | jq -r .reason)" it_wait 15 failed_with_reason
it_info "flaky's reason: $(gj flaky | jq -r .reason)"
it_check failed-group-runs-nowhere "flaky-p runs on '$(runs_on flaky-p)'" it_wait 10 eval '[ -z "$(runs_on flaky-p)" ]'
ca n1 --timeout 20 group offline flaky --wait >/dev/null

# ---------------------------------------------------------------- a move is a command
# failback=immediate brings a group back to a preferred owner that returns;
# it never undoes the administrator's move.
mkgroup fb preferred_owners=n2,n1 failback=immediate
ca n1 --timeout 30 group online fb --wait >/dev/null
ca n1 --timeout 30 group move fb --node n1 --wait >/dev/null
sleep 2
it_check failback-keeps-admin-move "fb is $(gstate fb) on $(gowner fb)" online_on fb n1
ca n1 --timeout 20 group offline fb --wait >/dev/null

# ---------------------------------------------------------------- anti-affinity (enforced)
ca n1 property set enforced_anti_affinity true >/dev/null
for g in aa1 aa2 aa3 aa4; do mkgroup $g anti_affinity_class=db; done
for g in aa1 aa2 aa3 aa4; do ca n1 group online $g >/dev/null; done
aa_settled() { [[ $(cj n1 group list | jq '[.groups[] | select((.name | startswith("aa")) and .state == "Online")] | length') == 3 ]]; }
it_wait 20 aa_settled
owners=$(cj n1 group list | jq -r '[.groups[] | select((.name | startswith("aa")) and .state == "Online") | .owner] | sort | unique | length')
it_check anti-affinity-spread "online aa groups on $owners distinct nodes" [ "$owners" = 3 ]
left=$(cj n1 group list | jq -r '[.groups[] | select((.name | startswith("aa")) and .state != "Online")][0].reason')
it_check anti-affinity-enforced-leaves-one-offline "reason: $left" eval '[[ "$left" == *anti-affinity\ 3* ]]'
for g in aa1 aa2 aa3 aa4; do ca n1 group offline $g >/dev/null; done
ca n1 property set enforced_anti_affinity false >/dev/null

# ---------------------------------------------------------------- node loss: fence, then recover
ca n1 group set web failback=immediate >/dev/null
hour=$(date -u +%-H)
mkgroup fbw preferred_owners=n2,n3,n1 failback=window \
	failback_window_start=$(( (hour + 2) % 24 )) failback_window_end=$(( (hour + 3) % 24 ))
ca n1 --timeout 30 group online fbw --wait >/dev/null
kill_ms=$(it_now_ms)
vc kill n2
V=n1
it_check node-loss-recovered-on-next-preferred "web is $(gstate web) on $(gowner web)" it_wait 30 online_on web n3
rec_ms=$(it_now_ms)
fenced_at=$(ev_time "fence agent run against 'n2' succeeded")
started_at=$(ev_time "resource 'web-db': Offline -> OnlinePending on 'n3'")
it_check fenced-before-recovery "fenced at '$fenced_at', started at '$started_at'" \
	[ -n "$fenced_at" ] && [ -n "$started_at" ] && [ "$fenced_at" -le "$started_at" ]
it_info "node loss (kill -9 n2) -> web online on n3: $((rec_ms - kill_ms)) ms (fenced +$((fenced_at - kill_ms)) ms, started +$((started_at - kill_ms)) ms)"
it_check node-loss-process-on-n3 "web-db runs on '$(runs_on web-db | tr '\n' ' ')'" [ "$(runs_on web-db)" = n3 ]
# the saved input of the recovery replays to the same decision in the simulator
pe=$(grep -l '"type": *"fence_result"' "$VC_DIR"/n1/lib/pe-inputs/*.json 2>/dev/null | tail -n1)
it_check pe-input-saved "no saved input of the fence result in $VC_DIR/n1/lib/pe-inputs" [ -n "$pe" ]
if [[ -n $pe ]]; then
	"$IT_TOP/tests/sim/clussim" --replay "$pe" >"$IT_TMP/replay.out" 2>&1
	it_check replay-reproduces-recovery "$(head -c 300 "$IT_TMP/replay.out")" \
		grep -q "do 3 online web-db" "$IT_TMP/replay.out"
fi
vc start n2 >/dev/null 2>&1; NET[n2]=$(net_of_node n2)
it_check failback-after-rejoin "web is $(gstate web) on $(gowner web)" it_wait 40 online_on web n2
it_check failback-outside-window-stays "fbw is $(gstate fbw) on $(gowner fbw)" online_on fbw n3
ca n1 group set fbw failback_window_start=$hour failback_window_end=$(( (hour + 1) % 24 )) >/dev/null
it_check failback-inside-window "fbw is $(gstate fbw) on $(gowner fbw)" it_wait 15 online_on fbw n2
ca n1 --timeout 20 group offline fbw --wait >/dev/null

# ---------------------------------------------------------------- paused owner
stop_ms=$(it_now_ms)
vc pause n2
it_check paused-owner-recovered "web is $(gstate web) on $(gowner web)" it_wait 30 eval 'V=n1 online_on web n3'
it_info "owner paused (SIGSTOP) -> web online on n3: $(( $(it_now_ms) - stop_ms )) ms"
it_check paused-owner-was-fenced "no fence event" eval '[ -n "$(V=n1 ev_time "fence agent run against '\''n2'\'' succeeded")" ]'
vc resume n2 >/dev/null 2>&1 || true
vc start n2 >/dev/null 2>&1; NET[n2]=$(net_of_node n2)
it_wait 40 eval '[ "$(up_count n1)" = 3 ]'
ca n1 group set web failback=never >/dev/null

# ---------------------------------------------------------------- priorities and capacity
for n in n1 n2 n3; do ca n1 property set --node $n memory_mb 1000 >/dev/null; done
mkgroup filler
ca n1 resource set filler-p memory_mb=600 possible_owners=n1 >/dev/null
mkgroup a-low preferred_owners=n2 priority=low
mkgroup z-high preferred_owners=n2 priority=high
for g in a-low z-high; do ca n1 resource set $g-p memory_mb=400 possible_owners=n1,n2 >/dev/null; done
for g in filler a-low z-high; do ca n1 --timeout 30 group online $g --wait >/dev/null; done
it_check capacity-both-on-n2 "a-low on $(gowner a-low), z-high on $(gowner z-high)" \
	eval 'online_on a-low n2 && online_on z-high n2'
vc kill n2
it_check priority-high-first-under-pressure "z-high is $(gstate z-high) on $(gowner z-high)" it_wait 30 online_on z-high n1
low_reason=$(gj a-low | jq -r .reason)
it_check capacity-low-left-offline "a-low is $(gstate a-low): $low_reason" \
	eval '[ "$(gstate a-low)" = Offline ] && [[ "$low_reason" == *memory\ 1* ]]'
used=$(cj n1 group list | jq '[.groups[] | select(.owner == "n1" and .state == "Online") | .name]')
it_info "on n1 after losing n2: $used"
vc start n2 >/dev/null 2>&1; NET[n2]=$(net_of_node n2)
it_wait 40 eval '[ "$(up_count n1)" = 3 ]'

# ---------------------------------------------------------------- quorum loss, no fence agent, confirm-down
# n3 has no fence agent here, so it stays alive after the cut: what stops its
# resource is its own quorum loss; the majority waits for confirm-down.
ca n1 property unset --node n3 fence_agent >/dev/null
mkgroup iso preferred_owners=n3
ca n1 --timeout 30 group online iso --wait >/dev/null
it_check iso-online-on-n3 "iso is $(gstate iso) on $(gowner iso)" online_on iso n3
cut_ms=$(it_now_ms)
vc cut n3
it_wait 10 eval '[ -z "$(runs_on iso-p)" ]'
gone_ms=$(it_now_ms)
lost_ms=$(cj n3 quorum show | jq '.quorum.lost_ms // 0')
it_info "n3 cut off: quorum lost after $((lost_ms - cut_ms)) ms, its resource gone $((gone_ms - lost_ms)) ms later (polled every ~100 ms)"
it_check quorum-loss-stops-within-1s "gone $((gone_ms - lost_ms)) ms after the loss" \
	[ "$lost_ms" -gt "$cut_ms" ] && [ $((gone_ms - lost_ms)) -le 1000 ]
waiting() { cj n1 status | jq -e '.fencing_pending | index("n3")' >/dev/null; }
it_check no-agent-waits-for-confirm "fencing_pending: $(cj n1 status | jq -c .fencing_pending)" it_wait 15 waiting
sleep 1
it_check no-agent-not-recovered-yet "iso is $(gstate iso) on $(gowner iso)" [ "$(gowner iso)" = n3 ]
ca n1 node confirm-down n3 >/dev/null
it_check confirm-down-recovers "iso is $(gstate iso) on $(gowner iso)" \
	it_wait 15 eval 'online_on iso n1 || online_on iso n2'
ca n1 property set --node n3 fence_agent "$FENCE" >/dev/null
vc heal n3 >/dev/null 2>&1
it_check cut-node-rejoins "n3 is $(state_of n1 n3)" it_wait 40 eval '[ "$(up_count n1)" = 3 ]'
it_check rejoined-node-runs-nothing-twice "iso-p runs on '$(runs_on iso-p | tr '\n' ' ')'" \
	[ "$(runs_on iso-p | wc -l)" -le 1 ]

# ---------------------------------------------------------------- drain
# every group that another node can take leaves n1 (highest priority first);
# filler may run on n1 only: it stays, and the drain says so
ca n1 --timeout 60 node drain n1 --wait >"$IT_TMP/drain.out" 2>&1
drain_rc=$?
on_n1=$(cj n2 group list | jq -r '[.groups[] | select(.owner == "n1" and .state != "Offline" and .state != "Failed") | .name] | join(",")')
it_check drain-moves-everything-movable "still on n1: '$on_n1'" [ "$on_n1" = filler ]
it_check drain-reports-what-stayed "rc $drain_rc: $(cat "$IT_TMP/drain.out")" \
	eval '[ $drain_rc = 1 ] && grep -q "filler" "$IT_TMP/drain.out"' 
it_check drain-pauses-node "n1 is $(state_of n2 n1)" [ "$(state_of n2 n1)" = Paused ]
it_check drain-complete "draining still true" [ "$(cj n2 node show n1 | jq .node.draining)" = false ]
ca n2 node resume n1 >/dev/null

# ---------------------------------------------------------------- bad input: clear errors, nothing changed
ca n1 property set fencing off >/dev/null
it_check fencing-off-shown-unsafe "$(ca n1 status | grep -i fenc)" eval 'ca n1 status | grep -q UNSAFE'
ca n1 property set fencing on >/dev/null
h0=$(db_hash n1)
bad() { # bad NAME EXPECT CMD...: fails, says EXPECT, changes nothing
	local name=$1 expect=$2 out rc
	shift 2
	out=$(ca n1 "$@" 2>&1); rc=$?
	if ((rc != 0)) && [[ $out == *"$expect"* ]]; then it_pass "bad-input-$name"
	else it_fail "bad-input-$name" "rc $rc: $out"; fi
}
bad unknown-node "n9" group move web --node n9
bad unknown-type "type" resource create r-x --group web --type nosuch
bad unknown-group "does not exist" resource create r-x --group nosuch --type process command=true
bad cycle "cycle" resource depend add web-db web-app
bad cross-group "inside a group" resource depend add web-db fb-p
bad negative-threshold "from 0" resource set web-db restart_threshold=-1
bad empty-name "name" group create ""
bad long-name "name" group create "$(printf 'x%.0s' $(seq 1 10000))"
it_info "web before the bad input: $(gstate web) on $(gowner web)"
bad delete-online "offline" group delete z-high
bad confirm-down-member "is up" node confirm-down n1
it_check bad-input-changed-nothing "hash $h0 -> $(db_hash n1)" [ "$(db_hash n1)" = "$h0" ]

# ---------------------------------------------------------------- throughout
[[ -s $IT_TMP/double ]] && cj n1 log --limit 3000 >"${IT_KEEP_LOG:-/dev/null}"
it_check never-on-two-nodes "$(head -3 "$IT_TMP/double" 2>/dev/null)" [ ! -s "$IT_TMP/double" ]
it_check replicas-identical "content hashes differ" same_hash n1 n2 n3
(( IT_FAILS == 0 ))
