//! nanny: health checks of the real servers of LVS virtual services.
//!
//! Owns the probes (TCP/UDP/SCTP connect, send/expect, send_program), the
//! per-(virtual, server) up/down state machine (timeout, reentry, weight
//! ramp, quiesce, load monitor, forced states from signals), the scheduler
//! that runs thousands of checks concurrently in one process, and the
//! lvsd <-> nanny JSON-lines protocol ([`protocol`]), whose types lvsd uses
//! through this library.
//!
//! Must not: touch the kernel (no ipvsadm, no netlink: it *reports* up/down
//! and weights and lvsd applies them), write to stdout anything but protocol
//! lines, run a shell, or let any probe outlive its timeout.
//!
//! Layout: pure modules ([`escape`], [`expect`], [`check`], [`state`],
//! [`load`], [`protocol`]) are plain functions over data with an injected
//! clock, unit-tested without I/O; the I/O modules ([`probe`], [`program`],
//! [`engine`], [`service`], [`cli`]) are thin and tested against real
//! listeners (`tests/`).

#![warn(missing_docs)]

pub mod check;
pub mod escape;
pub mod expect;
pub mod load;
pub mod native;
pub mod protocol;
pub mod state;

pub mod cli;
pub mod dns;
pub mod engine;
pub mod http;
pub mod log;
mod oserror;
pub mod probe;
pub mod program;
pub mod service;
pub mod tls;
