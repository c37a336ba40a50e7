#!/bin/sh
# lvsd with the real nanny: servers are added when nanny reports them up,
# removed when they stop answering, the sorry server takes over when all
# are down and leaves when one is back; quiesce keeps a down server at
# weight 0; the status socket; a nanny killed with SIGKILL is restarted
# with hard_shutdown = 0 (the table is kept meanwhile; FLT-K03) and makes
# lvsd shut down (its services removed, exit status non-zero) with
# hard_shutdown = 1. (quiet checks q1 with another timeout than web checks
# rs1 at the same address and port, so the two virtuals do not share a
# check and keep a nanny each; lvsd-group.sh tests the shared case.)
set -u
LVSD_TEST=lvsd-nanny
. ./lvsd-lib.sh
command -v nanny >/dev/null || { echo "FAIL: nanny not in the guest"; exit 1; }
sysctl -qw net.ipv4.ip_forward=1
mkns rs1 10.9.1.1 10.9.1.2
mkns rs2 10.9.4.1 10.9.4.2
mkns sorry 10.9.5.1 10.9.5.2
ip link add name vip0 type dummy
ip link set vip0 up
ip addr add 10.9.3.100/32 dev vip0

serve() { ip netns exec "$1" nc -ll -p 8080 -e cat & }
unserve() { for p in $(ip netns pids "$1"); do kill "$p"; done; }
serve rs1
serve rs2
serve sorry

conf() { # hard_shutdown
    cat > "$1" <<EOF
serial_no = 1
service = lvs
network = nat
hard_shutdown = $2
virtual web {
    active = 1
    address = 10.9.3.100 vip0
    port = 8080
    scheduler = wlc
    timeout = 1
    reentry = 2
    sorry_server = 10.9.5.2
    server rs1 {
        address = 10.9.1.2
        active = 1
    }
    server rs2 {
        address = 10.9.4.2
        active = 1
    }
}
virtual quiet {
    active = 1
    address = 10.9.3.100 vip0
    port = 8081
    timeout = 2
    reentry = 2
    quiesce_server = 1
    server q1 {
        address = 10.9.1.2
        active = 1
        port = 8080
    }
}
EOF
}
conf "$W/lvs.cf" 0

# wait_rules PATTERN PRESENT(1|0) SECONDS
wait_rules() {
    i=0
    while :; do
        if ipvsadm -Sn | grep -q -- "$1"; then [ "$2" = 1 ] && return 0; else [ "$2" = 0 ] && return 0; fi
        i=$((i + 1)); [ $i -gt $(( $3 * 10 )) ] && return 1
        sleep 0.1
    done
}

start_lvsd "$W/lvs.cf" -v --nanny /usr/sbin/nanny --status-socket /run/piranha/lvsd.sock --resync 0
ipvsadm -Ln
ipvsadm -Sn | grep -q -- '-r 10.9.1.2:8080 -m' && ipvsadm -Sn | grep -q -- '-r 10.9.4.2:8080 -m' \
    && pass "ready with both real servers reported up by nanny" || fail "real servers missing at ready"
ipvsadm -Sn | grep -q -- '10.9.5.2' && fail "sorry server present while servers are up" || pass "no sorry server while servers are up"
[ "$(pidof nanny | wc -w)" = 2 ] && pass "one nanny per virtual (2)" || fail "nanny processes: $(pidof nanny)"

st=$(lvsd-benchgen status /run/piranha/lvsd.sock 2>&1)
echo "    status: $st"
echo "$st" | grep -q '"virtual":"web","protocol":"tcp","address":"10.9.3.100","port":8080,"fwmark":null,"scheduler":"wlc","persistent":0' \
    && echo "$st" | grep -q '"server":"rs1","address":"10.9.1.2","port":8080,"state":"up","weight":1' \
    && pass "status socket answers the documented shape" || fail "status socket answer"
