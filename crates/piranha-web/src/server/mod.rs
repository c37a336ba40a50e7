//! The HTTP side (axum): each request passes the [`auth`] guard
//! (allow-list, limits, cross-site check, login), then reaches its handler;
//! the answers get strict headers ([`reply`]). The handlers are thin: what
//! an editing panel's POST does is decided by [`crate::panel`], saved by
//! [`crate::store`] and shown by [`crate::pages`].
//!
//! | module | owns |
//! |---|---|
//! | [`app`] | the shared state: options, store, sessions, throttle, exec policy |
//! | [`reply`] | request limits, response helpers, strict headers, parameter decoding |
//! | [`auth`] | the guard, login and logout, sessions, throttle, HTTP Basic, CSRF |
//! | [`panels`] | GET and POST of the editing panels |
//! | [`newvirtual`] | NEW VIRTUAL SERVER: the one form |
//! | [`history`] | HISTORY and RESTORE |
//! | [`control`] | CONTROL/MONITORING, APPLY, COPY TO BACKUP, the password help |
//! | [`api`] | the JSON API and `/metrics` |
//! | [`routes`] | the router: every route and layer |
//! | [`listener`] | the accept loop: plain TCP or TLS, connection limits, timeouts |

// Handlers return early with a ready response; boxing it gains nothing.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod app;
pub mod auth;
pub mod control;
pub mod history;
pub mod listener;
pub mod newvirtual;
pub mod panels;
pub mod reply;
pub mod routes;

pub use app::{App, Options};
pub use auth::Auth;
pub use listener::{serve, serve_with, tls_config, ConnInfo, Limits, TlsError};
pub use reply::{parse_params, MAX_BODY, MAX_HEAD, MAX_PARAMS, MAX_URI};
pub use routes::router;
