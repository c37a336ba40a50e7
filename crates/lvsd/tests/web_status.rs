//! The web tool reads lvsd's status as lvsd builds it: nanny's engine (the
//! real checks, in this process) probes real listeners on loopback, its
//! report lines go through lvsd's `Health`, desired table and status
//! builder, and the document is served with the status socket's own loop
//! (`lvs_status::server`). piranha-web, on that socket, must show on its
//! list pages and on CONTROL/MONITORING the configured flag beside the
//! live state: up, down with nanny's reason, quiesced.
//!
//! The host has no IPVS, so the kernel's table is the one lvsd would have
//! programmed (the desired table); everything else is lvsd's and nanny's
//! own code. The guests (tests/vm) run lvsd against a real kernel.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use lvsd::desired::{desired, Monitor};
use lvsd::health::{parse_report, Health};
use lvsd::table::Table;
use nanny::protocol::{Job, Report};

const PASSWORD: &str = "lvsd web test";

/// A port nothing listens on (connection refused).
fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// A listener that accepts and closes connections until the test ends.
fn accepting() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            drop(s);
        }
    });
    port
}

fn get(addr: SocketAddr, path: &str) -> String {
    use base64::Engine as _;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("piranha:{PASSWORD}"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    assert!(text.starts_with("HTTP/1.1 200"), "{path}: {text}");
    text
}

/// Runs nanny's engine on `job` until the first round of checks is over;
/// the report lines it wrote.
fn nanny_reports(job: Job) -> Vec<String> {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let rt = nanny::service::runtime();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let sink: nanny::engine::Sink = Box::new(move |r: &Report| {
                let _ = tx.send(r.to_line());
            });
            let engine = nanny::engine::Engine::new(sink);
            nanny::engine::reconcile(&engine, &job);
            tokio::time::sleep(Duration::from_secs(20)).await;
        });
    });
    let mut lines = Vec::new();
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let done = line.contains("initial-round-done");
        lines.push(line);
        if done {
            return lines;
        }
    }
    panic!("nanny's first round did not end: {lines:?}");
}

#[test]
fn web_tool_shows_lvsd_and_nanny_state_beside_the_configuration() {
    let (up, down, q) = (accepting(), refused_port(), refused_port());
    let text = format!(
        "serial_no = 3\nprimary = 10.0.0.1\nservice = lvs\nnetwork = direct\n\
         virtual web {{\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 7000\n     timeout = 1\n\
         \x20    server r1 {{\n         address = 127.0.0.1\n         port = {up}\n         active = 1\n     }}\n\
         \x20    server r2 {{\n         address = 127.0.0.1\n         port = {down}\n         active = 1\n     }}\n\
         \x20    server r3 {{\n         address = 127.0.0.1\n         port = {up}\n         active = 0\n     }}\n}}\n\
         virtual q {{\n     active = 1\n     address = 10.0.0.101 eth0:2\n     port = 7001\n     timeout = 1\n     quiesce_server = 1\n\
         \x20    server a {{\n         address = 127.0.0.1\n         port = {q}\n         active = 1\n     }}\n}}\n"
    );
    let config = match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };

    // nanny checks, lvsd listens.
    let groups = lvsd::group::groups(&config);
    let job = Job {
        virtuals: groups
            .iter()
            .flat_map(|g| g.job.virtuals.iter().cloned())
            .collect(),
    };
    let watched: Vec<String> = job.virtuals.iter().map(|v| v.name.clone()).collect();
    let mut health = Health::new();
    for line in nanny_reports(job) {
        let report = parse_report(&line)
            .expect("not blank")
            .unwrap_or_else(|e| panic!("{e}"));
        health.apply(&report, &watched, &config);
    }
    let d = desired(&config, Monitor::Reports(&health), &Table::new());
    let order: Vec<String> = config.virtuals.iter().map(|v| v.name.clone()).collect();
    let doc = lvsd::status::status(&d.table, &d, Some(&health), &order, Instant::now());
    let line = serde_json::to_string(&doc).expect("json") + "\n";

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lvsd-web-status-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cf = dir.join("lvs.cf");
    std::fs::write(&cf, &text).expect("write lvs.cf");
    let passwd = dir.join("piranha.passwd");
    let hash = piranha_web::htpasswd::hash_with_cost(PASSWORD, 4).expect("hash");
    std::fs::write(&passwd, format!("piranha:{hash}\n")).expect("passwd");
    let sock = dir.join("lvsd.sock");
    let opts = piranha_web::server::Options {
        config: cf,
        passwd_file: passwd,
        pulse_socket: dir.join("no-pulse.sock"),
        lvsd_socket: sock.clone(),
        allow: vec![],
        copy_timeout: Duration::from_secs(5),
        programs: dir.join("no-lvs-programs"),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let status = tokio::net::UnixListener::bind(&sock).expect("bind status socket");
            tokio::spawn(lvs_status::server::serve(status, move |_req, _peer| {
                let line = line.clone();
                async move { line }
            }));
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("send");
            let app = piranha_web::server::App::new(opts);
            let _ = piranha_web::server::serve(l, piranha_web::server::router(app), None).await;
        });
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("web tool started");

    // REAL SERVER: configured beside live, never coloured as health.
    let real = get(addr, "/virtual/web/real");
    let row = |page: &str, name: &str| -> String {
        let start = page
            .find(&format!("<tr id=\"row-{name}\">"))
            .unwrap_or_else(|| panic!("row {name}: {page}"));
        let rest = &page[start..];
        rest[..rest.find("</tr>").unwrap_or(rest.len())].to_string()
    };
    let r1 = row(&real, "r1");
    assert!(r1.contains(r#"<span class="cfg">active</span>"#), "{r1}");
    assert!(r1.contains(r#"<span class="live-up">up</span>"#), "{r1}");
    let r2 = row(&real, "r2");
    assert!(r2.contains(r#"<span class="cfg">active</span>"#), "{r2}");
    assert!(
        r2.contains(r#"<span class="live-down">down</span>"#),
        "{r2}"
    );
    assert!(r2.contains("connection refused"), "{r2}");
    let r3 = row(&real, "r3");
    assert!(
        r3.contains("inactive") && r3.contains("not running"),
        "{r3}"
    );
    let qa = row(&get(addr, "/virtual/q/real"), "a");
    assert!(
        qa.contains(r#"<span class="live-warn">quiesced</span>"#),
        "{qa}"
    );
    // VIRTUAL SERVERS: how many of its real servers are up.
    let list = get(addr, "/virtual");
    let web = row(&list, "web");
    assert!(web.contains("degraded") && web.contains("1/2 up"), "{web}");

    // CONTROL/MONITORING: the rows and the problems filter.
    let control = get(addr, "/control");
    assert!(control.contains("connection refused"), "{control}");
    assert!(control.contains("lvsd runs <b>2</b>"), "{control}");
    let problems = get(addr, "/control?problems=1");
    assert!(
        problems.contains("<th scope=\"row\">r2</th>")
            && !problems.contains("<th scope=\"row\">r1</th>"),
        "{problems}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
