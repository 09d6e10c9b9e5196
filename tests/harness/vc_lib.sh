# shellcheck shell=bash
# vc_lib.sh - the virtual cluster ("vcluster") test harness, as functions.
#
# Owns: network namespaces, veths, bridges, per-node mount namespaces and
# the daemons it starts for one run, all recorded under the run's state dir.
# Must never: touch a process, namespace or file it did not create, use an
# address outside 198.18.0.0/15 and 127.0.0.0/8, or wait on a plain sleep
# (every wait is a poll with a deadline).
#
# Sourced by the `vcluster` front end and by test scripts. Functions named
# vc_* are the interface (see README.md); vc__* are internal.
# Sourcing it does not change shell options or traps of the caller.

# Variables below are for the sourcing script as well.
# shellcheck disable=SC2034
VC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034
VC_HARNESS_DIR=$VC_LIB_DIR
# shellcheck disable=SC2034
VC_REPO=$(cd "$VC_LIB_DIR/../.." && pwd)
VC_ROOT=${VC_ROOT:-/run/vcluster}
# Subnet slots are machine-wide, whatever VC_ROOT a run uses.
VC_SLOTS=${VC_SLOTS:-/run/vcluster/slots}
# shellcheck disable=SC2034
VC_MAX_NODES=64

# Deadlines, in seconds. One place, with the reasoning:
# - membership: 3 nodes at token 500 form in ~1-2 s; 60 s covers 2 slow
#   cores, a larger N and clusterd start-up.
# - ready: a daemon's IPC answers within ~100 ms of its exec.
# - stop: corosync leaves the ring in < 1 s on SIGTERM; clusterd is ours.
# - kill: SIGKILL'd processes vanish (or turn Z) in milliseconds.
VC_UP_TIMEOUT_S=${VC_UP_TIMEOUT_S:-60}
VC_READY_TIMEOUT_S=${VC_READY_TIMEOUT_S:-15}
VC_STOP_TIMEOUT_S=${VC_STOP_TIMEOUT_S:-15}
VC_KILL_TIMEOUT_S=${VC_KILL_TIMEOUT_S:-10}
# Bound on one query (corosync-quorumtool, cluadmin, tgtadm) so a paused
# node (or tgtd) cannot hang a poll.
VC_QUERY_TIMEOUT_S=${VC_QUERY_TIMEOUT_S:-3}
# san-stop: tgtd drains a LUN's commands in milliseconds once a deleted
# target stops taking new ones; an initiator that keeps a LUN busy (a
# benchmark) makes `delete --force` fail ("this logical unit is still
# active") for as long as it runs. After this long, SIGKILL.
VC_SAN_STOP_TIMEOUT_S=${VC_SAN_STOP_TIMEOUT_S:-3}
# libvirtd (VC_LIBVIRT=1): it answers on TCP ~0.5 s after its exec alone,
# several seconds when N of them start at once on 2 cores with corosyncs
# forming a ring.
VC_LIBVIRT_TIMEOUT_S=${VC_LIBVIRT_TIMEOUT_S:-30}
# Where QEMU capabilities probed by a node's libvirtd are kept for the next
# runs ("none": nowhere). See vc__libvirt_caps_*.
VC_LIBVIRT_CACHE=${VC_LIBVIRT_CACHE:-/var/cache/vcluster/libvirt-qemu-capabilities}

# The lock on a run is held on this fd by mutating verbs. Daemons never
# inherit it (vc__spawn closes every fd above 2), else a daemon would hold
# the lock forever, or a caller's pipe open.
VC_LOCK_FD=9

# ---------------------------------------------------------------- messages

