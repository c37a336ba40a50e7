//! What a Prometheus scrape of `/metrics` with HTTP Basic auth costs: the
//! first request checks the password (bcrypt at the cost piranha-passwd
//! writes), the following ones find the verified credential in the cache.
//! Prints the figures; run with `cargo bench -p piranha-web --bench
//! basic_scrape`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};

fn scrape(env: &Env, auth: &str) -> (u16, Duration) {
    let t = Instant::now();
    let r = request(env.addr, "GET", "/metrics", &[("Authorization", auth)], b"");
    (r.status, t.elapsed())
}

fn main() {
    let env = EnvBuilder::new("bench-basic").start();
    let cost = piranha_web::htpasswd::BCRYPT_COST;
    let h = piranha_web::htpasswd::hash_with_cost(PASSWORD, cost).expect("hash");
    std::fs::write(&env.passwd, format!("piranha:{h}\n")).expect("write passwd");
    let auth = basic(PASSWORD);
    let (status, first) = scrape(&env, &auth);
    assert_eq!(status, 200, "first scrape");
    let mut rest: Vec<Duration> = (0..200)
        .map(|_| {
            let (status, took) = scrape(&env, &auth);
            assert_eq!(status, 200);
            took
        })
        .collect();
    rest.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("GET /metrics with HTTP Basic (bcrypt cost {cost}), one connection per request:");
    println!("  first (password checked): {:.1} ms", ms(first));
    println!(
        "  next 200 (cached): median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(rest[rest.len() / 2]),
        ms(rest[rest.len() * 99 / 100]),
        ms(rest[rest.len() - 1])
    );
    // A new password drops the cache: the next scrape pays the check again.
    let h = piranha_web::htpasswd::hash_with_cost("another one", cost).expect("hash");
    std::fs::write(&env.passwd, format!("piranha:{h}\n")).expect("write passwd");
    let (status, after) = scrape(&env, &basic("another one"));
    assert_eq!(status, 200);
    println!(
        "  after a password change (checked again): {:.1} ms",
        ms(after)
    );
}
