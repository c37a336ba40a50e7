//! Headless Chromium drives the real server through chromedriver
//! (fantoccini): log in, add a virtual server with two real servers, edit
//! its monitoring scripts, deactivate and delete it, comparing lvs.cf with
//! the parser's own edits after each step; screenshots of every panel go to
//! `target/web-screenshots/`; an XSS payload in names must run no script.
//! Skipped, with the reason printed, when chromium or chromedriver is
//! missing; under CI (which installs both) that is a failure.

mod common;

use common::chromium::*;
use common::*;
use fantoccini::Locator;
use lvscf_parser::{Document, Target};
use std::path::Path;
use std::time::{Duration, Instant};

/// Reliability catalogue WEB-07 (docs/RELIABILITY.md).
#[test]
fn browser_edit_flow_screenshots_and_xss() {
    let Some((_driver, port, chromium)) = start_driver() else {
        return;
    };
    let env = EnvBuilder::new("browser").start();
    let profile = tempdir("chromium-profile");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let c = browser(port, &chromium, &profile).await;
        let base = format!("http://{}", env.addr);
        let mut expected = Document::parse("lvs.cf", LVS_CF);
        let mut serial = 7u64;
        let check = |what: &str, d: &Document| {
            // The click returns when the browser has sent the form; wait for
            // the save to land (at most 10 s).
            let want = String::from_utf8_lossy(d.as_bytes()).to_string();
            let end = Instant::now() + Duration::from_secs(10);
            while std::fs::read_to_string(&env.config).unwrap_or_default() != want
                && Instant::now() < end
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let text = std::fs::read_to_string(&env.config).expect("read");
            assert_eq!(text, String::from_utf8_lossy(d.as_bytes()), "after {what}");
            assert!(
                text.contains("# a comment inside a block"),
                "comment lost after {what}"
            );
            assert!(text.contains("this comment must survive"));
        };
        let mut bump = |d: &mut Document| {
            serial += 1;
            d.set(&Target::Global, "serial_no", &serial.to_string())
                .expect("serial");
        };

        // Login.
        c.goto(&format!("{base}/control")).await.expect("goto");
        assert!(title(&c).await.starts_with("Piranha ("));
        shot(&c, "00-login").await;
        fill(&c, "password", PASSWORD).await;
        find(&c, Locator::Id("login"))
            .await
            .click()
            .await
            .expect("click");
        // The click returns once the form is sent, maybe before the next
        // page has replaced the login page.
        let want = "Piranha (Control/Monitoring)";
        let end = Instant::now() + Duration::from_secs(10);
        let mut now = title(&c).await;
        while now != want && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(50)).await;
            now = title(&c).await;
        }
        assert_eq!(
            now,
            want,
            "after login; page: {}",
            c.source().await.unwrap_or_default()
        );
        shot(&c, "01-control").await;

        c.goto(&format!("{base}/global")).await.expect("goto");
        shot(&c, "02-global-settings").await;
        c.goto(&format!("{base}/redundancy")).await.expect("goto");
        shot(&c, "03-redundancy").await;

        // ADD a virtual server.
        c.goto(&format!("{base}/virtual")).await.expect("goto");
        fill(&c, "name", "ftp").await;
        press(&c, "virtual_service", "ADD").await;
        piranha_web::edits::add_virtual(&mut expected, Some("ftp")).expect("add");
        bump(&mut expected);
        check("ADD", &expected);
        shot(&c, "04-virtual-servers").await;

        // VIRTUAL SERVER subpanel.
        c.goto(&format!("{base}/virtual/ftp/edit"))
            .await
            .expect("goto");
        fill(&c, "address", "10.0.0.101").await;
        fill(&c, "device", "eth0:2").await;
        fill(&c, "port", "21").await;
        find(&c, Locator::Id("sched"))
            .await
            .select_by_value("rr")
            .await
            .expect("select");
        press(&c, "vev_action", "ACCEPT").await;
        let t = Target::Virtual("ftp".into());
        for (k, v) in [
            ("address", "10.0.0.101 eth0:2"),
            ("port", "21"),
            ("scheduler", "rr"),
        ] {
            expected.set(&t, k, v).expect("set");
        }
        bump(&mut expected);
        check("virtual edit", &expected);
        shot(&c, "05-virtual-server").await;

        // Two real servers.
        for (name, addr) in [("f1", "10.0.1.21"), ("f2", "10.0.1.22")] {
            c.goto(&format!("{base}/virtual/ftp/real"))
                .await
                .expect("goto");
            fill(&c, "name", name).await;
            press(&c, "real_service", "ADD").await;
            piranha_web::edits::add_server(&mut expected, "ftp", Some(name)).expect("add");
            bump(&mut expected);
            check("ADD real", &expected);
            pick(&c, name).await;
            press(&c, "real_service", "EDIT").await;
            fill(&c, "address", addr).await;
            fill(&c, "weight", "2").await;
            if name == "f2" {
                shot(&c, "07-real-server-edit").await;
            }
            press(&c, "edit_action", "ACCEPT").await;
            let st = Target::Server {
                virtual_name: "ftp".into(),
                server: name.into(),
            };
            expected.set(&st, "address", addr).expect("set");
            expected.set(&st, "weight", "2").expect("set");
            bump(&mut expected);
            check("EDIT real", &expected);
            c.goto(&format!("{base}/virtual/ftp/real"))
                .await
                .expect("goto");
            pick(&c, name).await;
            press(&c, "real_service", "(DE)ACTIVATE").await;
            confirm(&c).await;
            expected.set(&st, "active", "1").expect("set");
            bump(&mut expected);
            check("activate real", &expected);
        }
        shot(&c, "06-real-servers").await;

        // MONITORING SCRIPTS.
        c.goto(&format!("{base}/virtual/ftp/scripts"))
            .await
            .expect("goto");
        fill(&c, "send", "QUIT\\r\\n").await;
        fill(&c, "expect", "220").await;
        press(&c, "gen_service", "ACCEPT").await;
        expected.set(&t, "send", "QUIT\\r\\n").expect("set");
        expected.set(&t, "expect", "220").expect("set");
        bump(&mut expected);
        check("scripts", &expected);
        shot(&c, "08-monitoring-scripts").await;

        // Activate, deactivate, delete.
        for want in ["1", "0"] {
            c.goto(&format!("{base}/virtual")).await.expect("goto");
            pick(&c, "ftp").await;
            press(&c, "virtual_service", "(DE)ACTIVATE").await;
            confirm(&c).await;
            expected.set(&t, "active", want).expect("set");
            bump(&mut expected);
            check("toggle", &expected);
        }
        c.goto(&format!("{base}/virtual")).await.expect("goto");
        pick(&c, "ftp").await;
        press(&c, "virtual_service", "DELETE").await;
        wait_confirmation(&c).await;
        shot(&c, "08b-confirm-delete").await;
        confirm(&c).await;
        expected.remove(&t).expect("remove");
        bump(&mut expected);
        check("DELETE", &expected);

        // A field error is shown next to its field.
        c.goto(&format!("{base}/virtual/web/edit"))
            .await
            .expect("goto");
        fill(&c, "port", "notaport").await;
        press(&c, "vev_action", "ACCEPT").await;
        let err = find(&c, Locator::Id("err-port")).await;
        assert!(!err.text().await.expect("text").is_empty());
        shot(&c, "09-field-error").await;
        check("refused edit", &expected);

        // XSS: names holding markup run no script anywhere.
        let xss = LVS_CF
            .replace(
                "virtual web {",
                "virtual x\"><img/src=x/onerror=window.__xss=1> {",
            )
            .replace("server r1 {", "server <script>window.__xss=2</script> {");
        std::fs::write(&env.config, xss).expect("write");
        for path in [
            "/virtual",
            "/virtual/x%22%3E%3Cimg%2Fsrc%3Dx%2Fonerror%3Dwindow.__xss%3D1%3E/real",
            "/control?rate=%3Cscript%3Ewindow.__xss%3D3%3C%2Fscript%3E&auto_update=1",
        ] {
            c.goto(&format!("{base}{path}")).await.expect("goto");
            let ran = c
                .execute(
                    "return typeof window.__xss === 'undefined' ? 0 : 1;",
                    vec![],
                )
                .await
                .expect("execute");
            assert_eq!(ran, serde_json::json!(0), "a script ran on {path}");
        }
        shot(&c, "10-xss-escaped").await;
        c.close().await.expect("close");
    });
    let _ = std::fs::remove_dir_all(&profile);
}

