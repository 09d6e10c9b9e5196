#!/usr/bin/env bash
# t_clusval.sh - clusval on a real 3-node harness cluster (libvirtd per
# node, the SAN): the cluster as built passes (no Fail), then each
# deliberate breakage makes exactly the right test fail and no other:
# a node without the migration bridge, a different corosync.conf on one
# node, the witness LUN unreachable from one node, a LUN without SCSI-3
# persistent reservations. The report's HTML and JSON are written; the
# HTML is rendered by headless Chromium when it is installed.
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
if ! it_up 3; then
	it_fail clusval-cluster-up "the 3-node cluster did not start"
	exit 1
fi
trap 'it_down; rm -rf "$IT_TMP"' EXIT
it_pass clusval-cluster-up

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
chk clusval-runs "rc $RC: $(head -c 300 "$IT_TMP/stderr")" eval 'jq -e ".results | length > 10" <<<"$out" >/dev/null'
chk clusval-no-failures "failing: \$(failing \"\$out\"); rc $RC" eval '[ -z "$(failing "$out")" ] && [ $RC -le 1 ]'
chk clusval-report-files "\$(ls $REPORT 2>&1)" eval '[ -s "$REPORT/clusval-report.html" ] && jq -e .results "$REPORT/clusval-report.json" >/dev/null'
for cat in inventory network storage system; do
	chk "clusval-category-$cat" "\$(jq -c '[.results[].category] | unique' <<<\"\$out\")" \
		eval 'jq -e --arg c '"$cat"' "[.results[] | select(.category == \$c)] | length > 0" <<<"$out" >/dev/null'
done
if command -v chromium >/dev/null; then
	timeout 60 chromium --headless --no-sandbox --disable-gpu --screenshot="$IT_TMP/report.png" \
		--window-size=1200,2000 "file://$REPORT/clusval-report.html" >"$IT_TMP/chromium.log" 2>&1
	chk clusval-html-renders "\$(tail -n 3 $IT_TMP/chromium.log)" eval '[ -s "$IT_TMP/report.png" ]'
else
	it_info "chromium not installed: the HTML report was not rendered"
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

((IT_FAILS == 0))
