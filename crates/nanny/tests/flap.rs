//! FLT-S01 (reliability-tests.md section 4): real servers flapping up and
//! down at random (every 0.5-5 s, each on its own schedule) under one
//! `nanny --lvsd` process, for `NANNY_FLAP_SECONDS` (default 20; the
//! catalogue's run is 600):
//!
//! ```text
//! NANNY_FLAP_SECONDS=600 cargo test --workspace --test flap -- --nocapture
//! ```
//!
//! The harness keeps its own record of every server's true health and
//! compares it with nanny's reports (stdout, PROTOCOL.md) and log lines
//! (stderr). Pass criteria:
//! * no crash: nanny runs throughout and exits 0 on EOF;
//! * every reported transition matches a real one (the server really was in
//!   the reported state shortly before the report) and reports alternate;
//! * every health period that lasted `timeout + reentry` (+ 0.5 s for
//!   scheduling) is reported before it ends, and the final reported state is
//!   the final health state;
//! * file descriptors and child processes of nanny: no drift between the
//!   start and the end of the run, no child left behind;
//! * at most 2 log lines per reported transition.
//!
//! Checks under test, all in one process as lvsd runs them: TCP connect
//! (down = listener closed, connection refused), send/expect (down = the
//! server answers 503), and a send_program (down = the program exits 1), so
//! child processes are started and reaped all along.
//!
//! `NANNY_FLAP_SEED` replays a schedule (the seed is printed).

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Probe interval and timeout of every check, seconds.
const TIMEOUT: u64 = 1;
/// Scheduling and pipe slack added to the catalogue's bound.
const SLACK: Duration = Duration::from_millis(500);
/// The end of the run over which the least fd and child counts are taken:
/// the connect-only checks keep idle sockets for reuse, and one left over
/// from a moment when two probes overlapped is closed after
/// `SocketPool::IDLE_LIMIT`; the window spans that and a probe cycle.
const END_WINDOW: Duration = Duration::from_secs(5);
/// How long before a report the reported state must have been true: one
/// probe (at most `timeout`) plus slack.
const LOOKBACK: Duration = Duration::from_millis(TIMEOUT * 1000 + 500);

/// splitmix64: a reproducible schedule without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi] milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }
}

/// How a server is made healthy or not.
enum Kind {
    /// Listener open (accepting) or closed (refused).
    Listener(Option<Server>),
    /// Always accepting; answers 200 when healthy, 503 when not.
    Http(Arc<AtomicBool>),
    /// send_program: a flag file exists or not.
    Program(std::path::PathBuf),
}

struct Flapper {
    virt: &'static str,
    name: &'static str,
    addr: SocketAddr,
    reentry: u64,
    kind: Kind,
    up: bool,
    /// (when the change had taken effect, new health)
    record: Vec<(Instant, bool)>,
}

impl Flapper {
    fn set(&mut self, up: bool) {
        match &mut self.kind {
            Kind::Listener(l) => {
                if up {
                    let lst = TcpListener::bind(self.addr)
                        .unwrap_or_else(|e| panic!("re-binding {}: {e}", self.addr));
                    *l = Some(Server::start_on(lst, drop));
                } else if let Some(s) = l.take() {
                    s.stop();
                }
            }
            Kind::Http(flag) => flag.store(up, Ordering::SeqCst),
            Kind::Program(p) => {
                if up {
                    std::fs::write(&*p, b"").unwrap();
                } else {
                    let _ = std::fs::remove_file(&*p);
                }
            }
        }
        self.up = up;
        self.record.push((Instant::now(), up));
    }

    /// Detection bound of the catalogue: `timeout + reentry`, plus slack.
    fn bound(&self) -> Duration {
        Duration::from_secs(TIMEOUT + self.reentry) + SLACK
    }

    fn health_at(&self, t: Instant) -> bool {
        self.record
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map(|r| r.1)
            .unwrap_or(self.record[0].1)
    }

    /// Whether the server was `up` at some moment of [from, to].
    fn was(&self, up: bool, from: Instant, to: Instant) -> bool {
        self.health_at(from) == up
            || self
                .record
                .iter()
                .any(|(at, s)| *at >= from && *at <= to && *s == up)
    }
}

fn http_server(healthy: Arc<AtomicBool>) -> Server {
    Server::start(move |mut c| {
        drain(&mut c);
        let reply: &[u8] = if healthy.load(Ordering::SeqCst) {
            b"HTTP/1.0 200 OK\r\n\r\nhello"
        } else {
            b"HTTP/1.0 503 Service Unavailable\r\n\r\n"
        };
        let _ = c.write_all(reply);
    })
}

