//! lvs.cf on disk: reading, and saving under a lock with a stale-edit check.
//!
//! Viewing never writes. A save takes an in-process mutex and an `flock` on
//! a lock file next to lvs.cf (so `lvscf set` and a second web process
//! serialise too), re-reads the file, refuses the edit when the file is not
//! the one the form was rendered from (409), applies the edit through the
//! parser, bumps `serial_no` by exactly one, checks that the result loads,
//! and replaces the file with [`lvscf_store::write_atomic`].
//!
//! [`Store::save_blocking_with`] takes the writer's filesystem calls as a
//! parameter so that tests can kill or fail a save at any step (FLT-K04,
//! FLT-D02); the server only ever uses the real ones ([`OsSave`]), through
//! static dispatch, so no fault hook exists in the binary.

use crate::forms::FieldErrors;
use crate::session::sha256_hex;
use lvscf_parser::{Document, Target};
use lvscf_store::{save_step_error, OsSave, SaveOps};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The file as read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The parsed document (exact bytes inside).
    pub doc: Document,
    /// SHA-256 of the bytes, hex: what forms carry to detect stale edits.
    pub hash: String,
    /// Whether the file exists.
    pub exists: bool,
}

impl Snapshot {
    /// `serial_no` of the file (0 when absent or unreadable).
    pub fn serial(&self) -> u64 {
        self.doc.config().serial_no
    }
}

/// Whether the keys a form loaded are unchanged in a file.
pub type Unchanged = std::sync::Arc<dyn Fn(&Document) -> bool + Send + Sync>;

/// What a save expects the file to be.
#[derive(Clone)]
pub enum Expect {
    /// The SHA-256 the form was rendered from.
    Hash(String),
    /// The serial the API client read.
    Serial(u64),
    /// The SHA-256 the form was rendered from or, when the file changed
    /// since, a file where the keys the form loaded are unchanged (the
    /// edit is then made on the file as it is: the changes merge).
    Loaded(String, Unchanged),
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Hash(h) => f.debug_tuple("Hash").field(h).finish(),
            Expect::Serial(s) => f.debug_tuple("Serial").field(s).finish(),
            Expect::Loaded(h, _) => f.debug_tuple("Loaded").field(h).finish(),
        }
    }
}

/// Why a save did not happen.
#[derive(Debug)]
pub enum SaveError {
    /// The file changed since the form was loaded; here is the current one.
    Conflict(Box<Snapshot>),
    /// The edit is invalid; the file is unchanged.
    Invalid(FieldErrors),
    /// Reading, locking or writing failed; the file is unchanged.
    Io(io::Error),
}

/// Who saves: kept in the history with each version it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// `web user piranha`, `web API (Basic auth)`...
    pub who: String,
    /// The client's address.
    pub from: String,
    /// What the save is, when more than its diff says (`restore of save
    /// 12`): put before the summary.
    pub why: String,
}

/// A successful save.
#[derive(Debug)]
pub struct Saved<T> {
    /// The one-line summary of the change (from the typed configurations;
    /// empty when nothing was written).
    pub summary: String,
    /// What the edit returned.
    pub value: T,
    /// The file after the save.
    pub snapshot: Snapshot,
    /// Whether anything was written (an edit that changes nothing writes
    /// nothing and keeps the serial).
    pub written: bool,
}

/// The configuration file and its lock.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    mutex: Arc<Mutex<()>>,
}

