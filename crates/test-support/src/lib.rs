//! Tests only: the one way a test of the suite says it cannot run here.
//!
//! A test that needs root, a network namespace or a tool calls [`skip`]
//! (or [`require`]) when the need is not met. Outside CI it prints the
//! reason and returns, so a developer without root can still run the rest.
//! Under CI (the variable `CI` is set: CI runs as root and installs every
//! tool) it panics instead, so nothing is ever skipped there silently. Each
//! skip is also appended to the file named by `LVS_SKIP_LOG`, which
//! `tests/run-all` sets, counts and reports (and fails on, if any).
//!
//! [`resolver`] is a real resolver path ending at a counting DNS server, for
//! the tests of when the daemons look host names up (CFG-V02).
//!
//! Must not: be a dependency of anything but tests.

use std::io::Write;

/// Says that the current test cannot run, and why; panics under CI.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test} cannot run: {why} (CI must provide it)");
    }
    eprintln!("skipped: {test}: {why}");
    if let Some(path) = std::env::var_os("LVS_SKIP_LOG").filter(|p| !p.is_empty()) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{test}: {why}");
        }
    }
}

/// `true` when `ok`; otherwise [`skip`]s and returns `false`, for
/// `if !require(is_root(), "x", "needs root") { return; }`.
pub fn require(ok: bool, test: &str, why: &str) -> bool {
    if !ok {
        skip(test, why);
    }
    ok
}

/// Whether the test runs as root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

pub mod resolver;
