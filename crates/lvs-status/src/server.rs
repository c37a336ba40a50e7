//! The daemon's side: accept, read one request line, answer it, close.

use crate::wire::{Request, MAX_REQUEST};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

/// How long a client may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Who is asking (SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its user.
    pub uid: u32,
    /// Its group.
    pub gid: u32,
}

/// Serves `listener` until it fails: each connection gets one request
/// line (at most [`MAX_REQUEST`] bytes, within [`REQUEST_TIMEOUT`]), which
/// `answer` turns into the answer line. A bad request is answered with its
/// error; a client that says nothing is dropped.
pub async fn serve<H, F>(listener: UnixListener, answer: H)
where
    H: Fn(Request, Option<Peer>) -> F + Clone + Send + 'static,
    F: Future<Output = String> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or similar: do not spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let answer = answer.clone();
        tokio::spawn(async move {
            let peer = stream.peer_cred().ok().map(|c| Peer {
                uid: c.uid(),
                gid: c.gid(),
            });
            let (rd, mut wr) = stream.into_split();
            let mut reader = BufReader::new(rd.take(MAX_REQUEST as u64));
            let mut line = String::new();
            let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await;
            let Ok(Ok(n)) = read else { return };
            if n == 0 {
                return;
            }
            let reply = match Request::parse(&line) {
                Ok(req) => answer(req, peer).await,
                Err(e) => e.line(),
            };
            let _ = wr.write_all(format!("{reply}\n").as_bytes()).await;
            let _ = wr.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ReloadResult, Request};

    #[tokio::test]
    async fn one_request_one_answer() {
        let dir = std::env::temp_dir().join(format!("lvs-status-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("s.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        tokio::spawn(serve(listener, |req, peer| async move {
            match req {
                Request::Status => {
                    serde_json::json!({"services": [], "peer": peer.map(|p| p.uid)}).to_string()
                }
                Request::Reload => {
                    ReloadResult::failed("lvs.cf:3:1: error: unknown command").line()
                }
                Request::Drain(_) => crate::ErrorAnswer::new("no drain here").line(),
            }
        }));
        let v: serde_json::Value = crate::request(&path, Request::Status)
            .await
            .expect("status");
        assert_eq!(v["services"], serde_json::json!([]));
        assert!(v["peer"].is_u64());
        let r: ReloadResult = crate::request(&path, Request::Reload)
            .await
            .expect("reload");
        assert_eq!(
            r,
            ReloadResult::failed("lvs.cf:3:1: error: unknown command")
        );
        // A bad request gets its error, which the client reports as refused.
        use tokio::io::AsyncWriteExt as _;
        let mut raw = tokio::net::UnixStream::connect(&path)
            .await
            .expect("connect");
        raw.write_all(b"{\"cmd\":\"flush\"}\n")
            .await
            .expect("write");
        let mut text = String::new();
        use tokio::io::AsyncReadExt as _;
        raw.read_to_string(&mut text).await.expect("read");
        assert_eq!(
            text,
            "{\"error\":\"unknown command \\\"flush\\\"\",\"ok\":false}\n"
        );
        // Nothing listening: not running.
        let gone = dir.join("none.sock");
        match crate::request::<serde_json::Value>(&gone, Request::Status).await {
            Err(crate::ClientError::NotRunning { .. }) => {}
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