/// The systemd lab's `web-on-3636` step (tests/os/steps.sh): a real router's
/// web tool, served by piranha-gui.service and reached through qemu's
/// forwarded port. Logs in, changes one weight of the lab's lvs.cf
/// (`virtual web`, server `LAB_WEB_SERVER`, weight `LAB_WEB_WEIGHT`), saves,
/// then presses "COPY lvs.cf TO BACKUP". Run only by the lab (`--ignored`,
/// with `LAB_WEB_URL` and `LAB_WEB_PASSWORD`); without chromium it fails.
#[test]
#[ignore = "run by tests/os/lab against a router guest"]
fn lab_router_save_and_copy_to_backup() {
    let url = std::env::var("LAB_WEB_URL").expect("LAB_WEB_URL (tests/os/lab sets it)");
    let password = std::env::var("LAB_WEB_PASSWORD").expect("LAB_WEB_PASSWORD");
    let server = std::env::var("LAB_WEB_SERVER").unwrap_or_else(|_| "s3".into());
    let weight = std::env::var("LAB_WEB_WEIGHT").unwrap_or_else(|_| "2".into());
    let (_driver, port, chromium) =
        start_driver().expect("chromium and chromedriver are needed (see above)");
    let profile = tempdir("chromium-lab-profile");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let c = browser(port, &chromium, &profile).await;
        c.goto(&format!("{url}/control")).await.expect("goto");
        fill(&c, "password", &password).await;
        find(&c, Locator::Id("login"))
            .await
            .click()
            .await
            .expect("click");
        let end = Instant::now() + Duration::from_secs(20);
        while title(&c).await != "Piranha (Control/Monitoring)" {
            assert!(
                Instant::now() < end,
                "login failed: {}",
                c.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.goto(&format!("{url}/virtual/web/real"))
            .await
            .expect("goto");
        pick(&c, &server).await;
        press(&c, "real_service", "EDIT").await;
        fill(&c, "weight", &weight).await;
        press(&c, "edit_action", "ACCEPT").await;
        // The saved banner carries the copy button.
        let copy = find(&c, Locator::Css("button[name='sync'][value='1']")).await;
        println!(
            "saved: {}",
            find(&c, Locator::Css("div.saved p"))
                .await
                .text()
                .await
                .unwrap_or_default()
        );
        copy.click().await.expect("click copy");
        confirm(&c).await;
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let page = c.source().await.unwrap_or_default();
            if page.contains("lvs.cf was copied to the backup router.") {
                break;
            }
            assert!(
                !page.contains("Copying lvs.cf to the backup router failed")
                    && Instant::now() < end,
                "copy to backup: {page}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("WEB-OK saved weight {weight} of {server} and copied lvs.cf to the backup");
        c.close().await.expect("close");
    });
    let _ = std::fs::remove_dir_all(&profile);
}

/// axe-core's script, installed from the npm registry by .ci/run
/// (`npm install --prefix crates/piranha-web/tests/axe`).
fn axe_source() -> Option<String> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(p).ok()
}

