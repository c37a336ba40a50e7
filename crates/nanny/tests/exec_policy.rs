//! Security review, HIGH 1, at nanny: a job whose `send_program` is a shell
//! with its own words, or whose load monitor's `rsh_command` is a root-owned
//! launcher followed by the attacker's program, must run neither, even when
//! the allowlist lists other command lines. The real `nanny --lvsd` binary,
//! running as root; the attacker's script belongs to uid 65534 (the web
//! tool's user) in its own directory.

mod common;

use common::*;
use serde_json::json;
use std::os::unix::fs::{chown, PermissionsExt};
use std::time::{Duration, Instant};

/// Reliability catalogue PRIV-02 (docs/RELIABILITY.md).
#[test]
fn a_job_cannot_make_nanny_run_the_attackers_program() {
    if !is_root() {
        test_support::skip(module_path!(), "needs root");
        return;
    }
    let user_dir = std::path::PathBuf::from(format!("/run/nanny-attack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&user_dir);
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::set_permissions(&user_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    chown(&user_dir, Some(65534), Some(65534)).unwrap();
    let evil = user_dir.join("evil.sh");
    let evil_mark = user_dir.join("evil-ran");
    let sh_mark = user_dir.join("sh-ran");
    std::fs::write(
        &evil,
        format!(
            "#!/bin/sh\nid >> {}\necho ' 10:15:01 up 3 days, load average: 0.00, 0.58, 0.59'\n",
            evil_mark.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    chown(&evil, Some(65534), Some(65534)).unwrap();
    let env = ["/usr/bin/env", "/bin/env"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("env");
    // The administrator allowed other command lines of the same programs.
    let programs = allow_programs(
        "attack-programs",
        &[
            format!("{env} true %h uptime"),
            "/bin/sh /usr/local/bin/fixed.sh %h".into(),
        ],
    );
    let up = Server::hang();
    let probed = Server::hang();
    let mut n = Nanny::lvsd_with_programs(&programs);
    n.send(&json!({"virtuals": [
        {"name": "shell", "port": 7000, "protocol": "tcp", "timeout": 1, "reentry": 2,
         "send_program": format!("/bin/sh -c id>>{}${{IFS}}%h", sh_mark.display()),
         "servers": [{"name": "s1", "address": probed.addr.ip().to_string(),
                      "port": probed.addr.port(), "weight": 1}]},
        {"name": "load", "port": 7000, "protocol": "tcp", "timeout": 1, "reentry": 19,
         "load_monitor": "uptime", "rsh_command": format!("{env} {}", evil.display()),
         "scale": 10,
         "servers": [{"name": "r1", "address": up.addr.ip().to_string(), "port": up.addr.port(),
                      "weight": 100, "kernel_weight": 100}]}
    ]}));
    // Both first reports, in whichever order they come.
    let (mut s1_down, mut r1_up) = (false, false);
    let t = Instant::now();
    while !(s1_down && r1_up) {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "first reports missing (s1 down {s1_down}, r1 up {r1_up}); log:\n{}",
            n.stderr_text()
        );
        for v in n.collect(Duration::from_millis(100)) {
            s1_down |= v["virtual"] == "shell" && is(&v, "s1", "down");
            r1_up |= is(&v, "r1", "up");
        }
    }
    // Two weight-adjustment points (SIGHUP resets the count to the
    // threshold): a load run would happen at each if it were allowed.
    for _ in 0..2 {
        n.signal(libc::SIGHUP);
        let _ = n.collect(Duration::from_millis(1500));
    }
    let t = Instant::now();
    let log = loop {
        let log = n.stderr_text();
        if log.contains("load monitor '") || t.elapsed() > Duration::from_secs(3) {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        log.contains(&format!(
            "send_program '/bin/sh -c id>>{}${{IFS}}%h' not run: `/bin/sh -c id>>{}${{IFS}}%h` is not listed in {}",
            sh_mark.display(),
            sh_mark.display(),
            programs.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "load monitor '{env} {} %h uptime' not run:",
            evil.display()
        )),
        "{log}"
    );
    assert!(!evil_mark.exists(), "the attacker's program ran as root");
    assert!(!sh_mark.exists(), "the shell ran as root");
    let _ = std::fs::remove_dir_all(&user_dir);
}

/// I15 part 3: a `send_program` written without its full path (Piranha ran
/// it with execvp) is found on the daemons' search path and then checked
/// exactly as the path found: listed, it runs; a name that resolves to a
/// program the allowlist does not list is refused, and does not run.
#[test]
fn a_relative_send_program_runs_only_as_the_listed_path_it_resolves_to() {
    if !is_root() {
        test_support::skip(module_path!(), "needs root");
        return;
    }
    let dir = std::path::PathBuf::from(format!("/run/nanny-relative-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let program = |name: &str| {
        let mark = dir.join(format!("{name}-ran"));
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho \"$1 $2\" >> {}\necho OK\n", mark.display()),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        (p, mark)
    };
    let (listed, listed_mark) = program("listed-check");
    let (_unlisted, unlisted_mark) = program("unlisted-check");
    let programs = allow_programs(
        "relative-programs",
        &[format!("{} %h %p", listed.display())],
    );
    let a = Server::hang();
    let b = Server::hang();
    let mut n = Nanny::spawn_env(
        &["--lvsd", "-v"],
        &[
            ("LVS_PROGRAMS_FILE", programs.display().to_string()),
            ("LVS_PROGRAM_PATH", dir.display().to_string()),
        ],
    );
    let virt = |name: &str, program: &str, server: &Server| {
        json!({"name": name, "port": 7000, "protocol": "tcp", "timeout": 1, "reentry": 2,
               "send_program": program, "expect": "OK",
               "servers": [{"name": format!("{name}1"), "address": server.addr.ip().to_string(),
                            "port": server.addr.port(), "weight": 1}]})
    };
    n.send(&json!({"virtuals": [
        virt("listed", "listed-check %h %p", &a),
        virt("unlisted", "unlisted-check %h %p", &b),
    ]}));
    let t = Instant::now();
    let (mut listed_up, mut unlisted_down) = (false, false);
    while !(listed_up && unlisted_down) {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "first reports missing (listed up {listed_up}, unlisted down {unlisted_down}); log:\n{}",
            n.stderr_text()
        );
        for v in n.collect(Duration::from_millis(100)) {
            listed_up |= is(&v, "listed1", "up");
            unlisted_down |= is(&v, "unlisted1", "down");
        }
    }
    let ran = std::fs::read_to_string(&listed_mark).expect("the listed program ran");
    assert!(
        ran.starts_with(&format!("{} {}", a.addr.ip(), a.addr.port())),
        "{ran}"
    );
    let log = n.stderr_text();
    assert!(
        log.contains(&format!(
            "send_program 'unlisted-check %h %p' not run: `unlisted-check %h %p` is not listed in {}",
            programs.display()
        )),
        "{log}"
    );
    assert!(!unlisted_mark.exists(), "an unlisted program ran as root");
    let _ = std::fs::remove_dir_all(&dir);
}
