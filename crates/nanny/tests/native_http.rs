//! The native HTTP check (`check = http`) against a real HTTP/1.1 server on
//! loopback made here: status sets, body matching, keep-alive reuse, a
//! server that closes idle connections, chunked bodies, the Host header,
//! the timeout bound, and the whole path through `nanny --lvsd`.

mod common;

use common::*;
use nanny::check::CheckSpec;
use nanny::expect::Expect;
use nanny::protocol::{NativeCheck, NativeKind, Protocol};
use nanny::state::Outcome;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the test server answers to one request: (status line, extra
/// headers, body, close after it).
type Answer = (&'static str, String, Vec<u8>, bool);

struct Http {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

/// An HTTP/1.1 server on loopback: one thread per connection, requests
/// read to their blank line, answers from `answer`.
fn http_server(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Http {
    let l = TcpListener::bind((addr(), 0)).unwrap();
    let a = l.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let (c2, r2) = (connections.clone(), requests.clone());
    thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { break };
            c2.fetch_add(1, Ordering::SeqCst);
            let (answer, requests) = (answer.clone(), r2.clone());
            thread::spawn(move || serve(c, &*answer, &requests));
        }
    });
    Http {
        addr: a,
        connections,
        requests,
    }
}

fn serve(c: TcpStream, answer: &dyn Fn(&str) -> Answer, requests: &Mutex<Vec<String>>) {
    let mut out = c.try_clone().unwrap();
    let mut r = BufReader::new(c);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        requests.lock().unwrap().push(head.clone());
        let (status, headers, body, close) = answer(&head);
        let mut msg = format!("HTTP/1.1 {status}\r\n{headers}").into_bytes();
        if !headers.to_ascii_lowercase().contains("transfer-encoding") {
            msg.extend(format!("Content-Length: {}\r\n", body.len()).bytes());
        }
        msg.extend(b"\r\n");
        msg.extend(&body);
        if out.write_all(&msg).is_err() || close {
            return;
        }
    }
}

fn ok(body: &str) -> Answer {
    ("200 OK", String::new(), body.as_bytes().to_vec(), false)
}

fn native(kind: NativeKind) -> NativeCheck {
    NativeCheck {
        kind,
        url: "/healthz".into(),
        status: vec![],
        host: None,
        ca: None,
        cert_days: 14,
        query: None,
        query_type: None,
    }
}

