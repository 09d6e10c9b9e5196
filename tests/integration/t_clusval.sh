#!/usr/bin/env bash
# t_clusval.sh - clusval on a real 3-node harness cluster (libvirtd per
# node, the SAN): the cluster as built passes (no Fail), then each
# deliberate breakage makes exactly the right test fail and no other:
# a node without the migration bridge, a different corosync.conf on one
# node, the witness LUN unreachable from one node, a LUN without SCSI-3
# persistent reservations. The report's HTML and JSON are written; the
# HTML is rendered by headless Chromium (checked: it loads with no error
# and shows every category). `cluadmin cluster create` validates first and
# refuses on a failure unless --skip-validation. On the running cluster
# (`clusval --cluster`: members, witness, CSV and VMs from clusterd), a VM
# whose differencing disk's backing file is local to each node fails
# vm-storage, and a VM bridge missing on one node fails vm-networks.
# shellcheck disable=SC2016
set -uo pipefail
. "$(dirname "$0")/it_lib.sh"
it_setup
export VC_LIBVIRT=1 VC_TOKEN=500 VC_TOKEN_COEFF=0
CLUSVAL=$IT_TOP/validate/clusval

skip() { echo "SKIP t_clusval: $*"; exit 77; }
[[ $EUID == 0 ]] || skip "needs root"
[[ -x $CLUSVAL ]] || skip "no $CLUSVAL (make)"
command -v jq >/dev/null || skip "no jq"
# ---------------------------------------------------------------- bad usage: a sentence, exit 3 (4: no cluster)
usage() { # usage NAME RC WORD CMD...: CMD exits RC and says WORD on stderr
	local name=$1 want=$2 word=$3 rc
	shift 3
	"$@" >/dev/null 2>"$IT_TMP/usage.err"; rc=$?
	chk "$name" "rc $rc: \$(head -c 300 $IT_TMP/usage.err)" eval "[ $rc = $want ] && grep -q -- '$word' '$IT_TMP/usage.err'"
}
usage clusval-usage-no-nodes 3 "--cluster" "$CLUSVAL"
usage clusval-usage-cluster-and-nodes 3 "drop --nodes" "$CLUSVAL" --cluster --nodes a,b
usage clusval-usage-template 3 "{node}" "$CLUSVAL" --nodes a --exec ssh
usage clusval-usage-file-relative 3 "absolute path" "$CLUSVAL" probe --json --file disk.qcow2
usage clusval-cluster-no-cluadmin 4 "cannot run" "$CLUSVAL" --cluster --cluadmin /nonexistent/cluadmin
usage clusval-cluster-no-clusterd 4 "node list" "$CLUSVAL" --cluster --cluadmin "$IT_TOP/cli/cluadmin"
usage cluster-create-bad-lun 2 "ROLE=iscsi" "$IT_TOP/cli/cluadmin" cluster create x --node a=198.18.0.1 \
	--dir "$IT_TMP/cc0" --lun iscsi://198.18.0.1/iqn.x:y/1

if ! it_up 3; then
	it_fail clusval-cluster-up "the 3-node cluster did not start"
	exit 1
fi
trap 'it_down; rm -rf "$IT_TMP"' EXIT
it_pass clusval-cluster-up
# a bridge for VMs on every node (clusterd learns it within 30 s)
for n in n1 n2 n3; do "$VCLUSTER" exec "$n" ip link add br-vm type bridge; done

REPORT=$IT_TMP/report
WITNESS=$("$VCLUSTER" san-url 1)
run() { # run [extra clusval args...]: the JSON report on stdout, exit status kept in RC
	"$CLUSVAL" --nodes n1,n2,n3 --exec "$VCLUSTER exec {node}" --remote-clusval "$CLUSVAL" \
		--lun "witness=$WITNESS" --lun "scratch=$("$VCLUSTER" san-url 2)" --json "$@" 2>"$IT_TMP/stderr"
}
status_of() { jq -r --arg id "$2" '.results[] | select(.id == $id) | .status' <<<"$1"; }
failing() { jq -r '[.results[] | select(.status == "Fail") | .id] | sort | join(",")' <<<"$1"; }

