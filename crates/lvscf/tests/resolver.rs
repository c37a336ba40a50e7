//! Catalogue item CFG-V02, the check side: `lvscf check` (with and without
//! `--syntax-only`), `dump` and `get` of a file whose addresses are host
//! names never ask the resolver — they warn that the daemons resolve each
//! name when they load the file. A counting DNS server in a namespace of
//! the test's (test_support::resolver) would see any question.

use test_support::resolver::{ResolverNs, NAMED_CONFIG, NAMED_HOSTS};

#[test]
fn check_dump_and_get_ask_no_resolver() {
    if !test_support::require(
        test_support::is_root(),
        "v02 lvscf",
        "needs root (namespaces)",
    ) {
        return;
    }
    let ns = ResolverNs::create("lvs-v02-lvscf", NAMED_HOSTS).expect("resolver namespace");
    let dir = std::env::temp_dir().join(format!("lvscf-v02-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("lvs.cf");
    std::fs::write(&config, NAMED_CONFIG).expect("write lvs.cf");
    let runs: [&[&str]; 4] = [
        &["check", "--syntax-only"],
        &["check"],
        &["dump"],
        &["get", "virtual.web.server.s1.address"],
    ];
    for args in runs {
        let out = ns
            .command(env!("CARGO_BIN_EXE_lvscf"))
            .arg("-c")
            .arg(&config)
            .args(args)
            .env("LVS_PROGRAMS_FILE", dir.join("no-programs"))
            .output()
            .expect("run lvscf");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "lvscf {args:?} failed:\n{text}");
        assert_eq!(
            ns.all_questions(),
            0,
            "lvscf {args:?} asked the resolver: {}\n{text}",
            ns.report()
        );
    }
    // The warning says when the name is resolved instead.
    let out = ns
        .command(env!("CARGO_BIN_EXE_lvscf"))
        .arg("-c")
        .arg(&config)
        .args(["check", "--syntax-only"])
        .output()
        .expect("run lvscf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "`rs1.v02.test` is a host name: it is resolved once when a daemon loads the file"
        ),
        "{text}"
    );
    // The server answers, so zero above means nobody asked.
    let ping = ns
        .command("getent")
        .args(["ahostsv4", "rs1.v02.test"])
        .output()
        .expect("getent");
    assert!(
        String::from_utf8_lossy(&ping.stdout).contains("10.9.1.1"),
        "getent: {:?} {} {} ({})",
        ping.status,
        String::from_utf8_lossy(&ping.stdout),
        String::from_utf8_lossy(&ping.stderr),
        ns.report()
    );
    assert_eq!(ns.a_questions("rs1.v02.test"), 1, "{}", ns.report());
    let _ = std::fs::remove_dir_all(&dir);
}
