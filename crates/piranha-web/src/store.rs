//! lvs.cf on disk: reading, and saving under a lock with a stale-edit check.
//!
//! Viewing never writes. A save takes an in-process mutex and an `flock` on
//! a lock file next to lvs.cf (so `lvscf set` and a second web process
//! serialise too), re-reads the file, refuses the edit when the file is not
//! the one the form was rendered from (409), applies the edit through the
//! parser, bumps `serial_no` by exactly one, checks that the result loads,
//! and replaces the file with [`lvscf_parser::write_atomic`].

use crate::forms::FieldErrors;
use crate::session::sha256_hex;
use lvscf_parser::{Document, Target};
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

/// What a save expects the file to be.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The SHA-256 the form was rendered from.
    Hash(String),
    /// The serial the API client read.
    Serial(u64),
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

/// A successful save.
#[derive(Debug)]
pub struct Saved<T> {
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
        match lvscf_parser::read_config_file(&self.path) {
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
        edit: impl FnOnce(&mut Document) -> Result<T, FieldErrors>,
    ) -> Result<Saved<T>, SaveError> {
        let _guard = self.mutex.lock().unwrap_or_else(|p| p.into_inner());
        let _flock = lvscf_parser::ConfigLock::acquire(&self.path).map_err(SaveError::Io)?;
        let current = self.read().map_err(SaveError::Io)?;
        let fresh = match expect {
            Expect::Hash(h) => {
                crate::htpasswd::constant_time_eq(h.as_bytes(), current.hash.as_bytes())
            }
            Expect::Serial(s) => *s == current.serial() && !current.doc.has_errors(),
        };
        if !fresh {
            return Err(SaveError::Conflict(Box::new(current)));
        }
        let old_serial = current.serial();
        let mut doc = current.doc.clone();
        let value = edit(&mut doc).map_err(SaveError::Invalid)?;
        if doc.as_bytes() == current.doc.as_bytes() {
            return Ok(Saved {
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
        lvscf_parser::write_atomic(&self.path, doc.as_bytes()).map_err(SaveError::Io)?;
        let hash = sha256_hex(doc.as_bytes());
        Ok(Saved {
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
        edit: impl FnOnce(&mut Document) -> Result<T, FieldErrors> + Send + 'static,
    ) -> Result<Saved<T>, SaveError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.save_blocking(&expect, edit))
            .await
            .unwrap_or_else(|e| Err(SaveError::Io(io::Error::other(e.to_string()))))
    }

    /// Removes temporary files that an interrupted save left next to lvs.cf
    /// (their writer process no longer exists).
    pub fn clean_stale_temps(&self) {
        let Some(dir) = self.path.parent() else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Some(name) = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return;
        };
        let prefix = format!(".{name}.tmp.");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let fname = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = fname.strip_prefix(&prefix) else {
                continue;
            };
            let pid: Option<i32> = rest.split('.').next().and_then(|p| p.parse().ok());
            let alive = pid
                .map(|p| p > 0 && unsafe { libc::kill(p, 0) } == 0)
                .unwrap_or(false);
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if !alive && is_file {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .save_blocking(&Expect::Hash(snap.hash.clone()), |doc| {
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
        let again = store.save_blocking(&Expect::Hash(snap.hash), |_| Ok(()));
        assert!(matches!(again, Err(SaveError::Conflict(_))));
        // Serial expectations work too.
        let stale = store.save_blocking(&Expect::Serial(4), |_| Ok(()));
        assert!(matches!(stale, Err(SaveError::Conflict(_))));
        let unchanged = store
            .save_blocking(&Expect::Serial(5), |_| Ok(()))
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
        let r = store.save_blocking(&Expect::Hash(snap.hash), |doc| {
            crate::forms::apply_virtual_edit(
                doc,
                "web",
                &vec![("port".to_string(), "notaport".to_string())],
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
        Store::new(&p).clean_stale_temps();
        assert!(!stale.exists());
        assert!(live.exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
