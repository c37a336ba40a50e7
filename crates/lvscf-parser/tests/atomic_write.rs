//! `write_atomic`, the save every tool uses (catalogue FLT-D04, D05):
//! readers only ever see the old or the new file, and a planted symlink is
//! never written through.

use lvscf_parser::write_atomic;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvscf-atomic-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// D04: 2,000 saves (each with two fsyncs) alternating two versions while another thread reads
/// continuously: every read is exactly one of the two versions.
#[test]
fn readers_see_the_old_or_the_new_file_never_a_mix() {
    let dir = scratch("d04");
    let path = dir.join("lvs.cf");
    let a = "serial_no = 1\nprimary = 10.0.0.1\n".repeat(200);
    let b = "serial_no = 2\nprimary = 10.0.0.2\nkeepalive = 3\n".repeat(300);
    write_atomic(&path, a.as_bytes()).expect("first save");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, a, b, done) = (path.clone(), a.clone(), b.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                let seen = std::fs::read_to_string(&path).expect("the file always exists");
                assert!(
                    seen == a || seen == b,
                    "a torn read of {} bytes",
                    seen.len()
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..2_000 {
        let text = if i % 2 == 0 { &b } else { &a };
        write_atomic(&path, text.as_bytes()).expect("save");
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    assert!(reads > 0);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .filter(|e| e.file_name() != "lvs.cf")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// D05: lvs.cf replaced by a symlink to another file: the save is refused
/// and the target is untouched.
#[test]
fn a_planted_symlink_is_not_followed() {
    let dir = scratch("d05");
    let target = dir.join("passwd");
    std::fs::write(&target, "root:x:0:0::/root:/bin/sh\n").expect("target");
    let path = dir.join("lvs.cf");
    std::os::unix::fs::symlink(&target, &path).expect("symlink");
    let err = write_atomic(&path, b"primary = 10.0.0.1\n").expect_err("refused");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "root:x:0:0::/root:/bin/sh\n"
    );
    assert!(std::fs::symlink_metadata(&path)
        .expect("meta")
        .file_type()
        .is_symlink());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The saved file keeps the old file's mode.
#[test]
fn the_mode_of_the_old_file_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    let path = dir.join("lvs.cf");
    std::fs::write(&path, "primary = 10.0.0.1\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).expect("chmod");
    write_atomic(&path, b"primary = 10.0.0.2\n").expect("save");
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o660);
    let _ = std::fs::remove_dir_all(&dir);
}