vc_err() { printf 'vcluster: %s\n' "$*" >&2; }
vc_die() { vc_err "$@"; exit 1; }
vc_info() { [[ ${VC_QUIET:-0} == 1 ]] || printf 'vcluster: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- time, polling

# Milliseconds since boot (monotonic; /proc/uptime has 10 ms resolution).
vc_now_ms() {
	local up
	read -r up _ </proc/uptime
	up=${up/./}
	printf '%s\n' "$((10#$up * 10))"
}

# vc_wait TIMEOUT_S CMD [ARGS...]: run CMD every 100 ms until it succeeds
# (return 0) or TIMEOUT_S seconds have passed (return 1).
vc_wait() {
	local timeout_s=$1
	shift
	vc_wait_ms "$((timeout_s * 1000))" "$@"
}

# vc_wait_ms TIMEOUT_MS CMD [ARGS...]: the same, in milliseconds.
vc_wait_ms() {
	local deadline
	deadline=$(($(vc_now_ms) + $1))
	shift
	while :; do
		if "$@"; then
			return 0
		fi
		if (($(vc_now_ms) >= deadline)); then
			return 1
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- processes

# vc_alive PID: true if PID exists and is not a zombie. This machine's init
# reaps late, so a killed process may linger as Z: that counts as dead.
# (Daemons are disowned at start: bash reaps those that die while the
# command that started them runs, without printing job notices; once that
# command has exited, init reaps them.)
vc_alive() {
	local s
	[[ ${1:-} =~ ^[0-9]+$ ]] || return 1
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	s=${s%% *}
	[[ $s != Z && $s != X ]]
}

# vc_stopped PID: true if PID is alive and stopped (SIGSTOP).
vc_stopped() {
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	s=${s%% *}
	[[ $s == T || $s == t ]]
}

# vc__all_dead PID...: true if none of the PIDs is alive.
vc__all_dead() {
	local p
	for p in "$@"; do
		if vc_alive "$p"; then
			return 1
		fi
	done
	return 0
}

# vc_ns_pids NS: live PIDs in network namespace NS, one per line.
vc_ns_pids() {
	local p
	[[ -e /run/netns/$1 ]] || return 0
	for p in $(ip netns pids "$1" 2>/dev/null); do
		if vc_alive "$p"; then
			printf '%s\n' "$p"
		fi
	done
}

vc__ns_empty() {
	[[ -z $(vc_ns_pids "$1") ]]
}

# vc__shm_clean PID...: remove /dev/shm entries that libqb created for these
# PIDs (qb-*-PID-*), left behind when a process was killed. A PID that is
# alive again belongs to someone else now: its files are left alone.
vc__shm_clean() {
	local p f
	for p in "$@"; do
		[[ $p =~ ^[0-9]+$ ]] || continue
		if vc_alive "$p"; then
			continue
		fi
		# files (qb-corosync-PID-blackbox-*) and, per IPC connection,
		# directories (qb-SERVERPID-CLIENTPID-N-XXXXXX)
		for f in /dev/shm/qb-*-"$p"-* /dev/shm/qb-"$p"-*; do
			[[ -e $f ]] || continue
			rm -rf --one-file-system -- "$f"
		done
	done
}

# ---------------------------------------------------------------- the run

# vc_resolve: set VC_DIR to the selected run (env VC_DIR, else the default).
vc_resolve() {
	local d
	if [[ -n ${VC_DIR:-} ]]; then
		d=$VC_DIR
	elif [[ -L $VC_ROOT/default ]]; then
		d=$(readlink -- "$VC_ROOT/default")
	else
		vc_err "no run selected: set VC_DIR or run 'vcluster up' first"
		return 1
	fi
	[[ $d == /* ]] || d=$PWD/$d
	VC_DIR=${d%/}
}

# vc_load: select the run and read its env file (VC_PREFIX, VC_SLOT,
# VC_NODES, VC_TOKEN, VC_TOKEN_COEFF, VC_NAME, VC_CLUADMIN, VC_CLUSTERD,
# VC_SAN, VC_WITNESS_MB, VC_SCRATCH_MB, VC_LIBVIRT).
vc_load() {
	vc_resolve || return 1
	if [[ ! -f $VC_DIR/env ]]; then
		vc_err "$VC_DIR: no such run (no env file)"
		return 1
	fi
	# a run records whether it has a SAN and libvirtds; one that does
	# not say has none (the caller's environment does not count)
	VC_SAN=0
	VC_LIBVIRT=0
	VC_SHARED=
	# shellcheck source=/dev/null
	source "$VC_DIR/env"
	[[ -n ${VC_PREFIX:-} && -n ${VC_SLOT:-} && -n ${VC_NODES:-} ]] || {
		vc_err "$VC_DIR/env: incomplete"
		return 1
	}
	# daemons and commands run in nodes inherit it (fence agents need it)
	export VC_DIR
}

# vc_in_node: true when called from inside a node of the run (its private
# /run hides /run/netns). vcluster then re-executes itself in the mount
# namespace of the run's anchor, which is the host's.
vc_in_node() { [[ ! -e /run/netns/$VC_PREFIX-br ]]; }

vc_anchor_pid() {
	vc_live_pid br anchor
}

vc_nodes() {
	local i
	for ((i = 1; i <= VC_NODES; i++)); do
		printf 'n%d\n' "$i"
	done
}

# vc__node_idx NODE: print N for node "nN" of this run, fail otherwise.
vc__node_idx() {
	local n=${1#n}
	if [[ $1 == n* && $n =~ ^[1-9][0-9]*$ ]] && ((n <= VC_NODES)); then
		printf '%s\n' "$n"
		return 0
	fi
	vc_err "unknown node '$1' (this run has n1..n$VC_NODES)"
	return 1
}

vc__check_node() { vc__node_idx "$1" >/dev/null; }
vc_ns() { printf '%s-%s\n' "$VC_PREFIX" "$1"; }
vc_node_dir() { printf '%s/%s\n' "$VC_DIR" "$1"; }

# vc_ip NODE: the node's cluster address (eth0).  vc_san_ip NODE: storage.
vc_ip() {
	local i
	i=$(vc__node_idx "$1") || return 1
	printf '198.18.%d.%d\n' "$VC_SLOT" "$i"
}
vc_san_ip() {
	local i
	i=$(vc__node_idx "$1") || return 1
	printf '198.19.%d.%d\n' "$VC_SLOT" "$i"
}
vc_san_target_ip() { printf '198.19.%d.254\n' "$VC_SLOT"; }

# ---- the pids file: lines "node role pid", the current process per role.
# pids.all keeps every PID ever started, for /dev/shm cleanup at down.

# vc_pid NODE ROLE: print the recorded PID (may be dead).
vc_pid() {
	[[ -f $VC_DIR/pids ]] || return 0
	awk -v n="$1" -v r="$2" '$1 == n && $2 == r { p = $3 } END { if (p != "") print p }' "$VC_DIR/pids"
}

vc__pid_set() {
	local node=$1 role=$2 pid=$3 tmp
	tmp=$VC_DIR/pids.tmp.$$
	{
		if [[ -f $VC_DIR/pids ]]; then
			awk -v n="$node" -v r="$role" '!($1 == n && $2 == r)' "$VC_DIR/pids"
		fi
		if [[ -n $pid ]]; then
			printf '%s %s %s\n' "$node" "$role" "$pid"
		fi
	} >"$tmp"
	mv -f -- "$tmp" "$VC_DIR/pids"
	if [[ -n $pid ]]; then
		printf '%s %s %s\n' "$node" "$role" "$pid" >>"$VC_DIR/pids.all"
	fi
}

vc__pid_clear() { vc__pid_set "$1" "$2" ""; }

# vc__in_ns PID NS: PID lives in network namespace NS. A recorded PID whose
# process died may have been reused by a stranger: never signal or enter a
# recorded PID without this check. (Inside a node /run/netns is hidden and
# the record is trusted.)
vc__in_ns() {
	local mine ino
	mine=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 1
	[[ -e /run/netns/$2 ]] || return 0
	ino=$(stat -L -c %i "/run/netns/$2" 2>/dev/null) || return 1
	[[ $mine == "net:[$ino]" ]]
}

# vc_live_pid NODE ROLE: print the PID of that daemon of NODE (NODE "br"
# for the run's anchor) if it is alive and really ours; fail otherwise.
vc_live_pid() {
	local p
	p=$(vc_pid "$1" "$2")
	[[ -n $p ]] && vc_alive "$p" && vc__in_ns "$p" "$VC_PREFIX-$1" && printf '%s\n' "$p"
}

# vc_node_alive NODE ROLE: true if that daemon of NODE is alive.
vc_node_alive() { vc_live_pid "$1" "$2" >/dev/null; }

# vc_node_pids NODE: every live process of the node (its network namespace).
vc_node_pids() { vc_ns_pids "$(vc_ns "$1")"; }

# vc_powered NODE: true if any process of the node is alive ("power on").
vc_powered() { [[ -n $(vc_node_pids "$1") ]]; }

# ---------------------------------------------------------------- locking

# vc_lock: take the run's lock on fd 9 (held until the process exits).
vc_lock() {
	eval "exec $VC_LOCK_FD>>\"\$VC_DIR/lock\"" || return 1
	if ! flock -w 120 "$VC_LOCK_FD"; then
		vc_err "$VC_DIR: another vcluster command holds the lock for > 120 s"
		return 1
	fi
}

# ---------------------------------------------------------------- running in a node

# vc_exec NODE CMD...: run CMD in the node's network and mount namespaces
# (its private /run, /etc/corosync, ...), in the caller's directory when the
# node can see it.
vc_exec() {
	local node=$1 holder
	shift
	vc__check_node "$node" || return 1
	(($#)) || {
		vc_err "exec: no command"
		return 1
	}
	if ! holder=$(vc_live_pid "$node" holder); then
		vc_err "$node is down (no namespace holder); try 'vcluster start $node'"
		return 1
	fi
	local nsf=(-m -n)
	! vc__uts "$node" || nsf+=(-u)
	# shellcheck disable=SC2016
	nsenter -t "$holder" "${nsf[@]}" -- sh -c 'cd "$1" 2>/dev/null || cd /; shift; exec "$@"' vc-exec "$PWD" "$@"
}

# vc_query NODE CMD...: vc_exec bounded by VC_QUERY_TIMEOUT_S, for polls.
vc_query() {
	local node=$1 holder
	shift
	holder=$(vc_live_pid "$node" holder) || return 1
	local nsf=(-m -n)
	! vc__uts "$node" || nsf+=(-u)
	timeout -k 1 "$VC_QUERY_TIMEOUT_S" nsenter -t "$holder" "${nsf[@]}" -- "$@"
}

# vc_membership NODE: print "COUNT RING_ID" as NODE's corosync sees them
# (fails if corosync does not answer). corosync-quorumtool exits 2 when not
# quorate but still prints.
vc_membership() {
	local out
	out=$(vc_query "$1" corosync-quorumtool -s -p 2>/dev/null) || [[ -n $out ]] || return 1
	awk '/^Nodes:/ { n = $2 } /^Ring ID:/ { r = $3 } END { if (n == "" || r == "") exit 1; print n, r }' <<<"$out"
}

# vc_members NODE: print how many members NODE's corosync sees.
vc_members() {
	local m
	m=$(vc_membership "$1") || return 1
	printf '%s\n' "${m%% *}"
}

vc__members_is() {
	local m
	m=$(vc_members "$1") && [[ $m == "$2" ]]
}

# vc_all_see COUNT [NODE...]: every NODE (default: all) sees COUNT members
# and all of them the same ring id (so a woken node's stale view is not
# taken for a re-formed ring).
vc_all_see() {
	local want=$1 node m ring="" nodes
	shift
	if (($# == 0)); then
		mapfile -t nodes < <(vc_nodes)
		set -- "${nodes[@]}"
	fi
	for node in "$@"; do
		m=$(vc_membership "$node") || return 1
		[[ ${m%% *} == "$want" ]] || return 1
		[[ -z $ring || $ring == "${m#* }" ]] || return 1
		ring=${m#* }
	done
}

# vc_wait_members NODE COUNT [TIMEOUT_S]: poll until NODE sees COUNT members.
vc_wait_members() {
	vc_wait "${3:-$VC_UP_TIMEOUT_S}" vc__members_is "$1" "$2"
}


# vc_clusterd_up_count NODE: print how many nodes `cluadmin node list
# --json` on NODE reports with state "Up".
vc_clusterd_up_count() {
	local out
	out=$(vc_query "$1" "$VC_CLUADMIN" node list --json 2>/dev/null) || return 1
	if command -v jq >/dev/null; then
		jq -e '[.nodes[] | select(.state == "Up")] | length' <<<"$out" 2>/dev/null
	else
		grep -o '"state"[[:space:]]*:[[:space:]]*"Up"' <<<"$out" | wc -l
	fi
}

vc__clusterd_up_is() {
	local c
	c=$(vc_clusterd_up_count "$1") && [[ $c == "$2" ]]
}

# ---------------------------------------------------------------- network

vc__sysctl_ns() {
	# IPv6 off in every namespace of ours: no link-local or ::1 addresses,
	# only the 198.18/15 and 127/8 ones we assign.
	# shellcheck disable=SC2016
	ip netns exec "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -e "$f" ] && echo 1 >"$f"; done; exit 0'
}

vc__ns_add() {
	ip netns add "$1" || return 1
	vc__sysctl_ns "$1" || return 1
	ip -n "$1" link set lo up
}

# vc__net_create: the br namespace with brc/brs, san, and one per node.
vc__net_create() {
	local br i ns
	br=$(vc_ns br)
	vc__ns_add "$br" || return 1
	ip -n "$br" link add brc type bridge stp_state 0 forward_delay 0 || return 1
	ip -n "$br" link add brs type bridge stp_state 0 forward_delay 0 || return 1
	ip -n "$br" link set brc up || return 1
	ip -n "$br" link set brs up || return 1

	ns=$(vc_ns san)
	vc__ns_add "$ns" || return 1
	ip -n "$br" link add san-s type veth peer name eth0 netns "$ns" || return 1
	ip -n "$br" link set san-s master brs up || return 1
	ip -n "$ns" addr add "$(vc_san_target_ip)/24" dev eth0 || return 1
	ip -n "$ns" link set eth0 up || return 1

	for ((i = 1; i <= VC_NODES; i++)); do
		ns=$(vc_ns "n$i")
		vc__ns_add "$ns" || return 1
		ip -n "$br" link add "n$i-c" type veth peer name eth0 netns "$ns" || return 1
		ip -n "$br" link add "n$i-s" type veth peer name eth1 netns "$ns" || return 1
		ip -n "$br" link set "n$i-c" master brc up || return 1
		ip -n "$br" link set "n$i-s" master brs up || return 1
		ip -n "$ns" addr add "198.18.$VC_SLOT.$i/24" dev eth0 || return 1
		ip -n "$ns" addr add "198.19.$VC_SLOT.$i/24" dev eth1 || return 1
		ip -n "$ns" link set eth0 up || return 1
		ip -n "$ns" link set eth1 up || return 1
	done
}

# vc_cut NODE / vc_heal NODE: cluster link of NODE down/up on the bridge
# side. Storage (eth1) is untouched.
# vc__link NODE SUFFIX up|down: one of NODE's links on the bridge side
# (c: cluster, s: storage).
vc__link() {
	vc__check_node "$1" || return 1
	ip -n "$(vc_ns br)" link set "$1-$2" "$3"
}
vc_cut() { vc__link "$1" c down; }
vc_heal() { vc__link "$1" c up; }

# vc_split NODE,NODE,...: those nodes' cluster links move to a second bridge
# (brc2): two partitions that each still see their own members, which
# link-down cannot make (it isolates single nodes). Storage stays shared.
vc_split() {
	local br n
	br=$(vc_ns br)
	[[ -n $1 ]] || { vc_err "split needs NODE,NODE,..."; return 1; }
	if ! ip -n "$br" link show brc2 >/dev/null 2>&1; then
		ip -n "$br" link add brc2 type bridge stp_state 0 forward_delay 0 || return 1
		ip -n "$br" link set brc2 up || return 1
	fi
	for n in ${1//,/ }; do
		vc__check_node "$n" || return 1
		ip -n "$br" link set "$n-c" master brc2 || return 1
	done
}

# vc_unsplit: every node's cluster link back on brc.
vc_unsplit() {
	local br i
	br=$(vc_ns br)
	for ((i = 1; i <= VC_NODES; i++)); do
		ip -n "$br" link set "n$i-c" master brc || return 1
	done
}

# vc_link_state NODE: "up" or "cut".
vc_link_state() {
	if ip -n "$(vc_ns br)" -o link show "$1-c" 2>/dev/null | grep -q '[<,]UP[,>]'; then
		echo up
	else
		echo cut
	fi
}

# ---------------------------------------------------------------- cluster files

vc__cluster_create() {
	local i args=()
	for ((i = 1; i <= VC_NODES; i++)); do
		args+=(--node "n$i=198.18.$VC_SLOT.$i")
	done
	if [[ ! -x $VC_CLUADMIN ]]; then
		vc_err "cluadmin not found or not executable: $VC_CLUADMIN (build it, or set VC_CLUADMIN)"
		return 1
	fi
	# --skip-validation: the nodes do not exist yet (t_clusval.sh validates them)
	if ! "$VC_CLUADMIN" cluster create "$VC_NAME" "${args[@]}" --dir "$VC_DIR/cluster" --skip-validation \
		--token "$VC_TOKEN" --token-coefficient "$VC_TOKEN_COEFF" >"$VC_DIR/cluadmin-create.out" 2>&1; then
		vc_err "'$VC_CLUADMIN cluster create' failed:"
		sed 's/^/  /' "$VC_DIR/cluadmin-create.out" >&2
		return 1
	fi
	local f
	for f in corosync.conf authkey; do
		[[ -f $VC_DIR/cluster/$f ]] || {
			vc_err "cluadmin cluster create did not write $f"
			return 1
		}
	done
	# Every node of a run shares this machine's 2 cores. At corosync's default
	# realtime priority, corosyncs that spin after a rejoin starve each other
	# and everything else for minutes (seen: "main process was not scheduled
	# for 1150 ms", a 107 s rejoin). Real hosts keep the default.
	printf '\nsystem {\n    # vcluster: nodes share one machine; no realtime scheduling\n    sched_rr: no\n}\n' \
		>>"$VC_DIR/cluster/corosync.conf"
	if [[ $VC_CLUSTERD != none ]]; then
		for f in clusterd.conf cluster.db; do
			[[ -f $VC_DIR/cluster/$f ]] || {
				vc_err "cluadmin cluster create did not write $f"
				return 1
			}
		done
		vc__libvirt_conf "$VC_DIR/cluster/clusterd.conf" || return 1
	fi
}

# vc__node_prepare NODE: the node dir is the node's disk: files from the
# cluster dir are copied only where the node has none, so a node keeps its
# cluster.db (and any config a test edited in place) across kill/start.
vc__node_prepare() {
	local nd
	nd=$(vc_node_dir "$1")
	mkdir -p "$nd"/{etc-corosync,var-lib-corosync,log,lib,runfs} || return 1
	vc__copy_new 0644 "$VC_DIR/cluster/corosync.conf" "$nd/etc-corosync/corosync.conf" &&
		vc__copy_new 0400 "$VC_DIR/cluster/authkey" "$nd/etc-corosync/authkey" &&
		vc__copy_new 0644 "$VC_DIR/cluster/clusterd.conf" "$nd/clusterd.conf" &&
		vc__copy_new 0644 "$VC_DIR/cluster/cluster.db" "$nd/lib/cluster.db" || return 1
	if vc_libvirt_enabled; then
		vc__libvirt_prepare "$1" || return 1
	fi
}

# vc__copy_new MODE SRC DST: copy if SRC exists and DST does not.
vc__copy_new() {
	[[ -f $2 && ! -e $3 ]] || return 0
	install -m "$1" -- "$2" "$3"
}

# ---------------------------------------------------------------- daemons

# The holder: a process that owns the node's mount namespace. /run becomes a
# tmpfs (corosync's pid file is compiled in as /var/run/corosync.pid); if the
# run dir lives under /run it is bound back at the same path, so the node
# sees its own files where the host does. The tmpfs is built at a staging
# point and moved onto /run, because mounting straight onto /run would hide
# the run dir before it could be bound. mount -n: never write the host's
# /run/mount/utab (and after the move, /run is not the host's anyway).
# With libvirt (VC_LIBVIRT=1) the holder gets a 4th argument, the node's
# hostname: it also owns a UTS namespace (unshare -u) and, first of all,
# mounts overlays on /etc and /var whose upper dirs are the node's
# (etc-upper, var-upper): the node's libvirt config, passwd, group, hosts
# and libvirt's state (/var/lib/libvirt, /var/cache/libvirt,
# /var/log/libvirt) stay there, the host's /etc and /var are never written.
# shellcheck disable=SC2016
VC__HOLDER_SH='set -e
nd=$1 rundir=$2 rel=$3 host=${4:-}
if [ -n "$host" ]; then
	mount -n -t overlay vc-etc -o "lowerdir=/etc,upperdir=$nd/etc-upper,workdir=$nd/etc-work" /etc
	mount -n -t overlay vc-var -o "lowerdir=/var,upperdir=$nd/var-upper,workdir=$nd/var-work" /var
	echo "$host" >/proc/sys/kernel/hostname
fi
mount -n --bind "$nd/etc-corosync" /etc/corosync
mount -n --bind "$nd/var-lib-corosync" /var/lib/corosync
mount -n --bind "$nd/log" /var/log/corosync
mount -n -t tmpfs -o mode=0755,size=64m vc-run "$nd/runfs"
if [ -n "$rel" ]; then
	mkdir -p "$nd/runfs/$rel"
	mount -n --bind "$rundir" "$nd/runfs/$rel"
fi
mount -n --move "$nd/runfs" /run
mkdir -p /run/lock /run/corosync /run/clusterd
[ -z "$host" ] || mkdir -p /run/libvirt
exec sleep infinity'

vc__comm_is() {
	local c
	{ read -r c <"/proc/$1/comm"; } 2>/dev/null || return 1
	[[ $c == "$2" ]]
}

# vc__started PID [COMM]: the exec chain went past setsid and nsenter (or
# reached COMM), or PID died.
vc__started() {
	local c
	vc_alive "$1" || return 0
	{ read -r c <"/proc/$1/comm"; } 2>/dev/null || return 0
	if [[ -n ${2:-} ]]; then
		[[ $c == "$2" ]]
	else
		[[ $c != setsid && $c != nsenter ]]
	fi
}

# vc__holder_start NODE [SCRIPT]: start the holder of NODE ("san" too) with
# SCRIPT (default VC__HOLDER_SH; called with the node dir, the run dir and
# the run dir relative to /run, and with libvirt the node's hostname) and
# wait until it is sleeping.
vc__holder_start() {
	local node=$1 script=${2:-$VC__HOLDER_SH} nd rel="" pid uts=() host=()
	nd=$(vc_node_dir "$node")
	if [[ $VC_DIR == /run/* ]]; then
		rel=${VC_DIR#/run/}
	fi
	if vc__uts "$node"; then
		uts=(-u)
		host=("$node")
	fi
	vc__spawn "$nd/holder.out" ip netns exec "$(vc_ns "$node")" unshare -m "${uts[@]}" --propagation private -- \
		sh -c "$script" vc-holder "$nd" "$VC_DIR" "$rel" "${host[@]}"
	pid=$VC__SPAWNED
	vc__pid_set "$node" holder "$pid"
	vc_wait "$VC_READY_TIMEOUT_S" vc__started "$pid" sleep || true
	if ! vc__comm_is "$pid" sleep; then
		vc_err "$node: namespace holder (pid $pid) failed; see $nd/holder.out:"
		tail -n 5 "$nd/holder.out" | sed 's/^/  /' >&2
		return 1
	fi
}

# vc__spawn OUTFILE CMD...: start CMD in the background in a session of its
# own (setsid: a Ctrl-C at the terminal does not reach it), stdin from
# /dev/null, stdout+stderr appended to OUTFILE, and no fd above 2 from us
# (the run lock, a caller's $(...) pipe). Sets VC__SPAWNED to its PID: the
# exec chain (setsid, nsenter, ip netns exec, unshare, sh -c exec) keeps it.
vc__spawn() {
	local out=$1
	shift
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			if ((fd > 2)); then
				eval "exec $fd>&-" 2>/dev/null || true
			fi
		done
		exec setsid "$@" </dev/null >>"$out" 2>&1
	) &
	VC__SPAWNED=$!
	# bash reaps it if it dies while we run, without a job notice
	disown "$VC__SPAWNED"
}

# The anchor: a process in the host's mount namespace (nsenter --net does not
# create a mount namespace) and in the br network namespace, so `down` kills
# it with the rest. Commands run inside a node (a fence agent called by
# clusterd) use it to get back to the host's view of /run/netns.
vc__anchor_start() {
	local pid
	vc__spawn /dev/null nsenter --net="/run/netns/$(vc_ns br)" -- sleep infinity
	pid=$VC__SPAWNED
	vc__pid_set br anchor "$pid"
	vc_wait "$VC_READY_TIMEOUT_S" vc__started "$pid" sleep || true
	vc__comm_is "$pid" sleep || {
		vc_err "anchor process (pid $pid) failed to start"
		return 1
	}
}

# vc__launch NODE ROLE COMM CMD...: start CMD in the node's namespaces
# (vc__spawn), output to <nodedir>/ROLE.out; record its PID. COMM is
# the process name to wait for ("" = anything past setsid/nsenter).
vc__launch() {
	local node=$1 role=$2 comm=$3 nd holder pid
	shift 3
	nd=$(vc_node_dir "$node")
	holder=$(vc_pid "$node" holder)
	local nsf=(-m -n)
	! vc__uts "$node" || nsf+=(-u)
	vc__spawn "$nd/$role.out" nsenter -t "$holder" "${nsf[@]}" -- "$@"
	pid=$VC__SPAWNED
	vc__pid_set "$node" "$role" "$pid"
	vc_wait "$VC_READY_TIMEOUT_S" vc__started "$pid" "$comm" || true
	if ! vc_alive "$pid"; then
		vc_err "$node: $role (pid $pid) exited at start; see $nd/$role.out:"
		tail -n 5 "$nd/$role.out" | sed 's/^/  /' >&2
		return 1
	fi
}

vc__corosync_ready() {
	vc_node_alive "$1" corosync || return 0 # dead: stop waiting, the caller reports it
	vc_query "$1" corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1
}

vc__corosync_start() {
	local node=$1 nd
	nd=$(vc_node_dir "$node")
	vc__launch "$node" corosync corosync corosync -f || return 1
	vc_wait "$VC_READY_TIMEOUT_S" vc__corosync_ready "$node" || true
	if ! vc_node_alive "$node" corosync; then
		vc_err "$node: corosync died at start; see $nd/corosync.out and $nd/log/corosync.log:"
		tail -n 5 "$nd/corosync.out" | sed 's/^/  /' >&2
		return 1
	fi
	if ! vc_query "$node" corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1; then
		vc_err "$node: corosync (pid $(vc_pid "$node" corosync)) does not answer IPC after ${VC_READY_TIMEOUT_S}s"
		return 1
	fi
}

vc__clusterd_start() {
	local node=$1 nd
	nd=$(vc_node_dir "$node")
	if [[ ! -x $VC_CLUSTERD ]]; then
		vc_err "clusterd not found or not executable: $VC_CLUSTERD (build it, set VC_CLUSTERD, or VC_CLUSTERD=none)"
		return 1
	fi
	vc__launch "$node" clusterd "" "$VC_CLUSTERD" -f -c "$nd/clusterd.conf" -s "$nd/lib" -l "$nd/log/clusterd.log"
}

# vc_start NODE: holder (if needed), corosync, libvirtd (VC_LIBVIRT=1),
# clusterd; each only if it is not running already.
vc_start() {
	local node=$1
	vc__check_node "$node" || return 1
	vc__node_prepare "$node" || return 1
	if ! vc_node_alive "$node" holder; then
		# Without its holder a node has no mount namespace to start into;
		# whatever still runs there (someone killed only the holder) goes.
		if vc_powered "$node"; then
			vc_info "$node: processes without a holder; killing them first"
			vc_kill "$node" || return 1
		fi
		vc__pid_clear "$node" corosync
		vc__pid_clear "$node" clusterd
		if vc_libvirt_enabled; then
			vc__pid_clear "$node" libvirtd
			vc__pid_clear "$node" reaper
		fi
		vc__holder_start "$node" || return 1
	fi
	if ! vc_node_alive "$node" corosync; then
		vc__corosync_start "$node" || return 1
	fi
	if vc_libvirt_enabled && ! vc_node_alive "$node" libvirtd; then
		vc__libvirtd_start "$node" || return 1
	fi
	if [[ $VC_CLUSTERD != none ]] && ! vc_node_alive "$node" clusterd; then
		vc__clusterd_start "$node" || return 1
	fi
}

# vc__term ROLE NODE...: SIGTERM that daemon on every NODE, wait for all of
# them, SIGKILL at the deadline. Stopping several at once overlaps the
# ~1 s each corosync takes to leave the ring.
vc__term() {
	local role=$1 node pid pids=() rc=0
	shift
	for node in "$@"; do
		if pid=$(vc_live_pid "$node" "$role"); then
			kill -TERM "$pid" 2>/dev/null || true
			if vc_stopped "$pid"; then
				kill -CONT "$pid" 2>/dev/null || true
			fi
			pids+=("$pid")
		fi
	done
	if ((${#pids[@]})) && ! vc_wait "$VC_STOP_TIMEOUT_S" vc__all_dead "${pids[@]}"; then
		for pid in "${pids[@]}"; do
			if vc_alive "$pid"; then
				vc_err "$role (pid $pid) ignored SIGTERM for ${VC_STOP_TIMEOUT_S}s; SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done
		if ! vc_wait "$VC_KILL_TIMEOUT_S" vc__all_dead "${pids[@]}"; then
			vc_err "$role: some of pids ${pids[*]} survive SIGKILL"
			rc=1
		fi
	fi
	for node in "$@"; do
		pid=$(vc_pid "$node" "$role")
		if [[ -n $pid ]] && ! vc_alive "$pid"; then
			vc__shm_clean "$pid"
			vc__pid_clear "$node" "$role"
		fi
	done
	return "$rc"
}

# vc_stop NODE...: graceful: clusterd first, then libvirtd (VC_LIBVIRT=1;
# its domains keep running, as on a real host), then corosync. Holders stay.
vc_stop() {
	local node
	for node in "$@"; do
		vc__check_node "$node" || return 1
	done
	vc__term clusterd "$@" || return 1
	if vc_libvirt_enabled; then
		vc__term libvirtd "$@" || return 1
		# the reaper exits with libvirtd, or when the QEMUs it adopted do
		for node in "$@"; do
			vc_node_alive "$node" reaper || vc__pid_clear "$node" reaper
		done
	fi
	vc__term corosync "$@"
}

# vc__kill_ns NS: SIGKILL every process in NS until none is left. Appends
# the PIDs killed to the array VC__KILLED.
vc__kill_ns() {
	local ns=$1 deadline p pids
	deadline=$(($(vc_now_ms) + VC_KILL_TIMEOUT_S * 1000))
	while :; do
		pids=$(vc_ns_pids "$ns")
		[[ -n $pids ]] || break
		for p in $pids; do
			kill -KILL "$p" 2>/dev/null || true
			VC__KILLED+=("$p")
		done
		if (($(vc_now_ms) >= deadline)); then
			vc_err "$ns: processes survive SIGKILL: $(echo "$pids" | tr '\n' ' ')"
			return 1
		fi
		vc_wait 1 vc__ns_empty "$ns" || true
	done
}

# vc_kill NODE: power off: SIGKILL every process of the node, the holder
# included (its mount namespace goes with it), then clean their /dev/shm.
# With libvirt, that includes libvirtd and every QEMU it started.
vc_kill() {
	local node=$1 rc=0 role p roles=(holder corosync clusterd)
	vc__check_node "$node" || return 1
	! vc_libvirt_enabled || roles+=(libvirtd reaper)
	VC__KILLED=()
	vc__kill_ns "$(vc_ns "$node")" || rc=1
	for role in "${roles[@]}"; do
		p=$(vc_pid "$node" "$role")
		[[ -n $p ]] && VC__KILLED+=("$p")
		vc__pid_clear "$node" "$role"
	done
	vc__shm_clean "${VC__KILLED[@]}"
	return "$rc"
}

# vc_signal NODE SIG: send SIG to every process of the node.
vc_signal() {
	local p
	vc__check_node "$1" || return 1
	for p in $(vc_node_pids "$1"); do
		kill "-$2" "$p" 2>/dev/null || true
	done
}
vc_pause() { vc_signal "$1" STOP; }
vc_resume() { vc_signal "$1" CONT; }

# ---------------------------------------------------------------- libvirt

# With VC_LIBVIRT=1 (recorded in the run's env) every node runs its own
# libvirtd, reachable from the other nodes at qemu+tcp://<node ip>/system
# (TCP without authentication: a test harness only). RECIPES.md, "libvirt,
# one daemon per node". What makes it per node:
# - the holder owns a UTS namespace (hostname nN) and overlays on /etc and
#   /var with upper dirs in the node dir (VC__HOLDER_SH); vc__libvirt_prepare
#   writes the node's files into etc-upper before the holder mounts it;
# - /run is the node's tmpfs already (unix sockets /run/libvirt/*, pid
#   file /run/libvirtd.pid, domain status XML);
# - every process of the node enters that UTS namespace too (vc__uts);
# - libvirtd runs under a reaper (below), which adopts its QEMUs.
# QEMU processes live in the node's namespaces: kill/down/pause treat them
# like any other process of the node ("other" in `vcluster pids`).

vc_libvirt_enabled() { [[ ${VC_LIBVIRT:-0} == 1 ]]; }

# vc__uts NODE: NODE's processes run in the holder's UTS namespace too.
vc__uts() { [[ ${VC_LIBVIRT:-0} == 1 && $1 != san && $1 != br ]]; }

# vc_libvirt_uri NODE: the URI other nodes reach NODE's libvirtd by.
vc_libvirt_uri() {
	local ip
	ip=$(vc_ip "$1") || return 1
	printf 'qemu+tcp://%s/system\n' "$ip"
}

# vc__free_id FILE START: the first id >= START that FILE (passwd or group
# format) does not use.
vc__free_id() {
	awk -F: -v id="$2" '{ used[$3] = 1 } END { while (id in used) id++; print id }' "$1"
}

# vc__write_new MODE FILE: stdin to FILE, only if FILE does not exist (the
# node dir is the node's disk: a test may have edited it).
vc__write_new() {
	local mode=$1 f=$2
	if [[ -e $f ]]; then
		cat >/dev/null
		return 0
	fi
	cat >"$f.tmp" && chmod "$mode" -- "$f.tmp" && mv -f -- "$f.tmp" "$f"
}

# vc__libvirt_prepare NODE: the node's overlay dirs and, in etc-upper (the
# node's /etc), passwd and group with a libvirt-qemu user and group (the
# qemu driver does not start without them, even with user="root"; the
# host's files are never touched), hosts with every node's name, hostname,
# libvirt/libvirtd.conf and libvirt/qemu.conf. Files that exist are kept.
vc__libvirt_prepare() {
	local node=$1 nd eu ip n uid gid
	nd=$(vc_node_dir "$node")
	eu=$nd/etc-upper
	ip=$(vc_ip "$node") || return 1
	mkdir -p "$eu/libvirt" "$nd/etc-work" "$nd/var-upper" "$nd/var-work" || return 1
	if [[ ! -e $eu/passwd || ! -e $eu/group ]]; then
		gid=$(getent group libvirt-qemu | cut -d: -f3)
		[[ -n $gid ]] || gid=$(vc__free_id /etc/group 64055)
		{
			cat /etc/group
			getent group libvirt-qemu >/dev/null || printf 'libvirt-qemu:x:%s:\n' "$gid"
		} | vc__write_new 0644 "$eu/group" || return 1
		uid=$(vc__free_id /etc/passwd 64055)
		{
			cat /etc/passwd
			getent passwd libvirt-qemu >/dev/null ||
				printf 'libvirt-qemu:x:%s:%s:Libvirt Qemu (vcluster node),,,:/var/lib/libvirt:/usr/sbin/nologin\n' "$uid" "$gid"
		} | vc__write_new 0644 "$eu/passwd" || return 1
	fi
	{
		printf '127.0.0.1\tlocalhost\n'
		for n in $(vc_nodes); do
			printf '%s\t%s\n' "$(vc_ip "$n")" "$n"
		done
	} | vc__write_new 0644 "$eu/hosts" || return 1
	printf '%s\n' "$node" | vc__write_new 0644 "$eu/hostname" || return 1
	# the upper dir may be written directly only while it is not mounted
	if ! vc_node_alive "$node" holder; then
		vc__libvirt_caps_seed_dir "$VC_LIBVIRT_CACHE" "$nd/var-upper/cache/libvirt/qemu/capabilities"
	fi
	# host_uuid: one per node (libvirt refuses a migration between hosts
	# with the same one, and UUIDs of one repeated digit)
	vc__write_new 0644 "$eu/libvirt/libvirtd.conf" <<-EOF || return 1
		# vcluster node $node, written by vcluster up. Test harness only:
		# TCP without authentication (production uses TLS or SSH).
		listen_tls = 0
		listen_tcp = 1
		listen_addr = "$ip"
		auth_tcp = "none"
		host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
	EOF
	vc__write_new 0644 "$eu/libvirt/qemu.conf" <<-EOF || return 1
		# vcluster node $node, written by vcluster up (RECIPES.md)
		user = "root"
		group = "root"
		dynamic_ownership = 0
		remember_owner = 0
		security_driver = "none"
		cgroup_controllers = [ ]
		namespaces = [ ]
		stdio_handler = "file"
		migration_address = "$ip"
		migration_host = "$ip"
	EOF
}

# vc__libvirt_conf FILE: with libvirt, clusterd reaches its own node's
# libvirtd by TCP (its unix socket is in the node's private /run, which
# clusterd shares, but TCP is what the peers use too, and one URI form for
# both keeps the logs readable). clusterd replaces {addr} with the node's
# own address, so the one file fits every node. A clusterd that does not
# know the key refuses to start ("unknown setting"): then it is left out,
# with a note.
vc__libvirt_conf() {
	local f=$1
	vc_libvirt_enabled || return 0
	grep -q '^libvirt_uri' -- "$f" && return 0
	if ! grep -aq 'libvirt_uri' -- "$VC_CLUSTERD" 2>/dev/null; then
		vc_info "clusterd ($VC_CLUSTERD) does not know libvirt_uri; not writing it to clusterd.conf"
		return 0
	fi
	printf '# vcluster: every node reaches libvirtd by TCP (harness only)\nlibvirt_uri = qemu+tcp://{addr}/system\n' >>"$f"
}

# The shared directory (VC_LIBVIRT=1): what a real cluster has on NFS or a
# cluster file system, for VM disks, saved memory state and console logs.
# It must be at the same path in every node and in the host; the nodes
# overlay /etc and /var and mount a tmpfs on /run, so it lives under /tmp
# (VC_SHARED_ROOT), which they see as the host does. It must also support
# O_DIRECT (QEMU cache='none'): tmpfs does only from Linux 6.6. Named by the
# run's prefix, recorded in env as VC_SHARED, removed by down.
vc__shared_path() { printf '%s/vcluster-%s-shared\n' "${VC_SHARED_ROOT:-/tmp}" "$VC_PREFIX"; }

vc__shared_create() {
	[[ -n ${VC_SHARED:-} ]] || return 0
	mkdir -p -- "$VC_SHARED" "$VC_SHARED/state" || {
		vc_err "cannot create the shared directory $VC_SHARED"
		return 1
	}
	chmod 0755 -- "$VC_SHARED"
}

# vc__shared_remove: only a directory of the form vc__shared_path makes,
# and nothing mounted below it.
vc__shared_remove() {
	local d=${VC_SHARED:-}
	[[ -n $d && -d $d ]] || return 0
	if [[ $d != /*/vcluster-"$VC_PREFIX"-shared ]]; then
		vc_err "VC_SHARED=$d is not a shared dir of run $VC_PREFIX; not removing it"
		return 1
	fi
	if awk -v d="$d/" 'index($5 "/", d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		vc_err "$d has mounts below it; not removing it"
		return 1
	fi
	rm -rf --one-file-system -- "$d"
}

# vc_shared: print the run's shared directory (fails without libvirt).
vc_shared() {
	if [[ -z ${VC_SHARED:-} ]]; then
		vc_err "this run has no shared directory (up --libvirt or VC_LIBVIRT=1)"
		return 1
	fi
	printf '%s\n' "$VC_SHARED"
}

# QEMU capabilities. At start, libvirt's qemu driver probes every
# qemu-system-* binary (x86_64 and i386 here) and caches the result in
# /var/cache/libvirt/qemu/capabilities: ~8 s under TCG for one libvirtd
# alone, ~24 s for three at once on 2 cores. The cache is valid for any
# node of this machine (libvirt checks the binaries' ctimes, its own
# version, the kernel and microcode, and probes again when it is stale), so
# vcluster copies it: into a node's var-upper from VC_LIBVIRT_CACHE before
# its holder mounts it; in up without such a cache, n1 probes first and the
# other nodes get a copy of its cache through their own /var; after up,
# n1's cache goes to VC_LIBVIRT_CACHE for the next runs.

# vc__libvirt_caps_dir NODE: the node's capabilities cache, as the host sees it.
vc__libvirt_caps_dir() { printf '%s/var-upper/cache/libvirt/qemu/capabilities\n' "$(vc_node_dir "$1")"; }

vc__libvirt_caps_have() { compgen -G "$1/*.xml" >/dev/null; }

# vc__libvirt_caps_seed_dir SRC DST: copy SRC's *.xml that DST lacks (a
# cache missing or unreadable is no error: libvirt probes).
vc__libvirt_caps_seed_dir() {
	local src=$1 dst=$2 f
	[[ $src != none ]] && vc__libvirt_caps_have "$src" || return 0
	mkdir -p -- "$dst" || return 0
	for f in "$src"/*.xml; do
		[[ -e $dst/${f##*/} ]] || cp -p -- "$f" "$dst/" 2>/dev/null || true
	done
}

