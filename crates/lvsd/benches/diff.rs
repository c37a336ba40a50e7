//! Native cost of lvsd's reload computation for 1,000 virtual servers with
//! 10 real servers each: parsing lvs.cf (lvscf-parser), building the
//! desired table, the diff for a one-weight change, and with nanny
//! monitoring the nanny groups with their job lines and forgetting the
//! reports of removed servers (the kernel side is measured in the guest by
//! tests/vm/scripts/lvsd-bench.sh and lvsd-reload-bench.sh).

use criterion::{criterion_group, criterion_main, Criterion};
use lvsd::desired::{desired, Monitor};
use lvsd::diff::diff;
use lvsd::health::Health;
use lvsd::table::Table;
use nanny::protocol::{Report, ServerReport, State};

fn conf(n: usize, m: usize, changed: bool) -> String {
    lvsd::synth::lvs_cf(n, m, "eth0", changed)
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
    // What a reload does with monitoring: group, and compare each group's
    // job with the one its nanny has (a line is only written for a change).
    let running = lvsd::group::groups(&ca);
    g.bench_function("nanny-groups", |bch| {
        bch.iter(|| {
            lvsd::group::groups(&cb)
                .iter()
                .zip(&running)
                .filter(|(new, old)| new.job != old.job)
                .map(|(new, _)| new.job.to_line().len())
                .sum::<usize>()
        })
    });
    // Every server reported up once, as after the first round of checks.
    let mut health = Health::new();
    for v in cb.active_virtuals() {
        let watched = vec![v.name.clone()];
        for srv in v.active_servers() {
            let Some(address) = srv.ip() else { continue };
            let r = Report::Server(ServerReport {
                virtual_name: v.name.clone(),
                server: srv.name.clone(),
                address,
                port: v.server_port(srv),
                state: State::Up,
                weight: 1,
                reason: None,
            });
            health.apply(&r, &watched, &cb);
        }
    }
    g.bench_function("health-retain-10000", |bch| {
        bch.iter_batched(
            || health.clone(),
            |mut h| {
                h.retain_configured(&cb);
                h
            },
            criterion::BatchSize::LargeInput,
        )
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
