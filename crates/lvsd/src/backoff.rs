//! When to restart a nanny that died (`hard_shutdown = 0`).
//!
//! Delay 1 s, doubling on each death up to 60 s; a nanny that ran for at
//! least [`STABLE`] before dying starts again at 1 s. On top of that, at
//! most [`MAX_IN_WINDOW`] restarts within any [`WINDOW`]: a nanny that
//! crashes at once after every start (a broken binary, a job it cannot
//! run) costs a few starts a minute, not a busy loop, while the table is
//! kept as it was. Pure: the caller passes the clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// First delay.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Largest delay.
pub const CAP: Duration = Duration::from_secs(60);
/// A nanny that lived this long resets the delay.
pub const STABLE: Duration = Duration::from_secs(60);
/// Sliding window of the restart count limit.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Restarts allowed within [`WINDOW`].
pub const MAX_IN_WINDOW: usize = 7;

/// Restart bookkeeping of one nanny.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    restarts: VecDeque<Instant>,
    started: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    /// A fresh policy.
    pub fn new() -> Backoff {
        Backoff {
            next: INITIAL,
            restarts: VecDeque::new(),
            started: None,
        }
    }

    /// The nanny was (re)started at `now`.
    pub fn started(&mut self, now: Instant) {
        self.started = Some(now);
    }

    /// The nanny died at `now` (or its start failed): when to start it
    /// again. Each start counts for one death only: a failed start, which
    /// has no start of its own, is no long life that resets the delay.
    pub fn died(&mut self, now: Instant) -> Instant {
        if let Some(s) = self.started.take() {
            if now.saturating_duration_since(s) >= STABLE {
                self.next = INITIAL;
            }
        }
        let mut at = now + self.next;
        self.next = (self.next * 2).min(CAP);
        while let Some(first) = self.restarts.front() {
            if at.saturating_duration_since(*first) >= WINDOW {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.len() >= MAX_IN_WINDOW {
            if let Some(first) = self.restarts.front() {
                at = at.max(*first + WINDOW);
            }
            self.restarts.pop_front();
        }
        self.restarts.push_back(at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue FLT-K03 (docs/RELIABILITY.md).
    #[test]
    fn doubles_to_the_cap_and_limits_the_rate() {
        let t0 = Instant::now();
        let mut b = Backoff::new();
        let mut now = t0;
        let mut delays = Vec::new();
        let mut restarts_first_minute = 0;
        for _ in 0..12 {
            b.started(now);
            let at = b.died(now);
            delays.push((at - now).as_secs());
            if at - t0 <= Duration::from_secs(60) {
                restarts_first_minute += 1;
            }
            now = at; // dies at once after each start
        }
        assert_eq!(&delays[..8], &[1, 2, 4, 8, 16, 32, 60, 60]);
        assert!(restarts_first_minute <= MAX_IN_WINDOW);
    }

    /// The defect: the start of a nanny that ran for an hour also counted
    /// for the failed starts after its death, so each was retried after
    /// 1 s (seven a minute, for ever) instead of backing off.
    #[test]
    fn a_failed_start_is_no_stable_run() {
        let t0 = Instant::now();
        let mut b = Backoff::new();
        b.started(t0);
        let mut now = t0 + Duration::from_secs(3600);
        let mut delays = Vec::new();
        for _ in 0..4 {
            // died, then the restart at `at` fails at once (no started()).
            let at = b.died(now);
            delays.push((at - now).as_secs());
            now = at;
        }
        assert_eq!(delays, [1, 2, 4, 8]);
    }

    /// The window's limit holds even when every run counts as long.
    /// Reliability catalogue FLT-K06 (docs/RELIABILITY.md).
    #[test]
    fn no_more_than_seven_restarts_in_a_window() {
        // (Later than now: `now - STABLE` below must exist.)
        let t0 = Instant::now() + STABLE;
        let mut b = Backoff::new();
        let mut now = t0;
        let mut restarts = Vec::new();
        for _ in 0..30 {
            // Every run reported as a minute long: the delay stays 1 s.
            b.started(now - STABLE);
            let at = b.died(now);
            restarts.push(at);
            now = at;
        }
        for (i, r) in restarts.iter().enumerate() {
            let within = restarts[i..]
                .iter()
                .take_while(|t| **t < *r + WINDOW)
                .count();
            assert!(
                within <= MAX_IN_WINDOW,
                "{within} restarts within {WINDOW:?}"
            );
        }
        assert!(restarts
            .windows(2)
            .any(|w| w[1] - w[0] > Duration::from_secs(1)));
    }

    #[test]
    fn a_stable_nanny_resets_the_delay() {
        let t0 = Instant::now();
        let mut b = Backoff::new();
        b.started(t0);
        let at = b.died(t0);
        assert_eq!(at - t0, INITIAL);
        b.started(at);
        let at2 = b.died(at + Duration::from_secs(1));
        assert_eq!(at2 - (at + Duration::from_secs(1)), Duration::from_secs(2));
        b.started(at2);
        let later = at2 + Duration::from_secs(3600);
        assert_eq!(b.died(later) - later, INITIAL);
    }
}
