#!/bin/sh
# Where a reload's time goes (not run by CI: named *bench*). N virtual
# servers x M real servers (default 1000 x 10) programmed by lvsd, then
# reloads, each with lvsd's debug timing line (read, parse, resolve,
# kernel dump, timeouts, desired, diff, apply, model, nannies) and, for an
# edit inside one virtual block, the time from SIGHUP to that block's
# change applied (lvsd re-reads the block alone and sends its difference
# before comparing the whole table):
#   - an unchanged file (R times),
#   - a file that changes one weight, alternately 7 and back (R times),
#   - the same weight change with serial_no bumped (what the web tool saves),
#   - an unchanged file after `ipvsadm -C` behind lvsd's back (repaired).
# Usage: lvsd-reload-bench.sh [N [M [R]]]
set -u
LVSD_TEST=lvsd-reload-bench
. ./lvsd-lib.sh
N=${1:-1000}
M=${2:-10}
R=${3:-3}
command -v lvsd-benchgen >/dev/null || { echo "FAIL: lvsd-benchgen not in the guest"; exit 1; }
lvsd_net
B=/tmp/bench
mkdir -p $B
lvsd-benchgen gen "$N" "$M" $B
cp $B/lvs.cf $B/lvs-0.cf
entries=$(wc -l < $B/rules)
ipvsadm -C
out=$(lvsd-benchgen start "$LVSD_LOG" lvsd --nodaemon --no-monitor --resync 0 -c $B/lvs.cf --status-socket /run/piranha/bench.sock -v)
echo "$out"
case "$out" in *ready_ms=*) ;; *) fail "lvsd did not start"; cat "$LVSD_LOG"; exit 1 ;; esac
LVSD_PID=$(echo "$out" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
[ "$(ipvsadm -Sn | wc -l)" = "$entries" ] && pass "lvsd programmed $entries entries" || fail "entry count"

# reload FILE WHAT: copies FILE over lvs.cf, SIGHUP, prints the figures.
reload() {
    cp "$1" $B/lvs.cf
    sleep 0.2
    out=$(lvsd-benchgen reload "$LVSD_PID" "$LVSD_LOG")
    echo "$2: $(echo "$out" | sed -n 's/.*reloaded: \(.*\)/\1/p') (SIGHUP to log line $(echo "$out" | sed -n 's/^ms=\([0-9.]*\).*/\1/p') ms)"
    case "$out" in
    *early_ms=none*) ;;
    *) echo "    block re-read alone, SIGHUP to its change applied: $(echo "$out" | sed -n 's/^early_ms=\([0-9.]*\).*/\1/p') ms ($(echo "$out" | sed -n 's/.*re-read alone \(.*\)/\1/p'))" ;;
    esac
    grep 'reload timing' "$LVSD_LOG" | tail -1 | sed 's/^/    /'
}
i=0
while [ $i -lt "$R" ]; do
    i=$((i + 1))
    reload $B/lvs-0.cf "unchanged file"
done
i=0
while [ $i -lt "$R" ]; do
    i=$((i + 1))
    reload $B/lvs-w.cf "one weight -> 7"
    ipvsadm -Sn | grep -q -- '-w 7$' && pass "weight 7 in the kernel" || fail "weight 7 not in the kernel"
    reload $B/lvs-0.cf "one weight back"
done
# What the web tool saves: the same weight, and serial_no bumped by one.
sed 's/^serial_no = \([0-9]*\)$/serial_no = 2/' $B/lvs-w.cf > $B/lvs-s.cf
grep -q '^serial_no = 2$' $B/lvs-s.cf || fail "no serial_no line to bump"
alone=$(grep -c 're-read alone.*: 1 change' "$LVSD_LOG")
reload $B/lvs-s.cf "web tool save: serial_no + one weight -> 7"
ipvsadm -Sn | grep -q -- '-w 7$' && pass "weight 7 in the kernel" || fail "weight 7 not in the kernel"
[ "$(grep -c 're-read alone.*: 1 change' "$LVSD_LOG")" = $((alone + 1)) ] && pass "serial_no + one weight: one block re-read, 1 change" || fail "web tool save took the full path"
reload $B/lvs-0.cf "web tool save back"
ipvsadm -C
reload $B/lvs-0.cf "unchanged file after ipvsadm -C"
[ "$(ipvsadm -Sn | wc -l)" = "$entries" ] && pass "ipvsadm -C repaired at the SIGHUP" || fail "not repaired: $(ipvsadm -Sn | wc -l) entries"
LVSD_LOG=/dev/null
finish
