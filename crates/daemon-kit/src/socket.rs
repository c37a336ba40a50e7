//! Binding a daemon's status socket.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

/// The group that may read the status sockets (the web tool's).
pub const STATUS_GROUP: &str = "piranha";

/// Why the socket is not listening.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Its directory could not be made.
    #[error("cannot create {dir}: {source}")]
    Directory {
        /// The directory.
        dir: String,
        /// The error.
        source: std::io::Error,
    },
    /// Something that is not a socket is in the way.
    #[error("{0} exists and is not a socket")]
    NotASocket(String),
    /// bind(2) or the old socket's removal failed.
    #[error("cannot listen on {path}: {source}")]
    Bind {
        /// The socket.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Binds the Unix stream socket `path` for a status server: its directory
/// is made if missing (mode 0755), a stale socket of an earlier run is
/// replaced (anything else in the way is refused), and the socket gets mode
/// 0660 and the group [`STATUS_GROUP`] when it exists (else root's group:
/// only root may then ask). Returns the listener and a note for the log
/// when the group is missing.
pub fn bind_status_socket(
    path: &Path,
) -> Result<(tokio::net::UnixListener, Option<String>), BindError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                })
                .map_err(|source| BindError::Directory {
                    dir: dir.display().to_string(),
                    source,
                })?;
        }
    }
    let bind_err = |source| BindError::Bind {
        path: path.display().to_string(),
        source,
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(BindError::NotASocket(path.display().to_string()));
        }
        std::fs::remove_file(path).map_err(bind_err)?;
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(bind_err)?;
    let note = match nix::unistd::Group::from_name(STATUS_GROUP) {
        Ok(Some(g)) => nix::unistd::chown(path, None, Some(g.gid)).err().map(|e| {
            format!(
                "cannot give {} to the group {STATUS_GROUP}: {e}",
                path.display()
            )
        }),
        _ => Some(format!(
            "no group {STATUS_GROUP}: only root can read {}",
            path.display()
        )),
    };
    Ok((listener, note))
}

/// The gid of [`STATUS_GROUP`], if it exists.
pub fn status_gid() -> Option<u32> {
    nix::unistd::Group::from_name(STATUS_GROUP)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}

/// Whether a peer of a status socket may ask for more than the status
/// (a reload of pulse, a drain of lvsd): root, or the group
/// [`STATUS_GROUP`] (`piranha`) whose gid is `piranha`.
pub fn may_control(uid: u32, gid: u32, piranha: Option<u32>) -> bool {
    uid == 0 || piranha == Some(gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue PRIV-05 (docs/RELIABILITY.md).
    #[tokio::test]
    async fn binds_replaces_stale_and_refuses_files() {
        let dir = std::env::temp_dir().join(format!("daemon-kit-sock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("run").join("x.sock");
        let (l, _) = bind_status_socket(&path).expect("bind");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o660);
        drop(l);
        // the stale socket of a crashed run is replaced
        let (_l, _) = bind_status_socket(&path).expect("rebind");
        let file = dir.join("file");
        std::fs::write(&file, "x").expect("write");
        assert!(matches!(
            bind_status_socket(&file),
            Err(BindError::NotASocket(_))
        ));
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "x");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
