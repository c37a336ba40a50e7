//! The netlink socket: sends what [`crate::codec`] encodes, hands what it
//! receives back to [`crate::codec`].

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::sys::socket::{getsockopt, setsockopt, sockopt};
use nix::{setsockopt_impl, sockopt_impl};

use crate::codec::{self, Body, Message, Query, NLM_F_DUMP_INTR};
use crate::consts::IPVS_GENL_NAME;
use crate::error::{BatchError, Error, OpFailure, ProtocolError};
use crate::types::*;

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

/// Socket buffer sizes asked for (forced when we have CAP_NET_ADMIN).
const SOCKET_BUFFER: usize = 4 << 20;
/// Receive buffer for one datagram (dumps come in skbs of up to 32 KiB and
/// more with large socket buffers).
const RECV_BUFFER: usize = 1 << 20;

/// A connection to the kernel's IPVS generic netlink family.
pub struct Ipvs {
    sock: NlSocket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    window: usize,
}

// The netlink-level options nix has no names for.
sockopt_impl!(
    /// NETLINK_CAP_ACK: errors echo only the request's header.
    CapAck,
    SetOnly,
    SOL_NETLINK,
    NETLINK_CAP_ACK,
    bool
);
sockopt_impl!(
    /// NETLINK_EXT_ACK: errors carry the kernel's text.
    ExtAck,
    SetOnly,
    SOL_NETLINK,
    NETLINK_EXT_ACK,
    bool
);

