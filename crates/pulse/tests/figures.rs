//! Failover figures (ignored by default; root only):
//!
//! `cargo test -p pulse --release --test figures -- --ignored --nocapture`
//!
//! For keepalive 1 / deadtime 3 and keepalive 0.1 / deadtime 0.3, 20 runs
//! each: the time from `kill -9` of the active pulse to the client's first
//! answer from the backup (a TCP responder on VIP:8080 in each router
//! namespace answers with the router's name), and the same for a planned
//! switchover (SIGTERM). Prints p50 and p99.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

/// (seconds until the VIP is on r2, seconds until the client's first answer from r2)
fn one_run(t: &Topo, k: &str, d: &str, sig: i32, run: usize) -> Option<(f64, f64)> {
    let cfg = t.config(&format!("lvs-{k}-{d}.cf"), k, d, "");
    let standin = t.standin("lvsd", true, None);
    for ns in [&t.r1, &t.r2] {
        sh(&[
            "ip",
            "-n",
            ns,
            "addr",
            "del",
            &format!("{VIP}/24"),
            "dev",
            "eth1",
        ]);
    }
    let mut p1 = t.pulse(&t.r1, &format!("r1-{run}"), &cfg, &standin, &[]);
    let mut p2 = t.pulse(&t.r2, &format!("r2-{run}"), &cfg, &standin, &[]);
    let ok = p1.wait_state("active", sec(10.0))
        && wait_until(sec(5.0), || t.ask().as_deref() == Some("r1")).is_some()
        && wait_until(sec(5.0), || {
            p2.status()
                .is_some_and(|s| s["state"] == "inactive" && s["partner"]["state"] == "active")
        })
        .is_some();
    if !ok {
        eprintln!("run {run}: setup failed: {:?} / {:?}", p1.log(), p2.log());
        return None;
    }
    // let the backup see a few heartbeats, then strike at a random phase of
    // the keepalive period
    let kf: f64 = k.parse().unwrap_or(1.0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let phase = f64::from(nanos % 1000) / 1000.0 * kf;
    std::thread::sleep(sec(0.3 + phase));
    let t0 = Instant::now();
    p1.signal(sig);
    // one loop polls both: the VIP on r2 (an `ip` run, ~5 ms) and the
    // client (a TCP connect with a 20 ms timeout); resolution ~10-30 ms
    let mut vip_at = None;
    let got = wait_until_every(sec(15.0), Duration::from_millis(1), || {
        if vip_at.is_none() && t.has_vip(&t.r2) {
            vip_at = Some(t0.elapsed().as_secs_f64());
        }
        t.ask_within(Duration::from_millis(20)).as_deref() == Some("r2")
    })
    .map(|at| (at - t0).as_secs_f64());
    let got = got.map(|g| (vip_at.unwrap_or(g), g));
    if std::env::var_os("FIGURES_DEBUG").is_some() {
        let rel = |p: &Pulse, n: &str| {
            p.lines.lock().ok().and_then(|v| {
                v.iter()
                    .find(|x| x.1.contains(n))
                    .map(|x| x.0.saturating_duration_since(t0).as_secs_f64() * 1000.0)
            })
        };
        eprintln!(
            "run {run}: got {got:?} r1 term {:?} r2 activating {:?} r2 standin {:?}",
            rel(&p1, "Terminating"),
            rel(&p2, "activating"),
            rel(&p2, "lvsd-standin")
        );
    }
    p1.signal(libc::SIGKILL);
    p2.signal(libc::SIGKILL);
    p1.wait_exit(sec(2.0));
    p2.wait_exit(sec(2.0));
    got
}

fn series(t: &Topo, k: &str, d: &str, sig: i32, what: &str) {
    let runs: Vec<(f64, f64)> = (0..20).filter_map(|i| one_run(t, k, d, sig, i)).collect();
    for (label, mut v) in [
        (
            "VIP on backup",
            runs.iter().map(|r| r.0).collect::<Vec<f64>>(),
        ),
        (
            "client answered",
            runs.iter().map(|r| r.1).collect::<Vec<f64>>(),
        ),
    ] {
        let n = v.len();
        let p50 = percentile(&mut v, 50.0);
        let p99 = percentile(&mut v, 99.0);
        let max = v.last().copied().unwrap_or(f64::NAN);
        println!(
            "FIGURE {what:<19} K {k:>3} D {d:>3} {label:<16}: n={n:2} p50 {:7.1} ms  p99 {:7.1} ms  max {:7.1} ms",
            p50 * 1000.0,
            p99 * 1000.0,
            max * 1000.0
        );
    }
}

#[test]
#[ignore]
fn failover_figures() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let only_term = std::env::var_os("FIGURES_TERM_ONLY").is_some();
    for (k, d) in [("1", "3"), ("0.1", "0.3")] {
        if !only_term {
            series(&t, k, d, libc::SIGKILL, "kill -9 failover");
        }
        series(&t, k, d, libc::SIGTERM, "planned switchover");
    }
}

