#!/bin/bash
# t_harness.sh - self-test of the vcluster harness (tests/harness/) alone.
#
# Checks corosync-level facts only: membership after up, cut/heal, kill and
# start, pause/resume, stop/start, the fence agent, address hygiene, two
# runs at once, and that down leaves nothing behind. clusterd is not started
# unless VC_CLUSTERD is set (default here: none).
#
# Needs root. Env: VC_CLUADMIN (default <repo>/cli/cluadmin; any stand-in
# that implements `cluster create` works), VC_CLUSTERD (default none).
# Prints "PASS name" / "FAIL name: reason"; exits 1 if anything failed, 77
# (skip) if it cannot run here.
set -euo pipefail

HARNESS=$(cd "$(dirname "$(readlink -f "$0")")/../harness" && pwd)
VCLUSTER=$HARNESS/vcluster
FENCE=$HARNESS/fence_vcluster
# shellcheck source-path=SCRIPTDIR source=../harness/vc_lib.sh
source "$HARNESS/vc_lib.sh"

export VC_CLUSTERD=${VC_CLUSTERD:-none}
export VC_CLUADMIN=${VC_CLUADMIN:-$VC_REPO/cli/cluadmin}
export VC_TOKEN=${VC_TOKEN:-500}
export VC_TOKEN_COEFF=${VC_TOKEN_COEFF:-0}
export VC_QUIET=1
unset VC_DIR

# Failure detection at token 500, coefficient 0 is ~1.1 s; rejoin ~1.5 s.
# Deadlines are generous multiples; the measured times are printed.
DETECT_S=15
JOIN_S=30

if [[ $EUID != 0 ]]; then
	echo "SKIP t_harness: needs root"
	exit 77
fi
if [[ ! -x $VC_CLUADMIN ]]; then
	echo "SKIP t_harness: no cluadmin at $VC_CLUADMIN (build it or set VC_CLUADMIN)"
	exit 77
fi

FAILS=0
RUNS=()
BG=()
TMP=$(mktemp -d /tmp/t_harness.XXXXXX)

pass() { printf 'PASS %s\n' "$1"; }
fail() {
	printf 'FAIL %s: %s\n' "$1" "$2"
	FAILS=$((FAILS + 1))
}

cleanup() {
	local rc=$? d p
	trap '' INT TERM
	# background `vcluster up`s first: SIGTERM makes each remove its own
	# partial run (a background job ignores SIGINT without job control)
	for p in "${BG[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BG[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for d in "${RUNS[@]}"; do
		if [[ -d $d ]]; then
			VC_DIR=$d "$VCLUSTER" down >/dev/null 2>&1 || echo "t_harness: could not remove run $d" >&2
		fi
	done
	rm -rf -- "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ms since T0 of the current step
t_start() { T0=$(vc_now_ms); }
t_took() { printf '%d ms' "$(($(vc_now_ms) - T0))"; }

# new_run_dir NAME: set REPLY to a VC_DIR of our own, registered for
# cleanup (not printed: RUNS must be set in this shell, not a subshell)
new_run_dir() {
	REPLY=$VC_ROOT/t_harness.$$.$1
	RUNS+=("$REPLY")
}

# use_run DIR: make DIR the run the vc_* functions of this shell work on
use_run() {
	VC_DIR=$1
	vc_load
}

all_see() { vc_all_see "$1"; } # COUNT: all nodes, same ring

# reachable NODE ADDR: a TCP connect from NODE to ADDR port 9 is answered
# (accepted or refused: nothing listens there) within 2 s.
reachable() {
	local out
	# shellcheck disable=SC2016
	out=$(vc_exec "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/9"' reach "$2" 2>&1) && return 0
	[[ $out == *"Connection refused"* ]]
}

all_stopped() {
	local p
	for p in $(vc_node_pids "$1"); do
		vc_stopped "$p" || return 1
	done
}

members_of() { vc_members "$1" 2>/dev/null || echo '?'; }

# pids of a run: every PID recorded in pids.all
run_pids() { awk '{print $3}' "$1/pids.all" 2>/dev/null || true; }

# leftovers PREFIX PIDS...: print what a removed run left behind
leftovers() {
	local prefix=$1 p f
	shift
	ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 { print "namespace " $1 }'
	for p in "$@"; do
		if vc_alive "$p"; then
			echo "process $p ($(cat "/proc/$p/comm" 2>/dev/null))"
		fi
		for f in /dev/shm/qb-*-"$p"-*; do
			[[ -e $f ]] && echo "shm $f"
		done
	done
	return 0
}

# ------------------------------------------------------------------ up 3

new_run_dir main
RUN=$REPLY
t_start
if out=$(VC_DIR=$RUN "$VCLUSTER" up 3 2>"$TMP/up.err"); then
	took=$(t_took)
	if [[ $(tail -n 1 <<<"$out") == "VC_DIR=$RUN" ]]; then
		pass "up_3 ($took)"
	else
		fail up_3 "last line of stdout is not VC_DIR=$RUN: $(tail -n 1 <<<"$out")"
	fi
else
	fail up_3 "vcluster up 3 failed: $(tr '\n' ' ' <"$TMP/up.err")"
	exit 1
fi
use_run "$RUN"

reason=""
for node in $(vc_nodes); do
	m=$(members_of "$node")
	[[ $m == 3 ]] || reason+="$node sees $m; "
done
if [[ -z $reason ]]; then pass members_3; else fail members_3 "$reason"; fi

# every address in every namespace of the run: 127/8 or 198.18/15, no IPv6
reason=""
for ns in $(ip netns list | awk -v p="$VC_PREFIX-" 'index($1, p) == 1 { print $1 }'); do
	while read -r _ _ fam addr _; do
		case $fam in
		inet) [[ $addr == 127.* || $addr == 198.18.* || $addr == 198.19.* ]] || reason+="$ns has $addr; " ;;
		*) reason+="$ns has $fam $addr; " ;;
		esac
	done < <(ip -n "$ns" -o addr show)