/// Answers every status request on `path` with `line` (a document of the
/// daemons' own types) while the test runs.
fn status_socket(path: &Path, line: String) {
    use std::io::{BufRead, BufReader, Write};
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path).expect("bind status socket");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut req = String::new();
            let _ = BufReader::new(&s).read_line(&mut req);
            let _ = (&s).write_all(line.as_bytes());
        }
    });
}

/// lvsd's status for LVS_CF's `web`: r1 down (refused), so the pages show
/// a problem beside the configured flag.
fn lvsd_line() -> String {
    use lvs_status::lvsd as l;
    let doc = l::LvsdStatus {
        services: vec![l::Service {
            name: "web".into(),
            protocol: "tcp".into(),
            address: Some("10.0.0.100".parse().expect("ip")),
            port: 80,
            fwmark: None,
            scheduler: "wlc".into(),
            persistent: 0,
            in_kernel: true,
            stats: l::Stats::default(),
            servers: vec![l::Server {
                server: "r1".into(),
                address: "10.0.1.11".parse().expect("ip"),
                port: 80,
                state: l::ServerState::Down,
                weight: 0,
                in_kernel: false,
                reason: Some("connection refused".into()),
                since_ms: Some(300_000),
                report_age_ms: Some(300_000),
                active_conns: 0,
                inactive_conns: 2,
                stats: l::Stats::default(),
                certificate: None,
                draining: false,
            }],
            quorum: None,
        }],
    };
    serde_json::to_string(&doc).expect("json") + "\n"
}

