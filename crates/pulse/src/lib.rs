//! pulse: heartbeat and failover between the two LVS routers.
//!
//! Owns the heartbeat codec, the role state machine and the takeover and
//! relinquish sequences (VIPs, gratuitous ARP, lvsd start and stop). It
//! never programs IPVS services itself: lvsd does.
//!
//! Pure parts: [`codec`], [`keys`] (parsing), [`machine`], [`settings`], [`cli`],
//! [`anycast`] (anycast mode's announcements; its I/O in [`anycast_runtime`]). Thin I/O
//! around them: [`bootid`], [`netlink`], [`exec`], [`executor`], [`status`],
//! [`runtime`]. The lvsd readiness interface is described in [`exec`].

pub mod anycast;
pub mod anycast_runtime;
pub mod bootid;
pub mod cli;
pub mod codec;
pub mod exec;
pub mod executor;
pub mod fos;
pub mod handover;
pub mod keys;
pub mod log;
pub mod machine;
pub mod netlink;
pub mod notify;
pub mod runtime;
pub mod settings;
pub mod status;
pub mod syncd;

/// `--version` text: Piranha's version line, then ours.
pub fn version_text() -> String {
    daemon_kit::version_text(env!("CARGO_PKG_VERSION"))
}

/// Runs pulse with `args` (without the program name); returns the exit code.
pub fn main_with_args(args: &[String]) -> i32 {
    let opts = match cli::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if opts.version {
        print!("{}", version_text());
        return 0;
    }
    if opts.help {
        print!("{}", cli::USAGE);
        return 0;
    }
    // Until the event loop's handlers exist, a SIGHUP or SIGTERM would
    // end pulse by its default action: they wait instead.
    if let Err(e) = daemon_kit::signals::hold() {
        eprintln!("pulse: cannot hold signals during start-up: {e}");
    }
    // router_mode = anycast (docs/ANYCAST.md): no pair, no heartbeats.
    if let Some(code) = anycast_runtime::run_if_anycast(&opts) {
        return code;
    }
    match runtime::prepare(opts) {
        Ok(p) => runtime::run(p),
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
