//! Prints the CPU time of parsing the benchmark's 2,000 x 10 file, measured
//! with the thread's CPU clock so that a busy machine does not inflate it.
//! `cargo run --release -p lvscf-parser --example parse_timing`

#[path = "../benches/parse.rs"]
#[allow(dead_code)]
mod bench;

fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn parse_cpu(text: &str) -> std::time::Duration {
    let bytes = text.as_bytes().to_vec();
    let start = thread_cpu();
    let doc = lvscf_parser::Document::parse("big.cf", bytes);
    let spent = thread_cpu() - start;
    assert_eq!(doc.config().virtuals.len(), 2000);
    spent
}

fn main() {
    let text = bench::big_config(2000, 10);
    // The first parse of a process touches fresh memory: page faults
    // included, as for a daemon's first load.
    let cold = parse_cpu(&text);
    bench::keep_heap_between_iterations();
    let mut samples: Vec<_> = (0..30).map(|_| parse_cpu(&text)).collect();
    samples.sort();
    println!(
        "parse {} bytes (2000 virtuals x 10 servers): median {:.1} ms CPU, min {:.1} ms; first parse of the process {:.1} ms",
        text.len(),
        samples[samples.len() / 2].as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e3
    );
}