done
want="198.18.$VC_SLOT.2/24 198.19.$VC_SLOT.2/24"
got=$(vc_exec n2 ip -o -4 addr show scope global | awk '{print $4}' | tr '\n' ' ')
[[ $got == "$want " ]] || reason+="n2 has '$got', want '$want'; "
if [[ -z $reason ]]; then pass addresses; else fail addresses "$reason"; fi

# the node's private view: its own corosync.conf, its /run, the run dir
reason=""
vc_exec n1 test -f /etc/corosync/authkey || reason+="no /etc/corosync/authkey in n1; "
vc_exec n1 test -f /run/corosync.pid || reason+="no private /run/corosync.pid in n1; "
vc_exec n1 test -f "$VC_DIR/env" || reason+="run dir not visible in n1; "
[[ $(vc_exec n1 cat /run/corosync.pid) == "$(vc_pid n1 corosync)" ]] || reason+="n1's /run/corosync.pid is not its corosync; "
[[ $("$VCLUSTER" ip n3) == "198.18.$VC_SLOT.3" ]] || reason+="vcluster ip n3 is wrong; "
if [[ -z $reason ]]; then pass node_namespaces; else fail node_namespaces "$reason"; fi

# ------------------------------------------------------------------ cut / heal

t_start
"$VCLUSTER" cut n3
if vc_wait "$DETECT_S" vc__members_is n1 2; then
	pass "cut_n3 n1 sees 2 ($(t_took))"
else
	fail cut_n3 "n1 sees $(members_of n1) members ${DETECT_S}s after cutting n3"
fi
reason=""
[[ $(vc_link_state n3) == cut ]] || reason+="link state is $(vc_link_state n3); "
reachable n3 "198.19.$VC_SLOT.254" || reason+="n3 cannot reach the SAN address; "
reachable n3 "198.19.$VC_SLOT.1" || reason+="n3 cannot reach n1 over storage; "
! reachable n3 "198.18.$VC_SLOT.1" || reason+="n3 still reaches n1 over the cluster network; "
if [[ -z $reason ]]; then pass cut_keeps_storage; else fail cut_keeps_storage "$reason"; fi
t_start
"$VCLUSTER" heal n3
if vc_wait "$JOIN_S" all_see 3; then
	pass "heal_n3 all see 3 ($(t_took))"
else
	fail heal_n3 "n1 sees $(members_of n1), n3 sees $(members_of n3) ${JOIN_S}s after heal"
fi

# ------------------------------------------------------------------ kill / start

