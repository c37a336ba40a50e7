//! `write_atomic`, the save every tool uses (catalogue FLT-D04, D05):
//! readers only ever see the old or the new file, and a planted symlink is
//! never written through.

use lvscf_store::write_atomic;
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
    // The catalogue's 10^4 interleavings: 10^4 saves, the reader reading
    // all along (tens of thousands of reads).
    for i in 0..10_000 {
        let text = if i % 2 == 0 { &b } else { &a };
        write_atomic(&path, text.as_bytes()).expect("save");
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("reader");
    println!("FIGURE D04: 10000 saves, {reads} reads, no torn read");
    assert!(reads >= 10_000, "only {reads} reads during 10^4 saves");
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

// ---------------------------------------------------------------------
// The save's steps, driven through `write_atomic_with`: the same code as
// `write_atomic`, with the filesystem calls replaced by a power-loss model
// (FLT-D03) or by a wrapper that fails a chosen step (FLT-D02, T0).

use lvscf_store::{
    is_temp_name, os_error_code, remove_stale_temps, save_step_error, temp_name, write_atomic_with,
    Existing, OsSave, SaveOps, SaveStep,
};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// An inode of the model: what a reader sees now, and what is on the disk
/// (as of the last fsync of this file).
#[derive(Debug, Clone, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    mode: u32,
}

/// A one-directory filesystem that loses everything not yet fsynced when
/// the power goes: file contents not fsynced, and directory entries
/// (creations, renames, removals) not made durable by a directory fsync.
/// `budget` is the number of calls that succeed before the power goes;
/// every later call fails without effect.
#[derive(Debug, Clone, Default)]
struct PowerLossFs {
    inodes: Vec<Inode>,
    entries: BTreeMap<PathBuf, usize>,
    durable_entries: BTreeMap<PathBuf, usize>,
    budget: Option<usize>,
    log: Vec<&'static str>,
}

impl PowerLossFs {
    fn with_file(path: &Path, bytes: &[u8]) -> PowerLossFs {
        let mut fs = PowerLossFs::default();
        fs.inodes.push(Inode {
            data: bytes.to_vec(),
            durable: bytes.to_vec(),
            mode: 0o660,
        });
        fs.entries.insert(path.to_path_buf(), 0);
        fs.durable_entries.insert(path.to_path_buf(), 0);
        fs
    }

    fn tick(&mut self, op: &'static str) -> io::Result<()> {
        match &mut self.budget {
            Some(0) => Err(io::Error::other("the power went")),
            Some(n) => {
                *n -= 1;
                self.log.push(op);
                Ok(())
            }
            None => {
                self.log.push(op);
                Ok(())
            }
        }
    }

    /// Every state the disk can be in after the power goes now: each
    /// directory entry that changed since the last directory fsync is the
    /// old or the new one, and each file not fsynced since its last write
    /// holds its durable contents, its new contents or a torn half of them.
    /// Returns what `path` holds in each state (None: absent).
    fn after_power_loss(&self, path: &Path) -> Vec<Option<Vec<u8>>> {
        let mut names: Vec<&PathBuf> = self.entries.keys().collect();
        names.extend(self.durable_entries.keys());
        names.sort();
        names.dedup();
        let mut dir_states: Vec<BTreeMap<PathBuf, usize>> = vec![BTreeMap::new()];
        for name in names {
            let (now, durable) = (self.entries.get(name), self.durable_entries.get(name));
            let choices: Vec<Option<usize>> = if now == durable {
                vec![now.copied()]
            } else {
                vec![now.copied(), durable.copied()]
            };
            dir_states = dir_states
                .into_iter()
                .flat_map(|d| {
                    choices.iter().map(move |c| {
                        let mut d = d.clone();
                        if let Some(i) = c {
                            d.insert(name.clone(), *i);
                        }
                        d
                    })
                })
                .collect();
        }
        let mut out = Vec::new();
        for d in dir_states {
            match d.get(path) {
                None => out.push(None),
                Some(&i) => {
                    let ino = &self.inodes[i];
                    out.push(Some(ino.durable.clone()));
                    if ino.data != ino.durable {
                        out.push(Some(ino.data.clone()));
                        out.push(Some(ino.data[..ino.data.len() / 2].to_vec()));
                    }
                }
            }
        }
        out
    }
}

impl SaveOps for PowerLossFs {
    type File = usize;

