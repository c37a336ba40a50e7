#!/bin/sh
# Benchmark in the guest: N virtual servers x M real servers (default
# 1000 x 10) programmed from an empty table
#   1. by lvsd (--no-monitor), time until it writes `ready` on --ready-fd;
#   2. by `ipvsadm -R` with the same table;
#   3. by one ipvsadm process per entry (what Piranha and ldirectord do);
# then the time of a reload that changes one weight, and its operation count.
# Targets: lvsd <= 1.5x ipvsadm -R; >= 30x faster than one process per
# entry; one-weight reload < 50 ms with exactly one operation.
# The guest is TCG-emulated: absolute numbers are slow, the ratios matter.
# Usage: lvsd-bench.sh [N [M]]
set -u
LVSD_TEST=lvsd-bench
. ./lvsd-lib.sh
N=${1:-1000}
M=${2:-10}
command -v lvsd-benchgen >/dev/null || { echo "FAIL: lvsd-benchgen not in the guest (LVS_VM_EXTRA_BINS)"; exit 1; }
lvsd_net
B=/tmp/bench
mkdir -p $B
lvsd-benchgen gen "$N" "$M" $B
entries=$(wc -l < $B/rules)
val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

ipvsadm -C
note "1. lvsd from an empty table"
out=$(lvsd-benchgen start "$LVSD_LOG" lvsd --nodaemon --no-monitor --resync 0 -c $B/lvs.cf --status-socket /run/piranha/bench.sock -v)
echo "$out"
case "$out" in *ready_ms=*) ;; *) fail "lvsd did not start"; cat "$LVSD_LOG"; exit 1 ;; esac
t_lvsd=$(echo "$out" | val ready_ms)
pid=$(echo "$out" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
LVSD_PID=$pid
n=$(ipvsadm -Sn | wc -l)
[ "$n" = "$entries" ] && pass "lvsd programmed $n entries" || fail "lvsd: $n entries, wanted $entries"
ipvsadm -Sn | sort > $B/lvsd.rules

note "4. reload changing one weight"
out=$(lvsd-benchgen reload "$pid" "$LVSD_LOG" 2>&1); echo "unchanged file: $out"
sleep 0.2
cp $B/lvs-w.cf $B/lvs.cf
out=$(lvsd-benchgen reload "$pid" "$LVSD_LOG")
echo "$out"
# ms: SIGHUP to the end of the reload (with the check of the whole table);
# early_ms: SIGHUP to the changed block's operations acknowledged.
t_reload_ext=$(echo "$out" | sed -n 's/^ms=\([0-9.]*\).*/\1/p')
t_reload=$(echo "$out" | sed -n 's/^early_ms=\([0-9.]*\).*/\1/p')
nops=$(echo "$out" | sed -n 's/.*reloaded: \([0-9]*\) change.*/\1/p')
early_ops=$(echo "$out" | sed -n 's/.*re-read alone.*: \([0-9]*\) change.*/\1/p')
grep 'reload timing' "$LVSD_LOG" | tail -1
[ -n "$t_reload" ] && pass "the edited block was re-read alone" || { fail "the one-weight reload took the full path"; t_reload=999999; }
[ "$nops" = 1 ] && [ "$early_ops" = 1 ] && pass "one-weight reload sent exactly 1 operation" || fail "one-weight reload sent $early_ops + $nops operations"
ipvsadm -Sn | grep -q -- '-w 7$' && pass "the weight is 7 in the kernel" || fail "weight 7 not in the kernel"
kill -TERM "$pid"
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
LVSD_PID=
[ "$(ipvsadm -Sn | wc -l)" = 0 ] && pass "SIGTERM removed all $entries entries" || fail "entries left after SIGTERM"

ipvsadm -C
note "2. ipvsadm -R"
out=$(lvsd-benchgen time-stdin $B/rules ipvsadm -R)
echo "$out"
t_restore=$(echo "$out" | val ms)
ipvsadm -Sn | sort > $B/restore.rules
cmp -s $B/lvsd.rules $B/restore.rules && pass "ipvsadm -R and lvsd built the same table" || fail "tables differ"

ipvsadm -C
# 11,000 processes take many minutes under TCG: time the first
# $PER_ENTRY lines (whole virtual servers) and scale to the whole table.
PER_ENTRY=${PER_ENTRY:-$(( (M + 1) * 100 ))}
[ "$PER_ENTRY" -gt "$entries" ] && PER_ENTRY=$entries
note "3. one ipvsadm process per entry (first $PER_ENTRY of $entries entries, scaled)"
head -n "$PER_ENTRY" $B/rules > $B/rules.part
out=$(lvsd-benchgen per-entry ipvsadm $B/rules.part)
echo "$out"
t_single=$(echo "$out" | val ms | awk -v n="$PER_ENTRY" -v e="$entries" '{ printf "%.1f", $1 * e / n }')
ipvsadm -C

echo "==== figures ($N virtual servers x $M real servers = $entries entries, TCG guest)"
awk -v l="$t_lvsd" -v r="$t_restore" -v s="$t_single" -v rl="$t_reload" -v rx="$t_reload_ext" -v ops="$nops" -v pe="$PER_ENTRY" 'BEGIN {
    printf "lvsd start to ready:            %10.1f ms\n", l
    printf "ipvsadm -R:                     %10.1f ms\n", r
    printf "one ipvsadm per entry:          %10.1f ms (scaled from %d entries)\n", s, pe
    printf "lvsd / ipvsadm -R:              %10.2f x   (target <= 1.5)\n", l / r
    printf "per-entry / lvsd:               %10.1f x   (target >= 30)\n", s / l
    printf "one-weight reload, SIGHUP to the change applied: %.1f ms (target < 50), %s operation(s)\n", rl, ops
    printf "one-weight reload, SIGHUP to the end of the reload (whole table checked): %.1f ms\n", rx
    exit !((l / r <= 1.5) && (s / l >= 30) && (rl < 50))
}' && pass "targets met" || fail "a target missed (see figures)"
LVSD_LOG=/dev/null
finish