fn count_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// (children, zombie children) of `pid`.
fn children(pid: u32) -> (usize, usize) {
    let (mut n, mut z) = (0, 0);
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if e.file_name().to_string_lossy().parse::<u32>().is_err() {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) S ppid ..." - comm may contain blanks: cut at the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            n += 1;
            if f.first() == Some(&"Z") {
                z += 1;
            }
        }
    }
    (n, z)
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

struct Sample {
    at: Instant,
    fds: usize,
    children: usize,
    zombies: usize,
}

#[test]
fn flt_s01_flapping_real_servers() {
    let seconds: u64 = std::env::var("NANNY_FLAP_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("NANNY_FLAP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("FLT-S01: {seconds} s of flapping, seed {seed} (NANNY_FLAP_SEED={seed} replays it)");

    // The servers. Each starts healthy.
    let dir = script_dir();
    let prog_addr = SocketAddr::new(addr().into(), 7100);
    let flag = dir.join(format!("flap-up-{}-{}", prog_addr.ip(), prog_addr.port()));
    let prog = script(
        "flap-check.sh",
        &format!(
            "echo run >> \"{d}/flap-runs\"\n[ -e \"{d}/flap-up-$1-$2\" ]",
            d = dir.display()
        ),
    );
    let runs_file = dir.join("flap-runs");
    let _ = std::fs::remove_file(&runs_file);
    let http_flag = Arc::new(AtomicBool::new(true));
    let http = http_server(http_flag.clone());
    let mut flappers: Vec<Flapper> = Vec::new();
    for (virt, name, reentry) in [
        ("conn1", "tcp1", 1),
        ("conn1", "tcp2", 1),
        ("conn2", "tcp3", 2),
    ] {
        let a = refused();
        flappers.push(Flapper {
            virt,
            name,
            addr: a,
            reentry,
            kind: Kind::Listener(None),
            up: false,
            record: Vec::new(),
        });
    }
    flappers.push(Flapper {
        virt: "http",
        name: "web",
        addr: http.addr,
        reentry: 2,
        kind: Kind::Http(http_flag),
        up: false,
        record: Vec::new(),
    });
    flappers.push(Flapper {
        virt: "prog",
        name: "script",
        addr: prog_addr,
        reentry: 1,
        kind: Kind::Program(flag),
        up: false,
        record: Vec::new(),
    });
    for f in flappers.iter_mut() {
        f.set(true);
    }

    let virt = |name: &str, reentry: u64, extra: Value, servers: Vec<&Flapper>| {
        let mut v = json!({"name": name, "port": 7000, "protocol": "tcp", "timeout": TIMEOUT,
            "reentry": reentry, "servers": servers.iter().map(|f| json!({"name": f.name,
            "address": f.addr.ip().to_string(), "port": f.addr.port(), "weight": 1})).collect::<Vec<_>>()});
        if let (Some(v), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(e.clone());
        }
        v
    };
    let by = |v: &str| flappers.iter().filter(|f| f.virt == v).collect::<Vec<_>>();
    let job = json!({"virtuals": [
        virt("conn1", 1, json!({}), by("conn1")),
        virt("conn2", 2, json!({}), by("conn2")),
        virt("http", 2, json!({"send": "GET / HTTP/1.0\\r\\n\\r\\n", "expect": "HTTP/1.0 200"}), by("http")),
        virt("prog", 1, json!({"send_program": format!("{prog} %h %p")}), by("prog")),
    ]});

    // nanny in lvsd mode, not verbose (as lvsd runs it by default), with
    // timestamped reports.
    let programs = allow_programs("flap-programs", &[format!("{prog} %h %p")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_nanny"))
        .arg("--lvsd")
        .env("LVS_PROGRAMS_FILE", &programs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nanny");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reports: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
    let r2 = reports.clone();
    let reader = thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            r2.lock().unwrap().push((Instant::now(), v));
        }
    });
    let stderr_text = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    writeln!(stdin, "{job}").unwrap();
    stdin.flush().unwrap();

    // Initial round: everything up.
    let t = Instant::now();
    while !reports
        .lock()
        .unwrap()
        .iter()
        .any(|(_, v)| v["event"] == "initial-round-done")
    {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "no initial round within 5 s"
        );
        thread::sleep(Duration::from_millis(20));
    }

    // Flap. One scheduler thread drives every server on its own random
    // schedule; the main thread samples nanny's fds and children.
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let max_bound = flappers.iter().map(|f| f.bound()).max().unwrap();
    let flappers = Arc::new(Mutex::new(flappers));
    let fl = flappers.clone();
    let driver = thread::spawn(move || {
        let mut rng = Rng(seed);
        let mut next: Vec<Instant> = {
            let f = fl.lock().unwrap();
            f.iter().map(|_| start + rng.millis(500, 5000)).collect()
        };
        loop {
            let (i, at) = next
                .iter()
                .copied()
                .enumerate()
                .min_by_key(|x| x.1)
                .unwrap();
            if at >= end {
                break;
            }
            thread::sleep(at.saturating_duration_since(Instant::now()));
            let mut f = fl.lock().unwrap();
            let up = !f[i].up;
            f[i].set(up);
            next[i] = Instant::now() + rng.millis(500, 5000);
        }
        // Final state, random per server, then held for the longest bound
        // and the end window.
        let mut f = fl.lock().unwrap();
        for s in f.iter_mut() {
            let up = rng.next() % 2 == 0;
            if up != s.up {
                s.set(up);
            }
        }
    });
    let mut samples: Vec<Sample> = Vec::new();
    let mut rss_start = 0;
    let mut running = true;
    while Instant::now() < end + max_bound + END_WINDOW + Duration::from_secs(1) {
        if let Ok(Some(st)) = child.try_wait() {
            running = false;
            eprintln!("nanny exited during the run: {st}");
            break;
        }
        let (c, z) = children(pid);
        samples.push(Sample {
            at: Instant::now(),
            fds: count_fds(pid),
            children: c,
            zombies: z,
        });
        if rss_start == 0 && start.elapsed() > Duration::from_secs(2) {
            rss_start = rss_kb(pid);
        }
        thread::sleep(Duration::from_millis(100));
    }
    driver.join().expect("flap driver");
    let rss_end = rss_kb(pid);
    let checked_until = Instant::now();

    // EOF: nanny must exit 0 promptly, leaving no program behind.
    drop(stdin);
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if t.elapsed() > Duration::from_secs(3) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    reader.join().expect("report reader");
    let log = stderr_text.join().expect("stderr reader");
    let leftovers = processes_with(&prog).len();
    let program_runs = std::fs::read_to_string(&runs_file)
        .map(|s| s.lines().count())
        .unwrap_or(0);

    // Analysis.
    let flappers = flappers.lock().unwrap();
    let reports = reports.lock().unwrap();
    let mut problems: Vec<String> = Vec::new();
    let mut total_h = 0;
    let mut total_r = 0;
    let mut total_reports = 0;
    let mut ups = 0;
    let mut downs_after_up = 0;
    let mut per_server = String::new();
    for f in flappers.iter() {
        let id = format!("{}/{}", f.virt, f.name);
        let mine: Vec<(Instant, bool)> = reports
            .iter()
            .filter(|(_, v)| v["virtual"] == f.virt && v["server"] == f.name)
            .map(|(t, v)| (*t, v["state"] == "up"))
            .collect();
        total_reports += mine.len();
        ups += mine.iter().filter(|r| r.1).count();
        downs_after_up += mine.iter().skip(1).filter(|r| !r.1).count();
        // Reports alternate and each matches a real state shortly before.
        for (k, (t, up)) in mine.iter().enumerate() {
            if k > 0 && mine[k - 1].1 == *up {
                problems.push(format!("{id}: state {up} reported twice in a row"));
            }
            let from = t.checked_sub(LOOKBACK).unwrap_or(*t);
            if !f.was(*up, from, *t) {
                problems.push(format!(
                    "{id}: reported {} at +{:.2} s but the server was not {} in the {:?} before",
                    if *up { "up" } else { "down" },
                    (*t - start).as_secs_f64(),
                    if *up { "up" } else { "down" },
                    LOOKBACK
                ));
            }
        }
        // Every period that lasted the bound is reported within it.
        let mut long = 0;
        let mut short = 0;
        for (k, (a, up)) in f.record.iter().enumerate() {
            let b = f.record.get(k + 1).map(|r| r.0).unwrap_or(checked_until);
            if b.duration_since(*a) < f.bound() {
                short += 1;
                continue;
            }
            long += 1;
            let at = *a + f.bound();
            let seen = mine.iter().rev().find(|r| r.0 <= at).map(|r| r.1);
            if seen != Some(*up) {
                problems.push(format!(
                    "{id}: {} from +{:.2} s to +{:.2} s, but nanny's report at +{:.2} s was {:?}",
                    if *up { "up" } else { "down" },
                    (*a - start).as_secs_f64().max(0.0),
                    (b - start).as_secs_f64(),
                    (at - start).as_secs_f64(),
                    seen.map(|u| if u { "up" } else { "down" })
                ));
            }
        }
        let final_reported = mine.last().map(|r| r.1);
        if final_reported != Some(f.up) {
            problems.push(format!(
                "{id}: final health {} but last report {:?}",
                f.up, final_reported
            ));
        }
        let h = f.record.len() - 1;
        let r = mine.len().saturating_sub(1);
        total_h += h;
        total_r += r;
        per_server.push_str(&format!(
            "  {id:<12} {h:>4} health transitions, {r:>4} reported; {long} periods >= {:.1} s all reported, {short} shorter ones (may be missed); final {}\n",
            f.bound().as_secs_f64(),
            if f.up { "up" } else { "down" }
        ));
    }

    // Log lines: the monitor start lines, then at most 2 per transition;
    // exactly one "[ active ]" per up and one "[inactive]" per down after up.
    let lines: Vec<&str> = log.lines().collect();
    let transition_lines = lines
        .iter()
        .filter(|l| !l.contains("starting LVS client monitor"))
        .count();
    let active_lines = lines
        .iter()
        .filter(|l| l.contains("[ active ] making"))
        .count();
    let inactive_lines = lines
        .iter()
        .filter(|l| l.contains("[inactive] shutting down"))
        .count();
    if transition_lines > 2 * total_reports {
        problems.push(format!(
            "{transition_lines} log lines for {total_reports} reported transitions"
        ));
    }
    if active_lines != ups || inactive_lines != downs_after_up {
        problems.push(format!(
            "{active_lines} '[ active ]' lines for {ups} up reports, {inactive_lines} '[inactive]' lines for {downs_after_up} downs"
        ));
    }

    // Resources: the least fds and children in the first 2 s and in the
    // end window (a probe in flight holds a socket or a child for a moment).
    assert!(END_WINDOW >= nanny::probe::SocketPool::IDLE_LIMIT + Duration::from_secs(2));
    let window = |from: Instant, to: Instant| {
        let s: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .collect();
        (
            s.iter().map(|s| s.fds).min().unwrap_or(0),
            s.iter().map(|s| s.children).min().unwrap_or(0),
        )
    };
    let (fd0, ch0) = window(start, start + Duration::from_secs(2));
    let last = samples.last().map(|s| s.at).unwrap_or(start);
    let (fd1, ch1) = window(last - END_WINDOW, last);
    let max_children = samples.iter().map(|s| s.children).max().unwrap_or(0);
    let max_zombies = samples.iter().map(|s| s.zombies).max().unwrap_or(0);
    let min_zombies_end = samples
        .iter()
        .filter(|s| s.at >= last - END_WINDOW)
        .map(|s| s.zombies)
        .min()
        .unwrap_or(0);
    if fd1 != fd0 {
        problems.push(format!(
            "fd count drifted: {fd0} at the start, {fd1} at the end"
        ));
    }
    if ch1 != ch0 || ch1 != 0 || min_zombies_end != 0 {
        problems.push(format!(
            "children: {ch0} at the start, {ch1} at the end ({min_zombies_end} zombies)"
        ));
    }
    // One program check runs at a time: never more than its shell.
    if max_children > 1 {
        problems.push(format!(
            "{max_children} children at once (one program check)"
        ));
    }
    // The program check really ran all along (about once per 1 s cycle).
    if (program_runs as u64) < seconds / 2 {
        problems.push(format!("the check program ran only {program_runs} times"));
    }
    if leftovers != 0 {
        problems.push(format!(
            "{leftovers} check programs left running after exit"
        ));
    }
    if !running {
        problems.push("nanny died during the run".into());
    }
    match status {
        Some(st) if st.success() => {}
        other => problems.push(format!("nanny did not exit 0 on EOF: {other:?}")),
    }
    let rss_growth = if rss_start > 0 {
        (rss_end as f64 - rss_start as f64) / rss_start as f64 * 100.0
    } else {
        0.0
    };

    // The catalogue's CI gate for the 10-minute run (a short run is
    // dominated by the allocator warming up).
    if seconds >= 300 && rss_growth >= 5.0 {
        problems.push(format!("RSS grew {rss_growth:.1}% (gate: < 5%)"));
    }

    let verdict = if problems.is_empty() { "PASS" } else { "FAIL" };
    let summary = format!(
        "FLT-S01 {verdict}: {seconds} s, {} servers, seed {seed}\n{per_server}  \
         transitions: {total_h} in the harness, {total_r} reported ({:.0}%; the others were undone before enough probes saw them)\n  \
         log lines: {transition_lines} for {total_reports} reports ({:.2} per transition; {active_lines} '[ active ]', {inactive_lines} '[inactive]')\n  \
         fds: {fd0} at the start, {fd1} at the end (drift {}); children: {ch0} -> {ch1}, at most {max_children} at once, at most {max_zombies} zombies seen, {program_runs} program runs, {leftovers} left after exit\n  \
         RSS: {rss_start} kB -> {rss_end} kB ({rss_growth:+.1}%); {} samples; nanny exit: {status:?}\n{}",
        flappers.len(),
        if total_h > 0 { total_r as f64 * 100.0 / total_h as f64 } else { 0.0 },
        transition_lines as f64 / total_reports.max(1) as f64,
        fd1 as i64 - fd0 as i64,
        samples.len(),
        problems.iter().map(|p| format!("  problem: {p}\n")).collect::<String>(),
    );
    println!("{summary}");
    assert!(problems.is_empty(), "{summary}\nnanny's log:\n{log}");
    drop(http);
}
