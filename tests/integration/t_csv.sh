#!/usr/bin/env bash
# t_csv.sh - storage on a real 3-node harness cluster with a libvirtd per node
# (VC_LIBVIRT=1, token 500 ms, the harness fence agent) and the harness's SAN
# (tgtd on its own bridge): a cluster shared volume (LUN 5) with its
# coordinator, volume requests and locks, a VM whose disk is a CSV volume,
# and a VM whose disk is a whole LUN (LUN 6) owned as a physical disk with a
# SCSI-3 WRITE EXCLUSIVE reservation.
#   - volumes created concurrently from all three nodes: no overlap, the
#     LUN's table (read with clusterd-lun) equals the cluster's mirror;
#   - two nodes lock the same volume at the same moment, 50 times: exactly
#     one wins each time, the loser's error names the holder;
#   - the VM on the CSV: locked before it starts, the same disk refused to a
#     second VM naming the holder, live migration (the counter goes on, the
#     lock moves), quick migration through the VM's state volume on the CSV, the coordinator killed (another node coordinates, locks
#     intact, the VM keeps running), its owner killed (fenced, lock released,
#     the VM boots elsewhere and finds the markers it wrote), its node's
#     storage path cut (the loss logged, the VM moved to a node that sees
#     the LUN);
#   - the physical-disk VM: reservation held by its node's key, QEMU's writes
#     pass; its owner killed: the reservation moves, the guest finds its
#     markers and writes again, and the fenced node's writes are rejected;
#   - bad input: a foreign LUN without --force, a volume larger than the free
#     space, a duplicate name, a corrupt table: clear errors, nothing lost.
# Needs root, jq, tgt, libvirt, qemu (as t_vm.sh). Exits 77 when it cannot run.
# shellcheck disable=SC2016
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_TOKEN=500 VC_TOKEN_COEFF=0 VC_LIBVIRT=1
FENCE=$IT_TOP/tests/harness/fence_vcluster
LUNTOOL=$IT_TOP/csv/clusterd-lun
BOOT_S=${T_CSV_BOOT_S:-60} RECOVER_S=${T_CSV_RECOVER_S:-90}

skip() { echo "SKIP t_csv: $*"; exit 77; }
[[ $EUID == 0 ]] || skip "needs root"
for t in libvirtd virsh qemu-system-x86_64 jq tgtd; do
	command -v "$t" >/dev/null || skip "no $t"
done
[[ -x $LUNTOOL ]] || skip "no $LUNTOOL (make)"
GUEST_DIR=$("$IT_TOP/tests/guest/build-guest" 2>"$IT_TMP/guest.err" | sed -n 's/^GUEST_DIR=//p' | tail -n1)
[[ -n $GUEST_DIR ]] || skip "the test guest does not build"
export GUEST_DIR
# shellcheck source-path=SCRIPTDIR source=vm_lib.sh
. "$IT_TOP/tests/integration/vm_lib.sh"

if ! it_up 3; then
	it_fail csv-cluster-up "the 3-node libvirt cluster did not start (see above)"
	exit 1
fi
vm_init || { it_fail csv-cluster-up "no shared directory"; exit 1; }
it_pass csv-cluster-up
vm_checker_start "$IT_TMP/double"
trap 'vm_checker_stop; it_down; rm -rf "$IT_TMP"' EXIT

V=n1
CSV_URL=$(vc_san_url 5)
DISK_URL=$(vc_san_url 6)
ini() { vc_initiator "$1"; }
lun() { # lun NODE ARGS...: clusterd-lun inside NODE
	local n=$1
	shift
	"$VCLUSTER" exec "$n" "$LUNTOOL" "$@"
}
dump() { lun "$V" csv dump "$CSV_URL" --initiator "$(ini "$V")-t" --json 2>/dev/null; }
csvj() { cj "$V" csv show store 2>/dev/null; }
coord() { csvj | jq -r .coordinator; }
locks() { cj "$V" csv locks 2>/dev/null | jq -c '[.locks[] | {volume, node, owner, mode}]'; }
lock_of() { cj "$V" csv locks 2>/dev/null | jq -r --arg v "$1" '.locks[] | select(.volume == $v) | .node + " " + .owner'; }
vols_sorted() { csvj | jq -c '[.volume_list[] | {name, offset, size}] | sort_by(.offset)'; }
disk_vols_sorted() { dump | jq -c '[.table.volumes[] | {name, offset, size}] | sort_by(.offset)'; }

