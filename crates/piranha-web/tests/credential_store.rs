//! Reliability catalogue FLT-D05 (docs/RELIABILITY.md) for the credential
//! store: `piranha-passwd` (run by root) given a password file that was
//! replaced by a symlink to another file, or pre-created by another user.
//! It must not write through the link (the target stays as it was), and a
//! file someone else created is replaced by a new one, never written into:
//! whoever holds the old file (or a hard link to it) never sees the new
//! hash.

mod common;

use common::tempdir;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn passwd(file: &Path, password: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_piranha-passwd"))
        .arg("--passwd-file")
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn piranha-passwd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n{password}\n").as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

#[test]
fn a_symlinked_password_file_is_refused_and_its_target_untouched() {
    let dir = tempdir("passwd-symlink");
    let target = dir.join("passwd-of-the-system");
    std::fs::write(&target, "root:x:0:0:root:/root:/bin/sh\n").expect("write target");
    let file = dir.join("piranha.passwd");
    std::os::unix::fs::symlink(&target, &file).expect("symlink");
    let out = passwd(&file, "correct horse");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&target).expect("read target"),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
    assert!(std::fs::symlink_metadata(&file)
        .expect("lstat")
        .file_type()
        .is_symlink());
    let temps: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn a_password_file_pre_created_by_another_user_is_replaced_not_written_into() {
    if !test_support::require(
        test_support::is_root(),
        module_path!(),
        "needs root to create a file as another user",
    ) {
        return;
    }
    let dir = tempdir("passwd-foreign");
    let file = dir.join("piranha.passwd");
    std::fs::write(&file, "piranha:planted\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).expect("chown");
    // The other user keeps a hard link to the file they made.
    let kept = dir.join("kept-by-the-other-user");
    std::fs::hard_link(&file, &kept).expect("link");
    let out = passwd(&file, "correct horse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&kept).expect("read kept"),
        "piranha:planted\n",
        "the old file was written into"
    );
    let meta = std::fs::metadata(&file).expect("stat");
    assert_ne!(meta.ino(), std::fs::metadata(&kept).expect("stat").ino());
    assert_ne!(meta.uid(), 65534, "the new file belongs to the other user");
    assert_eq!(meta.mode() & 0o077 & !0o040, 0, "mode {:o}", meta.mode());
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.starts_with("piranha:$2"), "{text}");
}
