//! Logging: `pulse: <message>` on stdout in the foreground, syslog (ident
//! `pulse`, facility daemon) when daemonized, and a per-reason rate limiter.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where log lines go.
pub struct Logger {
    verbose: bool,
    syslog: Option<Mutex<Option<UnixDatagram>>>,
}

const LOG_DAEMON: u8 = 3 << 3;
const LOG_INFO: u8 = 6;
const LOG_DEBUG: u8 = 7;

impl Logger {
    /// Foreground (stdout) or syslog.
    pub fn new(foreground: bool, verbose: bool) -> Logger {
        Logger {
            verbose,
            syslog: if foreground {
                None
            } else {
                Some(Mutex::new(None))
            },
        }
    }

    /// Verbose mode.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    fn emit(&self, prio: u8, msg: &str) {
        match &self.syslog {
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "pulse: {msg}");
                let _ = out.flush();
            }
            Some(sock) => {
                let line = format!(
                    "<{}>pulse[{}]: {}",
                    LOG_DAEMON | prio,
                    std::process::id(),
                    msg
                );
                let Ok(mut guard) = sock.lock() else { return };
                if guard.is_none() {
                    if let Ok(s) = UnixDatagram::unbound() {
                        if s.connect("/dev/log").is_ok() {
                            *guard = Some(s);
                        }
                    }
                }
                if let Some(s) = guard.as_ref() {
                    if s.send(line.as_bytes()).is_err() {
                        *guard = None;
                    }
                }
            }
        }
    }

    /// An info line.
    pub fn info(&self, msg: &str) {
        self.emit(LOG_INFO, msg);
    }

    /// A verbose-only line.
    pub fn debug(&self, msg: &str) {
        if self.verbose {
            self.emit(LOG_DEBUG, msg);
        }
    }
}

/// At most one line per key per `period`; says how many were suppressed.
pub struct RateLimiter {
    period: Duration,
    last: HashMap<&'static str, (Instant, u64)>,
}

impl RateLimiter {
    /// A limiter with the given period (10 s for heartbeat drops, HB-13).
    pub fn new(period: Duration) -> RateLimiter {
        RateLimiter {
            period,
            last: HashMap::new(),
        }
    }

    /// `Some(suppressed_since_last_line)` if a line may be logged now.
    pub fn allow(&mut self, key: &'static str, now: Instant) -> Option<u64> {
        match self.last.get_mut(key) {
            Some((t, n)) if now.duration_since(*t) < self.period => {
                *n += 1;
                None
            }
            Some((t, n)) => {
                let s = *n;
                *t = now;
                *n = 0;
                Some(s)
            }
            None => {
                self.last.insert(key, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_reason_per_period() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(Duration::from_secs(10));
        assert_eq!(r.allow("a", t0), Some(0));
        assert_eq!(r.allow("b", t0), Some(0));
        let mut lines = 0;
        for i in 0..100_000u64 {
            if r.allow("a", t0 + Duration::from_micros(i * 100)).is_some() {
                lines += 1;
            }
        }
        assert_eq!(lines, 0);
        assert_eq!(r.allow("a", t0 + Duration::from_secs(10)), Some(100_000));
        assert_eq!(r.allow("a", t0 + Duration::from_secs(21)), Some(0));
    }
}