# ---------------------------------------------------------------- the harness as built
out=$(run --report "$REPORT"); RC=$?; [ -n "$out" ] || out="{}"
it_info "clusval over 3 nodes (probes, 2 LUNs, report): $(jq '.ended_ms - .started_ms' <<<"$out") ms"
chk clusval-runs "rc $RC: $(head -c 300 "$IT_TMP/stderr")" eval 'jq -e ".results | length > 10" <<<"$out" >/dev/null'
chk clusval-no-failures "failing: \$(failing \"\$out\"); rc $RC" eval '[ -z "$(failing "$out")" ] && [ $RC -le 1 ]'
# Three probes run the PR test on the scratch LUN at once; one whose RESERVE
# met another's reservation waits for its release. 30 runs (about 5 s):
# before the fix of the release-between-RESERVE-and-read race, about one
# run in 13 failed lun-pr.
prfail=0 prwhy=
for _ in $(seq 1 30); do
	o=$("$CLUSVAL" --nodes n1,n2,n3 --exec "$VCLUSTER exec {node}" --remote-clusval "$CLUSVAL" \
		--lun "scratch=$("$VCLUSTER" san-url 2)" --tests storage --json 2>/dev/null)
	if [ "$(status_of "$o" lun-pr)" != Pass ]; then
		prfail=$((prfail + 1))
		prwhy=$(jq -r '.results[] | select(.id == "lun-pr") | .reason' <<<"$o" 2>/dev/null | head -c 300)
	fi
done
chk clusval-pr-concurrent "\$prfail of 30 runs failed lun-pr: \$prwhy" test "$prfail" = 0
chk clusval-report-files "\$(ls $REPORT 2>&1)" eval '[ -s "$REPORT/clusval-report.html" ] && jq -e .results "$REPORT/clusval-report.json" >/dev/null'
for cat in inventory network storage system; do
	chk "clusval-category-$cat" "\$(jq -c '[.results[].category] | unique' <<<\"\$out\")" \
		eval 'jq -e --arg c '"$cat"' "[.results[] | select(.category == \$c)] | length > 0" <<<"$out" >/dev/null'
done
# render REPORT_DIR NAME: headless Chromium loads the HTML report and writes
# a PNG; fails when the page did not load, logged an error or the PNG is
# empty; leaves the DOM it ended with in $IT_TMP/NAME.dom
render() {
	local html=$1/clusval-report.html png=$IT_TMP/$2.png log=$IT_TMP/$2.log
	rm -f "$png"
	timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$IT_TMP/chromium" \
		--enable-logging=stderr --v=0 --window-size=1200,2400 --screenshot="$png" "file://$html" >"$log" 2>&1 || return 1
	timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$IT_TMP/chromium" \
		--dump-dom "file://$html" >"$IT_TMP/$2.dom" 2>/dev/null || return 1
	! grep -E 'Page load failed|net::ERR_|CONSOLE|Uncaught|Failed to load' "$log" >&2 &&
		[[ $(head -c 4 "$png" | od -An -c | tr -d ' ') == 211PNG ]] &&
		(($(stat -c %s "$png") > 20000))
}
# the categories the rendered page shows, as "a,b,..."
shown() { grep -o '<h3 class="cat">[a-z]*</h3>' "$IT_TMP/$1.dom" | sed 's/<[^>]*>//g' | sort -u | paste -sd,; }
if command -v chromium >/dev/null; then
	chk clusval-html-renders "\$(grep -E 'Page load failed|net::ERR_|CONSOLE|Uncaught' $IT_TMP/built.log | head -3)" \
		render "$REPORT" built
	chk clusval-html-every-category "shown: \$(shown built)" eval '[ "$(shown built)" = inventory,network,storage,system,vms ]'
	chk clusval-html-self-contained "\$(grep -Eo '(src|href)=\"[a-z]+:[^\"]*' $REPORT/clusval-report.html | head -3)" \
		eval '! grep -Eq "(src|href)=\"(https?:)?//" "$REPORT/clusval-report.html"'
