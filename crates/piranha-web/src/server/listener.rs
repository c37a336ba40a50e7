//! The accept loop: plain TCP or TLS (rustls), bounds on concurrent
//! connections (in all and per client address), and time limits on slow
//! handshakes, request heads and request bodies.

use super::reply::{MAX_HEAD, MAX_URI};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Connections served at once for one client address (one IPv6 /64): a
/// few hundred held open from one place no longer lock everyone out.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// Time a client has to send a request head (and a TLS handshake).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has, once its head is in, to send the whole body: a
/// request is complete within `HEAD_TIMEOUT + BODY_TIMEOUT` or answered
/// 408 and closed.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What connections per client are counted by: the IPv4 address (also when
/// it comes IPv4-mapped) or the IPv6 /64, which one host usually owns whole.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(bits.into())
            }
        },
    }
}

/// Open connections per client key.
#[derive(Debug, Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection; uncounted when dropped.
struct ClientSlot {
    table: Arc<PerClient>,
    key: IpAddr,
}

impl PerClient {
    fn acquire(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<ClientSlot> {
        let key = client_key(ip);
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            key,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut m = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

/// The error of a body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(Duration);

/// A request body that fails once its deadline passes (and notes so, for
/// the answer to become a 408 that closes the connection).
struct TimedBody {
    inner: hyper::body::Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a request whose body came too late.
fn request_timeout(limit: Duration) -> axum::response::Response {
    let mut r = (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "the request was not complete within {} s\n",
            limit.as_secs()
        ),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Per-connection facts the accept loop attaches to each request.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// The client.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// The accept loop's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once, in all.
    pub connections: usize,
    /// Connections at once per client address (IPv6: per /64).
    pub per_client: usize,
    /// Time for a TLS handshake and for a request head.
    pub head: Duration,
    /// Time for a request body once the head is in.
    pub body: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connections: MAX_CONNECTIONS,
            per_client: MAX_CONNECTIONS_PER_CLIENT,
            head: HEAD_TIMEOUT,
            body: BODY_TIMEOUT,
        }
    }
}

/// Serves `router` on `listener` until the process ends, with the default
/// [`Limits`]. With `tls`, every connection is a TLS one (handshakes run
/// off the accept loop with a timeout).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    serve_with(listener, router, tls, Limits::default()).await
}

/// [`serve`] with other bounds. Slow clients are cut off: a head not in
/// after `limits.head`, a body not in `limits.body` after its head (408,
/// connection closed).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let limit = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    let per_client = Arc::new(PerClient::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = per_client.acquire(peer.ip(), limits.per_client) else {
            tracing::debug!(%peer, "too many connections from this client; closed");
            drop(stream);
            continue;
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let info = ConnInfo {
                peer,
                tls: acceptor.is_some(),
            };
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(info);
                    let mut router = router.clone();
                    let expired = Arc::new(AtomicBool::new(false));
                    let body_limit = limits.body;
                    let timed = {
                        let expired = expired.clone();
                        move |inner| TimedBody {
                            inner,
                            deadline: Box::pin(tokio::time::sleep(body_limit)),
                            limit: body_limit,
                            expired,
                        }
                    };
                    async move {
                        use tower_service::Service as _;
                        let r = router.call(req.map(|b| Body::new(timed(b)))).await;
                        if expired.load(Ordering::SeqCst) {
                            return Ok(request_timeout(body_limit));
                        }
                        r
                    }
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head)
                .max_buf_size(MAX_HEAD.max(8192) + MAX_URI)
                .keep_alive(true);
            let result = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.head, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => builder.serve_connection(TokioIo::new(tls), svc).await,
                        _ => return,
                    }
                }
                None => builder.serve_connection(TokioIo::new(stream), svc).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_per_address_and_per_ipv6_64() {
        let t = Arc::new(PerClient::default());
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let slots: Vec<_> = (0..3).map(|_| t.acquire(a, 3).expect("room")).collect();
        assert!(t.acquire(a, 3).is_none(), "the fourth from one address");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert!(
            t.acquire(mapped, 3).is_none(),
            "IPv4-mapped is the same client"
        );
        let other = t.acquire("192.0.2.2".parse().expect("ip"), 3);
        assert!(other.is_some(), "another address has room");
        drop(slots);
        assert!(t.acquire(a, 3).is_some(), "slots are given back");
        let v6: Vec<_> = ["2001:db8::1", "2001:db8::2"]
            .iter()
            .map(|s| t.acquire(s.parse().expect("ip"), 2))
            .collect();
        assert!(v6.iter().all(Option::is_some));
        assert!(t
            .acquire("2001:db8::ffff".parse().expect("ip"), 2)
            .is_none());
        assert!(t
            .acquire("2001:db8:0:1::1".parse().expect("ip"), 2)
            .is_some());
    }
}

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{}: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file has no certificate.
    #[error("{}: no certificate found", .0.display())]
    NoCertificate(PathBuf),
    /// rustls refused the certificate or key.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

/// Loads a PEM certificate chain and key into a rustls server config.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let pem = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Pem { path, source }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(pem(cert))?
        .collect::<Result<_, _>>()
        .map_err(pem(cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem(key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}
