//! The status sockets of the daemons (`/run/piranha/pulse.sock`,
//! `/run/piranha/lvsd.sock`), defined once for the daemons that answer and
//! the tools that ask (the web tool, `lvsd-benchgen status`, tests).
//!
//! The exchange ([`wire`]): the client connects and writes one request
//! line, `{"cmd":"status"}`, `{"cmd":"reload"}` (pulse) or
//! `{"cmd":"drain",...}` (lvsd); the daemon answers one JSON line and
//! closes. The answer to `status` is the daemon's document
//! ([`lvsd::LvsdStatus`], [`pulse::PulseStatus`]); the answer to `reload`
//! is its result ([`wire::ReloadResult`]), given after the reload was
//! tried; to `drain` the server's state ([`wire::DrainResult`]); anything
//! else is [`wire::ErrorAnswer`].
//!
//! Owns: the documents as types (so that the daemons and the web tool can
//! never read the same JSON differently), the request and answer lines, a
//! tokio [`client`] and the connection loop of a [`server`] (one request,
//! one answer, bounded in size and time). Must not: know how a daemon
//! computes its status, decide who may reload (the daemon's handler does,
//! from the peer's credentials), or bind sockets (the daemons' plumbing
//! does, with its mode and group).

pub mod client;
pub mod lvsd;
pub mod pulse;
pub mod server;
pub mod wire;

pub use client::{request, ClientError};
pub use lvsd::LvsdStatus;
pub use pulse::PulseStatus;
pub use wire::{DrainRequest, DrainResult, ErrorAnswer, ReloadResult, Request};