perm=$(stat -c %a /run/piranha/lvsd.sock)
[ "$perm" = 660 ] && pass "status socket mode 0660" || fail "status socket mode $perm"

note "rs1 stops answering"
unserve rs1
wait_rules '-a -t 10.9.3.100:8080 -r 10.9.1.2:8080' 0 10 && pass "rs1 removed from web" || fail "rs1 still in web"
wait_rules '-a -t 10.9.3.100:8081 -r 10.9.1.2:8080 -m -w 0' 1 10 && pass "quiesce: q1 kept at weight 0" || fail "q1 not at weight 0"
ipvsadm -Sn | grep -q -- '-r 10.9.4.2:8080' && pass "rs2 still there" || fail "rs2 gone"

note "rs2 stops too: sorry server"
unserve rs2
wait_rules '-r 10.9.5.2:8080 -m -w 1' 1 10 && pass "sorry server added when all are down" || fail "no sorry server"
wait_log "No real servers; activate sorry_server 10.9.5.2" 1 5 && pass "sorry log line" || fail "no sorry log line"
r=$(echo via-sorry | ip netns exec rs2 timeout 5 nc -w 3 10.9.3.100 8080 2>/dev/null | head -n 1)
[ "$r" = via-sorry ] && pass "a client reaches the sorry server through the VIP" || fail "sorry server not reachable ($r)"

note "rs1 back"
serve rs1
wait_rules '-a -t 10.9.3.100:8080 -r 10.9.1.2:8080' 1 15 && pass "rs1 readmitted" || fail "rs1 not readmitted"
wait_rules '10.9.5.2' 0 5 && pass "sorry server removed" || fail "sorry server stays"
wait_log "deactivate sorry_server 10.9.5.2" 1 5 && pass "deactivate log line" || fail "no deactivate line"
serve rs2
wait_rules '-r 10.9.4.2:8080' 1 15 && pass "rs2 readmitted" || fail "rs2 not readmitted"

note "FLT-K03: kill -9 a nanny (hard_shutdown = 0)"
before=$(rules)
victim=$(pidof nanny | awk '{print $1}')
other=$(pidof nanny | awk '{print $2}')
kill -KILL "$victim"
wait_log "died (killed by signal 9)! restarting it in 1 s" 1 5 && pass "death logged, restart in 1 s" || fail "no restart log"
[ "$(rules)" = "$before" ] && pass "table kept while the nanny restarts" || fail "table changed at nanny death"
sleep 2.5
n=$(pidof nanny | wc -w)
[ "$n" = 2 ] && pass "nanny restarted" || fail "nanny count $n after restart"
kill -0 "$other" 2>/dev/null && pass "the other nanny kept its pid" || fail "the other nanny was restarted"
sleep 2
[ "$(rules)" = "$before" ] && pass "table unchanged after the restarted nanny's first round" || { fail "table changed after restart"; ipvsadm -Ln; }

note "hard_shutdown = 1: a nanny death shuts lvsd down"
conf "$W/hs.cf" 1
reload_lvsd "$W/hs.cf"
kill -KILL "$(pidof nanny | awk '{print $1}')"
i=0; while kill -0 "$LVSD_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if kill -0 "$LVSD_PID" 2>/dev/null; then fail "lvsd still running"; else
    wait "$LVSD_PID"; rc=$?; LVSD_PID=
    [ "$rc" != 0 ] && pass "lvsd exited with status $rc" || fail "lvsd exited 0"
fi
grep -q "died! shutting down lvs\|died (killed by signal 9)! shutting down lvs" "$LVSD_LOG" && pass "Piranha's shutdown line" || fail "no shutdown line"
[ "$(ipvsadm -Sn | wc -l)" = 0 ] && pass "its services were removed" || fail "services left: $(ipvsadm -Sn)"
sleep 1
[ -z "$(pidof nanny)" ] && pass "no nanny left" || fail "nanny left: $(pidof nanny)"
finish