    fn inspect(&mut self, path: &Path) -> io::Result<Existing> {
        self.tick("inspect")?;
        Ok(match self.entries.get(path) {
            None => Existing::Missing,
            Some(&i) => Existing::File {
                mode: self.inodes[i].mode,
                uid: 0,
                gid: 0,
            },
        })
    }
    fn create_temp(&mut self, path: &Path) -> io::Result<usize> {
        self.tick("create_temp")?;
        if self.entries.contains_key(path) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        self.inodes.push(Inode {
            mode: 0o600,
            ..Inode::default()
        });
        self.entries
            .insert(path.to_path_buf(), self.inodes.len() - 1);
        Ok(self.inodes.len() - 1)
    }
    fn write_all(&mut self, file: &mut usize, bytes: &[u8]) -> io::Result<()> {
        self.tick("write")?;
        self.inodes[*file].data.extend_from_slice(bytes);
        Ok(())
    }
    fn set_owner(&mut self, _file: &mut usize, _uid: u32, _gid: u32) -> io::Result<()> {
        self.tick("set_owner")
    }
    fn set_mode(&mut self, file: &mut usize, mode: u32) -> io::Result<()> {
        self.tick("set_mode")?;
        self.inodes[*file].mode = mode;
        Ok(())
    }
    fn sync_file(&mut self, file: &mut usize) -> io::Result<()> {
        self.tick("sync_file")?;
        let ino = &mut self.inodes[*file];
        ino.durable = ino.data.clone();
        Ok(())
    }
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        self.tick("rename")?;
        let i = self.entries.remove(from).ok_or(io::ErrorKind::NotFound)?;
        self.entries.insert(to.to_path_buf(), i);
        Ok(())
    }
    fn sync_dir(&mut self, _dir: &Path) -> io::Result<()> {
        self.tick("sync_dir")?;
        self.durable_entries = self.entries.clone();
        Ok(())
    }
    fn remove(&mut self, path: &Path) -> io::Result<()> {
        self.tick("remove")?;
        self.entries.remove(path).ok_or(io::ErrorKind::NotFound)?;
        Ok(())
    }
}

/// A writer that forgot one of its fsyncs: the model must catch it (this
/// is what shows the power-loss check can fail).
struct Skipping(PowerLossFs, SaveStep);

impl SaveOps for Skipping {
    type File = usize;
    fn inspect(&mut self, p: &Path) -> io::Result<Existing> {
        self.0.inspect(p)
    }
    fn create_temp(&mut self, p: &Path) -> io::Result<usize> {
        self.0.create_temp(p)
    }
    fn write_all(&mut self, f: &mut usize, b: &[u8]) -> io::Result<()> {
        self.0.write_all(f, b)
    }
    fn set_owner(&mut self, f: &mut usize, u: u32, g: u32) -> io::Result<()> {
        self.0.set_owner(f, u, g)
    }
    fn set_mode(&mut self, f: &mut usize, m: u32) -> io::Result<()> {
        self.0.set_mode(f, m)
    }
    fn sync_file(&mut self, f: &mut usize) -> io::Result<()> {
        match self.1 {
            SaveStep::SyncFile => Ok(()),
            _ => self.0.sync_file(f),
        }
    }
    fn rename(&mut self, a: &Path, b: &Path) -> io::Result<()> {
        self.0.rename(a, b)
    }
    fn sync_dir(&mut self, d: &Path) -> io::Result<()> {
        match self.1 {
            SaveStep::SyncDir => Ok(()),
            _ => self.0.sync_dir(d),
        }
    }
    fn remove(&mut self, p: &Path) -> io::Result<()> {
        self.0.remove(p)
    }
}

/// Runs saves of `versions[1..]` in turn from `versions[0]`, cutting the
/// power after every call of every save; returns the first violation.
fn power_loss_violation<O: SaveOps>(
    versions: &[&[u8]],
    wrap: impl Fn(PowerLossFs) -> O,
    unwrap: impl Fn(O) -> PowerLossFs,
) -> Option<String> {
    let path = Path::new("/etc/sysconfig/ha/lvs.cf");
    let mut fs = PowerLossFs::with_file(path, versions[0]);
    for (i, pair) in versions.windows(2).enumerate() {
        let (old, new) = (pair[0], pair[1]);
        let mut k = 0;
        loop {
            let mut crashing = fs.clone();
            crashing.budget = Some(k);
            let mut ops = wrap(crashing);
            let acknowledged = write_atomic_with(&mut ops, path, new).is_ok();
            let crashed = unwrap(ops);
            for state in crashed.after_power_loss(path) {
                let ok = if acknowledged {
                    state.as_deref() == Some(new)
                } else {
                    state.as_deref() == Some(old) || state.as_deref() == Some(new)
                };
                if !ok {
                    return Some(format!(
                        "save {} cut after {k} calls {:?} (acknowledged: {acknowledged}): lvs.cf is {:?}",
                        i + 1,
                        crashed.log,
                        state.map(|s| String::from_utf8_lossy(&s).into_owned())
                    ));
                }
            }
            if acknowledged {
                break;
            }
            k += 1;
        }
        let mut ops = wrap(fs);
        if let Err(e) = write_atomic_with(&mut ops, path, new) {
            return Some(format!("save {} failed without a power loss: {e}", i + 1));
        }
        fs = unwrap(ops);
    }
    None
}