# vc__libvirt_caps_seed_node NODE SRC: the same into a running node,
# through its own /var (its upper dir is mounted).
vc__libvirt_caps_seed_node() {
	local holder
	holder=$(vc_live_pid "$1" holder) || return 0
	# shellcheck disable=SC2016
	nsenter -t "$holder" -m -- sh -c 'd=/var/cache/libvirt/qemu/capabilities
		mkdir -p "$d" || exit 0
		for f in "$1"/*.xml; do
			[ -e "$f" ] && [ ! -e "$d/${f##*/}" ] && cp -p "$f" "$d/"
		done
		exit 0' vc-caps "$2"
}

# vc__libvirt_caps_save NODE: NODE's cache to VC_LIBVIRT_CACHE, each file
# replaced atomically (concurrent runs); failures only warn.
vc__libvirt_caps_save() {
	local src f tmp
	[[ $VC_LIBVIRT_CACHE != none ]] || return 0
	src=$(vc__libvirt_caps_dir "$1")
	vc__libvirt_caps_have "$src" || return 0
	mkdir -p -- "$VC_LIBVIRT_CACHE" || {
		vc_err "cannot create $VC_LIBVIRT_CACHE (VC_LIBVIRT_CACHE); the next run probes QEMU again"
		return 0
	}
	for f in "$src"/*.xml; do
		cmp -s -- "$f" "$VC_LIBVIRT_CACHE/${f##*/}" && continue
		tmp=$VC_LIBVIRT_CACHE/.${f##*/}.$$
		if ! { cp -p -- "$f" "$tmp" && mv -f -- "$tmp" "$VC_LIBVIRT_CACHE/${f##*/}"; }; then
			rm -f -- "$tmp"
		fi
	done
}

