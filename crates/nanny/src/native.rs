//! The native checks' definitions and their pure parts: the request bytes
//! of an HTTP check built once, the reading of an HTTP/1.1 response
//! (status, framing, keep-alive, chunked bodies) and the matching of a body
//! or a DNS answer against `expect`. The I/O is in [`crate::http`],
//! [`crate::tls`] and [`crate::dns`].

use crate::expect::{Expect, MAX_READ};
use std::path::PathBuf;

/// An HTTP or HTTPS check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpCheck {
    /// The whole request, built once.
    pub request: Vec<u8>,
    /// The path asked for (for messages).
    pub url: String,
    /// Status ranges that mean up (inclusive).
    pub status: Vec<(u16, u16)>,
    /// What the body must hold.
    pub body: Expect,
    /// TLS settings for https.
    pub tls: Option<TlsCheck>,
}

/// The TLS side of an https check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsCheck {
    /// Server name sent (SNI) and verified: `check_host` or the address.
    pub server_name: String,
    /// Trusted CAs; `None` = no verification.
    pub ca: Option<PathBuf>,
    /// Warn about a certificate expiring within this many days.
    pub cert_days: u32,
}

/// A DNS check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsCheck {
    /// The name asked for.
    pub name: String,
    /// The record type (`A`, `AAAA`, ...).
    pub qtype: String,
    /// What one answer record's data must hold.
    pub answer: Expect,
}

impl HttpCheck {
    /// Whether `status` means up.
    pub fn status_ok(&self, status: u16) -> bool {
        self.status.iter().any(|&(a, b)| (a..=b).contains(&status))
    }

    /// The status ranges as written in lvs.cf.
    pub fn describe_status(&self) -> String {
        self.status
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Whether a body (or a DNS answer's text) satisfies `expect`: a fixed
/// text is looked for anywhere in it, a regular expression matched
/// anywhere, `*` needs at least one byte, no expect always holds.
pub fn content_matches(expect: &Expect, body: &[u8]) -> bool {
    match expect {
        Expect::Nothing => true,
        Expect::AnyByte => !body.is_empty(),
        Expect::Prefix(p) => memchr::memmem::find(body, p).is_some(),
        Expect::Regex(r) => r.is_match(body),
    }
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The body (at most [`MAX_READ`] bytes of it).
    pub body: Vec<u8>,
    /// The connection may carry the next request: HTTP/1.1 without
    /// `Connection: close` (or 1.0 with keep-alive), the body read to its
    /// end, nothing after it.
    pub reusable: bool,
}

/// What the bytes read so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Read more.
    Incomplete,
    /// A whole response (or its first [`MAX_READ`] body bytes).
    Done(Response),
    /// Not HTTP, or broken framing.
    Invalid(String),
}

/// Most bytes read for one response: the head and [`MAX_READ`] of body,
/// with room for chunk framing.
pub const MAX_RESPONSE: usize = MAX_READ + 32 * 1024;

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
    Empty,
}

/// Reads a response from `buf` (everything received on the connection
/// since the request); `eof` = the peer closed.
pub fn parse_response(buf: &[u8], eof: bool) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if eof {
                Parsed::Invalid(if buf.is_empty() {
                    "connection closed with no reply".into()
                } else {
                    "connection closed in the middle of the response head".into()
                })
            } else if buf.len() >= MAX_RESPONSE {
                Parsed::Invalid("response head too large".into())
            } else {
                Parsed::Incomplete
            }
        }
        Err(e) => return Parsed::Invalid(format!("not an HTTP response: {e}")),
    };
    let status = r.code.unwrap_or(0);
    let http11 = r.version == Some(1);
    let mut keep_alive = http11;
    let mut length = None;
    let mut chunked = false;
    for h in r.headers.iter() {
        let v = String::from_utf8_lossy(h.value);
        let v = v.trim();
        if h.name.eq_ignore_ascii_case("connection") {
            for token in v.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            match v.parse::<usize>() {
                Ok(n) if length.is_none_or(|l| l == n) => length = Some(n),
                _ => return Parsed::Invalid(format!("bad Content-Length `{v}`")),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v
                .rsplit(',')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        }
    }
    let framing = if status / 100 == 1 || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    let rest = &buf[head_len..];
    let done = |body: &[u8], reusable: bool| {
        Parsed::Done(Response {
            status,
            body: body[..body.len().min(MAX_READ)].to_vec(),
            reusable,
        })
    };
    match framing {
        Framing::Empty => done(&[], keep_alive && rest.is_empty()),
        Framing::Length(n) => {
            if rest.len() >= n {
                done(&rest[..n], keep_alive && rest.len() == n)
            } else if rest.len() >= MAX_READ {
                done(rest, false)
            } else if eof {
                Parsed::Invalid(format!(
                    "connection closed after {} of {n} body bytes",
                    rest.len()
                ))
            } else {
                Parsed::Incomplete
            }
        }
        Framing::UntilClose => {
            if eof || rest.len() >= MAX_READ {
                done(rest, false)
            } else {
                Parsed::Incomplete
            }
        }
        Framing::Chunked => match dechunk(rest) {
            Err(e) => Parsed::Invalid(e.to_string()),
            Ok(Chunks::Done { body, consumed }) => {
                done(&body, keep_alive && consumed == rest.len())
            }
            Ok(Chunks::Partial(body)) if body.len() >= MAX_READ => done(&body, false),
            Ok(Chunks::Partial(_)) if eof => {
                Parsed::Invalid("connection closed in the middle of a chunked body".into())
            }
            Ok(Chunks::Partial(_)) => {
                if buf.len() >= MAX_RESPONSE {
                    Parsed::Invalid("chunked body framing too large".into())
                } else {
                    Parsed::Incomplete
                }
            }
        },
    }
}