fn spec_of(addr: SocketAddr, n: &NativeCheck, expect: Expect, timeout: u64) -> CheckSpec {
    CheckSpec {
        protocol: Protocol::Tcp,
        addr,
        timeout: Duration::from_secs(timeout),
        kind: nanny::check::native_kind(n, addr, expect),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Probes `spec` `n` times with one session (as the engine does); each
/// must end within its timeout.
fn probes(spec: &CheckSpec, n: usize) -> (Vec<Outcome>, nanny::probe::Session) {
    let rt = rt();
    let pool = nanny::probe::SocketPool::new();
    let mut session = nanny::probe::Session::default();
    let mut out = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        out.push(rt.block_on(nanny::probe::probe_pooled(spec, &pool, &mut session)));
        assert!(t.elapsed() < spec.timeout + Duration::from_millis(200));
    }
    (out, session)
}

fn reason(o: &Outcome) -> &str {
    match o {
        Outcome::Bad(r) => r,
        Outcome::Good => panic!("expected a failure"),
    }
}

#[test]
fn status_body_and_keep_alive() {
    let s = http_server(|head| {
        if head.starts_with("GET /healthz HTTP/1.1\r\n") {
            ok("status: healthy")
        } else {
            ("404 Not Found", String::new(), b"no".to_vec(), false)
        }
    });
    let n = native(NativeKind::Http);
    let spec = spec_of(s.addr, &n, Expect::Prefix(b"healthy".to_vec()), 2);
    let (out, session) = probes(&spec, 5);
    assert!(out.iter().all(|o| *o == Outcome::Good), "{out:?}");
    // One connection carried all five requests.
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
    assert_eq!(session.http.connects, 1);
    assert_eq!(s.requests.lock().unwrap().len(), 5);
    // The Host header is the address and port by default.
    let first = s.requests.lock().unwrap()[0].clone();
    assert!(
        first.contains(&format!("\r\nHost: {}\r\n", s.addr)),
        "{first}"
    );

    // The body does not match.
    let spec = spec_of(s.addr, &n, Expect::Prefix(b"ready".to_vec()), 2);
    let (out, _) = probes(&spec, 1);
    assert!(
        reason(&out[0]).starts_with("HTTP body from"),
        "{:?}",
        out[0]
    );
    // A regular expression.
    let re = Expect::compile(Some("status: (healthy|ok)"), true, false).unwrap();
    assert_eq!(probes(&spec_of(s.addr, &n, re, 2), 1).0[0], Outcome::Good);

    // Another URL answers 404: down, with the status in the reason.
    let mut other = native(NativeKind::Http);
    other.url = "/missing".into();
    let (out, _) = probes(&spec_of(s.addr, &other, Expect::Nothing, 2), 1);
    assert_eq!(
        reason(&out[0]),
        format!("HTTP status 404 from {}/missing (expected 200-299)", s.addr)
    );
    // ... unless 404 is in check_status.
    other.status = vec![[200, 299], [404, 404]];
    let (out, _) = probes(&spec_of(s.addr, &other, Expect::Nothing, 2), 1);
    assert_eq!(out[0], Outcome::Good);
}

#[test]
fn check_host_and_chunked_bodies() {
    let s = http_server(|head| {
        let body = b"4\r\nheal\r\n3\r\nthy\r\n0\r\n\r\n".to_vec();
        if head.contains("\r\nHost: www.example.com\r\n") {
            (
                "200 OK",
                "Transfer-Encoding: chunked\r\n".into(),
                body,
                false,
            )
        } else {
            ("421 Misdirected Request", String::new(), vec![], false)
        }
    });
    let mut n = native(NativeKind::Http);
    let (out, _) = probes(&spec_of(s.addr, &n, Expect::Nothing, 2), 1);
    assert!(reason(&out[0]).starts_with("HTTP status 421"));
    n.host = Some("www.example.com".into());
    let spec = spec_of(s.addr, &n, Expect::Prefix(b"healthy".to_vec()), 2);
    let (out, session) = probes(&spec, 3);
    assert!(out.iter().all(|o| *o == Outcome::Good), "{out:?}");
    assert_eq!(
        session.http.connects, 1,
        "chunked answers keep the connection"
    );
}

#[test]
fn a_server_that_closes_connections_is_still_up() {
    // Closes after every answer without saying so (as a server whose idle
    // timeout is shorter than the check interval): the kept connection is
    // found closed and a new one is made within the same probe.
    let s = http_server(|_| ("200 OK", String::new(), b"ok".to_vec(), true));
    let n = native(NativeKind::Http);
    let spec = spec_of(s.addr, &n, Expect::Nothing, 2);
    let rt = rt();
    let pool = nanny::probe::SocketPool::new();
    let mut session = nanny::probe::Session::default();
    for _ in 0..4 {
        let o = rt.block_on(nanny::probe::probe_pooled(&spec, &pool, &mut session));
        assert_eq!(o, Outcome::Good);
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 4);
    // `Connection: close` is honoured without trying to reuse.
    let c = http_server(|_| {
        (
            "200 OK",
            "Connection: close\r\n".into(),
            b"ok".to_vec(),
            true,
        )
    });
    let (out, session) = probes(&spec_of(c.addr, &n, Expect::Nothing, 2), 3);
    assert!(out.iter().all(|o| *o == Outcome::Good));
    assert_eq!(session.http.connects, 3);
}

#[test]
fn every_probe_ends_within_its_timeout() {
    // Accepts and reads, never answers.
    let l = TcpListener::bind((addr(), 0)).unwrap();
    let a = l.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming().flatten() {
            let mut c2 = c.try_clone().unwrap();
            thread::spawn(move || {
                let mut b = [0u8; 1024];
                while matches!(c2.read(&mut b), Ok(n) if n > 0) {}
            });
            held.push(c);
        }
    });
    let n = native(NativeKind::Http);
    let t = Instant::now();
    let (out, _) = probes(&spec_of(a, &n, Expect::Nothing, 1), 1);
    assert_eq!(reason(&out[0]), format!("READ to {a} timed out"));
    assert!(t.elapsed() >= Duration::from_millis(900));
    // Nothing listening.
    let (out, _) = probes(&spec_of(refused(), &n, Expect::Nothing, 1), 1);
    assert_eq!(reason(&out[0]), "connection refused");
    // Not HTTP.
    let ssh = Server::reply(b"SSH-2.0-OpenSSH_9.2\r\n");
    let (out, _) = probes(&spec_of(ssh.addr, &n, Expect::Nothing, 1), 1);
    assert!(
        reason(&out[0]).starts_with("bad HTTP response"),
        "{:?}",
        out[0]
    );
}

#[test]
fn the_check_through_nanny_lvsd() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let h2 = healthy.clone();
    let s = http_server(move |_| {
        if h2.load(Ordering::SeqCst) {
            ok("ok")
        } else {
            (
                "503 Service Unavailable",
                String::new(),
                b"down".to_vec(),
                false,
            )
        }
    });
    let mut nanny = Nanny::lvsd();
    nanny.send(&json!({"virtuals": [{
        "name": "web", "port": s.addr.port(), "timeout": 1, "reentry": 1,
        "expect": "ok",
        "check": {"kind": "http", "url": "/healthz", "status": [[200, 204]]},
        "servers": [{"name": "r1", "address": s.addr.ip().to_string(), "port": s.addr.port(), "weight": 1}]
    }]}));
    nanny.wait_for(Duration::from_secs(5), "r1 up", |v| is(v, "r1", "up"));
    healthy.store(false, Ordering::SeqCst);
    let v = nanny.wait_for(Duration::from_secs(5), "r1 down", |v| is(v, "r1", "down"));
    assert_eq!(
        v["reason"],
        format!("HTTP status 503 from {}/healthz (expected 200-204)", s.addr)
    );
    // Probes shared one connection all along.
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
}
