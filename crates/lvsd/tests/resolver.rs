//! Catalogue item CFG-V02: host names where lvs.cf expects addresses load
//! with a warning and are resolved once per name when lvsd loads the file,
//! through the system's real resolver. A counting DNS server in a network
//! namespace made by the test (test_support::resolver) says how often lvsd
//! really asked: exactly one A question per distinct name, however many
//! virtual and real servers share it.

use std::process::Output;

use test_support::resolver::{ResolverNs, NAMED_CONFIG, NAMED_CONFIG_NAMES, NAMED_HOSTS};

fn run(ns: &ResolverNs, config: &std::path::Path) -> Output {
    ns.command(env!("CARGO_BIN_EXE_lvsd"))
        .args(["--test-start", "-n", "-c"])
        .arg(config)
        .output()
        .expect("run lvsd --test-start")
}

#[test]
fn names_are_resolved_once_each_at_load() {
    if !test_support::require(
        test_support::is_root(),
        "v02 lvsd",
        "needs root (namespaces)",
    ) {
        return;
    }
    let ns = ResolverNs::create("lvs-v02-lvsd", NAMED_HOSTS).expect("resolver namespace");
    let dir = std::env::temp_dir().join(format!("lvs-v02-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("lvs.cf");
    std::fs::write(&config, NAMED_CONFIG).expect("write lvs.cf");

    let out = run(&ns, &config);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "lvsd --test-start failed:\n{text}");
    for name in NAMED_CONFIG_NAMES {
        assert_eq!(
            ns.a_questions(name),
            1,
            "A questions for {name} (all: {})\n{text}",
            ns.report()
        );
    }
    // What the names resolved to is what lvsd programs.
    for line in [
        "resolved host name vip.v02.test to 10.9.0.1",
        "resolved host name rs1.v02.test to 10.9.1.1",
        "-a -t 10.9.0.1:80 -r 10.9.1.2:80",
        "-a -t 10.9.0.2:8080 -r 10.9.1.1:8080",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    // The name that does not resolve is said, and its server left out.
    assert!(
        text.contains("nx.v02.test"),
        "nx.v02.test not mentioned:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