/// K01 in CI (tests/run-all runs it in release): `kill -9` of the active
/// pulse, keepalive 1 / deadtime 3, 10 runs; the client's first answer from
/// the backup's VIP within D + K + 1 s at the 99th percentile (and every
/// run). The 20-run series above stays for the README's figures.
#[test]
fn k01_kill9_failover_p99_over_10_runs() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (k, d) = ("1", "3");
    let mut answered: Vec<f64> = (0..10)
        .filter_map(|i| one_run(&t, k, d, libc::SIGKILL, i))
        .map(|r| r.1)
        .collect();
    assert!(answered.len() >= 9, "only {} runs set up", answered.len());
    let p99 = percentile(&mut answered, 99.0);
    let max = answered.last().copied().unwrap_or(f64::NAN);
    println!(
        "FIGURE K01 kill -9, K {k} D {d}: n={} p99 {:.0} ms max {:.0} ms (bound D + K + 1 s = 5000 ms)",
        answered.len(),
        p99 * 1000.0,
        max * 1000.0
    );
    assert!(p99 <= 3.0 + 1.0 + 1.0, "p99 {p99:.3} s");
}

/// I18: a clean stop always hands over through "leaving", never through
/// the partner's deadtime. 200 planned switchovers (SIGTERM of the active
/// pulse) at keepalive 0.1 / deadtime 0.3, alternating between the routers:
/// the stopped pulse is started again as the standby, hears the active one,
/// and is stopped in its turn. Each new active pulse must say why it took
/// over: "partner dead" is the deadtime path and fails the test; so does a
/// stopped pulse that did not see the partner announce the VIPs (it then
/// keeps them for `deadtime`, and the client may keep talking to it). Prints
/// the time from SIGTERM to the VIP on the standby and to the client's first
/// answer from it.
#[test]
fn switchover_200_planned_stops_never_wait_for_deadtime() {
    if !can_run() {
        return;
    }
    const RUNS: usize = 200;
    let t = Topo::new();
    let (k, d) = ("0.1", "0.3");
    let cfg = t.config("lvs-switchover.cf", k, d, "");
    let standin = t.standin("lvsd", true, None);
    let mut names = [t.r1.clone(), t.r2.clone()];
    let mut active = t.pulse(&names[0], "r1-0", &cfg, &standin, &[]);
    assert!(
        active.wait_state("active", sec(10.0)),
        "r1 never active: {:?}",
        active.log()
    );
    let mut standby = t.pulse(&names[1], "r2-0", &cfg, &standin, &[]);
    let mut vip_ms = Vec::new();
    let mut client_ms = Vec::new();
    let mut deadtime_path = Vec::new();
    for run in 0..RUNS {
        let ready = wait_until(sec(10.0), || {
            standby
                .status()
                .is_some_and(|s| s["state"] == "inactive" && s["partner"]["state"] == "active")
        });
        assert!(
            ready.is_some(),
            "run {run}: the standby never saw the active router: {:?} / {:?}",
            standby.log(),
            active.log()
        );
        // strike at a random phase of the keepalive period
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        std::thread::sleep(sec(0.15 + f64::from(nanos % 1000) / 1000.0 * 0.1));
        let t0 = Instant::now();
        active.signal(libc::SIGTERM);
        let took = wait_until_every(sec(5.0), Duration::from_millis(1), || t.has_vip(&names[1]))
            .map(|at| (at - t0).as_secs_f64() * 1000.0);
        let label = if names[1] == t.r1 { "r1" } else { "r2" };
        let answered = wait_until_every(sec(5.0), Duration::from_millis(1), || {
            t.ask_within(Duration::from_millis(20)).as_deref() == Some(label)
        })
        .map(|at| (at - t0).as_secs_f64() * 1000.0);
        let why = standby
            .wait_log("activating lvs", sec(3.0))
            .and_then(|_| {
                standby
                    .log()
                    .into_iter()
                    .find(|l| l.contains("activating lvs"))
            })
            .unwrap_or_else(|| "no takeover".to_string());
        assert_eq!(
            active.wait_exit(sec(5.0)),
            Some(0),
            "run {run}: the stopped pulse did not exit cleanly: {:?}",
            active.log()
        );
        match (took, answered) {
            (Some(ms), Some(c)) => {
                vip_ms.push(ms);
                client_ms.push(c);
            }
            _ => panic!("run {run}: no takeover: {:?}", standby.log()),
        }
        // (the last lines may still be in the pipe after the exit)
        let handed = active
            .wait_log("announce", sec(2.0))
            .and_then(|_| active.log().into_iter().find(|l| l.contains("announce")))
            .unwrap_or_default();
        if !why.contains("leaving") && !why.contains("inactive") || !handed.contains("announced") {
            eprintln!(
                "run {run}: took over by \"{why}\", VIP after {took:?} ms, client after {answered:?} ms; stopped pulse: {:?}",
                active.log()
            );
            deadtime_path.push(run);
        }
        // the stopped router comes back as the standby
        let next = t.pulse(&names[0], &format!("n{run}"), &cfg, &standin, &[]);
        active = std::mem::replace(&mut standby, next);
        names.swap(0, 1);
    }
    let n = vip_ms.len();
    let p50 = percentile(&mut vip_ms, 50.0);
    let p99 = percentile(&mut vip_ms, 99.0);
    let max = vip_ms.last().copied().unwrap_or(f64::NAN);
    let c50 = percentile(&mut client_ms, 50.0);
    let c99 = percentile(&mut client_ms, 99.0);
    let cmax = client_ms.last().copied().unwrap_or(f64::NAN);
    println!(
        "FIGURE planned switchover K {k} D {d}: {} of {n} through a deadtime; SIGTERM to VIP on the standby p50 {p50:.0} ms p99 {p99:.0} ms max {max:.0} ms; to the client's answer p50 {c50:.0} ms p99 {c99:.0} ms max {cmax:.0} ms",
        deadtime_path.len()
    );
    assert!(
        deadtime_path.is_empty(),
        "{} of {n} switchovers waited for the deadtime: runs {deadtime_path:?}",
        deadtime_path.len()
    );
}