/// FLT-D03: the power goes after every single call of every save of a
/// sequence: lvs.cf is always the old or the new version, and a save that
/// returned Ok is always there.
#[test]
fn power_loss_at_every_step_leaves_the_old_or_the_new_file() {
    let v0 = b"serial_no = 1\nprimary = 10.0.0.1\n".to_vec();
    let v1 = "serial_no = 2\nprimary = 10.0.0.2\n# grown\n".repeat(50);
    let v2 = b"serial_no = 3\n".to_vec();
    let v3 = b"serial_no = 4\nprimary = 10.0.0.4\n".to_vec();
    let versions: Vec<&[u8]> = vec![&v0, v1.as_bytes(), &v2, &v3];
    assert_eq!(power_loss_violation(&versions, |f| f, |f| f), None);

    // The sequence checked is the writer's, step by step.
    let path = Path::new("/etc/sysconfig/ha/lvs.cf");
    let mut fs = PowerLossFs::with_file(path, &v0);
    write_atomic_with(&mut fs, path, &v2).expect("save");
    assert_eq!(
        fs.log,
        [
            "inspect",
            "create_temp",
            "write",
            "set_owner",
            "set_mode",
            "sync_file",
            "rename",
            "sync_dir"
        ]
    );
    // A writer that skips the file fsync is caught (a renamed file whose
    // contents never reached the disk), and one that skips the directory
    // fsync too (an acknowledged save lost).
    let broken = power_loss_violation(&versions, |f| Skipping(f, SaveStep::SyncFile), |w| w.0);
    assert!(
        broken.as_deref().is_some_and(|m| m.contains("\"rename\"]")),
        "{broken:?}"
    );
    let broken = power_loss_violation(&versions, |f| Skipping(f, SaveStep::SyncDir), |w| w.0);
    assert!(
        broken
            .as_deref()
            .is_some_and(|m| m.contains("acknowledged: true")),
        "{broken:?}"
    );
}

/// Wraps the real filesystem and fails one step with a given errno.
struct FailAt {
    step: SaveStep,
    errno: i32,
}

impl FailAt {
    fn check(&self, step: SaveStep) -> io::Result<()> {
        if step == self.step {
            Err(io::Error::from_raw_os_error(self.errno))
        } else {
            Ok(())
        }
    }
}

impl SaveOps for FailAt {
    type File = std::fs::File;
    fn inspect(&mut self, p: &Path) -> io::Result<Existing> {
        self.check(SaveStep::Inspect)?;
        OsSave.inspect(p)
    }
    fn create_temp(&mut self, p: &Path) -> io::Result<std::fs::File> {
        self.check(SaveStep::CreateTemp)?;
        OsSave.create_temp(p)
    }
    fn write_all(&mut self, f: &mut std::fs::File, b: &[u8]) -> io::Result<()> {
        if self.step == SaveStep::Write {
            // A short write, then the error: a partial temporary file.
            OsSave.write_all(f, &b[..b.len() / 2])?;
        }
        self.check(SaveStep::Write)?;
        OsSave.write_all(f, b)
    }
    fn set_owner(&mut self, f: &mut std::fs::File, u: u32, g: u32) -> io::Result<()> {
        self.check(SaveStep::SetOwner)?;
        OsSave.set_owner(f, u, g)
    }
    fn set_mode(&mut self, f: &mut std::fs::File, m: u32) -> io::Result<()> {
        self.check(SaveStep::SetMode)?;
        OsSave.set_mode(f, m)
    }
    fn sync_file(&mut self, f: &mut std::fs::File) -> io::Result<()> {
        self.check(SaveStep::SyncFile)?;
        OsSave.sync_file(f)
    }
    fn rename(&mut self, a: &Path, b: &Path) -> io::Result<()> {
        self.check(SaveStep::Rename)?;
        OsSave.rename(a, b)
    }
    fn sync_dir(&mut self, d: &Path) -> io::Result<()> {
        self.check(SaveStep::SyncDir)?;
        OsSave.sync_dir(d)
    }
    fn remove(&mut self, p: &Path) -> io::Result<()> {
        OsSave.remove(p)
    }
}