cs=$(vc_pid n2 corosync)
holder=$(vc_pid n2 holder)
shm_before=$(find /dev/shm -maxdepth 1 -name "qb-*-$cs-*" | wc -l)
t_start
"$VCLUSTER" kill n2
reason=""
left=$(vc_node_pids n2)
[[ -z $left ]] || reason+="processes left in n2: $left; "
vc_alive "$cs" && reason+="corosync $cs alive; "
vc_alive "$holder" && reason+="holder $holder alive; "
((shm_before > 0)) || reason+="corosync had no /dev/shm files before (test is blind); "
shm_after=$(find /dev/shm -maxdepth 1 -name "qb-*-$cs-*" | wc -l)
((shm_after == 0)) || reason+="$shm_after /dev/shm files of $cs left; "
if [[ -z $reason ]]; then pass "kill_n2 ($(t_took))"; else fail kill_n2 "$reason"; fi
if vc_wait "$DETECT_S" vc__members_is n1 2; then
	pass "kill_n2 n1 sees 2 ($(t_took))"
else
	fail kill_n2_detected "n1 sees $(members_of n1) members ${DETECT_S}s after kill"
fi
t_start
if "$VCLUSTER" start n2 && vc_wait "$JOIN_S" all_see 3; then
	pass "start_n2 all see 3 ($(t_took))"
else
	fail start_n2 "n1 sees $(members_of n1), n2 sees $(members_of n2) after start"
fi

# ------------------------------------------------------------------ pause / resume

t_start
"$VCLUSTER" pause n3
reason=""
# SIGSTOP is asynchronous: poll for state T
vc_wait 5 all_stopped n3 || reason+="not every process of n3 is stopped: $(vc_node_pids n3 | tr '\n' ' '); "
if [[ -z $reason ]] && vc_wait "$DETECT_S" vc__members_is n1 2; then
	pass "pause_n3 n1 sees 2 ($(t_took))"
else
	fail pause_n3 "${reason}n1 sees $(members_of n1)"
fi
t_start
"$VCLUSTER" resume n3
if vc_wait "$JOIN_S" all_see 3; then
	pass "resume_n3 all see 3 ($(t_took))"
else
	fail resume_n3 "n1 sees $(members_of n1), n3 sees $(members_of n3) after resume"
fi

# ------------------------------------------------------------------ restart

cs=$(vc_pid n3 corosync)
t_start
if "$VCLUSTER" restart n3 && [[ $(vc_pid n3 corosync) != "$cs" ]] && ! vc_alive "$cs" &&
	vc_wait "$JOIN_S" all_see 3; then
	pass "restart_n3 ($(t_took))"
else
	fail restart_n3 "old corosync $cs, new $(vc_pid n3 corosync), n1 sees $(members_of n1)"
fi

# ------------------------------------------------------------------ stop / start (graceful)

cs=$(vc_pid n1 corosync)
holder=$(vc_pid n1 holder)
t_start
"$VCLUSTER" stop n1
reason=""
vc_alive "$cs" && reason+="corosync $cs still alive; "
vc_alive "$holder" || reason+="holder died; "
if [[ -z $reason ]] && vc_wait "$DETECT_S" vc__members_is n2 2; then
	pass "stop_n1 ($(t_took))"
else
	fail stop_n1 "${reason}n2 sees $(members_of n2)"
fi
t_start
if "$VCLUSTER" start all && vc_wait "$JOIN_S" all_see 3; then
	pass "start_all all see 3 ($(t_took))"
else
	fail start_all "n1 sees $(members_of n1) after start all"
fi
if [[ $(vc_pid n1 holder) == "$holder" ]]; then pass start_keeps_holder; else fail start_keeps_holder "holder changed"; fi

# ------------------------------------------------------------------ fence agent

if out=$(printf 'action=status\nplug=n3\nvc_dir=%s\n' "$RUN" | "$FENCE") && [[ $out == "Status: ON" ]]; then
	pass fence_status_on
else
	fail fence_status_on "got '$out'"
fi
# off, from inside n1 as clusterd would call it (stdin convention)
t_start
if printf 'action=off\nport=n3\n' | vc_exec n1 "$FENCE" && [[ -z $(vc_node_pids n3) ]]; then
	pass "fence_off_from_node ($(t_took))"
else
	fail fence_off_from_node "n3 still has processes: $(vc_node_pids n3 | tr '\n' ' ')"
fi
rc=0
out=$("$FENCE" --action=status --plug=n3 --vc_dir="$RUN") || rc=$?
if [[ $rc == 2 && $out == "Status: OFF" ]]; then pass fence_status_off; else fail fence_status_off "rc $rc, '$out'"; fi
vc_wait "$DETECT_S" vc__members_is n1 2 || true
t_start
if "$FENCE" action=on plug=n3 vc_dir="$RUN" && vc_wait "$JOIN_S" all_see 3; then
	pass "fence_on all see 3 ($(t_took))"
