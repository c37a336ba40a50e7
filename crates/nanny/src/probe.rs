//! Running one probe (I/O). Every probe ends by `start + timeout` whatever
//! the server or program does: one deadline covers connect, send and read
//! (Piranha applied the timeout to each step separately).
//!
//! * No ICMP echo step: Piranha sent one echo request and never awaited the
//!   reply (only a local `sendto` error could fail the probe), so it added a
//!   raw socket and root for nothing. A no-route error still fails the
//!   connect.
//! * TCP/SCTP: non-blocking connect; optional send; if something is
//!   expected, read until the expect can be decided (split replies match),
//!   EOF, [`MAX_READ`] bytes or the deadline. Sockets are closed with
//!   SO_LINGER 0 (RST) so the director keeps no TIME_WAIT per probe.
//! * UDP: one datagram (the send string, or an empty datagram) on a
//!   connected socket. With an expect: replies are read and matched like TCP.
//!   Without: an ICMP error (port unreachable -> ECONNREFUSED) within
//!   min(timeout, 1 s) is a failure; a reply or silence is success.

use crate::check::{CheckKind, CheckSpec};
use crate::escape::show;
use crate::expect::{Expect, Verdict, MAX_READ};
use crate::program::{self, Exit};
use crate::protocol::Protocol;
use crate::state::Outcome;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// How long a UDP probe without expect waits for an ICMP error.
pub const UDP_SETTLE: Duration = Duration::from_secs(1);

/// Run one probe of `spec`.
pub async fn probe(spec: &CheckSpec) -> Outcome {
    let deadline = Instant::now() + spec.timeout;
    match &spec.kind {
        CheckKind::Invalid(m) => Outcome::Bad(m.clone()),
        CheckKind::Connect { send, expect } => match spec.protocol {
            Protocol::Tcp | Protocol::Sctp => {
                stream_probe(spec, send.as_deref(), expect, deadline).await
            }
            Protocol::Udp => udp_probe(spec, send.as_deref(), expect, deadline).await,
        },
        CheckKind::Program { argv, expect } => program_probe(spec, argv, expect).await,
    }
}

fn err_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "connection refused".into(),
        Some(libc::ECONNRESET) => "connection reset by peer".into(),
        Some(libc::EHOSTUNREACH) => "no route to host".into(),
        Some(libc::ENETUNREACH) => "network unreachable".into(),
        _ => {
            let s = e.to_string();
            // "Connection refused (os error 111)" -> "connection refused"
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            s.to_lowercase()
        }
    }
}

fn stream_socket(addr: SocketAddr, proto: libc::c_int) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscalls on a descriptor we own; sockaddr built below
    // lives on the stack for the duration of connect().
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
        let rc = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                libc::connect(
                    raw,
                    &sin as *const _ as *const libc::sockaddr,
                    std::mem::size_of_val(&sin) as libc::socklen_t,
                )
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                libc::connect(
                    raw,
                    &sin6 as *const _ as *const libc::sockaddr,
                    std::mem::size_of_val(&sin6) as libc::socklen_t,
                )
            }
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(fd)
    }
}

/// `Some(Ok)` if the non-blocking connect already completed, `Some(Err)` if
/// it already failed, `None` if still in progress.
fn connected_now(fd: &OwnedFd) -> Option<io::Result<()>> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(fd);
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid descriptor and out-pointers of the right sizes.
    unsafe {
        if libc::getsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut err as *mut _ as *mut libc::c_void,
            &mut len,
        ) != 0
        {
            return Some(Err(io::Error::last_os_error()));
        }
        if err != 0 {
            return Some(Err(io::Error::from_raw_os_error(err)));
        }
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        let mut sl = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getpeername(raw, &mut ss as *mut _ as *mut libc::sockaddr, &mut sl) == 0 {
            Some(Ok(()))
        } else {
            None
        }
    }
}