else
	it_fail clusval-html-renders "chromium is not installed (tests/install-deps installs it)"
fi

# ---------------------------------------------------------------- breakages, one at a time
# 1. a bridge for migration on n1 and n2 only
"$VCLUSTER" exec n1 ip link add br-mig type bridge && "$VCLUSTER" exec n2 ip link add br-mig type bridge
out=$(run); RC=$?; [ -n "$out" ] || out="{}"
chk clusval-bridge-missing "failing: \$(failing \"\$out\")" eval '[ "$(failing "$out")" = networks ] && [ $RC = 2 ]'
chk clusval-bridge-names-node "\$(jq -c '.results[] | select(.id == \"networks\")' <<<\"\$out\" | head -c 400)" \
	eval 'jq -e ".results[] | select(.id == \"networks\") | .reason | contains(\"n3\")" <<<"$out" >/dev/null'
"$VCLUSTER" exec n3 ip link add br-mig type bridge

# 2. a different corosync.conf on n2 (a comment is enough: the files differ)
CONF=$VC_DIR/n2/etc-corosync/corosync.conf
cp -p "$CONF" "$IT_TMP/corosync.conf.n2"
echo "# edited on n2 only" >>"$CONF"
out=$(run); RC=$?; [ -n "$out" ] || out="{}"
chk clusval-corosync-conf-differs "failing: \$(failing \"\$out\")" eval '[ "$(failing "$out")" = corosync-conf ] && [ $RC = 2 ]'
chk clusval-corosync-conf-names-node "\$(jq -r '.results[] | select(.id == \"corosync-conf\") | .reason' <<<\"\$out\")" \
	eval 'jq -e ".results[] | select(.id == \"corosync-conf\") | .reason | contains(\"n2\")" <<<"$out" >/dev/null'
cp -p "$IT_TMP/corosync.conf.n2" "$CONF"

# 3. the witness LUN unreachable from n3 (its storage link down)
"$VCLUSTER" san-cut n3 >/dev/null 2>&1
out=$(run); RC=$?; [ -n "$out" ] || out="{}"
chk clusval-witness-unreachable "failing: \$(failing \"\$out\")" eval '[[ ",$(failing "$out")," == *,lun-visible,* ]] && [ $RC = 2 ]'
chk clusval-witness-names-node "\$(jq -r '.results[] | select(.id == \"lun-visible\") | .reason' <<<\"\$out\")" \
	eval 'jq -e ".results[] | select(.id == \"lun-visible\") | .reason | contains(\"n3\")" <<<"$out" >/dev/null'
"$VCLUSTER" san-heal n3 >/dev/null 2>&1

# 4. a LUN of a target without persistent reservations (tgt's CD-ROM emulation)
out=$(run --lun "disk=$("$VCLUSTER" san-url 3)"); RC=$?; [ -n "$out" ] || out="{}"
chk clusval-no-pr "failing: \$(failing \"\$out\")" eval '[ "$(failing "$out")" = lun-pr ] && [ $RC = 2 ]'

# ---------------------------------------------------------------- cluadmin cluster create validates first
mapfile -t NODEARGS < <(cj n1 node list | jq -r '.nodes[] | "--node=\(.name)=\(.addr)"')
create() { # create DIR [options]: cluadmin cluster create on this host, over the harness's nodes
	local dir=$1
	shift
	"$IT_TOP/cli/cluadmin" cluster create cv "${NODEARGS[@]}" --dir "$dir" --exec "$VCLUSTER exec {node}" \
		--lun "witness=$WITNESS" "$@" >"$IT_TMP/create.out" 2>&1
}
create "$IT_TMP/cc1" --json; RC=$?
chk cluster-create-validates "rc $RC: \$(tail -n 3 $IT_TMP/create.out)" \
	eval '[ $RC = 0 ] && [ -s "$IT_TMP/cc1/corosync.conf" ] && [ -s "$IT_TMP/cc1/clusval-report.html" ] &&
		jq -e ".validation == \"Pass\" or .validation == \"Warning\"" "$IT_TMP/create.out" >/dev/null'
