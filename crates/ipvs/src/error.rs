//! Errors of the IPVS library.

use crate::types::{Netmask, ServiceKey};
use std::fmt;

/// An error of one request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel has no IPVS generic netlink family.
    #[error("IPVS is not available in this kernel (modprobe ip_vs)")]
    NotAvailable,
    /// The kernel refused a request.
    #[error("{what}: {reason}")]
    Kernel {
        /// The request, in words (`add service TCP 10.0.0.1:80 (rr)`).
        what: String,
        /// The kernel's errno (positive).
        errno: i32,
        /// Why, in words an administrator can act on.
        reason: String,
    },
    /// A request that cannot be encoded (a name too long, a netmask of the
    /// wrong family); nothing was sent.
    #[error("invalid request: {0}")]
    Invalid(InvalidRequest),
    /// The netlink socket failed.
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel sent something this library does not understand.
    #[error("netlink protocol: {0}")]
    Protocol(ProtocolError),
}

/// Why a request cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    /// A scheduler, persistence engine or interface name that is empty,
    /// too long for the kernel's buffer, or holds a NUL.
    #[error("{what} '{name}' must be 1 to {longest} bytes without NUL")]
    Name {
        /// What the name names (`scheduler`, `persistence engine`,
        /// `interface`).
        what: &'static str,
        /// The name.
        name: String,
        /// The longest name the kernel takes, in bytes.
        longest: usize,
    },
    /// An IPv6 persistence prefix length outside 1 to 128.
    #[error("IPv6 persistence prefix length {0} is not in 1..=128")]
    Ipv6Prefix(u8),
    /// A persistence netmask of the other address family than the service.
    #[error("netmask {netmask:?} does not match the family of service {service}")]
    NetmaskFamily {
        /// The netmask.
        netmask: Netmask,
        /// The service.
        service: ServiceKey,
    },
}

/// What went wrong in the exchange with the kernel (not a refusal: those
/// are [`Error::Kernel`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// neli could not build or serialise a request (its error, in words).
    #[error("encoding: {0}")]
    Encoding(String),
    /// A reply, or a part of one, could not be read (what, in words).
    #[error("decoding: {0}")]
    Decoding(String),
    /// A netlink header whose length does not fit the datagram.
    #[error("bad netlink message length {len} at offset {offset} of {total}")]
    MessageLength {
        /// The length the header gives.
        len: usize,
        /// Where the header starts.
        offset: usize,
        /// The datagram's size.
        total: usize,
    },
    /// An `NLMSG_ERROR` too short to hold its error code.
    #[error("short NLMSG_ERROR")]
    ShortError,
    /// The kernel took only part of a request.
    #[error("short send: {sent} of {len} bytes")]
    ShortSend {
        /// Bytes sent.
        sent: usize,
        /// Bytes of the request.
        len: usize,
    },
    /// The socket returned end of file.
    #[error("netlink socket closed")]
    Closed,
    /// The controller's reply named no family id.
    #[error("no family id in reply")]
    NoFamilyId,
    /// Every attempt at a dump was interrupted by a concurrent change.
    #[error("dump kept being interrupted by concurrent changes")]
    DumpInterrupted,
    /// A request that has one reply got none (`GET_CONFIG`, `GET_INFO`).
    #[error("empty {0} reply")]
    EmptyReply(&'static str),
    /// A batch of one operation failed and said nothing about why.
    #[error("batch failed without a reason")]
    NoReason,
}

impl Error {
    /// The kernel's errno, for [`Error::Kernel`].
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// One failed entry of a batch.
#[derive(Debug)]
pub struct OpFailure {
    /// Index of the operation in the slice given to `apply`.
    pub index: usize,
    /// Why it failed.
    pub error: Error,
}

/// What went wrong in [`crate::Ipvs::apply`]. Every operation was sent and
/// acknowledged unless `transport` is set; `failures` lists the refused
/// ones, in order.
#[derive(Debug, Default)]
pub struct BatchError {
    /// Operations the kernel (or the encoder) refused.
    pub failures: Vec<OpFailure>,
    /// A socket failure that stopped the batch: operations from
    /// `unconfirmed_from` on may or may not have been applied.
    pub transport: Option<Error>,
    /// First operation whose outcome is unknown (with `transport`).
    pub unconfirmed_from: Option<usize>,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for x in &self.failures {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "entry {}: {}", x.index, x.error)?;
        }
        if let Some(t) = &self.transport {
            if !first {
                f.write_str("; ")?;
            }
            write!(f, "{t}")?;
            if let Some(i) = self.unconfirmed_from {
                write!(f, " (entries from {i} on unconfirmed)")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for BatchError {}
