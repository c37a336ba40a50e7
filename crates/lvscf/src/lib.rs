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
