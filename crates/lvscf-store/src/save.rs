//! Saving lvs.cf: the atomic replacement every writer uses, the steps it
//! makes, and the clean-up of what an interrupted save left behind.

use crate::lock::ConfigLock;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a save finds at the path it is about to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: the save creates the file.
    Missing,
    /// A regular file, whose mode and owner the new file inherits.
    File {
        /// Permission bits (`& 0o7777`).
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// A symbolic link: refused, so a planted link cannot redirect the save.
    Symlink,
    /// A directory, device, FIFO...: refused.
    Other,
}

/// One step of [`write_atomic`], in the order it makes them. Errors name
/// the step that failed (see [`SaveStepError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStep {
    /// `lstat` of the file being replaced.
    Inspect,
    /// Exclusive creation of the temporary file.
    CreateTemp,
    /// Writing the new contents.
    Write,
    /// Giving the temporary file the old file's owner (errors ignored).
    SetOwner,
    /// Giving the temporary file the old file's mode.
    SetMode,
    /// `fsync` of the temporary file.
    SyncFile,
    /// `rename` over the old file: from here on the new file is in place.
    Rename,
    /// `fsync` of the directory, which makes the rename durable.
    SyncDir,
}

impl SaveStep {
    /// Every step, in the order a successful save makes them.
    pub const ALL: [SaveStep; 8] = [
        SaveStep::Inspect,
        SaveStep::CreateTemp,
        SaveStep::Write,
        SaveStep::SetOwner,
        SaveStep::SetMode,
        SaveStep::SyncFile,
        SaveStep::Rename,
        SaveStep::SyncDir,
    ];

    fn describe(self) -> &'static str {
        match self {
            SaveStep::Inspect => "cannot inspect the file",
            SaveStep::CreateTemp => "cannot create a temporary file next to it",
            SaveStep::Write => "cannot write the temporary file",
            SaveStep::SetOwner => "cannot set the owner of the temporary file",
            SaveStep::SetMode => "cannot set the mode of the temporary file",
            SaveStep::SyncFile => "cannot flush the temporary file to disk (fsync)",
            SaveStep::Rename => "cannot rename the temporary file over it",
            SaveStep::SyncDir => {
                "the new file is in place, but flushing its directory to disk (fsync) failed, so it may not survive a power loss"
            }
        }
    }
}

/// A failed save: which step failed on which path, and the system's error.
/// [`write_atomic`] returns it inside an [`io::Error`] of the same
/// [`io::ErrorKind`]; [`save_step_error`] gets it back.
#[derive(Debug)]
pub struct SaveStepError {
    /// The step that failed.
    pub step: SaveStep,
    /// The path the step worked on (the temporary file, lvs.cf or the
    /// directory).
    pub path: PathBuf,
    /// The system's error.
    pub source: io::Error,
}

impl SaveStepError {
    /// Whether the new file had already replaced the old one (only a failed
    /// directory fsync comes after the rename).
    pub fn replaced(&self) -> bool {
        self.step == SaveStep::SyncDir
    }
}

impl fmt::Display for SaveStepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.step.describe(),
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for SaveStepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The step error inside an error returned by [`write_atomic`], if any.
pub fn save_step_error(e: &io::Error) -> Option<&SaveStepError> {
    e.get_ref()?.downcast_ref::<SaveStepError>()
}

/// The OS error number of an error returned by [`write_atomic`] (`ENOSPC`,
/// `EIO`, ...), looking inside the step context.
pub fn os_error_code(e: &io::Error) -> Option<i32> {
    e.raw_os_error()
        .or_else(|| save_step_error(e).and_then(|s| s.source.raw_os_error()))
}

fn step_error(step: SaveStep, path: &Path, source: io::Error) -> io::Error {
    io::Error::new(
        source.kind(),
        SaveStepError {
            step,
            path: path.to_path_buf(),
            source,
        },
    )
}

/// The filesystem calls of a save, one method per [`SaveStep`] (plus the
/// removal of the temporary file when a step before the rename fails).
///
/// Production code uses [`OsSave`] through [`write_atomic`]; the generic
/// [`write_atomic_with`] exists so that tests can drive the very same
/// sequence through a power-loss model or a wrapper that fails or kills
/// the process at a chosen step. It is static dispatch: the release
/// binaries contain only the [`OsSave`] instance and no hook of any kind.
pub trait SaveOps {
    /// An open temporary file.
    type File;
    /// What is at `path` now (`lstat`, never following a symlink).
    fn inspect(&mut self, path: &Path) -> io::Result<Existing>;
    /// Creates `path` exclusively with mode 0600 (fails with
    /// [`io::ErrorKind::AlreadyExists`] when the name is taken, and never
    /// follows a symlink).
    fn create_temp(&mut self, path: &Path) -> io::Result<Self::File>;
    /// Writes all of `bytes`.
    fn write_all(&mut self, file: &mut Self::File, bytes: &[u8]) -> io::Result<()>;
    /// `fchown`.
    fn set_owner(&mut self, file: &mut Self::File, uid: u32, gid: u32) -> io::Result<()>;
    /// `fchmod`.
    fn set_mode(&mut self, file: &mut Self::File, mode: u32) -> io::Result<()>;
    /// `fsync` of the file.
    fn sync_file(&mut self, file: &mut Self::File) -> io::Result<()>;
    /// `rename(from, to)`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    /// `fsync` of a directory.
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()>;
    /// `unlink`.
    fn remove(&mut self, path: &Path) -> io::Result<()>;
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsSave;

impl SaveOps for OsSave {
    type File = File;

