#!/bin/sh
# Smoke test of the guest: IPVS, ipvsadm, namespaces, veth.
set -eu
fail() { echo "smoke: FAIL: $*"; exit 1; }

uname -r
grep -q '^ip_vs ' /proc/modules || fail "ip_vs not loaded"
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs missing"

ipvsadm -A -t 10.0.0.1:80 -s rr
out=$(ipvsadm -Ln)
echo "$out"
echo "$out" | grep -q '^TCP  10.0.0.1:80 rr' || fail "service not listed by ipvsadm -Ln"
ipvsadm -C
[ "$(ipvsadm -Ln | grep -c '^TCP')" = 0 ] || fail "flush left services behind"

ip netns add smoke
ip link add name smoke-host type veth peer name smoke-ns
ip link set smoke-ns netns smoke
ip addr add 192.0.2.1/24 dev smoke-host
ip link set smoke-host up
ip netns exec smoke ip addr add 192.0.2.2/24 dev smoke-ns
ip netns exec smoke ip link set smoke-ns up
ip netns exec smoke ip link set lo up
[ "$(ip netns exec smoke cat /proc/net/dev | grep -c smoke-ns)" = 1 ] || fail "veth end not in the namespace"
ping -c 1 -W 5 192.0.2.2 >/dev/null || fail "no ping through the veth pair"
ip netns del smoke
echo "smoke: ok"