else
	fail fence_on "n1 sees $(members_of n1), n3 sees $(members_of n3)"
fi
if [[ $("$FENCE" action=list vc_dir="$RUN" | wc -l) == 3 ]] && "$FENCE" action=monitor vc_dir="$RUN" &&
	"$FENCE" action=metadata | grep -q '<resource-agent name="fence_vcluster"' &&
	! "$FENCE" action=off plug=n9 vc_dir="$RUN" 2>/dev/null; then
	pass fence_list_monitor_metadata
else
	fail fence_list_monitor_metadata "list, monitor, metadata or the bad-plug error is wrong"
fi

# ------------------------------------------------------------------ two runs at once

new_run_dir par1
R1=$REPLY
new_run_dir par2
R2=$REPLY
t_start
VC_DIR=$R1 "$VCLUSTER" up 2 >"$TMP/p1.out" 2>"$TMP/p1.err" &
p1=$!
VC_DIR=$R2 "$VCLUSTER" up 2 >"$TMP/p2.out" 2>"$TMP/p2.err" &
p2=$!
BG=("$p1" "$p2")
rc1=0 rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
BG=()
if ((rc1 == 0 && rc2 == 0)); then
	pass "parallel_up ($(t_took))"
	reason=""
	# shellcheck disable=SC1091
	pfx1=$(source "$R1/env" && echo "$VC_PREFIX $VC_SLOT")
	# shellcheck disable=SC1091
	pfx2=$(source "$R2/env" && echo "$VC_PREFIX $VC_SLOT")
	[[ ${pfx1% *} != "${pfx2% *}" ]] || reason+="same prefix ${pfx1% *}; "
	[[ ${pfx1#* } != "${pfx2#* }" ]] || reason+="same slot ${pfx1#* }; "
	[[ ${pfx1#* } != "$VC_SLOT" && ${pfx2#* } != "$VC_SLOT" ]] || reason+="slot shared with the main run; "
	for r in "$R1" "$R2"; do
		m=$(VC_DIR=$r "$VCLUSTER" members n1 2>/dev/null || echo '?')
		[[ $m == 2 ]] || reason+="$r n1 sees $m members, not 2; "
	done
	[[ $(members_of n1) == 3 ]] || reason+="main run's n1 sees $(members_of n1); "
	if [[ -z $reason ]]; then pass parallel_isolated; else fail parallel_isolated "$reason"; fi
else
	fail parallel_up "status $rc1/$rc2: $(cat "$TMP/p1.err" "$TMP/p2.err" | tr '\n' ' ')"
fi
for r in "$R1" "$R2"; do
	[[ -f $r/env ]] || continue
	# shellcheck disable=SC1091
	prefix=$(source "$r/env" && echo "$VC_PREFIX")
	mapfile -t pids < <(run_pids "$r")
	if VC_DIR=$r "$VCLUSTER" down 2>"$TMP/down.err"; then
		left=$(leftovers "$prefix" "${pids[@]}")
		if [[ -z $left && ! -e $r ]]; then
			pass "parallel_down $prefix"
		else
			fail "parallel_down $prefix" "left behind: $(tr '\n' ' ' <<<"$left")"
		fi
	else
		fail "parallel_down $prefix" "$(tr '\n' ' ' <"$TMP/down.err")"
	fi
done

# ------------------------------------------------------------------ down

mapfile -t pids < <(run_pids "$RUN")
prefix=$VC_PREFIX
slot=$VC_SLOT
t_start
if "$VCLUSTER" down 2>"$TMP/down.err"; then
	took=$(t_took)
	left=$(leftovers "$prefix" "${pids[@]}")
	[[ -e $RUN ]] && left+=" run dir $RUN"
	[[ -e $VC_SLOTS/$slot ]] && left+=" slot $slot"
	if [[ -z $left ]]; then
		pass "down ($took)"
	else
		fail down "left behind: $(tr '\n' ' ' <<<"$left")"
	fi
else
	fail down "$(tr '\n' ' ' <"$TMP/down.err")"
fi
if "$VCLUSTER" down 2>/dev/null; then pass down_twice; else fail down_twice "second down failed"; fi

if ((FAILS)); then
	echo "t_harness: $FAILS failed"
	exit 1
fi
echo "t_harness: all passed"