impl Store {
    /// A store for `path`.
    pub fn new(path: impl Into<PathBuf>) -> Store {
        Store {
            path: path.into(),
            mutex: Arc::new(Mutex::new(())),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; a missing file reads as empty.
    pub fn read(&self) -> io::Result<Snapshot> {
        let name = self.path.display().to_string();
        match lvscf_store::read_config_file(&self.path) {
            Ok(bytes) => Ok(Snapshot {
                hash: sha256_hex(&bytes),
                doc: Document::parse(name, bytes),
                exists: true,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Snapshot {
                hash: sha256_hex(b""),
                doc: Document::parse(name, Vec::new()),
                exists: false,
            }),
            Err(e) => Err(e),
        }
    }

    /// Applies `edit` to the current file and saves it (blocking; call from
    /// a blocking thread).
    pub fn save_blocking<T>(
        &self,
        expect: &Expect,
        author: &Author,
        edit: impl FnOnce(&mut Document) -> Result<T, FieldErrors>,
    ) -> Result<Saved<T>, SaveError> {
        self.save_blocking_with(&mut OsSave, expect, author, edit)
    }

    /// [`Store::save_blocking`] with the atomic writer's filesystem calls
    /// given (tests inject faults here).
    pub fn save_blocking_with<T, O: SaveOps>(
        &self,
        ops: &mut O,
        expect: &Expect,
        author: &Author,
        edit: impl FnOnce(&mut Document) -> Result<T, FieldErrors>,
    ) -> Result<Saved<T>, SaveError> {
        let _guard = self.mutex.lock().unwrap_or_else(|p| p.into_inner());
        let lock_path = lvscf_store::ConfigLock::path_for(&self.path);
        let _flock = lvscf_store::ConfigLock::acquire(&self.path).map_err(|e| {
            SaveError::Io(with_context(
                e,
                format!("cannot lock {}", lock_path.display()),
            ))
        })?;
        let current = self.read().map_err(|e| {
            SaveError::Io(with_context(
                e,
                format!("cannot read {}", self.path.display()),
            ))
        })?;
        let fresh = match expect {
            Expect::Hash(h) => {
                crate::htpasswd::constant_time_eq(h.as_bytes(), current.hash.as_bytes())
            }
            Expect::Serial(s) => *s == current.serial() && !current.doc.has_errors(),
            Expect::Loaded(h, unchanged) => {
                crate::htpasswd::constant_time_eq(h.as_bytes(), current.hash.as_bytes())
                    || (!current.doc.has_errors() && unchanged(&current.doc))
            }
        };
        if !fresh {
            return Err(SaveError::Conflict(Box::new(current)));
        }
        let old_serial = current.serial();
        let mut doc = current.doc.clone();
        let value = edit(&mut doc).map_err(SaveError::Invalid)?;
        if doc.as_bytes() == current.doc.as_bytes() {
            return Ok(Saved {
                summary: String::new(),
                value,
                snapshot: current,
                written: false,
            });
        }
        let next = old_serial.saturating_add(1);
        doc.set(&Target::Global, "serial_no", &next.to_string())
            .map_err(|e| SaveError::Invalid(FieldErrors::general(e.to_string())))?;
        if let Err(d) = doc.load() {
            return Err(SaveError::Invalid(FieldErrors::general(d.to_string())));
        }
        let summary = match lvscf_store::history::summarize(&current.doc, &doc) {
            s if author.why.is_empty() => s,
            s => format!("{}: {s}", author.why),
        };
        lvscf_store::write_atomic_with(ops, &self.path, doc.as_bytes()).map_err(SaveError::Io)?;
        if current.exists {
            let change = lvscf_store::history::Change {
                who: author.who.clone(),
                from: author.from.clone(),
                summary: summary.clone(),
            };
            // Kept once the save is in place (a failed save leaves no
            // entry). The history helps; it must not fail a save that
            // happened (an emergency edit on a full disk still counts).
            if let Err(e) = lvscf_store::history::record(
                &self.path,
                current.doc.as_bytes(),
                old_serial,
                next,
                &change,
            ) {
                tracing::warn!(
                    dir = %lvscf_store::history::dir_for(&self.path).display(),
                    error = %e,
                    "cannot keep the previous lvs.cf in the history"
                );
            }
        }
        let hash = sha256_hex(doc.as_bytes());
        Ok(Saved {
            summary,
            value,
            snapshot: Snapshot {
                doc,
                hash,
                exists: true,
            },
            written: true,
        })
    }

    /// [`Store::save_blocking`] on a blocking thread.
    pub async fn save<T: Send + 'static>(
        &self,
        expect: Expect,
        author: Author,
        edit: impl FnOnce(&mut Document) -> Result<T, FieldErrors> + Send + 'static,
    ) -> Result<Saved<T>, SaveError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.save_blocking(&expect, &author, edit))
            .await
            .unwrap_or_else(|e| Err(SaveError::Io(io::Error::other(e.to_string()))))
    }

    /// Removes the temporary files an interrupted save left next to lvs.cf
    /// (see [`lvscf_store::remove_stale_temps`]: only our own
    /// temporary names, regular files owned by our uid, under the lock).
    /// Called once at start.
    pub fn clean_stale_temps(&self) -> io::Result<Vec<PathBuf>> {
        lvscf_store::remove_stale_temps(&self.path)
    }
}

