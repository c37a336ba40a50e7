#!/bin/sh
# lvsd against the real kernel IPVS, with Debian's ipvsadm as the oracle:
# every scheduler the kernel has, fwmark and persistent services, UDP,
# IPv6, nat/direct/tunnel, reloads that add, remove, edit and reorder
# virtuals and servers (Piranha's reload bugs, spec 3.6), an invalid reload,
# `ipvsadm -C` behind lvsd's back, --dry-run, SIGTERM and a hand-added
# service. Health checks are not the point here: --no-monitor.
set -u
LVSD_TEST=lvsd-table
. ./lvsd-lib.sh
command -v lvsd >/dev/null || { echo "FAIL: lvsd not in the guest"; exit 1; }

lvsd_net

SCHEDS=
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos; do
    grep -q "^ip_vs_$s " /proc/modules && SCHEDS="$SCHEDS $s"
done
note "schedulers in this kernel:$SCHEDS"

# write_conf FILE NETWORK ORDER EDIT
#   ORDER: fwd or rev (virtual order); EDIT: none, sched (wlc->rr + persistence
#   on the first scheduler virtual), rmserver (r2 of s1 removed), rmvirtual
#   (the udp virtual removed), weight (r1 of s1 weight 9), pmask (the
#   persistent IPv6 virtual v6p's pmask 64 -> 48)
write_conf() {
    file=$1 net=$2 order=$3 edit=$4
    {
        echo "serial_no = 1"
        echo "primary = 172.30.0.1"
        echo "service = lvs"
        echo "network = $net"
        echo "tcp_timeout = 1000"
        echo "udp_timeout = 200"
        echo "hard_shutdown = 0"
    } > "$file"
    blocks=
    i=0
    for s in $SCHEDS; do
        i=$((i + 1))
        sched=$s persist=
        if [ $i = 1 ] && [ "$edit" = sched ]; then sched=rr; persist="    persistent = 120"; fi
        w1=$i
        if [ $i = 1 ] && [ "$edit" = weight ]; then w1=9; fi
        r2="    server r2 {
        address = 10.2.1.$i
        active = 1
        port = 8080
        weight = 2
    }"
        if [ $i = 1 ] && [ "$edit" = rmserver ]; then r2=; fi
        blocks="$blocks s$i"
        eval "block_s$i=\$(cat <<EOF
virtual s$i {
    active = 1
    address = 10.1.0.$i lvs-dummy:$i
    port = 80
    protocol = tcp
    scheduler = $sched
$persist
    server r1 {
        address = 10.2.0.$i
        active = 1
        weight = $w1
    }
$r2
    server r3 {
        address = 10.2.2.$i
        active = 0
    }
}
EOF
)"
    done
    block_fw=$(cat <<EOF
virtual fw {
    active = 1
    address = 10.1.1.1 lvs-dummy:fw
    fwmark = 7
    port = 443
    scheduler = wrr
    persistent = 300
    pmask = 255.255.255.0
    server a {
        address = 10.3.0.1
        active = 1
        weight = 5
    }
    server b {
        address = 10.3.0.2
        active = 1
        weight = 6
    }
}
EOF
)
    block_udp=$(cat <<EOF
virtual udp {
    active = 1
    address = 10.1.1.2 lvs-dummy:udp
    protocol = udp
    port = 53
    scheduler = rr
    server ns1 {
        address = 10.4.0.1
        active = 1
    }
}
EOF
)
    block_v6=$(cat <<EOF
virtual v6 {
    active = 1
    address = fd00::100 lvs-dummy
    port = 443
    scheduler = sh
    server six {
        address = fd01::2
        active = 1
        weight = 3
    }
}
EOF
)
    v6pmask=64
    [ "$edit" = pmask ] && v6pmask=48
    block_v6p=$(cat <<EOF
virtual v6p {
    active = 1
    address = fd00::101 lvs-dummy
    port = 80
    persistent = 600
    pmask = $v6pmask
    server p {
        address = fd01::3
        active = 1
    }
}
EOF
)
    block_off=$(cat <<EOF
virtual off {
    active = 0
    address = 10.1.1.3 lvs-dummy:off
    port = 80
    server x {
        address = 10.5.0.1
        active = 1
    }
}
EOF
)
    blocks="$blocks fw udp v6 v6p off"
    [ "$edit" = rmvirtual ] && blocks=$(echo "$blocks" | sed 's/ udp//')
    if [ "$order" = rev ]; then
        blocks=$(for b in $blocks; do echo "$b"; done | sed -n '1!G;h;$p')
    fi
    for b in $blocks; do
        eval "echo \"\$block_$b\""
    done >> "$file"
}

