#!/bin/sh
# Draining a real server with live connections (issue 15, part 4): `lvscf
# drain virtual.web.server.s2 --wait` against lvsd (NAT, two real servers
# in namespaces, a client namespace holding long-lived connections through
# the VIP). At once: s2 at weight 0 in the kernel, its connections go on,
# every new connection goes to s1, lvscf reports the active connections and
# keeps waiting. When the client closes them: lvsd sets `active = 0` on s2
# in lvs.cf (no other byte changes), reloads, s2 leaves the table, and
# lvscf --wait returns 0. Also: --cancel gives the weight back; a drain of a
# server that does not exist is refused with its name.
set -u
LVSD_TEST=lvsd-drain
. ./lvsd-lib.sh
command -v lvscf >/dev/null || { echo "FAIL: lvscf not in the guest"; exit 1; }
sysctl -qw net.ipv4.ip_forward=1
mkns rs1 10.9.1.1 10.9.1.2
mkns rs2 10.9.4.1 10.9.4.2
mkns cl 10.9.6.1 10.9.6.2
ip link add name vip0 type dummy
ip link set vip0 up
ip addr add 10.9.3.100/32 dev vip0

# Each real server says its name, then echoes.
for s in rs1 rs2; do
    printf '#!/bin/sh\necho %s\nexec cat\n' "$s" > "$W/$s.sh"
    chmod +x "$W/$s.sh"
    ip netns exec "$s" nc -ll -p 8080 -e "$W/$s.sh" &
done

cat > "$W/lvs.cf" <<'CF'
serial_no = 1
service = lvs
network = nat
virtual web {
    active = 1
    address = 10.9.3.100 vip0
    port = 8080
    scheduler = rr
    timeout = 2
    reentry = 2
    server s1 {
        address = 10.9.1.2
        active = 1
        weight = 1
    }
    server s2 {
        address = 10.9.4.2
        active = 1
        weight = 1
    }
}
CF
cp "$W/lvs.cf" "$W/lvs.cf.orig"

start_lvsd "$W/lvs.cf" -v --nanny /usr/sbin/nanny --status-socket /run/piranha/lvsd.sock \
    --pulse-socket /run/piranha/no-pulse.sock --resync 0
ipvsadm -Ln

weight_of() { ipvsadm -Sn | grep -- "-r $1:8080" | sed -n 's/.*-w \([0-9]*\).*/\1/p'; }
conns_of() { ipvsadm -Ln | grep -- "$1:8080" | awk '{print $5}'; }

note "four long-lived connections through the VIP (rr: two on each server)"
LONG=
for i in 1 2 3 4; do
    ( while :; do echo "ping $i"; sleep 0.2; done ) | ip netns exec cl nc 10.9.3.100 8080 > "$W/long$i.out" &
    LONG="$LONG $!"
    sleep 0.3
done
sleep 1
on_s2=0
for i in 1 2 3 4; do head -n 1 "$W/long$i.out" | grep -q rs2 && on_s2=$((on_s2 + 1)); done
[ "$on_s2" = 2 ] && pass "two long connections on s2" || fail "long connections on s2: $on_s2 ($(cat "$W"/long*.out | grep -c rs))"
[ "$(conns_of 10.9.4.2)" = 2 ] && pass "the kernel counts 2 active connections on s2" || { fail "active on s2: $(conns_of 10.9.4.2)"; ipvsadm -Ln; }

note "lvscf drain virtual.web.server.s2 --wait"
lvscf -c "$W/lvs.cf" drain virtual.web.server.s2 --wait > "$W/drain.out" 2>&1 &
DRAIN=$!
sleep 1
[ "$(weight_of 10.9.4.2)" = 0 ] && pass "s2 at weight 0 within 1 s" || { fail "s2 weight $(weight_of 10.9.4.2)"; ipvsadm -Ln; }
[ "$(weight_of 10.9.1.2)" = 1 ] && pass "s1 keeps its weight" || fail "s1 weight $(weight_of 10.9.1.2)"
grep -q "virtual web: server s2: draining (weight 0): 2 active" "$W/drain.out" && pass "lvscf reports 2 active connections" || { fail "lvscf said:"; cat "$W/drain.out"; }
st=$(lvsd-benchgen status /run/piranha/lvsd.sock 2>&1)
# s2 is the last server of the document: from its name to the end is its
# own record (fields in the order lvs-status writes them).
s2=$(echo "$st" | grep -o '"server":"s2","address":"10.9.4.2".*')
echo "$s2" | grep -q '"port":8080,"state":"up","weight":0,"in_kernel":true,' \
    && echo "$s2" | grep -q '"active_conns":2,' \
    && echo "$s2" | grep -q '"draining":true' && pass "status: s2 draining, weight 0, 2 active" || fail "status: $st"

