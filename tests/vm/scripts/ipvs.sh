#!/bin/sh
# Runs the ipvs crate's in-guest integration test (crates/ipvs/src/bin/ipvs-selftest.rs)
# against the guest kernel's IPVS, cross-checked with Debian's ipvsadm.
set -eu
command -v ipvs-selftest >/dev/null || { echo "ipvs-selftest not in the guest (build it: cargo build --release --bins)"; exit 1; }

# IPVS refuses a real server it has no route to: give the test addresses a home.
ip link add name lvs-dummy type dummy
ip link set lvs-dummy up
ip addr add 172.30.0.1/16 dev lvs-dummy
ip route add 192.168.0.0/16 dev lvs-dummy
ip route add 10.0.0.0/8 dev lvs-dummy
ip -6 addr add fd00::1/64 dev lvs-dummy
# A multicast-capable interface for the sync daemons.
ip link add name sync0 type veth peer name sync1
ip addr add 172.31.0.1/24 dev sync0
ip link set sync0 up
ip link set sync1 up

ipvs-selftest "$@"
