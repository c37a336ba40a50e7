//! The web tool reads the real pulse: two routers in namespaces with signed
//! heartbeats and different lvs.cf files, and piranha-web (the library,
//! in this process) on r1's status socket. Before the status documents had
//! one definition (the lvs-status crate), the web tool read the digests
//! under names pulse never sent, so the "backup's lvs.cf differs" banner
//! could not appear with the real pulse.

mod common;

use common::*;
use std::io::{Read, Write};
use std::time::Duration;

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

/// A GET with HTTP Basic auth; the body of a 200, or the status and body.
fn get(addr: std::net::SocketAddr, path: &str, password: &str) -> Result<String, String> {
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(sec(10.0)))
        .map_err(|e| e.to_string())?;
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("piranha:{password}"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if head.starts_with("HTTP/1.1 200") {
        Ok(body.to_string())
    } else {
        Err(text)
    }
}

#[test]
fn web_tool_reads_the_real_pulse() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let key = t.path("hb.key");
    std::fs::write(&key, "the shared heartbeat key of the web status test\n").expect("key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let extra = format!("heartbeat_key = {}\n", key.display());
    let cfg1 = t.config("lvs1.cf", "0.1", "0.4", &extra);
    // r2's file differs by a comment: another digest.
    let cfg2 = t.config(
        "lvs2.cf",
        "0.1",
        "0.4",
        &format!("{extra}# edited on r2 only\n"),
    );
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg1, &standin, &[]);
    let _p2 = t.pulse(&t.r2, "r2", &cfg2, &standin, &[]);
    assert!(p1.wait_state("active", sec(5.0)), "{:?}", p1.log());
    assert!(
        wait_until(sec(3.0), || p1
            .status()
            .is_some_and(|s| s["config_digest"]["match"] == false))
        .is_some(),
        "{:?}",
        p1.status()
    );

    // piranha-web on r1's status socket, as the unit runs it.
    let dir = t.path("web");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let passwd = dir.join("piranha.passwd");
    let hash = piranha_web::htpasswd::hash_with_cost("web test", 4).expect("hash");
    std::fs::write(&passwd, format!("piranha:{hash}\n")).expect("passwd");
    let opts = piranha_web::server::Options {
        config: cfg1.clone(),
        passwd_file: passwd,
        pulse_socket: p1.sock.clone(),
        lvsd_socket: dir.join("no-lvsd.sock"),
        allow: vec![],
        copy_timeout: sec(5.0),
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
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("send");
            let app = piranha_web::server::App::new(opts);
            let _ = piranha_web::server::serve(l, piranha_web::server::router(app), None).await;
        });
    });
    let addr = rx.recv_timeout(sec(10.0)).expect("web tool started");

    let status = get(addr, "/api/v1/status", "web test").expect("status");
    let v: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(v["pulse"]["role"], "master", "{v}");
    assert_eq!(v["pulse"]["state"], "active", "{v}");
    assert_eq!(v["pulse"]["partner"]["state"], "inactive", "{v}");
    assert_eq!(v["pulse"]["config_digest"]["match"], false, "{v}");
    assert!(v["lvsd"]["error"].is_string(), "no lvsd: {v}");
    let metrics = get(addr, "/metrics", "web test").expect("metrics");
    assert!(
        metrics.contains("piranha_daemon_up{daemon=\"pulse\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("piranha_pulse_active 1"), "{metrics}");
    assert!(
        metrics.contains("piranha_pulse_partner_config_match 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("piranha_pulse_heartbeats_accepted_total"),
        "{metrics}"
    );
    // The page's banner, from the same document.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let pulse = rt.block_on(piranha_web::status::pulse_status(&p1.sock));
    let pulse = pulse.expect("the web tool parses the real pulse");
    assert!(piranha_web::status::backup_differs(&pulse));
    let doc = lvscf_parser::Document::parse("lvs.cf", std::fs::read(&cfg1).expect("read"));
    let page = piranha_web::pages::render(piranha_web::pages::control(
        &piranha_web::pages::Ctx::default(),
        &doc,
        &Ok(pulse),
        Err("lvsd is not running"),
        false,
        10,
    ));
    assert!(page.contains("lvs.cf differs"), "{page}");

    // CONTROL/MONITORING over HTTP, from the real pulse: the two routers'
    // roles and states, the partner heard lately, the digests compared,
    // and lvs.cf on disk is the file pulse runs (no "newer" notice).
    let control = get(addr, "/control", "web test").expect("control");
    for want in [
        "<td>primary</td><td>backup</td>",
        "active: holds the VIPs and runs lvsd",
        "inactive: standing by",
        "differs: copy lvs.cf to the backup",
        "The backup router's lvs.cf differs",
    ] {
        assert!(control.contains(want), "{want:?} missing: {control}");
    }
    assert!(
        regex_like_last_heard(&control),
        "heartbeat age missing: {control}"
    );
    assert!(!control.contains("is newer than"), "{control}");
    // A save on disk that pulse has not loaded: the notice with APPLY.
    let mut text = std::fs::read_to_string(&cfg1).expect("read");
    text.push_str("# saved, not applied\n");
    std::fs::write(&cfg1, &text).expect("write");
    let control = get(addr, "/control", "web test").expect("control");
    assert!(
        control.contains("lvs.cf on disk (serial_no 1) is newer than the configuration that runs"),
        "{control}"
    );
    assert!(control.contains("APPLY (reload pulse)"), "{control}");
    // pulse reloads it: the notice goes.
    let reloaded = rt.block_on(piranha_web::status::pulse_reload(&p1.sock));
    assert!(reloaded.as_ref().is_ok_and(|r| r.ok), "{reloaded:?}");
    let control = get(addr, "/control", "web test").expect("control");
    assert!(!control.contains("is newer than"), "{control}");
}

/// "last heard N s ago" (or min): pulse's partner heartbeat age.
fn regex_like_last_heard(page: &str) -> bool {
    page.split("last heard ").skip(1).any(|rest| {
        rest.split(" ago")
            .next()
            .is_some_and(|n| n.ends_with(" s") || n.ends_with(" min"))
    })
}
