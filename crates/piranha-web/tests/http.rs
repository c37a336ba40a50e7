//! HTTP-level tests against the real server: the web tool's entries of the
//! reliability catalogue (WEB-01..WEB-14: login on every route and method,
//! CSRF, injection, escaping, limits, stale edits, sessions, TLS; FLT-D01,
//! FLT-D02, FLT-D05: full disk, read-only or unwritable directory,
//! symlinked lvs.cf; PRIV-03: piranha-passwd), and the edit flow.

mod common;

use common::*;
use lvscf_parser::{Document, Target};
use std::time::Duration;

const ROUTES: &[&str] = &[
    "/",
    "/control",
    "/control?auto_update=1&rate=1",
    "/passwd",
    "/global",
    "/redundancy",
    "/virtual",
    "/virtual/web/edit",
    "/virtual/web/real",
    "/virtual/web/real/r1/edit",
    "/virtual/web/scripts",
    "/failover",
    "/failover/fo/edit",
    "/failover/fo/scripts",
    "/apply",
    "/sync",
    "/history",
    "/history/1/restore",
    "/logout",
    "/metrics",
    "/api/v1/config",
    "/api/v1/status",
    "/api/v1/set",
    "/api/v1/unset",
    "/secure/control.php",
    "/virtual_main.php",
    "/random/path/xyz",
    "/virtual/nope/edit",
    "/%2e%2e/%2e%2e/etc/shadow",
];

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND",
    "FOO",
];

#[test]
fn web01_every_route_and_method_needs_login() {
    let env = EnvBuilder::new("web01").start();
    let before = file_state(&env.config);
    for path in ROUTES {
        for m in METHODS {
            let body = b"virtual_service=ADD&name=pwned&csrf=x&version=y";
            let r = request(
                env.addr,
                m,
                path,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                body,
            );
            // CONNECT with a path target is refused by the HTTP parser (400)
            // before routing: also no access.
            let ok = matches!(r.status, 401 | 405) || (*m == "CONNECT" && r.status == 400);
            assert!(ok, "{m} {path} -> {} {}", r.status, r.body);
        }
    }
    // With a login, unknown paths are 404 and wrong methods 405.
    let c = login(env.addr, PASSWORD).expect("login");
    assert_eq!(c.get("/random/path/xyz").status, 404);
    let r = request(env.addr, "DELETE", "/global", &[("Cookie", &c.cookie)], b"");
    assert_eq!(r.status, 405);
    assert_eq!(c.get("/apply").status, 405, "GET of a mutating route");
    assert_eq!(c.get("/api/v1/set").status, 405);
    assert_eq!(before, file_state(&env.config), "lvs.cf changed");
}

#[test]
fn web02_no_password_file_no_login() {
    let env = EnvBuilder {
        with_passwd: false,
        ..EnvBuilder::new("web02")
    }
    .start();
    for path in ["/", "/control", "/login", "/global"] {
        let r = request(env.addr, "GET", path, &[], b"");
        assert!(r.body.contains("piranha-passwd"), "{path}: {}", r.body);
        assert!(
            !r.body.contains("type=\"password\""),
            "{path} offers a login form"
        );
    }
    for pw in ["", "piranha", "q", "password"] {
        assert!(login(env.addr, pw).is_err(), "logged in with {pw:?}");
        let r = request(
            env.addr,
            "GET",
            "/api/v1/config",
            &[("Authorization", &basic(pw))],
            b"",
        );
        assert_eq!(r.status, 401);
    }
    // No default credentials in the binaries.
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_piranha-web"));
    let bytes = std::fs::read(exe).expect("read binary");
    for needle in [&b"piranha:$"[..], b"piranha:q", b"password="] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "binary contains {:?}",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn web03_brute_force_backs_off() {
    let env = EnvBuilder::new("web03").start();
    let good = login(env.addr, PASSWORD).expect("login");
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = login(env.addr, &format!("wrong{i}")).expect_err("wrong password accepted");
        statuses.push(r.status);
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "lockout after 5: {statuses:?}"
    );
    // Even the right password waits while locked out (from this client).
    assert_eq!(login(env.addr, PASSWORD).expect_err("locked").status, 429);
    // Basic auth is throttled the same way.
    let r = request(
        env.addr,
        "GET",
        "/api/v1/config",
        &[("Authorization", &basic(PASSWORD))],
        b"",
    );
    assert_eq!(r.status, 429);
    // The existing session keeps working.
    assert_eq!(good.get("/control").status, 200);
}

