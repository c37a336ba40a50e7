//! The status socket (`/run/piranha/lvsd.sock`, mode 0660 group piranha):
//! every connection's `status` request is handed to the main loop, which
//! owns the netlink socket and answers with the live table
//! ([`crate::status`] builds the document); anything else is refused (lvsd
//! is reloaded by SIGHUP, which pulse forwards).

use std::path::{Path, PathBuf};

use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

use crate::warn;

/// A `status` request waiting for the main loop's answer (one JSON line).
pub struct StatusRequest {
    /// Where the answer goes.
    pub reply: oneshot::Sender<String>,
}

/// The path of the status socket for clients.
pub fn default_status_socket() -> PathBuf {
    PathBuf::from("/run/piranha/lvsd.sock")
}

/// Binds the socket; `None` (logged) when `path` is empty or the socket
/// cannot be bound: lvsd runs without it.
pub fn bind(path: &Path) -> Option<UnixListener> {
    if path.as_os_str().is_empty() {
        return None;
    }
    match daemon_kit::socket::bind_status_socket(path) {
        Ok((l, note)) => {
            if let Some(n) = note {
                warn!("status socket: {n}");
            }
            Some(l)
        }
        Err(e) => {
            warn!("status socket: {e}; not listening");
            None
        }
    }
}

/// Answers the socket: `status` through `tx` to the main loop, anything
/// else refused.
pub async fn serve(listener: UnixListener, tx: mpsc::Sender<StatusRequest>) {
    lvs_status::server::serve(listener, move |req, _peer| {
        let tx = tx.clone();
        async move {
            if req != lvs_status::Request::Status {
                return lvs_status::ErrorAnswer::new("unknown command \"reload\"").line();
            }
            let (otx, orx) = oneshot::channel();
            if tx.send(StatusRequest { reply: otx }).await.is_err() {
                return lvs_status::ErrorAnswer::new("lvsd is stopping").line();
            }
            orx.await
                .unwrap_or_else(|_| lvs_status::ErrorAnswer::new("lvsd is stopping").line())
        }
    })
    .await
}

/// Removes the socket when lvsd ends (only if it is still a socket).
pub fn remove(path: &Path) {
    if path.as_os_str().is_empty() {
        return;
    }
    if let Ok(m) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if m.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        }
    }
}
