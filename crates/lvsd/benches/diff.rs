//! Native cost of lvsd's reload computation for 1,000 virtual servers with
//! 10 real servers each: parsing lvs.cf (lvscf-parser), building the
//! desired table, and the diff for a one-weight change (the kernel side is
//! measured in the guest by tests/vm/scripts/lvsd-bench.sh).

use criterion::{criterion_group, criterion_main, Criterion};
use lvsd::desired::{desired, Monitor};
use lvsd::diff::diff;
use lvsd::table::Table;

fn conf(n: usize, m: usize, changed: bool) -> String {
    let mut s = String::from("serial_no = 1\nservice = lvs\nnetwork = nat\n");
    for i in 0..n {
        s += &format!(
            "virtual v{i} {{\n    active = 1\n    address = 172.16.{}.{} eth0:{i}\n    port = 80\n    scheduler = wlc\n",
            i / 256,
            i % 256
        );
        for j in 0..m {
            let w = if changed && i == n / 2 && j == 0 {
                7
            } else {
                1
            };
            s += &format!(
                "    server r{j} {{\n        address = 10.{}.{}.{}\n        active = 1\n        weight = {w}\n    }}\n",
                i / 256 + 1,
                i % 256,
                j + 1
            );
        }
        s += "}\n";
    }
    s
}

fn bench(c: &mut Criterion) {
    let a = conf(1000, 10, false);
    let b = conf(1000, 10, true);
    let ca = match lvscf_parser::parse("lvs.cf", a.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };
    let current = desired(&ca, Monitor::AssumeUp, &Table::new()).table;
    let mut g = c.benchmark_group("reload-1000x10");
    g.sample_size(20);
    g.bench_function("parse", |bch| {
        bch.iter(|| lvscf_parser::parse("lvs.cf", b.as_bytes()))
    });
    let cb = match lvscf_parser::parse("lvs.cf", b.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };
    g.bench_function("desired", |bch| {
        bch.iter(|| desired(&cb, Monitor::AssumeUp, &current))
    });
    let want = desired(&cb, Monitor::AssumeUp, &current).table;
    g.bench_function("diff", |bch| {
        bch.iter(|| {
            let ops = diff(&current, &want, |_| true);
            assert_eq!(ops.len(), 1);
            ops
        })
    });
    g.bench_function("parse+desired+diff", |bch| {
        bch.iter(|| {
            let l = lvscf_parser::parse("lvs.cf", b.as_bytes()).map(|l| l.config);
            let cfg = match l {
                Ok(c) => c,
                Err(e) => panic!("{e}"),
            };
            let d = desired(&cfg, Monitor::AssumeUp, &current);
            diff(&current, &d.table, |_| true)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
