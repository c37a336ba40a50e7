//! The DNS check (`check = dns`) against a real responder on loopback made
//! here (UDP and TCP on one port, the wire format by hickory-proto):
//! NOERROR with and without `expect`, NXDOMAIN, truncation and the TCP
//! retry, answers with a foreign id, silence and refusal.

mod common;

use common::*;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{RData, Record, RecordType};
use nanny::check::CheckSpec;
use nanny::expect::Expect;
use nanny::protocol::{NativeCheck, NativeKind, Protocol};
use nanny::state::Outcome;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers normally.
    Answer,
    /// UDP answers are truncated (no records, TC set); TCP answers whole.
    Truncate,
    /// First a UDP answer with another id, then the right one.
    ForeignIdFirst,
}

/// The answer to a query: `www.example.com A` -> 192.0.2.1, `txt.example.com
/// TXT` -> "v=ok", anything else NXDOMAIN.
fn answer(query: &[u8], truncated: bool) -> Message {
    let q = Message::from_vec(query).expect("a query");
    let mut m = Message::new();
    m.set_id(q.id())
        .set_message_type(MessageType::Response)
        .set_recursion_desired(q.recursion_desired())
        .add_queries(q.queries().to_vec());
    let question = &q.queries()[0];
    let name = question.name().to_ascii();
    let rdata = match (name.as_str(), question.query_type()) {
        ("www.example.com.", RecordType::A) => Some(RData::A(A::new(192, 0, 2, 1))),
        ("txt.example.com.", RecordType::TXT) => Some(RData::TXT(TXT::new(vec!["v=ok".into()]))),
        _ => None,
    };
    match rdata {
        None => {
            m.set_response_code(ResponseCode::NXDomain);
        }
        Some(_) if truncated => {
            m.set_truncated(true);
        }
        Some(r) => {
            m.add_answer(Record::from_rdata(question.name().clone(), 60, r));
        }
    }
    m
}

struct Dns {
    addr: SocketAddr,
    tcp_queries: Arc<AtomicUsize>,
}

fn responder(b: Behaviour) -> Dns {
    let udp = UdpSocket::bind((addr(), 0)).unwrap();
    let a = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(a).unwrap();
    let tcp_queries = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = udp.recv_from(&mut buf) {
            let m = answer(&buf[..n], matches!(b, Behaviour::Truncate));
            if matches!(b, Behaviour::ForeignIdFirst) {
                // A failing answer under another id: taking it would fail
                // the probe.
                let mut foreign = Message::new();
                foreign
                    .set_id(m.id().wrapping_add(1))
                    .set_message_type(MessageType::Response)
                    .set_response_code(ResponseCode::ServFail)
                    .add_queries(m.queries().to_vec());
                let _ = udp.send_to(&foreign.to_vec().unwrap(), peer);
            }
            let _ = udp.send_to(&m.to_vec().unwrap(), peer);
        }
    });
    let t2 = tcp_queries.clone();
    thread::spawn(move || {
        for c in tcp.incoming() {
            let Ok(mut c) = c else { break };
            t2.fetch_add(1, Ordering::SeqCst);
            let mut len = [0u8; 2];
            if c.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
            if c.read_exact(&mut q).is_err() {
                continue;
            }
            let out = answer(&q, false).to_vec().unwrap();
            let _ = c.write_all(&(out.len() as u16).to_be_bytes());
            let _ = c.write_all(&out);
        }
    });
    Dns {
        addr: a,
        tcp_queries,
    }
}

fn spec_of(addr: SocketAddr, query: &str, expect: Expect, timeout: u64) -> CheckSpec {
    let mut words = query.split(' ');
    let n = NativeCheck {
        kind: NativeKind::Dns,
        url: "/".into(),
        status: vec![],
        host: None,
        ca: None,
        cert_days: 14,
        query: words.next().map(str::to_string),
        query_type: words.next().map(str::to_string),
    };
    CheckSpec {
        protocol: Protocol::Udp,
        addr,
        timeout: Duration::from_secs(timeout),
        kind: nanny::check::native_kind(&n, addr, expect),
    }
}

fn run(spec: &CheckSpec) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let o = rt.block_on(nanny::probe::probe(spec));
    assert!(t.elapsed() < spec.timeout + Duration::from_millis(200));
    o
}

fn text(s: &str) -> Expect {
    Expect::Prefix(s.as_bytes().to_vec())
}

fn reason(o: Outcome) -> String {
    match o {
        Outcome::Bad(r) => r,
        Outcome::Good => panic!("expected a failure"),
    }
}

#[test]
fn answers_rcodes_and_expect() {
    let d = responder(Behaviour::Answer);
    assert_eq!(
        run(&spec_of(d.addr, "www.example.com A", Expect::Nothing, 2)),
        Outcome::Good
    );
    assert_eq!(
        run(&spec_of(d.addr, "www.example.com", text("192.0.2.1"), 2)),
        Outcome::Good
    );
    assert_eq!(
        run(&spec_of(d.addr, "txt.example.com TXT", text("v=ok"), 2)),
        Outcome::Good
    );
    let r = reason(run(&spec_of(
        d.addr,
        "www.example.com A",
        text("192.0.2.9"),
        2,
    )));
    assert_eq!(
        r,
        format!("DNS answer from {} for www.example.com A does not match \"192.0.2.9\": got \"192.0.2.1\"", d.addr)
    );
    let r = reason(run(&spec_of(
        d.addr,
        "missing.example.com A",
        Expect::Nothing,
        2,
    )));
    assert!(
        r.starts_with(&format!(
            "DNS answer from {} for missing.example.com A: ",
            d.addr
        )),
        "{r}"
    );
    assert!(
        r.contains("Non-Existent Domain") || r.contains("NXDomain"),
        "{r}"
    );
    assert_eq!(d.tcp_queries.load(Ordering::SeqCst), 0, "UDP only");
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let d = responder(Behaviour::Truncate);
    assert_eq!(
        run(&spec_of(d.addr, "www.example.com A", text("192.0.2.1"), 2)),
        Outcome::Good
    );
    assert_eq!(d.tcp_queries.load(Ordering::SeqCst), 1);
}

#[test]
fn answers_with_another_id_are_not_ours() {
    let d = responder(Behaviour::ForeignIdFirst);
    for _ in 0..3 {
        assert_eq!(
            run(&spec_of(d.addr, "www.example.com A", text("192.0.2.1"), 2)),
            Outcome::Good
        );
    }
}

#[test]
fn silence_and_refusal() {
    let quiet = UdpSocket::bind((addr(), 0)).unwrap();
    let a = quiet.local_addr().unwrap();
    let t = Instant::now();
    assert_eq!(
        reason(run(&spec_of(a, "www.example.com A", Expect::Nothing, 1))),
        format!("DNS query to {a} timed out")
    );
    assert!(t.elapsed() >= Duration::from_millis(900));
    drop(quiet);
    assert_eq!(
        reason(run(&spec_of(a, "www.example.com A", Expect::Nothing, 1))),
        "connection refused (ICMP port unreachable)"
    );
}