async fn stream_probe(
    spec: &CheckSpec,
    send: Option<&[u8]>,
    expect: &Expect,
    deadline: Instant,
) -> Outcome {
    let hp = spec.addr;
    let proto = if spec.protocol == Protocol::Sctp {
        libc::IPPROTO_SCTP
    } else {
        libc::IPPROTO_TCP
    };
    let fd = match stream_socket(spec.addr, proto) {
        Ok(fd) => fd,
        Err(e)
            if spec.protocol == Protocol::Sctp
                && e.raw_os_error() == Some(libc::EPROTONOSUPPORT) =>
        {
            return Outcome::Bad(
                "SCTP is not supported by this kernel (no sctp module): cannot check".into(),
            )
        }
        Err(e) => return Outcome::Bad(err_text(&e)),
    };
    // On a fast path (loopback, a LAN with a sub-microsecond RTT) the
    // handshake may already be complete: then a connect-only check needs no
    // poller registration at all.
    let need_io = send.is_some() || expect.wants_reply();
    match connected_now(&fd) {
        Some(Err(e)) => return Outcome::Bad(err_text(&e)),
        Some(Ok(())) if !need_io => return Outcome::Good,
        _ => {}
    }
    let std_stream = std::net::TcpStream::from(fd);
    let mut stream = match tokio::net::TcpStream::from_std(std_stream) {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(format!("cannot register socket: {e}")),
    };
    match timeout_at(deadline, stream.writable()).await {
        Err(_) => return Outcome::Bad(format!("CONNECT to {hp} timed out")),
        Ok(Err(e)) => return Outcome::Bad(err_text(&e)),
        Ok(Ok(())) => {}
    }
    match stream.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) => return Outcome::Bad(err_text(&e)),
    }
    // A spurious wakeup cannot make an unconnected socket look connected.
    if let Err(e) = stream.peer_addr() {
        return Outcome::Bad(err_text(&e));
    }
    if let Some(data) = send {
        match timeout_at(deadline, stream.write_all(data)).await {
            Err(_) => return Outcome::Bad(format!("WRITE to {hp} timed out")),
            Ok(Err(e)) => {
                return Outcome::Bad(format!(
                    "WRITE operation for {hp} returned error: {}",
                    err_text(&e)
                ))
            }
            Ok(Ok(())) => {}
        }
    }
    if !expect.wants_reply() {
        return Outcome::Good;
    }
    let mut got: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let room = (MAX_READ - got.len()).min(buf.len());
        match timeout_at(deadline, stream.read(&mut buf[..room])).await {
            Err(_) => {
                return Outcome::Bad(if got.is_empty() {
                    format!("READ to {hp} timed out")
                } else {
                    format!(
                        "READ to {hp} timed out after reading \"{}\" (expected \"{}\")",
                        show(&got, 64),
                        expect.describe()
                    )
                })
            }
            Ok(Err(e)) => {
                return Outcome::Bad(format!(
                    "{} after reading \"{}\"",
                    err_text(&e),
                    show(&got, 64)
                ));
            }
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                match expect.check(&got, n == 0) {
                    Verdict::Match => return Outcome::Good,
                    Verdict::NeedMore => continue,
                    Verdict::Mismatch => return Outcome::Bad(mismatch(&got, n == 0, expect)),
                }
            }
        }
    }
}

fn mismatch(got: &[u8], eof: bool, expect: &Expect) -> String {
    if got.is_empty() && eof {
        format!(
            "connection closed with no reply (expected \"{}\")",
            expect.describe()
        )
    } else if eof {
        format!(
            "expect mismatch: read \"{}\" then connection closed (expected \"{}\")",
            show(got, 64),
            expect.describe()
        )
    } else {
        format!(
            "expect mismatch: read \"{}\" (expected \"{}\")",
            show(got, 64),
            expect.describe()
        )
    }
}

async fn udp_probe(
    spec: &CheckSpec,
    send: Option<&[u8]>,
    expect: &Expect,
    deadline: Instant,
) -> Outcome {
    let hp = spec.addr;
    let bind: SocketAddr = if spec.addr.is_ipv4() {
        "0.0.0.0:0".parse().unwrap()
    } else {
        "[::]:0".parse().unwrap()
    };
    let sock = match tokio::net::UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(format!("cannot create UDP socket: {e}")),
    };
    if let Err(e) = sock.connect(spec.addr).await {
        return Outcome::Bad(err_text(&e));
    }
    let payload = send.unwrap_or(&[]);
    match timeout_at(deadline, sock.send(payload)).await {
        Err(_) => return Outcome::Bad(format!("WRITE to {hp} timed out")),
        Ok(Err(e)) => {
            return Outcome::Bad(format!(
                "WRITE operation for {hp} returned error: {}",
                err_text(&e)
            ))
        }
        Ok(Ok(_)) => {}
    }
    let mut buf = vec![0u8; 65536];
    if !expect.wants_reply() {
        let settle = (Instant::now() + UDP_SETTLE).min(deadline);
        return match timeout_at(settle, sock.recv(&mut buf)).await {
            Err(_) | Ok(Ok(_)) => Outcome::Good,
            Ok(Err(e)) => Outcome::Bad(udp_err(&e)),
        };
    }
    let mut got: Vec<u8> = Vec::new();
    loop {
        match timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_) => {
                return Outcome::Bad(if got.is_empty() {
                    format!("READ to {hp} timed out")
                } else {
                    format!(
                        "READ to {hp} timed out after reading \"{}\" (expected \"{}\")",
                        show(&got, 64),
                        expect.describe()
                    )
                })
            }
            Ok(Err(e)) => return Outcome::Bad(udp_err(&e)),
            Ok(Ok(n)) => {
                let room = MAX_READ - got.len();
                got.extend_from_slice(&buf[..n.min(room)]);
                match expect.check(&got, false) {
                    Verdict::Match => return Outcome::Good,
                    Verdict::NeedMore => continue,
                    Verdict::Mismatch => return Outcome::Bad(mismatch(&got, false, expect)),
                }
            }
        }
    }
}