/// An I/O error with what we were doing; keeps the error's kind and, via
/// [`os_error_code`], its errno.
#[derive(Debug)]
struct Context {
    what: String,
    source: io::Error,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn with_context(source: io::Error, what: String) -> io::Error {
    io::Error::new(source.kind(), Context { what, source })
}

/// The errno behind a save error, through our context and the writer's.
pub fn os_error_code(e: &io::Error) -> Option<i32> {
    if let Some(c) = e.get_ref().and_then(|i| i.downcast_ref::<Context>()) {
        return os_error_code(&c.source);
    }
    lvscf_store::os_error_code(e)
}

/// How the UI reports a save that failed with `e`: the HTTP status (507
/// when the disk or quota is full, else 500) and a sentence that names the
/// file, the step and the system's error, and says whether the file
/// changed (it did not, unless only the final directory fsync failed).
pub fn describe_save_failure(path: &Path, e: &io::Error) -> (u16, String) {
    let status = match os_error_code(e) {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => 507,
        _ => 500,
    };
    let replaced = save_step_error(e).is_some_and(|s| s.replaced());
    let msg = if replaced {
        format!("{} was saved, but {e}.", path.display())
    } else {
        format!(
            "Saving {} failed: {e}. The file was not changed.",
            path.display()
        )
    };
    (status, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tester() -> Author {
        Author {
            who: "unit test".into(),
            from: "here".into(),
            why: String::new(),
        }
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("."))
            .join("target")
            .join(format!("store-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    const FILE: &str = "# keep me\nserial_no = 4\nprimary = 10.0.0.1\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n}\n";

    #[test]
    fn save_bumps_serial_once_and_keeps_comments() {
        let d = tempdir("bump");
        let p = d.join("lvs.cf");
        std::fs::write(&p, FILE).expect("write");
        let store = Store::new(&p);
        let snap = store.read().expect("read");
        let saved = store
            .save_blocking(&Expect::Hash(snap.hash.clone()), &tester(), |doc| {
                doc.set(&Target::Virtual("web".into()), "port", "8080")
                    .map_err(|e| FieldErrors::general(e.to_string()))
            })
            .expect("save");
        assert!(saved.written);
        let text = std::fs::read_to_string(&p).expect("read");
        assert_eq!(
            text,
            FILE.replace("serial_no = 4", "serial_no = 5")
                .replace("port = 80", "port = 8080")
        );
        // The old hash is now stale.
        let again = store.save_blocking(&Expect::Hash(snap.hash), &tester(), |_| Ok(()));
        assert!(matches!(again, Err(SaveError::Conflict(_))));
        // Serial expectations work too.
        let stale = store.save_blocking(&Expect::Serial(4), &tester(), |_| Ok(()));
        assert!(matches!(stale, Err(SaveError::Conflict(_))));
        let unchanged = store
            .save_blocking(&Expect::Serial(5), &tester(), |_| Ok(()))
            .expect("noop");
        assert!(!unchanged.written);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn invalid_edit_leaves_file_alone() {
        let d = tempdir("invalid");
        let p = d.join("lvs.cf");
        std::fs::write(&p, FILE).expect("write");
        let store = Store::new(&p);
        let snap = store.read().expect("read");
        let r = store.save_blocking(&Expect::Hash(snap.hash), &tester(), |doc| {
            crate::edits::apply_virtual_edit(
                doc,
                "web",
                &vec![("port".to_string(), "notaport".to_string())],
                &exec_policy::Policy::load_from(std::path::Path::new("/nonexistent")),
            )
        });
        match r {
            Err(SaveError::Invalid(e)) => assert!(e.fields.contains_key("port"), "{e:?}"),
            other => panic!("expected a field error, got {other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&p).expect("read"), FILE);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn stale_temps_are_removed() {
        let d = tempdir("temps");
        let p = d.join("lvs.cf");
        std::fs::write(&p, FILE).expect("write");
        let stale = d.join(".lvs.cf.tmp.999999999.0");
        std::fs::write(&stale, "x").expect("write");
        let live = d.join(format!(".lvs.cf.tmp.{}.0", std::process::id()));
        std::fs::write(&live, "x").expect("write");
        let removed = Store::new(&p).clean_stale_temps().expect("clean");
        assert!(!stale.exists());
        // Under the lock no save of ours runs: our own pid's file is stale.
        assert!(!live.exists());
        assert_eq!(removed.len(), 2);
        let _ = std::fs::remove_dir_all(&d);
    }

    /// The real filesystem, with EIO on the fsync of the temporary file.
    struct EioOnFsync;

    impl SaveOps for EioOnFsync {
        type File = std::fs::File;
        fn inspect(&mut self, p: &Path) -> io::Result<lvscf_store::Existing> {
            OsSave.inspect(p)
        }
        fn create_temp(&mut self, p: &Path) -> io::Result<std::fs::File> {
            OsSave.create_temp(p)
        }
        fn write_all(&mut self, f: &mut std::fs::File, b: &[u8]) -> io::Result<()> {
            OsSave.write_all(f, b)
        }
        fn set_owner(&mut self, f: &mut std::fs::File, u: u32, g: u32) -> io::Result<()> {
            OsSave.set_owner(f, u, g)
        }
        fn set_mode(&mut self, f: &mut std::fs::File, m: u32) -> io::Result<()> {
            OsSave.set_mode(f, m)
        }
        fn sync_file(&mut self, _f: &mut std::fs::File) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(libc::EIO))
        }
        fn rename(&mut self, a: &Path, b: &Path) -> io::Result<()> {
            OsSave.rename(a, b)
        }
        fn sync_dir(&mut self, d: &Path) -> io::Result<()> {
            OsSave.sync_dir(d)
        }
        fn remove(&mut self, p: &Path) -> io::Result<()> {
            OsSave.remove(p)
        }
    }

    /// FLT-D02 (T0): EIO on fsync during a GUI save: an error the UI shows
    /// as a 500 naming the step and the error, lvs.cf byte-identical, no
    /// temporary file left.
    #[test]
    fn eio_on_fsync_is_reported_and_changes_nothing() {
        let d = tempdir("eio");
        let p = d.join("lvs.cf");
        std::fs::write(&p, FILE).expect("write");
        let store = Store::new(&p);
        let snap = store.read().expect("read");
        let r = store.save_blocking_with(
            &mut EioOnFsync,
            &Expect::Hash(snap.hash),
            &tester(),
            |doc| {
                doc.set(&Target::Virtual("web".into()), "port", "8080")
                    .map_err(|e| FieldErrors::general(e.to_string()))
            },
        );
        let Err(SaveError::Io(e)) = r else {
            panic!("expected an I/O error, got {r:?}");
        };
        assert_eq!(os_error_code(&e), Some(libc::EIO));
        let (status, msg) = describe_save_failure(&p, &e);
        assert_eq!(status, 500);
        for part in ["fsync", "Input/output error", "not changed", "lvs.cf"] {
            assert!(msg.contains(part), "{part:?} missing from {msg:?}");
        }
        assert_eq!(std::fs::read_to_string(&p).expect("read"), FILE);
        let names: Vec<String> = std::fs::read_dir(&d)
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".lvs.cf.lock")
            .collect();
        assert_eq!(names, ["lvs.cf"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn save_failures_map_to_status_and_say_what_happened() {
        use lvscf_store::{SaveStep, SaveStepError};
        let p = Path::new("/etc/sysconfig/ha/lvs.cf");
        let step = |step, errno| {
            let source = io::Error::from_raw_os_error(errno);
            io::Error::new(
                source.kind(),
                SaveStepError {
                    step,
                    path: p.to_path_buf(),
                    source,
                },
            )
        };
        let (s, m) = describe_save_failure(p, &step(SaveStep::Write, libc::ENOSPC));
        assert_eq!(s, 507, "{m}");
        assert!(
            m.contains("No space left") && m.contains("not changed"),
            "{m}"
        );
        let (s, m) = describe_save_failure(p, &step(SaveStep::CreateTemp, libc::EACCES));
        assert_eq!(s, 500);
        assert!(
            m.contains("temporary file") && m.contains("Permission denied"),
            "{m}"
        );
        let (s, m) = describe_save_failure(p, &step(SaveStep::SyncDir, libc::EIO));
        assert_eq!(s, 500);
        assert!(m.contains("was saved") && !m.contains("not changed"), "{m}");
        // Our own context (the lock) keeps the errno too.
        let e = with_context(
            io::Error::from_raw_os_error(libc::EROFS),
            "cannot lock /x/.lvs.cf.lock".into(),
        );
        assert_eq!(os_error_code(&e), Some(libc::EROFS));
        let (s, m) = describe_save_failure(p, &e);
        assert_eq!(s, 500);
        assert!(
            m.contains("Read-only file system") && m.contains("lock"),
            "{m}"
        );
    }
}