for n in $(vc_nodes); do
	ca n1 property set --node "$n" fence_agent "$FENCE" >/dev/null
	ca n1 property set --node "$n" fence_args "vc_dir=$VC_DIR" >/dev/null
done
vm_props n1 >/dev/null 2>&1

# ---------------------------------------------------------------- bad input at create
# LUN 2 gets foreign data: refused without --force, and not touched
SCRATCH=$(vc_san_file 2)
dd if=/dev/urandom of="$SCRATCH" bs=4096 count=4 conv=notrunc status=none
sum0=$(md5sum <"$SCRATCH")
out=$(ca n1 csv create junk "$(vc_san_url 2)" 2>&1); rc=$?
chk csv-foreign-refused "rc \$rc: \$out" eval '[ $rc != 0 ] && [[ $out == *foreign* || $out == *unrecognised* || $out == *force* ]]'
chk csv-foreign-untouched "md5 changed" eval '[ "$(md5sum <"$SCRATCH")" = "$sum0" ]'
out=$(ca n1 csv create store "$CSV_URL" --force 2>&1); rc=$?
chk csv-create "rc \$rc: \$out" [ "$rc" = 0 ]
chk csv-online "\$(csvj | jq -c '{state, coordinator}')" it_wait 20 eval '[ "$(csvj | jq -r .state)" = Online ] && [ -n "$(coord)" ]'
out=$(ca n2 csv create again "$CSV_URL" 2>&1); rc=$?
chk csv-same-lun-refused "rc \$rc: \$out" eval '[ $rc != 0 ] && [[ $out == *"already the cluster shared volume"* ]]'

# ---------------------------------------------------------------- concurrent volume creation
t0=$(it_now_ms)
pids=()
for n in n1 n2 n3; do
	(for i in 1 2 3 4 5; do ca "$n" csv volume create store "$n-v$i" 8M >/dev/null 2>&1 || echo "fail $n-v$i"; done) \
		>"$IT_TMP/vc.$n" &
	pids+=($!)
done
wait "${pids[@]}" # not the checker
it_info "15 volumes created from 3 nodes at once: $(($(it_now_ms) - t0)) ms"
chk csv-concurrent-creates "\$(cat $IT_TMP/vc.n1 $IT_TMP/vc.n2 $IT_TMP/vc.n3)" eval '[ "$(csvj | jq ".volume_list | length")" = 15 ]'
chk csv-lun-table-consistent "\$(dump | jq -c '{consistent, usable}')" eval 'dump | jq -e ".consistent == true"'
chk csv-no-overlap "\$(disk_vols_sorted)" eval 'disk_vols_sorted | jq -e "[range(1; length) as \$i | .[\$i].offset >= .[\$i-1].offset + .[\$i-1].size] | all"'
chk csv-mirror-equals-lun "cluster \$(vols_sorted); LUN \$(disk_vols_sorted)" eval '[ "$(vols_sorted)" = "$(disk_vols_sorted)" ]'
for n in n2 n3; do
	chk "csv-mirror-same-on-$n" "\$(cj $n csv show store | jq -c .table_generation)" \
		eval '[ "$(cj '$n' csv show store | jq -c "[.volume_list[] | {name, offset}] | sort_by(.offset)")" = "$(csvj | jq -c "[.volume_list[] | {name, offset}] | sort_by(.offset)")" ]'
done

