//! The plumbing every daemon of the suite shares, written once so that
//! pulse, lvsd and nanny (and send_arp, for host names) behave alike:
//!
//! * [`log`]: the log lines, on the console or to syslog, as Piranha's
//!   daemons wrote them;
//! * [`process`]: daemonizing (the classic double fork) and pid files
//!   (written atomically, removed only while they still name us);
//! * [`socket`]: binding a status socket (replacing a stale one, mode 0660,
//!   group `piranha`, so that the web tool can read it and nobody else);
//! * [`host`]: turning a host name of lvs.cf into one address, by one rule;
//! * [`signals`]: holding the handled signals while a daemon starts.
//!
//! Must not: know what a daemon does, decide policy (who may reload, what
//! to log), or touch IPVS, addresses or the network beyond name lookup.

pub mod host;
pub mod log;
pub mod process;
pub mod signals;
pub mod socket;

/// The `--version` text of a daemon, in Piranha's layout (its version
/// line, then ours): `version` is the daemon crate's `CARGO_PKG_VERSION`.
pub fn version_text(version: &str) -> String {
    format!(
        "Program Version:\t{version}\nBuilt:\t\t\t(rust)\nA component of:\t\tpiranha-rs-{version}\n"
    )
}
