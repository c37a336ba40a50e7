//! A real server in a network namespace made by the test, reached over a
//! veth pair: up, then a silent failure (link down: no RST, packets vanish)
//! must be detected within one timeout; an address with no host behind it
//! is down by timeout. Needs root (skips with a message otherwise).

mod common;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

struct Ns {
    name: String,
    host_if: String,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

impl Ns {
    fn create(tag: u32) -> Option<Ns> {
        let name = format!("nanny-t{tag}");
        let host_if = format!("nyh{tag}");
        let ns_if = format!("nyn{tag}");
        let net = format!("10.213.{}.", tag % 250);
        let ns = Ns {
            name: name.clone(),
            host_if: host_if.clone(),
        };
        let ok = ip(&["netns", "add", &name])
            && ip(&[
                "link", "add", "name", &host_if, "type", "veth", "peer", "name", &ns_if,
            ])
            && ip(&["link", "set", &ns_if, "netns", &name])
            && ip(&["addr", "add", &format!("{net}1/24"), "dev", &host_if])
            && ip(&["link", "set", &host_if, "up"])
            && ip(&[
                "-n",
                &name,
                "addr",
                "add",
                &format!("{net}2/24"),
                "dev",
                &ns_if,
            ])
            && ip(&["-n", &name, "link", "set", &ns_if, "up"])
            && ip(&["-n", &name, "link", "set", "lo", "up"]);
        if ok {
            Some(ns)
        } else {
            None
        }
    }

    /// Bind a listener inside the namespace (from a thread that joins it).
    fn listen(&self, addr: &str) -> std::net::TcpListener {
        let path = format!("/run/netns/{}", self.name);
        let addr = addr.to_string();
        std::thread::spawn(move || {
            let f = std::fs::File::open(&path).unwrap();
            let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            std::net::TcpListener::bind(addr).unwrap()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_if]);
        ip(&["netns", "del", &self.name]);
    }
}

/// The first report of each (server, state), in the order asked, whatever
/// order they arrive in (within 6 s).
fn wait_all(n: &Nanny, want: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let mut got: Vec<Option<serde_json::Value>> = want.iter().map(|_| None).collect();
    while got.iter().any(Option::is_none) {
        let v = n.wait_for(Duration::from_secs(6), &format!("{want:?}"), |_| true);
        for (w, g) in want.iter().zip(got.iter_mut()) {
            if g.is_none() && is(&v, w.0, w.1) {
                *g = Some(v.clone());
            }
        }
    }
    got.into_iter().flatten().collect()
}

#[test]
fn server_in_a_namespace_silent_failure_and_no_host() {
    if !is_root() {
        test_support::skip(module_path!(), "needs root to create a network namespace");
        return;
    }
    let tag = std::process::id() % 10000;
    let Some(ns) = Ns::create(tag) else {
        test_support::skip(
            module_path!(),
            "cannot create a network namespace and veth pair here",
        );
        return;
    };
    let net = format!("10.213.{}.", tag % 250);
    let l = ns.listen(&format!("{net}2:8080"));
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { break };
            std::thread::spawn(move || {
                let mut b = [0u8; 256];
                let _ = c.read(&mut b);
                let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
            });
        }
    });
    let mut n = Nanny::lvsd();
    n.send(&json!({"virtuals": [{
    "name": "web", "vip": "10.0.0.100", "port": 80, "protocol": "tcp", "timeout": 1, "reentry": 1,
    "send": "GET / HTTP/1.0\\r\\n\\r\\n", "expect": "HTTP/1.0 200",
    "servers": [
        {"name": "real", "address": format!("{net}2"), "port": 8080, "weight": 1},
        {"name": "nohost", "address": format!("{net}3"), "port": 8080, "weight": 1}
    ]}, {
    // The same server with a connect-only check: the pooled-socket path,
    // where the handshake completes after connect() returns.
    "name": "tcp", "port": 8080, "protocol": "tcp", "timeout": 1, "reentry": 1,
    "servers": [{"name": "conn", "address": format!("{net}2"), "port": 8080, "weight": 1}]
    }]}));
    let got = wait_all(&n, &[("real", "up"), ("conn", "up"), ("nohost", "down")]);
    let v = &got[2];
    let r = v["reason"].as_str().unwrap();
    assert!(r.contains("timed out") || r.contains("no route"), "{r}");
    // the server's link goes down: packets vanish, no RST
    assert!(ip(&[
        "-n",
        &ns.name,
        "link",
        "set",
        &format!("nyn{tag}"),
        "down"
    ]));
    let t = Instant::now();
    // Both checks of the server: send/expect and connect-only (pooled).
    let mut took = Duration::ZERO;
    let mut got = Vec::new();
    for _ in 0..2 {
        let v = n.wait_for(Duration::from_secs(5), "real and conn down", |v| {
            is(v, "real", "down") || is(v, "conn", "down")
        });
        eprintln!(
            "{} down after {:?}: {}",
            v["server"],
            t.elapsed(),
            v["reason"]
        );
        took = took.max(t.elapsed());
        got.push(v);
    }
    assert_ne!(got[0]["server"], got[1]["server"]);
    let v = &got[0];
    assert!(
        took < Duration::from_millis(3000),
        "silent failure seen after {took:?}"
    );
    let r = v["reason"].as_str().unwrap();
    assert!(
        r.contains("timed out") || r.contains("unreachable") || r.contains("no route"),
        "{r}"
    );
    eprintln!("silent failure detected in {took:?}: {r}");
    // and back: link up, the server is readmitted (reentry 1 = 1 probe)
    assert!(ip(&[
        "-n",
        &ns.name,
        "link",
        "set",
        &format!("nyn{tag}"),
        "up"
    ]));
    wait_all(&n, &[("real", "up"), ("conn", "up")]);
}
