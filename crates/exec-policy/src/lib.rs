//! Which programs named in lvs.cf the root daemons agree to run.
//!
//! lvs.cf names programs that root runs: `active_cmd` and `inactive_cmd`
//! (pulse), `send_program` and the load monitor's remote shell (nanny),
//! `start_cmd` and `stop_cmd` of failover services. The web tool's user
//! (`piranha`) may write lvs.cf, directly or through the web tool, so
//! nothing written there may choose what root runs. The decision is made
//! by the daemons, at the moment they run a program, from two facts only
//! root controls:
//!
//! 1. **The allowlist** ([`DEFAULT_ALLOWLIST`], `/etc/sysconfig/lvs-programs`):
//!    a root-owned file, like sudoers, that lists the command lines lvs.cf
//!    may name. A command runs only if its words match one entry exactly: the
//!    program (compared as written and as the real path behind symbolic
//!    links), then the entry's arguments; a final `*` in an entry allows any
//!    further arguments. `%h` and `%p` of `send_program` are matched as
//!    written, before nanny puts the server's address and port in. No
//!    shell ever reads a command, so `$IFS`, `;` or `|` are plain words.
//! 2. **The ownership rule** ([`trust`]): the program, the allowlist and
//!    every directory above them are owned by root and writable by nobody
//!    else, so the `piranha` user cannot replace what an entry names.
//!
//! A missing, unreadable, untrusted or malformed allowlist allows nothing
//! (every refusal says why and how to fix it). A launcher in the list
//! (`/usr/bin/env *`, `/bin/sh *`) would hand the choice back to lvs.cf;
//! [`Allowlist::warnings`] names such entries so `lvscf programs` can warn.
//!
//! Owns: the allowlist format and its matching ([`allowlist`], pure), the
//! ownership rule ([`trust`], reads file metadata; [`TrustError`] says which
//! part of it a path breaks), the list of commands a
//! configuration makes root run ([`commands`], pure) and the decision that
//! combines them ([`Policy`]). Must not: run anything, or read lvs.cf.

pub mod allowlist;
pub mod commands;
mod policy;
pub mod trust;

pub use allowlist::{Allowlist, Entry, ListError};
pub use commands::{commands_of, load_monitor_template, ConfiguredCommand, Origin};
pub use policy::{Approved, Policy, Refusal};
pub use trust::{resolve_program, TrustError};

use std::path::PathBuf;

/// Where the allowlist lives. Not under `/etc/sysconfig/ha`, which the
/// `piranha` group may write (it could rename a root-owned file there away).
pub const DEFAULT_ALLOWLIST: &str = "/etc/sysconfig/lvs-programs";

/// Environment variable that names another allowlist (for tests and
/// unusual layouts). Only root sets the environment of the root daemons,
/// and children (lvsd, nanny) inherit it, so every daemon reads one file.
pub const ALLOWLIST_ENV: &str = "LVS_PROGRAMS_FILE";

/// The search path for bare program names (`send_program = check_http`,
/// `rsh_command = ssh`, `load_monitor = rup`): the `PATH` Piranha's daemons
/// inherited from init (`service` and the init scripts started them with
/// `/sbin:/usr/sbin:/bin:/usr/bin`; systemd's default adds only
/// `/usr/local`). Fixed, so that every tool (`lvscf check`, the web tool,
/// running as other users with other `PATH`s) resolves a name to the same
/// program the daemons will run.
pub const ROOT_PATH: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Environment variable that replaces [`ROOT_PATH`] (colon-separated
/// absolute directories), for tests and unusual layouts; like
/// [`ALLOWLIST_ENV`], only root sets it for the root daemons.
pub const PROGRAM_PATH_ENV: &str = "LVS_PROGRAM_PATH";

/// The directory a program written with a relative path that contains a
/// slash (`bin/release`) is found from: the working directory of
/// Piranha's daemons, `/`, as init and systemd start services.
pub const ROOT_DIR: &str = "/";

/// The allowlist in force: `$LVS_PROGRAMS_FILE`, else [`DEFAULT_ALLOWLIST`].
pub fn allowlist_path() -> PathBuf {
    match std::env::var_os(ALLOWLIST_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_ALLOWLIST),
    }
}
