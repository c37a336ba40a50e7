//! `lvscf programs`, `lvscf check` and `lvscf set` against the exec
//! policy, as the real binary runs them (the allowlist is a file of the
//! test's, named by LVS_PROGRAMS_FILE, in a root-owned directory when run
//! as root so that it passes the ownership rule).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BASE: &str = "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nbackup = 10.0.0.2\n\
backup_active = 1\nheartbeat = 1\nkeepalive = 6\ndeadtime = 18\nnetwork = direct\n\
virtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n\
     server s1 {\n         address = 10.0.1.11\n         active = 1\n     }\n}\n";

fn dir(tag: &str) -> PathBuf {
    let root = nix::unistd::geteuid().is_root();
    let base = if root {
        PathBuf::from("/run")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    let d = base.join(format!("lvscf-programs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

fn lvscf(config: &Path, programs: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvscf"))
        .arg("-c")
        .arg(config)
        .args(args)
        .env("LVS_PROGRAMS_FILE", programs)
        .output()
        .expect("run lvscf");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn true_path() -> String {
    ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("true")
        .to_string()
}

#[test]
fn programs_check_and_set_follow_the_allowlist() {
    if !nix::unistd::geteuid().is_root() {
        test_support::skip(
            module_path!(),
            "the allowlist must be root-owned to be trusted",
        );
        return;
    }
    let d = dir("main");
    let t = true_path();
    let config = d.join("lvs.cf");
    let programs = d.join("lvs-programs");
    std::fs::write(
        &config,
        format!("{BASE}active_cmd = \"{t} up\"\ninactive_cmd = \"/bin/sh -c id\"\n"),
    )
    .expect("write");
    std::fs::write(&programs, format!("{t} up\n/usr/bin/env *\n")).expect("write");
    std::fs::set_permissions(&programs, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let (code, out) = lvscf(&config, &programs, &["programs"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("allowed  global active_cmd: {t} up (line 1")),
        "{out}"
    );
    assert!(
        out.contains("REFUSED  global inactive_cmd: /bin/sh -c id"),
        "{out}"
    );
    assert!(
        out.contains("warning:") && out.contains("/usr/bin/env *"),
        "{out}"
    );

    let (code, out) = lvscf(&config, &programs, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("inactive_cmd will not be run"), "{out}");
    assert!(
        out.contains("[unsafe-program]") || out.contains("error"),
        "{out}"
    );

    // set refuses a new command the daemons would not run; the file stays.
    let before = std::fs::read(&config).expect("read");
    let (code, out) = lvscf(
        &config,
        &programs,
        &["set", "active_cmd", "/usr/bin/true /tmp/x"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not written"), "{out}");
    assert_eq!(before, std::fs::read(&config).expect("read"));
    // ... but an unrelated edit of a file that already names one goes through.
    let (code, out) = lvscf(&config, &programs, &["set", "keepalive", "3"]);
    assert_eq!(code, 0, "{out}");

    // A list anybody could have edited allows nothing.
    std::fs::set_permissions(&programs, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let (code, out) = lvscf(&config, &programs, &["programs"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not trusted"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn allow_current_creates_the_list_without_launchers() {
    if !nix::unistd::geteuid().is_root() {
        test_support::skip(module_path!(), "--allow-current is for root");
        return;
    }
    let d = dir("seed");
    let t = true_path();
    let config = d.join("lvs.cf");
    let programs = d.join("lvs-programs");
    std::fs::write(
        &config,
        format!("{BASE}active_cmd = \"{t} up\"\ninactive_cmd = \"/usr/bin/env /tmp/x/evil.sh\"\n"),
    )
    .expect("write");
    let (code, out) = lvscf(&config, &programs, &["programs", "--allow-current"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created"), "{out}");
    assert!(out.contains("not added: global inactive_cmd"), "{out}");
    let text = std::fs::read_to_string(&programs).expect("read");
    assert!(text.starts_with('#'), "{text}");
    assert!(text.ends_with(&format!("\n{t} up\n")), "{text}");
    assert!(!text.contains("evil"), "{text}");
    let mode = std::fs::metadata(&programs)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    let (code, out) = lvscf(&config, &programs, &["programs"]);
    assert_eq!(code, 1, "the launcher stays refused: {out}");
    assert!(
        out.contains(&format!("allowed  global active_cmd: {t} up")),
        "{out}"
    );
    // Again: nothing new to add, the file is kept.
    let (code, out) = lvscf(&config, &programs, &["programs", "--allow-current"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to add"), "{out}");
    // A file that does not load still gets an empty list.
    let empty = d.join("empty.cf");
    std::fs::write(&empty, "").expect("write");
    let fresh = d.join("fresh-programs");
    let (code, out) = lvscf(&empty, &fresh, &["programs", "--allow-current"]);
    assert_eq!(code, 0, "{out}");
    assert!(std::fs::read_to_string(&fresh)
        .expect("read")
        .starts_with('#'));
    let _ = std::fs::remove_dir_all(&d);
}
