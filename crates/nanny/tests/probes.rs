//! Probes against real listeners on loopback (FLT-S02, S03).
//! Every probe must end within its timeout + 100 ms (FLT-S02's bound).

mod common;

use common::*;
use nanny::check::{CheckKind, CheckSpec};
use nanny::expect::Expect;
use nanny::protocol::Protocol;
use nanny::state::Outcome;
use std::io::Write;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spec(addr: SocketAddr, protocol: Protocol, timeout_s: u64, kind: CheckKind) -> CheckSpec {
    CheckSpec {
        protocol,
        addr,
        timeout: Duration::from_secs(timeout_s),
        kind,
    }
}

fn tcp(addr: SocketAddr, send: Option<&[u8]>, expect: Expect) -> CheckSpec {
    spec(
        addr,
        Protocol::Tcp,
        2,
        CheckKind::Connect {
            send: send.map(|s| s.to_vec()),
            expect,
        },
    )
}

fn prefix(s: &str) -> Expect {
    Expect::Prefix(s.as_bytes().to_vec())
}

/// Run a probe, check it ends in time, return outcome and duration.
fn run(spec: &CheckSpec) -> (Outcome, Duration) {
    let t = Instant::now();
    let o = rt().block_on(nanny::probe::probe(spec));
    let d = t.elapsed();
    assert!(
        d < spec.timeout + Duration::from_millis(100),
        "probe took {d:?} (timeout {:?}): {o:?}",
        spec.timeout
    );
    (o, d)
}

fn bad(o: &Outcome) -> &str {
    match o {
        Outcome::Bad(r) => r,
        Outcome::Good => panic!("expected a failure"),
    }
}

#[test]
fn connect_only_good_and_refused() {
    let s = Server::hang();
    let (o, d) = run(&tcp(s.addr, None, Expect::Nothing));
    assert_eq!(o, Outcome::Good);
    assert!(d < Duration::from_millis(500));
    let (o, _) = run(&tcp(refused(), None, Expect::Nothing));
    assert_eq!(bad(&o), "connection refused");
}

#[test]
fn http_default_against_a_web_server() {
    let s = Server::start(|mut c| {
        drain(&mut c);
        let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\nhello");
    });
    let (o, _) = run(&tcp(
        s.addr,
        Some(b"GET / HTTP/1.0\r\n\r\n"),
        prefix("HTTP"),
    ));
    assert_eq!(o, Outcome::Good);
}

#[test]
fn accept_and_hang_times_out() {
    let s = Server::hang();
    let (o, d) = run(&tcp(
        s.addr,
        Some(b"GET / HTTP/1.0\r\n\r\n"),
        prefix("HTTP"),
    ));
    assert!(bad(&o).contains("timed out"), "{o:?}");
    assert!(d >= Duration::from_millis(1900), "{d:?}");
}

#[test]
fn one_byte_per_second_is_bounded_by_the_timeout() {
    let s = Server::start(|mut c| {
        for b in b"HTTP/1.0 200 OK\r\n" {
            if c.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_secs(1));
        }
    });
    let (o, _) = run(&tcp(s.addr, None, prefix("HTTP/1.0 200")));
    let r = bad(&o);
    assert!(r.contains("timed out after reading \"HT"), "{r}");
    // but a short expect is satisfied by the first byte
    let (o, _) = run(&tcp(s.addr, None, prefix("H")));
    assert_eq!(o, Outcome::Good);
}