#[test]
fn web04_viewing_never_writes() {
    let env = EnvBuilder::new("web04").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let before = file_state(&env.config);
    let files_before: Vec<_> = std::fs::read_dir(&env.dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    for path in ROUTES {
        for m in ["GET", "HEAD"] {
            let r = request(env.addr, m, path, &[("Cookie", &c.cookie)], b"");
            assert!(r.status < 500, "{m} {path}: {}", r.status);
        }
    }
    assert_eq!(before, file_state(&env.config));
    let files_after: Vec<_> = std::fs::read_dir(&env.dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files_before, files_after, "a view created files");
}

#[test]
fn web05_csrf() {
    let env = EnvBuilder::new("web05").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let v = c.version("/virtual/web/edit");
    let before = sha256_file(&env.config);
    let send = |csrf: Option<&str>, extra: &[(&str, &str)]| {
        let mut pairs = vec![("version", v.as_str()), ("port", "81")];
        if let Some(t) = csrf {
            pairs.push(("csrf", t));
        }
        let mut h = vec![
            ("Cookie", c.cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        h.extend_from_slice(extra);
        request(
            env.addr,
            "POST",
            "/virtual/web/edit",
            &h,
            urlencode(&pairs).as_bytes(),
        )
    };
    assert_eq!(send(None, &[]).status, 403, "no token");
    assert_eq!(send(Some("0000"), &[]).status, 403, "wrong token");
    assert_eq!(
        send(Some(&c.csrf), &[("Origin", "http://evil.example")]).status,
        403
    );
    assert_eq!(
        send(Some(&c.csrf), &[("Sec-Fetch-Site", "cross-site")]).status,
        403
    );
    // No cookie at all (SameSite kept it back): not authenticated.
    let r = request(
        env.addr,
        "POST",
        "/virtual/web/edit",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        urlencode(&[("csrf", &c.csrf), ("version", &v), ("port", "81")]).as_bytes(),
    );
    assert!(matches!(r.status, 401 | 403), "{}", r.status);
    assert_eq!(before, sha256_file(&env.config));
    // The API with a cookie needs the token header too.
    let body = r#"{"key":"virtual.web.port","value":"82","serial":7}"#.to_string();
    let r = request(
        env.addr,
        "POST",
        "/api/v1/set",
        &[("Cookie", &c.cookie), ("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 403);
    // A same-origin POST with the token works.
    let r = send(
        Some(&c.csrf),
        &[
            ("Origin", &format!("http://{}", env.addr)),
            ("Sec-Fetch-Site", "same-origin"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
}

#[test]
fn web06_injection_per_field() {
    let panels: &[(&str, &[&str])] = &[
        (
            "/global",
            &[
                "PriLVSIP",
                "primary_private",
                "tcp_timeout",
                "active_cmd",
                "NATRtrIP",
            ],
        ),
        (
            "/redundancy",
            &[
                "redundant",
                "hb_interval",
                "dead_after",
                "hb_port",
                "syncd_iface",
            ],
        ),
        (
            "/virtual/web/edit",
            &[
                "port",
                "address",
                "device",
                "sorry_server",
                "fwmark",
                "timeout",
                "persistent",
            ],
        ),
        ("/virtual/web/real/r1/edit", &["address", "port", "weight"]),
        ("/virtual/web/scripts", &["send", "expect", "send_program"]),
    ];
    injection_matrix("web06", LVS_CF, panels);
}

/// WEB-06 on the failover pages, with a file that has a failover block.
#[test]
fn web06_injection_per_failover_field() {
    let cf = format!(
        "{LVS_CF}failover fo {{\n     active = 0\n     address = 10.0.0.200 eth0:2\n     port = 80\n     timeout = 6\n}}\n"
    );
    let panels: &[(&str, &[&str])] = &[
        (
            "/failover/fo/edit",
            &["name", "address", "device", "port", "timeout"],
        ),
        (
            "/failover/fo/scripts",
            &["send", "expect", "send_program", "start_cmd", "stop_cmd"],
        ),
    ];
    injection_matrix("web06fo", &cf, panels);
}

/// Submits every payload in every field of `panels`: either 400 with an
/// error shown and the file unchanged, or saved with the value read back
/// exactly; never a new block, server or `active_cmd`.
fn injection_matrix(tag: &str, config: &str, panels: &[(&str, &[&str])]) {
    let env = EnvBuilder {
        config_text: Some(config.to_string()),
        ..EnvBuilder::new(tag)
    }
    .start();
    let c = login(env.addr, PASSWORD).expect("login");
    let long80 = "a".repeat(80);
    let long300 = "b".repeat(300);
    let long4096 = "c".repeat(4096);
    let long65536 = "d".repeat(65536);
    let payloads: Vec<&str> = vec![
        "x\ny",
        "x\ry",
        "x\r\ny",
        "%250a",
        "{",
        "}",
        "\"",
        "'",
        "#",
        "=",
        "a\tb",
        "a\0b",
        "\\",
        "a\u{2028}b",
        "a\u{85}b",
        &long80,
        &long300,
        &long4096,
        &long65536,
        "1\nactive_cmd = /bin/sh -c id",
        "1\n}\nvirtual evil {\n active = 1",
    ];
    let shape = |text: &[u8]| {
        let d = Document::parse("lvs.cf", text.to_vec());
        let c = d.config();
        (
            c.virtuals.len(),
            c.failovers.len(),
            c.virtuals.iter().map(|v| v.servers.len()).sum::<usize>(),
            c.active_cmd.is_some(),
        )
    };
    let base_shape = shape(std::fs::read(&env.config).expect("read").as_slice());
    for (panel, fields) in panels.iter().copied() {
        for field in fields {
            for p in &payloads {
                let before = std::fs::read(&env.config).expect("read");
                let mut pairs = vec![(*field, *p)];
                if *field == "NATRtrIP" {
                    pairs.push(("network", "nat"));
                    pairs.push(("NATRtrDev", "eth1"));
                }
                let r = c.submit(panel, &pairs);
                let after = std::fs::read(&env.config).expect("read");
                match r.status {
                    400 => {
                        assert_eq!(before, after, "{panel} {field}: 400 but the file changed");
                        assert!(
                            r.body.contains("class=\"err\"") || r.body.contains("role=\"alert\""),
                            "{panel} {field}: no error shown"
                        );
                    }
                    303 => {
                        // Accepted: the value reads back exactly (text fields).
                        let d = Document::parse("lvs.cf", after.clone());
                        assert!(
                            !d.has_errors(),
                            "{panel} {field} {p:?}: saved a file that does not load"
                        );
                        if ["send", "expect"].contains(field) {
                            let c = d.config();
                            let v = if panel.starts_with("/failover/") {
                                c.failovers.iter().find(|f| f.name == "fo").expect("fo")
                            } else {
                                c.virtual_named("web").expect("web")
                            };
                            let got = if *field == "send" {
                                v.send.clone()
                            } else {
                                v.expect.clone()
                            };
                            assert_eq!(got.as_deref(), Some(*p), "{field} did not round-trip");
                        }
                    }
                    s => panic!("{panel} {field} {:?}: status {s}", &p[..p.len().min(20)]),
                }
                assert_eq!(
                    shape(&after),
                    base_shape,
                    "{panel} {field} {:?}: structure changed",
                    &p[..p.len().min(20)]
                );
                let text = String::from_utf8_lossy(&after);
                assert!(
                    !text.contains("active_cmd"),
                    "active_cmd injected via {panel} {field}"
                );
                assert!(
                    !text.contains("virtual evil"),
                    "block injected via {panel} {field}"
                );
                // Restore for the next case.
                std::fs::write(&env.config, config).expect("restore");
            }
        }
    }
}

#[test]
fn web07_output_is_escaped_and_headers_strict() {
    let xss = "x\"><svg/onload=alert(1)>";
    let cf = LVS_CF
        .replace("virtual web {", &format!("virtual {xss} {{"))
        .replace("server r1 {", "server <script>alert(2)</script> {");
    let env = EnvBuilder {
        config_text: Some(cf),
        ..EnvBuilder::new("web07")
    }
    .start();
    let c = login(env.addr, PASSWORD).expect("login");
    for path in [
        "/virtual",
        "/control",
        "/control?rate=%3Cscript%3Ealert(3)%3C/script%3E&auto_update=1",
    ] {
        let r = c.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(!r.body.contains("<svg"), "{path}: {}", r.body);
        assert!(!r.body.contains("<script"), "{path}");
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert!(r.header("cache-control").unwrap_or("").contains("no-store"));
    }
    let list = c.get("/virtual");
    assert!(
        list.body.contains("x&quot;&gt;&lt;svg/onload=alert(1)&gt;"),
        "{}",
        list.body
    );
    let edit = pages_url(xss);
    let r = c.get(&format!("{edit}/real"));
    assert_eq!(r.status, 200, "{edit}");
    assert!(!r.body.contains("<script"));
    // Reflected parameters on the login page and on errors.
    let r = request(env.addr, "GET", "/login?x=%3Cscript%3E", &[], b"");
    assert!(!r.body.contains("<script"));
    let r = c.submit(
        "/virtual",
        &[("virtual_service", "ADD"), ("name", "<b>x\n</b>")],
    );
    assert_eq!(r.status, 400);
    assert!(!r.body.contains("<b>x"));
}

fn pages_url(name: &str) -> String {
    format!("/virtual/{}", piranha_web::urls::seg(name))
}

#[test]
fn web09_no_header_splitting() {
    let env = EnvBuilder::new("web09").start();
    let c = login(env.addr, PASSWORD).expect("login");
    // A selected name with CR/LF reaches a Location header only
    // percent-encoded (EDIT redirects).
    let v = c.version("/virtual");
    let r = c.post_form(
        "/virtual",
        &v,
        &[
            ("virtual_service", "EDIT"),
            ("selected", "web\r\nSet-Cookie: evil=1"),
        ],
    );
    assert_eq!(r.status, 303);
    let loc = r.header("location").unwrap_or("");
    assert!(
        !loc.contains('\r') && !loc.contains('\n') && loc.contains("%0D%0A"),
        "{loc}"
    );
    assert!(r.headers_named("set-cookie").is_empty());
    // A renamed virtual with non-ASCII is percent-encoded in Location.
    let r = c.submit("/virtual/web/edit", &[("hostname", "wéb")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/virtual/w%C3%A9b/edit?saved=1"));
}

#[test]
fn web11_static_assets_only_from_the_embedded_map() {
    let env = EnvBuilder::new("web11").start();
    let ok = request(env.addr, "GET", "/static/style.css", &[], b"");
    assert_eq!(ok.status, 200);
    assert!(ok
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/css"));
    for p in [
        "/static/../../etc/shadow",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fshadow",
        "/static/..%252f..%252fetc%252fshadow",
        "/static/....//....//etc/shadow",
        "/static/style.css%00.png",
        "/static/..\\..\\etc\\shadow",
        "/static//etc/shadow",
        "/static/style.css.php_bak",
        "/static/",
        "/../../etc/shadow",
    ] {
        let r = request(env.addr, "GET", p, &[], b"");
        assert!(matches!(r.status, 404 | 401 | 400), "{p}: {}", r.status);
        assert!(!r.body.contains("root:"), "{p}");
    }
}

#[test]
fn web12_limits() {
    let env = EnvBuilder::new("web12").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let big = vec![b'a'; 10 * 1024 * 1024];
    let mut head = format!(
        "POST /global HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        env.addr,
        c.cookie,
        big.len()
    );
    let r = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(env.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("t");
        s.write_all(head.as_bytes()).expect("head");
        let _ = s.write_all(&big[..1024 * 1024]);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        parse_response(&buf)
    };
    assert_eq!(r.status, 413, "10 MB body");
    let many: String = (0..100_000).map(|i| format!("p{i}=1&")).collect();
    let r = c.post_form("/global", "x", &[("junk", &many)]);
    assert!(matches!(r.status, 413 | 400), "{}", r.status);
    let r = request(
        env.addr,
        "POST",
        "/global",
        &[("Cookie", &c.cookie)],
        many.as_bytes(),
    );
    assert_eq!(r.status, 413, "100k parameters");
    let long = format!("/control?x={}", "a".repeat(64 * 1024));
    let r = request(env.addr, "GET", &long, &[("Cookie", &c.cookie)], b"");
    assert!(matches!(r.status, 414 | 431), "64 KiB URL: {}", r.status);
    head = format!("GET /control HTTP/1.1\r\nHost: {}\r\n", env.addr);
    for i in 0..2000 {
        head.push_str(&format!("X-Junk-{i}: {}\r\n", "v".repeat(30)));
    }
    head.push_str("\r\n");
    let r = raw(env.addr, &head, b"");
    assert!(
        matches!(r.status, 431 | 400 | 0),
        "huge headers: {}",
        r.status
    );
    // Slowloris: 500 connections each holding an unfinished request (a
    // header line that never ends, a byte at a time) do not stop others
    // being served within 1 s. The server and these clients share this
    // process: about 1,000 descriptors, more than a default soft limit.
    // They come from 25 addresses, 20 each: under the per-address cap
    // (tests/security.rs tests the cap itself).
    raise_fd_limit(4096);
    let mut slow: Vec<std::net::TcpStream> = (0..500)
        .map(|i| {
            use std::io::Write;
            let src = std::net::Ipv4Addr::new(127, 0, 3, 1 + (i % 25) as u8);
            let mut s = connect_from(src, env.addr);
            s.write_all(
                format!("GET /control HTTP/1.1\r\nHost: {}\r\nX-Slow: ", env.addr).as_bytes(),
            )
            .expect("partial request");
            s
        })
        .collect();
    for round in 0..3 {
        for s in &mut slow {
            use std::io::Write;
            s.write_all(b"a").expect("trickle");
        }
        let t = std::time::Instant::now();
        assert_eq!(c.get("/control").status, 200);
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "round {round}: served in {:?} beside 500 slow clients",
            t.elapsed()
        );
    }
    // All 500 are still connected, waiting (not refused or dropped).
    for s in &slow {
        use std::io::Read;
        s.set_nonblocking(true).expect("nonblocking");
        let mut b = [0u8; 1];
        let r = (&*s).read(&mut b);
        assert!(
            matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a slow client was answered or dropped: {r:?}"
        );
    }
    drop(slow);
}

/// Raises this process's RLIMIT_NOFILE to `want` (the soft limit up to the
/// hard one, and the hard one too when we are root).
fn raise_fd_limit(want: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (mut soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < want {
        // Root may be allowed to raise the hard limit as well.
        if setrlimit(Resource::RLIMIT_NOFILE, want, hard.max(want)).is_ok() {
            soft = want;
        } else {
            soft = want.min(hard);
            setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("setrlimit");
        }
    }
    assert!(
        soft >= 1200,
        "the descriptor limit ({soft}) is too low for 500 slow clients"
    );
}

#[test]
fn web13_stale_edits_are_refused_and_saves_serialise() {
    let env = EnvBuilder::new("web13").start();
    let a = login(env.addr, PASSWORD).expect("login a");
    let b = login(env.addr, PASSWORD).expect("login b");
    let va = a.version("/virtual/web/edit");
    let vb = b.version("/virtual/web/edit");
    assert_eq!(va, vb);
    let ra = a.post_form("/virtual/web/edit", &va, &[("port", "81")]);
    let rb = b.post_form("/virtual/web/edit", &vb, &[("port", "82")]);
    assert_eq!(ra.status, 303);
    assert_eq!(rb.status, 409);
    assert!(
        rb.body.contains("value=\"81\""),
        "409 shows the current values"
    );
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(text.contains("serial_no = 8"));
    // 100 parallel saves, each from a freshly loaded form.
    let start_serial = 8u64;
    let handles: Vec<_> = (0..100)
        .map(|i| {
            let mut c = if i % 2 == 0 { a.clone() } else { b.clone() };
            // 25 addresses, 4 each: under the per-address connection cap.
            c.src = Some(std::net::Ipv4Addr::new(127, 0, 5, 1 + (i % 25) as u8));
            std::thread::spawn(move || {
                let v = c.version("/virtual/web/edit");
                c.post_form(
                    "/virtual/web/edit",
                    &v,
                    &[("timeout", &(10 + i).to_string())],
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "{statuses:?}"
    );
    let ok = statuses.iter().filter(|s| **s == 303).count() as u64;
    assert!(ok >= 1);
    let d = Document::parse("lvs.cf", std::fs::read(&env.config).expect("read"));
    assert!(!d.has_errors());
    assert_eq!(
        d.config().serial_no,
        start_serial + ok,
        "{ok} accepted saves"
    );
    assert!(std::fs::read_to_string(&env.config)
        .expect("read")
        .contains("this comment must survive"));
}

#[test]
fn web14_session_lifecycle() {
    let env = EnvBuilder::new("web14").start();
    // A planted cookie is not promoted at login (fixation).
    let planted =
        "piranha_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let r = request(env.addr, "GET", "/control", &[("Cookie", planted)], b"");
    assert_eq!(r.status, 401);
    let a = login(env.addr, PASSWORD).expect("login");
    assert!(!a.cookie.ends_with("aaaa"));
    let r = request(
        env.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        urlencode(&[("password", PASSWORD)]).as_bytes(),
    );
    let set = r.header("set-cookie").unwrap_or("");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let b = login(env.addr, PASSWORD).expect("login");
    assert_ne!(a.cookie, b.cookie, "a new id per login");
    assert_ne!(a.csrf, b.csrf);
    // Concurrent sessions both work; logout ends only one.
    assert_eq!(a.get("/control").status, 200);
    let r = request(
        env.addr,
        "POST",
        "/logout",
        &[
            ("Cookie", &a.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        urlencode(&[("csrf", &a.csrf)]).as_bytes(),
    );
    assert_eq!(r.status, 303);
    assert_eq!(a.get("/control").status, 401, "old cookie after logout");
    assert_eq!(b.get("/control").status, 200);
    // b's token does not work with a's (dead) session and vice versa.
    let v = b.version("/global");
    let forged = Client {
        csrf: a.csrf.clone(),
        ..b.clone()
    };
    assert_eq!(
        forged
            .post_form("/global", &v, &[("tcp_timeout", "5")])
            .status,
        403
    );
}

#[test]
fn basic_auth_api_and_metrics() {
    let env = EnvBuilder::new("api").start();
    // Stand-in daemons on the status sockets, answering documents of the
    // daemons' own types (the lvs-status crate), never invented JSON: the
    // real pulse and lvsd are read in pulse's `web_tool_reads_the_real_pulse`
    // and the guest's lab.
    use lvs_status::{lvsd as l, pulse as p};
    let stats = l::Stats {
        conns: 5,
        inpkts: 6,
        outpkts: 7,
        inbytes: 8,
        outbytes: 9,
        cps: 1,
        inpps: 2,
        outpps: 3,
        inbps: 4,
        outbps: 5,
    };
    let lvsd_doc = l::LvsdStatus {
        services: vec![l::Service {
            name: "web".into(),
            protocol: "tcp".into(),
            address: Some("10.0.0.100".parse().expect("ip")),
            port: 80,
            fwmark: None,
            scheduler: "wlc".into(),
            persistent: 0,
            in_kernel: true,
            stats,
            servers: vec![l::Server {
                server: "r1".into(),
                address: "10.0.1.11".parse().expect("ip"),
                port: 80,
                state: l::ServerState::Up,
                weight: 1,
                in_kernel: true,
                reason: None,
                since_ms: Some(60_000),
                report_age_ms: Some(60_000),
                active_conns: 2,
                inactive_conns: 3,
                stats,
                certificate: None,
                draining: false,
            }],
            quorum: None,
        }],
    };
    let pulse_doc = p::PulseStatus {
        daemon: "pulse".into(),
        pid: 1,
        role: p::Role::Master,
        state: p::RouterState::Active,
        link_failure: false,
        child_failure: false,
        partner: p::Partner {
            state: p::PartnerState::Inactive,
            last_heartbeat_age_ms: Some(120),
            unwilling: false,
        },
        heartbeat: p::Heartbeat {
            mode: "enforce".into(),
            key_ids: vec![0],
            send_key: Some(0),
            keepalive: 1.0,
            deadtime: 3.0,
            accepted: 3,
            accepted_signed: 3,
            accepted_unsigned: 0,
            boot_id: 1_800_000_000,
            partner_boot_id: Some(1_800_000_001),
            drops: [("replay".to_string(), 0)].into(),
            channels: vec![],
        },
        config_digest: p::ConfigDigest {
            ours: "aa".into(),
            partner: Some("bb".into()),
            matches: Some(false),
        },
        lvsd_pid: Some(2),
    };
    let leak = |v: String| -> &'static str { Box::leak(v.into_boxed_str()) };
    let lvsd = fake_socket(
        &env.lvsd_socket,
        leak(serde_json::to_string(&lvsd_doc).expect("json") + "\n"),
    );
    let pulse = fake_socket(
        &env.pulse_socket,
        leak(serde_json::to_string(&pulse_doc).expect("json") + "\n"),
    );
    let auth = basic(PASSWORD);
    let h = [("Authorization", auth.as_str())];
    let r = request(env.addr, "GET", "/metrics", &h, b"");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("piranha_real_server_up{virtual=\"web\",server=\"r1\",address=\"10.0.1.11\",port=\"80\"} 1"), "{}", r.body);
    assert!(r.body.contains("piranha_pulse_active 1"));
    assert!(r.body.contains("piranha_config_serial 7"));
    let r = request(env.addr, "GET", "/api/v1/status", &h, b"");
    assert!(r.body.contains("\"role\":\"master\""), "{}", r.body);
    let r = request(env.addr, "GET", "/api/v1/config", &h, b"");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["serial_no"], 7);
    assert_eq!(v["virtuals"][0]["name"], "web");
    let c = login(env.addr, PASSWORD).expect("login");
    let page = c.get("/control");
    assert!(
        page.body.contains("10.0.1.11:80") && page.body.contains("<td>primary</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("differs"), "backup digest banner");
    // The list pages put the live state beside the configured flag.
    let real = c.get("/virtual/web/real");
    assert!(
        real.body.contains(r#"<span class="cfg">active</span>"#),
        "{}",
        real.body
    );
    assert!(
        real.body.contains(r#"<span class="live-up">up</span>"#),
        "{}",
        real.body
    );
    assert!(real.body.contains("2 active, 3 inactive"), "{}", real.body);
    // Edits by key path, with serial checks.
    let set = |body: &str| {
        request(
            env.addr,
            "POST",
            "/api/v1/set",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let r = set(r#"{"key":"virtual.web.port","value":"8080","serial":7}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = set(r#"{"key":"virtual.web.port","value":"8081","serial":7}"#);
    assert_eq!(r.status, 409);
    let r = set(r#"{"key":"virtual.web.port","value":"x\nactive_cmd = /bin/sh","serial":8}"#);
    assert_eq!(r.status, 400);
    let r = set(r#"{"key":"virtual.web.server.r1.weight","value":"5","serial":8}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        env.addr,
        "POST",
        "/api/v1/unset",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        br#"{"key":"virtual.web.server.r1.weight","serial":9}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("port = 8080") && !text.contains("weight") && text.contains("serial_no = 10"),
        "{text}"
    );
    // Apply asks pulse to reload.
    let r = c.submit("/virtual/web/edit", &[("port", "8082")]);
    assert_eq!(r.status, 303);
    let saved = c.get(r.header("location").unwrap_or("/"));
    assert!(saved.body.contains("Changes saved"), "banner");
    let r = request(
        env.addr,
        "POST",
        "/apply",
        &[
            ("Cookie", &c.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        urlencode(&[("csrf", &c.csrf), ("confirm", "1")]).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let got = pulse.join().expect("pulse thread");
    assert!(got.iter().any(|l| l.contains("\"reload\"")), "{got:?}");
    drop(lvsd);
}

/// Serves `answer` to every connection on a Unix socket for a few seconds;
/// returns the request lines received.
fn fake_socket(
    path: &std::path::Path,
    answer: &'static str,
) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{BufRead, BufReader, Write};
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path).expect("bind unix");
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < end {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).ok();
                    let mut r = BufReader::new(s.try_clone().expect("clone"));
                    let mut line = String::new();
                    let _ = r.read_line(&mut line);
                    let reload = line.contains("reload");
                    got.push(line);
                    let mut s = s;
                    let _ = s.write_all(if reload {
                        b"{\"ok\":true}\n"
                    } else {
                        answer.as_bytes()
                    });
                    if reload {
                        break;
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        got
    })
}

#[test]
fn edit_flow_matches_parser_edits_and_keeps_comments() {
    let env = EnvBuilder::new("flow").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let mut expected = Document::parse("lvs.cf", LVS_CF);
    let mut serial = 7u64;
    let mut bump = |d: &mut Document| {
        serial += 1;
        d.set(&Target::Global, "serial_no", &serial.to_string())
            .expect("serial");
    };
    let check = |what: &str, d: &Document| {
        let text = std::fs::read_to_string(&env.config).expect("read");
        assert_eq!(text, String::from_utf8_lossy(d.as_bytes()), "after {what}");
        assert!(
            text.contains("# a comment inside a block"),
            "comment lost after {what}"
        );
        assert!(text.contains("# a comment between globals and blocks"));
    };
    // ADD a virtual named ftp, then two real servers.
    assert_eq!(
        c.submit("/virtual", &[("virtual_service", "ADD"), ("name", "ftp")])
            .status,
        303
    );
    piranha_web::edits::add_virtual(&mut expected, Some("ftp")).expect("add");
    bump(&mut expected);
    check("ADD virtual", &expected);
    let r = c.submit(
        "/virtual/ftp/edit",
        &[
            ("address", "10.0.0.101"),
            ("device", "eth0:2"),
            ("port", "21"),
            ("sched", "rr"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    for (k, v) in [
        ("address", "10.0.0.101 eth0:2"),
        ("port", "21"),
        ("scheduler", "rr"),
    ] {
        expected
            .set(&Target::Virtual("ftp".into()), k, v)
            .expect("set");
    }
    bump(&mut expected);
    check("EDIT virtual", &expected);
    for (name, addr) in [("f1", "10.0.1.21"), ("f2", "10.0.1.22")] {
        assert_eq!(
            c.submit(
                "/virtual/ftp/real",
                &[("real_service", "ADD"), ("name", name)]
            )
            .status,
            303
        );
        piranha_web::edits::add_server(&mut expected, "ftp", Some(name)).expect("add server");
        bump(&mut expected);
        let r = c.submit(
            &format!("/virtual/ftp/real/{name}/edit"),
            &[("address", addr), ("weight", "2")],
        );
        assert_eq!(r.status, 303, "{}", r.body);
        let t = Target::Server {
            virtual_name: "ftp".into(),
            server: name.into(),
        };
        expected.set(&t, "address", addr).expect("set");
        expected.set(&t, "weight", "2").expect("set");
        bump(&mut expected);
        assert_eq!(
            c.submit_confirmed(
                "/virtual/ftp/real",
                &[("real_service", "(DE)ACTIVATE"), ("selected", name)]
            )
            .status,
            303
        );
        expected.set(&t, "active", "1").expect("set");
        bump(&mut expected);
        check("real server", &expected);
    }
    // Monitoring scripts.
    let r = c.submit(
        "/virtual/ftp/scripts",
        &[
            ("gen_service", "ACCEPT"),
            ("send", "QUIT\\r\\n"),
            ("expect", "220"),
            ("use_regex", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let t = Target::Virtual("ftp".into());
    expected.set(&t, "send", "QUIT\\r\\n").expect("set");
    expected.set(&t, "expect", "220").expect("set");
    expected.set(&t, "use_regex", "1").expect("set");
    bump(&mut expected);
    check("scripts", &expected);
    assert_eq!(
        c.submit("/virtual/ftp/scripts", &[("gen_service", "BLANK SEND")])
            .status,
        303
    );
    expected.unset(&t, "send").expect("unset");
    bump(&mut expected);
    check("blank send", &expected);
    // Activate, deactivate, delete.
    for want in ["1", "0"] {
        assert_eq!(
            c.submit_confirmed(
                "/virtual",
                &[("virtual_service", "(DE)ACTIVATE"), ("selected", "ftp")]
            )
            .status,
            303
        );
        expected.set(&t, "active", want).expect("set");
        bump(&mut expected);
        check("toggle", &expected);
    }
    assert_eq!(
        c.submit_confirmed(
            "/virtual",
            &[("virtual_service", "DELETE"), ("selected", "ftp")]
        )
        .status,
        303
    );
    expected.remove(&t).expect("remove");
    bump(&mut expected);
    check("DELETE", &expected);
    // Saving an unchanged form writes nothing.
    let before = file_state(&env.config);
    let page = c.get("/global");
    let v = extract(&page.body, "version").expect("version");
    let r = c.post_form(
        "/global",
        &v,
        &[
            ("PriLVSIP", "10.0.0.1"),
            ("tcp_timeout", "0"),
            ("network", "direct"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(before, file_state(&env.config));
}

#[test]
fn fltd05_symlinked_config_is_refused() {
    let env = EnvBuilder::new("symlink").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let v = c.version("/virtual/web/edit");
    let victim = env.dir.join("victim");
    std::fs::write(&victim, LVS_CF).expect("victim");
    std::fs::remove_file(&env.config).expect("rm");
    std::os::unix::fs::symlink(&victim, &env.config).expect("symlink");
    let r = c.post_form("/virtual/web/edit", &v, &[("port", "81")]);
    assert!(r.status >= 500, "{}", r.status);
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), LVS_CF);
    assert!(std::fs::symlink_metadata(&env.config)
        .expect("stat")
        .file_type()
        .is_symlink());
}

#[test]
fn fltd01_enospc_leaves_the_file_alone() {
    let fs = match Tmpfs::mount("enospc-mnt", "64k") {
        Ok(f) => f,
        Err(why) => {
            skip(&format!("fltd01: {why}"));
            return;
        }
    };
    let mnt = fs.0.clone();
    let env = EnvBuilder {
        config_dir: Some(mnt.clone()),
        ..EnvBuilder::new("enospc")
    }
    .start();
    let c = login(env.addr, PASSWORD).expect("login");
    let v = c.version("/virtual/web/edit");
    // Fill the filesystem.
    let filler = mnt.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1024 * 1024]);
    let r = c.post_form("/virtual/web/edit", &v, &[("port", "81")]);
    assert!(matches!(r.status, 507 | 500), "{} {}", r.status, r.body);
    assert!(r.body.contains("not changed"));
    assert_eq!(std::fs::read_to_string(&env.config).expect("read"), LVS_CF);
    let temps: Vec<_> = std::fs::read_dir(&mnt)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn priv03_piranha_passwd() {
    let exe = env!("CARGO_BIN_EXE_piranha-passwd");
    let dir = tempdir("passwd");
    let file = dir.join("piranha.passwd");
    let out = std::process::Command::new(exe)
        .args(["--passwd-file"])
        .arg(&file)
        .arg("hunter2")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("command line"));
    assert!(!file.exists());
    let run = |input: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(exe)
            .arg("--passwd-file")
            .arg(&file)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let out = run("abc\nabd\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Passwords do not match."));
    // Watch the directory while the file is created: it is never readable
    // by group or others at any moment.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let dir = dir.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            use std::os::unix::fs::PermissionsExt;
            let mut bad = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if let Ok(m) = e.metadata() {
                        if m.permissions().mode() & 0o077 != 0 {
                            bad.push(e.file_name());
                        }
                    }
                }
            }
            bad
        })
    };
    let out = run("correct horse\ncorrect horse\n");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let bad = watcher.join().expect("watcher");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bad.is_empty(), "readable by others: {bad:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&file).expect("read");
    let entries = piranha_web::htpasswd::parse(&text);
    assert!(entries[0].hash.starts_with("$2y$"));
    assert!(piranha_web::htpasswd::check_login(
        &entries,
        "piranha",
        "correct horse"
    ));
}

#[test]
fn web08_no_shell_anywhere() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().map(|x| x == "rs").unwrap_or(false) {
                let text = std::fs::read_to_string(&p).expect("read");
                for bad in ["Command::new(\"sh\"", "Command::new(\"bash\"", "\"-c\""] {
                    assert!(!text.contains(bad), "{} contains {bad}", p.display());
                }
            }
        }
    }
}

#[test]
fn web10_tls_sets_secure_cookies() {
    let dir = tempdir("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status();
    if !matches!(made, Ok(s) if s.success()) {
        skip("web10: openssl is not installed");
        return;
    }
    let tls = piranha_web::server::tls_config(&cert, &key).expect("tls config");
    let env = EnvBuilder {
        tls: Some(tls),
        ..EnvBuilder::new("tls")
    }
    .start();
    // Plain HTTP on the TLS port gets no page.
    let r = request(env.addr, "GET", "/login", &[], b"");
    assert_ne!(r.status, 200);
    let out = std::process::Command::new("curl")
        .args(["-sk", "-i", "--max-time", "10", "-d"])
        .arg(format!(
            "user=piranha&password={}",
            PASSWORD.replace(' ', "+")
        ))
        .arg(format!("https://127.0.0.1:{}/login", env.addr.port()))
        .output();
    let Ok(out) = out else {
        skip("web10: curl is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 303"), "{text}");
    let cookie = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or("");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
}

/// Unix sockets where pulse and lvsd would listen, to prove the GUI did not
/// contact them: `untouched` is true while nobody has connected.
struct DaemonSockets(Vec<std::os::unix::net::UnixListener>);

impl DaemonSockets {
    fn bind(paths: &[&std::path::Path]) -> DaemonSockets {
        use std::os::unix::fs::PermissionsExt;
        DaemonSockets(
            paths
                .iter()
                .map(|p| {
                    let _ = std::fs::remove_file(p);
                    let l = std::os::unix::net::UnixListener::bind(p).expect("bind unix");
                    l.set_nonblocking(true).expect("nonblocking");
                    // Connectable by an unprivileged GUI too.
                    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666))
                        .expect("chmod");
                    l
                })
                .collect(),
        )
    }

    /// Drops the connections made so far (the status queries of the
    /// CONTROL page that `login` loads).
    fn forget_status_queries(&self) {
        for l in &self.0 {
            while l.accept().is_ok() {}
        }
    }

    fn untouched(&self) -> bool {
        self.0
            .iter()
            .all(|l| matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
    }
}

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect()
}

/// FLT-D02 (T1): lvs.cf on a file system that became read-only: the save
/// is refused with a 500 naming the problem, lvs.cf is byte-identical, no
/// temporary file, and neither daemon is contacted.
#[test]
fn fltd02_read_only_filesystem() {
    let fs = match Tmpfs::mount("erofs-mnt", "1m") {
        Ok(f) => f,
        Err(why) => {
            skip(&format!("fltd02 EROFS: {why}"));
            return;
        }
    };
    let mnt = fs.0.clone();
    let env = EnvBuilder {
        config_dir: Some(mnt.clone()),
        ..EnvBuilder::new("erofs")
    }
    .start();
    let daemons = DaemonSockets::bind(&[&env.pulse_socket, &env.lvsd_socket]);
    let c = login(env.addr, PASSWORD).expect("login");
    let v = c.version("/virtual/web/edit");
    daemons.forget_status_queries();
    let st = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&mnt)
        .status();
    assert!(matches!(st, Ok(s) if s.success()), "remount read-only");
    let r = c.post_form("/virtual/web/edit", &v, &[("port", "81")]);
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("Read-only file system"), "{}", r.body);
    assert!(r.body.contains("not changed"), "{}", r.body);
    // The JSON API reports it the same way.
    let api = request(
        env.addr,
        "POST",
        "/api/v1/set",
        &[
            ("Authorization", &basic(PASSWORD)),
            ("Content-Type", "application/json"),
        ],
        br#"{"serial": 7, "key": "virtual.web.port", "value": "82"}"#,
    );
    assert_eq!(api.status, 500, "{}", api.body);
    assert!(api.body.contains("Read-only file system"), "{}", api.body);
    assert_eq!(std::fs::read_to_string(&env.config).expect("read"), LVS_CF);
    assert_eq!(temp_files(&mnt), Vec::<String>::new());
    assert!(daemons.untouched(), "a daemon was contacted");
}

/// FLT-D02 (T1): the real binary, run as an unprivileged uid, with lvs.cf
/// writable but its directory not (EACCES when creating the temporary
/// file): 500 naming the problem, lvs.cf byte-identical, no temporary file,
/// no daemon contacted.
#[test]
fn fltd02_directory_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        skip("fltd02 EACCES: needs root to run the GUI as another uid");
        return;
    }
    const NOBODY: u32 = 65534;
    // Under /tmp: the unprivileged server must reach every path.
    let dir = std::env::temp_dir().join(format!("piranha-web-eacces-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("mkdir");
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Remove(dir.clone());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = dir.join("lvs.cf");
    std::fs::write(&config, LVS_CF).expect("write");
    // The file and its lock are the GUI's to write; the directory is not.
    let lock = dir.join(".lvs.cf.lock");
    std::fs::write(&lock, "").expect("lock");
    for p in [&config, &lock] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    }
    let passwd = dir.join("piranha.passwd");
    let h = piranha_web::htpasswd::hash_with_cost(PASSWORD, 4).expect("hash");
    std::fs::write(&passwd, format!("piranha:{h}\n")).expect("passwd");
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (pulse, lvsd) = (dir.join("pulse.sock"), dir.join("lvsd.sock"));
    let daemons = DaemonSockets::bind(&[&pulse, &lvsd]);
    let args = [
        "--config".as_ref(),
        config.as_os_str(),
        "--passwd-file".as_ref(),
        passwd.as_os_str(),
        "--pulse-socket".as_ref(),
        pulse.as_os_str(),
        "--lvsd-socket".as_ref(),
        lvsd.as_os_str(),
    ];
    let gui = Gui::start(&args, Some((NOBODY, NOBODY)), true).expect("piranha-web");
    let addr = gui.addr;
    let c = login(addr, PASSWORD).expect("login");
    let v = c.version("/virtual/web/edit");
    daemons.forget_status_queries();
    let r = c.post_form("/virtual/web/edit", &v, &[("port", "81")]);
    let log = gui.stop();
    assert_eq!(r.status, 500, "{}\nlog:\n{log}", r.body);
    for part in ["Permission denied", "temporary file", "not changed"] {
        assert!(r.body.contains(part), "{part:?} missing: {}", r.body);
    }
    assert_eq!(std::fs::read_to_string(&config).expect("read"), LVS_CF);
    assert_eq!(temp_files(&dir), Vec::<String>::new());
    assert!(daemons.untouched(), "a daemon was contacted");
}

/// WEB-03: 100 wrong passwords from one address, then 100 from 50
/// addresses (two each): one address gets 5 checks; once the user-wide
/// brake is on (10 failures) every other address gets one guess and then
/// waits (429), so the second round is refused throughout; the right
/// password from an address that never failed still logs in (I18 item 5:
/// nobody can lock the admin out), and a session opened before keeps
/// working.
#[test]
fn web03_brute_force_from_many_addresses() {
    let env = EnvBuilder::new("web03many").start();
    let good = login(env.addr, PASSWORD).expect("login");
    let one: Vec<u16> = (0..100)
        .map(|i| login_status_from([127, 0, 0, 1].into(), env.addr, &format!("wrong{i}")))
        .collect();
    let many: Vec<u16> = (0..100)
        .map(|i| {
            let src = std::net::Ipv4Addr::new(127, 0, 1, 2 + (i % 50) as u8);
            login_status_from(src, env.addr, &format!("other{i}"))
        })
        .collect();
    for s in one.iter().chain(&many) {
        assert!(matches!(s, 401 | 429), "{s}");
    }
    let checked = |v: &[u16]| v.iter().filter(|s| **s == 401).count();
    assert_eq!(checked(&one), 5, "one address: {one:?}");
    assert_eq!(checked(&many[..50]), 50, "first guesses: {many:?}");
    assert_eq!(checked(&many[50..]), 0, "second guesses: {many:?}");
    // The brake is on; the failed addresses wait even with the password.
    assert_eq!(
        login_status_from([127, 0, 1, 2].into(), env.addr, PASSWORD),
        429
    );
    // The admin's own address has not failed: the right password works.
    assert_eq!(
        login_status_from([127, 0, 2, 9].into(), env.addr, PASSWORD),
        303
    );
    assert_eq!(good.get("/control").status, 200);
}

/// The binary keeps answering when its stderr is closed (it used to drop
/// every request that logged a line: tracing-subscriber's error report
/// panicked on the closed pipe).
#[test]
fn a_closed_stderr_does_not_break_requests() {
    let dir = tempdir("stderr");
    let config = dir.join("lvs.cf");
    std::fs::write(&config, LVS_CF).expect("write");
    let passwd = dir.join("piranha.passwd");
    let h = piranha_web::htpasswd::hash_with_cost(PASSWORD, 4).expect("hash");
    std::fs::write(&passwd, format!("piranha:{h}\n")).expect("passwd");
    let (pulse, lvsd) = (dir.join("pulse.sock"), dir.join("lvsd.sock"));
    let args = [
        "--config".as_ref(),
        config.as_os_str(),
        "--passwd-file".as_ref(),
        passwd.as_os_str(),
        "--pulse-socket".as_ref(),
        pulse.as_os_str(),
        "--lvsd-socket".as_ref(),
        lvsd.as_os_str(),
    ];
    // Its stderr is closed once it listens.
    let gui = Gui::start(&args, None, false).expect("piranha-web");
    let addr = gui.addr;
    // A failed login logs a warning: still answered.
    let r = login(addr, "wrong").expect_err("wrong password");
    assert_eq!(r.status, 401);
    let c = login(addr, PASSWORD).expect("login");
    assert_eq!(c.get("/control").status, 200);
}

/// The failover pages (reachable by URL, not linked from the tabs, as in
/// Piranha since 0.7.4): ADD, EDIT (Name, Address, Netmask, Port, Device, Timeout), the
/// monitoring scripts with start/stop commands, (DE)ACTIVATE and DELETE,
/// each written exactly as the parser's edit API would; with the same
/// CSRF, validation and stale-edit (409) behaviour as every panel.
#[test]
fn failover_pages_edit_failover_blocks() {
    let env = EnvBuilder {
        programs: Some(trusted_allowlist(&["/bin/true start"])),
        ..EnvBuilder::new("failover")
    }
    .start();
    let c = login(env.addr, PASSWORD).expect("login");
    let control = c.get("/control");
    assert!(
        !control.body.contains("href=\"/failover"),
        "linked from the tabs: {}",
        control.body
    );
    let mut expected = Document::parse("lvs.cf", LVS_CF);
    let mut serial = 7u64;
    let mut bump = |d: &mut Document| {
        serial += 1;
        d.set(&Target::Global, "serial_no", &serial.to_string())
            .expect("serial");
    };
    let check = |what: &str, d: &Document| {
        let text = std::fs::read_to_string(&env.config).expect("read");
        assert_eq!(text, String::from_utf8_lossy(d.as_bytes()), "after {what}");
        assert!(text.contains("# a comment inside a block"), "{what}");
    };
    assert_eq!(c.get("/failover").status, 200);
    let r = c.submit(
        "/failover",
        &[("failover_service", "ADD"), ("name", "fo web")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    expected.add_failover("fo_web").expect("add");
    let fo = |n: &str| Target::Failover(n.to_string());
    for (k, v) in piranha_web::edits::FAILOVER_DEFAULTS {
        expected.set(&fo("fo_web"), k, v).expect("default");
    }
    bump(&mut expected);
    check("ADD", &expected);
    assert!(c.get("/failover").body.contains("fo_web"));

    // EDIT with every field of the page, including a rename.
    let r = c.submit(
        "/failover/fo_web/edit",
        &[
            ("name", "fo1"),
            ("address", "10.0.0.200"),
            ("device", "eth0:2"),
            ("vip_nmask", "255.255.255.0"),
            ("port", "8080"),
            ("timeout", "10"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/failover/fo1/edit?saved=1"));
    for (k, v) in [
        ("address", "10.0.0.200 eth0:2"),
        ("vip_nmask", "255.255.255.0"),
        ("port", "8080"),
        ("timeout", "10"),
    ] {
        expected.set(&fo("fo_web"), k, v).expect("set");
    }
    expected.rename(&fo("fo_web"), "fo1").expect("rename");
    bump(&mut expected);
    check("EDIT", &expected);
    let page = c.get("/failover/fo1/edit");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("10.0.0.200") && page.body.contains("eth0:2"));

    // Validation: the field's error next to it, nothing written.
    let before = file_state(&env.config);
    let r = c.submit(
        "/failover/fo1/edit",
        &[("port", "notaport"), ("timeout", "5")],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("id=\"err-port\""), "{}", r.body);
    assert_eq!(before, file_state(&env.config));
    // CSRF and stale edits, as on every panel.
    let v = c.version("/failover/fo1/edit");
    let no_token = request(
        env.addr,
        "POST",
        "/failover/fo1/edit",
        &[
            ("Cookie", &c.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        urlencode(&[("version", &v), ("port", "81")]).as_bytes(),
    );
    assert_eq!(no_token.status, 403);
    let other = login(env.addr, PASSWORD).expect("second session");
    assert_eq!(
        other
            .submit("/failover/fo1/edit", &[("timeout", "12")])
            .status,
        303
    );
    expected.set(&fo("fo1"), "timeout", "12").expect("set");
    bump(&mut expected);
    let stale = c.post_form("/failover/fo1/edit", &v, &[("port", "81")]);
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("value=\"12\""), "current values shown");
    check("409", &expected);

    // MONITORING SCRIPTS: start/stop commands through the exec policy.
    let r = c.submit("/failover/fo1/scripts", &[("start_cmd", "bin/start")]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("id=\"err-start_cmd\""), "{}", r.body);
    let r = c.submit(
        "/failover/fo1/scripts",
        &[("start_cmd", "/bin/true start"), ("expect", "OK")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    expected.set(&fo("fo1"), "expect", "OK").expect("set");
    expected
        .set(&fo("fo1"), "start_cmd", "/bin/true start")
        .expect("set");
    bump(&mut expected);
    check("scripts", &expected);

    // (DE)ACTIVATE, then DELETE.
    let r = c.submit_confirmed(
        "/failover",
        &[("failover_service", "(DE)ACTIVATE"), ("selected", "fo1")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    expected.set(&fo("fo1"), "active", "1").expect("set");
    bump(&mut expected);
    check("ACTIVATE", &expected);
    let r = c.submit_confirmed(
        "/failover",
        &[("failover_service", "DELETE"), ("selected", "fo1")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    expected.remove(&fo("fo1")).expect("remove");
    bump(&mut expected);
    check("DELETE", &expected);
    assert_eq!(c.get("/failover/fo1/edit").status, 404);
}

#[test]
fn ipv6_virtual_gets_a_persistence_prefix_from_the_select() {
    let v6 = LVS_CF
        .replace(
            "address = 10.0.0.100 eth0:1",
            "address = 2001:db8::100 eth0:1",
        )
        .replace("address = 10.0.1.11", "address = 2001:db8:1::11");
    let mut b = EnvBuilder::new("pmask6");
    b.config_text = Some(v6);
    let env = b.start();
    let c = login(env.addr, PASSWORD).expect("login");
    let page = c.get("/virtual/web/edit");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(r#"<option value="64">/64 (IPv6)</option>"#),
        "no IPv6 prefix in the persistence select"
    );
    let r = c.submit(
        "/virtual/web/edit",
        &[("persistent", "300"), ("pmask", "64")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(text.contains("pmask = 64"), "{text}");
    assert!(text.contains("# a comment inside a block"));
    // The page shows it selected.
    let page = c.get("/virtual/web/edit");
    assert!(page
        .body
        .contains(r#"<option value="64" selected>/64 (IPv6)</option>"#));
    // An IPv4 netmask on an IPv6 virtual is refused next to the field, and
    // the file is left as it was.
    let before = sha256_file(&env.config);
    let r = c.submit("/virtual/web/edit", &[("pmask", "255.255.255.0")]);
    assert_ne!(r.status, 303);
    assert!(r.body.contains("err-pmask"), "{}", r.body);
    assert_eq!(before, sha256_file(&env.config));
}

/// Security review, HIGH 1, at the web tool: it refuses to save a program
/// the daemons' allowlist does not list (through the API and the forms,
/// the load monitor's command made of `load_monitor` and `rsh_command`
/// included), says why, leaves lvs.cf untouched, and shows the list on the
/// pages with program fields. (The daemons refuse them anyway: see pulse's
/// and nanny's exec-policy tests.)
/// Reliability catalogue PRIV-02 (docs/RELIABILITY.md).
#[test]
fn programs_follow_the_daemons_exec_policy() {
    let programs = trusted_allowlist(&["/bin/true %h uptime", "/bin/true start"]);
    let env = EnvBuilder {
        programs: Some(programs.clone()),
        ..EnvBuilder::new("programs")
    }
    .start();
    let auth = basic(PASSWORD);
    let call = |path: &str, body: &str| {
        request(
            env.addr,
            "POST",
            path,
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let serial = || {
        Document::parse("lvs.cf", std::fs::read(&env.config).expect("read"))
            .config()
            .serial_no
    };
    let refused = |key: &str, value: &str| {
        let before = sha256_file(&env.config);
        let body = serde_json::json!({"key": key, "value": value, "serial": serial()}).to_string();
        let r = call("/api/v1/set", &body);
        assert_eq!(r.status, 400, "{key} = {value}: {}", r.body);
        assert!(
            r.body.contains("the daemons would not run this"),
            "{}",
            r.body
        );
        assert_eq!(before, sha256_file(&env.config), "lvs.cf changed");
        r.body
    };
    let body = refused("active_cmd", "/usr/bin/env /tmp/x/evil.sh");
    assert!(body.contains("is not listed in"), "{body}");
    assert!(body.contains(&programs.display().to_string()), "{body}");
    refused("inactive_cmd", "/bin/sh -c id");
    refused("virtual.web.send_program", "/bin/sh -c echo${IFS}x %h");
    // The load monitor: allowed with the listed remote shell...
    let ok = |key: &str, value: &str| {
        let body = serde_json::json!({"key": key, "value": value, "serial": serial()}).to_string();
        let r = call("/api/v1/set", &body);
        assert_eq!(r.status, 200, "{key} = {value}: {}", r.body);
    };
    ok("rsh_command", "/bin/true");
    ok("virtual.web.load_monitor", "uptime");
    // ... and refused when the remote shell becomes a launcher.
    let body = refused("rsh_command", "/usr/bin/env /tmp/x/evil.sh");
    assert!(
        body.contains("/usr/bin/env /tmp/x/evil.sh %h uptime"),
        "{body}"
    );
    // The forms: the same rule, the error next to the field, and the list.
    let c = login(env.addr, PASSWORD).expect("login");
    let page = c.get("/global");
    assert!(
        page.body.contains("id=\"allowed-programs\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("/bin/true start"), "{}", page.body);
    let before = sha256_file(&env.config);
    let r = c.submit("/global", &[("active_cmd", "/usr/bin/env /tmp/x/evil.sh")]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("id=\"err-active_cmd\""), "{}", r.body);
    assert_eq!(before, sha256_file(&env.config));
    let r = c.submit("/global", &[("active_cmd", "/bin/true start")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get("/virtual/web/scripts");
    assert!(page.body.contains("/bin/true %h uptime"), "{}", page.body);
}

/// Media types are case-insensitive (RFC 9110, 8.3.1), and
/// `application/jsonp` is not JSON: the API used to refuse the first with
/// 415 and read the second.
#[test]
fn api_reads_the_json_media_type_as_http_defines_it() {
    let env = EnvBuilder::new("api-ctype").start();
    let auth = basic(PASSWORD);
    let set = |ctype: &str, serial: u64| {
        request(
            env.addr,
            "POST",
            "/api/v1/set",
            &[("Authorization", auth.as_str()), ("Content-Type", ctype)],
            format!(r#"{{"key":"virtual.web.port","value":"8080","serial":{serial}}}"#).as_bytes(),
        )
    };
    let r = set("Application/JSON; charset=UTF-8", 7);
    assert_eq!(r.status, 200, "{}", r.body);
    for ctype in [
        "application/jsonp",
        "application/json-seq",
        "text/plain",
        "",
    ] {
        let r = set(ctype, 8);
        assert_eq!(r.status, 415, "{ctype}: {}", r.body);
    }
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("port = 8080") && text.contains("serial_no = 8"),
        "{text}"
    );
}

/// MONITORING SCRIPTS: the native check and quorum fields (our extension
/// keywords), each with its label, validated by the parser the daemons
/// use (crates/lvscf-parser/src/native.rs), written in the panel's order,
/// an empty field (or check = none) removing the keyword.
#[test]
fn native_check_fields_on_monitoring_scripts() {
    let env = EnvBuilder::new("native-checks").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let page = c.get("/virtual/web/scripts");
    for f in [
        "check",
        "check_url",
        "check_status",
        "check_host",
        "check_ca",
        "check_cert_days",
        "check_query",
        "quorum",
        "hysteresis",
    ] {
        assert!(
            page.body.contains(&format!("<label for=\"{f}\">")),
            "no label for {f}: {}",
            page.body
        );
    }
    let accept = |fields: &[(&str, &str)]| {
        let mut all = vec![("gen_service", "ACCEPT")];
        all.extend_from_slice(fields);
        c.submit("/virtual/web/scripts", &all)
    };
    let fields = [
        ("check", "https"),
        ("check_url", "/healthz"),
        ("check_status", "200-299,301"),
        ("check_host", "www.example.com"),
        ("check_ca", "/etc/ssl/certs/ca.pem"),
        ("check_cert_days", "21"),
        ("check_query", ""),
        ("quorum", "2"),
        ("hysteresis", "1"),
    ];
    // The file's `send` now has no effect: the warning comes first (I16
    // item 5), and SAVE ANYWAY saves.
    let r = accept(&fields);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("`send` is not used"), "{}", r.body);
    let mut anyway = fields.to_vec();
    anyway.push(("save_anyway", "1"));
    let r = accept(&anyway);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    let order = [
        "check = https",
        "check_url = /healthz",
        "check_status = 200-299,301",
        "check_host = www.example.com",
        "check_ca = /etc/ssl/certs/ca.pem",
        "check_cert_days = 21",
        "quorum = 2",
        "hysteresis = 1",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|l| {
            text.find(l)
                .unwrap_or_else(|| panic!("{l} missing: {text}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "not in the panel's order: {text}"
    );
    assert!(text.contains("serial_no = 8"), "{text}");
    let loaded = lvscf_parser::parse("lvs.cf", text.as_bytes()).expect("loads");
    let h = &loaded.config.virtuals[0].health;
    assert_eq!(h.check, Some(lvscf_parser::CheckType::Https));
    assert_eq!((h.quorum, h.hysteresis), (Some(2), Some(1)));
    // The page shows the values it saved.
    let page = c.get("/virtual/web/scripts");
    assert!(
        page.body.contains(r#"<option value="https" selected>"#)
            && page.body.contains(r#"value="/healthz""#),
        "{}",
        page.body
    );

    // What the parser refuses is refused on its field; nothing is saved.
    let before = std::fs::read_to_string(&env.config).expect("read");
    for (field, value) in [
        ("check_url", "healthz"),
        ("check_status", "200-700"),
        ("check_cert_days", "soon"),
        ("quorum", "-1"),
        ("check", "ftp"),
    ] {
        let r = accept(&[(field, value)]);
        assert_eq!(r.status, 400, "{field}={value}: {}", r.body);
        assert!(
            r.body.contains(&format!("id=\"err-{field}\"")),
            "{field}={value}: the error is not on its field: {}",
            r.body
        );
        assert_eq!(
            before,
            std::fs::read_to_string(&env.config).expect("read"),
            "{field}={value} changed lvs.cf"
        );
    }

    // A DNS check with its question; then none, and empty fields remove
    // their keywords.
    // The http-only fields left in the file have no effect with dns: a
    // warning first, then SAVE ANYWAY.
    let dns = [("check", "dns"), ("check_query", "www.example.com AAAA")];
    let r = accept(&dns);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body
            .contains("`check_url` has no effect with `check = dns`"),
        "{}",
        r.body
    );
    let r = accept(&[dns[0], dns[1], ("save_anyway", "1")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("check = dns") && text.contains("check_query = www.example.com AAAA"),
        "{text}"
    );
    let r = accept(&[
        ("check", ""),
        ("check_url", ""),
        ("check_status", ""),
        ("check_host", ""),
        ("check_ca", ""),
        ("check_cert_days", ""),
        ("check_query", ""),
        ("quorum", ""),
        ("hysteresis", ""),
    ]);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        !text.contains("check") && !text.contains("quorum"),
        "{text}"
    );
    // send/expect untouched throughout.
    assert!(text.contains("expect = \"HTTP\""), "{text}");
}
