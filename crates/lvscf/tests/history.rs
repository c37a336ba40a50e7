//! Every `lvscf` command that writes lvs.cf keeps the version it replaces
//! in the history next to it, as the web tool does: who (`lvscf` and the
//! Unix user), from where (local), the summary, the previous bytes; the
//! directory mode 2770 in the group of lvs.cf's directory, files 0660.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BASE: &str = "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nnetwork = direct\n\
virtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n\
     server s1 {\n         address = 10.0.1.11\n         active = 1\n         weight = 1\n     }\n}\n";

fn dir(tag: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lvscf-history-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

fn lvscf(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvscf"))
        .arg("-c")
        .arg(config)
        .args(args)
        .env("LVS_PROGRAMS_FILE", config.with_file_name("no-programs"))
        .output()
        .expect("run lvscf");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn writes_are_recorded_with_who_where_and_what() {
    let d = dir("record");
    let cf = d.join("lvs.cf");
    std::fs::write(&cf, BASE).expect("write");
    let (rc, out) = lvscf(&cf, &["set", "virtual.web.server.s1.weight", "3"]);
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = lvscf(&cf, &["rename", "virtual.web", "www"]);
    assert_eq!(rc, 0, "{out}");
    // Reading does not record.
    let (rc, out) = lvscf(&cf, &["get", "virtual.www.port"]);
    assert_eq!(rc, 0, "{out}");
    // A refused write does not record either.
    let (rc, _) = lvscf(&cf, &["set", "virtual.www.port", "notaport"]);
    assert_ne!(rc, 0);

    let list = lvscf_store::history::list(&cf).expect("list");
    assert_eq!(list.len(), 2, "{list:?}");
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .expect("user")
        .map(|u| u.name)
        .expect("a user name");
    let newest = &list[0];
    assert!(
        newest.change.who.starts_with(&format!("lvscf ({user}")),
        "{newest:?}"
    );
    assert_eq!(newest.change.from, "local");
    assert_eq!(
        newest.change.summary,
        "virtual web deleted; virtual www added"
    );
    let first = &list[1];
    assert_eq!(first.change.summary, "virtual web: server s1 weight 1 → 3");
    assert_eq!(
        lvscf_store::history::read_version(&cf, first.seq).expect("read"),
        BASE.as_bytes(),
        "the version replaced, byte for byte"
    );

    let hist = lvscf_store::history::dir_for(&cf);
    let m = std::fs::metadata(&hist).expect("history dir");
    assert_eq!(m.mode() & 0o7777, 0o2770, "the directory is 2770");
    assert_eq!(
        m.gid(),
        std::fs::metadata(&d).expect("parent").gid(),
        "the group of lvs.cf's directory (piranha on a router)"
    );
    for e in std::fs::read_dir(&hist).expect("ls").flatten() {
        let fm = e.metadata().expect("stat");
        assert_eq!(fm.mode() & 0o777, 0o660, "{:?} is 0660", e.path());
        assert_eq!(fm.gid(), m.gid(), "{:?} in the directory's group", e.path());
    }
    let _ = std::fs::remove_dir_all(&d);
}