# ---------------------------------------------------------------- bad volume requests
free=$(csvj | jq .free_bytes)
before=$(vols_sorted)
out=$(ca n2 csv volume create store huge $((free + 1048576)) 2>&1); rc=$?
chk csv-volume-too-large "rc \$rc: \$out" eval '[ $rc != 0 ] && [[ $out == *free* ]]'
out=$(ca n3 csv volume create store n1-v1 8M 2>&1); rc=$?
chk csv-volume-duplicate "rc \$rc: \$out" eval '[ $rc != 0 ] && [[ $out == *"already exists"* ]]'
out=$(ca n3 csv volume create store 'bad/name' 8M 2>&1); rc=$?
chk csv-volume-bad-name "rc \$rc: \$out" [ "$rc" != 0 ]
chk csv-bad-requests-changed-nothing "\$(vols_sorted)" eval '[ "$(vols_sorted)" = "$before" ]'
out=$(ca n2 csv volume delete store n3-v5 2>&1); rc=$?
chk csv-volume-delete "rc \$rc: \$out" eval '[ $rc = 0 ] && ! csvj | jq -e ".volume_list[] | select(.name == \"n3-v5\")"'

# ---------------------------------------------------------------- lock race, 50 times
ca n1 csv volume create store race 8M >/dev/null 2>&1
wins=0 bad=0 named=0
for i in $(seq 1 50); do
	ca n2 csv lock store/race --owner "r$i" >"$IT_TMP/l2" 2>&1 &
	p2=$!
	ca n3 csv lock store/race --owner "r$i" >"$IT_TMP/l3" 2>&1
	r3=$?
	wait "$p2"
	r2=$?
	if (( (r2 == 0) + (r3 == 0) == 1 )); then
		wins=$((wins + 1))
		winner=n2 loser=$IT_TMP/l3
		((r3 == 0)) && winner=n3 loser=$IT_TMP/l2
		grep -q "locked exclusively by 'admin:r$i' on $winner" "$loser" && named=$((named + 1))
		ca "$winner" csv unlock store/race --owner "r$i" >/dev/null 2>&1 || bad=$((bad + 1))
	else
		bad=$((bad + 1))
		it_info "lock race $i: n2 rc $r2 ($(cat "$IT_TMP/l2")), n3 rc $r3 ($(cat "$IT_TMP/l3"))"
		ca n2 csv unlock store/race --owner "r$i" >/dev/null 2>&1
		ca n3 csv unlock store/race --owner "r$i" >/dev/null 2>&1
	fi
done
chk csv-lock-race-one-winner "\$wins of 50 had exactly one winner (\$bad bad)" [ "$wins" = 50 ]
chk csv-lock-loser-names-holder "\$named of 50 losers named the holder" [ "$named" = 50 ]
chk csv-lock-race-clean "\$(locks)" eval '[ "$(locks)" = "[]" ]'

# ---------------------------------------------------------------- a VM on the CSV
ca n1 csv volume create store vm1disk 64M >/dev/null 2>&1
"$MKDOMXML" vm1 "$SHARED" --disk csv:store/vm1disk >"$SHARED/vm1.xml"
out=$(ca "$V" --timeout "$BOOT_S" vm create vm1 --xml "$SHARED/vm1.xml" --preferred n2,n3,n1 --wait 2>&1); rc=$?
chk csv-vm-create "rc \$rc: \$out" [ "$rc" = 0 ]
chk csv-vm-online "\$(vsum vm1)" it_wait "$BOOT_S" online_on vm1 n2
chk csv-vm-locked "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "n2 vm1" ]'
chk csv-vm-iscsi-slice "\$(vvirsh n2 dumpxml vm1 | grep -A3 '<source')" eval 'vvirsh n2 dumpxml vm1 | grep -q "<slice type=.storage. offset=.$(csvj | jq ".volume_list[] | select(.name == \"vm1disk\") | .offset")."'
chk csv-vm-writes-markers "\$(grep -a 'WROTE\|MARKERR' \$(console_of vm1) | tail -2)" it_wait "$BOOT_S" grep -aq "WROTE MARK 50" "$(console_of vm1)"

