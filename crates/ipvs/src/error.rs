//! Errors of the IPVS library.

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
    Invalid(String),
    /// The netlink socket failed.
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel sent something this library does not understand.
    #[error("netlink protocol: {0}")]
    Protocol(String),
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
