#!/bin/sh
# A nanny that cannot be started (its binary is there but not executable,
# as during a broken upgrade). hard_shutdown = 0: after a nanny that ran
# for over a minute is killed, the failed starts back off 1 s, 2 s, 4 s (a
# failed start is no long run that resets the delay) with the table kept,
# and the nanny is back once it can be started. hard_shutdown = 1: lvsd
# removes its services and exits 1 without saying ready to pulse, and
# tries no other nanny after the shutdown.
set -u
LVSD_TEST=lvsd-nanny-fail
. ./lvsd-lib.sh
command -v nanny >/dev/null || { echo "FAIL: nanny not in the guest"; exit 1; }
sysctl -qw net.ipv4.ip_forward=1
mkns rs1 10.9.1.1 10.9.1.2
mkns rs2 10.9.4.1 10.9.4.2
ip link add name vip0 type dummy
ip link set vip0 up
ip addr add 10.9.3.100/32 dev vip0
ip netns exec rs1 nc -ll -p 8080 -e cat &
ip netns exec rs2 nc -ll -p 8080 -e cat &
NANNY=$W/nanny
cp "$(command -v nanny)" "$NANNY"
chmod 755 "$NANNY"
DENIED="did not start: Permission denied (os error 13)"

conf() { # file, hard_shutdown, virtuals (one real server each)
    f=$1 hs=$2
    shift 2
    printf 'serial_no = 1\nservice = lvs\nnetwork = nat\nhard_shutdown = %s\n' "$hs" > "$f"
    port=8080
    for v in "$@"; do
        case $v in a) rs=10.9.1.2 ;; *) rs=10.9.4.2 ;; esac
        cat >> "$f" <<EOF
virtual $v {
    active = 1
    address = 10.9.3.100 vip0
    port = $port
    timeout = 1
    reentry = 1
    server ${v}1 {
        address = $rs
        port = 8080
        active = 1
    }
}
EOF
        port=$((port + 1))
    done
}

note "hard_shutdown = 0: failed starts after a long run back off"
conf "$W/lvs.cf" 0 a
start_lvsd "$W/lvs.cf" -v --nanny "$NANNY" --status-socket /run/piranha/nanny-fail.sock --resync 0
ipvsadm -Sn | grep -q -- '-r 10.9.1.2:8080 -m' && pass "a1 in the table" || fail "a1 missing: $(ipvsadm -Sn)"
before=$(rules)
echo "    letting the nanny run for over a minute"
sleep 62
chmod 644 "$NANNY"
kill -KILL "$(pidof nanny)"
wait_log "died (killed by signal 9)! restarting it in 1 s" 1 5 && pass "the long-lived nanny restarts after 1 s" \
    || fail "no 1 s restart after the kill"
wait_log "cannot start nanny $NANNY for a: Permission denied" 1 5 && pass "the failed start is logged" \
    || fail "no 'cannot start nanny' line"
wait_log "$DENIED)! restarting it in 2 s" 1 5 && pass "first failed start: 2 s" \
    || fail "first failed start not retried in 2 s: $(grep 'restarting it' "$LVSD_LOG" | tail -n 2)"
wait_log "$DENIED)! restarting it in 4 s" 1 5 && pass "second failed start: 4 s" \
    || fail "second failed start not retried in 4 s: $(grep 'restarting it' "$LVSD_LOG" | tail -n 2)"
[ "$(log_count "$DENIED)! restarting it in 1 s")" = 0 ] && pass "no failed start retried after 1 s" \
    || fail "failed starts retried after 1 s"
[ "$(rules)" = "$before" ] && pass "table kept while no nanny runs" || fail "table changed: $(rules)"
monitors=$(log_count "create_monitor for a/a1 running as pid")
chmod 755 "$NANNY"
wait_log "create_monitor for a/a1 running as pid" $((monitors + 1)) 15 && pass "the nanny is back once it can start" \
    || fail "the nanny did not come back"
sleep 2
[ -n "$(pidof nanny)" ] && pass "nanny runs ($(pidof nanny))" || fail "no nanny"
[ "$(rules)" = "$before" ] && pass "table unchanged after its first round" || fail "table changed: $(rules)"
stop_lvsd

# start_failing CONF: lvsd with a nanny that cannot start; sets R (what it
# wrote on --ready-fd) and RC (its exit status).
start_failing() {
    rm -f "$W/ready"
    mkfifo "$W/ready"
    : > "$LVSD_LOG"
    lvsd --nodaemon -c "$1" --ready-fd 3 --nanny "$NANNY" --status-socket /run/piranha/nanny-fail.sock --resync 0 \
        3>"$W/ready" >>"$LVSD_LOG" 2>&1 &
    pid=$!
    R=
    read R < "$W/ready" || true
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        fail "lvsd still running"
        kill -TERM "$pid"
    fi
    wait "$pid"
    RC=$?
}

chmod 644 "$NANNY"
note "hard_shutdown = 1, one virtual: shut down, never ready"
conf "$W/hs1.cf" 1 a
start_failing "$W/hs1.cf"
[ "$R" != ready ] && pass "lvsd did not say ready" || fail "lvsd said ready while shutting down"
[ "$RC" = 1 ] && pass "lvsd exited with status 1" || fail "lvsd exit status $RC"
grep -q "nanny for child a/a1 died ($DENIED)! shutting down lvs" "$LVSD_LOG" && pass "Piranha's shutdown line" \
    || fail "no shutdown line"
grep -q "IPVS table built" "$LVSD_LOG" && fail "table reported built: $(grep 'IPVS table built' "$LVSD_LOG")" \
    || pass "no 'IPVS table built' line"
[ "$(ipvsadm -Sn | wc -l)" = 0 ] && pass "its services were removed" || fail "services left: $(ipvsadm -Sn)"
cat "$LVSD_LOG"

note "hard_shutdown = 1, two virtuals: nothing tried after the shutdown"
conf "$W/hs2.cf" 1 a b
start_failing "$W/hs2.cf"
[ "$R" != ready ] && pass "lvsd did not say ready" || fail "lvsd said ready while shutting down"
[ "$RC" = 1 ] && pass "lvsd exited with status 1" || fail "lvsd exit status $RC"
n=$(log_count "cannot start nanny")
[ "$n" = 1 ] && pass "one nanny tried, none after the shutdown" || fail "$n nanny starts tried"
[ "$(ipvsadm -Sn | wc -l)" = 0 ] && pass "its services were removed" || fail "services left: $(ipvsadm -Sn)"
finish