/// I18, faster failover: keepalive 0.02 / deadtime 0.06, 20 runs of
/// `kill -9` of the active pulse; the client's first answer from the backup
/// within 100 ms at the 99th percentile. Prints p50, p99 and max.
#[test]
#[ignore = "a timing gate of the optimised build: tests/run-all runs it with --release --ignored"]
fn fast_failover_p99_k002_d006_over_20_runs() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (k, d) = ("0.02", "0.06");
    let runs: Vec<(f64, f64)> = (0..20)
        .filter_map(|i| one_run(&t, k, d, libc::SIGKILL, i))
        .collect();
    assert!(runs.len() >= 19, "only {} runs set up", runs.len());
    let mut vip: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let mut answered: Vec<f64> = runs.iter().map(|r| r.1).collect();
    let v99 = percentile(&mut vip, 99.0);
    let p50 = percentile(&mut answered, 50.0);
    let p99 = percentile(&mut answered, 99.0);
    let max = answered.last().copied().unwrap_or(f64::NAN);
    println!(
        "FIGURE fast failover kill -9, K {k} D {d}: n={} VIP on backup p99 {:.0} ms; client answered p50 {:.0} ms p99 {:.0} ms max {:.0} ms (bound p99 < 100 ms)",
        answered.len(),
        v99 * 1000.0,
        p50 * 1000.0,
        p99 * 1000.0,
        max * 1000.0
    );
    assert!(p99 < 0.100, "p99 {:.0} ms", p99 * 1000.0);
}

