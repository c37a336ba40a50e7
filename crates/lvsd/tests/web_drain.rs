//! The web tool's DRAIN against lvsd's own drain code: the status socket
//! answers `status` with the document lvsd builds (desired table, the
//! drains applied to it, `lvsd::status::status`) and `drain` with lvsd's
//! `Drains` (start, cancel, the same checks and answer as the daemon).
//! piranha-web's REAL SERVER list offers DRAIN, its confirmation page says
//! what will happen, the button drains, the list and CONTROL/MONITORING
//! then show the server draining with its active connections left, and
//! `POST /api/v1/drain` ends the drain and refuses what lvsd refuses.
//!
//! The host has no IPVS: the kernel's table is the desired table, with
//! active connections set on the drained server as a live table has them.
//! The guests (tests/vm) drain with real connections.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_status::{DrainResult, LvsdStatus, Request};
use lvscf_parser::Config;
use lvsd::desired::{desired, Monitor};
use lvsd::drain::Drains;
use lvsd::table::Table;

const PASSWORD: &str = "lvsd drain test";
/// Active connections the kernel shows on s2.
const S2_ACTIVE: u32 = 2;

struct Lvsd {
    config: Config,
    drains: Drains,
}

impl Lvsd {
    /// The status document as lvsd builds it, drains applied.
    fn status(&self) -> LvsdStatus {
        let mut d = desired(&self.config, Monitor::AssumeUp, &Table::new());
        self.drains.apply(&mut d);
        let mut live = d.table.clone();
        for e in live.services.values_mut() {
            for ((_, port), dest) in e.dests.iter_mut() {
                if *port == 8002 {
                    dest.active_conns = S2_ACTIVE;
                    dest.inactive_conns = 1;
                }
            }
        }
        let order: Vec<String> = self
            .config
            .virtuals
            .iter()
            .map(|v| v.name.clone())
            .collect();
        lvsd::status::status(&live, &d, None, &order, Instant::now())
    }

    /// lvsd's answer to a drain request (the daemon's steps).
    fn drain(&mut self, req: &lvs_status::DrainRequest) -> DrainResult {
        let (v, s) = (req.virtual_name.as_str(), req.server.as_str());
        if req.cancel {
            if !self.drains.cancel(v, s) {
                return DrainResult::failed(format!("virtual {v}: server {s} is not draining"));
            }
        } else if let Err(e) = self.drains.start(&self.config, v, s, Instant::now()) {
            return DrainResult::failed(e.to_string());
        }
        let (active, inactive) = lvsd::drain::connections(&self.status(), v, s);
        DrainResult {
            ok: true,
            error: None,
            draining: !req.cancel,
            active_conns: active,
            inactive_conns: inactive,
        }
    }
}

fn exchange(addr: SocketAddr, head: &str, body: &str) -> (u16, String) {
    use base64::Engine as _;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("piranha:{PASSWORD}"));
    write!(
        s,
        "{head}\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let code = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{head}: {text}"));
    (code, text)
}

fn get(addr: SocketAddr, path: &str) -> String {
    let (code, text) = exchange(addr, &format!("GET {path} HTTP/1.1"), "");
    assert_eq!(code, 200, "{path}: {text}");
    text
}

fn row(page: &str, name: &str) -> String {
    let start = page
        .find(&format!("<tr id=\"row-{name}\">"))
        .unwrap_or_else(|| panic!("row {name}: {page}"));
    let rest = &page[start..];
    rest[..rest.find("</tr>").unwrap_or(rest.len())].to_string()
}

