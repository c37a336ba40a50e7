//! piranha-web: the LVS web configuration tool (port 3636), as a library
//! with two binaries, `piranha-web` and `piranha-passwd`.
//!
//! Owns the web pages, their authentication and the edits they make to
//! lvs.cf (always through `lvscf-parser`). Must not: need root, run a
//! shell, write lvs.cf but through [`store`] (lock, stale-edit check,
//! atomic rename), define the daemons' status documents (they are the
//! `lvs-status` crate's) or decide which programs root may run (the
//! `exec-policy` crate's rule, which the tool only applies before saving).
//!
//! | module | kind | owns |
//! |---|---|---|
//! | [`htpasswd`] | pure | password file schemes, constant-time checks, new bcrypt hashes |
//! | [`session`] | pure | sessions, CSRF tokens, login throttling, the client allow-list (injected clock) |
//! | [`confirm`] | pure | which actions show what they will change and wait for CONFIRM |
//! | [`conflict`] | pure | what a form loaded, and whether a later save touched those keys (merge or 409) |
//! | [`credential`] | pure | what a login is tied to (the password entry's fingerprint), the cache of verified Basic credentials |
//! | [`forms`] | pure | form fields to lvs.cf edits: the [`forms::Editor`], errors mapped to fields |
//! | [`edits`] | pure | each panel's form as edits: GLOBAL SETTINGS ... MONITORING SCRIPTS, ADD defaults |
//! | [`panel`] | pure | which panel a URL names and what its POST asks for; list buttons; the API's edits |
//! | [`urls`] | pure | the pages' URLs, names as single path segments |
//! | [`warnings`] | pure | the parser's new warnings of an edit, on their fields, before saving (SAVE ANYWAY) |
//! | [`view`] | pure | where the user is in a long list: search, filter, page, the row to return to |
//! | [`live`] | pure | the configuration beside lvsd's and nanny's live state |
//! | [`newvirtual`] | pure | NEW VIRTUAL SERVER: one form for a virtual server, its check and its real servers |
//! | [`pages`] | pure | the HTML pages, one module per panel, one list-and-buttons widget |
//! | [`metrics`] | pure | the Prometheus text of `/metrics` |
//! | [`cli`] | pure | the command line (shared with the man page generator) |
//! | [`store`] | I/O | lvs.cf on disk: snapshots, locked atomic saves, stale temporary files |
//! | [`status`] | I/O | the daemons' status sockets, pulse's reload, the copy to the backup |
//! | [`server`] | I/O | axum: guard and login, panel and API handlers, router, accept loop, TLS |
//!
//! The pure modules are unit-tested directly; the I/O ones by the tests in
//! `tests/` against a real server (HTTP, a headless browser, `kill -9`
//! during saves, timing of password checks). No pure module calls an I/O
//! one: [`pages`] and [`metrics`] take the daemons' documents (the
//! `lvs-status` types) as data, and [`pages`] uses [`status`]'s two pure
//! helpers on them (`backup_differs`, `disk_differs_from_running`).

pub mod cli;
pub mod confirm;
pub mod conflict;
pub mod credential;
pub mod edits;
pub mod forms;
pub mod htpasswd;
pub mod live;
pub mod metrics;
pub mod newvirtual;
pub mod pages;
pub mod panel;
pub mod server;
pub mod session;
pub mod status;
pub mod store;
pub mod urls;
pub mod view;
pub mod warnings;
