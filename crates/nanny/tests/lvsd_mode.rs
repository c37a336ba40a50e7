//! End-to-end tests of `nanny --lvsd`: the built binary, jobs on stdin,
//! JSON reports on stdout, signals, EOF.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn server_json(name: &str, a: std::net::SocketAddr, weight: u32) -> Value {
    json!({"name": name, "address": a.ip().to_string(), "port": a.port(), "weight": weight})
}

fn virt(name: &str, servers: Vec<Value>) -> Value {
    json!({"name": name, "vip": "10.0.0.100", "port": 7000, "protocol": "tcp", "timeout": 1, "reentry": 1,
           "quiesce": false, "load_monitor": "none", "rsh_command": "rsh", "send": null, "expect": null,
           "use_regex": false, "send_program": null, "servers": servers})
}

fn round_done(v: &Value, job: u64) -> bool {
    v["event"] == "initial-round-done" && v["job"] == job
}

#[test]
fn two_servers_failure_removal_and_eof() {
    let up = Server::hang();
    let down = refused();
    let mut n = Nanny::lvsd();
    n.send(&json!({"virtuals": [virt("web", vec![server_json("r1", up.addr, 1), server_json("r2", down, 1)])]}));
    // first decisions, then the initial-round event
    let mut seen = Vec::new();
    let t = Instant::now();
    while seen.len() < 3 {
        let v = n.wait_for(Duration::from_secs(5), "initial reports", |_| true);
        seen.push(v);
    }
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "initial round took {:?}",
        t.elapsed()
    );
    assert!(
        seen.iter()
            .any(|v| is(v, "r1", "up") && v["weight"] == 1 && v["virtual"] == "web"),
        "{seen:?}"
    );
    let r2 = seen.iter().find(|v| is(v, "r2", "down")).expect("r2 down");
    assert_eq!(r2["reason"], "connection refused");
    assert_eq!(r2["weight"], 0);
    assert!(round_done(&seen[2], 1), "{seen:?}");
    // kill the listener: down within one timeout (+ slack)
    let addr = up.addr;
    up.stop();
    let t = Instant::now();
    let v = n.wait_for(Duration::from_secs(4), "r1 down", |v| is(v, "r1", "down"));
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "detection took {took:?}"
    );
    assert_eq!(v["reason"], "connection refused");
    let err = n.stderr_text();
    assert!(
        err.contains(&format!("nanny: [ active ] making {addr} available")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "nanny: [inactive] shutting down {addr} due to connection failure"
        )),
        "{err}"
    );
    // new job without r1; r1 comes back but must not be reported any more
    let again = std::net::TcpListener::bind(addr).unwrap();
    n.send(&json!({"virtuals": [virt("web", vec![server_json("r2", down, 1)])]}));
    let later = n.collect(Duration::from_secs(3));
    assert!(later.iter().all(|v| v["server"] != "r1"), "{later:?}");
    assert!(later.iter().any(|v| round_done(v, 2)), "{later:?}");
    drop(again);
    // EOF -> exit 0 promptly
    drop(n.stdin.take());
    let t = Instant::now();
    loop {
        if let Some(st) = n.child.try_wait().unwrap() {
            assert!(st.success(), "{st:?}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(3), "no exit after EOF");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unchanged_checkers_keep_their_state_and_identical_checks_are_shared() {
    let s = Server::hang();
    let mut n = Nanny::lvsd();
    // With a send string, so that every probe is a connection the server
    // accepts and counts (a connect-only probe ends at the SYN-ACK and
    // makes none).
    let sending = |name: &str, weight| {
        let mut v = virt(name, vec![server_json("r1", s.addr, weight)]);
        v["send"] = json!("PING\\n");
        v
    };
    let job = json!({"virtuals": [sending("a", 64), sending("b", 1)]});
    n.send(&job);
    n.wait_for(Duration::from_secs(5), "round 1", |v| round_done(v, 1));
    // the same job again: no report at all except the round event, at once
    n.send(&job);
    let v = n.wait_for(Duration::from_secs(2), "round 2", |_| true);
    assert!(round_done(&v, 2), "{v}");
    let before = s.accepts.load(std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(5100));
    let probes = s.accepts.load(std::sync::atomic::Ordering::Relaxed) - before;
    // One shared check per second, not two (10 or more). The window is
    // long enough that a probe delayed on a loaded machine (CI saw 5 in
    // 3.1 s) cannot make one check look like two.
    assert!((4..=7).contains(&probes), "{probes} connections in 5.1 s");
    assert!(n.collect(Duration::from_millis(10)).is_empty());
    // changing the weight of one keeps its state: only a weight report, if any
    let job = json!({"virtuals": [sending("a", 1), sending("b", 1)]});
    n.send(&job);
    let got = n.collect(Duration::from_millis(500));
    assert!(got.iter().all(|v| v["state"] != "down"), "{got:?}");
    assert!(got.iter().any(|v| round_done(v, 3)));
}

#[test]
fn signals_force_down_up_and_back_to_normal() {
    let s = Server::hang();
    let dead = refused();
    let mut n = Nanny::lvsd();
    n.send(&json!({"virtuals": [virt("web", vec![server_json("r1", s.addr, 5), server_json("r2", dead, 5)])]}));
    n.wait_for(Duration::from_secs(5), "round", |v| round_done(v, 1));
    n.signal(SIGUSR1);
    let v = n.wait_for(Duration::from_secs(2), "forced down", |v| {
        is(v, "r1", "down")
    });
    assert!(v["reason"].as_str().unwrap().contains("SIGUSR1"));
    // no probing while forced: r1 stays down
    assert!(n.collect(Duration::from_millis(1500)).is_empty());
    n.signal(SIGUSR2);
    let mut got = vec![n.wait_for(Duration::from_secs(2), "forced up", |_| true)];
    got.push(n.wait_for(Duration::from_secs(2), "forced up", |_| true));
    assert!(
        got.iter().any(|v| is(v, "r1", "up") && v["weight"] == 5),
        "{got:?}"
    );
    assert!(
        got.iter().any(|v| is(v, "r2", "up") && v["weight"] == 5),
        "{got:?}"
    );
    assert!(n.collect(Duration::from_millis(1500)).is_empty());
    // SIGHUP: normal probing, immediate: r2 is refused again
    n.signal(SIGHUP);
    let t = Instant::now();
    n.wait_for(Duration::from_secs(3), "r2 down after SIGHUP", |v| {
        is(v, "r2", "down")
    });
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let err = n.stderr_text();
    assert!(
        err.contains("opaque glasses on") && err.contains("rose-colored glasses on"),
        "{err}"
    );
    // SIGTERM: clean exit 0 with Piranha's line
    n.signal(SIGTERM);
    let st = n.child.wait().unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(100));
    assert!(n.stderr_text().contains("Terminating due to signal 15"));
}

#[test]
fn reentry_needs_reentry_over_timeout_good_probes() {
    let s = Server::hang();
    let addr = s.addr;
    let mut n = Nanny::lvsd();
    let mut v = virt("web", vec![server_json("r1", addr, 1)]);
    v["reentry"] = json!(3);
    n.send(&json!({"virtuals": [v]}));
    n.wait_for(Duration::from_secs(5), "up", |v| is(v, "r1", "up"));
    s.stop();
    n.wait_for(Duration::from_secs(3), "down", |v| is(v, "r1", "down"));
    let back = Server::start_at(addr);
    let t = Instant::now();
    n.wait_for(Duration::from_secs(8), "up again", |v| is(v, "r1", "up"));
    // 3 good probes, 1 s apart (+ the time until the first one)
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(5000),
        "{took:?}"
    );
    drop(back);
}

