#!/bin/sh
# FLT-T01: the wall clock stepped by an hour, forward and back, while a
# router pair runs (real pulse, lvsd and nanny; a real server answering
# HTTP): no failover, no delayed failover, no health flap. Every deadline
# of the suite is on the monotonic clock, which a wall-clock step does not
# move. Then a kill -9 of the active pulse still fails over within
# deadtime + keepalive + 1 s (no timer was left stuck by the steps).
#
#   bridge "lan" in the guest's root namespace
#     r1 192.0.2.1   r2 192.0.2.2   s1 192.0.2.50 (busybox httpd)
#     VIP 192.0.2.100 on the active router
set -u
W=/run/pulse-clock
mkdir -p "$W" /run/piranha
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
for b in pulse lvsd nanny ipvsadm httpd; do
    command -v "$b" >/dev/null || { echo "FAIL: $b not in the guest"; exit 1; }
done

ip link add name lan type bridge
ip link set lan up
plug() { # ns address
    ip netns add "$1"
    ip link add name "$1-l" type veth peer name eth0 netns "$1"
    ip link set "$1-l" master lan up
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 up
    ip -n "$1" addr add "$2/24" dev eth0
}
plug r1 192.0.2.1
plug r2 192.0.2.2
plug s1 192.0.2.50
mkdir -p "$W/www"
echo "hello from s1" > "$W/www/index.html"
ip netns exec s1 httpd -p 80 -h "$W/www"

cat > "$W/lvs.cf" <<EOF
serial_no = 1
primary = 192.0.2.1
backup = 192.0.2.2
backup_active = 1
heartbeat = 1
heartbeat_port = 539
keepalive = 1
deadtime = 3
network = direct
virtual web {
     active = 1
     address = 192.0.2.100 eth0:1
     vip_nmask = 255.255.255.0
     port = 80
     send = "GET / HTTP/1.0\r\n\r\n"
     expect = "HTTP"
     timeout = 2
     reentry = 4
     server s1 {
         address = 192.0.2.50
         active = 1
     }
}
EOF
for n in 1 2; do
    cat > "$W/lvsd-r$n" <<EOF
#!/bin/sh
exec /usr/sbin/lvsd "\$@" --status-socket /run/piranha/lvsd-r$n.sock
EOF
    chmod 755 "$W/lvsd-r$n"
done
start_pulse() { # N
    ip netns exec "r$1" pulse -n -c "$W/lvs.cf" --lvsd="$W/lvsd-r$1" \
        --pidfile="$W/pulse-r$1.pid" --status-socket="/run/piranha/pulse-r$1.sock" \
        --state-dir="$W/state-r$1" >> "$W/pulse-r$1.log" 2>&1 &
    eval "PID$1=\$!"
}
has_vip() { ip -n "r$1" -o addr show dev eth0 | grep -q 192.0.2.100/; }
dump_logs() {
    for n in 1 2; do echo "---- pulse r$n log"; sed 's/^/    /' "$W/pulse-r$n.log"; done
}

start_pulse 1
start_pulse 2
i=0
until has_vip 1 && grep -q "making 192.0.2.50:80 available" "$W/pulse-r1.log"; do
    i=$((i + 1))
    [ $i -gt 300 ] && { fail "r1 not active with s1 up after 30 s"; dump_logs; exit 1; }
    sleep 0.1
done
pass "r1 active, s1 up"
sleep 4

# steady SECONDS WHAT: for SECONDS, r1 alone holds the VIP (sampled every
# 100 ms) and nobody logs a takeover, a relinquish or a health change.
steady() {
    before1=$(wc -l < "$W/pulse-r1.log"); before2=$(wc -l < "$W/pulse-r2.log")
    i=0; bad=0
    while [ $i -lt $(( $1 * 10 )) ]; do
        if ! has_vip 1 || has_vip 2; then bad=$((bad + 1)); fi
        i=$((i + 1)); sleep 0.1
    done
    new=$(tail -n +$((before1 + 1)) "$W/pulse-r1.log"; tail -n +$((before2 + 1)) "$W/pulse-r2.log")
    events=$(echo "$new" | grep -E "activating|deactivating|partner dead|\[inactive\]|\[ active \]|resending arps" || true)
    if [ "$bad" -eq 0 ] && [ -z "$events" ]; then
        pass "$2: $i samples, r1 alone active, no event"
    else
        fail "$2: $bad bad samples; events: $events"
    fi
}

now=$(date +%s)
date -s "@$((now + 3600))" >/dev/null
echo "clock stepped forward: $(date)"
steady 8 "wall clock +1 h"
now=$(date +%s)
date -s "@$((now - 7200))" >/dev/null
echo "clock stepped back: $(date)"
steady 8 "wall clock -2 h"
now=$(date +%s)
date -s "@$((now + 3600))" >/dev/null

# No stuck timer: a real failover still happens in time. The timer part
# (r2 declares r1 dead) is bounded by deadtime + keepalive + 1 s; the VIP
# comes up once r2's lvsd has its table and nanny's first round of checks
# (up to timeout + 1 s more), reported as a figure.
# Timed on CLOCK_BOOTTIME (/proc/uptime), which the steps do not move.
up_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
dead_before=$(grep -c "partner dead: activating lvs" "$W/pulse-r2.log")
t0=$(up_ms)
kill -9 "$PID1"
ip netns exec r1 ip link set eth0 down
dead_ms=
i=0
until has_vip 2; do
    if [ -z "$dead_ms" ] && [ "$(grep -c "partner dead: activating lvs" "$W/pulse-r2.log")" -gt "$dead_before" ]; then
        dead_ms=$(( $(up_ms) - t0 ))
    fi
    i=$((i + 1))
    [ $i -gt 400 ] && break
    sleep 0.05
done
vip_ms=$(( $(up_ms) - t0 ))
[ -n "$dead_ms" ] || dead_ms=$vip_ms
echo "FIGURE T01 after the clock steps: r2 declared r1 dead after $dead_ms ms (bound deadtime + keepalive + 1 s = 5000 ms), held the VIP after $vip_ms ms"
if has_vip 2 && [ "$dead_ms" -le 5000 ]; then
    pass "kill -9 of r1 after the steps: r2 declared it dead in $dead_ms ms and took over"
else
    fail "r2 did not declare r1 dead in time ($dead_ms ms; VIP: $vip_ms ms)"
fi

kill "$PID2" 2>/dev/null
sleep 1
if [ "$FAILED" -ne 0 ]; then
    dump_logs
    echo "pulse-clock: FAILED"
    exit 1
fi
echo "pulse-clock: all checks passed"