# the same disk for another VM: refused, naming the holder
"$MKDOMXML" vm2 "$SHARED" --disk csv:store/vm1disk >"$SHARED/vm2.xml"
ca "$V" vm create vm2 --xml "$SHARED/vm2.xml" --preferred n1 --no-start >/dev/null 2>&1
ca "$V" --timeout 30 vm start vm2 --wait >/dev/null 2>&1
chk csv-same-disk-refused "\$(vsum vm2)" it_wait 30 eval '[[ "$(vreason vm2)" == *"locked exclusively by '"'vm1'"' on n2"* ]]'
chk csv-same-disk-not-running "\$(running_on vm2)" runs_nowhere vm2
ca "$V" vm stop vm2 >/dev/null 2>&1
it_wait 20 eval '[ "$(vstate vm2)" = Offline ] || [ "$(vstate vm2)" = Failed ]'
ca "$V" vm delete vm2 >/dev/null 2>&1
chk csv-vm1-lock-untouched "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "n2 vm1" ]'

# live migration: counter goes on, the lock moves with the VM
mig_check csv-live-migrate vm1 n3 live
chk csv-lock-handed-over "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "n3 vm1" ]'

# quick migration: the memory state goes through the VM's state volume on
# the CSV (not the shared directory); the counter goes on on the target
chk csv-state-volume "\$(csvj | jq -c '[.volume_list[].name]')" eval 'csvj | jq -e "[.volume_list[] | select(.name == \"vm1.state\")] | length == 1"'
mig_check csv-quick-migrate vm1 n1 quick
chk csv-quick-state-on-csv "\$(ls $SHARED/state 2>&1); \$(cj $V log --limit 100 | jq -c '[.events[] | select(.object == \"vm1\")] | .[-4:] | map(.text)')" \
	eval '[ ! -e "$SHARED/state/vm1.save" ] && cj $V log --limit 200 | jq -e "[.events[] | select(.text | contains(\"saved to the cluster shared volume\"))] | length > 0"'
chk csv-quick-lock-follows "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "n1 vm1" ] && [ "$(lock_of store/vm1.state)" = "n1 vm1" ]'
# the state was taken when it was restored: a stop and start boots afresh
read -r off last < <(con_mark vm1)
ca "$V" --timeout 60 vm stop vm1 --wait >/dev/null 2>&1
ca "$V" --timeout "$BOOT_S" vm start vm1 --wait >/dev/null 2>&1
chk csv-state-restored-once "\$(vsum vm1); \$(cnt_summary vm1 $off)" it_wait "$BOOT_S" eval 'online_on vm1 n1 && cnt_restarted vm1 $off'

# the coordinator killed: another node coordinates, locks intact, VM runs
C0=$(coord)
# not the VM's node: the VM must keep running
[[ $C0 == n1 ]] && { ca "$V" group move csv-store --node n2 --wait >/dev/null 2>&1; it_wait 20 eval '[ "$(coord)" = n2 ]'; C0=$(coord); }
V=$(others "$C0" | head -n1)
read -r off last < <(con_mark vm1)
t0=$(it_now_ms)
"$VCLUSTER" kill "$C0" >/dev/null 2>&1
chk csv-coordinator-moves "coordinator \$(coord) (was $C0)" it_wait "$RECOVER_S" eval 'c=$(coord); [ -n "$c" ] && [ "$c" != null ] && [ "$c" != "$C0" ]'
it_info "coordinator $C0 killed -> $(coord) coordinates after $(($(it_now_ms) - t0)) ms"
chk csv-locks-intact "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "n1 vm1" ]'
it_wait 10 cnt_above vm1 $((last + 10)) "$off"
chk csv-vm-keeps-running "\$(cnt_summary vm1 $off)" cnt_continued vm1 "$off" "$last"
out=$(ca "$V" csv volume create store after 8M 2>&1); rc=$?
chk csv-new-coordinator-serves "rc \$rc: \$out" [ "$rc" = 0 ]
chk csv-lun-consistent-after "\$(dump | jq -c '{consistent}')" eval 'dump | jq -e ".consistent == true"'
"$VCLUSTER" start "$C0" >/dev/null 2>&1
it_wait 60 eval '[ "$(cj '"$V"' node list | jq "[.nodes[] | select(.member)] | length")" = 3 ]'