# expected_rules NETWORK EDIT: what ipvsadm -Sn must print.
expected_rules() {
    net=$1 edit=$2
    # ipvsadm -S prints the default tunnel type since 1.30
    case $net in nat) f=-m t= ;; direct) f=-g t= ;; tunnel) f=-i t=" --tun-type ipip" ;; esac
    i=0
    for s in $SCHEDS; do
        i=$((i + 1))
        sched=$s p=
        if [ $i = 1 ] && [ "$edit" = sched ]; then sched=rr; p=" -p 120"; fi
        w1=$i
        if [ $i = 1 ] && [ "$edit" = weight ]; then w1=9; fi
        echo "-A -t 10.1.0.$i:80 -s $sched$p"
        echo "-a -t 10.1.0.$i:80 -r 10.2.0.$i:80 $f -w $w1$t"
        if ! { [ $i = 1 ] && [ "$edit" = rmserver ]; }; then
            echo "-a -t 10.1.0.$i:80 -r 10.2.1.$i:8080 $f -w 2$t"
        fi
    done
    echo "-A -f 7 -s wrr -p 300 -M 255.255.255.0"
    echo "-a -f 7 -r 10.3.0.1:443 $f -w 5$t"
    echo "-a -f 7 -r 10.3.0.2:443 $f -w 6$t"
    if [ "$edit" != rmvirtual ]; then
        echo "-A -u 10.1.1.2:53 -s rr"
        echo "-a -u 10.1.1.2:53 -r 10.4.0.1:53 $f -w 1$t"
    fi
    echo "-A -t [fd00::100]:443 -s sh"
    echo "-a -t [fd00::100]:443 -r [fd01::2]:443 $f -w 3$t"
    if [ "$edit" = pmask ]; then echo "-A -t [fd00::101]:80 -s wlc -p 600 -M 48"; else echo "-A -t [fd00::101]:80 -s wlc -p 600 -M 64"; fi
    echo "-a -t [fd00::101]:80 -r [fd01::3]:80 $f -w 1$t"
}

# A service lvsd does not own, added by hand before it starts.
ipvsadm -A -t 192.168.99.1:80 -s rr
ipvsadm -a -t 192.168.99.1:80 -r 192.168.99.2:80 -m -w 1
FOREIGN="-A -t 192.168.99.1:80 -s rr
-a -t 192.168.99.1:80 -r 192.168.99.2:80 -m -w 1"

write_conf "$W/lvs.cf" nat fwd none
cp "$W/lvs.cf" "$W/a.cf"
start_lvsd "$W/lvs.cf" --no-monitor -v --resync 2
{ expected_rules nat none; echo "$FOREIGN"; } | expect_rules "start: every scheduler, fwmark+persistence+pmask, udp, IPv6, IPv6+persistence+pmask 64, inactive virtual absent, foreign service kept"
l=$(ipvsadm -Ln | grep 'fd00::101')
echo "    ipvsadm -Ln: $l"
echo "$l" | grep -q 'persistent 600 mask 64' && pass "ipvsadm -Ln: IPv6 service persistent with mask 64" || fail "ipvsadm -Ln: $l"

t=$(ipvsadm -Ln --timeout)
echo "$t" | grep -q ': 1000 [0-9]* 200$' && pass "timeouts set ($t)" || fail "timeouts: $t"
grep -q "leaving service TCP 192.168.99.1:80 alone" "$LVSD_LOG" && pass "foreign service logged" || fail "foreign service not logged"
grep -q "starting virtual service s1 active: 80" "$LVSD_LOG" && pass "Piranha start log line" || fail "no 'starting virtual service' line"

note "dry-run, unchanged file"
lvsd --dry-run -c "$W/lvs.cf" > "$W/plan" 2> "$W/plan.err"
if [ ! -s "$W/plan" ] && grep -q "empty plan" "$W/plan.err"; then pass "dry-run: empty plan"; else fail "dry-run not empty: $(cat "$W/plan" "$W/plan.err")"; fi