"$VCLUSTER" exec n3 ip link del br-mig
create "$IT_TMP/cc2"; RC=$?
chk cluster-create-refuses-failure "rc $RC: \$(tail -n 3 $IT_TMP/create.out); files: \$(ls $IT_TMP/cc2)" \
	eval '[ $RC != 0 ] && [ ! -e "$IT_TMP/cc2/corosync.conf" ] && [ ! -e "$IT_TMP/cc2/cluster.db" ] &&
		grep -q "validation failed" "$IT_TMP/create.out" && grep -q -- --skip-validation "$IT_TMP/create.out" &&
		[ "$(failing "$(cat "$IT_TMP/cc2/clusval-report.json")")" = networks ]'
create "$IT_TMP/cc2" --skip-validation; RC=$?
chk cluster-create-skip-validation "rc $RC: \$(tail -n 3 $IT_TMP/create.out)" \
	eval '[ $RC = 0 ] && [ -s "$IT_TMP/cc2/corosync.conf" ] && grep -q "validation skipped" "$IT_TMP/create.out"'
"$VCLUSTER" exec n3 ip link add br-mig type bridge

# ---------------------------------------------------------------- the running cluster (--cluster)
. "$IT_TOP/tests/integration/vm_lib.sh"
vm_init && vm_props n1 >/dev/null
CSVURL=$("$VCLUSTER" san-url 5)
ca n1 witness init "$WITNESS" >/dev/null && ca n1 quorum set --mode node-and-disk-majority --witness "$WITNESS" >/dev/null
ca n1 csv create store "$CSVURL" >/dev/null
HOLDER=$(cj n1 quorum show | jq -c '.quorum.witness.holder')
# vm1: a differencing disk over a base image, both on the shared directory,
# and a bridge; created without starting (the tests read its configuration)
"$MKDOMXML" vm1 "$SHARED" >"$SHARED/vm1.xml"
qemu-img create -q -f qcow2 "$SHARED/base.qcow2" 64M
qemu-img create -q -f qcow2 -b "$SHARED/base.qcow2" -F qcow2 "$SHARED/vm1.qcow2"
sed -i "s|</devices>|<interface type='bridge'><source bridge='br-vm'/><model type='virtio'/></interface></devices>|" "$SHARED/vm1.xml"
# clusterd learns a node's bridges within 30 s of their creation (above)
for _ in $(seq 60); do ca n1 vm create vm1 --xml "$SHARED/vm1.xml" --no-start >/dev/null 2>&1 && break; sleep 1; done
chk clusval-cluster-vm-created "\$(ca n1 vm create vm1 --xml $SHARED/vm1.xml --no-start 2>&1)" eval 'cj n1 vm show vm1 >/dev/null'
cl() { # the JSON report of `clusval --cluster` run on n1
	"$VCLUSTER" exec n1 "$CLUSVAL" --cluster --exec "$VCLUSTER exec {node}" --remote-clusval "$CLUSVAL" --json "$@" \
		2>"$IT_TMP/stderr"
}
detail_has() { jq -e --arg id "$2" --arg w "$3" '[.results[] | select(.id == $id) | .details[].text | select(contains($w))] | length > 0' <<<"$1" >/dev/null; }
REPORT2=$IT_TMP/report2
out=$(cl --report "$REPORT2"); RC=$?; [ -n "$out" ] || out="{}"
it_info "clusval --cluster (probes, 2 LUNs, 1 VM file, report): $(jq '.ended_ms - .started_ms' <<<"$out") ms"
chk clusval-cluster-passes "rc $RC, failing: \$(failing \"\$out\"); \$(head -c 300 $IT_TMP/stderr)" \
	eval '[ -z "$(failing "$out")" ] && [ $RC -le 1 ] && [ "$(jq -r ".nodes | join(\",\")" <<<"$out")" = n1,n2,n3 ]'
chk clusval-cluster-luns "\$(jq -c '.results[] | select(.id == \"lun-visible\") | .details' <<<\"\$out\" | head -c 400)" \
	eval 'detail_has "$out" lun-visible "$WITNESS" && detail_has "$out" lun-visible "$CSVURL"'
