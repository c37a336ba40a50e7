//! Clap mirrors of the command lines that are parsed by hand (for Piranha's
//! exact argument syntax and error messages), used only for shell
//! completions:
//!
//! - `pulse`: popt-style (`pulse::cli::parse`);
//! - `fos`: popt-style (`fos::cli::parse`);
//! - `send_arp`: Piranha's positional argv;
//! - `piranha-passwd`: no options but `--passwd-file`.
//!
//! packaging/test.sh compares each binary's `--help` with its man page, so a
//! mirror that drifts from its binary is caught.

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
    vec![pulse(), fos(), send_arp(), piranha_passwd()]
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

fn fos() -> Command {
    Command::new("fos")
        .about("run or watch Piranha's failover services (service = fos) for pulse")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args([
            flag("active"),
            flag("monitor"),
            path("configfile", ValueHint::FilePath)
                .short('c')
                .value_name("FILE"),
            flag("nodaemon").short('n'),
            flag("nofork"),
            flag("verbose").short('v'),
            flag("syslog"),
            path("nanny", ValueHint::ExecutablePath),
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

fn piranha_passwd() -> Command {
    Command::new("piranha-passwd")
        .about("set the password of the web tool's user piranha")
        .arg(path("passwd-file", ValueHint::FilePath).value_name("FILE"))
}
