//! Parsing a generated lvs.cf of 2,000 virtual servers with 10 real servers
//! each (about 4 MiB). Target: under 20 ms on the 2-core development machine.
//!
//! `cargo bench -p lvscf-parser --bench parse`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lvscf_parser::Document;
use std::fmt::Write;

/// The generated file, laid out as Piranha's GUI writes it.
pub fn big_config(virtuals: usize, servers: usize) -> String {
    let mut s = String::from(
        "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nbackup_active = 1\nbackup = 10.0.0.2\nheartbeat = 1\nheartbeat_port = 539\nkeepalive = 2\ndeadtime = 6\nnetwork = nat\n",
    );
    for v in 0..virtuals {
        let _ = write!(
            s,
            "virtual web{v} {{\n     active = 1\n     address = 10.{}.{}.1 eth0:{}\n     port = 80\n     send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n     expect = \"HTTP\"\n     use_regex = 0\n     load_monitor = none\n     scheduler = wlc\n     protocol = tcp\n     timeout = 6\n     reentry = 15\n     quiesce_server = 0\n",
            v / 250,
            v % 250,
            v % 100
        );
        for r in 0..servers {
            let _ = write!(
                s,
                "     server r{r} {{\n         address = 172.{}.{}.{}\n         active = 1\n         weight = {}\n     }}\n",
                16 + v / 250,
                v % 250,
                r + 1,
                r + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

/// Keeps freed memory in the process between iterations. Without it glibc
/// may hand the heap back to the kernel after each parse (depending on
/// where the last allocation landed), and the next parse then spends
/// milliseconds in page faults: a measure of the allocator's trimming
/// policy, not of the parser. A cold first parse is reported separately by
/// the `parse_timing` example.
pub fn keep_heap_between_iterations() {
    // SAFETY: mallopt only adjusts glibc's tunables; called before any
    // measured allocation.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
    }
}

fn bench(c: &mut Criterion) {
    keep_heap_between_iterations();
    let text = big_config(2000, 10);
    let probe = Document::parse("big.cf", text.clone());
    assert!(!probe.has_errors(), "{:?}", probe.diagnostics().first());
    assert_eq!(probe.config().virtuals.len(), 2000);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(30);
    group.bench_function("2000 virtuals x 10 servers", |b| {
        b.iter(|| Document::parse("big.cf", text.as_bytes().to_vec()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