fn udp_err(e: &io::Error) -> String {
    if e.raw_os_error() == Some(libc::ECONNREFUSED) {
        "connection refused (ICMP port unreachable)".into()
    } else {
        err_text(e)
    }
}

/// Bound on captured program output.
pub const MAX_PROGRAM_OUTPUT: usize = MAX_READ;

async fn program_probe(spec: &CheckSpec, argv: &[String], expect: &Expect) -> Outcome {
    let hp = spec.addr;
    let run = program::run(argv, spec.timeout, MAX_PROGRAM_OUTPUT).await;
    let cmd = argv.join(" ");
    match run.exit {
        Exit::Code(0) => {}
        Exit::Code(c) => {
            return Outcome::Bad(format!("send_program exited with status {c}: {cmd}"))
        }
        Exit::Signal(s) => {
            return Outcome::Bad(format!("send_program killed by signal {s}: {cmd}"))
        }
        Exit::TimedOut => {
            return Outcome::Bad(format!(
                "timeout running the following: {cmd} (killed after {} s)",
                spec.timeout.as_secs()
            ))
        }
        Exit::SpawnFailed(e) => return Outcome::Bad(format!("cannot run send_program: {e}")),
        Exit::Untrusted(e) => return Outcome::Bad(e),
    }
    program_verdict(&run.output, run.truncated, expect, &hp.to_string())
}

/// Decide on a program's output (exit status 0). Piranha compared the output
/// minus its last character; we remove one trailing newline (`\n` or `\r\n`).
pub fn program_verdict(output: &[u8], truncated: bool, expect: &Expect, hp: &str) -> Outcome {
    let mut out = output;
    if out.ends_with(b"\r\n") {
        out = &out[..out.len() - 2];
    } else if out.ends_with(b"\n") {
        out = &out[..out.len() - 1];
    }
    let ok = match expect {
        Expect::Nothing => out.iter().all(|c| c.is_ascii_whitespace()),
        Expect::AnyByte => !out.is_empty(),
        Expect::Prefix(p) => !truncated && out == p.as_slice(),
        Expect::Regex(r) => r.is_match(out),
    };
    if ok {
        Outcome::Good
    } else if matches!(expect, Expect::Nothing) {
        Outcome::Bad(format!(
            "Expect string is NULL, but the external sending program returned a non-NULL result: \"{}\"",
            show(out, 64)
        ))
    } else {
        Outcome::Bad(format!(
            "Trouble. Received results are not what we expected from ({hp}): read \"{}\" (expected \"{}\")",
            show(out, 64),
            expect.describe()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_output_rules() {
        let hp = "10.0.0.1:80";
        let ok = |o: &[u8], e: &Expect| program_verdict(o, false, e, hp) == Outcome::Good;
        assert!(ok(b"", &Expect::Nothing));
        assert!(ok(b"\n", &Expect::Nothing));
        assert!(!ok(b"error\n", &Expect::Nothing));
        let e = Expect::Prefix(b"OK".to_vec());
        assert!(ok(b"OK\n", &e));
        assert!(ok(b"OK", &e));
        assert!(ok(b"OK\r\n", &e));
        assert!(!ok(b"OKAY\n", &e));
        assert!(!ok(b"", &e));
        assert!(ok(b"x", &Expect::AnyByte));
        assert!(!ok(b"\n", &Expect::AnyByte));
    }
}
