//! The ownership rule: a file root acts on (a program it runs, the
//! allowlist it reads) must be owned by root and writable by nobody else,
//! and so must every directory on its real path, so that no other user can
//! replace it, rename it away or swap a directory above it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a file or program fails the ownership rule. The messages name the
/// path concerned; a refusal quotes them as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The path is relative: it would depend on the working directory.
    #[error("`{}` is not an absolute path", .0.display())]
    NotAbsolute(PathBuf),
    /// The path has a `..` component.
    #[error("`{}` contains `..`", .0.display())]
    ParentComponent(PathBuf),
    /// The path, or a directory above it, cannot be resolved or examined.
    #[error("`{}`: {error}", .path.display())]
    Inaccessible {
        /// What could not be examined.
        path: PathBuf,
        /// The kind of the system's error.
        kind: std::io::ErrorKind,
        /// The system's error, in words.
        error: String,
    },
    /// The path does not lead to a regular file.
    #[error("`{}` is not a regular file", .0.display())]
    NotRegularFile(PathBuf),
    /// The file or a directory above it is not owned by root.
    #[error("`{}` is owned by uid {uid}, not root", .path.display())]
    NotOwnedByRoot {
        /// The file or directory.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// The file or a directory above it is writable by its group or others.
    #[error("`{}` is writable by its group or by others (mode {mode:04o})", .path.display())]
    Writable {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits (`& 0o7777`).
        mode: u32,
    },
    /// A program that nobody may execute.
    #[error("`{}` is not executable", .0.display())]
    NotExecutable(PathBuf),
    /// A set-uid or set-gid program.
    #[error("`{}` is set-uid or set-gid", .0.display())]
    SetId(PathBuf),
}

impl TrustError {
    fn inaccessible(path: &Path, e: std::io::Error) -> TrustError {
        TrustError::Inaccessible {
            path: path.to_path_buf(),
            kind: e.kind(),
            error: e.to_string(),
        }
    }
}

fn owned_by_root_only(path: &Path, meta: &std::fs::Metadata) -> Result<(), TrustError> {
    if meta.uid() != 0 {
        return Err(TrustError::NotOwnedByRoot {
            path: path.to_path_buf(),
            uid: meta.uid(),
        });
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(TrustError::Writable {
            path: path.to_path_buf(),
            mode: meta.permissions().mode() & 0o7777,
        });
    }
    Ok(())
}

/// The real path of `path` (symbolic links resolved), after checking that
/// it and every directory on the way are owned by root and not writable by
/// group or others. The file must be a regular file.
pub fn trusted_file(path: &Path) -> Result<PathBuf, TrustError> {
    if !path.is_absolute() {
        return Err(TrustError::NotAbsolute(path.to_path_buf()));
    }
    if path.components().any(|c| c.as_os_str() == "..") {
        return Err(TrustError::ParentComponent(path.to_path_buf()));
    }
    let real = std::fs::canonicalize(path).map_err(|e| TrustError::inaccessible(path, e))?;
    let meta = std::fs::metadata(&real).map_err(|e| TrustError::inaccessible(&real, e))?;
    if !meta.is_file() {
        return Err(TrustError::NotRegularFile(real));
    }
    owned_by_root_only(&real, &meta)?;
    let mut dir = real.parent();
    while let Some(d) = dir {
        let meta = std::fs::metadata(d).map_err(|e| TrustError::inaccessible(d, e))?;
        owned_by_root_only(d, &meta)?;
        dir = d.parent();
    }
    Ok(real)
}

/// [`trusted_file`] for a program root will execute: also executable and
/// neither set-uid nor set-gid. Returns the real path to execute.
pub fn trusted_program(path: &Path) -> Result<PathBuf, TrustError> {
    let real = trusted_file(path)?;
    let mode = std::fs::metadata(&real)
        .map_err(|e| TrustError::inaccessible(&real, e))?
        .permissions()
        .mode();
    if mode & 0o111 == 0 {
        return Err(TrustError::NotExecutable(real));
    }
    if mode & 0o6000 != 0 {
        return Err(TrustError::SetId(real));
    }
    Ok(real)
}

/// Where the program a command names lives, as Piranha's `execvp` found
/// it, with the daemons' fixed environment: an absolute path is returned as
/// it is; a relative path with a slash (`bin/release`) is taken from the
/// daemons' working directory, [`crate::ROOT_DIR`]; a bare name (`ssh`) is
/// looked up in [`crate::ROOT_PATH`] (or `$LVS_PROGRAM_PATH`), the first
/// executable regular file wins. `None` when nothing is found. The result
/// is only a path: the allowlist and the ownership rule then apply to it
/// exactly as to a path written in lvs.cf.
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.starts_with('/') {
        return Some(PathBuf::from(program));
    }
    if program.contains('/') {
        return Some(Path::new(crate::ROOT_DIR).join(program));
    }
    search_path()
        .iter()
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// [`resolve_program`]; the older name.
pub fn locate(program: &str) -> Option<PathBuf> {
    resolve_program(program)
}

