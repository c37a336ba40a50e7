//! Command line: Piranha's lvsd options with their letters and meaning
//! (`-c/--configfile`, `-v/--verbose`, `-n/--nodaemon`, `-t/--test-start`,
//! and `--nofork`, which pulse passes), plus ours (`--ready-fd`,
//! `--dry-run`, `--pidfile`, `--status-socket`, `--nanny`, `--syslog`,
//! `--no-monitor`, `--resync`).

use std::path::PathBuf;

use clap::Parser;

/// lvsd - programs the IPVS table from lvs.cf and supervises nanny.
#[derive(Debug, Clone, Parser)]
#[command(name = "lvsd", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(short = 'c', long = "configfile", value_name = "FILE", default_value = lvscf_parser::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,

    /// Verbose; also passed to every nanny.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Stay in the foreground and log to stdout (`lvs: ` prefix).
    #[arg(short = 'n', long = "nodaemon")]
    pub nodaemon: bool,

    /// Do not touch the kernel or start nannies: log the plan that would
    /// program the table from scratch, then exit.
    #[arg(short = 't', long = "test-start")]
    pub test_start: bool,

    /// Run as a daemon (syslog, pid file) without forking (how pulse runs it).
    #[arg(long = "nofork")]
    pub nofork: bool,

    /// Inherited file descriptor on which `ready` is written once the table
    /// is built; then it is closed.
    #[arg(long = "ready-fd", value_name = "N")]
    pub ready_fd: Option<i32>,

    /// Print the plan against the live kernel table as ipvsadm lines and
    /// change nothing (real servers are assumed up).
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Pid file (written when running as a daemon).
    #[arg(
        long = "pidfile",
        value_name = "FILE",
        default_value = "/var/run/lvs.pid"
    )]
    pub pidfile: PathBuf,

    /// Status socket (Unix stream, JSON); empty to disable.
    #[arg(
        long = "status-socket",
        value_name = "PATH",
        default_value = "/run/piranha/lvsd.sock"
    )]
    pub status_socket: PathBuf,

    /// pulse's status socket, asked to reload when a drain has set
    /// `active = 0` in lvs.cf (lvsd reloads itself when no pulse answers).
    #[arg(
        long = "pulse-socket",
        value_name = "PATH",
        default_value = "/run/piranha/pulse.sock"
    )]
    pub pulse_socket: PathBuf,

    /// The nanny binary.
    #[arg(long = "nanny", value_name = "PATH", default_value = "/usr/sbin/nanny")]
    pub nanny: PathBuf,

    /// Log to syslog (ident lvsd, facility daemon) even in the foreground,
    /// as Piranha's daemons did; passed on to nanny.
    #[arg(long = "syslog")]
    pub syslog: bool,

    /// Run no health checks: every active real server is up.
    #[arg(long = "no-monitor")]
    pub no_monitor: bool,

    /// Seconds between full re-reads of the kernel table (repairs changes
    /// made behind lvsd's back); 0 disables.
    #[arg(long = "resync", value_name = "SECS", default_value_t = 30)]
    pub resync: u64,
}

impl Cli {
    /// Whether lvsd runs as a daemon (syslog, pid file).
    pub fn daemon(&self) -> bool {
        !self.nodaemon
    }
}
