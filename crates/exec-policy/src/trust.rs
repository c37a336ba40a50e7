//! The ownership rule: a file root acts on (a program it runs, the
//! allowlist it reads) must be owned by root and writable by nobody else,
//! and so must every directory on its real path, so that no other user can
//! replace it, rename it away or swap a directory above it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn owned_by_root_only(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.uid() != 0 {
        return Err(format!(
            "`{}` is owned by uid {}, not root",
            path.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "`{}` is writable by its group or by others (mode {:04o})",
            path.display(),
            meta.permissions().mode() & 0o7777
        ));
    }
    Ok(())
}

/// The real path of `path` (symbolic links resolved), after checking that
/// it and every directory on the way are owned by root and not writable by
/// group or others. The file must be a regular file.
pub fn trusted_file(path: &Path) -> Result<PathBuf, String> {
    if !path.is_absolute() {
        return Err(format!("`{}` is not an absolute path", path.display()));
    }
    if path.components().any(|c| c.as_os_str() == "..") {
        return Err(format!("`{}` contains `..`", path.display()));
    }
    let real = std::fs::canonicalize(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let meta = std::fs::metadata(&real).map_err(|e| format!("`{}`: {e}", real.display()))?;
    if !meta.is_file() {
        return Err(format!("`{}` is not a regular file", real.display()));
    }
    owned_by_root_only(&real, &meta)?;
    let mut dir = real.parent();
    while let Some(d) = dir {
        let meta = std::fs::metadata(d).map_err(|e| format!("`{}`: {e}", d.display()))?;
        owned_by_root_only(d, &meta)?;
        dir = d.parent();
    }
    Ok(real)
}

/// [`trusted_file`] for a program root will execute: also executable and
/// neither set-uid nor set-gid. Returns the real path to execute.
pub fn trusted_program(path: &Path) -> Result<PathBuf, String> {
    let real = trusted_file(path)?;
    let mode = std::fs::metadata(&real)
        .map_err(|e| format!("`{}`: {e}", real.display()))?
        .permissions()
        .mode();
    if mode & 0o111 == 0 {
        return Err(format!("`{}` is not executable", real.display()));
    }
    if mode & 0o6000 != 0 {
        return Err(format!("`{}` is set-uid or set-gid", real.display()));
    }
    Ok(real)
}

/// A bare program name (`ssh`) looked up as execvp would, in `PATH` (root's
/// own environment; [`crate::SAFE_PATH`] when it is unset); an absolute
/// path is returned as it is. The allowlist then names the path found.
pub fn locate(program: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Some(PathBuf::from(program));
    }
    if program.contains('/') || program.is_empty() {
        return None;
    }
    let dirs: Vec<PathBuf> = match std::env::var_os("PATH") {
        Some(p) if !p.is_empty() => std::env::split_paths(&p).collect(),
        _ => crate::SAFE_PATH.iter().map(PathBuf::from).collect(),
    };
    dirs.iter()
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(locate("bin/true").is_none());
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
        let why = trusted_program(&prog).expect_err("below /tmp");
        assert!(
            why.contains("writable by its group or by others") || why.contains("not root"),
            "{why}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
