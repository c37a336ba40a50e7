#!/bin/sh
# The "world" of the systemd lab (tests/os/lab), inside the busybox test
# guest: the client and the three real servers the two router guests serve.
# Its cards, in PCI order:
#   eth0  the LAN (192.168.100.0/24): this guest's root namespace is the
#         client, 192.168.100.10; the VIP 192.168.100.100 is on the routers
#   eth1  the real servers' network (10.0.1.0/24), bridged to namespaces
#         s1..s3 (10.0.1.11-13, default route via the routers' floating
#         gateway 10.0.1.254), each running `lab-traffic serve`
#   eth2  qemu's user network: the host reaches the client's control port
#         (7000) and the stop port (7001) through forwarded ports
# The client (`lab-traffic client`) runs until the host connects to port
# 7001; then the guest powers off.
set -u
VIP=192.168.100.100
say() { printf '[world] %s\n' "$*"; }
ns() { n=$1; shift; ip netns exec "$n" "$@"; }

modprobe virtio_pci 2>/dev/null
modprobe virtio_net 2>/dev/null
i=0
while [ ! -e /sys/class/net/eth2 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth2 ] || { say "the network cards did not appear"; ls /sys/class/net; exit 1; }

ip link set eth0 up
ip addr add 192.168.100.10/24 dev eth0
ip link set eth2 up
ip addr add 10.0.2.15/24 dev eth2
ip link add name srv type bridge
ip link set srv up
ip link set eth1 master srv
ip link set eth1 up
for s in 1 2 3; do
    ip netns add "s$s"
    ip link add name "s$s-eth0" type veth peer name eth0 netns "s$s"
    ip link set "s$s-eth0" master srv up
    ns "s$s" ip link set lo up
    ns "s$s" ip link set eth0 up
    ns "s$s" ip addr add "10.0.1.1$s/24" dev eth0
    ns "s$s" ip route add default via 10.0.1.254
    ip netns exec "s$s" lab-traffic serve --name "s$s" --listen 0.0.0.0:80 &
    echo "s$s $!" >>/run/lab-servers
done
lab-traffic client --target "$VIP:80" --rate "${1:-20}" --long "${2:-4}" \
    --control 10.0.2.15:7000 &
say "client and real servers up"
# What the network looks like once the routers had time to talk to it (a
# failing lab shows why in the world's console).
(
    sleep "${3:-60}"
    say "eth1 counters: $(ip -s link show eth1 | sed -n '4p;6p' | tr -s ' ' | tr '\n' '/')"
    for s in 1 2 3; do
        say "s$s: neighbours $(ns "s$s" ip neigh | tr '\n' ';') listening $(ns "s$s" ss -Hltn | tr -s ' ' | tr '\n' ';')"
    done
    say "bridge: $(bridge fdb show br srv 2>/dev/null | grep -v permanent | tr '\n' ';')"
) &
echo "@@WORLD-READY@@"
nc -l -p 7001 </dev/null >/dev/null 2>&1
say "stopping"
exit 0
