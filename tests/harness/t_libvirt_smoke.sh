#!/bin/bash
# t_libvirt_smoke.sh - a libvirtd per vcluster node (VC_LIBVIRT=1): lifecycle
# and live migration of a tiny diskless guest between nodes, and that
# powering a node off (vcluster kill, the fence agent's "off") takes its
# QEMU with it. Not under tests/integration: CI does not run it (yet).
#
# Needs root, the harness's tools, libvirt-daemon, libvirt-daemon-driver-qemu,
# libvirt-clients, qemu-system-x86. The guest is <domain type='qemu'> (TCG:
# KVM is not usable here), no disk, no NIC:
# - "kernel": when tests/guest/build-guest is there and works, its vmlinux
#   and initramfs, 128 MiB; its serial console (a file) prints "CNT n"
#   every 100 ms, which proves the guest kept running through a migration
#   (the counter goes on, no second boot);
# - "bios" otherwise: 64 MiB and no boot device, so SeaBIOS just sits
#   there; enough for lifecycle and migration.
# Env: SMOKE_GUEST (auto, kernel, bios), VC_CLUADMIN (default
# <repo>/cli/cluadmin), VC_CLUSTERD (default none: corosync and libvirtd
# only), VC_DIR (default /run/vcluster/t_libvirt_smoke.PID).
# Prints "PASS name" / "FAIL name: reason" and "INFO" figures; exits 1 if
# anything failed, 77 (skip) if it cannot run here.
set -euo pipefail

HARNESS=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
VCLUSTER=$HARNESS/vcluster
# shellcheck source-path=SCRIPTDIR source=vc_lib.sh
source "$HARNESS/vc_lib.sh"

export VC_CLUSTERD=${VC_CLUSTERD:-none}
export VC_CLUADMIN=${VC_CLUADMIN:-$VC_REPO/cli/cluadmin}
export VC_QUIET=1
export VC_DIR=${VC_DIR:-/run/vcluster/t_libvirt_smoke.$$}
DOM=vcsmoke
# deadlines (s): generous multiples of what is measured here
MIGRATE_S=60
GONE_S=10

skip() {
	echo "SKIP t_libvirt_smoke: $*"
	exit 77
}
[[ $EUID == 0 ]] || skip "needs root"
[[ -x $VC_CLUADMIN ]] || skip "no cluadmin at $VC_CLUADMIN (build it or set VC_CLUADMIN)"
for t in libvirtd virsh qemu-system-x86_64; do
	command -v "$t" >/dev/null || skip "no $t (libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients, qemu-system-x86)"
done
[[ ! -e $VC_DIR ]] || skip "VC_DIR=$VC_DIR exists"

FAILS=0
# /tmp: the nodes see it as the host does (their overlays cover /etc and /var)
TMP=$(mktemp -d /tmp/t_libvirt_smoke.XXXXXX)
UP=0
SERIAL=$TMP/serial.log

pass() { printf 'PASS %s\n' "$1"; }
fail() {
	printf 'FAIL %s: %s\n' "$1" "$2"
	FAILS=$((FAILS + 1))
}
info() { printf 'INFO %s\n' "$*"; }

