//! Logging as Piranha's lvs did: in the foreground to stdout with the prefix
//! `lvs: `; as a daemon to syslog (ident `lvsd`, facility daemon) through
//! `/dev/log`, falling back to stderr when there is no syslog socket.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::{Mutex, OnceLock};

enum Sink {
    Stdout,
    Syslog(UnixDatagram),
    Stderr,
}

struct Logger {
    sink: Mutex<Sink>,
    verbose: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Severity (syslog numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// LOG_ERR.
    Err = 3,
    /// LOG_WARNING.
    Warning = 4,
    /// LOG_INFO.
    Info = 6,
    /// LOG_DEBUG (only with `-v`).
    Debug = 7,
}

/// Sets the destination once. `daemon`: syslog; else stdout.
pub fn init(daemon: bool, verbose: bool) {
    let sink = if daemon {
        match UnixDatagram::unbound().and_then(|s| s.connect("/dev/log").map(|_| s)) {
            Ok(s) => Sink::Syslog(s),
            Err(_) => Sink::Stderr,
        }
    } else {
        Sink::Stdout
    };
    let _ = LOGGER.set(Logger {
        sink: Mutex::new(sink),
        verbose,
    });
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    LOGGER.get().is_some_and(|l| l.verbose)
}

/// Logs one line.
pub fn log(level: Level, msg: &str) {
    let Some(l) = LOGGER.get() else {
        eprintln!("lvs: {msg}");
        return;
    };
    if level == Level::Debug && !l.verbose {
        return;
    }
    let Ok(mut sink) = l.sink.lock() else { return };
    match &mut *sink {
        Sink::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "lvs: {msg}");
            let _ = out.flush();
        }
        Sink::Stderr => {
            let _ = writeln!(std::io::stderr(), "lvsd: {msg}");
        }
        Sink::Syslog(s) => {
            // facility daemon (3) * 8 + severity
            let pri = 3 * 8 + level as u8;
            let line = format!("<{pri}>lvsd[{}]: {msg}", std::process::id());
            if s.send(line.as_bytes()).is_err() {
                let _ = writeln!(std::io::stderr(), "lvsd: {msg}");
            }
        }
    }
}

/// `info` level.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Info, &format!($($t)*)) };
}
/// `warning` level.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, &format!($($t)*)) };
}
/// `err` level.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Err, &format!($($t)*)) };
}
/// `debug` level (only with `-v`).
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Debug, &format!($($t)*)) };
}
