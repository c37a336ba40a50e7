//! The https check against real rustls servers on loopback, with
//! certificates made here (rcgen): a certificate from a CA, a self-signed
//! one with and without `check_ca`, a wrong name, one that expires soon
//! (the warning, in nanny's log and its report to lvsd), and a server that
//! never finishes the handshake (reliability catalogue S04: the behaviour
//! follows the per-check setting, `check_ca`).

mod common;

use common::*;
use nanny::check::CheckSpec;
use nanny::expect::Expect;
use nanny::protocol::{NativeCheck, NativeKind, Protocol};
use nanny::state::Outcome;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "nanny test CA");
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A server certificate for `names` valid for `days` more days, signed by
/// `ca` (or self-signed).
fn leaf(
    names: &[&str],
    days: i64,
    ca: Option<&Ca>,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
    let cert = match ca {
        Some(ca) => params
            .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

struct Tls {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
}

/// An HTTPS server on loopback answering `200 ok` on kept connections.
fn https_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Tls {
    https_server_at(addr(), cert, key)
}

fn https_server_at(
    ip: std::net::Ipv4Addr,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Tls {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind((ip, 0)).unwrap();
    l.set_nonblocking(true).unwrap();
    let a = l.local_addr().unwrap();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let h2 = handshakes.clone();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            while let Ok((tcp, _)) = l.accept().await {
                let (acceptor, h3) = (acceptor.clone(), h2.clone());
                tokio::spawn(async move {
                    let Ok(mut s) = acceptor.accept(tcp).await else {
                        return;
                    };
                    h3.fetch_add(1, Ordering::SeqCst);
                    let mut buf = Vec::new();
                    let mut b = [0u8; 1024];
                    loop {
                        let Ok(n) = s.read(&mut b).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&b[..n]);
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..end + 4);
                            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                            if s.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
    });
    Tls {
        addr: a,
        handshakes,
    }
}

fn native(host: Option<&str>, ca: Option<PathBuf>, cert_days: u32) -> NativeCheck {
    NativeCheck {
        kind: NativeKind::Https,
        url: "/".into(),
        status: vec![],
        host: host.map(str::to_string),
        ca: ca.map(|p| p.display().to_string()),
        cert_days,
        query: None,
        query_type: None,
    }
}

fn spec_of(addr: SocketAddr, n: &NativeCheck, timeout: u64) -> CheckSpec {
    CheckSpec {
        protocol: Protocol::Tcp,
        addr,
        timeout: Duration::from_secs(timeout),
        kind: nanny::check::native_kind(n, addr, Expect::Prefix(b"ok".to_vec())),
    }
}

fn probes(spec: &CheckSpec, n: usize) -> (Vec<Outcome>, nanny::probe::Session) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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

fn write_ca(ca: &Ca, name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("nanny-{}-{name}.pem", std::process::id()));
    std::fs::write(&p, &ca.pem).unwrap();
    p
}

fn reason(o: &Outcome) -> String {
    match o {
        Outcome::Bad(r) => r.clone(),
        Outcome::Good => panic!("expected a failure"),
    }
}

#[test]
fn verified_against_check_ca_and_kept_open() {
    let ca = ca();
    let ip = addr();
    let (cert, key) = leaf(&["localhost", &ip.to_string()], 365, Some(&ca));
    let s = https_server_at(ip, cert, key);
    let ca_file = write_ca(&ca, "good");
    let spec = spec_of(
        s.addr,
        &native(Some("localhost"), Some(ca_file.clone()), 14),
        2,
    );
    let (out, session) = probes(&spec, 3);
    assert!(out.iter().all(|o| *o == Outcome::Good), "{out:?}");
    assert_eq!(session.http.connects, 1);
    assert_eq!(s.handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(session.http.cert, None, "a year left: no warning");
    // The address as the name (no check_host): in the certificate too.
    let spec = spec_of(s.addr, &native(None, Some(ca_file.clone()), 14), 2);
    assert_eq!(probes(&spec, 1).0[0], Outcome::Good);
    // A name the certificate does not have: refused when verifying ...
    let spec = spec_of(s.addr, &native(Some("other.example"), Some(ca_file), 14), 2);
    let r = reason(&probes(&spec, 1).0[0]);
    assert!(
        r.starts_with("TLS handshake with") && r.contains("not valid for name"),
        "{r}"
    );
    // ... and accepted without check_ca (no verification, as SSL_GET).
    let spec = spec_of(s.addr, &native(Some("other.example"), None, 14), 2);
    assert_eq!(probes(&spec, 1).0[0], Outcome::Good);
}

#[test]
fn self_signed_with_and_without_check_ca() {
    let (cert, key) = leaf(&["localhost"], 365, None);
    let s = https_server(cert, key);
    let spec = spec_of(s.addr, &native(Some("localhost"), None, 14), 2);
    assert_eq!(probes(&spec, 1).0[0], Outcome::Good);
    let other = ca();
    let ca_file = write_ca(&other, "other");
    let spec = spec_of(s.addr, &native(Some("localhost"), Some(ca_file), 14), 2);
    let r = reason(&probes(&spec, 1).0[0]);
    assert!(r.contains("UnknownIssuer"), "{r}");
    // A check_ca that cannot be read is the reason, not a crash.
    let spec = spec_of(
        s.addr,
        &native(Some("localhost"), Some("/nonexistent/ca.pem".into()), 14),
        2,
    );
    let r = reason(&probes(&spec, 1).0[0]);
    assert!(
        r.starts_with("cannot read check_ca /nonexistent/ca.pem"),
        "{r}"
    );
}

#[test]
fn a_certificate_expiring_soon_is_reported() {
    let (cert, key) = leaf(&["localhost"], 3, None);
    let s = https_server(cert, key);
    let spec = spec_of(s.addr, &native(None, None, 14), 2);
    let (out, session) = probes(&spec, 1);
    assert_eq!(
        out[0],
        Outcome::Good,
        "expiring is a warning, not a failure"
    );
    let note = session.http.cert.expect("a note");
    assert!((2..=3).contains(&note.days_left), "{note:?}");
    // With a shorter window there is no warning.
    let spec = spec_of(s.addr, &native(None, None, 2), 2);
    assert_eq!(probes(&spec, 1).1.http.cert, None);

    // Through nanny --lvsd: logged, and reported for lvsd's status.
    let mut n = Nanny::lvsd();
    n.send(&json!({"virtuals": [{
        "name": "tls", "port": s.addr.port(), "timeout": 1, "reentry": 1,
        "check": {"kind": "https"},
        "servers": [{"name": "r1", "address": s.addr.ip().to_string(), "port": s.addr.port(), "weight": 1}]
    }]}));
    let v = n.wait_for(Duration::from_secs(5), "certificate report", |v| {
        v.get("certificate").is_some()
    });
    assert_eq!(v["virtual"], "tls");
    assert_eq!(v["server"], "r1");
    let days = v["certificate"]["days_left"].as_i64().unwrap();
    assert!((2..=3).contains(&days), "{v}");
    n.wait_for(Duration::from_secs(5), "r1 up", |v| is(v, "r1", "up"));
    // Logged once, not at every probe.
    thread::sleep(Duration::from_millis(2500));
    let log = n.stderr_text();
    assert_eq!(
        log.matches("WARNING: the TLS certificate of").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_handshake_that_never_ends_is_bounded_by_timeout() {
    // Accepts the connection, reads the ClientHello, never answers.
    let l = TcpListener::bind((addr(), 0)).unwrap();
    let a = l.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming().flatten() {
            held.push(c);
        }
    });
    let spec = spec_of(a, &native(None, None, 14), 1);
    let t = Instant::now();
    let r = reason(&probes(&spec, 1).0[0]);
    assert_eq!(r, format!("TLS handshake with {a} timed out"));
    assert!(t.elapsed() >= Duration::from_millis(900));
    // A plain HTTP server where TLS is expected fails the handshake.
    let plain = Server::reply(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let r = reason(&probes(&spec_of(plain.addr, &native(None, None, 14), 1), 1).0[0]);
    assert!(
        r.starts_with(&format!("TLS handshake with {} failed", plain.addr)),
        "{r}"
    );
}