/// The directories bare names are looked up in.
pub fn search_path() -> Vec<PathBuf> {
    match std::env::var_os(crate::PROGRAM_PATH_ENV) {
        Some(p) if !p.is_empty() => std::env::split_paths(&p).collect(),
        _ => crate::ROOT_PATH.iter().map(PathBuf::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue CFG-V08 (docs/RELIABILITY.md).
    #[test]
    fn system_programs_pass_and_bad_paths_fail() {
        // Runs as any user: system binaries belong to root everywhere.
        let t = locate("true").expect("true is installed");
        trusted_program(&t).expect("a system binary is trusted");
        assert!(trusted_program(Path::new("true")).is_err());
        assert!(trusted_program(Path::new("/nonexistent/x")).is_err());
        assert!(trusted_program(Path::new("/tmp")).is_err());
        assert!(trusted_program(Path::new("/usr/bin/../bin/true")).is_err());
        assert!(locate("no-such-program-here").is_none());
        // A relative path with a slash is taken from `/`, the daemons'
        // working directory, as execvp did under Piranha.
        assert_eq!(locate("bin/true"), Some(PathBuf::from("/bin/true")));
        assert_eq!(locate(""), None);
    }

    /// Reliability catalogue CFG-V08: a set-uid or set-gid program is
    /// refused even when root owns it and its directory (root runs it
    /// anyway; a set-id bit on a check script is a mistake or a plant).
    #[test]
    fn set_id_programs_are_refused() {
        if !test_support::is_root() {
            test_support::skip(module_path!(), "needs root to own the test programs");
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        // Not under /tmp: a world-writable directory is refused first.
        let dir = PathBuf::from(format!("/run/exec-policy-setid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let p = dir.join("check");
        std::fs::copy(locate("true").expect("true"), &p).expect("copy");
        let mode = |m: u32| {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).expect("chmod");
            trusted_program(&p)
        };
        assert!(mode(0o755).is_ok());
        assert!(matches!(mode(0o4755), Err(TrustError::SetId(_))));
        assert!(matches!(mode(0o2755), Err(TrustError::SetId(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The words of the typed errors are those of the strings they
    /// replaced: refusals quote them.
    #[test]
    fn refusals_keep_their_words() {
        assert_eq!(
            trusted_program(Path::new("true")).unwrap_err().to_string(),
            "`true` is not an absolute path"
        );
        assert_eq!(
            trusted_file(Path::new("/usr/bin/../bin/true"))
                .unwrap_err()
                .to_string(),
            "`/usr/bin/../bin/true` contains `..`"
        );
        let missing = trusted_file(Path::new("/nonexistent/x")).unwrap_err();
        assert_eq!(
            missing.to_string(),
            format!(
                "`/nonexistent/x`: {}",
                std::fs::canonicalize("/nonexistent/x").unwrap_err()
            )
        );
        assert!(matches!(
            missing,
            TrustError::Inaccessible {
                kind: std::io::ErrorKind::NotFound,
                ..
            }
        ));
        assert_eq!(
            trusted_file(Path::new("/tmp")).unwrap_err().to_string(),
            "`/tmp` is not a regular file"
        );
        let p = PathBuf::from("/x");
        for (e, text) in [
            (
                TrustError::NotOwnedByRoot {
                    path: p.clone(),
                    uid: 60,
                },
                "`/x` is owned by uid 60, not root",
            ),
            (
                TrustError::Writable {
                    path: p.clone(),
                    mode: 0o775,
                },
                "`/x` is writable by its group or by others (mode 0775)",
            ),
            (
                TrustError::NotExecutable(p.clone()),
                "`/x` is not executable",
            ),
            (TrustError::SetId(p.clone()), "`/x` is set-uid or set-gid"),
        ] {
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn a_file_below_a_world_writable_directory_is_refused() {
        // /tmp is 1777: whatever lies below it could be swapped by anybody.
        let dir = std::env::temp_dir().join(format!("exec-policy-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let prog = dir.join("p");
        std::fs::write(&prog, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let why = trusted_program(&prog).expect_err("below /tmp").to_string();
        assert!(
            why.contains("writable by its group or by others") || why.contains("not root"),
            "{why}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
