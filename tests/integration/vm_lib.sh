# shellcheck shell=bash
# vm_lib.sh - helpers for the VM tests and the VM benchmark (sourced after
# it_lib.sh, or on its own with VCLUSTER and IT_TOP set): libvirt's view of
# every node, QEMU processes, the test guest's serial console, and a
# checker that no domain ever runs on two nodes at once.
# Needs a run started with VC_LIBVIRT=1 and vm_init called after it is up.
# Everything here polls; nothing waits on a bare sleep.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/vc_lib.sh
. "$VM_LIB_DIR/../harness/vc_lib.sh"
# shellcheck disable=SC2034 # for the sourcing script
MKDOMXML=$VM_LIB_DIR/../guest/mkdomxml
# one virsh call: a paused node must not hang a poll
VM_VIRSH_TIMEOUT_S=${VM_VIRSH_TIMEOUT_S:-5}

# vm_init: read the run (VC_DIR must be set); sets SHARED.
vm_init() {
	vc_load || return 1
	SHARED=$(vc_shared) || return 1
	export SHARED
}

# vm_props VIA: the cluster properties a harness cluster needs for VMs.
vm_props() {
	local via=${1:-n1}
	ca "$via" property set migration_uri 'qemu+tcp://{addr}/system' &&
		ca "$via" property set shared_dirs "$SHARED" &&
		ca "$via" property set vm_state_dir "$SHARED/state" &&
		ca "$via" property set vm_domain_type qemu
}

# vvirsh NODE ARGS...: virsh against NODE's libvirtd by TCP, run from NODE's
# network namespace (works while other nodes are down), bounded.
vvirsh() {
	local node=$1
	shift
	# timeout stays outside: a paused node (SIGSTOP of its namespace) also
	# stops what runs in it
	timeout -k 1 "$VM_VIRSH_TIMEOUT_S" nsenter --net="/run/netns/$(vc_ns "$node")" -- \
		virsh -q -c "$(vc_libvirt_uri "$node")" "$@" </dev/null
}
# running_doms NODE: the domains NODE's libvirtd lists as running
running_doms() { vvirsh "$1" list --name --state-running 2>/dev/null | awk 'NF'; }
# running_on DOM: the nodes where DOM is running (one a line)
running_on() {
	local n
	for n in $(vc_nodes); do
		running_doms "$n" | grep -qxF -- "$1" && echo "$n"
	done
	return 0
}
runs_only_on() { [[ $(running_on "$1" | tr '\n' ' ') == "$2 " ]]; }
runs_nowhere() { [[ -z $(running_on "$1") ]]; }
domstate() { vvirsh "$1" domstate "$2" 2>/dev/null | awk 'NF { print; exit }'; }

# qemu_pid NODE DOM: the QEMU of DOM in NODE's namespace (-name guest=DOM,...)
qemu_pid() {
	local p
	for p in $(vc_node_pids "$1"); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == qemu-system-* ]] || continue
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qE "^guest=$2(,|$)" && { echo "$p"; return 0; }
	done
	return 0
}

