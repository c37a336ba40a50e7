//! The web tool's answers to the attacks of issue 18: logins checked in
//! parallel, requests that never finish, sessions that outlive a password
//! change, and an admin locked out by someone else's failures.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Replaces the password file with one whose hash costs more, so that each
/// check takes long enough for parallel attempts to overlap.
fn slow_password(env: &Env, cost: u32) {
    let h = piranha_web::htpasswd::hash_with_cost(PASSWORD, cost).expect("hash");
    std::fs::write(&env.passwd, format!("piranha:{h}\n")).expect("write passwd");
}

/// A login from a given loopback source address (127.x.y.z); the status.
fn login_status_from(src: std::net::Ipv4Addr, addr: SocketAddr, password: &str) -> u16 {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    let SocketAddr::V4(dst) = addr else {
        panic!("IPv4 server address expected");
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    let local = SockaddrIn::from(std::net::SocketAddrV4::new(src, 0));
    bind(fd.as_raw_fd(), &local).unwrap_or_else(|e| panic!("bind {src}: {e}"));
    connect(fd.as_raw_fd(), &SockaddrIn::from(dst)).expect("connect");
    let mut s = TcpStream::from(fd);
    let body = urlencode(&[("user", "piranha"), ("password", password)]);
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(body.as_bytes()).expect("body");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_response(&buf).status
}

/// I18 item 3: 100 wrong passwords sent at once from one address. The
/// attempt is counted before its password is checked, so only the first
/// five are checked (401) and the rest wait (429). It used to check all
/// 100: the lock was looked at before the bcrypt and the failure written
/// after it.
#[test]
fn parallel_wrong_passwords_are_throttled() {
    let env = EnvBuilder::new("par-throttle").start();
    slow_password(&env, 8);
    let addr = env.addr;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                login_status_from([127, 0, 0, 1].into(), addr, &format!("wrong{i}"))
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 100, "{statuses:?}");
    assert!(
        checked <= 5,
        "{checked} of 100 parallel wrong passwords checked"
    );
    // And the same with HTTP Basic.
    let env = EnvBuilder::new("par-throttle-basic").start();
    slow_password(&env, 8);
    let addr = env.addr;
    let threads: Vec<_> = (0..50)
        .map(|i| {
            std::thread::spawn(move || {
                request(
                    addr,
                    "GET",
                    "/metrics",
                    &[("Authorization", &basic(&format!("wrong{i}")))],
                    b"",
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "Basic: {checked} of 50 checked: {statuses:?}");
}