new_s1=0
for i in 1 2 3 4 5 6; do
    r=$(echo hi | ip netns exec cl timeout 5 nc -w 1 10.9.3.100 8080 2>/dev/null | head -n 1)
    [ "$r" = rs1 ] && new_s1=$((new_s1 + 1))
done
[ "$new_s1" = 6 ] && pass "6 of 6 new connections go to s1" || fail "new connections to s1: $new_s1 of 6"

before=$(cat "$W"/long*.out | wc -l)
sleep 2
after=$(cat "$W"/long*.out | wc -l)
[ "$after" -ge $((before + 30)) ] && pass "the long connections go on (+$((after - before)) echoed lines in 2 s)" || fail "long connections stalled ($before -> $after lines)"
kill -0 "$DRAIN" 2>/dev/null && pass "lvscf --wait still waiting while s2 has connections" || { fail "lvscf returned early:"; cat "$W/drain.out"; }
cmp -s "$W/lvs.cf" "$W/lvs.cf.orig" && pass "lvs.cf untouched while draining" || fail "lvs.cf changed while draining"

note "the client closes its connections"
t0=$(date +%s)
for p in $LONG; do kill "$p" 2>/dev/null; done
i=0
while kill -0 "$DRAIN" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$DRAIN" 2>/dev/null; then
    fail "lvscf --wait did not return within 15 s"; kill "$DRAIN"
else
    wait "$DRAIN"; rc=$?
    [ "$rc" = 0 ] && pass "lvscf --wait returned 0 ($(( $(date +%s) - t0 )) s after the close)" || fail "lvscf --wait exit $rc"
fi
cat "$W/drain.out" | sed 's/^/    /'
grep -q "drained and deactivated after .* s: it can be stopped" "$W/drain.out" && pass "lvscf says it can be stopped" || fail "no final line"
diff "$W/lvs.cf.orig" "$W/lvs.cf" > "$W/cf.diff"
[ "$(grep -c '^[-+<>] ' "$W/cf.diff")" = 2 ] && grep -Eq '^[+>] +active = 0' "$W/cf.diff" && pass "lvs.cf: only s2's active line changed to 0" || { fail "lvs.cf diff:"; cat "$W/cf.diff"; }
[ -z "$(weight_of 10.9.4.2)" ] && pass "s2 left the table" || { fail "s2 still in the table"; ipvsadm -Ln; }
wait_log "drain of server s2 over after" 1 5 && pass "lvsd logged the end of the drain" || fail "no end-of-drain line"
r=$(echo hi | ip netns exec cl timeout 5 nc -w 1 10.9.3.100 8080 2>/dev/null | head -n 1)
[ "$r" = rs1 ] && pass "the service still answers (s1)" || fail "service after drain: $r"

note "--cancel gives the weight back"
( while :; do echo ping; sleep 0.2; done ) | ip netns exec cl nc 10.9.3.100 8080 > "$W/keep.out" &
KEEP=$!
sleep 1
lvscf -c "$W/lvs.cf" drain virtual.web.server.s1 > "$W/d1.out" 2>&1 && sleep 0.5
[ "$(weight_of 10.9.1.2)" = 0 ] && pass "s1 drained (weight 0) while it holds a connection" || { fail "s1 weight $(weight_of 10.9.1.2)"; cat "$W/d1.out"; }
lvscf -c "$W/lvs.cf" drain --cancel virtual.web.server.s1 > "$W/d2.out" 2>&1 && sleep 0.5
[ "$(weight_of 10.9.1.2)" = 1 ] && pass "s1 back at weight 1 after --cancel" || { fail "s1 weight $(weight_of 10.9.1.2)"; cat "$W/d2.out"; }
kill "$KEEP" 2>/dev/null
sleep 2
[ "$(weight_of 10.9.1.2)" = 1 ] && grep -q "address = 10.9.1.2" "$W/lvs.cf" && [ "$(grep -c 'active = 1' "$W/lvs.cf")" = 2 ] && pass "a cancelled drain deactivates nothing" || fail "cancelled drain went on"

note "refusals"
out=$(lvscf -c "$W/lvs.cf" drain virtual.web.server.s9 2>&1); rc=$?
[ "$rc" != 0 ] && echo "$out" | grep -q "s9" && pass "unknown server refused: $out" || fail "unknown server: rc $rc: $out"
out=$(lvscf -c "$W/lvs.cf" drain virtual.web.server.s2 2>&1); rc=$?
[ "$rc" != 0 ] && echo "$out" | grep -q "not active" && pass "inactive server refused: $out" || fail "inactive server: rc $rc: $out"
finish
