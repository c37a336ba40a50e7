//! pulse's command line (Piranha's popt options, docs/ARCHITECTURE.md), parsed popt-style by hand so that the
//! error messages are Piranha's: `pulse: bad argument <opt>: <why>` and
//! `pulse: unexpected arguments`, both exit 1.

use std::path::PathBuf;
use std::time::Duration;

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-c/--configfile`.
    pub config: PathBuf,
    /// `-n/--nodaemon`.
    pub nodaemon: bool,
    /// `-t/--test-start/--norun`: do not start lvsd.
    pub test_start: bool,
    /// `-v/--verbose`.
    pub verbose: bool,
    /// `--forceactive`.
    pub force_active: bool,
    /// `--lvsd=PATH`.
    pub lvsd: PathBuf,
    /// `--fos=PATH` (accepted; FOS mode is not run).
    pub fos: PathBuf,
    /// `--pidfile=PATH` (extension).
    pub pidfile: PathBuf,
    /// `--status-socket=PATH` (extension).
    pub status_socket: PathBuf,
    /// `--state-dir=PATH` (extension; default `/var/lib/pulse`): where the
    /// boot counter of the signed heartbeats is kept.
    pub state_dir: PathBuf,
    /// `--lvsd-ready-timeout=SECS` (extension; default 30).
    pub ready_timeout: Duration,
    /// `--sync-daemon=ipvs|log` (extension; default ipvs).
    pub sync_daemon_log: bool,
    /// `--syslog` (extension): log to syslog (ident `pulse`, facility
    /// daemon) even in the foreground, and pass it on to lvsd.
    pub syslog: bool,
    /// `--version` was given.
    pub version: bool,
    /// `--help`/`-?`/`--usage` was given.
    pub help: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: PathBuf::from(lvscf_parser::DEFAULT_CONFIG_PATH),
            nodaemon: false,
            test_start: false,
            verbose: false,
            force_active: false,
            lvsd: PathBuf::from("/usr/sbin/lvsd"),
            fos: PathBuf::from("/usr/sbin/fos"),
            pidfile: PathBuf::from("/var/run/pulse.pid"),
            status_socket: PathBuf::from("/run/piranha/pulse.sock"),
            state_dir: PathBuf::from(crate::bootid::DEFAULT_STATE_DIR),
            ready_timeout: Duration::from_secs(30),
            sync_daemon_log: false,
            syslog: false,
            version: false,
            help: false,
        }
    }
}

/// The usage text.
pub const USAGE: &str =
    "Usage: pulse [-c|--configfile=FILE] [-n|--nodaemon] [-t|--test-start] [--norun]
        [-v|--verbose] [--forceactive] [--lvsd=PATH] [--fos=PATH] [--version]
        [--pidfile=PATH] [--status-socket=PATH] [--state-dir=PATH]
        [--lvsd-ready-timeout=SECS] [--sync-daemon=ipvs|log] [--syslog]
";

/// `pulse: <message>` to print on stderr before exiting 1.
pub type CliError = String;

fn bad(opt: &str, why: &str) -> CliError {
    format!("pulse: bad argument {opt}: {why}")
}

/// Parses argv (without the program name).
pub fn parse(args: &[String]) -> Result<Options, CliError> {
    let mut o = Options::default();
    let mut i = 0;
    let mut positional = false;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if let Some(long) = arg.strip_prefix("--") {
            if long.is_empty() {
                positional = i < args.len();
                break;
            }
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let takes = matches!(
                name,
                "configfile"
                    | "lvsd"
                    | "fos"
                    | "pidfile"
                    | "status-socket"
                    | "state-dir"
                    | "lvsd-ready-timeout"
                    | "sync-daemon"
            );
            let value = if takes {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = args
                            .get(i)
                            .cloned()
                            .ok_or_else(|| bad(arg, "missing argument"))?;
                        i += 1;
                        Some(v)
                    }
                }
            } else {
                if inline.is_some() {
                    return Err(bad(arg, "option does not take an argument"));
                }
                None
            };
            let value = value.unwrap_or_default();
            match name {
                "configfile" => o.config = PathBuf::from(value),
                "nodaemon" => o.nodaemon = true,
                "test-start" | "norun" => o.test_start = true,
                "verbose" => o.verbose = true,
                "forceactive" => o.force_active = true,
                "syslog" => o.syslog = true,
                "lvsd" => o.lvsd = PathBuf::from(value),
                "fos" => o.fos = PathBuf::from(value),
                "pidfile" => o.pidfile = PathBuf::from(value),
                "status-socket" => o.status_socket = PathBuf::from(value),
                "state-dir" => o.state_dir = PathBuf::from(value),
                "lvsd-ready-timeout" => {
                    let secs: f64 = value
                        .parse()
                        .map_err(|_| bad(arg, "invalid numeric value"))?;
                    o.ready_timeout = Duration::try_from_secs_f64(secs)
                        .map_err(|_| bad(arg, "invalid numeric value"))?;
                }
                "sync-daemon" => match value.as_str() {
                    "ipvs" => o.sync_daemon_log = false,
                    "log" => o.sync_daemon_log = true,
                    _ => return Err(bad(arg, "expected ipvs or log")),
                },
                "version" => o.version = true,
                "help" | "usage" => o.help = true,
                _ => return Err(bad(arg, "unknown option")),
            }
        } else if arg.len() > 1 && arg.starts_with('-') {
            let letters: Vec<char> = arg[1..].chars().collect();
            let mut j = 0;
            while j < letters.len() {
                let c = letters[j];
                j += 1;
                match c {
                    'n' => o.nodaemon = true,
                    't' => o.test_start = true,
                    'v' => o.verbose = true,
                    '?' => o.help = true,
                    'c' => {
                        let rest: String = letters[j..].iter().collect();
                        let v = if !rest.is_empty() {
                            rest
                        } else {
                            let v = args
                                .get(i)
                                .cloned()
                                .ok_or_else(|| bad(arg, "missing argument"))?;
                            i += 1;
                            v
                        };
                        o.config = PathBuf::from(v);
                        j = letters.len();
                    }
                    _ => return Err(bad(arg, "unknown option")),
                }
            }
        } else {
            positional = true;
            break;
        }
    }
    if positional {
        return Err("pulse: unexpected arguments".to_string());
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Options, CliError> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn piranha_forms() {
        let o = p(&[
            "-c",
            "/x.cf",
            "-n",
            "-v",
            "--forceactive",
            "--lvsd=/bin/l",
            "--fos",
            "/bin/f",
        ])
        .unwrap();
        assert_eq!(o.config, PathBuf::from("/x.cf"));
        assert!(o.nodaemon && o.verbose && o.force_active && !o.test_start);
        assert_eq!(o.lvsd, PathBuf::from("/bin/l"));
        assert_eq!(o.fos, PathBuf::from("/bin/f"));
        assert_eq!(p(&["--configfile=/y"]).unwrap().config, PathBuf::from("/y"));
        assert_eq!(p(&["-c/z"]).unwrap().config, PathBuf::from("/z"));
        let o = p(&["-nvc", "/w"]).unwrap();
        assert!(o.nodaemon && o.verbose);
        assert_eq!(o.config, PathBuf::from("/w"));
        assert!(p(&["--norun"]).unwrap().test_start);
        assert!(p(&["-t"]).unwrap().test_start);
        assert!(p(&["--version"]).unwrap().version);
        assert_eq!(
            p(&["--lvsd-ready-timeout=0.5"]).unwrap().ready_timeout,
            Duration::from_millis(500)
        );
        assert!(p(&["--sync-daemon=log"]).unwrap().sync_daemon_log);
        assert!(p(&["--sync-daemon", "x"]).is_err());
    }

    #[test]
    fn errors() {
        assert_eq!(p(&["extra"]).unwrap_err(), "pulse: unexpected arguments");
        assert_eq!(
            p(&["-x"]).unwrap_err(),
            "pulse: bad argument -x: unknown option"
        );
        assert_eq!(
            p(&["--bogus"]).unwrap_err(),
            "pulse: bad argument --bogus: unknown option"
        );
        assert_eq!(
            p(&["-c"]).unwrap_err(),
            "pulse: bad argument -c: missing argument"
        );
        assert!(p(&["--nodaemon=1"]).is_err());
    }

    #[test]
    fn syslog_is_an_extension_flag() {
        let o = parse(&["-n".to_string(), "--syslog".to_string()]).expect("parses");
        assert!(o.nodaemon && o.syslog);
        assert!(!parse(&[]).expect("parses").syslog);
    }
}