#[test]
fn drain_from_the_web_tool_and_its_api() {
    let text = "serial_no = 3\nprimary = 10.0.0.1\nservice = lvs\nnetwork = direct\n\
         virtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n\
         \x20    server s1 {\n         address = 127.0.0.1\n         port = 8001\n         active = 1\n         weight = 2\n     }\n\
         \x20    server s2 {\n         address = 127.0.0.1\n         port = 8002\n         active = 1\n         weight = 3\n     }\n\
         \x20    server s3 {\n         address = 127.0.0.1\n         port = 8003\n         active = 0\n     }\n}\n";
    let config = match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };
    let lvsd = Arc::new(Mutex::new(Lvsd {
        config,
        drains: Drains::new(),
    }));

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lvsd-web-drain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cf = dir.join("lvs.cf");
    std::fs::write(&cf, text).expect("write lvs.cf");
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
            tokio::spawn(lvs_status::server::serve(status, move |req, _peer| {
                let lvsd = lvsd.clone();
                async move {
                    let mut l = lvsd.lock().unwrap_or_else(|p| p.into_inner());
                    match req {
                        Request::Status => serde_json::to_string(&l.status()).expect("json"),
                        Request::Drain(d) => l.drain(&d).line(),
                        Request::Reload => DrainResult::failed("not here").line(),
                    }
                }
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

    // The list offers DRAIN on active servers lvsd runs, not on s3.
    let list = get(addr, "/virtual/web/real");
    let s2 = row(&list, "s2");
    assert!(
        s2.contains(r#"href="/virtual/web/real/s2/drain""#) && s2.contains(">DRAIN<"),
        "{s2}"
    );
    assert!(!row(&list, "s3").contains("/drain"), "{list}");

    // The confirmation says what will happen, and carries the form.
    let confirm = get(addr, "/virtual/web/real/s2/drain");
    for want in [
        "weight to <b>0</b>",
        "existing connections continue",
        "<code>active = 0</code>",
        "2 active connections and 1 inactive connection.",
    ] {
        assert!(confirm.contains(want), "{want}: {confirm}");
    }
    let csrf = {
        let at = confirm.find(r#"name="csrf" value=""#).expect("csrf field")
            + r#"name="csrf" value=""#.len();
        confirm[at..at + confirm[at..].find('"').expect("end")].to_string()
    };
    // Without the token nothing happens.
    let (code, _) = exchange(
        addr,
        "POST /virtual/web/real/s2/drain HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        "drain_action=DRAIN",
    );
    assert_eq!(code, 403);
    let (code, done) = exchange(
        addr,
        "POST /virtual/web/real/s2/drain HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        &format!("csrf={csrf}&drain_action=DRAIN"),
    );
    assert_eq!(code, 200, "{done}");
    assert!(
        done.contains("is draining: weight 0, 2 active connections and 1 inactive connection left"),
        "{done}"
    );

    // The list (lvsd asked again, not the pages' older copy) and the
    // dashboard show it draining with its active connections left.
    let s2 = row(&get(addr, "/virtual/web/real"), "s2");
    assert!(
        s2.contains(r#"<span class="live-warn">draining</span>: 2 active connections left"#),
        "{s2}"
    );
    assert!(
        s2.contains(">END DRAIN<") && s2.contains("drain?cancel=1"),
        "{s2}"
    );
    let control = get(addr, "/control");
    assert!(control.contains("2 active left"), "{control}");

    // The API: ends the drain; refuses what lvsd refuses; JSON only.
    let api = |body: &str, ctype: &str| {
        exchange(
            addr,
            &format!("POST /api/v1/drain HTTP/1.1\r\nContent-Type: {ctype}"),
            body,
        )
    };
    let (code, text) = api(
        r#"{"virtual":"web","server":"s2","cancel":true}"#,
        "application/json",
    );
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains(r#""ok":true"#) && text.contains(r#""draining":false"#),
        "{text}"
    );
    let (code, text) = api(r#"{"virtual":"web","server":"s3"}"#, "application/json");
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("is not active: nothing to drain"), "{text}");
    let (code, _) = api(r#"{"virtual":"web","server":"s2"}"#, "text/plain");
    assert_eq!(code, 415);
    let s2 = row(&get(addr, "/virtual/web/real"), "s2");
    assert!(
        s2.contains(r#"<span class="live-up">up</span>"#) && s2.contains(">DRAIN<"),
        "{s2}"
    );
    let (code, text) = api(r#"{"virtual":"web","server":"s2"}"#, "application/json");
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains(r#""draining":true"#) && text.contains(r#""active_conns":2"#),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
