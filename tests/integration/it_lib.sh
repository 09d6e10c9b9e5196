# it_lib.sh - helpers for integration tests (sourced). Each check prints
# "PASS name" or "FAIL name: reason"; tests/run-all counts them.
# Needs: jq, the harness (tests/harness/vcluster), built binaries.

IT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VCLUSTER=$IT_TOP/tests/harness/vcluster
IT_FAILS=0

it_pass() { printf 'PASS %s\n' "$1"; }
it_fail() { printf 'FAIL %s: %s\n' "$1" "$2"; IT_FAILS=$((IT_FAILS + 1)); }
it_info() { printf 'INFO %s\n' "$*"; }
it_check() { # it_check NAME REASON CMD...: pass if CMD succeeds
	local name=$1 reason=$2
	shift 2
	if "$@" >/dev/null 2>&1; then it_pass "$name"; else it_fail "$name" "$reason"; fi
}
it_now_ms() { date +%s%3N; }

# Start a cluster of $1 nodes; sets VC_DIR. Extra env (VC_TOKEN...) passes through.
it_up() {
	local out
	out=$("$VCLUSTER" up "$1" 2>"$IT_TMP/up.err") || { cat "$IT_TMP/up.err" >&2; return 1; }
	VC_DIR=$(printf '%s\n' "$out" | sed -n 's/^VC_DIR=//p' | tail -n1)
	export VC_DIR
	[[ -n $VC_DIR ]]
}
it_down() { [[ -n ${VC_DIR:-} ]] && "$VCLUSTER" down >/dev/null 2>&1; VC_DIR=; }
vc() { "$VCLUSTER" "$@"; }
# cluadmin on a node, JSON out
cj() { local n=$1; shift; "$VCLUSTER" exec "$n" "$IT_TOP/cli/cluadmin" --json "$@"; }
ca() { local n=$1; shift; "$VCLUSTER" exec "$n" "$IT_TOP/cli/cluadmin" "$@"; }

# it_wait SECONDS CMD...: poll CMD every 50 ms until it succeeds or time runs out
it_wait() {
	local deadline=$(( $(it_now_ms) + $1 * 1000 ))
	shift
	while (( $(it_now_ms) < deadline )); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

state_of() { # state_of VIEWER NODE
	cj "$1" node list | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .state'
}
up_count() { cj "$1" node list | jq '[.nodes[] | select(.state == "Up")] | length'; }
db_hash() { cj "$1" debug db-info | jq -r '.database.hash'; }
same_hash() { # same_hash NODE...: all replicas equal
	local first h n
	first=$(db_hash "$1") || return 1
	for n in "${@:2}"; do
		h=$(db_hash "$n") || return 1
		[[ $h == "$first" ]] || return 1
	done
}

it_setup() {
	IT_TMP=$(mktemp -d /tmp/it.XXXXXX)
	trap 'it_down; rm -rf "$IT_TMP"' EXIT
	trap 'exit 130' INT TERM
}

# chk NAME REASON CMD...: like it_check, but REASON is expanded again on
# failure, so what it defers with \$ shows the state after the wait
chk() {
	local name=$1 reason=$2
	shift 2
	if "$@" >/dev/null 2>&1; then
		it_pass "$name"
	else # one line (run-all counts lines), bounded
		it_fail "$name" "$(eval "printf '%s' \"$reason\"" 2>&1 | tr '\n' ' ' | cut -c1-600)"
	fi
}
