//! Asking a daemon: one request line, one answer line.

use crate::wire::{ErrorAnswer, Request, MAX_ANSWER};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Time allowed for a whole exchange by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a daemon could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket: the daemon is not running.
    #[error("{path}: not running ({source})")]
    NotRunning {
        /// The socket.
        path: String,
        /// connect(2)'s error.
        source: std::io::Error,
    },
    /// The exchange failed half-way.
    #[error("{path}: {source}")]
    Io {
        /// The socket.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{0}: no answer in time")]
    Timeout(String),
    /// The answer is longer than [`MAX_ANSWER`].
    #[error("{0}: answer too long")]
    TooLong(String),
    /// The daemon refused the request.
    #[error("{path}: {error}")]
    Refused {
        /// The socket.
        path: String,
        /// Its error answer.
        error: String,
    },
    /// The answer is not the expected document.
    #[error("{path}: unexpected answer: {source}")]
    BadAnswer {
        /// The socket.
        path: String,
        /// serde's error.
        source: serde_json::Error,
    },
}

/// Sends `req` to the daemon at `socket` and reads its answer as `T`,
/// within `timeout`.
pub async fn request_within<T: DeserializeOwned>(
    socket: &Path,
    req: Request,
    timeout: Duration,
) -> Result<T, ClientError> {
    let path = socket.display().to_string();
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|source| ClientError::NotRunning {
                path: path.clone(),
                source,
            })?;
        let io = |source| ClientError::Io {
            path: path.clone(),
            source,
        };
        stream
            .write_all(format!("{}\n", req.line()).as_bytes())
            .await
            .map_err(io)?;
        let mut line = Vec::new();
        let mut reader = BufReader::new(stream.take(MAX_ANSWER as u64 + 1));
        reader.read_until(b'\n', &mut line).await.map_err(io)?;
        if line.len() > MAX_ANSWER {
            return Err(ClientError::TooLong(path.clone()));
        }
        decode(&path, &line)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(ClientError::Timeout(socket.display().to_string())))
}

/// An answer line as `T`, or the daemon's error answer. Parsed straight
/// into `T` (lvsd's status of 2,000 x 10 servers is about 6 MiB: going
/// through a `serde_json::Value` and a copy of it took several times
/// longer); only an answer that is not a `T` is read again as an error.
fn decode<T: DeserializeOwned>(path: &str, line: &[u8]) -> Result<T, ClientError> {
    // The expected document first: a failed reload is a ReloadResult,
    // not an error of the exchange.
    match serde_json::from_slice::<T>(line) {
        Ok(t) => Ok(t),
        Err(source) => match serde_json::from_slice::<ErrorAnswer>(line) {
            Ok(e) => Err(ClientError::Refused {
                path: path.to_string(),
                error: e.error,
            }),
            Err(_) => Err(ClientError::BadAnswer {
                path: path.to_string(),
                source,
            }),
        },
    }
}

/// [`request_within`] with [`DEFAULT_TIMEOUT`].
pub async fn request<T: DeserializeOwned>(socket: &Path, req: Request) -> Result<T, ClientError> {
    request_within(socket, req, DEFAULT_TIMEOUT).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LvsdStatus, ReloadResult};

    #[test]
    fn answers_decode_as_the_document_or_the_error() {
        let st: LvsdStatus = decode("s", br#"{"services":[]}"#).expect("status");
        assert!(st.services.is_empty());
        // A failed reload is the reload's result, not an error.
        let r: ReloadResult = decode("s", br#"{"ok":false,"error":"bad file"}"#).expect("reload");
        assert_eq!(r.error.as_deref(), Some("bad file"));
        match decode::<LvsdStatus>("s", br#"{"ok":false,"error":"lvsd is stopping"}"#) {
            Err(ClientError::Refused { error, .. }) => assert_eq!(error, "lvsd is stopping"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode::<LvsdStatus>("s", b"not json"),
            Err(ClientError::BadAnswer { .. })
        ));
        assert!(matches!(
            decode::<LvsdStatus>("s", br#"{"services":7}"#),
            Err(ClientError::BadAnswer { .. })
        ));
    }
}
