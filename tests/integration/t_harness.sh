#!/bin/bash
# t_harness.sh - self-test of the vcluster harness (tests/harness/) alone.
#
# Checks harness-level facts only: corosync membership after up, cut/heal,
# kill and start, pause/resume, stop/start, the fence agent, address
# hygiene, two runs at once, that down leaves nothing behind; and the run's
# SAN (tgtd, checked over iSCSI with libiscsi's tools from the nodes):
# portal, LUNs, san-cut/heal, san-stop/start keeping the data, VC_SAN=0.
# clusterd is not started unless VC_CLUSTERD is set (default here: none).
#
# Needs root, tgt and libiscsi-bin (qemu-io, when present, checks a block
# written through libiscsi). Env: VC_CLUADMIN (default <repo>/cli/cluadmin;
# any stand-in that implements `cluster create` works), VC_CLUSTERD
# (default none).
# Prints "PASS name" / "FAIL name: reason"; exits 1 if anything failed, 77
# (skip) if it cannot run here.
set -euo pipefail

HARNESS=$(cd "$(dirname "$(readlink -f "$0")")/../harness" && pwd)
VCLUSTER=$HARNESS/vcluster
FENCE=$HARNESS/fence_vcluster
# shellcheck source-path=SCRIPTDIR source=../harness/vc_lib.sh
source "$HARNESS/vc_lib.sh"

export VC_CLUSTERD=${VC_CLUSTERD:-none}
export VC_SAN=1 # runs have a SAN unless a test says VC_SAN=0
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

# ------------------------------------------------------------------ SAN (tgtd in <prefix>-san)

SAN_IP=$(vc_san_target_ip)
IQN=$(vc_san_iqn)
LUN_BYTES=$((64 * 1048576)) # VC_WITNESS_MB, VC_SCRATCH_MB default

# on NODE CMD...: CMD in NODE, bounded (a cut link must not hang the test;
# -k: iscsi-perf, for one, ignores SIGTERM while it reconnects)
on() {
	local node=$1
	shift
	vc_exec "$node" timeout -k 1 5 "$@"
}

# portal_ok NODE: iscsi-ls from NODE (with its initiator name) lists our
# target at our portal with LUNs 1 and 2
portal_ok() {
	local out
	out=$(on "$1" iscsi-ls -s -i "$(vc_initiator "$1")" "iscsi://$SAN_IP" 2>&1) || return 1
	grep -qF "Target:$IQN Portal:$SAN_IP:3260" <<<"$out" &&
		grep -q '^Lun:1 .*DIRECT_ACCESS' <<<"$out" && grep -q '^Lun:2 .*DIRECT_ACCESS' <<<"$out"
}

# capacity NODE LUN: the LUN's size in bytes, read over iSCSI from NODE
capacity() {
	on "$1" iscsi-readcapacity16 -i "$(vc_initiator "$1")" "$(vc_san_url "$2")" 2>/dev/null |
		awk -F: '/^Total size/ { print $2 }'
}

san_listens_alone() { [[ $(vc_san_listeners) == "tcp $SAN_IP:3260" ]]; }

HAVE_QEMU_IO=0
command -v qemu-io >/dev/null && HAVE_QEMU_IO=1
# qemu_io NODE ARGS...: qemu-io (its iSCSI driver is libiscsi) on LUN 2
qemu_io() {
	local node=$1
	shift
	on "$node" qemu-io -f raw "$@" "$(vc_san_url 2)" >/dev/null 2>&1
}

if ! command -v iscsi-ls >/dev/null || ! command -v iscsi-readcapacity16 >/dev/null || ! command -v iscsi-inq >/dev/null; then
	fail san "libiscsi-bin is not installed (iscsi-ls, iscsi-inq, iscsi-readcapacity16): SAN not tested"
