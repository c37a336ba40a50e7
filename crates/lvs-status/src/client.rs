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
        let value: serde_json::Value =
            serde_json::from_slice(&line).map_err(|source| ClientError::BadAnswer {
                path: path.clone(),
                source,
            })?;
        // The expected document first: a failed reload is a ReloadResult,
        // not an error of the exchange.
        match serde_json::from_value::<T>(value.clone()) {
            Ok(t) => Ok(t),
            Err(source) => match serde_json::from_value::<ErrorAnswer>(value) {
                Ok(e) => Err(ClientError::Refused {
                    path: path.clone(),
                    error: e.error,
                }),
                Err(_) => Err(ClientError::BadAnswer {
                    path: path.clone(),
                    source,
                }),
            },
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(ClientError::Timeout(socket.display().to_string())))
}

/// [`request_within`] with [`DEFAULT_TIMEOUT`].
pub async fn request<T: DeserializeOwned>(socket: &Path, req: Request) -> Result<T, ClientError> {
    request_within(socket, req, DEFAULT_TIMEOUT).await
}