cleanup() {
	local rc=$?
	trap '' INT TERM
	if ((UP)); then
		"$VCLUSTER" down >/dev/null 2>&1 || echo "t_libvirt_smoke: 'VC_DIR=$VC_DIR vcluster down' failed" >&2
	fi
	rm -rf -- "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# virsh_to NODE ARGS...: virsh run on n1 against NODE's libvirtd, by TCP
# (how one node reaches another's), bounded.
virsh_to() {
	local node=$1
	shift
	timeout -k 1 30 "$VCLUSTER" exec n1 virsh -q -c "$(vc_libvirt_uri "$node")" "$@" </dev/null
}
domstate() { virsh_to "$1" domstate "$DOM" 2>/dev/null | awk 'NF { print; exit }'; }
running_on() { [[ $(domstate "$1") == running ]]; }
not_running_on() { [[ $(domstate "$1") != running ]]; }
# qemu_pids NODE: the node's qemu-system processes
qemu_pids() {
	local p c
	for p in $(vc_node_pids "$1"); do
		c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[[ $c == qemu-system-* ]] && printf '%s\n' "$p"
	done
	return 0
}
no_qemu_on() { [[ -z $(qemu_pids "$1") ]]; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
all_dead() { vc__all_dead "$@"; }

# facts of the host that a run must not change
host_before() {
	{
		grep -c '^libvirt-qemu:' /etc/passwd || true
		grep -c '^libvirt-qemu:' /etc/group || true
		ls -a /etc/libvirt 2>/dev/null
		ls -d /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run/libvirtd.pid 2>/dev/null || true
		hostname
	} 2>&1
}
host_before >"$TMP/host.before"

# ---------------------------------------------------------------- the guest
# link_guest DIR: DIR's vmlinux and initramfs, linked into TMP (a rebuild
# while the test runs does not change them)
link_guest() {
	local f
	mkdir -p "$TMP/guest" || return 1
	for f in vmlinux initramfs.cpio.gz; do
		[[ -s $1/$f ]] || return 1
		ln -f -- "$1/$f" "$TMP/guest/$f" 2>/dev/null || cp -- "$1/$f" "$TMP/guest/$f" || return 1
	done
}
GUEST=bios
BUILD=$VC_REPO/tests/guest/build-guest
case ${SMOKE_GUEST:=auto} in
auto | kernel)
	gd=""
	if [[ -x $BUILD ]]; then
		gd=$("$BUILD" 2>"$TMP/build.err" | sed -n 's/^GUEST_DIR=//p' | tail -n 1) || gd=""
	fi
	if [[ -n $gd ]] && link_guest "$gd"; then
		GUEST=kernel
	elif [[ $SMOKE_GUEST == kernel ]]; then
		fail guest_built "no kernel guest: $(if [[ -x $BUILD ]]; then tail -n 3 "$TMP/build.err" | tr '\n' ' '; else echo "no $BUILD"; fi)"
		exit 1
	fi
	;;
bios) ;;
*) skip "SMOKE_GUEST must be auto, kernel or bios" ;;
esac
info "guest: $GUEST"

# serial console helpers (kernel guest)
cnt_last() { { sed -n 's/^CNT \([0-9]*\) .*/\1/p' "$SERIAL" 2>/dev/null || true; } | tail -n 1; }
cnt_above() { local n; n=$(cnt_last); [[ -n $n ]] && ((n > $1)); }
boots() { grep -c '^GUEST boot' "$SERIAL" 2>/dev/null || true; }
# cnt_continuous: one boot, and the CNT numbers go 1, 2, 3, ... without a
# gap or a restart
cnt_continuous() {
	[[ $(boots) == 1 ]] &&
		sed -n 's/^CNT \([0-9]*\) .*/\1/p' "$SERIAL" | awk 'NR != $1 { bad = 1 } END { exit bad || NR == 0 }'
}

# ---------------------------------------------------------------- up
t0=$(vc_now_ms)
if VC_LIBVIRT=1 "$VCLUSTER" up 3 >"$TMP/up.out" 2>"$TMP/up.err"; then
	UP=1
	up_ms=$(($(vc_now_ms) - t0))
	pass up_libvirt
	info "up 3 with libvirt: $up_ms ms ($(sed -n 's/.*up in \([0-9]*\) ms.*/\1/p' "$TMP/up.out") ms inside vcluster)"
else
	UP=1
	fail up_libvirt "$(tail -n 5 "$TMP/up.err" | tr '\n' ' ')"
	exit 1
fi
vc_load

# ---------------------------------------------------------------- per node
reason=""
pids=" "
uuids=" "
for n in $(vc_nodes); do
	p=$(vc_live_pid "$n" libvirtd) || {
		reason+="$n: no libvirtd; "
		continue
	}
	[[ $pids != *" $p "* ]] || reason+="$n: libvirtd pid $p shared; "
	pids+="$p "
	h=$(virsh_to "$n" hostname 2>&1) || reason+="$n: $(vc_libvirt_uri "$n") does not answer from n1 ($h); "
	[[ $h == "$n" ]] || reason+="$n: hostname '$h'; "
	u=$(virsh_to "$n" capabilities 2>/dev/null | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n1)
	[[ -n $u && $uuids != *" $u "* ]] || reason+="$n: host uuid '$u' missing or shared; "
	uuids+="$u "
	# listens on its cluster address only
	l=$(ss -H -N "$(vc_ns "$n")" -ltn 2>/dev/null | awk '$4 ~ /:16509$/ { print $4 }')
	[[ $l == "$(vc_ip "$n"):16509" ]] || reason+="$n: libvirtd listens on '$l'; "
	vc_exec "$n" getent passwd libvirt-qemu >/dev/null || reason+="$n: no libvirt-qemu user in the node; "
	[[ $(vc_exec "$n" getent hosts n3 | awk '{ print $1 }') == "$(vc_ip n3)" ]] || reason+="$n: n3 does not resolve to $(vc_ip n3); "
	[[ $(vc_exec "$n" readlink /proc/self/ns/uts) != $(readlink /proc/self/ns/uts) ]] || reason+="$n: host's UTS namespace; "
