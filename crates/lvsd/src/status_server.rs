//! The status socket (`/run/piranha/lvsd.sock`, mode 0660 group piranha):
//! each connection's request is handed to the main loop, which owns the
//! netlink socket: `status` is answered with the live table ([`crate::status`]
//! builds the document), `drain` (root or the group piranha only) begins or
//! ends a drain; anything else is refused (lvsd is reloaded by SIGHUP,
//! which pulse forwards).

use std::path::{Path, PathBuf};

use lvs_status::{DrainRequest, DrainResult, ErrorAnswer, Request};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

use crate::warn;

/// A request waiting for the main loop's answer (one JSON line).
pub enum Ask {
    /// The status document.
    Status {
        /// Where the answer goes.
        reply: oneshot::Sender<String>,
    },
    /// Begin or end a drain.
    Drain {
        /// Which server.
        request: DrainRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<String>,
    },
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

/// Answers the socket: `status` and `drain` through `tx` to the main
/// loop, anything else refused.
pub async fn serve(listener: UnixListener, tx: mpsc::Sender<Ask>) {
    let piranha = daemon_kit::socket::status_gid();
    lvs_status::server::serve(listener, move |req, peer| {
        let tx = tx.clone();
        async move {
            let (otx, orx) = oneshot::channel();
            let ask = match req {
                Request::Status => Ask::Status { reply: otx },
                Request::Drain(request) => {
                    if !peer.is_some_and(|p| daemon_kit::socket::may_control(p.uid, p.gid, piranha))
                    {
                        return DrainResult::failed("permission denied").line();
                    }
                    Ask::Drain {
                        request,
                        reply: otx,
                    }
                }
                Request::Reload => {
                    return ErrorAnswer::new(
                        "lvsd is reloaded by SIGHUP (pulse forwards it): ask pulse",
                    )
                    .line()
                }
            };
            if tx.send(ask).await.is_err() {
                return ErrorAnswer::new("lvsd is stopping").line();
            }
            orx.await
                .unwrap_or_else(|_| ErrorAnswer::new("lvsd is stopping").line())
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