# The reaper. QEMU daemonizes: once libvirt's intermediate child exits, a
# QEMU process is an orphan, adopted by the nearest "child subreaper"
# ancestor, else by init. This machine's init reaps late (~2 s), and until
# a stopped QEMU is reaped libvirt waits for it (a zombie still answers
# kill(pid, 0)): every migration's confirm phase, destroy and shutdown took
# 1-2 s more than on a real host (a live migration 1.6-2.4 s instead of
# ~0.4 s). So libvirtd runs under vc-reaper (perl, from perl-base): it marks
# itself a subreaper (prctl PR_SET_CHILD_SUBREAPER), forks and execs
# libvirtd, writes its PID to <node>/libvirtd.child, forwards TERM INT HUP
# QUIT USR1 USR2 to it, and reaps every orphan at once; it exits when
# libvirtd has exited and no child is left (after 'stop' it stays while
# QEMUs it adopted run on). Role "reaper"; role "libvirtd" is libvirtd itself.
# shellcheck disable=SC2016
VC__REAPER_PL='use strict;
my $pidfile = shift @ARGV;
$0 = "vc-reaper";
my $nr = eval { no strict "refs"; local $SIG{__WARN__} = sub {}; require "syscall.ph"; &{"SYS_prctl"}() } || 157;
syscall($nr, 36, 1, 0, 0, 0) == 0 or die "vc-reaper: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
my ($child, $status);
for my $s (qw(TERM INT HUP QUIT USR1 USR2)) { $SIG{$s} = sub { kill($s, $child) if $child && !defined $status }; }
$child = fork();
defined $child or die "vc-reaper: fork: $!\n";
if ($child == 0) { exec { $ARGV[0] } @ARGV; die "vc-reaper: exec $ARGV[0]: $!\n"; }
if (open(my $fh, ">", "$pidfile.tmp")) { print $fh "$child\n"; close($fh); rename("$pidfile.tmp", $pidfile); }
while (1) {
	my $w = waitpid(-1, 0);
	last if $w < 0;
	$status = $? if $w == $child;
}
exit(!defined $status ? 1 : ($status & 127) ? 128 + ($status & 127) : $status >> 8);'