else
	reason=""
	tgtd=$(vc_live_pid san tgtd) || reason+="no live tgtd recorded in the san namespace; "
	if [[ -n $tgtd ]]; then
		[[ $(readlink "/proc/$tgtd/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] || reason+="tgtd shares the host's mount namespace; "
		vc_exec n1 test -S /run/tgtd/socket.0 && reason+="n1 sees a tgtd control socket; "
		nsenter -t "$(vc_pid san holder)" -m test -S /run/tgtd/socket.0 || reason+="no control socket in the SAN's private /run; "
	fi
	san_listens_alone || reason+="listening in the san namespace: $(vc_san_listeners | tr '\n' ' '); "
	[[ $("$VCLUSTER" san-url) == "iscsi://$SAN_IP:3260/iqn.2026-11.test.vcluster:$VC_PREFIX/1" ]] || reason+="san-url is $("$VCLUSTER" san-url); "
	[[ $("$VCLUSTER" san-url 2) == "iscsi://$SAN_IP:3260/$IQN/2" ]] || reason+="san-url 2 is wrong; "
	"$VCLUSTER" san-url 9 >/dev/null 2>&1 && reason+="san-url 9 (no such LUN) succeeded; "
	[[ $("$VCLUSTER" initiator n2) == "iqn.2026-11.test.vcluster:$VC_PREFIX-n2" ]] || reason+="initiator n2 is $("$VCLUSTER" initiator n2); "
	"$VCLUSTER" status | grep -q "^san .*tgtd $tgtd, portal $SAN_IP:3260 listening" || reason+="status has no SAN line; "
	if [[ -z $reason ]]; then pass "san_tgtd (pid $tgtd, listens on $SAN_IP:3260 only)"; else fail san_tgtd "$reason"; fi

	for node in n1 n2; do
		if portal_ok "$node"; then pass "san_portal_$node"; else fail "san_portal_$node" "iscsi-ls from $node does not list $IQN with LUNs 1 and 2"; fi
	done
	reason=""
	for lun in 1 2; do
		c=$(capacity n1 "$lun" || true)
		[[ $c == "$LUN_BYTES" ]] || reason+="LUN $lun is '$c' bytes, want $LUN_BYTES; "
	done
	sn=$(on n1 iscsi-inq -i "$(vc_initiator n1)" -e 1 -c 128 "$(vc_san_url 1)" 2>/dev/null | sed -n 's/^Unit Serial Number:\[ *\(.*\)\]$/\1/p' || true)
	[[ $sn == "$VC_PREFIX-1" ]] || reason+="LUN 1 serial is '$sn', want $VC_PREFIX-1; "
	if [[ -z $reason ]]; then pass san_luns_64MiB; else fail san_luns_64MiB "$reason"; fi

	# storage cut: n2 loses the portal, n1 keeps it, the cluster stays whole
	"$VCLUSTER" san-cut n2
	reason=""
	[[ $(vc_san_link_state n2) == cut ]] || reason+="storage link state is $(vc_san_link_state n2); "
	portal_ok n2 && reason+="n2 still reaches the portal; "
	portal_ok n1 || reason+="n1 lost the portal; "
	all_see 3 || reason+="cluster membership changed (n1 sees $(members_of n1)); "
	[[ $(vc_link_state n2) == up ]] || reason+="the cluster link of n2 went down too; "
	if [[ -z $reason ]]; then pass san_cut_n2; else fail san_cut_n2 "$reason"; fi
	t_start
	"$VCLUSTER" san-heal n2
	if vc_wait 10 portal_ok n2; then pass "san_heal_n2 ($(t_took))"; else fail san_heal_n2 "n2 does not reach the portal 10 s after san-heal"; fi

	# data written through libiscsi survives a tgtd restart
	if ((HAVE_QEMU_IO)); then
		if qemu_io n1 -c 'write -P 0x5a 4096 4096' && qemu_io n2 -r -c 'read -P 0x5a 4096 4096'; then
			pass san_write_n1_read_n2
		else
			fail san_write_n1_read_n2 "qemu-io write on n1 / pattern read on n2 failed"
		fi
	fi
	f1=$(vc_san_file 1)
	f2=$(vc_san_file 2)
	sum_before=$(cksum <"$f2")
	tgtd=$(vc_pid san tgtd)
	holder=$(vc_pid san holder)
	t_start
	reason=""
	"$VCLUSTER" san-stop 2>"$TMP/san.err" || reason+="san-stop failed: $(tr '\n' ' ' <"$TMP/san.err"); "
	took=$(t_took)
	grep -q SIGKILL "$TMP/san.err" && reason+="tgtd needed SIGKILL; "
	vc_alive "$tgtd" && reason+="tgtd $tgtd alive; "
	[[ -z $(vc_pid san tgtd) ]] || reason+="tgtd still recorded; "
	vc_node_alive san holder || reason+="the SAN holder died; "
	[[ -z $(vc_san_listeners) ]] || reason+="still listening: $(vc_san_listeners | tr '\n' ' '); "
	portal_ok n1 && reason+="n1 still reaches the portal; "
	[[ -f $f1 && $(stat -c %s "$f1") == "$LUN_BYTES" ]] || reason+="backing file $f1 gone or resized; "
	[[ $(cksum <"$f2") == "$sum_before" ]] || reason+="backing file $f2 changed; "
	if [[ -z $reason ]]; then pass "san_stop ($took)"; else fail san_stop "$reason"; fi
	t_start
	reason=""
	"$VCLUSTER" san-start 2>"$TMP/san.err" || reason+="san-start failed: $(tr '\n' ' ' <"$TMP/san.err"); "
	took=$(t_took)
	new=$(vc_live_pid san tgtd) || reason+="no live tgtd; "
	[[ $new != "$tgtd" ]] || reason+="same tgtd pid; "
	[[ $(vc_pid san holder) == "$holder" ]] || reason+="holder changed; "
	san_listens_alone || reason+="listening: $(vc_san_listeners | tr '\n' ' '); "
	portal_ok n2 || reason+="n2 does not reach the portal; "
	c=$(capacity n2 1 || true)
	[[ $c == "$LUN_BYTES" ]] || reason+="LUN 1 is '$c' bytes; "
	if ((HAVE_QEMU_IO)); then
		qemu_io n2 -r -c 'read -P 0x5a 4096 4096' || reason+="the block written before san-stop is not there; "
	fi
	if [[ -z $reason ]]; then pass "san_start keeps the data ($took)"; else fail san_start "$reason"; fi

	# a tgtd that cannot answer (paused) is SIGKILLed by san-stop
	tgtd=$(vc_pid san tgtd)
	kill -STOP "$tgtd"
	reason=""
	"$VCLUSTER" san-stop 2>"$TMP/san.err" || reason+="san-stop failed: $(tr '\n' ' ' <"$TMP/san.err"); "
	vc_alive "$tgtd" && reason+="paused tgtd $tgtd survived; "
	"$VCLUSTER" san-start 2>"$TMP/san.err" || reason+="san-start after SIGKILL failed: $(tr '\n' ' ' <"$TMP/san.err"); "
	portal_ok n1 || reason+="n1 does not reach the portal after restart; "
	if [[ -z $reason ]]; then pass san_stop_paused_tgtd; else fail san_stop_paused_tgtd "$reason"; fi
fi
SAN_TGTD=$(vc_pid san tgtd)

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

# kill, start, restart, stop, fence of nodes: the SAN was never touched
if [[ -n $SAN_TGTD && $(vc_pid san tgtd) == "$SAN_TGTD" ]] && vc_node_alive san tgtd && san_listens_alone; then
	pass node_verbs_leave_san
else
	fail node_verbs_leave_san "tgtd was $SAN_TGTD, now $(vc_pid san tgtd) ($(vc_node_alive san tgtd && echo alive || echo dead)); listening: $(vc_san_listeners | tr '\n' ' ')"
fi

# ------------------------------------------------------------------ two runs at once

new_run_dir par1
R1=$REPLY
new_run_dir par2
R2=$REPLY
t_start
VC_DIR=$R1 "$VCLUSTER" up 2 >"$TMP/p1.out" 2>"$TMP/p1.err" &
p1=$!
VC_SAN=0 VC_DIR=$R2 "$VCLUSTER" up 2 >"$TMP/p2.out" 2>"$TMP/p2.err" &
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
	# R1 has a SAN of its own (a second tgtd next to the main run's), R2
	# none (VC_SAN=0)
	reason=""
	url1=$(VC_DIR=$R1 "$VCLUSTER" san-url 2>/dev/null || true)
	iqn1=$(VC_DIR=$R1 "$VCLUSTER" san-url | cut -d/ -f4 || true)
	[[ -n $url1 && $url1 != "$(vc_san_url 1)" ]] || reason+="R1's san-url is '$url1'; "
	p1ip=${url1#iscsi://}
	p1ip=${p1ip%%:*}
	out=$(VC_DIR=$R1 "$VCLUSTER" exec n2 timeout -k 1 5 iscsi-ls "iscsi://$p1ip" 2>&1 || true)
	[[ $out == "Target:$iqn1 Portal:$p1ip:3260,1" ]] || reason+="iscsi-ls from R1's n2: '$out'; "
	on n1 iscsi-ls "iscsi://$p1ip" >/dev/null 2>&1 && reason+="the main run's n1 reaches R1's portal; "
	VC_DIR=$R2 "$VCLUSTER" san-url >/dev/null 2>&1 && reason+="R2 (VC_SAN=0) has a san-url; "
	grep -q '^san ' "$R2/pids" && reason+="R2 (VC_SAN=0) recorded SAN processes; "
	# shellcheck disable=SC1091
	[[ -z $(ip netns pids "$(source "$R2/env" && echo "$VC_PREFIX")-san") ]] || reason+="processes in R2's san namespace; "
	VC_DIR=$R2 "$VCLUSTER" status | grep -q '^san .*no target (VC_SAN=0)' || reason+="R2's status has no 'no target' SAN line; "
	if [[ -z $reason ]]; then pass parallel_san; else fail parallel_san "$reason"; fi
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
mapfile -t tgtds < <(awk '$1 == "san" && $2 == "tgtd" { print $3 }' "$RUN/pids.all")
prefix=$VC_PREFIX
slot=$VC_SLOT
t_start
if "$VCLUSTER" down 2>"$TMP/down.err"; then
	took=$(t_took)
	left=$(leftovers "$prefix" "${pids[@]}")
	((${#tgtds[@]} >= 3)) || left+=" (only ${#tgtds[@]} tgtd pids recorded, want 3: test is blind)"
	for p in "${tgtds[@]}"; do
		vc_alive "$p" && left+=" tgtd $p"
	done
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
