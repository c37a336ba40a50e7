//! `--ready-fd`: the descriptor is taken over at start, close-on-exec, and
//! `ready\n` is written on it once; a number that was not open at start is
//! never written to, even when lvsd later opens something with that
//! number. (One test in its own binary: it reasons about which descriptor
//! numbers are free, which other tests opening files at the same time
//! would disturb.)

use std::io::Read;
use std::os::fd::{AsRawFd, IntoRawFd};

use lvsd::process::ReadyFd;

fn flags_of(fd: i32) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .unwrap_or_else(|e| panic!("fdinfo of {fd}: {e}"));
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .unwrap_or_else(|| panic!("no flags in {info:?}"))
}

#[test]
fn the_ready_descriptor_is_adopted_at_start_and_written_once() {
    // An open pipe: adopted, close-on-exec, `ready\n` then closed.
    let (r, w) = nix::unistd::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
    let n = w.into_raw_fd();
    let ready = ReadyFd::adopt(n);
    assert!(matches!(ready, ReadyFd::Open(_)), "{ready:?}");
    assert_ne!(flags_of(n) & libc::O_CLOEXEC as u32, 0, "not close-on-exec");
    ready.signal();
    let mut got = String::new();
    std::fs::File::from(r)
        .read_to_string(&mut got)
        .unwrap_or_else(|e| panic!("read: {e}"));
    assert_eq!(got, "ready\n", "the write end is closed after the line");

    // A number free at start, which a file takes later: never written.
    let dir = std::env::temp_dir().join(format!("lvsd-ready-fd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let probe = std::fs::File::create(dir.join("probe")).unwrap_or_else(|e| panic!("{e}"));
    let free = probe.as_raw_fd();
    drop(probe);
    let ready = ReadyFd::adopt(free);
    assert!(
        matches!(ready, ReadyFd::NotOpen(f) if f == free),
        "{ready:?}"
    );
    let later = std::fs::File::create(dir.join("later")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(later.as_raw_fd(), free, "the lowest free number is reused");
    ready.signal();
    drop(later);
    let written = std::fs::read(dir.join("later")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        written.is_empty(),
        "lvsd wrote {written:?} into its own file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
