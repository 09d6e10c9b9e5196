#!/usr/bin/env bash
# t_guest_smoke.sh - standalone check of the test guest (tests/guest): builds it,
# boots it directly with QEMU (TCG, no libvirt), and proves that
#   1. the counter runs (CNT 1, 2, 3 ... every cnt_ms),
#   2. markers written with O_DIRECT are on the disk even when QEMU is SIGKILLed
#      (what a node loss looks like),
#   3. a second boot on the same disk finds the first boot's markers (FOUND MARK),
#      restarts the counter at 1, honours cnt_ms=50, writes its own marker,
#   4. the ACPI power button (QEMU system_powerdown, virsh shutdown) powers it off,
#   5. a third boot lists the newest markers of both earlier boots in write order
#      (the second boot overwrote one of the first boot's sectors).
# Prints "PASS name" / "FAIL name: reason" / "INFO ..."; exits non-zero on any FAIL.
# Env: GUEST_DIR (build cache, see build-guest), TMPDIR (the scratch disk lives
# there; its filesystem must support O_DIRECT for cache=none).
# Kills only the QEMU processes it started, by the PID each wrote to its pidfile.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAILS=0
pass() { printf 'PASS %s\n' "$1"; }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; FAILS=$((FAILS + 1)); }
info() { printf 'INFO %s\n' "$*"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/guest-smoke.XXXXXX")
TPID= # the `timeout` wrapping the running QEMU
QPID= # that QEMU
MONFD=

qemu_stop() { # SIGKILL our QEMU (if still running) and reap its timeout wrapper
	if [[ -n $QPID ]] && is_our_qemu "$QPID"; then kill -KILL "$QPID" 2>/dev/null; fi
	[[ -n $TPID ]] && wait "$TPID" 2>/dev/null
	[[ -n $MONFD ]] && exec {MONFD}>&-
	TPID='' QPID='' MONFD=''
}
is_our_qemu() { # the PID must still be a child of our timeout process
	local st
	[[ -n $TPID ]] && st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) } # after "pid (comm) ": state ppid ...
	# shellcheck disable=SC2086 # split into fields on purpose
	[[ $(set -- $st; echo "$2") == "$TPID" ]]
}
cleanup() { qemu_stop; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

now_s() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# wait_log LOG REGEX SECONDS: poll until a line matches; fails early if QEMU exits
wait_log() {
	local deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		grep -aEq "$2" "$1" 2>/dev/null && return 0
		[[ -n $TPID ]] && ! kill -0 "$TPID" 2>/dev/null && { grep -aEq "$2" "$1"; return; }
		sleep 0.02
	done
	return 1
}

# wait_exit SECONDS: QEMU exits by itself with status 0 in time
wait_exit() {
	local deadline=$((SECONDS + $1)) rc
	while kill -0 "$TPID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.02; done
	kill -0 "$TPID" 2>/dev/null && return 1
	wait "$TPID"
	rc=$?
	TPID='' QPID=''
	return "$rc"
}

# boot NAME APPEND_EXTRA: start QEMU in the background, serial console to
# $TMP/NAME.log, monitor on the FIFOs $TMP/mon.{in,out}; sets TPID, QPID, MONFD.
boot() {
	local name=$1 extra=$2 i
	rm -f "$TMP/qemu.pid" "$TMP/mon.in" "$TMP/mon.out"
	mkfifo "$TMP/mon.in" "$TMP/mon.out"
	# QEMU opens the FIFOs read-write, so neither side blocks; ours is kept open
	# read-write too, so a write never blocks even if QEMU is gone.
	exec {MONFD}<>"$TMP/mon.in"
	BOOT_T0=$(now_s)
	timeout -s KILL 120 qemu-system-x86_64 -machine q35 -accel tcg -m 128 -nographic \
		-no-reboot -kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet $extra" \
		-drive "file=$TMP/disk.raw,if=virtio,format=raw,cache=none" \
		-monitor "pipe:$TMP/mon" -pidfile "$TMP/qemu.pid" \
		</dev/null >"$TMP/$name.log" 2>&1 &
	TPID=$!
	for ((i = 0; i < 250; i++)); do
		[[ -s $TMP/qemu.pid ]] && break
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.02
	done
	QPID=$(cat "$TMP/qemu.pid" 2>/dev/null)
	is_our_qemu "${QPID:-0}" || { QPID=; return 1; }
}

# check_cnt LOG NAME PERIOD_MS: CNT lines 1..N consecutive, uptime non-decreasing,
# average period within [0.8, 1.5] x PERIOD_MS (measured on the guest's clock)
check_cnt() {
	local out
	out=$(grep -a '^CNT ' "$1" | awk -v p="$3" '
		{ n = $2; u = substr($3, 4) + 0 }
		NR == 1 { first = n; fu = u; if (n != 1) { print "first CNT is " n; bad = 1; exit } }
		NR > 1 && n != last + 1 { print "CNT " last " followed by " n; bad = 1; exit }
		NR > 1 && u < lu { print "uptime went back at CNT " n; bad = 1; exit }
		{ last = n; lu = u }
		END {
			if (bad) exit 1
			if (NR < 10) { print "only " NR " CNT lines"; exit 1 }
			per = (lu - fu) * 1000 / (last - first)
			printf "%d lines, period %.1f ms\n", NR, per
			if (per < 0.8 * p || per > 1.5 * p) exit 1
		}')
	if (($? == 0)); then
		pass "$2"
		info "$2: $out"
	else
		fail "$2" "$out"
	fi
}

# --- preconditions ---------------------------------------------------------------
for c in qemu-system-x86_64 timeout awk; do
	command -v "$c" >/dev/null || { fail guest-prereq "$c not found"; exit 1; }
done
if ! dd if=/dev/zero of="$TMP/probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
	fail guest-prereq "$TMP does not support O_DIRECT (QEMU cache=none); set TMPDIR"
	exit 1
fi
rm -f "$TMP/probe"

# --- build ----------------------------------------------------------------------
t0=$(now_s)
if out=$("$HERE/build-guest" 2>"$TMP/build.err"); then
	GUEST=$(printf '%s\n' "$out" | sed -n 's/^GUEST_DIR=//p' | tail -n1)
	pass guest-build
	info "build-guest: $(elapsed "$t0" "$(now_s)") s, $(tail -n1 "$TMP/build.err")"
else
	fail guest-build "$(tail -n3 "$TMP/build.err" | tr '\n' ' ')"
	exit 1
fi

# --- boot 1: counter, markers, then SIGKILL ------------------------------------------
truncate -s 8M "$TMP/disk.raw"
if ! boot boot1 ""; then
	fail guest-boot1 "QEMU did not start: $(tail -n3 "$TMP/boot1.log" | tr '\n' ' ')"
	exit 1
fi
if wait_log "$TMP/boot1.log" '^CNT 1 ' 60; then
	t_first=$(elapsed "$BOOT_T0" "$(now_s)")
	pass guest-first-cnt
	info "first CNT ${t_first} s after QEMU start ($(grep -a -m1 '^CNT 1 ' "$TMP/boot1.log"))"
else
	fail guest-first-cnt "no CNT 1 within 60 s: $(tail -n5 "$TMP/boot1.log" | tr '\n' ' ')"
	exit 1
fi
line=$(grep -a -m1 '^GUEST boot ' "$TMP/boot1.log")
bid1=$(sed -n 's/.* id=\([^ ]*\).*/\1/p' <<<"$line")
if [[ $line == *"disk=/dev/vda"* ]] && ! grep -aq 'insmod .* failed' "$TMP/boot1.log"; then
	pass guest-disk
else
	fail guest-disk "no /dev/vda: '$line' $(grep -a 'insmod' "$TMP/boot1.log" | tr '\n' ' ')"
fi
grep -aqx 'FOUND none' "$TMP/boot1.log" && pass guest-blank-disk ||
	fail guest-blank-disk "a blank disk should give 'FOUND none'"
# three markers: CNT 50, 100, 150 (about 15 s at 100 ms)
if wait_log "$TMP/boot1.log" '^WROTE MARK 150 ' 60; then
	pass guest-mark-write
else
	fail guest-mark-write "no 'WROTE MARK 150': $(grep -a -E 'MARK' "$TMP/boot1.log" | tr '\n' ' ')"
fi
qemu_stop # SIGKILL: nothing QEMU or the guest buffered survives
check_cnt "$TMP/boot1.log" guest-cnt-100ms 100
grep -aq '^MARKERR' "$TMP/boot1.log" && fail guest-mark-errors "$(grep -a '^MARKERR' "$TMP/boot1.log" | head -n3)"

# every marker the guest reported is in its sector of the disk image
bad=
nmarks=0
while read -r _ _ n id g sec; do
	sec=${sec#sector=}
	got=$(dd if="$TMP/disk.raw" bs=512 skip="$sec" count=1 status=none | tr -d '\000')
	[[ $got == "MARK $n $id $g" ]] || bad+="sector $sec has '$got', want 'MARK $n $id $g'; "
	nmarks=$((nmarks + 1))
done < <(grep -a '^WROTE MARK ' "$TMP/boot1.log")
if [[ -z $bad ]] && ((nmarks >= 3)); then
	pass guest-mark-on-disk
else
	fail guest-mark-on-disk "${bad:-only $nmarks markers}"
fi
# expected_found LOG...: the FOUND lines a boot after these should print: the
# newest marker of each sector, in write order, the last three
expected_found() {
	cat "$@" | grep -a '^WROTE MARK ' | awk '
		{ line[NR] = "FOUND MARK " $3 " " $4 " " $5; latest[$6] = NR }
		END { for (s in latest) keep[latest[s]] = 1
		      for (i = 1; i <= NR; i++) if (i in keep) print line[i] }' | tail -n3
}
# check_found NAME LOG WANT
check_found() {
	local got
	got=$(grep -a '^FOUND ' "$2")
	if [[ -n $3 && $got == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "got '$(tr '\n' '|' <<<"$got")', want '$(tr '\n' '|' <<<"$3")'"
	fi
}
grep -aq '^GUEST boot .* gen=1 ' "$TMP/boot1.log" && pass guest-gen-1 ||
	fail guest-gen-1 "$(grep -a '^GUEST' "$TMP/boot1.log")"

# --- boot 2: same disk, cnt_ms=50, one marker, then ACPI power-off -----------------------
want_found=$(expected_found "$TMP/boot1.log")
if ! boot boot2 "cnt_ms=50"; then
	fail guest-boot2 "QEMU did not start: $(tail -n3 "$TMP/boot2.log" | tr '\n' ' ')"
	exit 1
fi
if wait_log "$TMP/boot2.log" '^CNT 1 ' 60 && T_CNT1=$(now_s) &&
	wait_log "$TMP/boot2.log" '^WROTE MARK 50 ' 30 && wait_log "$TMP/boot2.log" '^CNT 60 ' 30; then
	t_first2=$(awk -v a="$BOOT_T0" -v b="$T_CNT1" 'BEGIN { printf "%.2f", b - a }')
	info "boot 2: first CNT ${t_first2} s after QEMU start ($(grep -a -m1 '^CNT 1 ' "$TMP/boot2.log"))"
	check_found guest-found-mark "$TMP/boot2.log" "$want_found"
	grep -aq '^GUEST boot .* gen=2 ' "$TMP/boot2.log" && pass guest-gen-2 ||
		fail guest-gen-2 "$(grep -a '^GUEST' "$TMP/boot2.log")"
	bid2=$(grep -a -m1 '^GUEST boot ' "$TMP/boot2.log" | sed -n 's/.* id=\([^ ]*\).*/\1/p')
	[[ -n $bid2 && $bid2 != "$bid1" ]] && pass guest-new-boot-id ||
		fail guest-new-boot-id "boot ids '$bid1' and '$bid2'"
	grep -aq '^GUEST boot .*cnt_ms=50 ' "$TMP/boot2.log" && pass guest-cnt-ms-option ||
		fail guest-cnt-ms-option "cnt_ms=50 not taken: $(grep -a '^GUEST' "$TMP/boot2.log")"
	# ACPI power button: the guest must power off by itself, QEMU exits 0
	t0=$(now_s)
	printf 'system_powerdown\n' >&"$MONFD"
	if wait_log "$TMP/boot2.log" '^SHUTDOWN acpi' 20 && wait_exit 20; then
		pass guest-acpi-shutdown
		info "system_powerdown -> QEMU exit in $(elapsed "$t0" "$(now_s)") s"
	else
		fail guest-acpi-shutdown "no 'SHUTDOWN acpi' or QEMU did not exit by itself"
	fi
	qemu_stop
	check_cnt "$TMP/boot2.log" guest-cnt-restart-50ms 50
else
	fail guest-boot2 "no CNT 60 or no marker: $(tail -n5 "$TMP/boot2.log" | tr '\n' ' ')"
fi

# --- boot 3: markers of two boots, newest last ---------------------------------------------
want_found=$(expected_found "$TMP/boot1.log" "$TMP/boot2.log")
if boot boot3 "" && wait_log "$TMP/boot3.log" '^CNT 1 ' 60; then
	check_found guest-found-mark-2boots "$TMP/boot3.log" "$want_found"
	info "boot 3: $(grep -a '^FOUND ' "$TMP/boot3.log" | tr '\n' '|')"
	grep -aq '^GUEST boot .* gen=3 ' "$TMP/boot3.log" && pass guest-gen-3 ||
		fail guest-gen-3 "$(grep -a '^GUEST' "$TMP/boot3.log")"
else
	fail guest-boot3 "no CNT 1 within 60 s: $(tail -n5 "$TMP/boot3.log" | tr '\n' ' ')"
fi
qemu_stop

((FAILS == 0))
