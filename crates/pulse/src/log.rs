//! Logging: `pulse: <message>` on stdout in the foreground, syslog (ident
//! `pulse`, facility daemon) when daemonized (both made by [`daemon_kit::log`]),
//! and a per-reason rate limiter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use daemon_kit::log::{Console, Level};

/// Where log lines go (made by [`daemon_kit::log`]).
pub struct Logger(daemon_kit::log::Logger);

impl Logger {
    /// Foreground (stdout) or syslog.
    pub fn new(foreground: bool, verbose: bool) -> Logger {
        let l = if foreground {
            daemon_kit::log::Logger::console("pulse", "pulse", Console::Stdout)
        } else {
            daemon_kit::log::Logger::syslog_only("pulse")
        };
        Logger(l.verbose(verbose))
    }

    /// Verbose mode.
    pub fn verbose(&self) -> bool {
        self.0.is_verbose()
    }

    /// An info line.
    pub fn info(&self, msg: &str) {
        self.0.log(Level::Info, msg);
    }

    /// A warning (LOG_WARNING).
    pub fn warn(&self, msg: &str) {
        self.0.log(Level::Warning, msg);
    }

    /// A verbose-only line.
    pub fn debug(&self, msg: &str) {
        self.0.log(Level::Debug, msg);
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