impl Ipvs {
    /// Opens a generic netlink socket and resolves the IPVS family.
    /// [`Error::NotAvailable`] when the kernel has no IPVS.
    pub fn connect() -> Result<Ipvs, Error> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())?;
        // Big buffers so that a window of outstanding requests and their
        // acks fits; the forced variants need CAP_NET_ADMIN, which changing
        // IPVS needs anyway.
        // SAFETY: neli's NlSocket offers only AsRawFd, not AsFd, which nix's
        // socket options take; the descriptor stays open while `sock` lives,
        // and `fd` is used only below, before `sock` moves.
        let fd = unsafe { BorrowedFd::borrow_raw(sock.as_raw_fd()) };
        if setsockopt(&fd, sockopt::SndBufForce, &SOCKET_BUFFER).is_err() {
            let _ = setsockopt(&fd, sockopt::SndBuf, &SOCKET_BUFFER);
        }
        if setsockopt(&fd, sockopt::RcvBufForce, &SOCKET_BUFFER).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &SOCKET_BUFFER);
        }
        // Errors echo only the request's header, and carry the kernel's text.
        let _ = setsockopt(&fd, CapAck, &true);
        let _ = setsockopt(&fd, ExtAck, &true);
        let rcvbuf = getsockopt(&fd, sockopt::RcvBuf).unwrap_or(212_992);
        // An ack costs about 1 KiB of receive buffer (skb truesize): keep
        // the outstanding requests well under what fits.
        let window = (rcvbuf / 2048).clamp(16, 1024);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        let mut me = Ipvs {
            sock,
            family: 0,
            seq: seed,
            buf: vec![0; RECV_BUFFER],
            window,
        };
        me.family = me.resolve_family()?;
        Ok(me)
    }

    /// The generic netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// How many requests [`Ipvs::apply`] keeps outstanding.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Sets how many requests [`Ipvs::apply`] keeps outstanding (at least 1).
    pub fn set_window(&mut self, n: usize) {
        self.window = n.max(1);
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    fn send(&self, bytes: &[u8]) -> Result<(), Error> {
        loop {
            match self.sock.send(bytes, Msg::empty()) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => {
                    return Err(Error::Protocol(ProtocolError::ShortSend {
                        sent: n,
                        len: bytes.len(),
                    }))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn recv(&mut self) -> Result<Vec<Message>, Error> {
        loop {
            match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((0, _)) => return Err(Error::Protocol(ProtocolError::Closed)),
                Ok((n, _)) => return codec::parse_messages(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let seq = self.next_seq();
        self.send(&codec::encode_get_family(seq, IPVS_GENL_NAME)?)?;
        let mut id = None;
        loop {
            for m in self.recv()? {
                if m.seq != seq {
                    continue;
                }
                match m.body {
                    Body::Data(p) => id = Some(codec::decode_family_id(&p)?),
                    Body::Ack => return id.ok_or(Error::Protocol(ProtocolError::NoFamilyId)),
                    Body::Error { errno, .. } if errno == libc::ENOENT => {
                        return Err(Error::NotAvailable)
                    }
                    Body::Error { errno, .. } => {
                        return Err(io::Error::from_raw_os_error(errno).into())
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends a read request and returns the payloads of its replies.
    fn query(&mut self, q: Query<'_>) -> Result<Vec<Vec<u8>>, Error> {
        for _attempt in 0..5 {
            let seq = self.next_seq();
            self.send(&codec::encode_query(self.family, seq, q)?)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            'recv: loop {
                for m in self.recv()? {
                    if m.seq != seq {
                        continue;
                    }
                    interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
                    match m.body {
                        // A doit reply is followed by its ack, a dump by DONE.
                        Body::Data(p) => out.push(p),
                        Body::Done | Body::Ack => break 'recv,
                        Body::Error { errno, message } => {
                            let mut reason = io::Error::from_raw_os_error(errno).to_string();
                            if let Some(msg) = message {
                                reason = format!("{reason} ({msg})");
                            }
                            return Err(Error::Kernel {
                                what: format!("{q:?}"),
                                errno,
                                reason,
                            });
                        }
                        Body::Other => {}
                    }
                }
            }
            if !interrupted {
                return Ok(out);
            }
        }
        Err(Error::Protocol(ProtocolError::DumpInterrupted))
    }

    /// All virtual services, with their counters.
    pub fn services(&mut self) -> Result<Vec<Service>, Error> {
        self.query(Query::Services)?
            .iter()
            .map(|p| codec::decode_service(p))
            .collect()
    }

    /// One service, or `None` when the kernel has no such service.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Option<Service>, Error> {
        match self.query(Query::Service(key)) {
            Ok(v) => v.first().map(|p| codec::decode_service(p)).transpose(),
            Err(Error::Kernel { errno, .. }) if errno == libc::ESRCH || errno == libc::ENOENT => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The destinations (real servers) of a service, with counters.
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>, Error> {
        let fam = key.family();
        match self.query(Query::Dests(key)) {
            Ok(v) => v.iter().map(|p| codec::decode_dest(p, fam)).collect(),
            Err(Error::Kernel { errno, .. }) if errno == libc::ESRCH || errno == libc::ENOENT => {
                Err(Error::Kernel {
                    what: format!("list real servers of {key}"),
                    errno,
                    reason: "no such service".into(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let v = self.query(Query::Timeouts)?;
        let p = v
            .first()
            .ok_or(Error::Protocol(ProtocolError::EmptyReply("GET_CONFIG")))?;
        codec::decode_timeouts(p)
    }

    /// The running sync daemons.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        self.query(Query::Daemons)?
            .iter()
            .map(|p| codec::decode_daemon(p))
            .collect()
    }

    /// Version and connection table size.
    pub fn info(&mut self) -> Result<Info, Error> {
        let v = self.query(Query::Info)?;
        let p = v
            .first()
            .ok_or(Error::Protocol(ProtocolError::EmptyReply("GET_INFO")))?;
        codec::decode_info(p)
    }

    /// Carries out one change and waits for its acknowledgement.
    pub fn execute(&mut self, op: &Operation) -> Result<(), Error> {
        match self.apply(std::slice::from_ref(op)) {
            Ok(()) => Ok(()),
            Err(mut b) => match (b.failures.pop(), b.transport) {
                (Some(f), _) => Err(f.error),
                (None, Some(t)) => Err(t),
                (None, None) => Err(Error::Protocol(ProtocolError::NoReason)),
            },
        }
    }

    /// Adds a service.
    pub fn add_service(&mut self, s: &Service) -> Result<(), Error> {
        self.execute(&Operation::AddService(s.clone()))
    }
    /// Changes scheduler, flags, timeout and netmask of a service.
    pub fn edit_service(&mut self, s: &Service) -> Result<(), Error> {
        self.execute(&Operation::EditService(s.clone()))
    }
    /// Deletes a service and its destinations.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.execute(&Operation::DelService(*key))
    }
    /// Adds a destination to a service.
    pub fn add_destination(&mut self, key: &ServiceKey, d: &Destination) -> Result<(), Error> {
        self.execute(&Operation::AddDest(*key, d.clone()))
    }
    /// Changes forwarding method, weight and thresholds of a destination.
    pub fn edit_destination(&mut self, key: &ServiceKey, d: &Destination) -> Result<(), Error> {
        self.execute(&Operation::EditDest(*key, d.clone()))
    }
    /// Deletes a destination.
    pub fn del_destination(
        &mut self,
        key: &ServiceKey,
        addr: std::net::IpAddr,
        port: u16,
    ) -> Result<(), Error> {
        self.execute(&Operation::DelDest {
            service: *key,
            addr,
            port,
        })
    }
    /// Deletes every service.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.execute(&Operation::Flush)
    }
    /// Sets the timeouts (0 leaves one unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), Error> {
        self.execute(&Operation::SetTimeouts(*t))
    }
    /// Starts a sync daemon.
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        self.execute(&Operation::StartDaemon(d.clone()))
    }
    /// Stops the sync daemon in a state.
    pub fn stop_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        self.execute(&Operation::StopDaemon(state))
    }
    /// Zeroes counters of a service, or of all services.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        self.execute(&Operation::Zero(key.copied()))
    }

    /// Carries out many changes without waiting for each acknowledgement:
    /// requests go out in windows of [`Ipvs::window`] (one datagram per
    /// window, each request with its own sequence number and `NLM_F_ACK`),
    /// then every ack of the window is collected. The kernel handles each
    /// request independently, in order: a refused one does not stop the
    /// others. Each refusal is reported with the index of its operation.
    pub fn apply(&mut self, ops: &[Operation]) -> Result<(), BatchError> {
        let mut err = BatchError::default();
        let mut start = 0;
        while start < ops.len() {
            let end = (start + self.window).min(ops.len());
            let mut datagram = Vec::with_capacity((end - start) * 128);
            let mut pending: HashMap<u32, usize> = HashMap::with_capacity(end - start);
            for (i, op) in ops.iter().enumerate().take(end).skip(start) {
                let seq = self.next_seq();
                match codec::encode_operation(self.family, seq, op) {
                    Ok(b) => {
                        datagram.extend_from_slice(&b);
                        pending.insert(seq, i);
                    }
                    Err(e) => err.failures.push(OpFailure { index: i, error: e }),
                }
            }
            if !datagram.is_empty() {
                if let Err(e) = self.send(&datagram) {
                    err.transport = Some(e);
                    err.unconfirmed_from = Some(start);
                    break;
                }
            }
            while !pending.is_empty() {
                let msgs = match self.recv() {
                    Ok(m) => m,
                    Err(e) => {
                        err.transport = Some(e);
                        err.unconfirmed_from = pending.values().min().copied();
                        err.failures.sort_by_key(|f| f.index);
                        return Err(err);
                    }
                };
                for m in msgs {
                    let Some(i) = pending.get(&m.seq).copied() else {
                        continue;
                    };
                    match m.body {
                        Body::Ack => {
                            pending.remove(&m.seq);
                        }
                        Body::Error { errno, message } => {
                            pending.remove(&m.seq);
                            let op = &ops[i];
                            let mut reason = codec::explain(op, errno);
                            if let Some(msg) = message.filter(|s| !s.is_empty()) {
                                reason = format!("{reason} (kernel: {msg})");
                            }
                            err.failures.push(OpFailure {
                                index: i,
                                error: Error::Kernel {
                                    what: op.to_string(),
                                    errno,
                                    reason,
                                },
                            });
                        }
                        _ => {}
                    }
                }
            }
            start = end;
        }
        if err.failures.is_empty() && err.transport.is_none() {
            Ok(())
        } else {
            err.failures.sort_by_key(|f| f.index);
            Err(err)
        }
    }
}