# ---------------------------------------------------------------- the console
# The guest's console is $SHARED/DOM.console (mkdomxml), appended by every
# QEMU that runs it: one file across boots and migrations.
console_of() { printf '%s/%s.console\n' "$SHARED" "$1"; }
con_size() { stat -c %s -- "$(console_of "$1")" 2>/dev/null || echo 0; }
# cnt_last DOM [FROM]: the last CNT number (after byte offset FROM)
cnt_last() {
	tail -c +"$((${2:-0} + 1))" -- "$(console_of "$1")" 2>/dev/null |
		sed -n 's/^CNT \([0-9][0-9]*\) .*/\1/p' | tail -n 1
}
# cnt_above DOM N [FROM]: the counter is past N
cnt_above() { local n; n=$(cnt_last "$1" "${3:-0}"); [[ -n $n ]] && ((n > $2)); }
# boots_after DOM FROM: "GUEST boot" lines after byte offset FROM
boots_after() { tail -c +"$(($2 + 1))" -- "$(console_of "$1")" 2>/dev/null | grep -c '^GUEST boot'; }
# cnts_after DOM FROM: the CNT numbers after byte offset FROM, one a line
cnts_after() { tail -c +"$(($2 + 1))" -- "$(console_of "$1")" 2>/dev/null | sed -n 's/^CNT \([0-9][0-9]*\) .*/\1/p'; }
# cnt_continued DOM FROM LAST: after FROM no new boot, the counts go on
# from LAST (the first one is LAST+1, or LAST itself when FROM cut a line)
# by exactly 1 each, and at least 5 of them
cnt_continued() {
	[[ $(boots_after "$1" "$2") == 0 ]] &&
		cnts_after "$1" "$2" | awk -v last="$3" '
			NR == 1 && ($1 == last + 1 || $1 == last) { prev = $1; next }
			NR == 1 { exit 1 }
			$1 != prev + 1 { exit 1 }
			{ prev = $1 }
			END { exit !(NR >= 5) }'
}
# cnt_restarted DOM FROM: a new boot after FROM, counting from 1
cnt_restarted() {
	(($(boots_after "$1" "$2") >= 1)) &&
		tail -c +"$(($2 + 1))" -- "$(console_of "$1")" |
		awk '/^GUEST boot/ { b = 1; first = ""; next } b && /^CNT / && first == "" { first = $2 } END { exit !(first == 1) }'
}
# cnt_resumed_in DOM FROM LO HI LAST: a snapshot applied with its memory
# state after FROM: counts at or above LAST (the guest ran on until the
# revert) may come first; then one in LO..HI, and the following ones go on
# by 1, at least 5; no new boot
cnt_resumed_in() {
	[[ $(boots_after "$1" "$2") == 0 ]] &&
		cnts_after "$1" "$2" | awk -v lo="$3" -v hi="$4" -v last="${5:-999999999}" '
			st == 0 && ($1 < lo || $1 > hi) && $1 >= last { next }
			st == 0 { if ($1 < lo || $1 > hi) exit 1; st = 1; prev = $1; n = 1; next }
			$1 != prev + 1 { exit 1 }
			{ prev = $1; n++ }
			END { exit !(st == 1 && n >= 5) }'
}
# con_mark DOM: "OFFSET LAST": the console's size now and the last count
# in it up to there (read together, so the two agree)
con_mark() {
	local off
	off=$(con_size "$1")
	printf '%s %s\n' "$off" "$(head -c "$off" -- "$(console_of "$1")" 2>/dev/null |
		sed -n 's/^CNT \([0-9][0-9]*\) .*/\1/p' | tail -n 1)"
}
# last_wrote DOM [FROM] / last_found DOM FROM: "n boot-id gen" of the last
# WROTE MARK (before FROM when given) / FOUND MARK after FROM
last_wrote() {
	head -c "${2:-$(con_size "$1")}" -- "$(console_of "$1")" 2>/dev/null |
		sed -n 's/^WROTE MARK \([0-9]*\) \([0-9a-f]*\) gen=\([0-9]*\).*/\1 \2 \3/p' | tail -n 1
}
last_found() {
	tail -c +"$(($2 + 1))" -- "$(console_of "$1")" 2>/dev/null |
		sed -n 's/^FOUND MARK \([0-9]*\) \([0-9a-f]*\) gen=\([0-9]*\).*/\1 \2 \3/p' | tail -n 1
}
cnt_summary() { # for reasons: boots and counts after FROM
	printf 'boots %s, counts %s' "$(boots_after "$1" "$2")" \
		"$(cnts_after "$1" "$2" | awk 'NR == 1 { f = $1 } { l = $1; n++ } END { printf "%s..%s (%d)", f, l, n }')"
}