done
if [[ -z $reason ]]; then pass libvirtd_per_node; else fail libvirtd_per_node "$reason"; fi

host_before >"$TMP/host.after"
if cmp -s "$TMP/host.before" "$TMP/host.after"; then
	pass host_untouched
else
	fail host_untouched "$(diff "$TMP/host.before" "$TMP/host.after" | tr '\n' ' ')"
fi

for n in $(vc_nodes); do
	info "$n: libvirtd RSS $(rss_kb "$(vc_pid "$n" libvirtd)") KiB"
done

# ---------------------------------------------------------------- define, start on n2 from n1
if [[ $GUEST == kernel ]]; then
	mem=128
	os="<kernel>$TMP/guest/vmlinux</kernel>
    <initrd>$TMP/guest/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>"
	# the same file on every node (append): one log across migrations
	serial="<serial type='file'><source path='$SERIAL' append='on'/><target port='0'/></serial>"
else
	mem=64 os="" serial=""
fi
cat >"$TMP/dom.xml" <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    $os
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    $serial
    <memballoon model='none'/>
  </devices>
</domain>
EOF
t0=$(vc_now_ms)
if out=$(virsh_to n2 define "$TMP/dom.xml" 2>&1) && out=$(virsh_to n2 start "$DOM" 2>&1); then
	info "define + start on n2: $(($(vc_now_ms) - t0)) ms"
else
	fail start_on_n2 "virsh: $out"
	exit 1
fi
if [[ $GUEST == kernel ]]; then
	if vc_wait 60 cnt_above 0; then
		pass guest_boots
		info "kernel guest: first CNT $(($(vc_now_ms) - t0)) ms after define"
	else
		fail guest_boots "no CNT on the serial console after 60 s: $(tail -c 300 "$SERIAL" 2>/dev/null | tr '\n' ' ')"
	fi
fi
qemu2=$(qemu_pids n2)
if running_on n2 && [[ -n $qemu2 ]] && no_qemu_on n1 && no_qemu_on n3 && not_running_on n3; then
	pass start_on_n2
	info "qemu on n2: pid $qemu2, RSS $(rss_kb "$qemu2") KiB; n2 libvirtd RSS $(rss_kb "$(vc_pid n2 libvirtd)") KiB"
else
	fail start_on_n2 "state on n2 '$(domstate n2)', qemu on n1/n2/n3: '$(qemu_pids n1)'/'$qemu2'/'$(qemu_pids n3)'"
fi

# ---------------------------------------------------------------- stop/start n2: the domain survives libvirtd
reason=""
"$VCLUSTER" stop n2 >/dev/null 2>"$TMP/err" || reason+="stop: $(tr '\n' ' ' <"$TMP/err"); "
vc_node_alive n2 libvirtd && reason+="libvirtd alive after stop; "
vc_alive "$qemu2" || reason+="qemu died with libvirtd; "
"$VCLUSTER" start n2 >/dev/null 2>"$TMP/err" || reason+="start: $(tr '\n' ' ' <"$TMP/err"); "
running_on n2 || reason+="not running after libvirtd came back ('$(domstate n2)'); "
[[ $(qemu_pids n2) == "$qemu2" ]] || reason+="qemu pid changed: '$(qemu_pids n2)'; "
vc_wait_members n2 3 30 || reason+="n2 did not rejoin; "
if [[ $GUEST == kernel ]]; then
	n=$(cnt_last)
	vc_wait 10 cnt_above "${n:-0}" || reason+="the counter stopped at $n; "
fi
if [[ -z $reason ]]; then pass stop_start_keeps_domain; else fail stop_start_keeps_domain "$reason"; fi

