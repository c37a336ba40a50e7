#!/bin/sh
# Helpers for the lvsd guest tests (sourced by lvsd-*.sh). Debian's ipvsadm
# is the oracle: `ipvsadm -Sn` (rules, compared exactly after sorting) and
# `ipvsadm -Ln` (shown on failure).

LVSD_FAILED=0
LVSD_LOG=/tmp/lvsd.log
LVSD_PID=
W=/tmp/lvsd-test
mkdir -p "$W" /run/piranha

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; LVSD_FAILED=1; }
note() { echo "---- $*"; }

# Routes for the test addresses (IPVS refuses real servers it cannot reach).
lvsd_net() {
    ip link add name lvs-dummy type dummy
    ip link set lvs-dummy up
    ip addr add 172.30.0.1/16 dev lvs-dummy
    ip route add 10.0.0.0/8 dev lvs-dummy
    ip route add 192.168.0.0/16 dev lvs-dummy
    ip -6 addr add fd00::1/64 dev lvs-dummy
    ip -6 route add fd01::/64 dev lvs-dummy
}

# mkns NAME HOST-ADDR NS-ADDR: a namespace on a veth pair, routed through
# the guest's root namespace (the LVS router).
mkns() {
    ip netns add "$1"
    ip link add name "$1-h" type veth peer name "$1-n"
    ip link set "$1-n" netns "$1"
    ip addr add "$2/24" dev "$1-h"
    ip link set "$1-h" up
    ip netns exec "$1" ip addr add "$3/24" dev "$1-n"
    ip netns exec "$1" ip link set "$1-n" up
    ip netns exec "$1" ip link set lo up
    ip netns exec "$1" ip route add default via "$2"
}

rules() { ipvsadm -Sn | sort; }

# expect_rules NAME < expected-lines: exact comparison of ipvsadm -Sn.
expect_rules() {
    name=$1
    sort > "$W/want"
    rules > "$W/have"
    if cmp -s "$W/want" "$W/have"; then
        pass "$name"
    else
        fail "$name: ipvsadm -Sn differs (- wanted, + kernel):"
        diff -u "$W/want" "$W/have" | sed 's/^/    /'
        ipvsadm -Ln | sed 's/^/    /'
    fi
}

log_count() { grep -c "$1" "$LVSD_LOG" 2>/dev/null || true; }

# wait_log PATTERN MIN [SECONDS]: until PATTERN occurs at least MIN times.
wait_log() {
    i=0
    lim=$(( ${3:-30} * 10 ))
    while [ "$(log_count "$1")" -lt "$2" ]; do
        i=$((i + 1))
        if [ $i -gt $lim ]; then
            echo "    (timed out waiting for '$1' x$2 in $LVSD_LOG)"
            return 1
        fi
        sleep 0.1
    done
    return 0
}

# start_lvsd CONF [EXTRA ARGS]: foreground lvsd; returns once it is ready.
start_lvsd() {
    conf=$1
    shift
    rm -f "$W/ready"
    mkfifo "$W/ready"
    : > "$LVSD_LOG"
    lvsd --nodaemon -c "$conf" --ready-fd 3 "$@" 3>"$W/ready" >>"$LVSD_LOG" 2>&1 &
    LVSD_PID=$!
    r=
    read r < "$W/ready" || true
    if [ "$r" = ready ]; then
        pass "lvsd started and said ready ($*)"
    else
        fail "lvsd did not say ready"
        cat "$LVSD_LOG"
    fi
}

# reload CONF: copies CONF over the running file and sends SIGHUP; waits for
# the reload (or the error) to be logged.
RELOADS=0
reload_lvsd() {
    cp "$1" "$W/lvs.cf"
    RELOADS=$((RELOADS + 1))
    kill -HUP "$LVSD_PID"
    i=0
    while [ $(( $(log_count 'configuration reloaded') + $(log_count 'keeping the running configuration') )) -lt $RELOADS ]; do
        i=$((i + 1))
        [ $i -gt 300 ] && { fail "reload not logged"; cat "$LVSD_LOG"; return 1; }
        sleep 0.1
    done
}

stop_lvsd() {
    [ -n "$LVSD_PID" ] || return 0
    kill -TERM "$LVSD_PID" 2>/dev/null || true
    i=0
    while kill -0 "$LVSD_PID" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { fail "lvsd did not exit on SIGTERM"; kill -KILL "$LVSD_PID"; break; }
        sleep 0.1
    done
    wait "$LVSD_PID" 2>/dev/null
    LVSD_RC=$?
    LVSD_PID=
}

finish() {
    stop_lvsd
    echo "==== lvsd log"
    cat "$LVSD_LOG"
    if [ "$LVSD_FAILED" = 0 ]; then
        echo "RESULT: PASS ($LVSD_TEST)"
        exit 0
    fi
    echo "RESULT: FAIL ($LVSD_TEST)"
    exit 1
}
