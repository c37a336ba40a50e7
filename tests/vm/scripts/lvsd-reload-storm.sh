#!/bin/sh
# FLT-R01: 100 SIGHUPs in about a second, alternating configs A and B
# (B has one more virtual and a changed scheduler), with the real nanny.
# Pass: lvsd alive, the final table equals the last config (dry-run plan
# empty), one nanny per active virtual of the last config, no zombies,
# the same number of open descriptors as before.
set -u
LVSD_TEST=lvsd-reload-storm
. ./lvsd-lib.sh
lvsd_net
# The real servers are local addresses with an echo listener: nanny's TCP
# connect check succeeds (the kernel reports them as "Local").
ip addr add 10.2.0.1/32 dev lvs-dummy
ip addr add 10.2.0.2/32 dev lvs-dummy
nc -ll -p 8080 -e cat &
conf() { # file extra-virtual(0|1) scheduler
    cat > "$1" <<EOF
serial_no = 1
service = lvs
network = nat
hard_shutdown = 0
virtual a {
    active = 1
    address = 10.1.0.1 lvs-dummy:1
    port = 8080
    scheduler = $3
    timeout = 2
    server r1 {
        address = 10.2.0.1
        active = 1
    }
}
virtual b {
    active = $2
    address = 10.1.0.2 lvs-dummy:2
    port = 8080
    timeout = 2
    server r1 {
        address = 10.2.0.2
        active = 1
    }
}
EOF
}
conf "$W/A.cf" 0 wlc
conf "$W/B.cf" 1 rr
cp "$W/B.cf" "$W/lvs.cf"
start_lvsd "$W/lvs.cf" --resync 0
sleep 3
fds_before=$(ls /proc/"$LVSD_PID"/fd | wc -l)
i=0
while [ $i -lt 100 ]; do
    if [ $((i % 2)) = 1 ]; then cp "$W/B.cf" "$W/lvs.cf"; else cp "$W/A.cf" "$W/lvs.cf"; fi
    kill -HUP "$LVSD_PID"
    sleep 0.01
    i=$((i + 1))
done
# The last copy was A; one more reload of B, waited for.
sleep 1
n=$(log_count 'configuration reloaded')
cp "$W/B.cf" "$W/lvs.cf"
kill -HUP "$LVSD_PID"
wait_log 'configuration reloaded' $((n + 1)) 30 || fail "final reload not logged"
note "$(log_count 'configuration reloaded') reloads done for 101 SIGHUPs (signals coalesce)"
kill -0 "$LVSD_PID" && pass "lvsd alive" || fail "lvsd died"
sleep 3
lvsd --dry-run -c "$W/lvs.cf" > "$W/plan" 2>/dev/null
grep -c -- '-r 10.2.0' "$W/plan" >/dev/null
[ ! -s "$W/plan" ] && pass "final table equals the last config (servers up)" || fail "plan not empty: $(cat "$W/plan")"
ipvsadm -Ln
[ "$(pidof nanny | wc -w)" = 2 ] && pass "2 nannies for 2 active virtuals" || fail "nannies: $(pidof nanny)"
z=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)
[ "$z" = 0 ] && pass "no zombies" || fail "$z zombies"
fds_after=$(ls /proc/"$LVSD_PID"/fd | wc -l)
[ "$fds_after" = "$fds_before" ] && pass "descriptors: $fds_before before, $fds_after after" || fail "descriptors: $fds_before before, $fds_after after"
LVSD_LOG_SHORT=1
finish
