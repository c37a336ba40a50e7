//! The DNS probe (I/O; the wire format is hickory-proto's). One question
//! over UDP on a connected socket, answers with another id ignored; when
//! the answer is truncated the same question goes over TCP. Up: rcode
//! NOERROR and, with `expect`, an answer record whose data (as text, e.g.
//! `192.0.2.1` or `10 mail.example.com.`) holds it. One deadline covers
//! everything.

use crate::check::CheckSpec;
use crate::escape::show;
use crate::native::{content_matches, DnsCheck};
use crate::oserror::err_text;
use crate::state::Outcome;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use std::net::SocketAddr;
use std::str::FromStr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// Why a check's question cannot be put on the wire.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// `check_query`'s name is not a DNS name.
    #[error("`{name}` is not a DNS name: {why}")]
    Name {
        /// The name as configured.
        name: String,
        /// The DNS library's reason.
        why: String,
    },
    /// `check_query`'s type is not a record type.
    #[error("`{0}` is not a record type")]
    RecordType(String),
    /// The message could not be encoded.
    #[error("cannot encode the query: {0}")]
    Encode(String),
}

/// The question of a check as a message with id `id`.
pub fn query(check: &DnsCheck, id: u16) -> Result<Vec<u8>, QueryError> {
    let name = Name::from_str(&check.name).map_err(|e| QueryError::Name {
        name: check.name.clone(),
        why: e.to_string(),
    })?;
    let rtype = RecordType::from_str(&check.qtype)
        .map_err(|_| QueryError::RecordType(check.qtype.clone()))?;
    let mut m = Message::new();
    m.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name, rtype));
    m.to_vec().map_err(|e| QueryError::Encode(e.to_string()))
}

/// Judges an answer (pure).
pub fn judge(check: &DnsCheck, hp: SocketAddr, answer: &Message) -> Outcome {
    let what = format!("{} {}", check.name, check.qtype);
    if answer.response_code() != ResponseCode::NoError {
        return Outcome::Bad(format!(
            "DNS answer from {hp} for {what}: {}",
            answer.response_code()
        ));
    }
    if matches!(check.answer, crate::expect::Expect::Nothing) {
        return Outcome::Good;
    }
    let texts: Vec<String> = answer
        .answers()
        .iter()
        .map(|r| r.data().to_string())
        .collect();
    if texts
        .iter()
        .any(|t| content_matches(&check.answer, t.as_bytes()))
    {
        Outcome::Good
    } else {
        Outcome::Bad(format!(
            "DNS answer from {hp} for {what} does not match \"{}\": {}",
            check.answer.describe(),
            if texts.is_empty() {
                "no answer records".to_string()
            } else {
                format!("got \"{}\"", show(texts.join(", ").as_bytes(), 128))
            }
        ))
    }
}

/// One probe.
pub async fn probe(spec: &CheckSpec, check: &DnsCheck, id: u16, deadline: Instant) -> Outcome {
    let hp = spec.addr;
    let q = match query(check, id) {
        Ok(q) => q,
        Err(e) => return Outcome::Bad(e.to_string()),
    };
    let answer = match udp(hp, &q, id, deadline).await {
        Ok(a) if a.truncated() => match tcp(hp, &q, id, deadline).await {
            Ok(a) => a,
            Err(e) => return Outcome::Bad(format!("{e} (TCP, after a truncated UDP answer)")),
        },
        Ok(a) => a,
        Err(e) => return Outcome::Bad(e.to_string()),
    };
    judge(check, hp, &answer)
}

/// Why a DNS probe got no usable answer (the texts are the probe's
/// failure reasons, in Piranha's words where it had them).
#[derive(Debug, thiserror::Error)]
enum DnsFailure {
    #[error("cannot create UDP socket: {0}")]
    Socket(std::io::Error),
    /// Connecting, or a read error.
    #[error("{}", err_text(.0))]
    Io(std::io::Error),
    #[error("WRITE to {0} timed out")]
    WriteTimeout(SocketAddr),
    #[error("WRITE to {to}: {}", err_text(.why))]
    Write { to: SocketAddr, why: std::io::Error },
    #[error("CONNECT to {0} timed out")]
    ConnectTimeout(SocketAddr),
    #[error("DNS query to {0} timed out")]
    UdpTimeout(SocketAddr),
    #[error("DNS query to {0} over TCP timed out")]
    TcpTimeout(SocketAddr),
    #[error("connection refused (ICMP port unreachable)")]
    PortUnreachable,
    #[error("DNS answer from {0} over TCP has another id")]
    OtherId(SocketAddr),
    #[error("undecodable DNS answer from {0}")]
    UndecodableUdp(SocketAddr),
    #[error("undecodable DNS answer from {0}: {1}")]
    UndecodableTcp(SocketAddr, String),
}

async fn udp(hp: SocketAddr, q: &[u8], id: u16, deadline: Instant) -> Result<Message, DnsFailure> {
    let bind: SocketAddr = if hp.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(DnsFailure::Socket)?;
    sock.connect(hp).await.map_err(DnsFailure::Io)?;
    match timeout_at(deadline, sock.send(q)).await {
        Err(_) => return Err(DnsFailure::WriteTimeout(hp)),
        Ok(Err(e)) => return Err(DnsFailure::Write { to: hp, why: e }),
        Ok(Ok(_)) => {}
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_) => return Err(DnsFailure::UdpTimeout(hp)),
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                return Err(DnsFailure::PortUnreachable)
            }
            Ok(Err(e)) => return Err(DnsFailure::Io(e)),
            Ok(Ok(n)) => n,
        };
        match Message::from_vec(&buf[..n]) {
            // Another id, or not an answer: not ours (a late answer to an
            // earlier probe, or noise); keep waiting.
            Ok(m) if m.id() == id && m.message_type() == MessageType::Response => return Ok(m),
            Ok(_) => continue,
            Err(_) if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id => {
                return Err(DnsFailure::UndecodableUdp(hp))
            }
            Err(_) => continue,
        }
    }
}

async fn tcp(hp: SocketAddr, q: &[u8], id: u16, deadline: Instant) -> Result<Message, DnsFailure> {
    let mut s = match timeout_at(deadline, tokio::net::TcpStream::connect(hp)).await {
        Err(_) => return Err(DnsFailure::ConnectTimeout(hp)),
        Ok(Err(e)) => return Err(DnsFailure::Io(e)),
        Ok(Ok(s)) => s,
    };
    let mut out = Vec::with_capacity(q.len() + 2);
    out.extend_from_slice(&(q.len() as u16).to_be_bytes());
    out.extend_from_slice(q);
    let io = async {
        s.write_all(&out).await?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await?;
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut msg).await?;
        Ok::<_, std::io::Error>(msg)
    };
    let msg = match timeout_at(deadline, io).await {
        Err(_) => return Err(DnsFailure::TcpTimeout(hp)),
        Ok(Err(e)) => return Err(DnsFailure::Io(e)),
        Ok(Ok(m)) => m,
    };
    match Message::from_vec(&msg) {
        Ok(m) if m.id() == id => Ok(m),
        Ok(_) => Err(DnsFailure::OtherId(hp)),
        Err(e) => Err(DnsFailure::UndecodableTcp(hp, e.to_string())),
    }
}