/// FLT-D02 (T0): each step fails in turn (EIO on the fsyncs, ENOSPC on the
/// write, EACCES/EROFS on the creation...): the error names the step and
/// keeps the errno, lvs.cf is byte-identical, no temporary file remains.
/// Only a failed directory fsync comes after the rename: then the new file
/// is in place and the error says so.
#[test]
fn a_failing_step_leaves_the_file_and_no_temporary() {
    let cases = [
        (SaveStep::Inspect, libc::EACCES),
        (SaveStep::CreateTemp, libc::EACCES),
        (SaveStep::CreateTemp, libc::EROFS),
        (SaveStep::Write, libc::ENOSPC),
        (SaveStep::Write, libc::EIO),
        (SaveStep::SetMode, libc::EPERM),
        (SaveStep::SyncFile, libc::EIO),
        (SaveStep::Rename, libc::EXDEV),
        (SaveStep::SyncDir, libc::EIO),
    ];
    let old = "serial_no = 1\nprimary = 10.0.0.1\n";
    let new = "serial_no = 2\nprimary = 10.0.0.2\n".repeat(100);
    for (step, errno) in cases {
        let dir = scratch(&format!("fail-{step:?}-{errno}"));
        let path = dir.join("lvs.cf");
        std::fs::write(&path, old).expect("write");
        let err = write_atomic_with(&mut FailAt { step, errno }, &path, new.as_bytes())
            .expect_err("the injected failure is reported");
        let detail = save_step_error(&err).expect("the error names its step");
        assert_eq!(detail.step, step);
        assert_eq!(os_error_code(&err), Some(errno), "{err}");
        let errno_text = io::Error::from_raw_os_error(errno).to_string();
        assert!(err.to_string().contains(&errno_text), "{err}");
        let now = std::fs::read_to_string(&path).expect("read");
        if step == SaveStep::SyncDir {
            assert!(
                detail.replaced() && err.to_string().contains("power loss"),
                "{err}"
            );
            assert_eq!(now, new);
        } else {
            assert!(!detail.replaced());
            assert_eq!(now, old, "{step:?}: lvs.cf changed");
        }
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["lvs.cf"], "{step:?}: leftovers");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn temp_names_are_recognised_exactly() {
    let n = temp_name("lvs.cf", 4242, 3);
    assert_eq!(n, ".lvs.cf.tmp.4242.3");
    assert!(is_temp_name("lvs.cf", &n));
    for other in [
        "lvs.cf",
        ".lvs.cf.lock",
        ".lvs.cf.tmp.",
        ".lvs.cf.tmp.12",
        ".lvs.cf.tmp.12.",
        ".lvs.cf.tmp.12.x",
        ".lvs.cf.tmp.12.3.4",
        ".lvs.cf.tmp.-1.0",
        ".lvs.cfx.tmp.1.0",
        ".other.tmp.1.0",
        "lvs.cf.tmp.1.0",
        ".lvs.cf.tmp.99999999999.0",
    ] {
        assert!(!is_temp_name("lvs.cf", other), "{other}");
    }
}

/// What a start removes: our own stale temporary files only; never a
/// symlink (nor its target), another user's file, or another name.
#[test]
fn stale_temporaries_are_removed_safely() {
    use std::os::unix::fs::MetadataExt;
    let dir = scratch("stale");
    let path = dir.join("lvs.cf");
    std::fs::write(&path, "serial_no = 1\n").expect("write");
    let stale = [
        dir.join(temp_name("lvs.cf", 999_999_999, 0)),
        // Our own pid too: under the lock no save of ours is running.
        dir.join(temp_name("lvs.cf", std::process::id(), 1)),
    ];
    for s in &stale {
        std::fs::write(s, "partial").expect("write");
    }
    let target = dir.join("precious");
    std::fs::write(&target, "keep").expect("write");
    let link = dir.join(temp_name("lvs.cf", 999_999_999, 1));
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let unrelated = dir.join(".lvs.cf.tmp.notours");
    std::fs::write(&unrelated, "x").expect("write");
    let foreign = dir.join(temp_name("lvs.cf", 999_999_999, 2));
    std::fs::write(&foreign, "x").expect("write");
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).expect("chown");
    }
    let mut removed = remove_stale_temps(&path).expect("clean");
    removed.sort();
    let mut expected = stale.to_vec();
    if !root {
        expected.push(foreign.clone());
    }
    expected.sort();
    assert_eq!(removed, expected);
    for s in &stale {
        assert!(!s.exists(), "{s:?} left");
    }
    assert!(std::fs::symlink_metadata(&link).is_ok(), "symlink removed");
    assert_eq!(std::fs::read_to_string(&target).expect("target"), "keep");
    assert!(unrelated.exists());
    if root {
        assert_eq!(
            std::fs::symlink_metadata(&foreign).expect("foreign").uid(),
            65534
        );
    }
    assert_eq!(
        std::fs::read_to_string(&path).expect("config"),
        "serial_no = 1\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
