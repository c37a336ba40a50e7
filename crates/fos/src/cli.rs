//! fos's command line, popt-style like pulse's: `fos: bad argument <opt>:
//! <why>` and `fos: unexpected arguments`, exit 1.

use std::path::PathBuf;

/// Which job fos does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--active`: run the services.
    Active,
    /// `--monitor`: watch the partner's services.
    Monitor,
}

/// What was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Run in this mode.
    Run(Mode),
    /// `--help`, `-?`, `--usage`.
    Help,
    /// `--version`.
    Version,
}

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The job.
    pub what: What,
    /// `-c/--configfile`.
    pub config: PathBuf,
    /// `-n/--nodaemon`: foreground, log to stdout.
    pub nodaemon: bool,
    /// `--nofork`: no fork, log to syslog (how pulse runs it as a daemon).
    pub nofork: bool,
    /// `-v/--verbose` (passed on to nanny).
    pub verbose: bool,
    /// `--syslog`: log to syslog even in the foreground (passed on).
    pub syslog: bool,
    /// `--nanny=PATH` (extension; default `/usr/sbin/nanny`).
    pub nanny: PathBuf,
}

/// The usage text.
pub const USAGE: &str =
    "Usage: fos --active|--monitor [-c|--configfile=FILE] [-n|--nodaemon] [--nofork]
        [-v|--verbose] [--syslog] [--nanny=PATH] [--version]
";

fn bad(opt: &str, why: &str) -> String {
    format!("fos: bad argument {opt}: {why}")
}

/// Parses argv (without the program name).
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut mode = None;
    let mut help = false;
    let mut version = false;
    let mut o = Options {
        what: What::Help,
        config: PathBuf::from(lvscf_parser::DEFAULT_CONFIG_PATH),
        nodaemon: false,
        nofork: false,
        verbose: false,
        syslog: false,
        nanny: PathBuf::from("/usr/sbin/nanny"),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg, None),
        };
        let value = |i: &mut usize| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args
                .get(*i)
                .cloned()
                .ok_or_else(|| bad(arg, "missing argument"))?;
            *i += 1;
            Ok(v)
        };
        let mut set_mode = |m: Mode| -> Result<(), String> {
            if mode.is_some_and(|x| x != m) {
                return Err(bad(arg, "--active and --monitor exclude each other"));
            }
            mode = Some(m);
            Ok(())
        };
        match name {
            "--active" => set_mode(Mode::Active)?,
            "--monitor" => set_mode(Mode::Monitor)?,
            "-c" | "--configfile" => o.config = PathBuf::from(value(&mut i)?),
            "--nanny" => o.nanny = PathBuf::from(value(&mut i)?),
            "-n" | "--nodaemon" => o.nodaemon = true,
            "--nofork" => o.nofork = true,
            "-v" | "--verbose" => o.verbose = true,
            "--syslog" => o.syslog = true,
            "--version" => version = true,
            "-?" | "--help" | "--usage" => help = true,
            s if s.starts_with('-') => return Err(bad(arg, "unknown option")),
            _ => return Err("fos: unexpected arguments".to_string()),
        }
    }
    o.what = if help {
        What::Help
    } else if version {
        What::Version
    } else {
        match mode {
            Some(m) => What::Run(m),
            None => return Err("fos: one of --active or --monitor is required".to_string()),
        }
    };
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Options, String> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn pulse_style_argv() {
        let o = p(&["--active", "-c", "/etc/lvs.cf", "--nofork", "-v"]).unwrap();
        assert_eq!(o.what, What::Run(Mode::Active));
        assert_eq!(o.config, PathBuf::from("/etc/lvs.cf"));
        assert!(o.nofork && o.verbose && !o.nodaemon);
        let o = p(&[
            "--monitor",
            "--configfile=/x",
            "--nodaemon",
            "--nanny=/bin/n",
        ])
        .unwrap();
        assert_eq!(o.what, What::Run(Mode::Monitor));
        assert_eq!(
            (o.config, o.nanny, o.nodaemon),
            (PathBuf::from("/x"), PathBuf::from("/bin/n"), true)
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            p(&["-c", "/x"]),
            Err("fos: one of --active or --monitor is required".into())
        );
        assert!(p(&["--active", "--monitor"])
            .unwrap_err()
            .contains("exclude"));
        assert_eq!(
            p(&["--active", "-c"]),
            Err("fos: bad argument -c: missing argument".into())
        );
        assert_eq!(
            p(&["--active", "--bogus"]),
            Err("fos: bad argument --bogus: unknown option".into())
        );
        assert_eq!(
            p(&["--active", "extra"]),
            Err("fos: unexpected arguments".into())
        );
        assert_eq!(p(&["--help"]).unwrap().what, What::Help);
        assert_eq!(p(&["--version"]).unwrap().what, What::Version);
    }
}
