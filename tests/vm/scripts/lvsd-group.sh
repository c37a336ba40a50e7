#!/bin/sh
# Virtual servers that share an identical check of their real servers share
# one nanny: two VIPs and a fwmark service over the same two real servers
# with the same check get ONE nanny process, each real server receives one
# probe per interval (counted at the real server), and all three virtuals'
# IPVS entries follow a real server going down and up (ipvsadm -Sn as the
# oracle). An unrelated virtual keeps its own nanny; a reload that changes
# only it leaves the shared nanny's pid alone; a killed shared nanny
# (hard_shutdown = 0) is restarted with the table of all three kept.
set -u
LVSD_TEST=lvsd-group
. ./lvsd-lib.sh
command -v nanny >/dev/null || { echo "FAIL: nanny not in the guest"; exit 1; }
sysctl -qw net.ipv4.ip_forward=1
mkns rs1 10.9.1.1 10.9.1.2
mkns rs2 10.9.4.1 10.9.4.2
ip link add name vip0 type dummy
ip link set vip0 up
ip addr add 10.9.3.100/32 dev vip0
ip addr add 10.9.3.101/32 dev vip0

# Every connection accepted on port 8080 of a real server appends a line
# to $W/NAME.hits; port 8081 (the unrelated virtual's check) is not counted.
# The shared check sends a line, so that each probe is a connection the
# server accepts (a connect-only probe ends at the SYN-ACK and makes none).
for n in rs1 rs2; do
    printf '#!/bin/sh\necho . >> %s/%s.hits\nexec cat 2>/dev/null\n' "$W" "$n" > "$W/count-$n"
    chmod 755 "$W/count-$n"
    : > "$W/$n.hits"
done
# serve NAME: the counted listener on 8080 (ip netns exec execs nc, so $!
# is nc's pid); unserve NAME stops it, and only it.
serve() { ip netns exec "$1" nc -ll -p 8080 -e "$W/count-$1" & eval "SERVE_$1=$!"; }
unserve() { eval "kill \$SERVE_$1"; }
serve rs1
serve rs2
ip netns exec rs1 nc -ll -p 8081 -e cat &

conf() { # file, scheduler and weight of the unrelated virtual
    cat > "$1" <<EOF
serial_no = 1
service = lvs
network = nat
hard_shutdown = 0
virtual a {
    active = 1
    address = 10.9.3.100 vip0
    port = 8080
    send = "ping\n"
    timeout = 1
    reentry = 2
    server rs1 {
        address = 10.9.1.2
        active = 1
    }
    server rs2 {
        address = 10.9.4.2
        active = 1
    }
}
virtual b {
    active = 1
    address = 10.9.3.101 vip0
    port = 8080
    send = "ping\n"
    timeout = 1
    reentry = 2
    server r1 {
        address = 10.9.1.2
        active = 1
    }
    server r2 {
        address = 10.9.4.2
        active = 1
    }
}
virtual m {
    active = 1
    address = 10.9.3.100 vip0
    fwmark = 5
    port = 8080
    send = "ping\n"
    timeout = 1
    reentry = 2
    server one {
        address = 10.9.1.2
        active = 1
    }
    server two {
        address = 10.9.4.2
        active = 1
    }
}
virtual u {
    active = 1
    address = 10.9.3.100 vip0
    port = 8081
    scheduler = $2
    timeout = 1
    reentry = 2
    server x {
        address = 10.9.1.2
        active = 1
        weight = $3
    }
}
EOF
}
conf "$W/lvs.cf" wlc 1
# the entries of the three virtuals that share the nanny
shared_rules() { rules | grep -v ':8081'; }

# wait_rules PATTERN PRESENT(1|0) SECONDS
wait_rules() {
    i=0
    while :; do
        if ipvsadm -Sn | grep -q -- "$1"; then [ "$2" = 1 ] && return 0; else [ "$2" = 0 ] && return 0; fi
        i=$((i + 1)); [ $i -gt $(( $3 * 10 )) ] && return 1
        sleep 0.1
    done
}
# the pid lvsd logged for a virtual/server's nanny
pid_of() { sed -n "s|.*create_monitor for $1 running as pid \([0-9]*\).*|\1|p" "$LVSD_LOG" | tail -n 1; }
# in_all PRESENT(1|0) SECONDS ADDR: ADDR in (or out of) all three shared virtuals
in_all() {
    wait_rules "-a -t 10.9.3.100:8080 -r $3:8080" "$1" "$2" &&
        wait_rules "-a -t 10.9.3.101:8080 -r $3:8080" "$1" "$2" &&
        wait_rules "-a -f 5 -r $3:" "$1" "$2"
}

start_lvsd "$W/lvs.cf" -v --nanny /usr/sbin/nanny --status-socket /run/piranha/group.sock --resync 0
ipvsadm -Ln
in_all 1 1 10.9.1.2 && in_all 1 1 10.9.4.2 && pass "ready: both real servers in a, b and fwmark 5" \
    || fail "real servers missing at ready"
