//! Clap mirrors of the command lines that are not (yet) public clap
//! definitions, used only for shell completions:
//!
//! - `pulse`: hand-parsed popt-style (`pulse::cli::parse`) for Piranha's
//!   error messages;
//! - `send_arp`: Piranha's positional argv;
//! - `piranha-web`: a private `Args` in its `main.rs`;
//! - `piranha-passwd`: hand-parsed in its `main`.
//!
//! When a crate exposes `pub fn command() -> clap::Command`, replace its
//! mirror here by that function (and generate its man page in `main.rs`).
//! packaging/test.sh compares each binary's `--help` with its man page.

use clap::{Arg, ArgAction, Command, ValueHint};

fn flag(name: &'static str) -> Arg {
    Arg::new(name).long(name).action(ArgAction::SetTrue)
}

fn path(name: &'static str, hint: ValueHint) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("PATH")
        .value_hint(hint)
}

pub fn commands() -> Vec<Command> {
    vec![pulse(), send_arp(), piranha_web(), piranha_passwd()]
}

fn pulse() -> Command {
    Command::new("pulse")
        .about("heartbeat and failover between two LVS routers")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args([
            path("configfile", ValueHint::FilePath)
                .short('c')
                .value_name("FILE"),
            flag("nodaemon").short('n'),
            flag("test-start").short('t'),
            flag("norun"),
            flag("verbose").short('v'),
            flag("forceactive"),
            path("lvsd", ValueHint::ExecutablePath),
            path("fos", ValueHint::ExecutablePath),
            path("pidfile", ValueHint::FilePath),
            path("status-socket", ValueHint::FilePath),
            Arg::new("lvsd-ready-timeout")
                .long("lvsd-ready-timeout")
                .value_name("SECS"),
            Arg::new("sync-daemon")
                .long("sync-daemon")
                .value_parser(["ipvs", "log"]),
            flag("syslog"),
            flag("version"),
            flag("help").short('?'),
            flag("usage"),
        ])
}

fn send_arp() -> Command {
    Command::new("send_arp")
        .about("send a gratuitous ARP reply (or IPv6 unsolicited neighbour advertisement)")
        .arg(
            Arg::new("device")
                .short('i')
                .value_name("DEVICE")
                .value_hint(ValueHint::Other),
        )
        .args(
            ["src_ip_addr", "src_hw_addr", "targ_ip_addr", "targ_hw_addr"]
                .map(|n| Arg::new(n).required(true).value_hint(ValueHint::Other)),
        )
}

fn piranha_web() -> Command {
    Command::new("piranha-web")
        .about("the LVS web configuration tool (Piranha's GUI, port 3636)")
        .version(env!("CARGO_PKG_VERSION"))
        .args([
            Arg::new("listen").long("listen").value_name("ADDR:PORT"),
            path("config", ValueHint::FilePath),
            path("passwd-file", ValueHint::FilePath),
            path("tls-cert", ValueHint::FilePath),
            path("tls-key", ValueHint::FilePath),
            Arg::new("allow")
                .long("allow")
                .value_name("NET")
                .action(ArgAction::Append),
            path("pulse-socket", ValueHint::FilePath),
            path("lvsd-socket", ValueHint::FilePath),
        ])
}

fn piranha_passwd() -> Command {
    Command::new("piranha-passwd")
        .about("set the password of the web tool's user piranha")
        .arg(path("passwd-file", ValueHint::FilePath).value_name("FILE"))
}