# vc__libvirtd_launch NODE: start the node's libvirtd under its reaper (not
# waiting for it to answer); record both.
vc__libvirtd_launch() {
	local node=$1 nd holder pid child=""
	nd=$(vc_node_dir "$node")
	holder=$(vc_pid "$node" holder)
	rm -f -- "$nd/libvirtd.child"
	vc__spawn "$nd/libvirtd.out" nsenter -t "$holder" -m -n -u -- \
		perl -e "$VC__REAPER_PL" "$nd/libvirtd.child" libvirtd --listen --pid-file /run/libvirtd.pid
	pid=$VC__SPAWNED
	vc__pid_set "$node" reaper "$pid"
	vc_wait "$VC_READY_TIMEOUT_S" vc__libvirtd_forked "$pid" "$nd/libvirtd.child" || true
	{ read -r child <"$nd/libvirtd.child"; } 2>/dev/null || true
	if [[ -z $child ]] || ! vc_alive "$child"; then
		vc_err "$node: libvirtd (reaper pid $pid, libvirtd pid ${child:-?}) exited at start; see $nd/libvirtd.out:"
		tail -n 5 "$nd/libvirtd.out" | sed 's/^/  /' >&2
		return 1
	fi
	vc__pid_set "$node" libvirtd "$child"
}