# the VM's owner killed: fenced, lock released, boots elsewhere on its disk
O=$(vowner vm1)
V=$(others "$O" | head -n1)
t0=$(it_now_ms)
"$VCLUSTER" kill "$O" >/dev/null 2>&1
chk csv-vm-fails-over "\$(vsum vm1)" it_wait "$RECOVER_S" online_off vm1 "$O"
it_info "node loss ($O) -> vm1 on the CSV running on $(vowner vm1): $(($(it_now_ms) - t0)) ms"
chk csv-lock-follows-failover "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "$(vowner vm1) vm1" ]'
chk csv-disk-kept-markers "\$(grep -a 'GUEST\|FOUND' \$(console_of vm1) | tail -4)" \
	it_wait "$BOOT_S" eval 'grep -a "gen=2" "$(console_of vm1)" | grep -q "^GUEST" && grep -aq "^FOUND MARK" "$(console_of vm1)"'
"$VCLUSTER" start "$O" >/dev/null 2>&1
it_wait 60 eval '[ "$(cj '"$V"' node list | jq "[.nodes[] | select(.member)] | length")" = 3 ]'

# a node loses its path to the CSV (storage link down, cluster link up): its
# VMs on the CSV leave for nodes that still see the LUN (live if it can
# finish, else turned off and started there), and the loss is logged
O=$(vowner vm1)
V=$(others "$O" | head -n1)
t0=$(it_now_ms)
"$VCLUSTER" san-cut "$O" >/dev/null 2>&1
chk csv-path-loss-logged "\$(cj $V log --limit 300 | jq -c '[.events[] | select(.kind == \"csv\")] | .[-3:]')" \
	it_wait 30 eval 'cj $V log --limit 300 | jq -e "[.events[] | select(.text | contains(\"lost its path\"))] | length > 0"'
chk csv-path-loss-shown "\$(csvj | jq -c .paths)" eval 'csvj | jq -e "[.paths[] | select(.node == \"$O\" and .ok == false)] | length == 1"'
chk csv-path-loss-moves-vm "\$(vsum vm1)" it_wait 150 online_off vm1 "$O"
it_info "storage path of $O cut -> vm1 running on $(vowner vm1): $(($(it_now_ms) - t0)) ms"
chk csv-path-loss-lock-follows "\$(locks)" eval '[ "$(lock_of store/vm1disk)" = "$(vowner vm1) vm1" ]'
"$VCLUSTER" san-heal "$O" >/dev/null 2>&1
chk csv-path-back "\$(csvj | jq -c .paths)" it_wait 30 eval 'csvj | jq -e "[.paths[] | select(.ok == false)] | length == 0"'

