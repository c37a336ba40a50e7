//! fos: Piranha's failover services (`service = fos` in lvs.cf), run by
//! pulse in one of two modes.
//!
//! * `fos --active -c CONFIG` (the active router): for every active
//!   `failover` block, runs its `stop_cmd` (waited for, to clear what a
//!   crashed run left) and then its `start_cmd`. It then waits. A
//!   `start_cmd` that ends with a non-zero status or by a signal, or any
//!   signal but SIGTERM/SIGINT, makes fos exit to notify pulse (which
//!   restarts it while active). SIGTERM or SIGINT (pulse relinquishing) runs
//!   every `stop_cmd` and ends what the `start_cmd`s left running, then
//!   exits 0. A `start_cmd` that exits 0 started a daemon: nothing more is
//!   watched here; the partner's monitor sees the service itself.
//! * `fos --monitor -c CONFIG` (the inactive router): one nanny per active
//!   failover block in its `--fos` mode, watching the partner's copy of the
//!   service on the block's address and port. The first nanny to end
//!   (the service failed, or never came up) makes fos stop the others and
//!   exit, and pulse takes over.
//!
//! Owns: the plan of what each mode runs ([`plan`], pure: the commands and
//! the nanny command lines from lvs.cf) and running it ([`run`]). Every
//! `start_cmd` and `stop_cmd` passes the exec policy (the root-owned
//! allowlist and the ownership rule of `exec-policy`), checked at the
//! moment it runs; a refused command is logged with the reason and not run.
//! nanny checks its own `send_program` the same way.
//!
//! Must not: touch addresses, ARP or IPVS (pulse brings the failover
//! addresses up and down around fos), send heartbeats, decide roles, or run
//! anything through a shell.

pub mod cli;
pub mod plan;
pub mod run;

/// `--version` text.
pub fn version_text() -> String {
    daemon_kit::version_text(env!("CARGO_PKG_VERSION"))
}

/// Runs fos with `args` (without the program name); returns the exit code.
pub fn main_with_args(args: &[String]) -> i32 {
    let opts = match cli::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match opts.what {
        cli::What::Help => {
            print!("{}", cli::USAGE);
            0
        }
        cli::What::Version => {
            print!("{}", version_text());
            0
        }
        cli::What::Run(mode) => run::run(mode, &opts),
    }
}