note "dry-run after a hand edit"
ipvsadm -e -t 10.1.0.1:80 -r 10.2.0.1:80 -m -w 42
lvsd --dry-run -c "$W/lvs.cf" > "$W/plan" 2>/dev/null
if [ "$(cat "$W/plan")" = "-e -t 10.1.0.1:80 -r 10.2.0.1:80 -m -w 1" ]; then pass "dry-run prints the one edit"; else fail "dry-run plan: $(cat "$W/plan")"; fi
[ "$(ipvsadm -Sn | grep -c -- '-w 42')" = 1 ] && pass "dry-run changed nothing" || fail "dry-run changed the table"

note "the periodic resync (--resync 2) repairs the hand edit with one operation"
wait_log "periodic check: repaired 1 difference" 1 10
{ expected_rules nat none; echo "$FOREIGN"; } | expect_rules "hand edit repaired by the periodic resync"
reload_lvsd "$W/a.cf"
grep -q "configuration reloaded: 0 change" "$LVSD_LOG" && pass "reload of an unchanged file: 0 operations" || fail "expected 0 changes: $(grep 'configuration reloaded' "$LVSD_LOG" | tail -1)"

# count of an ipvsadm verb in the log since the last reload (-v logs each op)
ops_since_last() { awk '/rereading configuration/{n=0} $0 ~ "lvs: ipvsadm "v" "{n++} END{print n+0}' v="$1" "$LVSD_LOG"; }

for net in direct tunnel nat; do
    note "reload: network = $net"
    write_conf "$W/n.cf" $net fwd none
    reload_lvsd "$W/n.cf"
    { expected_rules $net none; echo "$FOREIGN"; } | expect_rules "network $net: every destination edited"
    [ "$(ops_since_last -d)$(ops_since_last -D)$(ops_since_last -A)$(ops_since_last -a)" = 0000 ] && pass "network $net: only -e, no delete/add" || fail "network $net: deletes or adds in the log"
done

note "reload: reorder virtuals and edit one (Piranha segfault area, RHBZ #703146 #785720)"
write_conf "$W/r.cf" nat rev sched
reload_lvsd "$W/r.cf"
{ expected_rules nat sched; echo "$FOREIGN"; } | expect_rules "reordered + scheduler/persistence edited"
[ "$(ops_since_last -E)" = 1 ] && [ "$(ops_since_last -D)$(ops_since_last -A)" = 00 ] && pass "one -E, no -D/-A" || fail "reorder+edit ops: E=$(ops_since_last -E) D=$(ops_since_last -D) A=$(ops_since_last -A)"

note "reload: weight change is one -e"
write_conf "$W/w.cf" nat rev weight
reload_lvsd "$W/w.cf"
{ expected_rules nat weight; echo "$FOREIGN"; } | expect_rules "weight edited"
grep 'configuration reloaded' "$LVSD_LOG" | tail -1 | grep -q ': 2 change' && pass "2 ops (weight + scheduler back)" || fail "$(grep 'configuration reloaded' "$LVSD_LOG" | tail -1)"
grep -q 'virtual s1 re-read alone (lines [0-9]*-[0-9]*): 2 change' "$LVSD_LOG" && pass "the edited block s1 was re-read alone and applied first" \
    || fail "no 're-read alone' line for s1: $(grep 're-read alone' "$LVSD_LOG" | tail -1)"

note "reload: an invalid value inside one block (FLT-R02 in the block path): table unchanged, error at its line"
# `9x`: no C spelling of a number (strtol would stop at the x; Piranha
# refused it too). A negative weight loads now, as under Piranha, with the
# server not programmed, so it no longer serves this test.
awk '/^virtual s1 /{b=1} b && /weight = 9/{sub(/weight = 9/, "weight = 9x"); b=0} {print}' "$W/w.cf" > "$W/badw.cf"
badline=$(grep -n 'weight = 9x' "$W/badw.cf" | cut -d: -f1)
before=$(rules)
reload_lvsd "$W/badw.cf"
[ "$(rules)" = "$before" ] && pass "invalid block: table unchanged" || fail "invalid block changed the table"
grep -q "lvs.cf:$badline:[0-9]*: integer expected" "$LVSD_LOG" && pass "error logged at line $badline" || fail "no error at line $badline: $(grep -i 'error' "$LVSD_LOG" | tail -2)"