# ---------------------------------------------------------------- live migration n2 -> n3
cnt_before=$(cnt_last)
t0=$(vc_now_ms)
if out=$(timeout -k 1 "$MIGRATE_S" "$VCLUSTER" exec n1 virsh -q -c "$(vc_libvirt_uri n2)" \
	migrate --live --p2p "$DOM" "$(vc_libvirt_uri n3)" </dev/null 2>&1); then
	mig_ms=$(($(vc_now_ms) - t0))
	qemu3=$(qemu_pids n3)
	reason=""
	running_on n3 || reason+="state on n3 '$(domstate n3)'; "
	not_running_on n2 || reason+="still running on n2; "
	[[ -n $qemu3 ]] || reason+="no qemu on n3; "
	vc_wait "$GONE_S" all_dead "$qemu2" || reason+="qemu $qemu2 still alive on n2; "
	no_qemu_on n2 || reason+="qemu on n2: $(qemu_pids n2); "
	if [[ $GUEST == kernel ]]; then
		# the guest on n3 counts on: past where it was, with no new boot
		vc_wait 10 cnt_above "$(($(cnt_last) + 5))" || reason+="the counter does not go on after the migration (at $(cnt_last)); "
		cnt_continuous || reason+="the counter restarted or jumped ($(boots) boots; CNT before migration $cnt_before); "
	fi
	if [[ -z $reason ]]; then pass live_migrate_n2_n3; else fail live_migrate_n2_n3 "$reason"; fi
	# the destination keeps the completed job's statistics
	job=$(virsh_to n3 domjobinfo --completed "$DOM" 2>/dev/null || true)
	info "live migration n2 -> n3: virsh migrate $mig_ms ms wall;" \
		"job $(awk -F: '/^Time elapsed:/ { gsub(/ /, "", $2); print $2; exit }' <<<"$job")," \
		"downtime $(awk -F: '/^Total downtime:/ { gsub(/ /, "", $2); print $2; exit }' <<<"$job")"
else
	fail live_migrate_n2_n3 "virsh migrate: $(tr '\n' ' ' <<<"$out")"
	qemu3=$(qemu_pids n3)
fi

# ---------------------------------------------------------------- kill n3 (fencing): its qemu goes
if [[ -n ${qemu3:-} ]]; then
	t0=$(vc_now_ms)
	"$VCLUSTER" kill n3 2>"$TMP/err" || true
	kill_ms=$(($(vc_now_ms) - t0))
	reason=""
	# shellcheck disable=SC2086 # one PID a word
	vc_wait "$GONE_S" all_dead $qemu3 || reason+="qemu $qemu3 alive; "
	[[ -z $(vc_node_pids n3) ]] || reason+="processes left in n3: $(vc_node_pids n3 | tr '\n' ' '); "
	if [[ -z $reason ]]; then
		pass kill_takes_qemu
		info "kill n3 (with a running guest): $kill_ms ms"
	else
		fail kill_takes_qemu "$reason"
	fi
	# power on again: libvirtd answers; the guest (transient on n3) is gone
	reason=""
	if "$VCLUSTER" start n3 >/dev/null 2>"$TMP/err"; then
		vc__libvirtd_answers n3 || reason+="libvirtd does not answer; "
		not_running_on n3 || reason+="the guest runs again on n3; "
		no_qemu_on n3 || reason+="qemu on n3; "
	else
		reason+="start: $(tr '\n' ' ' <"$TMP/err"); "
	fi
	if [[ -z $reason ]]; then pass start_after_kill; else fail start_after_kill "$reason"; fi
else
	fail kill_takes_qemu "no qemu on n3 to kill"
fi

# ---------------------------------------------------------------- down
left_pids=$(for n in $(vc_nodes); do vc_node_pids "$n"; done)
if "$VCLUSTER" down >/dev/null 2>"$TMP/err"; then
	UP=0
	reason=""
	# shellcheck disable=SC2086
	vc_wait "$GONE_S" all_dead $left_pids || reason+="processes alive: $(for p in $left_pids; do vc_alive "$p" && echo "$p"; done | tr '\n' ' '); "
	[[ ! -e $VC_DIR ]] || reason+="$VC_DIR left; "
	host_before >"$TMP/host.after"
	cmp -s "$TMP/host.before" "$TMP/host.after" || reason+="host changed: $(diff "$TMP/host.before" "$TMP/host.after" | tr '\n' ' '); "
	if [[ -z $reason ]]; then pass down_clean; else fail down_clean "$reason"; fi
else
	fail down_clean "$(tr '\n' ' ' <"$TMP/err")"
fi

if ((FAILS)); then
	echo "t_libvirt_smoke: $FAILS failed"
	exit 1
fi
echo "t_libvirt_smoke: all passed"
