//! Logging as Piranha's lvs did: in the foreground to stdout with the prefix
//! `lvs: `; as a daemon to syslog (ident `lvsd`, facility daemon), falling
//! back to stderr when there is no syslog socket. The lines themselves are
//! made by [`daemon_kit::log`].

use std::sync::OnceLock;

pub use daemon_kit::log::Level;
use daemon_kit::log::{Console, Logger};

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets the destination once. `daemon`: syslog; else stdout.
pub fn init(daemon: bool, verbose: bool) {
    let logger = if daemon {
        Logger::syslog_only("lvsd")
    } else {
        Logger::console("lvs", "lvsd", Console::Stdout)
    };
    let _ = LOGGER.set(logger.verbose(verbose));
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    LOGGER.get().is_some_and(|l| l.is_verbose())
}

/// Logs one message.
pub fn log(level: Level, msg: &str) {
    match LOGGER.get() {
        Some(l) => l.log(level, msg),
        None => eprintln!("lvs: {msg}"),
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
