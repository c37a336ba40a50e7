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
//!   Connect-only TCP checks reuse their sockets ([`SocketPool`]) and end
//!   at the server's SYN-ACK: the last ACK of the handshake is held back
//!   and the reset goes instead, so the server never makes (nor its
//!   application accepts and logs) a connection for the probe. The verdict
//!   is the one a full connect gives: `connect()` succeeds on the SYN-ACK
//!   in both cases.
//! * UDP: one datagram (the send string, or an empty datagram) on a
//!   connected socket. With an expect: replies are read and matched like TCP.
//!   Without: an ICMP error (port unreachable -> ECONNREFUSED) within
//!   min(timeout, 1 s) is a failure; a reply or silence is success.

use crate::check::{CheckKind, CheckSpec};
use crate::escape::show;
use crate::expect::{Expect, Verdict, MAX_READ};
use crate::oserror::err_text;
use crate::program::{self, Exit};
use crate::protocol::Protocol;
use crate::state::Outcome;
use nix::sys::socket::{
    self, getsockopt, setsockopt, sockopt, AddressFamily, SockFlag, SockProtocol, SockType,
    SockaddrIn, SockaddrIn6, SockaddrStorage,
};
use nix::{setsockopt_impl, sockopt_impl};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
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
        CheckKind::Program {
            program,
            argv,
            expect,
        } => program_probe(spec, program, argv, expect).await,
        CheckKind::Http(h) => {
            crate::http::probe(spec, h, &mut crate::http::Session::default(), deadline).await
        }
        CheckKind::Dns(d) => crate::dns::probe(spec, d, dns_id(), deadline).await,
    }
}

/// A DNS message id nobody on the path can guess from the last one.
fn dns_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as u16
}

/// What a check keeps from one probe to the next (the kept HTTP
/// connection and TLS configuration).
#[derive(Default)]
pub struct Session {
    /// HTTP(S) state.
    pub http: crate::http::Session,
}

/// Run one probe of `spec`, taking the socket of a TCP connect-only check
/// from `pool` (see [`SocketPool`]) and keeping an HTTP connection in
/// `session`; every other check as [`probe`].
pub async fn probe_pooled(spec: &CheckSpec, pool: &SocketPool, session: &mut Session) -> Outcome {
    match &spec.kind {
        CheckKind::Http(h) => {
            crate::http::probe(spec, h, &mut session.http, Instant::now() + spec.timeout).await
        }
        CheckKind::Connect {
            send: None,
            expect: Expect::Nothing,
        } if spec.protocol == Protocol::Tcp => {
            pooled_connect_probe(spec, pool, Instant::now() + spec.timeout).await
        }
        _ => probe(spec).await,
    }
}

/// Sockets of finished TCP connect-only probes, ready for the next one.
///
/// A connect-only check is the common case and, at thousands of checks a
/// second, creating and destroying a socket (and registering it with the
/// poller) for every probe costs as much as the handshake itself. A TCP
/// socket can be connected again once `connect(AF_UNSPEC)` has reset it
/// (an RST if it was connected, as SO_LINGER 0 would at close), so each
/// probe still makes a complete new three-way handshake from a fresh
/// ephemeral port, and the kernel's answer still decides; only the socket
/// object is reused. At most [`SocketPool::MAX_IDLE`] idle sockets per
/// address family are kept.
#[derive(Default)]
pub struct SocketPool {
    v4: std::cell::RefCell<Idle>,
    v6: std::cell::RefCell<Idle>,
}

/// Idle sockets, least recently returned first, with when they came back.
type Idle = std::collections::VecDeque<(Instant, OwnedFd)>;

impl SocketPool {
    /// Idle sockets kept per address family (about the number of probes in
    /// flight at once; beyond that they are closed).
    pub const MAX_IDLE: usize = 1024;

    /// An idle socket unused for this long is closed, so that a burst of
    /// probes in flight (many servers timing out together) does not leave
    /// its sockets open for the life of the process: the pool follows the
    /// recent concurrency and the descriptor count comes back down.
    pub const IDLE_LIMIT: Duration = Duration::from_secs(2);

    /// An empty pool.
    pub fn new() -> SocketPool {
        SocketPool::default()
    }

    fn list(&self, v4: bool) -> &std::cell::RefCell<Idle> {
        if v4 {
            &self.v4
        } else {
            &self.v6
        }
    }

    /// Idle sockets held (IPv4 + IPv6).
    pub fn idle(&self) -> usize {
        self.v4.borrow().len() + self.v6.borrow().len()
    }

