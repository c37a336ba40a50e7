//! The boot id of this run of pulse: larger than that of any earlier run,
//! which the freshness rule of signed heartbeats rests on
//! ([`crate::codec::freshness`]).
//!
//! It is a counter kept in the state directory (`/var/lib/pulse/boot-counter`,
//! root-only directory, file mode 0644), and never below the wall clock's
//! seconds: a lost or unwritable file does not make it go back, nor does a
//! clock set back while the file is there. Only both at once (the file lost
//! *and* the clock behind the last run's) could repeat an id; the partner
//! then drops our heartbeats as stale until one of the two is fixed, and
//! says so (`replayed or stale heartbeat dropped`).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/pulse";
/// The counter's file in the state directory.
pub const COUNTER_FILE: &str = "boot-counter";

/// The next boot id after `stored` (the last run's, if known) when the wall
/// clock reads `now_unix_secs`. Pure.
pub fn next_boot_id(stored: Option<u64>, now_unix_secs: u64) -> u64 {
    stored
        .map(|s| s.saturating_add(1))
        .unwrap_or(0)
        .max(now_unix_secs)
        .max(1)
}

/// Takes this run's boot id from `dir`, creating the directory (mode 0700)
/// and recording the new id durably before it is used. Returns it with a
/// warning when it could not be read or recorded.
pub fn take_boot_id(dir: &Path) -> (u64, Option<String>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let file = dir.join(COUNTER_FILE);
    let (stored, read_problem) = match std::fs::read_to_string(&file) {
        Ok(t) => match t.trim().parse::<u64>() {
            Ok(n) => (Some(n), None),
            Err(_) => (
                None,
                Some(format!("{} does not hold a number", file.display())),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(e) => (None, Some(format!("cannot read {}: {e}", file.display()))),
    };
    let id = next_boot_id(stored, now);
    let warning = match store(dir, id) {
        Ok(()) => read_problem,
        Err(e) => Some(format!(
            "{}cannot record the boot counter in {}: {e}",
            read_problem.map(|p| format!("{p}; ")).unwrap_or_default(),
            dir.display()
        )),
    }
    .map(|w| format!("{w} (using {id}, from the clock)"));
    (id, warning)
}

fn store(dir: &Path, id: u64) -> std::io::Result<()> {
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = dir.join(format!(".{COUNTER_FILE}.tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)?;
    f.write_all(format!("{id}\n").as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, dir.join(COUNTER_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_forward() {
        assert_eq!(next_boot_id(None, 1_700_000_000), 1_700_000_000);
        assert_eq!(
            next_boot_id(Some(1_700_000_000), 1_700_000_000),
            1_700_000_001
        );
        // the clock set back: the counter goes on
        assert_eq!(
            next_boot_id(Some(1_700_000_005), 1_600_000_000),
            1_700_000_006
        );
        // the file lost: the clock is ahead of every earlier run
        assert_eq!(next_boot_id(None, 1_800_000_000), 1_800_000_000);
        assert_eq!(next_boot_id(Some(u64::MAX), 0), u64::MAX);
        assert_eq!(next_boot_id(None, 0), 1);
    }

    #[test]
    fn recorded_and_increasing_across_runs() {
        let dir = std::env::temp_dir().join(format!("pulse-bootid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = dir.join("state");
        let mut last = 0;
        for _ in 0..20 {
            let (id, warning) = take_boot_id(&state);
            assert_eq!(warning, None);
            assert!(id > last, "{id} after {last}");
            last = id;
        }
        let mode = std::fs::metadata(&state).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = state.join(COUNTER_FILE);
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(
            std::fs::read_to_string(&file).expect("read").trim(),
            last.to_string()
        );
        // A garbled file: warned about, and the clock still gives an id.
        std::fs::write(&file, "garbage").expect("write");
        let (id, warning) = take_boot_id(&state);
        assert!(id > 0);
        assert!(warning
            .unwrap_or_default()
            .contains("does not hold a number"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
