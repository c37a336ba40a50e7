//! The log lines of pulse, lvsd and nanny, written as Piranha's daemons wrote
//! them: on the console `PREFIX: text`, one line for each line of a message;
//! to syslog one `<PRI>IDENT[PID]: message` datagram on `/dev/log`, facility
//! daemon, reconnecting after a syslog restart and falling back to stderr
//! (`IDENT: message`) while there is no syslog to take it.
//!
//! It owns the format and the delivery of a line, nothing else: what a
//! daemon logs, at which level and how often (rate limits) stay with the
//! daemon. It never panics and never blocks on a missing syslog.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;

/// Severity, with syslog's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// LOG_ERR.
    Err = 3,
    /// LOG_WARNING.
    Warning = 4,
    /// LOG_INFO.
    Info = 6,
    /// LOG_DEBUG: written only when the logger is verbose (`-v`).
    Debug = 7,
}

/// Which console stream carries the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// stdout (pulse and lvsd in the foreground, as Piranha's).
    Stdout,
    /// stderr (nanny, whose stdout carries its reports to lvsd).
    Stderr,
}

/// The longest message written, in bytes: longer ones (a program's output
/// quoted in a check failure, a hostile real server's answer) are cut at a
/// character boundary with a note of how much was cut, so that a log line
/// never exceeds what syslog daemons take (rsyslog's default is 8 KiB, a
/// datagram at most 208 KiB) and nothing unbounded reaches the journal.
pub const MAX_MESSAGE: usize = 8 * 1024 - 128;

/// `msg`, cut to [`MAX_MESSAGE`] bytes if longer.
pub fn bounded(msg: &str) -> std::borrow::Cow<'_, str> {
    if msg.len() <= MAX_MESSAGE {
        return std::borrow::Cow::Borrowed(msg);
    }
    let mut end = MAX_MESSAGE;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{} [... {} more bytes not logged]",
        &msg[..end],
        msg.len() - end
    ))
}

/// syslog's facility "daemon".
const FACILITY_DAEMON: u8 = 3;

/// Where a daemon's lines go, and how they are labelled.
pub struct Logger {
    prefix: &'static str,
    ident: &'static str,
    console: Option<Console>,
    syslog: Option<Mutex<Syslog>>,
    verbose: bool,
}

/// A datagram socket connected to the syslog socket, made on first use.
struct Syslog {
    path: PathBuf,
    socket: Option<UnixDatagram>,
}

impl Syslog {
    fn connect(&mut self) -> Option<&UnixDatagram> {
        if self.socket.is_none() {
            let s = UnixDatagram::unbound().ok()?;
            s.connect(&self.path).ok()?;
            self.socket = Some(s);
        }
        self.socket.as_ref()
    }

    /// Sends one datagram; after a failure (syslog restarted) connects once
    /// more and retries. False when syslog did not take it.
    fn send(&mut self, line: &[u8]) -> bool {
        for _ in 0..2 {
            match self.connect() {
                Some(s) if s.send(line).is_ok() => return true,
                Some(_) => self.socket = None,
                None => return false,
            }
        }
        false
    }
}

impl Logger {
    /// Lines on `console` as `prefix: text`; the ident is what syslog would
    /// show (used by [`Logger::with_syslog`]).
    pub fn console(prefix: &'static str, ident: &'static str, console: Console) -> Logger {
        Logger {
            prefix,
            ident,
            console: Some(console),
            syslog: None,
            verbose: false,
        }
    }

    /// Lines to syslog only (a daemonized process), as `ident`.
    pub fn syslog_only(ident: &'static str) -> Logger {
        Logger {
            prefix: ident,
            ident,
            console: None,
            syslog: None,
            verbose: false,
        }
        .with_syslog()
    }

    /// Also (or only) to syslog through `/dev/log`.
    pub fn with_syslog(self) -> Logger {
        self.with_syslog_at("/dev/log")
    }

    /// To syslog through the datagram socket at `path` (tests point it at
    /// a socket of their own).
    pub fn with_syslog_at(mut self, path: impl Into<PathBuf>) -> Logger {
        self.syslog = Some(Mutex::new(Syslog {
            path: path.into(),
            socket: None,
        }));
        self
    }

    /// With `verbose`, [`Level::Debug`] lines are written too.
    pub fn verbose(mut self, verbose: bool) -> Logger {
        self.verbose = verbose;
        self
    }

    /// Whether debug lines are written.
    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// The syslog datagram of `msg` from process `pid`.
    pub fn syslog_line(&self, level: Level, pid: u32, msg: &str) -> String {
        format!(
            "<{}>{}[{pid}]: {msg}",
            FACILITY_DAEMON * 8 + level as u8,
            self.ident
        )
    }

