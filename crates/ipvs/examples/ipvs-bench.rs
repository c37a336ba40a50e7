//! Not for users: times IPVS programming through the `ipvs` crate (needs
//! root and IPVS, e.g. in the test guest). Flushes the IPVS table.
//!
//! `ipvs-bench [SERVICES] [DESTS_PER_SERVICE] [WINDOW]` (default 100 99 auto)
//! prints the time of a batched `apply`, of the same operations one by one,
//! and of a full dump.

use std::time::Instant;

use ipvs::*;

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
    let ops = ipvs::synth::batch(services, per, 2, 80, false);

    ipvs.flush()?;
    let t = Instant::now();
    ipvs.apply(&ops)?;
    let batched = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (svcs, n) = ipvs::synth::dump_all(&mut ipvs)?;
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
