//! The end of a drain: `active = 0` on the drained real server in lvs.cf,
//! written as every writer of the file writes it (the writers' lock, the
//! edit through the parser's lossless document so that nothing else in
//! the file changes, the atomic save), then the reload that takes the
//! server out of the table: asked of pulse (which re-reads lvs.cf and
//! forwards SIGHUP to lvsd, as `systemctl reload pulse` does), or of lvsd
//! itself when no pulse answers (lvsd run on its own).
//!
//! I/O only; runs off the main loop (the lock may be held by another
//! writer for a moment).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lvs_status::{ReloadResult, Request};
use lvscf_parser::{Document, Target};

use crate::drain::DrainKey;
use crate::{info, warn};

/// Why the server could not be deactivated in lvs.cf.
#[derive(Debug, thiserror::Error)]
pub enum DeactivateError {
    /// The lock, the read or the write failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
    /// The file does not load now (somebody's edit), or would not after
    /// the edit; it is left as it is.
    #[error("{0}: does not load; not edited")]
    DoesNotLoad(String),
    /// The edit itself was refused (the block is gone).
    #[error("{path}: {error}")]
    Edit {
        /// The file.
        path: String,
        /// The parser's refusal.
        error: lvscf_parser::EditError,
    },
}

/// Sets `active = 0` on `server` of `virtual_name` in the file at `path`.
/// `Ok(false)` when it already said so.
pub fn deactivate(path: &Path, virtual_name: &str, server: &str) -> Result<bool, DeactivateError> {
    let name = path.display().to_string();
    let io = |error| DeactivateError::Io {
        path: name.clone(),
        error,
    };
    let _lock = lvscf_store::ConfigLock::acquire(path).map_err(io)?;
    let bytes = lvscf_store::read_config_file(path).map_err(io)?;
    let doc = Document::parse(name.clone(), bytes);
    if doc.has_errors() {
        return Err(DeactivateError::DoesNotLoad(name));
    }
    let mut edited = doc.clone();
    let target = Target::Server {
        virtual_name: virtual_name.to_string(),
        server: server.to_string(),
    };
    edited
        .set(&target, "active", "0")
        .map_err(|error| DeactivateError::Edit {
            path: name.clone(),
            error,
        })?;
    if edited.has_errors() {
        return Err(DeactivateError::DoesNotLoad(name));
    }
    if edited.as_bytes() == doc.as_bytes() {
        return Ok(false);
    }
    // Every save of lvs.cf keeps the version it replaces, with who made it
    // and what changed, as the web tool's and lvscf's saves do.
    let change = lvscf_store::history::Change {
        who: "lvsd (end of a drain)".into(),
        from: "local".into(),
        summary: lvscf_store::history::summarize(&doc, &edited),
    };
    if let Err(e) = lvscf_store::history::record(
        path,
        doc.as_bytes(),
        doc.config().serial_no,
        edited.config().serial_no,
        &change,
    ) {
        warn!(
            "the version of {name} before the drain's edit could not be kept in {}: {e}",
            lvscf_store::history::dir_for(path).display()
        );
    }
    lvscf_store::write_atomic(path, edited.as_bytes()).map_err(io)?;
    info!("lvs.cf saved by lvsd (end of a drain): {}", change.summary);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drain's edit of lvs.cf is kept in its history like every other
    /// save: who, from where, and the one-line summary.
    #[test]
    fn the_drains_edit_is_kept_in_the_history() {
        let dir = std::env::temp_dir().join(format!("lvsd-deactivate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("lvs.cf");
        let text = "serial_no = 3\nprimary = 10.0.0.1\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     server r1 {\n         address = 10.0.1.11\n         active = 1\n     }\n}\n";
        std::fs::write(&path, text).expect("write");
        assert!(deactivate(&path, "web", "r1").expect("deactivate"));
        let now = std::fs::read_to_string(&path).expect("read");
        assert!(now.contains("         active = 0\n"), "{now}");
        let kept = lvscf_store::history::list(&path).expect("history");
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0].change.who, "lvsd (end of a drain)");
        assert_eq!(kept[0].change.from, "local");
        assert!(
            kept[0].change.summary.contains("r1"),
            "{}",
            kept[0].change.summary
        );
        let before = lvscf_store::history::read_version(&path, kept[0].seq).expect("version");
        assert_eq!(before, text.as_bytes());
        // Already inactive: nothing written, nothing kept.
        assert!(!deactivate(&path, "web", "r1").expect("again"));
        assert_eq!(lvscf_store::history::list(&path).expect("history").len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// How a finished drain ended, for the main loop.
#[derive(Debug)]
pub enum Finished {
    /// lvs.cf now says `active = 0`, and pulse reloaded.
    Reloaded(DrainKey),
    /// lvs.cf now says `active = 0`; no pulse reloaded: lvsd must.
    ReloadHere(DrainKey, String),
    /// lvs.cf could not be edited; the server stays drained.
    Failed(DrainKey, String),
}

/// Deactivates the server of `key` in `config` (off the main loop), then
/// asks pulse at `pulse_socket` to reload.
pub async fn finish(config: PathBuf, pulse_socket: PathBuf, key: DrainKey) -> Finished {
    let (v, s) = key.clone();
    let written = tokio::task::spawn_blocking(move || deactivate(&config, &v, &s)).await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Finished::Failed(key, e.to_string()),
        Err(e) => return Finished::Failed(key, e.to_string()),
    }
    let asked = lvs_status::client::request_within::<ReloadResult>(
        &pulse_socket,
        Request::Reload,
        Duration::from_secs(10),
    )
    .await;
    match asked {
        Ok(r) if r.ok => Finished::Reloaded(key),
        Ok(r) => Finished::ReloadHere(key, r.error.unwrap_or_else(|| "refused".into())),
        Err(e) => Finished::ReloadHere(key, e.to_string()),
    }
}