chk clusval-cluster-pr-untouched "holder before $HOLDER, now \$(cj n1 quorum show | jq -c .quorum.witness.holder)" \
	eval '[ "$(status_of "$out" lun-pr)" != Fail ] && [ "$(cj n1 quorum show | jq -c .quorum.witness.holder)" = "$HOLDER" ] &&
		detail_has "$out" lun-pr "in use"'
chk clusval-cluster-vm-chain "\$(jq -c '.results[] | select(.id == \"vm-storage\")' <<<\"\$out\" | head -c 500)" \
	eval '[ "$(status_of "$out" vm-storage)" = Pass ] && detail_has "$out" vm-storage "backing file $SHARED/base.qcow2"'
chk clusval-cluster-vm-networks "\$(jq -c '.results[] | select(.id == \"vm-networks\")' <<<\"\$out\" | head -c 400)" \
	eval '[ "$(status_of "$out" vm-networks)" = Pass ] && detail_has "$out" vm-networks "vm1" &&
		[ "$(status_of "$out" vm-memory)" = Pass ]'
if command -v chromium >/dev/null; then
	chk clusval-cluster-html-renders "\$(grep -E 'Page load failed|net::ERR_|CONSOLE' $IT_TMP/cluster.log | head -3)" \
		render "$REPORT2" cluster
	chk clusval-cluster-html-every-category "shown: \$(shown cluster)" \
		eval '[ "$(shown cluster)" = inventory,network,storage,system,vms ] && grep -q "vm1" "$IT_TMP/cluster.dom"'
fi

# 5. vm2's differencing disk is shared, its backing file is not: each node
# has its own /run/cvlocal (private to the node), which an administrator
# listed in shared_dirs by mistake, so clusterd takes the declaration
for n in n1 n2 n3; do
	"$VCLUSTER" exec "$n" sh -c 'mkdir -p /run/cvlocal && qemu-img create -q -f qcow2 /run/cvlocal/base.qcow2 64M'
done
ca n1 property set shared_dirs "$SHARED,/run/cvlocal" >/dev/null
"$MKDOMXML" vm2 "$SHARED" >"$SHARED/vm2.xml"
qemu-img create -q -f qcow2 -u -b /run/cvlocal/base.qcow2 -F qcow2 "$SHARED/vm2.qcow2" 64M
ca n1 vm create vm2 --xml "$SHARED/vm2.xml" --no-start >"$IT_TMP/vm2.out" 2>&1
out=$(cl); RC=$?; [ -n "$out" ] || out="{}"
chk clusval-backing-local "rc $RC, failing: \$(failing \"\$out\"): \$(jq -r '.results[] | select(.id == \"vm-storage\") | .reason' <<<\"\$out\") \$(cat $IT_TMP/vm2.out)" \
	eval '[ "$(failing "$out")" = vm-storage ] && [ $RC = 2 ] &&
		jq -e ".results[] | select(.id == \"vm-storage\") | .reason | contains(\"vm2\") and contains(\"/run/cvlocal/base.qcow2\") and contains(\"local storage\")" <<<"$out" >/dev/null'
ca n1 vm delete vm2 >/dev/null
ca n1 property set shared_dirs "$SHARED" >/dev/null

# 6. vm1's bridge missing on n3
"$VCLUSTER" exec n3 ip link del br-vm
out=$(cl); RC=$?; [ -n "$out" ] || out="{}"
chk clusval-vm-bridge-missing "rc $RC, failing: \$(failing \"\$out\"): \$(jq -r '.results[] | select(.id == \"vm-networks\") | .reason' <<<\"\$out\")" \
	eval '[ "$(failing "$out")" = networks,vm-networks ] && [ $RC = 2 ] &&
		jq -e ".results[] | select(.id == \"vm-networks\") | .reason | contains(\"vm1\") and contains(\"n3\") and contains(\"br-vm\")" <<<"$out" >/dev/null'
"$VCLUSTER" exec n3 ip link add br-vm type bridge

((IT_FAILS == 0))
