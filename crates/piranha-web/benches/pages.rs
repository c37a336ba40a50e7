//! Server time of every page with 2,000 virtual servers of 10 real servers
//! each (20,000 real servers), lvsd's status for all of them on its
//! socket: the real server on loopback, logged in with a session, each
//! page asked for `ROUNDS` times; prints the median and the worst time of
//! each and whether it is under the target (300 ms). Then an action (a
//! (DE)ACTIVATE on the 1,234th virtual server from page 25 of a search)
//! must come back to the page holding that row.
//!
//! `cargo bench -p piranha-web --bench pages` (a release build). The time
//! is the whole exchange on loopback (read and parse lvs.cf, ask lvsd,
//! render, send), so it bounds the server's time from above.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const VIRTUALS: usize = 2000;
const SERVERS: usize = 10;
const ROUNDS: usize = 7;
const TARGET: Duration = Duration::from_millis(300);

fn lvs_cf() -> String {
    let mut t = String::from(
        "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nbackup_active = 1\nbackup = 10.0.0.2\n\
         heartbeat = 1\nheartbeat_port = 539\nkeepalive = 6\ndeadtime = 18\nnetwork = direct\n",
    );
    for v in 0..VIRTUALS {
        let (a, b) = (v / 250, v % 250 + 1);
        let _ = write!(
            t,
            "virtual v{v} {{\n     active = 1\n     address = 10.1.{a}.{b} eth0:{v}\n     port = 80\n\
             \x20    send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n     expect = \"HTTP\"\n     scheduler = wlc\n\
             \x20    protocol = tcp\n     timeout = 6\n     reentry = 15\n"
        );
        for s in 0..SERVERS {
            let _ = write!(
                t,
                "     server s{s} {{\n         address = 10.2.{a}.{}\n         active = 1\n         weight = 1\n     }}\n",
                (b + s) % 250 + 1
            );
        }
        t.push_str("}\n");
    }
    t
}

fn lvsd_status() -> lvs_status::LvsdStatus {
    use lvs_status::lvsd as l;
    let services = (0..VIRTUALS)
        .map(|v| {
            let (a, b) = (v / 250, v % 250 + 1);
            l::Service {
                name: format!("v{v}"),
                protocol: "tcp".into(),
                address: Some(format!("10.1.{a}.{b}").parse().expect("ip")),
                port: 80,
                fwmark: None,
                scheduler: "wlc".into(),
                persistent: 0,
                in_kernel: true,
                stats: l::Stats::default(),
                servers: (0..SERVERS)
                    .map(|s| {
                        let down = (v + s) % 97 == 0;
                        l::Server {
                            server: format!("s{s}"),
                            address: format!("10.2.{a}.{}", (b + s) % 250 + 1)
                                .parse()
                                .expect("ip"),
                            port: 80,
                            state: if down {
                                l::ServerState::Down
                            } else {
                                l::ServerState::Up
                            },
                            weight: i32::from(!down),
                            in_kernel: !down,
                            reason: down.then(|| "connection refused".to_string()),
                            since_ms: Some(60_000),
                            report_age_ms: Some(60_000),
                            active_conns: 3,
                            inactive_conns: 7,
                            stats: l::Stats {
                                cps: 12,
                                ..l::Stats::default()
                            },
                            certificate: None,
                            draining: false,
                        }
                    })
                    .collect(),
                quorum: None,
            }
        })
        .collect();
    l::LvsdStatus { services }
}

/// Answers every status request on `path` with `line` until the process
/// ends.
fn serve_status(path: &std::path::Path, line: String) {
    use std::io::{BufRead, BufReader, Write};
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path).expect("bind lvsd socket");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(&s);
            let mut req = String::new();
            let _ = r.read_line(&mut req);
            let mut s = &s;
            let _ = s.write_all(line.as_bytes());
        }
    });
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then
    // only check that it runs, with fewer rounds.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        ROUNDS
    } else {
        1
    };
    let text = lvs_cf();
    let env = EnvBuilder {
        config_text: Some(text.clone()),
        ..EnvBuilder::new("bench-pages")
    }
    .start();
    let status = serde_json::to_string(&lvsd_status()).expect("json") + "\n";
    println!(
        "{VIRTUALS} virtual servers x {SERVERS} real servers: lvs.cf {} KiB, lvsd status {} KiB",
        text.len() / 1024,
        status.len() / 1024
    );
    serve_status(&env.lvsd_socket, status);
    let c = login(env.addr, PASSWORD).expect("login");
    let pages = [
        "/control",
        "/control?page=40",
        "/control?problems=1",
        "/control?q=v1999",
        "/global",
        "/redundancy",
        "/virtual",
        "/virtual?page=40",
        "/virtual?q=10.1.4.",
        "/virtual?problems=1",
        "/virtual?at=v1234",
        "/virtual/v1000/edit",
        "/virtual/v1000/real",
        "/virtual/v1000/real/s5/edit",
        "/virtual/v1000/scripts",
        "/failover",
        "/metrics",
        "/api/v1/status",
    ];
    let mut worst_page = Duration::ZERO;
    println!(
        "{:<32} {:>10} {:>10} {:>9}",
        "page", "median ms", "worst ms", "KiB"
    );
    for path in pages {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let r = c.get(path);
            times.push(t.elapsed());
            assert_eq!(
                r.status,
                200,
                "{path}: {}",
                &r.body[..r.body.len().min(400)]
            );
            size = r.body.len();
        }
        times.sort();
        let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
        worst_page = worst_page.max(worst);
        println!(
            "{path:<32} {:>10.1} {:>10.1} {:>9} {}",
            median.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
            size / 1024,
            if worst < TARGET { "ok" } else { "OVER 300 ms" }
        );
    }
    // An action on page 25 of a search comes back there, at the row.
    let v = c.version("/virtual?q=v1&page=25");
    let t = Instant::now();
    let r = c.post_form(
        "/virtual",
        &v,
        &[
            ("virtual_service", "(DE)ACTIVATE"),
            ("selected", "v1234"),
            ("list_q", "v1"),
            ("list_page", "25"),
            // (DE)ACTIVATE asks for a confirmation first: this is the
            // CONFIRM of that page.
            ("confirm", "1"),
        ],
    );
    let save = t.elapsed();
    let location = r.header("location").unwrap_or_default().to_string();
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        location.starts_with("/virtual?q=v1&page=25&at=v1234") && location.ends_with("#row-v1234"),
        "{location}"
    );
    let t = Instant::now();
    let back = c.get(&location);
    let shown = t.elapsed();
    assert!(
        back.body.contains("<tr id=\"row-v1234\">"),
        "the row is not on the page"
    );
    println!(
        "(DE)ACTIVATE v1234 from a search's page: save {:.1} ms, back at {location} in {:.1} ms",
        save.as_secs_f64() * 1e3,
        shown.as_secs_f64() * 1e3
    );
    println!(
        "slowest page: {:.1} ms ({})",
        worst_page.as_secs_f64() * 1e3,
        if worst_page < TARGET {
            "every page under 300 ms"
        } else {
            "OVER the 300 ms target"
        }
    );
}
