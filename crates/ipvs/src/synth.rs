//! Not part of the API: synthetic tables shared by the benchmark
//! (`examples/ipvs-bench.rs`) and the self-test (`ipvs-selftest`).

use std::net::{IpAddr, Ipv4Addr};

use crate::{Destination, Error, Forward, Ipvs, Operation, Service, ServiceKey};

/// `services` TCP services 10.`net`.x.y:80 (wlc), each with `per` direct
/// routing destinations 192.168.x.y:`dest_port`; with `weights` the
/// destination weights cycle through 0..10 (else the default 1).
pub fn batch(
    services: usize,
    per: usize,
    net: u8,
    dest_port: u16,
    weights: bool,
) -> Vec<Operation> {
    let mut ops = Vec::with_capacity(services * (per + 1));
    for s in 0..services {
        let key = ServiceKey::Tcp(
            IpAddr::V4(Ipv4Addr::new(10, net, (s / 250) as u8, (s % 250) as u8 + 1)),
            80,
        );
        ops.push(Operation::AddService(Service::new(key, "wlc")));
        for d in 0..per {
            let addr = IpAddr::V4(Ipv4Addr::new(
                192,
                168,
                (d / 250) as u8,
                (d % 250) as u8 + 1,
            ));
            let mut dest = Destination::new(addr, dest_port, Forward::Route);
            if weights {
                dest = dest.weight((d % 10) as i32);
            }
            ops.push(Operation::AddDest(key, dest));
        }
    }
    ops
}

/// Every service and the number of destinations, read as a full dump does
/// (the service list, then the destinations of each service).
pub fn dump_all(ipvs: &mut Ipvs) -> Result<(Vec<Service>, usize), Error> {
    let services = ipvs.services()?;
    let mut dests = 0;
    for s in &services {
        dests += ipvs.destinations(&s.key)?.len();
    }
    Ok((services, dests))
}
