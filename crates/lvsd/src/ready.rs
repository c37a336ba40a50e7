//! When lvsd says its table is built (`IPVS table built: ...` and `ready`
//! on `--ready-fd`, which pulse waits for before it brings up any VIP).
//! Pure.
//!
//! At start the table is built from lvs.cf and the kernel's entries; the
//! nannies then check every real server once. lvsd is ready when every
//! watched virtual server's first round of checks is over, or at the
//! deadline (the longest check `timeout` plus 1 s) with whatever nanny said
//! by then: the late virtuals' first round is taken as over (their servers
//! nanny has not decided on keep the entries the kernel has) and the table
//! is reconciled once more before the announcement. A lvsd that is shutting
//! down is never ready: pulse must see it fail, not succeed and then die.

use std::time::Instant;

/// What to do about readiness now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not yet (or already announced, or never: shutting down).
    Wait,
    /// Announce: every first round is over.
    Ready,
    /// The deadline passed: mark the late first rounds over, reconcile,
    /// announce.
    Overdue,
}

/// Readiness, announced at most once.
#[derive(Debug, Clone)]
pub struct Readiness {
    deadline: Option<Instant>,
}

impl Readiness {
    /// Waiting for the first rounds until `deadline`.
    pub fn new(deadline: Instant) -> Readiness {
        Readiness {
            deadline: Some(deadline),
        }
    }

    /// The deadline, while readiness is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Decides at `now`. `all_done`: every watched virtual's first round
    /// is over; `stopping`: lvsd is shutting down.
    pub fn check(&mut self, now: Instant, all_done: bool, stopping: bool) -> Verdict {
        let Some(deadline) = self.deadline else {
            return Verdict::Wait;
        };
        let verdict = if stopping {
            Verdict::Wait
        } else if all_done {
            Verdict::Ready
        } else if now >= deadline {
            Verdict::Overdue
        } else {
            return Verdict::Wait;
        };
        self.deadline = None;
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ready_once_when_every_first_round_is_over() {
        let t = Instant::now();
        let mut r = Readiness::new(t + Duration::from_secs(7));
        assert_eq!(r.check(t, false, false), Verdict::Wait);
        assert_eq!(r.check(t, true, false), Verdict::Ready);
        assert_eq!(r.check(t, true, false), Verdict::Wait, "once");
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn overdue_at_the_deadline() {
        let t = Instant::now();
        let end = t + Duration::from_secs(7);
        let mut r = Readiness::new(end);
        assert_eq!(
            r.check(end - Duration::from_millis(1), false, false),
            Verdict::Wait
        );
        assert_eq!(r.check(end, false, false), Verdict::Overdue);
        assert_eq!(r.check(end, true, false), Verdict::Wait);
    }

    /// The defect: a nanny that could not start under `hard_shutdown = 1`
    /// shut lvsd down at start, and lvsd then announced its (now empty)
    /// table as built, with `ready` to pulse, which brought up the VIPs
    /// for a lvsd that was exiting.
    #[test]
    fn a_lvsd_that_is_shutting_down_is_never_ready() {
        let t = Instant::now();
        let mut r = Readiness::new(t + Duration::from_secs(7));
        assert_eq!(r.check(t, true, true), Verdict::Wait);
        assert_eq!(
            r.check(t + Duration::from_secs(60), true, false),
            Verdict::Wait
        );
    }
}