# ---------------------------------------------------------------- the checker
# Every VM_CHECK_MS, ask every node's libvirtd which domains run; a domain
# seen running on two nodes is checked again at once (the second query of a
# round may see the destination of a live migration that completed since
# the first); if it still runs on both, the violation is written to FILE.
# A live migration keeps the destination paused until the source has
# stopped, so "running" on two nodes is never legitimate.
VM_CHECK_MS=${VM_CHECK_MS:-500}
vm_checker() {
	local file=$1 n d rounds=0 suspects=0 a
	local -A where
	while :; do
		where=()
		for n in $(vc_nodes); do
			for d in $(running_doms "$n"); do
				if [[ -n ${where[$d]:-} ]]; then
					suspects=$((suspects + 1))
					a=${where[$d]}
					# again, in the other order
					if running_doms "$n" | grep -qxF -- "$d" && running_doms "$a" | grep -qxF -- "$d"; then
						printf '%s %s runs on %s and %s\n' "$(date +%T.%3N)" "$d" "$a" "$n" >>"$file"
					fi
				else
					where[$d]=$n
				fi
			done
		done
		rounds=$((rounds + 1))
		printf 'rounds %d suspects %d\n' "$rounds" "$suspects" >"$file.stats"
		sleep "$(awk -v m="$VM_CHECK_MS" 'BEGIN { printf "%.3f", m / 1000 }')"
	done
}
# vm_checker_start FILE: sets VM_CHECKER (its PID)
vm_checker_start() {
	: >"$1"
	vm_checker "$1" &
	VM_CHECKER=$!
}
vm_checker_stop() {
	[[ -n ${VM_CHECKER:-} ]] || return 0
	kill "$VM_CHECKER" 2>/dev/null
	wait "$VM_CHECKER" 2>/dev/null
	VM_CHECKER=
}

# ---- checks and the cluster's view of a VM (for the test scripts; V is the
# node cluadmin runs on, set by the script)
vj() { cj "$V" vm show "$1" 2>/dev/null; }
vstate() { vj "$1" | jq -r .state; }
vowner() { vj "$1" | jq -r .owner; }
vreason() { vj "$1" | jq -r '.reason // ""'; }
vsum() { printf "%s is '%s' owner '%s' (%s); libvirt: running on '%s'" "$1" "$(vstate "$1")" "$(vowner "$1")" \
	"$(vreason "$1")" "$(running_on "$1" | tr '\n' ' ')"; }
# online_on VM NODE: the cluster says Online on NODE and only NODE's
# libvirtd runs it
online_on() { [[ $(vstate "$1") == Online && $(vowner "$1") == "$2" ]] && runs_only_on "$1" "$2"; }
online_off() { # online_off VM NODE: Online somewhere else, and only there
	local o
	o=$(vowner "$1")
	[[ $o != "$2" && -n $o ]] && online_on "$1" "$o"
}
no_job() { vj "$1" | jq -e '.job == null or .job.state != "running"'; }
others() { vc_nodes | grep -vx "$1"; }
MIG_S=${MIG_S:-60}
# migrate VM NODE MODE: prints cluadmin's report; status is cluadmin's
migrate() { ca "$V" --timeout "$MIG_S" vm migrate "$1" --to "$2" "--$3" 2>&1; }
# mig_check NAME VM NODE MODE: migrate, then: cluadmin succeeded, the VM
# is Online on NODE only, and its counter went on (no new boot)
mig_check() {
	local name=$1 vm=$2 to=$3 mode=$4 off last out rc t0
	read -r off last < <(con_mark "$vm")
	t0=$(it_now_ms)
	out=$(migrate "$vm" "$to" "$mode"); rc=$?
	MIG_MS=$(($(it_now_ms) - t0))
	# shellcheck disable=SC2034 # read by the checks after a call
	MIG_OUT=$out
	chk "$name" "rc \$rc: \$out; \$(vsum $vm)" eval '[ $rc = 0 ] && it_wait 10 online_on $vm $to'
	it_wait 10 cnt_above "$vm" $((last + 6)) "$off"
	chk "$name-counter-goes-on" "before: CNT $last; after: \$(cnt_summary $vm $off)" cnt_continued "$vm" "$off" "$last"
	it_info "$mode migration of $vm -> $to: $MIG_MS ms wall; report: $(tr '\n' ' ' <<<"$out")"
}