    fn inspect(&mut self, path: &Path) -> io::Result<Existing> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Ok(Existing::Symlink),
            Ok(m) if !m.file_type().is_file() => Ok(Existing::Other),
            Ok(m) => Ok(Existing::File {
                mode: m.permissions().mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Missing),
            Err(e) => Err(e),
        }
    }

    fn create_temp(&mut self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
    }

    fn write_all(&mut self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)
    }

    fn set_owner(&mut self, file: &mut File, uid: u32, gid: u32) -> io::Result<()> {
        std::os::unix::fs::fchown(&*file, Some(uid), Some(gid))
    }

    fn set_mode(&mut self, file: &mut File, mode: u32) -> io::Result<()> {
        file.set_permissions(fs::Permissions::from_mode(mode))
    }

    fn sync_file(&mut self, file: &mut File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn remove(&mut self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
}

/// The name of a temporary file of a save of the file `name`:
/// `.NAME.tmp.PID.N`. Hidden, and recognisable by [`is_temp_name`] so that
/// [`remove_stale_temps`] removes exactly these.
pub fn temp_name(name: &str, pid: u32, attempt: u32) -> String {
    format!(".{name}.tmp.{pid}.{attempt}")
}

/// Whether `candidate` is a name [`temp_name`] makes for `name`.
pub fn is_temp_name(name: &str, candidate: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    candidate
        .strip_prefix('.')
        .and_then(|c| c.strip_prefix(name))
        .and_then(|c| c.strip_prefix(".tmp."))
        .and_then(|c| c.split_once('.'))
        .is_some_and(|(pid, attempt)| digits(pid) && digits(attempt))
}

fn split_path(path: &Path) -> io::Result<(PathBuf, String)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: no file name", path.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    Ok((dir, name))
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same
/// directory (created exclusively, never through a symlink), written and
/// fsynced, given the old file's mode (and owner, when we may), renamed over
/// the old file, then the directory fsynced. A reader sees the old or the new
/// file, never a mix; after a crash the file is one or the other, and once
/// this returns `Ok` the new file survives a power loss. A `path` that is a
/// symlink is refused, so a planted link cannot redirect the write.
///
/// Writers hold [`ConfigLock`] around it (read, edit, write), which is also
/// what lets [`remove_stale_temps`] tell a crashed save's temporary file
/// from a running one. Errors carry a [`SaveStepError`] naming the step.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(&mut OsSave, path, bytes)
}

/// [`write_atomic`] through the given filesystem calls.
pub fn write_atomic_with<O: SaveOps>(ops: &mut O, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, name) = split_path(path)?;
    let old = match ops
        .inspect(path)
        .map_err(|e| step_error(SaveStep::Inspect, path, e))?
    {
        Existing::Symlink => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link; refusing to write through it",
                    path.display()
                ),
            ))
        }
        Existing::Other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            ))
        }
        Existing::Missing => None,
        Existing::File { mode, uid, gid } => Some((mode, uid, gid)),
    };
    let mut created = None;
    for attempt in 0..100u32 {
        let candidate = dir.join(temp_name(&name, std::process::id(), attempt));
        match ops.create_temp(&candidate) {
            Ok(f) => {
                created = Some((candidate, f));
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(step_error(SaveStep::CreateTemp, &dir, e)),
        }
    }
    let Some((tmp_path, mut file)) = created else {
        return Err(step_error(
            SaveStep::CreateTemp,
            &dir,
            io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name"),
        ));
    };
    let before_rename = (|| {
        let tmp: &Path = &tmp_path;
        let at = |step| move |e| step_error(step, tmp, e);
        ops.write_all(&mut file, bytes)
            .map_err(at(SaveStep::Write))?;
        let mode = old.map(|(mode, _, _)| mode).unwrap_or(0o644);
        if let Some((_, uid, gid)) = old {
            // Keep root:piranha when root saves; an unprivileged saver keeps
            // its own ownership (it could not change it anyway).
            let _ = ops.set_owner(&mut file, uid, gid);
        }
        ops.set_mode(&mut file, mode)
            .map_err(at(SaveStep::SetMode))?;
        ops.sync_file(&mut file).map_err(at(SaveStep::SyncFile))?;
        ops.rename(&tmp_path, path).map_err(at(SaveStep::Rename))
    })();
    drop(file);
    if let Err(e) = before_rename {
        // The old file is untouched; do not leave the partial copy behind.
        let _ = ops.remove(&tmp_path);
        return Err(e);
    }
    ops.sync_dir(&dir)
        .map_err(|e| step_error(SaveStep::SyncDir, &dir, e))
}

/// Removes the temporary files that interrupted saves of `config` left
/// behind (a writer killed between creating its temporary file and the
/// rename), and returns their paths. Call it when a writer starts.
///
/// Only removes what is certainly ours and stale: names [`temp_name`]
/// makes for this file, regular files (a symlink or anything else with such
/// a name is left alone; `unlink` never follows a link anyway) owned by our
/// effective uid. It holds [`ConfigLock`] meanwhile: every writer holds it
/// from its first to its last step, so no such file belongs to a save in
/// progress, whatever process id its name carries (after a restart the id
/// may be reused, so liveness of that process would prove nothing).
pub fn remove_stale_temps(config: &Path) -> io::Result<Vec<PathBuf>> {
    let (dir, name) = split_path(config)?;
    let _lock = ConfigLock::acquire(config)?;
    let me = nix::unistd::geteuid().as_raw();
    let mut removed = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let fname = entry.file_name();
        let Some(fname) = fname.to_str() else {
            continue;
        };
        if !is_temp_name(&name, fname) {
            continue;
        }
        let p = entry.path();
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_file() && m.uid() == me {
            fs::remove_file(&p)?;
            removed.push(p);
        }
    }
    Ok(removed)
}