n=$(pidof nanny | wc -w)
[ "$n" = 2 ] && pass "two nanny processes: one for a, b and m, one for u" || fail "nanny processes: $n ($(pidof nanny))"
shared=$(pid_of a/rs1)
if [ -n "$shared" ] && [ "$(pid_of b/r1)" = "$shared" ] && [ "$(pid_of m/one)" = "$shared" ] \
    && [ "$(pid_of a/rs2)" = "$shared" ]; then
    pass "a, b and m are watched by the same nanny (pid $shared)"
else
    fail "a/rs1 $(pid_of a/rs1), b/r1 $(pid_of b/r1), m/one $(pid_of m/one)"
fi
other=$(pid_of u/x)
[ -n "$other" ] && [ "$other" != "$shared" ] && pass "u has its own nanny (pid $other)" \
    || fail "u's nanny: '$other'"

note "probes per interval at the real servers (timeout = 1)"
sleep 2
c0=$(wc -l < "$W/rs1.hits"); d0=$(wc -l < "$W/rs2.hits"); t0=$(date +%s)
sleep 8
c1=$(wc -l < "$W/rs1.hits"); d1=$(wc -l < "$W/rs2.hits"); t1=$(date +%s)
secs=$((t1 - t0)); c=$((c1 - c0)); d=$((d1 - d0))
echo "    $secs s: rs1 accepted $c connections, rs2 $d (three virtuals check each)"
# One nanny probing one shared check: at most one probe a second, plus one
# for the edges of the window. Three separate checks would make ~3 a second.
if [ "$c" -ge $((secs / 2)) ] && [ "$c" -le $((secs + 1)) ] \
    && [ "$d" -ge $((secs / 2)) ] && [ "$d" -le $((secs + 1)) ]; then
    pass "each real server is probed once per interval, not once per virtual"
else
    fail "probe counts rs1 $c rs2 $d in $secs s"
fi

note "rs1 stops answering on 8080"
unserve rs1
in_all 0 10 10.9.1.2 && pass "rs1 removed from a, b and fwmark 5" || { fail "rs1 still in a shared virtual"; ipvsadm -Ln; }
in_all 1 1 10.9.4.2 && pass "rs2 stays in all three" || fail "rs2 gone"
ipvsadm -Sn | grep -q -- '-a -t 10.9.3.100:8081 -r 10.9.1.2:8081' && pass "u's rs1 (its own check) stays" \
    || fail "u lost its server"

note "rs1 back"
serve rs1
in_all 1 15 10.9.1.2 && pass "rs1 readmitted to a, b and fwmark 5" || { fail "rs1 not readmitted everywhere"; ipvsadm -Ln; }

note "a reload that changes only u keeps the shared nanny"
# (a new scheduler for the kernel, a new weight for u's nanny: its job line
# changes; nanny ramps a weight up, so the weight itself is not checked)
conf "$W/u.cf" rr 3
reload_lvsd "$W/u.cf"
wait_rules '-A -t 10.9.3.100:8081 -s rr' 1 10 && pass "u's scheduler changed" || fail "u's scheduler"
kill -0 "$shared" 2>/dev/null && [ "$(pid_of a/rs1)" = "$shared" ] \
    && pass "the shared nanny kept its pid ($shared)" || fail "the shared nanny was restarted"
kill -0 "$other" 2>/dev/null && pass "u's nanny kept its pid too (new job line, same process)" \
    || fail "u's nanny was restarted"
[ "$(pidof nanny | wc -w)" = 2 ] && pass "still two nannies" || fail "nannies: $(pidof nanny)"

note "kill -9 the shared nanny (hard_shutdown = 0)"
before=$(shared_rules)
kill -KILL "$shared"
wait_log "nanny for child a/rs1,rs2 b/r1,r2 m/one,two died (killed by signal 9)! restarting it in 1 s" 1 5 \
    && pass "death logged for the whole group" || fail "no group death line"
[ "$(shared_rules)" = "$before" ] && pass "table of a, b and m kept while it restarts" || fail "table changed at nanny death"
sleep 3
new=$(pid_of a/rs1)
[ -n "$new" ] && [ "$new" != "$shared" ] && [ "$(pid_of b/r1)" = "$new" ] && [ "$(pid_of m/one)" = "$new" ] \
    && pass "one new nanny for a, b and m (pid $new)" || fail "restart: a/rs1 '$new', b/r1 '$(pid_of b/r1)'"
kill -0 "$other" 2>/dev/null && pass "u's nanny was not touched" || fail "u's nanny restarted"
[ "$(pidof nanny | wc -w)" = 2 ] && pass "still two nannies" || fail "nannies: $(pidof nanny)"
sleep 2
[ "$(shared_rules)" = "$before" ] && pass "table of a, b and m unchanged after the restarted nanny's first round" \
    || { fail "table changed after restart"; ipvsadm -Ln; }
finish