# vc__libvirtd_forked REAPER PIDFILE: the reaper wrote libvirtd's PID and
# libvirtd has exec'd (or either died: stop waiting).
vc__libvirtd_forked() {
	local child
	vc_alive "$1" || return 0
	{ read -r child <"$2"; } 2>/dev/null || return 1
	vc__started "$child" libvirtd
}

# vc__libvirtd_answers NODE: libvirtd answers on its TCP URI (or died:
# stop waiting, the caller reports it).
vc__libvirtd_answers() {
	vc_node_alive "$1" libvirtd || return 0
	vc_query "$1" virsh -q -c "$(vc_libvirt_uri "$1")" version </dev/null >/dev/null 2>&1
}

# vc__libvirtd_wait NODE: wait until NODE's libvirtd answers; fail with
# the tail of its output otherwise.
vc__libvirtd_wait() {
	local node=$1 nd
	nd=$(vc_node_dir "$node")
	vc_wait "$VC_LIBVIRT_TIMEOUT_S" vc__libvirtd_answers "$node" || true
	if ! vc_node_alive "$node" libvirtd; then
		vc_err "$node: libvirtd died at start; see $nd/libvirtd.out:"
		tail -n 5 "$nd/libvirtd.out" | sed 's/^/  /' >&2
		return 1
	fi
	if ! vc__libvirtd_answers "$node"; then
		vc_err "$node: libvirtd (pid $(vc_pid "$node" libvirtd)) does not answer at $(vc_libvirt_uri "$node") after ${VC_LIBVIRT_TIMEOUT_S}s"
		return 1
	fi
}

vc__libvirtd_start() {
	vc__libvirtd_launch "$1" && vc__libvirtd_wait "$1"
}

# vc_virsh NODE ARGS...: virsh in NODE against NODE's own libvirtd, by
# its TCP URI (as the other nodes reach it).
vc_virsh() {
	local node=$1
	shift
	vc_exec "$node" virsh -c "$(vc_libvirt_uri "$node")" "$@"
}

# ---------------------------------------------------------------- the SAN

# One iSCSI target per run (unless VC_SAN=0): tgtd in the namespace
# <prefix>-san, listening only on 198.19.S.254:3260, in a mount namespace
# of its own (a holder, as the nodes have) so that its control socket
# /var/run/tgtd/socket.0 is private to the run: tgtadm runs in the same
# namespaces. Target tid 1, iqn.2026-11.test.vcluster:<prefix>, bound to
# ALL initiators; its LUNs are sparse files in <run>/san/ (vc__san_luns).
# The files outlive tgtd: san-stop / san-start keep the data (but not the
# SCSI-3 reservations: tgt does not persist them).

VC_IQN_BASE=iqn.2026-11.test.vcluster
VC_SAN_PORT=3260

# The holder of the SAN's mount namespace: a tmpfs on /run (tgtd's socket
# dir /var/run/tgtd is compiled in), with the run dir bound back at its own
# path when it lives under /run (tgtd opens the backing files by the paths
# tgtadm gives it). Built like the nodes' /run (VC__HOLDER_SH).
# shellcheck disable=SC2016
VC__SAN_HOLDER_SH='set -e
sd=$1 rundir=$2 rel=$3
mount -n -t tmpfs -o mode=0755,size=16m vc-san-run "$sd/runfs"
if [ -n "$rel" ]; then
	mkdir -p "$sd/runfs/$rel"
	mount -n --bind "$rundir" "$sd/runfs/$rel"
fi
mount -n --move "$sd/runfs" /run
mkdir -p /run/lock /run/tgtd
exec sleep infinity'

# vc__san_luns: the LUNs, lines "LUN NAME MIB". LUN 0 is tgt's own
# controller LUN.
vc__san_luns() {
	printf '1 witness %s\n2 scratch %s\n' "$VC_WITNESS_MB" "$VC_SCRATCH_MB"
	# for refusal tests: a CD-ROM LUN (tgt's emulation rejects persistent
	# reservations) and a LUN smaller than a witness needs
	printf '3 nopr 16\n4 small 8\n'
	# storage: a cluster shared volume and two physical disks (sparse)
	printf '5 csv 512\n6 disk1 32\n7 disk2 32\n'
}

vc_san_enabled() { [[ ${VC_SAN:-0} == 1 ]]; }

vc__san_check() {
	vc_san_enabled && return 0
	vc_err "this run has no SAN (it was brought up with VC_SAN=0)"
	return 1
}

vc_san_iqn() { printf '%s:%s\n' "$VC_IQN_BASE" "$VC_PREFIX"; }
vc_san_portal() { printf '%s:%s\n' "$(vc_san_target_ip)" "$VC_SAN_PORT"; }

# vc_initiator NODE: the initiator name NODE uses (by convention: nothing
# makes a node use it; tgt accepts any name, the target is bound to ALL).
vc_initiator() {
	vc__check_node "$1" || return 1
	printf '%s:%s-%s\n' "$VC_IQN_BASE" "$VC_PREFIX" "$1"
}

# vc__san_lun_name LUN: print the name of an exported LUN, fail otherwise.
vc__san_lun_name() {
	local lun name mb
	while read -r lun name mb; do
		if [[ $lun == "$1" ]]; then
			printf '%s\n' "$name"
			return 0
		fi
	done < <(vc__san_luns)
	vc_err "no LUN '$1' (this run has: $(vc__san_luns | awk '{printf "%s%s (%s, %s MiB)", sep, $1, $2, $3; sep = ", "}'))"
	return 1
}

# vc_san_file LUN: the LUN's backing file.
vc_san_file() {
	local name
	name=$(vc__san_lun_name "$1") || return 1
	printf '%s/lun%s-%s.img\n' "$(vc_node_dir san)" "$1" "$name"
}

# vc_san_url [LUN]: iscsi://198.19.S.254:3260/<iqn>/<lun> (default LUN 1,
# the witness).
vc_san_url() {
	local lun=${1:-1}
	vc__san_check || return 1
	vc__san_lun_name "$lun" >/dev/null || return 1
	printf 'iscsi://%s/%s/%s\n' "$(vc_san_portal)" "$(vc_san_iqn)" "$lun"
}

# vc_san_tgtadm ARGS...: tgtadm against the run's tgtd (its private control
# socket), bounded by VC_QUERY_TIMEOUT_S (a paused tgtd cannot hang it).
vc_san_tgtadm() {
	local holder
	holder=$(vc_live_pid san holder) || {
		vc_err "san: no namespace holder; try 'vcluster san-start'"
		return 1
	}
	timeout -k 1 "$VC_QUERY_TIMEOUT_S" nsenter -t "$holder" -m -n -- tgtadm "$@" </dev/null
}

# vc__san_op ARGS...: vc_san_tgtadm, with its output as the error message.
vc__san_op() {
	local out
	out=$(vc_san_tgtadm "$@" 2>&1) && return 0
	vc_err "san: 'tgtadm $*' failed: $out"
	return 1
}

# vc_san_listeners: every listening TCP and UDP socket in the SAN's
# namespace, lines "tcp ADDR:PORT".
vc_san_listeners() {
	ss -H -N "$(vc_ns san)" -ltnu 2>/dev/null | awk '{ print $1, $5 }'
}

# vc__san_listening: tgtd listens on the portal and nowhere else.
vc__san_listening() {
	[[ $(vc_san_listeners) == "tcp $(vc_san_portal)" ]]
}

# vc__san_answers: tgtd answers tgtadm (or died: stop waiting).
vc__san_answers() {
	vc_node_alive san tgtd || return 0
	vc_san_tgtadm --op show --mode system >/dev/null 2>&1
}

# vc__san_tids: the target ids tgtd has, one a line.
vc__san_tids() {
	local out
	out=$(vc_san_tgtadm --lld iscsi --op show --mode target 2>/dev/null) || return 1
	awk '$1 == "Target" { sub(":", "", $2); print $2 }' <<<"$out"
}

# vc__san_configured: target 1 is ours, has every LUN and is bound to ALL.
vc__san_configured() {
	local out
	out=$(vc_san_tgtadm --lld iscsi --op show --mode target 2>/dev/null) || return 1
	awk -v iqn="$(vc_san_iqn)" -v want="$(vc__san_luns | wc -l)" '
		$1 == "Target" { t = ($2 == "1:" && $3 == iqn); acl = 0 }
		t && $1 == "LUN:" && $2 > 0 { n++ }
		t && /ACL information:/ { acl = 1; next }
		t && acl && $1 == "ALL" { all = 1 }
		END { exit !(n == want && all) }' <<<"$out"
}

