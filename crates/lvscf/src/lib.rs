//! `lvscf`: check, show and edit lvs.cf from the command line, and list the
//! programs it makes root run.
//!
//! Owns: the command line ([`cli`], shared with the man page generator), the
//! `programs` report and the exec-policy diagnostics of `check`
//! ([`programs`]). Must not: parse lvs.cf itself (that is
//! [`lvscf_parser`]'s), decide what root may run (that is
//! [`exec_policy`]'s), or talk to the daemons other than asking lvsd for a
//! drain and its progress ([`drain`]).

pub mod cli;
pub mod drain;
pub mod programs;

/// Who `lvscf` saves as, for lvs.cf's history: `lvscf (USER)`, with the
/// user `sudo` ran it for when root runs it through sudo.
pub fn who_am_i() -> String {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {uid}"));
    match std::env::var("SUDO_USER") {
        Ok(s) if uid.is_root() && !s.is_empty() && s != name => {
            format!("lvscf ({name}, through sudo by {s})")
        }
        _ => format!("lvscf ({name})"),
    }
}
