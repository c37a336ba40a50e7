#!/bin/sh
# The lab, inside the test guest (started by tests/lab/run). Builds this
# network out of namespaces, veth pairs and two bridges:
#
#   client c 192.168.100.10 --+                      +-- s1 10.0.1.11 (httpd)
#                             |-- lan --+ r1 +-- srv-|-- s2 10.0.1.12 (httpd)
#   VIP 192.168.100.100       |         + r2 +       +-- s3 10.0.1.13 (httpd)
#   r1 .1, r2 .2 on lan; 10.0.1.2/.3 on srv; floating gateway 10.0.1.254
#
# runs pulse (which starts lvsd, which starts nanny) on both routers with
# tests/lab/lvs.cf, shows the client's answers, kills the active router
# (power cut: its links go down and its processes die), shows the failover
# and the answers continuing, and serves both routers' web tools.
#
# Argument: `check` (automated: assert, no wait) or `interactive`.
set -u
MODE=${1:-check}
CF_SRC=/lvs-vm/files/lvs.cf
LAB=/lab
VIP=192.168.100.100
FAILED=0

say() { printf '\n[lab] %s\n' "$*"; }
fail() { printf '[lab] FAIL: %s\n' "$*"; FAILED=1; }
pass() { printf '[lab] PASS: %s\n' "$*"; }
ns() { n=$1; shift; ip netns exec "$n" "$@"; }

# FLT-D06: no component may create files in /tmp or /var/tmp (fixed names
# there are a classic symlink attack). Both start empty here and are
# checked at the end.
mkdir -p /var/tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp

# ------------------------------------------------------------------ network
say "building the network: client, two routers, three real servers"
ip link add name lan type bridge && ip link set lan up
ip link add name srv type bridge && ip link set srv up
plug() { # ns ifname bridge address/len
    ip netns add "$1" 2>/dev/null
    ip link add name "$1-$2" type veth peer name "$2" netns "$1"
    ip link set "$1-$2" master "$3" up
    ns "$1" ip link set lo up
    ns "$1" ip link set "$2" up
    ns "$1" ip addr add "$4" dev "$2"
}
plug c eth0 lan 192.168.100.10/24
plug r1 eth0 lan 192.168.100.1/24
plug r2 eth0 lan 192.168.100.2/24
plug r1 eth1 srv 10.0.1.2/24
plug r2 eth1 srv 10.0.1.3/24
for s in 1 2 3; do
    plug "s$s" eth0 srv "10.0.1.1$s/24"
    ns "s$s" ip route add default via 10.0.1.254
    mkdir -p "$LAB/s$s/www"
    echo "hello from real server s$s" > "$LAB/s$s/www/index.html"
    ns "s$s" httpd -p 80 -h "$LAB/s$s/www"
done
for r in r1 r2; do
    ns "$r" sysctl -qw net.ipv4.ip_forward=1
    ns "$r" sysctl -qw net.ipv4.conf.all.arp_notify=1 2>/dev/null
done