# vc_san_sessions: the iSCSI sessions (I_T nexus) tgtd has, lines
# "INITIATOR ADDRESS".
vc_san_sessions() {
	local out
	out=$(vc_san_tgtadm --lld iscsi --op show --mode target 2>/dev/null) || return 1
	awk '$1 == "Initiator:" { i = $2 } $1 == "IP" && $2 == "Address:" { print i, $3 }' <<<"$out"
}

# vc__san_configure: (re)make target 1 with its LUNs. A half-made target
# (an interrupted start) is deleted first. Each LUN gets a serial and a
# T10 id of the run's own, so LUNs of two runs never look alike (tgt's
# default serial is beaf<tid><lun>).
vc__san_configure() {
	local tid lun name mb
	for tid in $(vc__san_tids); do
		vc__san_op --lld iscsi --op delete --mode target --tid "$tid" --force || return 1
	done
	vc__san_op --lld iscsi --op new --mode target --tid 1 -T "$(vc_san_iqn)" || return 1
	while read -r lun name mb; do
		local dtype=()
		[[ $name == nopr ]] && dtype=(--device-type cd)
		vc__san_op --lld iscsi --op new --mode logicalunit --tid 1 --lun "$lun" \
			-b "$(vc_san_file "$lun")" --bstype rdwr "${dtype[@]}" || return 1
		vc__san_op --lld iscsi --op update --mode logicalunit --tid 1 --lun "$lun" \
			--params "scsi_sn=$VC_PREFIX-$lun,scsi_id=$VC_PREFIX-$name" || return 1
	done < <(vc__san_luns)
	# bound last: no initiator logs in to a target still being built
	vc__san_op --lld iscsi --op bind --mode target --tid 1 -I ALL
}

# vc__san_kill PID: SIGKILL tgtd, wait until it is gone.
vc__san_kill() {
	kill -KILL "$1" 2>/dev/null || true
	vc_wait "$VC_KILL_TIMEOUT_S" vc__all_dead "$1" && return 0
	vc_err "san: tgtd (pid $1) survives SIGKILL"
	return 1
}

# vc_san_start: holder (if needed), backing files (only those missing:
# existing data stays), tgtd, target and LUNs; each only if it is not
# there already. Waits until tgtd listens on the portal and nowhere else.
vc_san_start() {
	local sd holder pid lun name mb f t0
	vc__san_check || return 1
	t0=$(vc_now_ms)
	sd=$(vc_node_dir san)
	mkdir -p "$sd/runfs" || return 1
	if ! vc_node_alive san holder; then
		# without its holder, tgtadm cannot reach a tgtd
		if pid=$(vc_live_pid san tgtd); then
			vc_info "san: tgtd (pid $pid) runs without its namespace holder; killing it first"
			vc__san_kill "$pid" || return 1
		fi
		vc__pid_clear san tgtd
		vc__holder_start san "$VC__SAN_HOLDER_SH" || return 1
	fi
	holder=$(vc_pid san holder)
	while read -r lun name mb; do
		f=$(vc_san_file "$lun") || return 1
		if [[ ! -e $f ]]; then
			truncate -s "${mb}M" -- "$f" || return 1
		fi
	done < <(vc__san_luns)
	if ! vc_node_alive san tgtd; then
		vc__spawn "$sd/tgtd.out" nsenter -t "$holder" -m -n -- \
			tgtd -f --iscsi "portal=$(vc_san_portal)"
		pid=$VC__SPAWNED
		vc__pid_set san tgtd "$pid"
		vc_wait "$VC_READY_TIMEOUT_S" vc__san_answers || true
		if ! vc_node_alive san tgtd; then
			vc_err "san: tgtd (pid $pid) exited at start; see $sd/tgtd.out:"
			tail -n 5 "$sd/tgtd.out" | sed 's/^/  /' >&2
			return 1
		fi
		if ! vc_san_tgtadm --op show --mode system >/dev/null 2>&1; then
			vc_err "san: tgtd (pid $pid) does not answer tgtadm after ${VC_READY_TIMEOUT_S}s"
			return 1
		fi
	fi
	if ! vc__san_configured; then
		vc__san_configure || return 1
	fi
	if ! vc_wait "$VC_READY_TIMEOUT_S" vc__san_listening; then
		vc_err "san: tgtd does not listen on $(vc_san_portal) alone; listening: $(vc_san_listeners | tr '\n' ' ')"
		return 1
	fi
	vc_info "san: tgtd pid $(vc_pid san tgtd), portal $(vc_san_portal), target $(vc_san_iqn), ready after $(($(vc_now_ms) - t0)) ms"
}

# vc__san_unconfigure: delete every target (--force: sessions go too).
# Fails while a LUN has commands in flight (retried by the caller).
vc__san_unconfigure() {
	local tid tids
	tids=$(vc__san_tids) || return 1
	for tid in $tids; do
		vc_san_tgtadm --lld iscsi --op delete --mode target --tid "$tid" --force >/dev/null 2>&1 || return 1
	done
}

# vc_san_stop: stop tgtd (the holder and the backing files stay). As tgt
# wants it: delete the targets, then the system (SIGTERM alone does not
# stop a tgtd that has a target); SIGKILL when that does not work within
# VC_SAN_STOP_TIMEOUT_S, or at once if tgtd is paused.
vc_san_stop() {
	local pid
	vc__san_check || return 1
	if ! pid=$(vc_live_pid san tgtd); then
		vc__pid_clear san tgtd
		vc_info "san: tgtd is not running"
		return 0
	fi
	if vc_stopped "$pid"; then
		vc_info "san: tgtd (pid $pid) is paused; SIGKILL"
		vc__san_kill "$pid" || return 1
	elif vc_wait "$VC_SAN_STOP_TIMEOUT_S" vc__san_unconfigure &&
		vc_san_tgtadm --op delete --mode system >/dev/null 2>&1 &&
		vc_wait "$VC_SAN_STOP_TIMEOUT_S" vc__all_dead "$pid"; then
		vc_info "san: tgtd (pid $pid) stopped"
	else
		vc_err "san: tgtd (pid $pid) did not stop through tgtadm within ${VC_SAN_STOP_TIMEOUT_S}s (a LUN kept busy?); SIGKILL"
		vc__san_kill "$pid" || return 1
	fi
	vc__pid_clear san tgtd
}

# vc_san_cut NODE / vc_san_heal NODE: storage link of NODE down/up on the
# bridge side. The cluster network (eth0) is untouched.
vc_san_cut() { vc__link "$1" s down; }
vc_san_heal() { vc__link "$1" s up; }

# vc_san_link_state NODE: "up" or "cut".
vc_san_link_state() {
	if ip -n "$(vc_ns br)" -o link show "$1-s" 2>/dev/null | grep -q '[<,]UP[,>]'; then
		echo up
	else
		echo cut
	fi
}

# ---------------------------------------------------------------- up / down

vc__slot_alloc() {
	local s start i
	start=$((RANDOM % 250))
	for ((i = 0; i < 250; i++)); do
		s=$(((start + i) % 250 + 1))
		# mkdir -p each time: a concurrent down may rmdir an empty VC_SLOTS
		mkdir -p "$VC_SLOTS" || return 1
		if mkdir "$VC_SLOTS/$s" 2>/dev/null; then
			printf '%s\n' "$VC_DIR" >"$VC_SLOTS/$s/owner"
			VC_SLOT=$s
			return 0
		fi
	done
	vc_err "no free subnet slot in $VC_SLOTS (1..250 all taken; stale ones belong to runs not brought down)"
	return 1
}

vc__slot_free() {
	local d=$VC_SLOTS/${VC_SLOT:-x} owner=""
	[[ -d $d ]] || return 0
	{ read -r owner <"$d/owner"; } 2>/dev/null || true
	if [[ $owner == "$VC_DIR" ]]; then
		rm -f -- "$d/owner"
		rmdir -- "$d"
	fi
}

vc__write_env() {
	{
		printf '# vcluster run, written by vcluster up\n'
		printf 'VC_PREFIX=%q\nVC_SLOT=%q\nVC_NODES=%q\nVC_TOKEN=%q\nVC_TOKEN_COEFF=%q\n' \
			"$VC_PREFIX" "$VC_SLOT" "$VC_NODES" "$VC_TOKEN" "$VC_TOKEN_COEFF"
		printf 'VC_NAME=%q\nVC_CLUADMIN=%q\nVC_CLUSTERD=%q\n' "$VC_NAME" "$VC_CLUADMIN" "$VC_CLUSTERD"
		printf 'VC_SAN=%q\nVC_WITNESS_MB=%q\nVC_SCRATCH_MB=%q\n' "$VC_SAN" "$VC_WITNESS_MB" "$VC_SCRATCH_MB"
		printf 'VC_LIBVIRT=%q\n' "$VC_LIBVIRT"
		printf 'VC_SHARED=%q\n' "${VC_SHARED:-}"
	} >"$VC_DIR/env.tmp" && mv -f -- "$VC_DIR/env.tmp" "$VC_DIR/env"
}