/// Every page at 1280 and 390 px: a screenshot of each under
/// `target/web-screenshots/` (`w1280-*.png`, `w390-*.png`), nothing wider
/// than the window at 390 px but the tables' own scrolling boxes, and an
/// axe-core audit with no serious or critical violation.
#[test]
fn browser_every_page_at_two_widths_passes_axe() {
    let Some(axe) = axe_source() else {
        skip("browser a11y test: axe-core is not installed (npm install --prefix crates/piranha-web/tests/axe)");
        return;
    };
    let Some((_driver, port, chromium)) = start_driver() else {
        return;
    };
    let env = EnvBuilder::new("browser-a11y").start();
    status_socket(&env.lvsd_socket, lvsd_line());
    let profile = tempdir("chromium-a11y-profile");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let c = browser(port, &chromium, &profile).await;
        let base = format!("http://{}", env.addr);
        let audit = |name: &'static str| {
            let c = c.clone();
            let axe = axe.clone();
            async move {
                let mut problems = Vec::new();
                for (w, h) in [(1280u32, 900u32), (390, 844)] {
                    c.set_window_size(w, h).await.expect("window size");
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    shot(&c, &format!("w{w}-{name}")).await;
                    let wide = c
                        .execute(
                            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                            vec![],
                        )
                        .await
                        .expect("execute");
                    if w == 390 && wide.as_i64().unwrap_or(0) > 0 {
                        problems.push(format!("{name} at {w} px: the page is {wide} px wider than the window"));
                    }
                    c.execute(&format!("{axe}\nreturn true;"), vec![])
                        .await
                        .expect("inject axe-core");
                    let found = c
                        .execute_async(
                            "const done = arguments[arguments.length - 1];
                             axe.run(document, {resultTypes: ['violations']})
                               .then(r => done(r.violations
                                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                                 .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' +
                                      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
                               .catch(e => done(['axe failed: ' + e]));",
                            vec![],
                        )
                        .await
                        .expect("axe.run");
                    for v in found.as_array().into_iter().flatten() {
                        problems.push(format!("{name} at {w} px: {}", v.as_str().unwrap_or("?")));
                    }
                }
                problems
            }
        };
        let mut problems = Vec::new();
        c.goto(&format!("{base}/control")).await.expect("goto");
        problems.extend(audit("login").await);
        c.set_window_size(1280, 900).await.expect("window size");
        fill(&c, "password", PASSWORD).await;
        find(&c, Locator::Id("login")).await.click().await.expect("click");
        let end = Instant::now() + Duration::from_secs(10);
        while title(&c).await != "Piranha (Control/Monitoring)" && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (name, path) in [
            ("control", "/control"),
            ("control-problems", "/control?problems=1"),
            ("global-settings", "/global"),
            ("redundancy", "/redundancy"),
            ("virtual-servers", "/virtual"),
            ("virtual-server", "/virtual/web/edit"),
            ("real-servers", "/virtual/web/real"),
            ("real-server-edit", "/virtual/web/real/r1/edit"),
            ("monitoring-scripts", "/virtual/web/scripts"),
            ("failover-services", "/failover"),
            ("change-password", "/passwd"),
            ("new-virtual-server", "/virtual/new"),
            ("history-empty", "/history"),
        ] {
            c.goto(&format!("{base}{path}")).await.expect("goto");
            assert!(title(&c).await.starts_with("Piranha ("), "{path}");
            problems.extend(audit(name).await);
        }
        // A refused edit with its field error, and the saved banner.
        c.goto(&format!("{base}/virtual/web/edit")).await.expect("goto");
        fill(&c, "port", "notaport").await;
        press(&c, "vev_action", "ACCEPT").await;
        find(&c, Locator::Id("err-port")).await;
        problems.extend(audit("field-error").await);
        c.goto(&format!("{base}/virtual")).await.expect("goto");
        pick(&c, "web").await;
        press(&c, "virtual_service", "(DE)ACTIVATE").await;
        wait_confirmation(&c).await;
        problems.extend(audit("confirmation").await);
        c.set_window_size(1280, 900).await.expect("window size");
        confirm(&c).await;
        find(&c, Locator::Css("div.saved")).await;
        problems.extend(audit("saved-banner").await);
        c.goto(&format!("{base}/history")).await.expect("goto");
        problems.extend(audit("history").await);
        // A form back with a warning and SAVE ANYWAY.
        c.goto(&format!("{base}/redundancy")).await.expect("goto");
        fill(&c, "dead_after", "5").await;
        press(&c, "redundancy_action", "ACCEPT").await;
        find(&c, Locator::Id("err-dead_after")).await;
        problems.extend(audit("warning").await);
        c.close().await.expect("close");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
    let _ = std::fs::remove_dir_all(&profile);
}