enum Chunks {
    /// The last chunk and the trailers were read; `consumed` bytes of input.
    Done { body: Vec<u8>, consumed: usize },
    /// More to come; the body so far.
    Partial(Vec<u8>),
}

/// Why a chunked body cannot be read.
#[derive(Debug, thiserror::Error)]
enum ChunkError {
    /// No line end within 1 KiB of a chunk's start.
    #[error("chunk size line too long")]
    SizeLineTooLong,
    /// The size is not a hexadecimal number.
    #[error("bad chunk size `{0}`")]
    BadSize(String),
    /// A chunk's data is not followed by a line end.
    #[error("chunk not followed by CRLF")]
    NoCrlfAfterChunk,
}

fn dechunk(data: &[u8]) -> Result<Chunks, ChunkError> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some(eol) = memchr::memmem::find(&data[pos..], b"\r\n") else {
            if data.len() - pos > 1024 {
                return Err(ChunkError::SizeLineTooLong);
            }
            return Ok(Chunks::Partial(body));
        };
        let line = &data[pos..pos + eol];
        let size_text = line.split(|&b| b == b';').next().unwrap_or(&[]);
        let size_text = String::from_utf8_lossy(size_text);
        let size = usize::from_str_radix(size_text.trim(), 16)
            .map_err(|_| ChunkError::BadSize(size_text.trim().to_string()))?;
        pos += eol + 2;
        if size == 0 {
            // Trailers, then an empty line.
            if data[pos..].starts_with(b"\r\n") {
                return Ok(Chunks::Done {
                    body,
                    consumed: pos + 2,
                });
            }
            return match memchr::memmem::find(&data[pos..], b"\r\n\r\n") {
                Some(end) => Ok(Chunks::Done {
                    body,
                    consumed: pos + end + 4,
                }),
                None => Ok(Chunks::Partial(body)),
            };
        }
        let available = data.len() - pos;
        if available < size + 2 {
            body.extend_from_slice(&data[pos..pos + available.min(size)]);
            return Ok(Chunks::Partial(body));
        }
        body.extend_from_slice(&data[pos..pos + size]);
        if &data[pos + size..pos + size + 2] != b"\r\n" {
            return Err(ChunkError::NoCrlfAfterChunk);
        }
        pos += size + 2;
        if body.len() >= MAX_READ {
            return Ok(Chunks::Partial(body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(text: &[u8]) -> Response {
        match parse_response(text, false) {
            Parsed::Done(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn framing_and_keep_alive() {
        let r = done(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!((r.status, &r.body[..], r.reusable), (200, &b"ok"[..], true));
        let r = done(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        assert!(!r.reusable);
        let r = done(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert!(!r.reusable);
        let r = done(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive\r\n\r\nok");
        assert!(r.reusable);
        let r = done(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!((r.status, r.body.len(), r.reusable), (204, 0, true));
        // Bytes after the response: not reusable.
        let r = done(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy");
        assert!(!r.reusable);
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", false),
            Parsed::Incomplete
        );
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true),
            Parsed::Invalid(_)
        ));
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\nbody", false),
            Parsed::Incomplete
        );
        let r = match parse_response(b"HTTP/1.1 200 OK\r\n\r\nbody", true) {
            Parsed::Done(r) => r,
            o => panic!("{o:?}"),
        };
        assert_eq!((&r.body[..], r.reusable), (&b"body"[..], false));
        assert!(matches!(
            parse_response(b"SSH-2.0-OpenSSH\r\n", false),
            Parsed::Invalid(_)
        ));
        assert_eq!(parse_response(b"HTTP/1.1 20", false), Parsed::Incomplete);
    }

    #[test]
    fn chunked_bodies() {
        let text = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nheal\r\n3;x=y\r\nthy\r\n0\r\n\r\n";
        let r = done(text);
        assert_eq!((&r.body[..], r.reusable), (&b"healthy"[..], true));
        for cut in 1..text.len() {
            let p = parse_response(&text[..cut], false);
            assert!(matches!(p, Parsed::Incomplete), "cut at {cut}: {p:?}");
        }
        let r = done(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
        );
        assert!(r.reusable);
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            ),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn large_bodies_are_cut_and_not_reused() {
        let mut text = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_READ * 2
        )
        .into_bytes();
        text.extend(std::iter::repeat_n(b'a', MAX_READ));
        let r = done(&text);
        assert_eq!((r.body.len(), r.reusable), (MAX_READ, false));
    }

    #[test]
    fn content_matching() {
        assert!(content_matches(
            &Expect::Prefix(b"ok".to_vec()),
            b"all ok here"
        ));
        assert!(!content_matches(&Expect::Prefix(b"ok".to_vec()), b"fail"));
        assert!(content_matches(&Expect::Nothing, b""));
        assert!(!content_matches(&Expect::AnyByte, b""));
        let re = Expect::compile(Some("sta.us: (up|ok)"), true, false).unwrap();
        assert!(content_matches(&re, b"x\nstatus: up"));
    }
}