#[test]
fn bad_job_line_is_rejected_and_previous_job_kept() {
    let s = Server::hang();
    let mut n = Nanny::lvsd();
    n.send(&json!({"virtuals": [virt("web", vec![server_json("r1", s.addr, 1)])]}));
    n.wait_for(Duration::from_secs(5), "round", |v| round_done(v, 1));
    writeln_raw(&mut n, "{not json");
    let v = n.wait_for(Duration::from_secs(2), "rejected", |v| {
        v["event"] == "job-rejected"
    });
    assert_eq!(v["job"], 2);
    assert!(n
        .collect(Duration::from_millis(1500))
        .iter()
        .all(|v| v["state"] != "down"));
}

fn writeln_raw(n: &mut Nanny, s: &str) {
    use std::io::Write;
    let i = n.stdin.as_mut().unwrap();
    writeln!(i, "{s}").unwrap();
    i.flush().unwrap();
}

#[test]
fn bad_regex_is_reported_once_and_server_down() {
    let s = Server::reply(b"HTTP/1.0 200 OK\r\n");
    let mut n = Nanny::lvsd();
    let mut v = virt("web", vec![server_json("r1", s.addr, 1)]);
    v["expect"] = json!("HTTP(");
    v["use_regex"] = json!(true);
    n.send(&json!({"virtuals": [v]}));
    let r = n.wait_for(Duration::from_secs(3), "down", |v| is(v, "r1", "down"));
    assert!(r["reason"].as_str().unwrap().starts_with("Error '"), "{r}");
    std::thread::sleep(Duration::from_millis(2500));
    let err = n.stderr_text();
    assert_eq!(
        err.matches("processing expected regular expression")
            .count(),
        2,
        "{err}"
    );
}

#[test]
fn stdout_carries_only_json() {
    // the reader thread panics on a non-JSON line; exercise the verbose paths
    let s = Server::reply(b"HTTP/1.0 200 OK\r\n");
    let mut n = Nanny::lvsd();
    let mut v = virt("web", vec![server_json("r1", s.addr, 1)]);
    v["port"] = json!(80);
    n.send(&json!({"virtuals": [v]}));
    n.wait_for(Duration::from_secs(3), "up", |v| is(v, "r1", "up"));
    assert!(n
        .stderr_text()
        .contains("no monitor configured, assuming web service on port 80"));
}
