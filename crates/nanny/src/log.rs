//! Logging: `nanny: <message>` lines on stderr (never stdout, which carries
//! the JSON reports), optionally also to syslog (ident `nanny`, facility
//! daemon, as Piranha) for the hand-run command line without `--nodaemon`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);
static SYSLOG: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(true);

/// Configure logging once at startup.
pub fn init(verbose: bool, syslog: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
    if syslog {
        // SAFETY: the ident is a static C string that lives for the program.
        unsafe { libc::openlog(c"nanny".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
        SYSLOG.store(true, Ordering::Relaxed);
    }
}

/// `--syslog`: Piranha's syslog ident and facility, and nothing on stderr
/// (lvsd passes it on when it was asked for syslog itself).
pub fn init_syslog_only(verbose: bool) {
    init(verbose, true);
    STDERR.store(false, Ordering::Relaxed);
}

/// Whether `-v` was given.
pub fn is_verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Log one message.
pub fn info(msg: &str) {
    if STDERR.load(Ordering::Relaxed) {
        let mut e = std::io::stderr().lock();
        for line in msg.lines() {
            let _ = writeln!(e, "nanny: {line}");
        }
    }
    if SYSLOG.load(Ordering::Relaxed) {
        if let Ok(c) = std::ffi::CString::new(msg.replace('\0', "")) {
            // SAFETY: "%s" with a valid NUL-terminated string (no format
            // injection, unlike Piranha).
            unsafe { libc::syslog(libc::LOG_INFO, c"%s".as_ptr(), c.as_ptr()) };
        }
    }
}

/// Log one message only with `-v`.
pub fn verbose(msg: &str) {
    if is_verbose() {
        info(msg);
    }
}