vc__check_tools() {
	local t missing=()
	for t in ip unshare nsenter setsid flock timeout corosync corosync-quorumtool corosync-cmapctl awk; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	if [[ $VC_SAN == 1 ]]; then
		for t in tgtd tgtadm ss truncate; do
			command -v "$t" >/dev/null || missing+=("$t (for the SAN: package tgt, or VC_SAN=0)")
		done
	fi
	if vc_libvirt_enabled; then
		for t in libvirtd virsh qemu-system-x86_64; do
			command -v "$t" >/dev/null ||
				missing+=("$t (for VC_LIBVIRT=1: packages libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86)")
		done
	fi
	((${#missing[@]} == 0)) || {
		vc_err "missing tools: ${missing[*]}"
		return 1
	}
	[[ $EUID == 0 ]] || {
		vc_err "must run as root (namespaces, mounts)"
		return 1
	}
}

# vc__new_run: pick a prefix, create the run dir (VC_DIR if given, else
# VC_ROOT/<prefix>), take a slot. Sets VC_PREFIX VC_SLOT VC_DIR, and
# VC__DIR_CREATED=1 once the dir was created by us (only then may a failed
# up remove it: an existing VC_DIR is somebody else's run).
vc__new_run() {
	local tries hex
	for ((tries = 0; tries < 20; tries++)); do
		mkdir -p "$VC_ROOT" || return 1
		hex=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		VC_PREFIX=vc$hex
		# the prefix must be unused by any namespace on the machine
		if ip netns list | awk '{print $1}' | grep -q "^$VC_PREFIX-"; then
			continue
		fi
		if [[ -n ${VC_DIR:-} ]]; then
			[[ $VC_DIR == /* ]] || VC_DIR=$PWD/$VC_DIR
			VC_DIR=${VC_DIR%/}
			mkdir -p -- "$(dirname -- "$VC_DIR")" || return 1
			mkdir -- "$VC_DIR" 2>/dev/null || {
				vc_err "VC_DIR=$VC_DIR exists already; pick a new one or 'down' that run"
				return 1
			}
		else
			VC_DIR=$VC_ROOT/$VC_PREFIX
			mkdir -- "$VC_DIR" 2>/dev/null || continue
		fi
		# from here on the dir is ours: a failed up may remove it
		VC__DIR_CREATED=1
		printf '%s\n' "$VC_PREFIX" >"$VC_DIR/prefix"
		vc__slot_alloc || return 1
		return 0
	done
	vc_err "could not find a free run prefix"
	return 1
}

# vc_up: needs VC_NODES, VC_TOKEN, VC_TOKEN_COEFF, VC_NAME, VC_CLUADMIN,
# VC_CLUSTERD set; VC_SAN (1), VC_WITNESS_MB, VC_SCRATCH_MB (64),
# VC_LIBVIRT (0) and VC_DIR optional.
# Leaves VC_DIR set. On failure the caller must run vc_down (the vcluster
# front end does, from a trap).
vc_up() {
	local node t0
	t0=$(vc_now_ms)
	VC_SAN=${VC_SAN:-1}
	VC_WITNESS_MB=${VC_WITNESS_MB:-64}
	VC_SCRATCH_MB=${VC_SCRATCH_MB:-64}
	VC_LIBVIRT=${VC_LIBVIRT:-0}
	vc__check_tools || return 1
	case ${VC_DIR:-} in
	/etc/corosync* | /var/lib/corosync* | /var/log/corosync*)
		vc_err "VC_DIR must not be under a directory the nodes bind over"
		return 1
		;;
	esac
	if vc_libvirt_enabled; then
		case ${VC_DIR:-} in
		/etc | /etc/* | /var | /var/*)
			vc_err "VC_LIBVIRT=1: VC_DIR must not be under /etc or /var (the nodes mount overlays there)"
			return 1
			;;
		*[,:[:space:]]*)
			vc_err "VC_LIBVIRT=1: VC_DIR must not contain ',', ':' or blanks (overlay mount options)"
			return 1
			;;
		esac
	fi
	if [[ $VC_CLUSTERD != none && ! -x $VC_CLUSTERD ]]; then
		vc_err "clusterd not found or not executable: $VC_CLUSTERD (build it, set VC_CLUSTERD, or VC_CLUSTERD=none)"
		return 1
	fi
	vc__new_run || return 1
	export VC_DIR
	VC_SHARED=
	! vc_libvirt_enabled || VC_SHARED=$(vc__shared_path)
	vc__write_env || return 1
	vc__shared_create || return 1
	vc_info "run $VC_PREFIX, slot $VC_SLOT (198.18.$VC_SLOT.0/24 cluster, 198.19.$VC_SLOT.0/24 storage), dir $VC_DIR"
	vc__net_create || {
		vc_err "network setup failed"
		return 1
	}
	vc__anchor_start || return 1
	vc__cluster_create || return 1
	for node in $(vc_nodes); do
		vc__node_prepare "$node" || return 1
	done
	# all holders and corosyncs first, so the ring forms in one go
	for node in $(vc_nodes); do
		vc__holder_start "$node" || return 1
	done
	for node in $(vc_nodes); do
		vc__launch "$node" corosync corosync corosync -f || return 1
	done
	# the SAN while the corosyncs start; before clusterd, which may want
	# its witness
	if vc_san_enabled; then
		vc_san_start || {
			vc_err "SAN setup failed"
			return 1
		}
	fi
	# the libvirtds start while the ring forms; readiness is checked after
	# it. Without a QEMU capabilities cache, n1 probes alone first and the
	# others copy its cache: ~8 s instead of ~24 s for three probing at once.
	if vc_libvirt_enabled; then
		if ! vc__libvirt_caps_have "$(vc__libvirt_caps_dir n1)"; then
			vc_info "libvirtd: no QEMU capabilities cache yet; n1 probes QEMU first (~8 s)"
			vc__libvirtd_start n1 || return 1
			for node in $(vc_nodes); do
				[[ $node == n1 ]] || vc__libvirt_caps_seed_node "$node" "$(vc__libvirt_caps_dir n1)"
			done
		fi
		for node in $(vc_nodes); do
			vc_node_alive "$node" libvirtd || vc__libvirtd_launch "$node" || return 1
		done
	fi
	for node in $(vc_nodes); do
		vc_wait "$VC_READY_TIMEOUT_S" vc__corosync_ready "$node" || true
		vc_node_alive "$node" corosync || {
			vc_err "$node: corosync died at start; see $(vc_node_dir "$node")/corosync.out"
			return 1
		}
	done
	# one deadline for the whole of up: VC_UP_TIMEOUT_S from its start
	local end_ms=$((t0 + VC_UP_TIMEOUT_S * 1000))
	if ! vc_wait_ms "$((end_ms - $(vc_now_ms)))" vc_all_see "$VC_NODES"; then
		vc_err "corosync membership did not reach $VC_NODES nodes on one ring within ${VC_UP_TIMEOUT_S}s:"
		for node in $(vc_nodes); do
			vc_err "  $node sees $(vc_members "$node" || echo '?') members"
		done
		return 1
	fi
	vc_info "corosync: $VC_NODES members on every node after $(($(vc_now_ms) - t0)) ms"
	if vc_libvirt_enabled; then
		for node in $(vc_nodes); do
			vc__libvirtd_wait "$node" || return 1
		done
		vc_info "libvirtd: answering on every node after $(($(vc_now_ms) - t0)) ms"
		vc__libvirt_caps_save n1
	fi
	if [[ $VC_CLUSTERD != none ]]; then
		for node in $(vc_nodes); do
			vc__clusterd_start "$node" || return 1
		done
		if ! vc_wait_ms "$((end_ms - $(vc_now_ms)))" vc__clusterd_up_is n1 "$VC_NODES"; then
			vc_err "clusterd: 'cluadmin node list --json' on n1 did not show $VC_NODES nodes Up within ${VC_UP_TIMEOUT_S}s (last: $(vc_clusterd_up_count n1 || echo 'no answer'))"
			return 1
		fi
		vc_info "clusterd: $VC_NODES nodes Up after $(($(vc_now_ms) - t0)) ms"
	fi
	# shellcheck disable=SC2034 # read by the caller
	VC_UP_MS=$(($(vc_now_ms) - t0))
}

# vc_down: stop and remove everything of the run in VC_DIR (env may be
# partial after a failed up). Safe to run twice.
vc_down() {
	local ns nss=() p all=() rc=0 owner
	VC_SHARED=
	if [[ -f $VC_DIR/env ]]; then
		# shellcheck source=/dev/null
		source "$VC_DIR/env"
	elif [[ -f $VC_DIR/prefix ]]; then
		read -r VC_PREFIX <"$VC_DIR/prefix"
		VC_SLOT=
	else
		vc_err "$VC_DIR: not a vcluster run; nothing removed"
		return 1
	fi
	[[ $VC_PREFIX =~ ^vc[0-9a-f]{4}$ ]] || {
		vc_err "$VC_DIR: bad prefix '$VC_PREFIX'"
		return 1
	}
	# our namespaces: exactly <prefix>-<something>
	while read -r ns _; do
		[[ $ns == "$VC_PREFIX"-* ]] && nss+=("$ns")
	done < <(ip netns list 2>/dev/null)
	# SIGKILL: a run being destroyed needs no goodbye ('stop all' first
	# if the daemons should exit cleanly, e.g. for coverage or ASan).
	VC__KILLED=()
	for ns in "${nss[@]}"; do
		vc__kill_ns "$ns" || rc=1
	done
	all=("${VC__KILLED[@]}")
	if [[ -f $VC_DIR/pids.all ]]; then
		while read -r _ _ p; do
			all+=("$p")
		done <"$VC_DIR/pids.all"
	fi
	vc__shm_clean "${all[@]}"
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null || {
			vc_err "could not delete namespace $ns"
			rc=1
		}
	done
	if [[ -n ${VC_SLOT:-} ]]; then
		vc__slot_free
	else
		# env never written: find our slot by owner
		for p in "$VC_SLOTS"/*/owner; do
			[[ -f $p ]] || continue
			read -r owner <"$p" || true
			if [[ $owner == "$VC_DIR" ]]; then
				VC_SLOT=$(basename -- "$(dirname -- "$p")")
				vc__slot_free
			fi
		done
	fi
	if [[ -L $VC_ROOT/default && $(readlink -- "$VC_ROOT/default") == "$VC_DIR" ]]; then
		rm -f -- "$VC_ROOT/default"
	fi
	((rc == 0)) || return 1
	# every QEMU is dead by now: its disks and console logs can go
	vc__shared_remove || return 1
	# Nothing of ours may be mounted below the run dir (the node mounts
	# lived in the nodes' own namespaces); refuse rm -rf if anything is.
	if awk -v d="$VC_DIR/" 'index($5 "/", d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		vc_err "$VC_DIR has mounts below it; not removing it"
		return 1
	fi
	case $VC_DIR in
	/ | /run | /run/ | "$VC_ROOT" | "") return 1 ;;
	esac
	rm -rf -- "$VC_DIR" || return 1
	# our machine-wide dirs go when empty (a custom VC_ROOT is the user's)
	rmdir -- "$VC_SLOTS" 2>/dev/null || true
	rmdir -- /run/vcluster 2>/dev/null || true
}
