#!/bin/sh
# FLT-K06 at process level: a nanny that fails at every start (the real
# lvsd, hard_shutdown = 0, --nanny pointing at a program that exits 1 at
# once). The respawns are rate-limited: at most 7 restarts in the first
# 60 s (lvsd's backoff is 1 s doubling to 60 s); at most one lvsd log line
# per restart (the death, with the delay of the restart; Piranha's
# `create_monitor ... running as pid` line is written for the first start
# only, at debug level for restarts); the IPVS table stays as lvsd built it
# (the service; its real server, never checked, is not added); and lvsd
# keeps running.
LVSD_TEST=lvsd-crashloop
. /lvs-vm/scripts/lvsd-lib.sh
lvsd_net

cat > "$W/bad-nanny" <<EOF
#!/bin/sh
echo start >> "$W/nanny-starts"
echo "nanny: cannot start (test)" >&2
exit 1
EOF
chmod 755 "$W/bad-nanny"
rm -f "$W/nanny-starts"

cat > "$W/lvs.cf" <<'EOF'
serial_no = 1
service = lvs
network = direct
hard_shutdown = 0
virtual web {
    active = 1
    address = 10.9.3.100 lvs-dummy
    port = 80
    timeout = 1
    reentry = 2
    server rs1 {
        address = 10.9.1.2
        active = 1
    }
}
EOF

start_lvsd "$W/lvs.cf" --nanny "$W/bad-nanny" --status-socket /run/piranha/crash.sock --resync 0
before=$(rules)
echo "$before" | grep -q -- '-A -t 10.9.3.100:80' \
    && pass "table built: the service" || fail "table: $before"

note "60 s of a nanny that fails at every start"
samples=0; changed=0
i=0
while [ $i -lt 60 ]; do
    [ "$(rules)" = "$before" ] || changed=$((changed + 1))
    samples=$((samples + 1))
    sleep 1
    i=$((i + 1))
done
starts=$(wc -l < "$W/nanny-starts")
restarts=$((starts - 1))
deaths=$(log_count "died (exit status 1)! restarting it in")
# lvsd's lines after the first start's (status socket, service, monitor).
lines=$(grep "^lvs: " "$LVSD_LOG" | grep -vc "status socket\|starting virtual service\|first round of checks\|IPVS table built" || true)
lines=$((lines - 1))
echo "FIGURE K06 crash loop: $starts nanny starts ($restarts restarts) in 60 s, $deaths death lines, $lines lvsd log lines after the first start"
[ "$restarts" -ge 3 ] && [ "$restarts" -le 7 ] \
    && pass "$restarts restarts in the first 60 s (at most 7, backoff 1 s doubling)" \
    || fail "$restarts restarts in 60 s"
# One death line per death, each with its restart delay.
[ "$deaths" -eq "$starts" ] || [ "$deaths" -eq "$restarts" ] \
    && pass "one death line per nanny death ($deaths)" \
    || fail "$deaths death lines for $starts starts"
[ "$lines" -le "$deaths" ] && pass "one lvsd line per restart ($lines lines for $deaths deaths)" \
    || { fail "$lines lvsd lines for $deaths deaths"; grep "^lvs: " "$LVSD_LOG" | sed 's/^/    /'; }
[ "$changed" -eq 0 ] && pass "IPVS table unchanged in $samples samples" || fail "table changed in $changed of $samples samples"
kill -0 "$LVSD_PID" 2>/dev/null && pass "lvsd still running" || fail "lvsd exited"
finish