    /// The console text of `msg`: every line labelled, each ending in a
    /// newline.
    pub fn console_text(&self, msg: &str) -> String {
        let mut out = String::with_capacity(msg.len() + self.prefix.len() + 3);
        let mut lines = msg.lines().peekable();
        if lines.peek().is_none() {
            out.push_str(self.prefix);
            out.push_str(":\n");
        }
        for line in lines {
            out.push_str(self.prefix);
            out.push_str(": ");
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Writes `msg` at `level` (cut to [`MAX_MESSAGE`] bytes).
    pub fn log(&self, level: Level, msg: &str) {
        if level == Level::Debug && !self.verbose {
            return;
        }
        let msg: &str = &bounded(msg);
        match self.console {
            Some(Console::Stdout) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(self.console_text(msg).as_bytes());
                let _ = out.flush();
            }
            Some(Console::Stderr) => {
                let _ = std::io::stderr().write_all(self.console_text(msg).as_bytes());
            }
            None => {}
        }
        if let Some(syslog) = &self.syslog {
            let line = self.syslog_line(level, std::process::id(), msg);
            let taken = match syslog.lock() {
                Ok(mut s) => s.send(line.as_bytes()),
                Err(_) => false,
            };
            // Not lost while syslog is away: stderr reaches the journal (or
            // the terminal) when the console does not already have it.
            if !taken && self.console.is_none() {
                let _ = writeln!(std::io::stderr(), "{}: {msg}", self.ident);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// V10: messages of 80 B, 1 KiB, 64 KiB and 1 MiB (multi-byte
    /// characters at the cut) are written whole up to the bound and cut
    /// safely beyond it, to a real syslog socket, without a failure.
    #[test]
    fn long_messages_are_cut_safely() {
        for len in [80usize, 1024, 64 * 1024, 1 << 20] {
            let msg: String = "é".repeat(len / 2);
            let b = bounded(&msg);
            assert!(b.len() <= MAX_MESSAGE + 64, "{len}: {}", b.len());
            if msg.len() <= MAX_MESSAGE {
                assert_eq!(b, msg);
            } else {
                assert!(b.ends_with(" more bytes not logged]"), "{len}");
                assert!(b.starts_with("éé"));
            }
        }
        let dir = std::env::temp_dir().join(format!("daemon-kit-v10-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let l = Logger::syslog_only("lvsd").with_syslog_at(&path);
        l.log(Level::Info, &"x".repeat(1 << 20));
        let mut buf = vec![0u8; 1 << 21];
        let n = server.recv(&mut buf).expect("a datagram");
        assert!(n <= MAX_MESSAGE + 64, "{n}");
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("more bytes not logged]"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn console_lines_are_labelled_one_by_one() {
        let l = Logger::console("lvs", "lvsd", Console::Stdout);
        assert_eq!(l.console_text("table built"), "lvs: table built\n");
        assert_eq!(
            l.console_text("error in x\n  key = 1\n        ^"),
            "lvs: error in x\nlvs:   key = 1\nlvs:         ^\n"
        );
        assert_eq!(l.console_text(""), "lvs:\n");
    }

    #[test]
    fn syslog_line_has_piranha_ident_pid_and_daemon_facility() {
        let l = Logger::syslog_only("pulse");
        assert_eq!(
            l.syslog_line(Level::Info, 42, "partner dead: activating lvs"),
            "<30>pulse[42]: partner dead: activating lvs"
        );
        assert_eq!(l.syslog_line(Level::Err, 1, "x"), "<27>pulse[1]: x");
        assert_eq!(l.syslog_line(Level::Debug, 1, "x"), "<31>pulse[1]: x");
    }

    fn recv(s: &UnixDatagram) -> Option<String> {
        let mut buf = [0u8; 512];
        let n = s.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn syslog_datagrams_reconnect_after_a_syslog_restart_and_debug_needs_verbose() {
        let dir = std::env::temp_dir().join(format!("daemon-log-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let quiet = Logger::syslog_only("lvsd").with_syslog_at(&path);
        quiet.log(Level::Debug, "not written");
        quiet.log(Level::Info, "one");
        let pid = std::process::id();
        assert_eq!(recv(&server), Some(format!("<30>lvsd[{pid}]: one")));
        // syslog restarts: a new socket at the same path.
        drop(server);
        std::fs::remove_file(&path).expect("rm");
        let server = UnixDatagram::bind(&path).expect("rebind");
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        quiet.log(Level::Warning, "two");
        assert_eq!(recv(&server), Some(format!("<28>lvsd[{pid}]: two")));
        let loud = Logger::syslog_only("lvsd")
            .with_syslog_at(&path)
            .verbose(true);
        loud.log(Level::Debug, "three");
        assert_eq!(recv(&server), Some(format!("<31>lvsd[{pid}]: three")));
        // No syslog at all: nothing blocks or panics (the line goes to
        // stderr).
        drop(server);
        std::fs::remove_file(&path).expect("rm");
        loud.log(Level::Info, "four");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