# ------------------------------------------------------------------ routers
mkdir -p /var/run 2>/dev/null
[ -d /etc/sysconfig/ha ] || mkdir -p /etc/sysconfig/ha
start_router() { # r
    r=$1
    mkdir -p "$LAB/$r/run"
    cp "$CF_SRC" "$LAB/$r/lvs.cf"
    # `ip netns exec` gives the router its own mount namespace: a private
    # /var/run and its sockets under $LAB/$r/run, as on a real machine.
    ip netns exec "$r" sh -c "
        mount -t tmpfs tmpfs /var/run 2>/dev/null
        mkdir -p /run/piranha && mount --bind $LAB/$r/run /run/piranha
        exec pulse -n -c $LAB/$r/lvs.cf --lvsd=/usr/sbin/lvsd
    " > "$LAB/$r/pulse.log" 2>&1 &
    echo $! > "$LAB/$r/pulse.launcher"
}
# Active = the VIP is configured on a link that is up (a router after a
# power cut still has the address on its dead link).
holds_vip() {
    [ -n "$(ns "$1" ip -o link show dev eth0 up 2>/dev/null)" ] &&
        ns "$1" ip -4 addr show dev eth0 2>/dev/null | grep -q " $VIP/"
}
active_router() {
    a=""
    for r in r1 r2; do holds_vip "$r" && a="$a $r"; done
    echo "${a# }"
}
wait_active() { # timeout_s -> prints the active router(s)
    i=0
    while [ "$i" -lt $(($1 * 10)) ]; do
        a=$(active_router)
        [ -n "$a" ] && { echo "$a"; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
# busybox's static wget crashes resolving addresses here; nc does not.
http_get() { # ns host port path [auth]
    {
        printf 'GET %s HTTP/1.0\r\nHost: %s\r\n' "$4" "$2"
        [ -n "${5:-}" ] && printf 'Authorization: Basic %s\r\n' "$5"
        printf '\r\n'
    } | ns "$1" nc -w 2 "$2" "$3" 2>/dev/null
}
ask() { http_get c "$VIP" 80 / | tail -n 1; }

say "starting pulse on r1 (primary) and r2 (backup)"
start_router r1
start_router r2
ACTIVE=$(wait_active 30) || ACTIVE=""
if [ "$ACTIVE" = r1 ]; then pass "r1 (the primary) is active"; else fail "active router is '$ACTIVE', expected r1"; fi

# Wait until the table is built and the servers are checked.
i=0
until ans=$(ask) && [ -n "$ans" ]; do
    i=$((i + 1)); [ "$i" -gt 60 ] && break; sleep 0.5
done
say "the client asks the VIP six times (round robin over three servers):"
seen=""
for k in 1 2 3 4 5 6; do
    a=$(ask); echo "    client <- ${a:-(no answer)}"
    seen="$seen|$a"
done
n=0
for s in s1 s2 s3; do echo "$seen" | grep -q "server $s" && n=$((n + 1)); done
if [ "$n" = 3 ]; then
    pass "all three real servers answered through r1"
else
    fail "only $n of 3 real servers answered"
    say "r1's pulse log (pulse, lvsd and nanny):"
    tail -n 40 "$LAB/r1/pulse.log" | sed 's/^/    /'
    say "r1 addresses, s1 routes and neighbours:"
    ns r1 ip -4 addr | sed 's/^/    r1: /'
    ns s1 ip route | sed 's/^/    s1: /'
    ns s1 ip neigh | sed 's/^/    s1: /'
    ns c ip neigh | sed 's/^/    c: /'
    ns c ping -c 1 -W 2 "$VIP" 2>&1 | sed 's/^/    c ping: /'
    http_get r1 10.0.1.11 80 / 2>&1 | sed 's/^/    r1 asks s1: /'
fi
say "r1's IPVS table (ipvsadm -Ln):"
ns r1 ipvsadm -Ln | sed 's/^/    /'

# ------------------------------------------------------------------ failover
say "power cut on the active router r1: links down, every process killed"
T0=$(cut -d' ' -f1 /proc/uptime)
ns r1 ip link set eth0 down
ns r1 ip link set eth1 down
for pid in $(ip netns pids r1); do kill -9 "$pid" 2>/dev/null; done
LAST_FAIL=""
FIRST_OK_AFTER=""
k=0
while [ "$k" -lt 60 ]; do
    now=$(cut -d' ' -f1 /proc/uptime)
    if a=$(ask) && [ -n "$a" ]; then
        printf '    t=+%5.1fs client <- %s\n' "$(echo "$now $T0" | awk '{print $1-$2}')" "$a"
        [ -z "$FIRST_OK_AFTER" ] && FIRST_OK_AFTER=$now
        [ "$k" -gt 20 ] && break
    else
        printf '    t=+%5.1fs client <- (no answer)\n' "$(echo "$now $T0" | awk '{print $1-$2}')"
        FIRST_OK_AFTER=""
        LAST_FAIL=$now
    fi
    k=$((k + 1))
    sleep 0.2
done
if [ -n "$FIRST_OK_AFTER" ]; then
    gap=$(echo "$FIRST_OK_AFTER $T0" | awk '{printf "%.1f", $1-$2}')
    pass "answers continue after the failover (first answer $gap s after the power cut)"
else
    fail "no answers after the failover"
fi
ACTIVE=$(active_router)
if [ "$ACTIVE" = r2 ]; then pass "r2 took over the VIP"; else fail "active router is '$ACTIVE', expected r2"; fi
say "r2's pulse log:"
sed 's/^/    /' "$LAB/r2/pulse.log" | tail -n 15
ns r2 ip neigh show 2>/dev/null | head -n 3 | sed 's/^/    r2 neigh: /'
ns c ip neigh show "$VIP" | sed 's/^/    client neighbour entry for the VIP: /'

# ------------------------------------------------------------------ web tool
say "serving the web tool of each router (user piranha, password lab)"
# The card qemu forwards this machine's ports to (interactive mode only).
modprobe virtio_pci 2>/dev/null
modprobe virtio_net 2>/dev/null
i=0
while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 20 ] && [ "$MODE" = interactive ]; do
    sleep 0.1; i=$((i + 1))
done
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    ip addr add 10.0.2.15/24 dev eth0 2>/dev/null
fi
port=3636
for r in r1 r2; do
    printf 'lab\nlab\n' | piranha-passwd --passwd-file "$LAB/$r/piranha.passwd" >/dev/null 2>&1
    piranha-web --listen "0.0.0.0:$port" --config "$LAB/$r/lvs.cf" \
        --passwd-file "$LAB/$r/piranha.passwd" \
        --pulse-socket "$LAB/$r/run/pulse.sock" --lvsd-socket "$LAB/$r/run/lvsd.sock" \
        > "$LAB/$r/web.log" 2>&1 &
    eval "WEB_$r=$port"
    port=$((port + 1))
done
# The status as the web tool sees it (HTTP Basic auth, piranha:lab).
i=0
while [ "$i" -lt 40 ]; do
    # Keep our side open: hyper drops a connection whose client half-closes.
    { printf 'GET /api/v1/status HTTP/1.0\r\nAuthorization: Basic cGlyYW5oYTpsYWI=\r\n\r\n'; sleep 2; } \
        | nc -w 3 127.0.0.1 3637 > "$LAB/status.json" 2>/dev/null
    grep -q '"state": *"active"' "$LAB/status.json" && break
    i=$((i + 1)); sleep 0.25
done
if grep -q '"state": *"active"' "$LAB/status.json"; then
    sed -n '/^{/,$p' "$LAB/status.json" | head -c 400 | sed 's/^/    /'; echo
    pass "r2's web tool reports r2 active"
    # lvsd's document, parsed by the web tool (one definition of it: the
    # lvs-status crate): the lab's virtual with its real servers up.
    if grep -q '"lvsd": *{"services": *\[{' "$LAB/status.json" \
        && grep -q '"state": *"up"' "$LAB/status.json"; then
        pass "r2's web tool parses the real lvsd's status (services, servers up)"
    else
        fail "r2's web tool has no lvsd services: $(head -c 600 "$LAB/status.json")"
    fi
else
    fail "r2's web tool status: $(head -c 600 "$LAB/status.json" 2>/dev/null)"
    sed 's/^/    web: /' "$LAB/r2/web.log"
fi

if [ "$MODE" = interactive ]; then
    say "the lab is up. From this machine open
        http://127.0.0.1:3636/   r1 (dead: its pulse was killed)
        http://127.0.0.1:3637/   r2 (active now)
    user piranha, password lab. Press Enter (or Ctrl-C) to stop the lab."
    nc -l -p 3699 </dev/null >/dev/null 2>&1
fi

left=$(ls -A /tmp /var/tmp 2>/dev/null | grep -v '^/\|^$')
if [ -z "$left" ]; then
    pass "nothing was created in /tmp or /var/tmp (FLT-D06)"
else
    fail "files in /tmp or /var/tmp: $left"
fi

say "cleaning up"
for r in r1 r2; do for pid in $(ip netns pids "$r"); do kill "$pid" 2>/dev/null; done; done
sleep 1
if [ "$FAILED" = 0 ]; then say "lab: all checks passed"; else say "lab: some checks FAILED"; fi
exit "$FAILED"