#[test]
fn hundred_megabytes_is_not_read() {
    let s = Server::start(|mut c| {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            if c.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    // a regex that never matches: reading stops at 64 KiB, long before the timeout
    let re = Expect::compile(Some("HTTP"), true, false).unwrap();
    let (o, d) = run(&tcp(s.addr, None, re));
    assert!(bad(&o).starts_with("expect mismatch: read \"xxxx"), "{o:?}");
    assert!(d < Duration::from_millis(1500), "{d:?}");
    // a prefix mismatch is decided on the first bytes
    let (o, _) = run(&tcp(s.addr, None, prefix("HTTP")));
    assert!(bad(&o).starts_with("expect mismatch"), "{o:?}");
}

#[test]
fn reset_mid_answer() {
    let s = Server::start(|mut c| {
        let _ = c.write_all(b"HT");
        thread::sleep(Duration::from_millis(100));
        // SO_LINGER 0: close sends RST
        let l = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        unsafe {
            use std::os::fd::AsRawFd;
            libc::setsockopt(
                c.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &l as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as u32,
            );
        }
        drop(c);
    });
    let (o, d) = run(&tcp(s.addr, None, prefix("HTTP/1.0 200")));
    let r = bad(&o);
    assert!(r.contains("reset") || r.contains("closed"), "{r}");
    assert!(d < Duration::from_secs(1));
}

#[test]
fn split_expect_matches() {
    let s = Server::start(|mut c| {
        let _ = c.write_all(b"HT");
        let _ = c.flush();
        thread::sleep(Duration::from_millis(300));
        let _ = c.write_all(b"TP/1.0 200 OK\r\n");
    });
    let (o, _) = run(&tcp(s.addr, None, prefix("HTTP/1.0 200")));
    assert_eq!(o, Outcome::Good);
    let re = Expect::compile(Some("^HTTP/1\\.[01] 200"), true, false).unwrap();
    let (o, _) = run(&tcp(s.addr, None, re));
    assert_eq!(o, Outcome::Good);
}

#[test]
fn malformed_status_lines_are_down_without_panic() {
    for reply in [
        &b"HTTP/1.0 99999999999999999999 X"[..],
        b"HTTP/1.0 -200",
        b"\x00\xff\xfe",
        b"HTTP/1.0 200",
    ] {
        let s = Server::reply(reply);
        let re = Expect::compile(Some("^HTTP/1\\.[01] 200 OK\r\n"), true, false).unwrap();
        let (o, _) = run(&tcp(s.addr, None, re));
        assert!(matches!(o, Outcome::Bad(_)), "{reply:?}");
    }
}

#[test]
fn wildcard_expect() {
    let s = Server::reply(b"?");
    assert_eq!(run(&tcp(s.addr, None, Expect::AnyByte)).0, Outcome::Good);
    let s = Server::reply(b"");
    assert!(bad(&run(&tcp(s.addr, None, Expect::AnyByte)).0).contains("closed"));
}

#[test]
fn udp_without_expect() {
    // a silent server: success after the settle time (no ICMP error)
    let (a, stop) = udp_server(None);
    let sp = spec(
        a,
        Protocol::Udp,
        2,
        CheckKind::Connect {
            send: Some(b"ping".to_vec()),
            expect: Expect::Nothing,
        },
    );
    let (o, d) = run(&sp);
    assert_eq!(o, Outcome::Good);
    assert!(d <= Duration::from_millis(1500), "{d:?}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // a closed port: ICMP port unreachable -> failure
    let closed = {
        let s = std::net::UdpSocket::bind((addr(), 0)).unwrap();
        s.local_addr().unwrap()
    };
    let sp = spec(
        closed,
        Protocol::Udp,
        2,
        CheckKind::Connect {
            send: None,
            expect: Expect::Nothing,
        },
    );
    let (o, _) = run(&sp);
    assert!(bad(&o).contains("refused"), "{o:?}");
}

#[test]
fn udp_with_expect() {
    let (a, _stop) = udp_server(Some(b"PONG"));
    let sp = spec(
        a,
        Protocol::Udp,
        2,
        CheckKind::Connect {
            send: Some(b"PING".to_vec()),
            expect: prefix("PONG"),
        },
    );
    assert_eq!(run(&sp).0, Outcome::Good);
    let sp = spec(
        a,
        Protocol::Udp,
        2,
        CheckKind::Connect {
            send: Some(b"PING".to_vec()),
            expect: prefix("PANG"),
        },
    );
    assert!(bad(&run(&sp).0).starts_with("expect mismatch"));
    let (a, _stop2) = udp_server(None);
    let sp = spec(
        a,
        Protocol::Udp,
        1,
        CheckKind::Connect {
            send: Some(b"PING".to_vec()),
            expect: prefix("PONG"),
        },
    );
    assert!(bad(&run(&sp).0).contains("timed out"));
}

fn program(argv: &[&str], expect: Expect, timeout_s: u64) -> CheckSpec {
    spec(
        "127.0.0.1:80".parse().unwrap(),
        Protocol::Tcp,
        timeout_s,
        CheckKind::Program {
            // Probe-level tests: the allowlist is exercised by the daemon
            // tests; the ownership rule still applies when the probe runs.
            program: exec_policy::trust::locate(argv[0]).unwrap_or_else(|| argv[0].into()),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            expect,
        },
    )
}

#[test]
fn hanging_program_is_killed_with_its_process_group() {
    let tag = 100000 + std::process::id() % 100000;
    let p = script(
        "hang.sh",
        &format!("sleep {tag}1 &\nsleep {tag}2 &\nsleep {tag}3\n"),
    );
    let (o, d) = run(&program(&[&p], prefix("OK"), 1));
    assert!(
        bad(&o).starts_with("timeout running the following"),
        "{o:?}"
    );
    assert!(d >= Duration::from_millis(950));
    thread::sleep(Duration::from_millis(200));
    for n in 1..=3 {
        let left = processes_with(&format!("sleep {tag}{n}"));
        assert!(
            left.is_empty(),
            "orphan survived: sleep {tag}{n} pids {left:?}"
        );
    }
}

#[test]
fn background_child_of_a_successful_program_does_not_survive() {
    let tag = 200000 + std::process::id() % 100000;
    let p = script("bg.sh", &format!("sleep {tag} &\necho OK\n"));
    let (o, d) = run(&program(&[&p], prefix("OK"), 3));
    assert_eq!(o, Outcome::Good);
    assert!(d < Duration::from_secs(1), "{d:?}");
    thread::sleep(Duration::from_millis(200));
    assert!(processes_with(&format!("sleep {tag}")).is_empty());
}

#[test]
fn noisy_program_is_bounded() {
    let p = script("noisy.sh", "head -c 1048576 /dev/zero | tr '\\0' x\necho");
    let (o, d) = run(&program(&[&p], prefix("OK"), 3));
    assert!(bad(&o).starts_with("Trouble. Received results"), "{o:?}");
    assert!(d < Duration::from_secs(2), "{d:?}");
    // a noisy program ending with the expected text after 1 MB is still not
    // read beyond 64 KiB: mismatch, but no hang
    let p = script("noisy-ok.sh", "head -c 1048576 /dev/zero\necho OK");
    let (o, _) = run(&program(&[&p], Expect::AnyByte, 3));
    assert_eq!(o, Outcome::Good);
}

#[test]
fn failing_program_is_a_failure() {
    let (o, _) = run(&program(&["false"], prefix("OK"), 2));
    assert!(
        bad(&o).starts_with("send_program exited with status 1"),
        "{o:?}"
    );
    let (o, _) = run(&program(&["false"], Expect::Nothing, 2));
    assert!(matches!(o, Outcome::Bad(_)));
    let p = script("killed.sh", "kill -9 $$");
    let (o, _) = run(&program(&[&p], Expect::Nothing, 2));
    assert!(bad(&o).contains("signal 9"), "{o:?}");
    let (o, _) = run(&program(&["/nonexistent/check"], Expect::Nothing, 2));
    assert!(matches!(o, Outcome::Bad(_)));
    assert_eq!(
        run(&program(&["true"], Expect::Nothing, 2)).0,
        Outcome::Good
    );
}

#[test]
fn program_tokens_and_expect() {
    let p = script("echo.sh", "echo \"$1:$2\"");
    let argv = nanny::check::program_argv(&format!("{p} %h %p"), "10.1.2.3".parse().unwrap(), 8080);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    assert_eq!(
        run(&program(&argv, prefix("10.1.2.3:8080"), 2)).0,
        Outcome::Good
    );
    assert!(matches!(
        run(&program(&argv, prefix("10.1.2.3:80"), 2)).0,
        Outcome::Bad(_)
    ));
    // Piranha: no expect and some output = failure
    assert!(matches!(
        run(&program(&argv, Expect::Nothing, 2)).0,
        Outcome::Bad(_)
    ));
}

#[test]
fn untrusted_program_is_refused() {
    let d = script_dir().join("loose");
    std::fs::create_dir_all(&d).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    let p = d.join("check.sh");
    std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (o, _) = run(&program(&[p.to_str().unwrap()], Expect::Nothing, 2));
    assert!(bad(&o).starts_with("refusing to run"), "{o:?}");
}

#[test]
fn many_concurrent_probes_end_in_time() {
    // 200 hanging servers probed at once: all end by the deadline
    let servers: Vec<Server> = (0..50).map(|_| Server::hang()).collect();
    let specs: Vec<CheckSpec> = servers
        .iter()
        .map(|s| {
            let mut sp = tcp(s.addr, Some(b"x"), prefix("HTTP"));
            sp.timeout = Duration::from_secs(1);
            sp
        })
        .collect();
    let t = Instant::now();
    let rt = rt();
    let outs = rt.block_on(async {
        let mut v = Vec::new();
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let hs: Vec<_> = specs
                    .iter()
                    .cloned()
                    .map(|s| tokio::task::spawn_local(async move { nanny::probe::probe(&s).await }))
                    .collect();
                for h in hs {
                    v.push(h.await.unwrap());
                }
            })
            .await;
        v
    });
    let d = t.elapsed();
    assert!(d < Duration::from_millis(2000), "{d:?}");
    assert!(outs.iter().all(|o| matches!(o, Outcome::Bad(_))));
}

/// A listener whose accept queue is full and never drained: further SYNs
/// are dropped, so a connect neither succeeds nor fails before the timeout.
fn full_backlog() -> (SocketAddr, Vec<std::net::TcpStream>, std::os::fd::OwnedFd) {
    use std::os::fd::{AsRawFd, OwnedFd};
    let l = std::net::TcpListener::bind((addr(), 0)).unwrap();
    let a = l.local_addr().unwrap();
    let fd: OwnedFd = l.into();
    // SAFETY: plain syscall on a listening socket we own.
    assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 0) }, 0);
    let mut held = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&a, Duration::from_millis(300)) {
            Ok(c) => held.push(c),
            Err(_) => break,
        }
    }
    (a, held, fd)
}