    fn take(&self, v4: bool) -> io::Result<OwnedFd> {
        // The most recently returned one: the others age and get closed.
        match self.list(v4).borrow_mut().pop_back() {
            Some((_, s)) => Ok(s),
            None => {
                let s = new_stream_socket(v4, SockProtocol::Tcp)?;
                hold_back_final_ack(&s);
                Ok(s)
            }
        }
    }

    fn put(&self, v4: bool, s: OwnedFd) {
        let now = Instant::now();
        let mut l = self.list(v4).borrow_mut();
        while l
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Self::IDLE_LIMIT)
        {
            l.pop_front();
        }
        if l.len() < Self::MAX_IDLE {
            l.push_back((now, s));
        }
    }
}

/// Asks the kernel to delay the ACK that completes a connect
/// (TCP_DEFER_ACCEPT on a connecting socket: the ACK waits for data or the
/// delayed-ACK timer, 200 ms). The probe resets the socket as soon as the
/// connect has succeeded, so the server sees SYN, sends SYN-ACK and gets a
/// reset for a half-open request: no connection is created, queued,
/// accepted and torn down on the real server for every probe, and about a
/// quarter of the kernel's work per probe is saved. Best effort: without it the probe
/// is an ordinary connect and reset, with the same verdict.
fn hold_back_final_ack(fd: &OwnedFd) {
    let _ = setsockopt(fd, TcpDeferAccept, &1);
}

// TCP_DEFER_ACCEPT, which nix names for listening sockets only on FreeBSD.
sockopt_impl!(
    /// Seconds the final ACK of a handshake may wait (Linux).
    TcpDeferAccept,
    SetOnly,
    libc::IPPROTO_TCP,
    libc::TCP_DEFER_ACCEPT,
    libc::c_int
);

