//! piranha-web: the LVS web configuration tool (port 3636), as a library
//! with two binaries, `piranha-web` and `piranha-passwd`.
//!
//! Owns the web pages, their authentication and the edits they make to
//! lvs.cf (always through `lvscf-parser`). It never needs root.
//!
//! Pure parts, each with its own unit tests: [`htpasswd`] (password file
//! schemes), [`session`] (sessions, CSRF, login throttling, allow-list),
//! [`forms`] (form fields to lvs.cf edits), [`edits`] (each panel's form),
//! [`panel`] (what a panel's POST asks for), [`urls`], [`metrics`]
//! (Prometheus text).
//! Side effects live in [`store`] (locked atomic saves), [`status`]
//! (daemon sockets, copy to backup) and [`server`] (axum wiring).

pub mod cli;
pub mod edits;
pub mod forms;
pub mod htpasswd;
pub mod metrics;
pub mod pages;
pub mod panel;
pub mod server;
pub mod session;
pub mod status;
pub mod store;
pub mod urls;
