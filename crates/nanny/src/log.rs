//! Logging: `nanny: <message>` lines on stderr (never stdout, which carries
//! the JSON reports), optionally also to syslog (ident `nanny`, facility
//! daemon, as Piranha) for the hand-run command line without `--nodaemon`.
//! The lines themselves are made by [`daemon_kit::log`].

use std::sync::OnceLock;

use daemon_kit::log::{Console, Level, Logger};

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Configure logging once at startup.
pub fn init(verbose: bool, syslog: bool) {
    let logger = Logger::console("nanny", "nanny", Console::Stderr);
    let logger = if syslog { logger.with_syslog() } else { logger };
    let _ = LOGGER.set(logger.verbose(verbose));
}

/// `--syslog`: Piranha's syslog ident and facility, and nothing on stderr
/// (lvsd passes it on when it was asked for syslog itself).
pub fn init_syslog_only(verbose: bool) {
    let _ = LOGGER.set(Logger::syslog_only("nanny").verbose(verbose));
}

/// Whether `-v` was given.
pub fn is_verbose() -> bool {
    LOGGER.get().is_some_and(|l| l.is_verbose())
}

/// Log one message.
pub fn info(msg: &str) {
    match LOGGER.get() {
        Some(l) => l.log(Level::Info, msg),
        None => {
            for line in msg.lines() {
                eprintln!("nanny: {line}");
            }
        }
    }
}

/// Log one message only with `-v` (at syslog's info level, as Piranha's
/// nanny logged everything, so a default syslog setup keeps it).
pub fn verbose(msg: &str) {
    if let Some(l) = LOGGER.get().filter(|l| l.is_verbose()) {
        l.log(Level::Info, msg);
    }
}