/// `connect(AF_UNSPEC)`: back to an unconnected socket, resetting a
/// connection (RST) or an attempt in progress.
fn disconnect(fd: RawFd) -> io::Result<()> {
    let sa = libc::sockaddr {
        sa_family: libc::AF_UNSPEC as libc::sa_family_t,
        sa_data: [0; 14],
    };
    // SAFETY: nix has no AF_UNSPEC address to connect to (its address types
    // are the real families), so the call is made directly; `sa` is a
    // complete sockaddr that lives across the call, passed with its size.
    let rc = unsafe {
        libc::connect(
            fd,
            &sa as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// First and longest pause between two questions to the kernel about a
/// pooled connect in progress.
const POLL_FIRST: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(50);

async fn pooled_connect_probe(spec: &CheckSpec, pool: &SocketPool, deadline: Instant) -> Outcome {
    let hp = spec.addr;
    let v4 = hp.is_ipv4();
    let fd = match pool.take(v4) {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(format!("cannot create a socket: {}", err_text(&e))),
    };
    let raw = fd.as_raw_fd();
    let sa = RawAddr::new(hp);
    // A reused socket cannot wait on the poller: a reset socket reports a
    // hang-up, which tokio keeps as a final state of its registration. So
    // the kernel is asked again after 1, 2, 4 ... (at most 50) ms, and once
    // more at the deadline: a LAN handshake is seen at the first question,
    // a timeout costs about 25 questions, and the outcome is the same as
    // with a readiness wait (connected by the deadline or not), noticed at
    // most 50 ms later.
    let outcome = match sa.connect(raw) {
        Ok(()) => Outcome::Good,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            let mut pause = POLL_FIRST;
            loop {
                match connect_status(fd.as_fd(), &sa, false) {
                    Some(Ok(())) => break Outcome::Good,
                    Some(Err(e)) => break Outcome::Bad(err_text(&e)),
                    None => {}
                }
                let now = Instant::now();
                if now >= deadline {
                    break Outcome::Bad(format!("CONNECT to {hp} timed out"));
                }
                tokio::time::sleep_until((now + pause).min(deadline)).await;
                pause = (pause * 2).min(POLL_MAX);
            }
        }
        Err(e) => Outcome::Bad(err_text(&e)),
    };
    // Reset whatever is left and keep the socket; if that fails, dropping
    // it closes it (with an RST: SO_LINGER 0).
    if disconnect(raw).is_ok() {
        pool.put(v4, fd);
    }
    outcome
}

/// A peer address in the kernel's form, kept to ask `connect()` again.
enum RawAddr {
    V4(SockaddrIn),
    V6(SockaddrIn6),
}

impl RawAddr {
    fn new(addr: SocketAddr) -> RawAddr {
        match addr {
            SocketAddr::V4(a) => RawAddr::V4(SockaddrIn::from(a)),
            SocketAddr::V6(a) => RawAddr::V6(SockaddrIn6::from(a)),
        }
    }

    /// `connect(fd, self)`: Ok(()) on 0, the errno otherwise.
    fn connect(&self, fd: RawFd) -> io::Result<()> {
        let r = match self {
            RawAddr::V4(sin) => socket::connect(fd, sin),
            RawAddr::V6(sin6) => socket::connect(fd, sin6),
        };
        r.map_err(io::Error::from)
    }
}

/// A non-blocking stream socket with SO_LINGER 0 (closed with an RST, so
/// the director keeps no TIME_WAIT).
fn new_stream_socket(v4: bool, proto: SockProtocol) -> io::Result<OwnedFd> {
    let domain = if v4 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket::socket(
        domain,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        proto,
    )?;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = setsockopt(&fd, sockopt::Linger, &linger);
    Ok(fd)
}

/// A new stream socket whose connect to `addr` has been started.
fn stream_socket(addr: SocketAddr, proto: SockProtocol) -> io::Result<(OwnedFd, RawAddr)> {
    let fd = new_stream_socket(addr.is_ipv4(), proto)?;
    let sa = RawAddr::new(addr);
    match sa.connect(fd.as_raw_fd()) {
        Err(e) if e.raw_os_error() != Some(libc::EINPROGRESS) => Err(e),
        _ => Ok((fd, sa)),
    }
}

/// Where a started non-blocking connect stands: `Some(Ok)` connected,
/// `Some(Err)` failed, `None` still in progress.
///
/// TCP: one more `connect()` tells all three in one system call (0 or
/// EISCONN: connected; EALREADY: in progress; else the connect's error), as
/// Piranha's second connect did; that is cheaper than SO_ERROR plus
/// getpeername, which matters at 10,000 probes a second. SCTP: a second
/// connect after a failed attempt would start a new association, so it asks
/// SO_ERROR and getpeername instead.
fn connect_status(fd: BorrowedFd<'_>, sa: &RawAddr, sctp: bool) -> Option<io::Result<()>> {
    if !sctp {
        return match sa.connect(fd.as_raw_fd()) {
            Ok(()) => Some(Ok(())),
            Err(e) => match e.raw_os_error() {
                Some(libc::EISCONN) => Some(Ok(())),
                Some(libc::EALREADY) | Some(libc::EINPROGRESS) | Some(libc::EINTR) => None,
                _ => Some(Err(e)),
            },
        };
    }
    match getsockopt(&fd, sockopt::SocketError) {
        Err(e) => return Some(Err(e.into())),
        Ok(0) => {}
        Ok(err) => return Some(Err(io::Error::from_raw_os_error(err))),
    }
    match socket::getpeername::<SockaddrStorage>(fd.as_raw_fd()) {
        Ok(_) => Some(Ok(())),
        Err(_) => None,
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
        SockProtocol::Sctp
    } else {
        SockProtocol::Tcp
    };
    let sctp = spec.protocol == Protocol::Sctp;
    let (fd, sa) = match stream_socket(spec.addr, proto) {
        Ok(x) => x,
        Err(e) if sctp && e.raw_os_error() == Some(libc::EPROTONOSUPPORT) => {
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
    let connected = match connect_status(fd.as_fd(), &sa, sctp) {
        Some(Err(e)) => return Outcome::Bad(err_text(&e)),
        Some(Ok(())) if !need_io => return Outcome::Good,
        Some(Ok(())) => true,
        None => false,
    };
    let std_stream = std::net::TcpStream::from(fd);
    let mut stream = match tokio::net::TcpStream::from_std(std_stream) {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(format!("cannot register socket: {e}")),
    };
    // Wait for the handshake; a wakeup is only a hint, the kernel's answer
    // to connect_status decides (a spurious one clears the readiness and
    // waits again, never past the deadline).
    if !connected {
        loop {
            match timeout_at(deadline, stream.writable()).await {
                Err(_) => return Outcome::Bad(format!("CONNECT to {hp} timed out")),
                Ok(Err(e)) => return Outcome::Bad(err_text(&e)),
                Ok(Ok(())) => {}
            }
            let raw = stream.as_fd();
            let status = stream.try_io(tokio::io::Interest::WRITABLE, || {
                connect_status(raw, &sa, sctp)
                    .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
            });
            match status {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Outcome::Bad(format!("CONNECT to {hp} timed out"));
                    }
                }
                Err(e) => return Outcome::Bad(err_text(&e)),
            }
        }
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

async fn program_probe(
    spec: &CheckSpec,
    program: &std::path::Path,
    argv: &[String],
    expect: &Expect,
) -> Outcome {
    let hp = spec.addr;
    let run = program::run(program, argv, spec.timeout, MAX_PROGRAM_OUTPUT).await;
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