#[test]
fn pooled_connect_probes_reuse_their_socket_after_every_outcome() {
    let s = Server::hang();
    let gone = refused();
    let (stuck, _held, _l) = full_backlog();
    let connect_only = |a: SocketAddr| {
        let mut sp = tcp(a, None, Expect::Nothing);
        sp.timeout = Duration::from_secs(1);
        sp
    };
    let rt = rt();
    rt.block_on(async {
        let pool = nanny::probe::SocketPool::new();
        let p = |a| {
            let sp = connect_only(a);
            let pool = &pool;
            async move {
                let t = Instant::now();
                let o = nanny::probe::probe_pooled(&sp, pool, &mut Default::default()).await;
                (o, t.elapsed())
            }
        };
        let before = s.accepts.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(p(s.addr).await.0, Outcome::Good);
        assert_eq!(pool.idle(), 1);
        let (o, _) = p(gone).await;
        assert_eq!(bad(&o), "connection refused");
        assert_eq!(pool.idle(), 1, "the socket is kept after a refusal");
        assert_eq!(p(s.addr).await.0, Outcome::Good, "reused after a refusal");
        // A connect still in progress at the deadline: timed out, socket
        // reset and reused.
        let (o, d) = p(stuck).await;
        assert!(bad(&o).contains("timed out"), "{o:?}");
        assert!(
            d >= Duration::from_millis(950) && d < Duration::from_secs(2),
            "{d:?}"
        );
        assert_eq!(pool.idle(), 1);
        assert_eq!(p(s.addr).await.0, Outcome::Good, "reused after a timeout");
        assert_eq!(bad(&p(gone).await.0), "connection refused");
        // The probes ended at the server's SYN-ACK (the final ACK held
        // back, a reset sent instead): the server's application never got
        // a connection to accept, not even after the kernel's delayed-ACK
        // timer (200 ms) would have fired.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            s.accepts.load(std::sync::atomic::Ordering::SeqCst) - before,
            0,
            "connect-only probes must not make connections on the server"
        );
        // Concurrent probes take several sockets; all come back.
        let many: Vec<_> = (0..20).map(|_| p(s.addr)).collect();
        let outs = futures_join(many).await;
        assert!(outs.iter().all(|o| o.0 == Outcome::Good), "{outs:?}");
        assert!((1..=20).contains(&pool.idle()), "{}", pool.idle());
        // Sockets left idle after the burst are closed once they age.
        let idle_limit = nanny::probe::SocketPool::IDLE_LIMIT;
        tokio::time::sleep(idle_limit + Duration::from_millis(100)).await;
        assert_eq!(p(s.addr).await.0, Outcome::Good);
        assert_eq!(
            pool.idle(),
            1,
            "idle sockets older than {idle_limit:?} closed"
        );
    });
    // The server is gone: the pooled path reports it like a fresh socket.
    let addr = s.addr;
    s.stop();
    let pool = nanny::probe::SocketPool::new();
    let o = rt.block_on(nanny::probe::probe_pooled(
        &connect_only(addr),
        &pool,
        &mut Default::default(),
    ));
    assert_eq!(bad(&o), "connection refused");
}

/// Await futures concurrently on the current task (they borrow the pool,
/// so they cannot be spawned; no extra dependency for a join).
async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut fs: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = fs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, d) in fs.iter_mut().zip(done.iter_mut()) {
            if d.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *d = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}
