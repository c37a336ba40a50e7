//! The HTTP and HTTPS probes (I/O). One deadline covers the connect, the
//! TLS handshake, the request and the reading of the answer. A connection
//! the server lets us keep (see [`crate::native::Response::reusable`]) is
//! kept in the check's [`Session`] for the next probe; a kept connection
//! that the server closed meanwhile (nothing read back) is replaced by a
//! new one within the same deadline, so an idle timeout on the server is
//! never a failure.

use crate::check::CheckSpec;
use crate::escape::show;
use crate::native::{parse_response, HttpCheck, Parsed, Response};
use crate::state::Outcome;
use crate::tls::{self, CertNote};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// A byte stream: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

/// What an HTTP(S) check keeps between its probes.
#[derive(Default)]
pub struct Session {
    conn: Option<Box<dyn Stream>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The certificate note of the last TLS handshake (https).
    pub cert: Option<CertNote>,
    /// Connections made (for tests and figures: reuse keeps it at 1).
    pub connects: u64,
}

impl Session {
    /// Drops the kept connection (the check's definition changed, or it
    /// is stopping).
    pub fn close(&mut self) {
        self.conn = None;
    }
}

enum Exchange {
    Answer(Response),
    /// Nothing came back on a kept connection: try a new one.
    Stale,
    Failed(Outcome),
}

/// One probe of an HTTP(S) check.
pub async fn probe(
    spec: &CheckSpec,
    check: &HttpCheck,
    session: &mut Session,
    deadline: Instant,
) -> Outcome {
    if let Some(mut conn) = session.conn.take() {
        match exchange(&mut conn, spec, check, deadline, true).await {
            Exchange::Answer(r) => return verdict(spec, check, session, conn, r),
            Exchange::Failed(o) => return o,
            Exchange::Stale => {}
        }
    }
    let mut conn = match connect(spec, check, session, deadline).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    match exchange(&mut conn, spec, check, deadline, false).await {
        Exchange::Answer(r) => verdict(spec, check, session, conn, r),
        Exchange::Failed(o) => o,
        Exchange::Stale => {
            Outcome::Bad(format!("connection to {} closed with no reply", spec.addr))
        }
    }
}

fn verdict(
    spec: &CheckSpec,
    check: &HttpCheck,
    session: &mut Session,
    conn: Box<dyn Stream>,
    r: Response,
) -> Outcome {
    if r.reusable {
        session.conn = Some(conn);
    }
    let hp = spec.addr;
    if !check.status_ok(r.status) {
        return Outcome::Bad(format!(
            "HTTP status {} from {hp}{} (expected {})",
            r.status,
            check.url,
            check.describe_status()
        ));
    }
    if !crate::native::content_matches(&check.body, &r.body) {
        return Outcome::Bad(format!(
            "HTTP body from {hp}{} does not match \"{}\": read \"{}\"",
            check.url,
            check.body.describe(),
            show(&r.body, 64)
        ));
    }
    Outcome::Good
}

async fn connect(
    spec: &CheckSpec,
    check: &HttpCheck,
    session: &mut Session,
    deadline: Instant,
) -> Result<Box<dyn Stream>, Outcome> {
    let hp = spec.addr;
    let socket = if hp.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| Outcome::Bad(format!("cannot create a socket: {e}")))?;
    // Closed with a reset: the director keeps no TIME_WAIT per connection.
    let _ = nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::Linger,
        &libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    );
    session.connects += 1;
    let tcp = match timeout_at(deadline, socket.connect(hp)).await {
        Err(_) => return Err(Outcome::Bad(format!("CONNECT to {hp} timed out"))),
        Ok(Err(e)) => return Err(Outcome::Bad(crate::oserror::err_text(&e))),
        Ok(Ok(s)) => s,
    };
    let _ = tcp.set_nodelay(true);
    let Some(t) = &check.tls else {
        return Ok(Box::new(tcp));
    };
    let config = match &session.tls {
        Some(c) => c.clone(),
        None => {
            let c = tls::client_config(t).map_err(Outcome::Bad)?;
            session.tls = Some(c.clone());
            c
        }
    };
    let name = tls::server_name(&t.server_name).map_err(Outcome::Bad)?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = match timeout_at(deadline, connector.connect(name, tcp)).await {
        Err(_) => return Err(Outcome::Bad(format!("TLS handshake with {hp} timed out"))),
        Ok(Err(e)) => {
            return Err(Outcome::Bad(format!(
                "TLS handshake with {hp} failed: {}",
                tls::error_text(&e)
            )))
        }
        Ok(Ok(s)) => s,
    };
    let (_, conn) = stream.get_ref();
    session.cert = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|der| tls::note(der, t.cert_days));
    Ok(Box::new(stream))
}

async fn exchange(
    conn: &mut Box<dyn Stream>,
    spec: &CheckSpec,
    check: &HttpCheck,
    deadline: Instant,
    reused: bool,
) -> Exchange {
    let hp = spec.addr;
    match timeout_at(deadline, conn.write_all(&check.request)).await {
        Err(_) => return Exchange::Failed(Outcome::Bad(format!("WRITE to {hp} timed out"))),
        Ok(Err(_)) if reused => return Exchange::Stale,
        Ok(Err(e)) => {
            return Exchange::Failed(Outcome::Bad(format!(
                "WRITE operation for {hp} returned error: {}",
                crate::oserror::err_text(&e)
            )))
        }
        Ok(Ok(())) => {}
    }
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match timeout_at(deadline, conn.read(&mut chunk)).await {
            Err(_) => {
                return Exchange::Failed(Outcome::Bad(if buf.is_empty() {
                    format!("READ to {hp} timed out")
                } else {
                    format!(
                        "READ to {hp} timed out after reading \"{}\"",
                        show(&buf, 64)
                    )
                }))
            }
            Ok(Err(_)) if reused && buf.is_empty() => return Exchange::Stale,
            Ok(Err(e)) => {
                return Exchange::Failed(Outcome::Bad(format!(
                    "{} after reading \"{}\"",
                    crate::oserror::err_text(&e),
                    show(&buf, 64)
                )))
            }
            Ok(Ok(n)) => n,
        };
        if n == 0 && buf.is_empty() && reused {
            return Exchange::Stale;
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_response(&buf, n == 0) {
            Parsed::Incomplete => continue,
            Parsed::Done(r) => return Exchange::Answer(r),
            Parsed::Invalid(why) => {
                return Exchange::Failed(Outcome::Bad(format!(
                    "bad HTTP response from {hp}: {why}: read \"{}\"",
                    show(&buf, 64)
                )))
            }
        }
    }
}
