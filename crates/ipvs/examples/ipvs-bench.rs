//! Not for users: times IPVS programming through the `ipvs` crate (needs
//! root and IPVS, e.g. in the test guest). Flushes the IPVS table.
//!
//! `ipvs-bench [SERVICES] [DESTS_PER_SERVICE] [WINDOW]` (default 100 99 auto)
//! prints the time of a batched `apply`, of the same operations one by one,
//! and of a full dump.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use ipvs::*;

fn ops(services: usize, per: usize) -> Vec<Operation> {
    let mut v = Vec::with_capacity(services * (per + 1));
    for s in 0..services {
        let key = ServiceKey::Tcp(
            IpAddr::V4(Ipv4Addr::new(10, 2, (s / 250) as u8, (s % 250) as u8 + 1)),
            80,
        );
        v.push(Operation::AddService(Service::new(key, "wlc")));
        for d in 0..per {
            let addr = IpAddr::V4(Ipv4Addr::new(
                192,
                168,
                (d / 250) as u8,
                (d % 250) as u8 + 1,
            ));
            v.push(Operation::AddDest(
                key,
                Destination::new(addr, 80, Forward::Route),
            ));
        }
    }
    v
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let services = args.first().copied().unwrap_or(100);
    let per = args.get(1).copied().unwrap_or(99);
    let mut ipvs = Ipvs::connect()?;
    if let Some(w) = args.get(2) {
        ipvs.set_window(*w);
    }
    let ops = ops(services, per);

    ipvs.flush()?;
    let t = Instant::now();
    ipvs.apply(&ops)?;
    let batched = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let svcs = ipvs.services()?;
    let mut n = 0;
    for s in &svcs {
        n += ipvs.destinations(&s.key)?.len();
    }
    let dump = t.elapsed().as_secs_f64();

    ipvs.flush()?;
    let t = Instant::now();
    for op in &ops {
        ipvs.execute(op)?;
    }
    let single = t.elapsed().as_secs_f64();
    ipvs.flush()?;

    println!(
        "{} ops: apply (window {}) {batched:.3} s = {:.0} ops/s; one by one {single:.3} s = {:.0} ops/s; dump {} services + {n} dests {dump:.3} s",
        ops.len(),
        ipvs.window(),
        ops.len() as f64 / batched,
        ops.len() as f64 / single,
        svcs.len()
    );
    Ok(())
}
