#!/bin/sh
# pulse drives the kernel's IPVS connection-sync daemon (lvs.cf `syncdaemon`,
# `syncd_iface`, `syncd_id`; spec 2.6 step 3 and 2.7 step 2) with the real
# lvsd and nanny: two router namespaces on one link, Debian's
# `ipvsadm -L --daemon` in each as the oracle. At start both run the backup
# daemon; the active router switches to master; on a clean stop the active
# router goes back to backup (and stays there after pulse exits, as
# Piranha) while the partner takes over and becomes master; a restarted
# router stays backup (no failback) until the other one stops.
set -u
W=/tmp/pulse-syncd
mkdir -p "$W" /run/piranha
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
for b in pulse lvsd nanny ipvsadm; do
    command -v "$b" >/dev/null || { echo "FAIL: $b not in the guest"; exit 1; }
done

ip netns add r1
ip netns add r2
ip link add name hb1 type veth peer name hb2
ip link set hb1 netns r1
ip link set hb2 netns r2
for n in 1 2; do
    ip -n "r$n" link set dev "hb$n" name eth0
    ip -n "r$n" addr add "192.0.2.$n/24" dev eth0
    ip -n "r$n" link set dev eth0 up
    ip -n "r$n" link set dev lo up
done

cat > "$W/lvs.cf" <<EOF
serial_no = 1
primary = 192.0.2.1
backup = 192.0.2.2
backup_active = 1
heartbeat = 1
heartbeat_port = 539
keepalive = 0.25
deadtime = 1.5
network = direct
syncdaemon = 1
syncd_iface = eth0
syncd_id = 7
virtual web {
     active = 1
     address = 192.0.2.100 eth0:1
     vip_nmask = 255.255.255.0
     port = 80
     timeout = 2
     server s1 {
         address = 192.0.2.50
         active = 1
     }
}
EOF

# The real lvsd, with a status socket per router (the namespaces share /run).
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
        >> "$W/pulse-r$1.log" 2>&1 &
    eval "PID$1=\$!"
}

daemon_of() { ip netns exec "r$1" ipvsadm -L --daemon 2>&1; }

# expect_daemon N master|backup SECONDS WHAT
expect_daemon() {
    i=0
    while :; do
        d=$(daemon_of "$1")
        if echo "$d" | grep -q "$2 sync daemon (mcast=eth0, syncid=7"; then
            other=master; [ "$2" = master ] && other=backup
            if echo "$d" | grep -q "$other sync daemon"; then
                fail "$4: r$1 runs both daemons: $d"
            else
                pass "$4: r$1 $2 ($(echo "$d" | tr '\n' ' '))"
            fi
            return 0
        fi
        i=$((i + 1))
        if [ $i -gt $(( $3 * 10 )) ]; then
            fail "$4: r$1 is not $2 after $3 s: $d"
            return 1
        fi
        sleep 0.1
    done
}

has_vip() { ip -n "r$1" -o addr show dev eth0 | grep -q 192.0.2.100/; }

# wait_vip N 1|0 SECONDS WHAT
wait_vip() {
    i=0
    while :; do
        if has_vip "$1"; then [ "$2" = 1 ] && break; else [ "$2" = 0 ] && break; fi
        i=$((i + 1))
        if [ $i -gt $(( $3 * 10 )) ]; then fail "$4"; return 1; fi
        sleep 0.1
    done
    pass "$4"
}

stop_pulse() { # N
    eval "p=\$PID$1"
    kill -TERM "$p"
    i=0
    while kill -0 "$p" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 200 ] && { fail "pulse r$1 did not exit"; kill -9 "$p"; break; }
        sleep 0.1
    done
}

dump_logs() {
    for n in 1 2; do echo "---- pulse r$n log"; sed 's/^/    /' "$W/pulse-r$n.log"; done
}

echo "---- start: r1 (primary) and r2"
start_pulse 1
start_pulse 2
wait_vip 1 1 30 "r1 holds the VIP"
expect_daemon 1 master 20 "active primary"
expect_daemon 2 backup 10 "inactive backup"
if ip netns exec r1 ipvsadm -Ln | grep -q "192.0.2.100:80"; then
    pass "the real lvsd built r1's table"
else
    fail "no IPVS service on r1: $(ip netns exec r1 ipvsadm -Ln)"
fi

echo "---- clean stop of r1: r2 takes over"
stop_pulse 1
wait_vip 2 1 20 "r2 holds the VIP"
expect_daemon 2 master 20 "r2 active after r1 left"
expect_daemon 1 backup 10 "r1 after its pulse exited (left in backup mode)"
has_vip 1 && fail "r1 kept the VIP after exit"

echo "---- r1 restarts: no failback, it stays backup"
start_pulse 1
sleep 3
has_vip 1 && fail "r1 took the VIP back (failback)"
expect_daemon 1 backup 5 "restarted r1"
expect_daemon 2 master 5 "r2 still active"

echo "---- clean stop of r2: r1 takes over again"
stop_pulse 2
wait_vip 1 1 20 "r1 holds the VIP again"
expect_daemon 1 master 20 "r1 active again"
expect_daemon 2 backup 10 "r2 after its pulse exited"

stop_pulse 1
if [ "$FAILED" -ne 0 ]; then
    dump_logs
    echo "pulse-syncd: FAILED"
    exit 1
fi
echo "pulse-syncd: all checks passed"
