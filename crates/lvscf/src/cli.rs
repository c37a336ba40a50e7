//! The `lvscf` command line, as a clap definition (the binary and the man
//! page generator share it).

use clap::{Parser, Subcommand};
use lvscf_parser::DEFAULT_CONFIG_PATH;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "lvscf", version, about = "Check, show and edit lvs.cf")]
pub struct Cli {
    /// The configuration file.
    #[arg(short = 'c', long = "configfile", global = true, default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check the file; exit 0 when it loads (warnings allowed), 1 when not.
    Check {
        /// Do not check the programs the file names (allowlist, owner, mode).
        #[arg(long)]
        syntax_only: bool,
        /// Print only errors.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print the effective configuration, defaults applied.
    Dump {
        /// As JSON (see the README for the shape).
        #[arg(long)]
        json: bool,
    },
    /// Print the effective value of KEY (e.g. `virtual.web.port`).
    Get {
        /// Key path.
        key: String,
    },
    /// Set KEY to VALUE, refusing to write a file that would not load.
    Set {
        /// Key path, e.g. `keepalive` or `virtual.web.server.web1.weight`.
        key: String,
        /// The value, without lvs.cf quoting (`"10.0.0.1 eth0:1"` for address).
        value: String,
    },
    /// Remove KEY (back to its default), or a whole virtual/server block.
    Unset {
        /// Key path or block path.
        key: String,
    },
    /// Rename a virtual, failover or server block.
    Rename {
        /// Block path, e.g. `virtual.web`.
        block: String,
        /// The new name.
        new_name: String,
    },
    /// List the programs the file makes root run, and whether the exec
    /// policy (the root-owned allowlist /etc/sysconfig/lvs-programs) lets
    /// them run; exit 1 when one would not.
    Programs {
        /// As root: add to the allowlist the file's command lines that are
        /// refused only for not being listed (not shells, `env` or other
        /// launchers); used by the package when it is first installed.
        #[arg(long)]
        allow_current: bool,
    },
    /// Drain a real server (on the active router): weight 0 at once, its
    /// connections go on; lvsd sets `active = 0` on it in lvs.cf when it
    /// has no active connection left. Exit 2 when --timeout passes first.
    Drain {
        /// Block path, e.g. `virtual.web.server.s2`.
        server: String,
        /// Return only when the server is drained and deactivated.
        #[arg(long)]
        wait: bool,
        /// With --wait: give up waiting after SECS (the drain goes on).
        #[arg(long, value_name = "SECS", requires = "wait")]
        timeout: Option<u64>,
        /// End the drain: the server is back at its weight.
        #[arg(long, conflicts_with = "wait")]
        cancel: bool,
        /// lvsd's status socket.
        #[arg(long, value_name = "PATH", default_value = "/run/piranha/lvsd.sock")]
        socket: std::path::PathBuf,
    },
    /// Move a block to a position among its siblings (0 = first).
    Move {
        /// Block path.
        block: String,
        /// New position.
        index: usize,
    },
}