/// I18, faster failover without false ones: keepalive 0.02 / deadtime 0.06
/// while every core is kept busy by spinning threads (as many as there are
/// cores) for `PULSE_LOAD_SECONDS` (default 60; the catalogue's figure is
/// 600). The backup never takes over and the primary never lets go; the
/// VIP is sampled every 100 ms.
#[test]
#[ignore = "a timing gate of the optimised build: tests/run-all runs it with --release --ignored"]
fn fast_failover_none_false_under_cpu_load() {
    if !can_run() {
        return;
    }
    let seconds: u64 = std::env::var("PULSE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let t = Topo::new();
    // PULSE_FAST_K / PULSE_FAST_D: other timers, to find the lowest safe one
    let k = std::env::var("PULSE_FAST_K").unwrap_or_else(|_| "0.02".into());
    let d = std::env::var("PULSE_FAST_D").unwrap_or_else(|_| "0.06".into());
    let cfg = t.config("lvs-fast-load.cf", &k, &d, "");
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    assert!(p1.wait_state("active", sec(10.0)), "{:?}", p1.log());
    let p2 = t.pulse(&t.r2, "r2", &cfg, &standin, &[]);
    // Both pulses run SCHED_FIFO (priority PULSE_FAST_CHRT, default 10; 0:
    // the normal scheduler): with the normal scheduler, spinning threads on
    // every core delay a pulse past 3 keepalives of 20 ms (3 false
    // takeovers in 60 s measured); real-time priority is what makes a
    // 60 ms deadtime safe, and what the README asks for with such timers.
    let prio = std::env::var("PULSE_FAST_CHRT").unwrap_or_else(|_| "10".into());
    if prio != "0" {
        for p in [&p1, &p2] {
            assert!(
                sh(&["chrt", "-a", "-f", "-p", &prio, &p.pid().to_string()]),
                "chrt -f {prio} failed"
            );
        }
    }
    let (takeovers_before, lost_before) = (
        p2.count("activating lvs"),
        p1.count("deactivating") + p1.count("partner dead"),
    );
    let seen = wait_until(sec(10.0), || {
        p2.status()
            .is_some_and(|s| s["state"] == "inactive" && s["partner"]["state"] == "active")
    });
    assert!(seen.is_some(), "{:?} / {:?}", p1.log(), p2.log());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinners: Vec<_> = (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x: u64 = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
                x
            })
        })
        .collect();
    let start = Instant::now();
    let mut samples = 0u64;
    let mut bad = None;
    while start.elapsed() < Duration::from_secs(seconds) {
        if !t.has_vip(&t.r1) || t.has_vip(&t.r2) {
            bad = Some(start.elapsed());
            break;
        }
        samples += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in spinners {
        let _ = s.join();
    }
    let takeovers = p2.count("activating lvs") - takeovers_before;
    let lost = p1.count("deactivating") + p1.count("partner dead") - lost_before;
    println!(
        "FIGURE fast failover K {k} D {d}, {cores} cores spinning for {} s, pulse {}: {takeovers} false takeovers, {samples} VIP samples",
        start.elapsed().as_secs(),
        if prio == "0" { "SCHED_OTHER".to_string() } else { format!("SCHED_FIFO {prio}") }
    );
    assert!(
        bad.is_none() && takeovers == 0 && lost == 0,
        "false failover after {bad:?}: {:?} / {:?}",
        p1.log(),
        p2.log()
    );
}