note "reload: ipvsadm -C behind lvsd's back, then an edit inside one block: block applied, whole table repaired"
repairs=$(log_count 'repaired [0-9]* difference')
ipvsadm -C
write_conf "$W/w1.cf" nat rev none
reload_lvsd "$W/w1.cf"
expected_rules nat none | expect_rules "flush repaired by a one-block reload"
# By this reload ("reload: repaired"), or by the periodic check (--resync 2)
# if it ran between the flush and the SIGHUP.
[ "$(log_count 'repaired [0-9]* difference')" -gt "$repairs" ] && pass "the repair is logged" || fail "no 'repaired' line"
echo "$FOREIGN" | ipvsadm -R
reload_lvsd "$W/w.cf"
{ expected_rules nat weight; echo "$FOREIGN"; } | expect_rules "back to the weight edit"

note "reload: a save of the web tool (serial_no bumped + one weight): still one block re-read alone"
alone=$(log_count 're-read alone')
sed 's/^serial_no = 1$/serial_no = 2/' "$W/w1.cf" > "$W/gui.cf"
reload_lvsd "$W/gui.cf"
{ expected_rules nat none; echo "$FOREIGN"; } | expect_rules "weight edited with serial_no bumped"
[ "$(log_count 're-read alone')" = $((alone + 1)) ] && pass "serial_no + one block: block path" || fail "serial_no + one block took the full path"
reload_lvsd "$W/w.cf"
{ expected_rules nat weight; echo "$FOREIGN"; } | expect_rules "serial_no and weight back"
[ "$(log_count 're-read alone')" = $((alone + 2)) ] && pass "and back: block path" || fail "back: full path"

note "reload: IPv6 pmask 64 -> 48 is one -E (dry-run first)"
write_conf "$W/pm.cf" nat fwd pmask
lvsd --dry-run -c "$W/pm.cf" > "$W/plan" 2>/dev/null
# (the weight edit of the previous step is reverted by this file too)
grep -q -- '^-E -t \[fd00::101\]:80 -s wlc -p 600 -M 48$' "$W/plan" && pass "dry-run prints -M 48 like ipvsadm" \
    || fail "dry-run plan: $(cat "$W/plan")"
reload_lvsd "$W/pm.cf"
{ expected_rules nat pmask; echo "$FOREIGN"; } | expect_rules "IPv6 pmask edited"
[ "$(ops_since_last -E)" = 1 ] && [ "$(ops_since_last -D)$(ops_since_last -A)$(ops_since_last -d)$(ops_since_last -a)" = 0000 ] \
    && pass "pmask: one -E, no delete/add" || fail "pmask ops: E=$(ops_since_last -E) D=$(ops_since_last -D) A=$(ops_since_last -A)"

note "reload: remove a real server (the rest of the virtual survives; Piranha shut the whole virtual down)"
write_conf "$W/rs.cf" nat fwd rmserver
reload_lvsd "$W/rs.cf"
{ expected_rules nat rmserver; echo "$FOREIGN"; } | expect_rules "server removed, virtual kept"
[ "$(ops_since_last -D)" = 0 ] && [ "$(ops_since_last -d)" = 1 ] && pass "one -d, no -D" || fail "rmserver ops: d=$(ops_since_last -d) D=$(ops_since_last -D)"

note "reload: remove a virtual (FLT-R03)"
write_conf "$W/rv.cf" nat fwd rmvirtual
reload_lvsd "$W/rv.cf"
{ expected_rules nat rmvirtual; echo "$FOREIGN"; } | expect_rules "virtual removed, others untouched"
[ "$(ops_since_last -D)" = 1 ] && pass "one -D" || fail "rmvirtual: D=$(ops_since_last -D)"
grep -q "shutting down virtual service udp" "$LVSD_LOG" && pass "shutdown line logged" || fail "no 'shutting down virtual service udp'"

note "invalid reload (FLT-R02): table unchanged, error with line:column"
sed '3a\    bogus_keyword = 3' "$W/rv.cf" > "$W/bad.cf"
badline=$(grep -n bogus_keyword "$W/bad.cf" | cut -d: -f1)
before=$(rules)
nerr=$(log_count 'keeping the running configuration')
reload_lvsd "$W/bad.cf"
[ "$(rules)" = "$before" ] && pass "invalid file: table unchanged" || fail "invalid file changed the table"
if grep -q "lvs.cf:$badline:5:" "$LVSD_LOG"; then pass "error logged with line $badline column 5"; else fail "no file:line:col error: $(grep -i error "$LVSD_LOG" | tail -2)"; fi
[ "$(log_count 'keeping the running configuration')" = $((nerr + 1)) ] && pass "exactly one error line" || fail "error lines: $(log_count 'keeping the running configuration') after $nerr"

