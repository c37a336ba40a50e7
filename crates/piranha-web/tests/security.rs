//! The web tool's answers to the attacks of issue 18: logins checked in
//! parallel, requests that never finish, sessions that outlive a password
//! change, and an admin locked out by someone else's failures.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Replaces the password file with one whose hash costs more, so that each
/// check takes long enough for parallel attempts to overlap.
fn slow_password(env: &Env, cost: u32) {
    let h = piranha_web::htpasswd::hash_with_cost(PASSWORD, cost).expect("hash");
    std::fs::write(&env.passwd, format!("piranha:{h}\n")).expect("write passwd");
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
    // Connections beyond the per-address cap are closed unanswered (0).
    let capped = statuses.iter().filter(|s| **s == 0).count();
    assert_eq!(checked + refused + capped, 100, "{statuses:?}");
    assert!(refused > 0, "{statuses:?}");
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

/// Reads until the server closes the connection (or `limit` passes);
/// what it sent and when it closed.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Resp, Duration) {
    let t = std::time::Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    (parse_response(&buf), t.elapsed())
}

/// The bound on a whole request's body: BODY_TIMEOUT after the head, with
/// a margin for a loaded machine.
fn body_bound() -> Duration {
    piranha_web::server::listener::BODY_TIMEOUT + Duration::from_secs(3)
}

/// I18 item 4: `POST /login` announcing 1000 bytes and sending none used
/// to stay open 45 s (and as long as the client liked); now it is answered
/// 408 and closed once the body time is up. So is a body trickled a byte a
/// second, and a body that is merely slow but complete is served.
#[test]
fn request_bodies_are_bounded_in_time() {
    let env = EnvBuilder::new("body-time").start();
    let head = |len: usize| {
        format!(
            "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\n\r\n",
            env.addr
        )
    };
    // No body at all.
    let mut silent = TcpStream::connect(env.addr).expect("connect");
    silent.write_all(head(1000).as_bytes()).expect("head");
    // A body trickled, a byte every 300 ms, on another thread.
    let addr = env.addr;
    let trickle_head = head(1000);
    let trickler = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(trickle_head.as_bytes()).expect("head");
        let t = std::time::Instant::now();
        let mut sent = 0;
        while t.elapsed() < Duration::from_secs(40) {
            if s.write_all(b"a").is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(300));
            // Stop writing once the server has answered.
            s.set_nonblocking(true).expect("nonblocking");
            let mut b = [0u8; 1];
            let answered =
                !matches!((&s).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
            s.set_nonblocking(false).expect("blocking");
            if answered {
                break;
            }
        }
        (t.elapsed(), sent)
    });
    let (r, took) = read_until_closed(&mut silent, Duration::from_secs(40));
    assert_eq!(r.status, 408, "no body: {r:?}");
    assert!(took < body_bound(), "no body: closed after {took:?}");
    let (took, sent) = trickler.join().expect("trickler");
    assert!(
        took < body_bound() + Duration::from_secs(1),
        "trickled body: still open after {took:?} ({sent} bytes)"
    );
    assert!(sent < 1000, "the trickled body was never cut off");
    // A complete body sent in two parts a second apart is served.
    let body = urlencode(&[("user", "piranha"), ("password", PASSWORD)]);
    let mut s = TcpStream::connect(env.addr).expect("connect");
    s.write_all(head(body.len()).as_bytes()).expect("head");
    let (a, b) = body.as_bytes().split_at(5);
    s.write_all(a).expect("part");
    std::thread::sleep(Duration::from_secs(1));
    s.write_all(b).expect("part");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).expect("answer");
    assert_eq!(parse_response(&buf[..n]).status, 303, "slow but complete");
}

/// I18 item 4: connections are counted per client address, so one address
/// holding many unfinished requests leaves room for the others: of 100
/// held open from one address only MAX_CONNECTIONS_PER_CLIENT stay, and
/// another address is served at once.
#[test]
fn one_address_cannot_take_every_connection() {
    use piranha_web::server::listener::MAX_CONNECTIONS_PER_CLIENT;
    let env = EnvBuilder::new("per-client").start();
    let hog: std::net::Ipv4Addr = [127, 0, 4, 1].into();
    let mut held: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut s = connect_from(hog, env.addr);
            let _ = s.write_all(
                format!("GET /control HTTP/1.1\r\nHost: {}\r\nX-Slow: ", env.addr).as_bytes(),
            );
            s
        })
        .collect();
    // The extra ones are closed by the server straight away.
    std::thread::sleep(Duration::from_millis(500));
    let open = held
        .iter_mut()
        .filter(|s| {
            s.set_nonblocking(true).expect("nonblocking");
            let mut b = [0u8; 1];
            matches!((&**s).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    assert_eq!(
        open, MAX_CONNECTIONS_PER_CLIENT,
        "connections kept from one address"
    );
    // Another address is served.
    let r = request_from([127, 0, 4, 2].into(), env.addr, "GET", "/login", &[], b"");
    assert_eq!(r.status, 200);
    // Once the hog lets go, it may connect again.
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let r = request_from(hog, env.addr, "GET", "/login", &[], b"");
    assert_eq!(r.status, 200);
}

fn set_password(env: &Env, password: &str) {
    let h = piranha_web::htpasswd::hash_with_cost(password, 4).expect("hash");
    std::fs::write(&env.passwd, format!("piranha:{h}\n")).expect("write passwd");
}

/// I18 item 5: a password change ends the sessions opened with the old
/// one (a stolen cookie used to last 12 h); the new password logs in.
#[test]
fn a_password_change_ends_existing_sessions() {
    let env = EnvBuilder::new("pw-change").start();
    let a = login(env.addr, PASSWORD).expect("login");
    assert_eq!(a.get("/control").status, 200);
    set_password(&env, "a new one");
    assert_eq!(a.get("/control").status, 401, "the old session lives on");
    // Putting the old password back does not revive it either: the old
    // hash is gone, a new one has a new salt.
    set_password(&env, PASSWORD);
    assert_eq!(a.get("/control").status, 401);
    let b = login(env.addr, PASSWORD).expect("login with the new entry");
    assert_eq!(b.get("/control").status, 200);
}

/// I16 item 9: a verified Basic credential is remembered, but only for
/// the password entry it was checked against; wrong passwords are still
/// checked and throttled as before, and never remembered.
#[test]
fn cached_basic_credentials_follow_the_password_file() {
    let env = EnvBuilder::new("basic-cache").start();
    let get =
        |auth: &str| request(env.addr, "GET", "/metrics", &[("Authorization", auth)], b"").status;
    let good = basic(PASSWORD);
    assert_eq!(get(&good), 200);
    assert_eq!(get(&good), 200, "cached");
    // The password changes: the cached header no longer works.
    set_password(&env, "rotated");
    assert_eq!(get(&good), 401, "a cached credential outlived the password");
    assert_eq!(get(&basic("rotated")), 200);
    // Wrong passwords: five checked, then 429, cached or not.
    let wrong: Vec<u16> = (0..8).map(|i| get(&basic(&format!("bad{i}")))).collect();
    assert_eq!(wrong[..5], [401; 5], "{wrong:?}");
    assert!(wrong[5..].iter().all(|s| *s == 429), "{wrong:?}");
    // The same wrong header again is not remembered as good.
    assert_eq!(get(&basic("bad0")), 429);
}