# ---------------------------------------------------------------- a physical disk
hp=${DISK_URL#iscsi://}
hp=${hp%%/*}
"$MKDOMXML" vm3 "$SHARED" --disk "iscsi:$hp/${DISK_URL#iscsi://"$hp"/}" >"$SHARED/vm3.xml"
out=$(ca "$V" --timeout "$BOOT_S" vm create vm3 --xml "$SHARED/vm3.xml" --preferred n3,n2,n1 --wait 2>&1); rc=$?
chk disk-vm-create "rc \$rc: \$out" [ "$rc" = 0 ]
chk disk-resource-created "\$(cj $V resource list --group vm3 | jq -c '[.resources[] | {name, type}]')" \
	eval 'cj $V resource list --group vm3 | jq -e "[.resources[] | select(.type == \"physical-disk\")] | length == 1"'
chk disk-vm-online "\$(vsum vm3)" it_wait "$BOOT_S" online_on vm3 n3
rstatus() { lun "$V" disk status "$DISK_URL" --initiator "$(ini "$V")-t" --json 2>/dev/null; }
holder() { rstatus | jq -r '.holder // empty'; }
K3=$(holder)
chk disk-reserved "\$(rstatus)" eval '[ -n "$K3" ] && [ "${K3: -1}" = 3 ]'
chk disk-qemu-writes "\$(grep -a 'WROTE\|MARKERR' \$(console_of vm3) | tail -2)" it_wait "$BOOT_S" grep -aq "WROTE MARK 50" "$(console_of vm3)"
t0=$(it_now_ms)
"$VCLUSTER" kill n3 >/dev/null 2>&1
chk disk-vm-fails-over "\$(vsum vm3)" it_wait "$RECOVER_S" online_off vm3 n3
it_info "node loss (n3) -> vm3 on its physical disk running on $(vowner vm3): $(($(it_now_ms) - t0)) ms"
chk disk-reservation-moved "\$(rstatus)" eval 'k=$(holder); [ -n "$k" ] && [ "$k" != "$K3" ] && [ "${k: -1}" = "$(vowner vm3 | tr -dc 0-9)" ]'
chk disk-guest-found-markers "\$(grep -a 'GUEST\|FOUND\|WROTE\|MARKERR' \$(console_of vm3) | tail -5)" \
	it_wait "$BOOT_S" eval 'grep -a "^GUEST" "$(console_of vm3)" | grep -q "gen=2" && grep -aq "^FOUND MARK" "$(console_of vm3)"'
chk disk-new-owner-writes "\$(grep -a 'WROTE\|MARKERR' \$(console_of vm3) | tail -2)" \
	it_wait "$BOOT_S" eval 'grep -a "WROTE MARK" "$(console_of vm3)" | grep -q "gen=2"'
"$VCLUSTER" start n3 >/dev/null 2>&1
out=$(lun n3 disk write-test "$DISK_URL" 8192 --initiator "$(ini n3)-old" --key "$K3" 2>&1); rc=$?
chk disk-fenced-owner-rejected "rc \$rc: \$out" eval '[ $rc = 3 ]'

# ---------------------------------------------------------------- a corrupt table: reported, never repaired
ca "$V" vm stop vm1 >/dev/null 2>&1
lun "$V" csv corrupt "$CSV_URL" --what table-a --initiator "$(ini "$V")-t" >/dev/null 2>&1
lun "$V" csv corrupt "$CSV_URL" --what table-b --initiator "$(ini "$V")-t" >/dev/null 2>&1
sumc=$(md5sum <"$(vc_san_file 5)")
out=$(lun "$V" csv dump "$CSV_URL" --initiator "$(ini "$V")-t" 2>&1); rc=$?
chk csv-corrupt-reported "rc \$rc: \$(tail -n 3 <<<\"\$out\")" eval '[ $rc = 1 ] && [[ $out == *copy* ]]'
before=$(vols_sorted)
out=$(ca "$V" csv volume create store x 8M 2>&1); rc=$?
chk csv-corrupt-refused "rc \$rc: \$out" eval '[ $rc != 0 ]'
chk csv-corrupt-not-repaired "LUN changed" eval '[ "$(md5sum <"$(vc_san_file 5)")" = "$sumc" ]'
chk csv-corrupt-mirror-kept "\$(vols_sorted)" eval '[ "$(vols_sorted)" = "$before" ]'

# ---------------------------------------------------------------- safety over the whole run
vm_checker_stop
it_info "checker: $(cat "$IT_TMP/double.stats" 2>/dev/null)"
chk never-on-two-nodes "\$(head -n 3 $IT_TMP/double)" [ ! -s "$IT_TMP/double" ]
((IT_FAILS == 0))
