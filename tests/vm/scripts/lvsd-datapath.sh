#!/bin/sh
# A live TCP connection through a NAT virtual server programmed by lvsd,
# from a client namespace to a real-server namespace, stays open across
# reloads: one that changes another service, one that changes this
# service's scheduler and persistence (an edit, not delete + add), one that
# changes its real server's weight. New connections work after each.
set -u
LVSD_TEST=lvsd-datapath
. ./lvsd-lib.sh
sysctl -qw net.ipv4.ip_forward=1
# (fe) the router: root namespace. Real servers in rs1, rs2; client in cl.
mkns rs1 10.9.1.1 10.9.1.2
mkns rs2 10.9.4.1 10.9.4.2
mkns cl 10.9.2.1 10.9.2.2
ip link add name vip0 type dummy
ip link set vip0 up
ip addr add 10.9.3.100/32 dev vip0
ip addr add 10.9.3.101/32 dev vip0

# Echo servers (one process per connection: -ll keeps listening).
ip netns exec rs1 nc -ll -p 8080 -e cat &
ip netns exec rs2 nc -ll -p 8080 -e cat &
sleep 0.5

conf() { # sched persistent weight other_sched
    cat > "$1" <<EOF
serial_no = 1
service = lvs
network = nat
virtual echo {
    active = 1
    address = 10.9.3.100 vip0
    port = 80
    scheduler = $2
    persistent = $3
    server rs1 {
        address = 10.9.1.2
        active = 1
        port = 8080
        weight = $4
    }
}
virtual other {
    active = 1
    address = 10.9.3.101 vip0
    port = 80
    scheduler = $5
    server rs2 {
        address = 10.9.4.2
        active = 1
        port = 8080
    }
}
EOF
}
conf "$W/lvs.cf" wlc 0 1 rr
start_lvsd "$W/lvs.cf" --no-monitor -v --resync 0
ipvsadm -Ln

# A new connection answers (one line through VIP -> rs1 and back).
probe() { # vip
    r=$(echo "probe-$1" | ip netns exec cl timeout 5 nc -w 3 "$1" 80 2>/dev/null | head -n 1)
    [ "$r" = "probe-$1" ]
}
probe 10.9.3.100 && pass "new connection through the NAT virtual answers" || fail "no answer through 10.9.3.100"
probe 10.9.3.101 && pass "second virtual answers" || fail "no answer through 10.9.3.101"

# The long-lived connection: input from a fifo held open by a sleeper.
mkfifo "$W/cin"
ip netns exec cl sh -c "nc 10.9.3.100 80 < '$W/cin' > '$W/cout'" &
NCPID=$!
exec 7>"$W/cin"
say() { # text -> waits for the echo
    echo "$1" >&7
    i=0
    while ! grep -qx "$1" "$W/cout"; do
        i=$((i + 1)); [ $i -gt 50 ] && return 1
        sleep 0.1
    done
    return 0
}
say hello-0 && pass "long-lived connection established" || fail "long-lived connection: no echo"
ipvsadm -Lnc | grep -q 'ESTABLISHED.*10.9.1.2:8080' && pass "connection in the IPVS table" || fail "no ESTABLISHED entry"

step=0
for change in "wlc 0 1 wlc:another service's scheduler changed" \
              "rr 300 1 wlc:this service's scheduler and persistence changed" \
              "rr 300 5 wlc:this real server's weight changed"; do
    step=$((step + 1))
    args=${change%%:*}
    what=${change#*:}
    # shellcheck disable=SC2086
    conf "$W/new.cf" $args
    reload_lvsd "$W/new.cf"
    say "hello-$step" && pass "reload ($what): the open connection still echoes" || fail "reload ($what): connection broken"
    probe 10.9.3.100 && pass "reload ($what): new connections work" || fail "reload ($what): new connection fails"
done
ipvsadm -Ln
kill -0 $NCPID 2>/dev/null && pass "client nc still running" || fail "client nc ended"
exec 7>&-
finish
