//! IPVS over generic netlink.
//!
//! Owns the kernel's IPVS generic netlink family: services, destinations,
//! sync daemons and timeouts, with attributes as types, and its errors
//! ([`Error`]: the kernel's refusals with their errno in words, requests
//! that cannot be encoded, [`ProtocolError`]s of the exchange).
//!
//! Must not: know lvs.cf, or decide anything. Callers (lvsd, pulse) say
//! what to program; this crate programs exactly that, never repeats or
//! works around a refused change, and reports what the kernel said.
//!
//! Layout:
//! - [`types`]: the table as data ([`Service`], [`Destination`],
//!   [`Timeouts`], [`SyncDaemon`], [`Operation`]).
//! - [`codec`]: pure encoding of requests and, apart, decoding of replies
//!   (no socket; unit-tested against hand-computed bytes, and the decoders
//!   against neli's in `tests/neli_oracle.rs`).
//! - [`Ipvs`]: the socket; single requests, dumps (repeated when a
//!   concurrent change interrupts them), and [`Ipvs::apply`] for batches
//!   whose errors map back to the entry that caused them.
//! - [`consts`]: the kernel's numbers (`include/uapi/linux/ip_vs.h`).
//!
//! ```no_run
//! use ipvs::{Destination, Forward, Ipvs, Operation, Service, ServiceKey};
//! let mut ipvs = Ipvs::connect()?;
//! let key = ServiceKey::Tcp("192.0.2.10".parse().unwrap(), 80);
//! ipvs.apply(&[
//!     Operation::AddService(Service::new(key, "wlc")),
//!     Operation::AddDest(key, Destination::new("10.0.0.2".parse().unwrap(), 80, Forward::Masq)),
//! ])?;
//! for s in ipvs.services()? {
//!     println!("{} {} {:?}", s.key, s.scheduler, ipvs.destinations(&s.key)?);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod codec;
pub mod consts;
#[doc(hidden)]
pub mod synth;
pub mod types;

mod client;
mod error;

pub use client::Ipvs;
pub use error::{BatchError, Error, InvalidRequest, OpFailure, ProtocolError};
pub use types::*;