note "ipvsadm -C behind lvsd's back, repaired on SIGHUP"
ipvsadm -C
reload_lvsd "$W/rv.cf"
expected_rules nat rmvirtual | expect_rules "flush repaired (the foreign service, gone with the flush, is not re-added)"

note "SIGTERM removes lvsd's services, not a hand-added one"
ipvsadm -A -t 192.168.99.1:80 -s rr
ipvsadm -a -t 192.168.99.1:80 -r 192.168.99.2:80 -m -w 1
stop_lvsd
[ "$LVSD_RC" = 0 ] && pass "exit status 0" || fail "exit status $LVSD_RC"
echo "$FOREIGN" | expect_rules "only the hand-added service is left"
grep -q "shutting down due to signal 15" "$LVSD_LOG" && pass "signal logged" || fail "no 'shutting down due to signal 15'"

note "restart over a table that already matches: nothing changes"
cp "$W/a.cf" "$W/lvs.cf"
start_lvsd "$W/lvs.cf" --no-monitor -v --resync 0
lvsd --dry-run -c "$W/lvs.cf" > "$W/plan" 2>/dev/null
[ ! -s "$W/plan" ] && pass "table built, dry-run empty" || fail "dry-run after start: $(cat "$W/plan")"
kill -KILL "$LVSD_PID"; wait "$LVSD_PID" 2>/dev/null; LVSD_PID=
: > "$LVSD_LOG"
start_lvsd "$W/lvs.cf" --no-monitor -v --resync 0
n=$(grep -c 'lvs: ipvsadm ' "$LVSD_LOG")
[ "$n" = 0 ] && pass "restart after kill -9: 0 operations (entries and their connections survive; no flush)" || fail "restart issued $n operations"
stop_lvsd

note "as a daemon (Piranha's default, spec 3.1): forks, writes its pid file, logs to syslog as lvsd"
rm -f /dev/log
syslogd -n -O "$W/syslog" &
SYSLOGD=$!
i=0; while [ ! -S /dev/log ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
rm -f "$W/lvs.pid"
lvsd -c "$W/lvs.cf" --no-monitor --resync 0 --pidfile "$W/lvs.pid" > "$W/daemon.out" 2>&1
rc=$?
[ $rc = 0 ] && pass "the launching process exits 0" || fail "lvsd as a daemon exited $rc"
i=0; while [ ! -s "$W/lvs.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dpid=$(cat "$W/lvs.pid" 2>/dev/null)
if [ -n "$dpid" ] && [ "$(cat /proc/"$dpid"/comm 2>/dev/null)" = lvsd ]; then
    pass "pid file $W/lvs.pid names the running lvsd ($dpid)"
else
    fail "pid file: '$dpid'"
fi
# PRIV-04: the pid file is root's, mode 0644 at most, in a directory only
# root can write to.
pmode=$(stat -c '%a %u' "$W/lvs.pid" 2>/dev/null)
[ "$pmode" = "644 0" ] && pass "pid file mode 0644, owner root" || fail "pid file mode/owner: '$pmode'"
dmode=$(stat -c '%a %u' "$W" 2>/dev/null)
case "$dmode" in
    7[0-5][0-5]\ 0) pass "its directory is root's and not group or world writable ($dmode)" ;;
    *) fail "pid file directory mode/owner: '$dmode'" ;;
esac
[ ! -s "$W/daemon.out" ] && pass "nothing on the terminal" || fail "daemon wrote to the terminal: $(cat "$W/daemon.out")"
i=0; while ! grep -q "lvsd\[$dpid\]: starting virtual service s1 active: 80" "$W/syslog" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "lvsd\[$dpid\]: starting virtual service s1 active: 80" "$W/syslog" && pass "syslog ident lvsd: $(grep -m1 "lvsd\[$dpid\]" "$W/syslog")" \
    || fail "no 'lvsd[$dpid]:' line in syslog: $(tail -3 "$W/syslog" 2>/dev/null)"
kill -TERM "$dpid" 2>/dev/null
i=0; while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
! kill -0 "$dpid" 2>/dev/null && pass "SIGTERM stops the daemon" || fail "daemon still running"
[ ! -e "$W/lvs.pid" ] && pass "pid file removed at exit" || fail "pid file left behind"
echo "$FOREIGN" | expect_rules "the daemon removed its services at SIGTERM"
kill "$SYSLOGD" 2>/dev/null

finish
