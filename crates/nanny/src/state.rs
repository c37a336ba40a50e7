//! The per-(virtual, server) state machine (docs/ARCHITECTURE.md, "nanny:
//! command line, checks, state machine, load, FOS"), as a pure
//! function of its inputs. No I/O, no tokio: the caller passes the time
//! (`now`, any monotonic origin) and the probe outcomes, and gets back the
//! change to report, the events to log, and whether to run the load monitor.
//!
//! Piranha semantics kept:
//! * `count` starts at the threshold `reentry / timeout`, so the first good
//!   probe at startup brings the server up at once;
//! * one failed probe takes an active server out and resets `count` to 0;
//!   `threshold` consecutive good probes bring it back;
//! * on activation the weight is W/32 (at least 1); it doubles (capped at W)
//!   at each adjustment point: every probe when timeout > 20 s, else every
//!   `20 / timeout` good probes (count-based, as Piranha);
//! * once at W, with a load monitor, each adjustment point runs the load
//!   command instead ([`crate::load::load_weight`]).
//!
//! Deliberate differences: a configured weight of 0 stays 0 (Piranha added
//! the server at weight 1); the first decision about a server is always
//! reported, including `down` (Piranha said nothing about a server that
//! never came up, but lvsd needs every server's state to build its table);
//! `resume` lets a restarted nanny keep the weight lvsd has programmed.

use crate::protocol::State;
use std::time::Duration;

/// Parameters of one (virtual, server) state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    /// Probe interval and timeout, seconds (>= 1).
    pub interval: u32,
    /// Reentry time, seconds.
    pub reentry: u32,
    /// Configured weight W.
    pub weight: u32,
    /// Load-based weight cap multiplier.
    pub scale: u32,
    /// A load monitor is configured.
    pub load_monitor: bool,
}

impl Params {
    /// Normalised parameters: interval 0 -> 1 (Piranha crashed), reentry 0 ->
    /// 180 (Piranha's LVS default).
    pub fn new(interval: u32, reentry: u32, weight: u32, scale: u32, load_monitor: bool) -> Params {
        Params {
            interval: interval.max(1),
            reentry: if reentry == 0 { 180 } else { reentry },
            weight,
            scale: scale.max(1),
            load_monitor,
        }
    }

    /// Good probes needed to readmit a failed server: `reentry / interval`.
    pub fn threshold(&self) -> u64 {
        (self.reentry / self.interval) as u64
    }

    /// Weight on activation: W/32, at least 1 (0 stays 0).
    pub fn initial_weight(&self) -> u32 {
        if self.weight == 0 {
            0
        } else {
            (self.weight / 32).max(1)
        }
    }

    fn max_weight(&self) -> u32 {
        if self.load_monitor {
            self.weight.saturating_mul(self.scale)
        } else {
            self.weight
        }
    }

    fn adjust_point(&self, count: u64) -> bool {
        self.interval > 20 || count % (20 / self.interval) as u64 == 0
    }
}

/// Result of one probe, as far as the state machine cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check passed.
    Good,
    /// The check failed, with a human-readable reason.
    Bad(String),
}

/// A forced state (signals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    /// SIGUSR1, "opaque glasses": everything down, probing stops.
    Down,
    /// SIGUSR2, "rose-colored glasses": everything up, probing stops.
    Up,
}

/// Something worth a log line.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `[ active ] making IP:PORT available`
    Available,
    /// `[inactive] shutting down IP:PORT due to connection failure` + reason.
    ShutDown(String),
    /// First decision about a server is "down" (never was up).
    NotAvailable(String),
    /// `Adjusting weight of IP:PORT to N`
    Weight(u32),
    /// `Loadavg of IP is F`
    Load(f64),
    /// Load could not be read.
    LoadFailed(String),
}

/// A state/weight change to report to lvsd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// New state.
    pub state: State,
    /// Weight to program (0 when down).
    pub weight: u32,
    /// Reason, when down.
    pub reason: Option<String>,
}

/// What a step of the machine decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Report this to lvsd.
    pub change: Option<Change>,
    /// Log these.
    pub events: Vec<Event>,
    /// Run the load command and feed its result to [`Machine::on_load`].
    pub run_load: bool,
}

/// The state of one (virtual, server).
#[derive(Debug, Clone)]
pub struct Machine {
    p: Params,
    active: bool,
    count: u64,
    weight: u32,
    forced: Option<Force>,
    resume: Option<u32>,
    reported: Option<(State, u32)>,
    since: Option<Duration>,
}

impl Machine {
    /// A new machine; `resume` is the weight lvsd already has programmed
    /// (`kernel_weight`), if any.
    pub fn new(p: Params, resume: Option<u32>) -> Machine {
        Machine {
            p,
            active: false,
            count: p.threshold(),
            weight: 0,
            forced: None,
            resume: resume.filter(|w| *w > 0),
            reported: None,
            since: None,
        }
    }

    /// Current parameters.
    pub fn params(&self) -> &Params {
        &self.p
    }

    /// The last reported (state, weight), `None` before the first decision.
    pub fn reported(&self) -> Option<(State, u32)> {
        self.reported
    }

    /// When the reported state last changed.
    pub fn since(&self) -> Option<Duration> {
        self.since
    }

    /// Whether a signal forced the state (probing is suspended).
    pub fn forced(&self) -> Option<Force> {
        self.forced
    }

    /// Consecutive good probes (Piranha's `count`).
    pub fn count(&self) -> u64 {
        self.count
    }

    fn emit(&mut self, now: Duration, d: &mut Decision, reason: Option<String>) {
        let (state, weight) = if self.active {
            (State::Up, self.weight)
        } else {
            (State::Down, 0)
        };
        if self.reported != Some((state, weight)) {
            if self.reported.map(|r| r.0) != Some(state) {
                self.since = Some(now);
            }
            self.reported = Some((state, weight));
            d.change = Some(Change {
                state,
                weight,
                reason: if state == State::Down { reason } else { None },
            });
        }
    }

    /// Feed one probe result.
    pub fn on_probe(&mut self, now: Duration, outcome: Outcome) -> Decision {
        let mut d = Decision::default();
        if self.forced.is_some() {
            return d;
        }
        match outcome {
            Outcome::Good => {
                self.count = self.count.saturating_add(1);
                let mut just_resumed = false;
                if !self.active && self.count >= self.p.threshold() {
                    self.active = true;
                    self.weight = match self.resume.take() {
                        Some(w) if self.reported.is_none() => {
                            just_resumed = true;
                            w.min(self.p.max_weight()).max(self.p.initial_weight())
                        }
                        _ => self.p.initial_weight(),
                    };
                    d.events.push(Event::Available);
                }
                if self.active && !just_resumed && self.p.adjust_point(self.count) {
                    if self.weight < self.p.weight {
                        self.weight = self.weight.saturating_mul(2).min(self.p.weight);
                        d.events.push(Event::Weight(self.weight));
                    } else if self.p.load_monitor {
                        d.run_load = true;
                    }
                }
                self.emit(now, &mut d, None);
            }
            Outcome::Bad(reason) => {
                self.count = 0;
                self.resume = None;
                if self.active {
                    self.active = false;
                    d.events.push(Event::ShutDown(reason.clone()));
                } else if self.reported.is_none() {
                    d.events.push(Event::NotAvailable(reason.clone()));
                }
                self.emit(now, &mut d, Some(reason));
            }
        }
        d
    }

    /// Feed the result of a load command requested by `run_load`.
    pub fn on_load(&mut self, now: Duration, load: Result<f64, String>) -> Decision {
        let mut d = Decision::default();
        if self.forced.is_some() || !self.active {
            return d;
        }
        match load {
            Err(e) => d.events.push(Event::LoadFailed(e)),
            Ok(l) => {
                d.events.push(Event::Load(l));
                if self.weight >= self.p.weight {
                    if let Some(w) =
                        crate::load::load_weight(self.weight, self.p.weight, self.p.scale, l)
                    {
                        self.weight = w;
                        d.events.push(Event::Weight(w));
                    }
                }
            }
        }
        self.emit(now, &mut d, None);
        d
    }

    /// SIGUSR1 / SIGUSR2.
    pub fn force(&mut self, now: Duration, f: Force) -> Decision {
        let mut d = Decision::default();
        self.forced = Some(f);
        self.resume = None;
        match f {
            Force::Down => {
                if self.active {
                    self.active = false;
                }
                self.emit(
                    now,
                    &mut d,
                    Some("forced down (SIGUSR1, opaque glasses)".into()),
                );
            }
            Force::Up => {
                if !self.active {
                    self.active = true;
                    self.weight = self.p.weight;
                }
                self.emit(now, &mut d, None);
            }
        }
        d
    }

    /// SIGHUP: back to normal probing. The count is reset to the threshold so
    /// the next good probe readmits a server at once.
    pub fn unforce(&mut self) {
        self.forced = None;
        self.count = self.p.threshold();
    }

    /// New parameters for the same check (weight, reentry, quiesce, load
    /// monitor changed in a new job). The up/down state is kept; the weight
    /// is clamped to the new bounds. A server that had finished its ramp
    /// takes a new configured weight at once (an edit of lvs.cf is applied
    /// by the reload, not 20 probes later); one still ramping goes on
    /// ramping towards it.
    pub fn set_params(&mut self, now: Duration, p: Params) -> Decision {
        let mut d = Decision::default();
        if p == self.p {
            return d;
        }
        let old = self.p;
        self.p = p;
        if self.active {
            if p.weight == 0 {
                self.weight = 0;
            } else if old.weight == 0 || self.weight == 0 {
                self.weight = p.initial_weight();
            } else if self.weight >= old.weight {
                self.weight = p.weight;
            } else if self.weight > p.max_weight() {
                self.weight = p.max_weight();
            }
            if self.weight != self.reported.map(|r| r.1).unwrap_or(0) {
                d.events.push(Event::Weight(self.weight));
            }
            self.emit(now, &mut d, None);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake clock: probes every `interval` seconds.
    struct Sim {
        m: Machine,
        now: Duration,
        step: Duration,
    }

    impl Sim {
        fn new(p: Params) -> Sim {
            Sim {
                m: Machine::new(p, None),
                now: Duration::ZERO,
                step: Duration::from_secs(p.interval as u64),
            }
        }
        fn probe(&mut self, good: bool) -> Decision {
            self.now += self.step;
            self.m.on_probe(
                self.now,
                if good {
                    Outcome::Good
                } else {
                    Outcome::Bad("connection refused".into())
                },
            )
        }
        fn state(&self) -> (State, u32) {
            self.m.reported().unwrap()
        }
    }

    fn p(interval: u32, reentry: u32, weight: u32) -> Params {
        Params::new(interval, reentry, weight, 10, false)
    }

    #[test]
    fn first_good_probe_brings_up_at_once() {
        let mut s = Sim::new(p(10, 180, 1));
        let d = s.probe(true);
        assert_eq!(d.events, vec![Event::Available]);
        assert_eq!(
            d.change,
            Some(Change {
                state: State::Up,
                weight: 1,
                reason: None
            })
        );
    }

    #[test]
    fn first_bad_probe_reports_down_once() {
        let mut s = Sim::new(p(10, 180, 1));
        let d = s.probe(false);
        assert_eq!(
            d.events,
            vec![Event::NotAvailable("connection refused".into())]
        );
        assert_eq!(d.change.unwrap().state, State::Down);
        let d = s.probe(false);
        assert_eq!(d, Decision::default());
    }

    #[test]
    fn one_failure_takes_out_and_reentry_over_timeout_probes_bring_back() {
        // GUI defaults: timeout 6, reentry 15 -> 2 probes
        let mut s = Sim::new(p(6, 15, 1));
        s.probe(true);
        let d = s.probe(false);
        assert_eq!(d.events, vec![Event::ShutDown("connection refused".into())]);
        assert_eq!(
            d.change,
            Some(Change {
                state: State::Down,
                weight: 0,
                reason: Some("connection refused".into())
            })
        );
        assert_eq!(s.m.count(), 0);
        assert!(s.probe(true).change.is_none());
        let d = s.probe(true);
        assert_eq!(d.events, vec![Event::Available]);
        assert_eq!(s.state(), (State::Up, 1));
    }

    #[test]
    fn daemon_defaults_need_18_probes() {
        let mut s = Sim::new(p(10, 180, 1));
        s.probe(true);
        s.probe(false);
        for i in 1..18 {
            assert!(s.probe(true).change.is_none(), "probe {i}");
        }
        assert_eq!(s.probe(true).events, vec![Event::Available]);
    }

    #[test]
    fn a_bad_probe_during_reentry_restarts_the_count() {
        let mut s = Sim::new(p(10, 30, 1));
        s.probe(true);
        s.probe(false);
        s.probe(true);
        s.probe(true);
        assert!(s.probe(false).change.is_none()); // still down, count reset
        assert_eq!(s.m.count(), 0);
        s.probe(true);
        s.probe(true);
        assert!(s.probe(true).change.is_some());
    }

    #[test]
    fn reentry_below_interval_readmits_on_first_good_probe() {
        let mut s = Sim::new(p(10, 5, 1));
        s.probe(true);
        s.probe(false);
        assert_eq!(s.probe(true).events, vec![Event::Available]);
    }

    #[test]
    fn zero_interval_and_reentry_are_normalised() {
        let p = Params::new(0, 0, 1, 10, false);
        assert_eq!((p.interval, p.reentry, p.threshold()), (1, 180, 180));
    }

    #[test]
    fn ramp_from_w_over_32_doubling_every_20s_of_probes() {
        // W = 100, interval 10: adjust every 2 good probes: 3, 6, 12, 24, 48, 96, 100
        let mut s = Sim::new(p(10, 180, 100));
        let mut weights = vec![];
        for _ in 0..16 {
            if let Some(c) = s.probe(true).change {
                weights.push(c.weight);
            }
        }
        assert_eq!(weights, vec![3, 6, 12, 24, 48, 96, 100]);
        // 20 s apart: 2 probes of 10 s each
        let mut s = Sim::new(p(10, 180, 100));
        let mut times = vec![];
        for _ in 0..16 {
            if s.probe(true).change.is_some() {
                times.push(s.now.as_secs());
            }
        }
        assert_eq!(times, vec![10, 20, 40, 60, 80, 100, 120]);
    }

    #[test]
    fn ramp_every_probe_when_interval_over_20() {
        let mut s = Sim::new(p(30, 180, 64));
        // activation at 2, then adjusted at once (same cycle): 4
        assert_eq!(s.probe(true).change.unwrap().weight, 4);
        assert_eq!(s.probe(true).change.unwrap().weight, 8);
    }

    #[test]
    fn ramp_restarts_after_failure() {
        let mut s = Sim::new(p(10, 10, 64));
        for _ in 0..20 {
            s.probe(true);
        }
        assert_eq!(s.state(), (State::Up, 64));
        s.probe(false);
        assert_eq!(s.probe(true).change.unwrap().weight, 2);
    }

    #[test]
    fn weight_zero_stays_zero() {
        let mut s = Sim::new(p(10, 180, 0));
        assert_eq!(
            s.probe(true).change.unwrap(),
            Change {
                state: State::Up,
                weight: 0,
                reason: None
            }
        );
        for _ in 0..10 {
            assert!(s.probe(true).change.is_none());
        }
    }

    #[test]
    fn small_weights() {
        for w in 1..32 {
            let mut s = Sim::new(p(10, 180, w));
            assert_eq!(s.probe(true).change.unwrap().weight, 1);
        }
        let mut s = Sim::new(p(10, 180, 33));
        assert_eq!(s.probe(true).change.unwrap().weight, 1);
    }

    #[test]
    fn quiesce_is_down_at_weight_zero() {
        // nanny reports the same thing with or without quiesce: lvsd keeps the
        // entry at weight 0 for a quiesce virtual.
        let mut s = Sim::new(p(10, 10, 8));
        s.probe(true);
        let c = s.probe(false).change.unwrap();
        assert_eq!((c.state, c.weight), (State::Down, 0));
        // and on recovery it ramps again from W/32
        assert_eq!(s.probe(true).change.unwrap().weight, 1);
    }

    #[test]
    fn load_monitor_runs_only_at_full_weight() {
        let mut s = Sim::new(Params::new(10, 180, 4, 10, true));
        let mut run = 0;
        let mut steps = 0;
        while run == 0 {
            let d = s.probe(true);
            steps += 1;
            if d.run_load {
                run += 1;
            }
        }
        assert_eq!(s.state(), (State::Up, 4));
        assert!(steps > 2);
        // idle server: 4 + 2 = 6
        let d = s.m.on_load(s.now, Ok(0.0));
        assert_eq!(d.events, vec![Event::Load(0.0), Event::Weight(6)]);
        assert_eq!(d.change.unwrap().weight, 6);
        // up to 10 W
        for _ in 0..40 {
            s.m.on_load(s.now, Ok(0.0));
        }
        assert_eq!(s.state(), (State::Up, 40));
        // heavily loaded: back down, floored at W
        for _ in 0..40 {
            s.m.on_load(s.now, Ok(28.0));
        }
        assert_eq!(s.state(), (State::Up, 4));
        let d = s.m.on_load(s.now, Err("failed to read remote load".into()));
        assert_eq!(
            d.events,
            vec![Event::LoadFailed("failed to read remote load".into())]
        );
        assert!(d.change.is_none());
    }

    #[test]
    fn load_weight_then_failure_then_ramp_again() {
        let mut s = Sim::new(Params::new(30, 30, 8, 10, true));
        for _ in 0..5 {
            let d = s.probe(true);
            if d.run_load {
                s.m.on_load(s.now, Ok(0.0));
            }
        }
        assert!(s.state().1 > 8);
        s.probe(false);
        assert_eq!(s.probe(true).change.unwrap().weight, 2);
    }

    #[test]
    fn signals_force_and_release() {
        let mut s = Sim::new(p(10, 180, 8));
        s.probe(true);
        let d = s.m.force(s.now, Force::Down);
        assert_eq!(d.change.as_ref().unwrap().state, State::Down);
        // probes are ignored while forced
        assert_eq!(s.probe(true), Decision::default());
        assert_eq!(s.state(), (State::Down, 0));
        // forced up: configured weight
        let d = s.m.force(s.now, Force::Up);
        assert_eq!(
            d.change.unwrap(),
            Change {
                state: State::Up,
                weight: 8,
                reason: None
            }
        );
        assert_eq!(s.probe(false), Decision::default());
        // SIGUSR1 again then SIGHUP: count = threshold, next good probe readmits at once
        s.m.force(s.now, Force::Down);
        s.m.unforce();
        assert_eq!(s.m.count(), 18);
        assert_eq!(s.probe(true).events, vec![Event::Available]);
        // forced up then normal: a failure takes it out
        s.m.force(s.now, Force::Up);
        s.m.unforce();
        assert_eq!(s.probe(false).change.unwrap().state, State::Down);
    }

    #[test]
    fn force_before_first_probe() {
        let mut m = Machine::new(p(10, 180, 5), None);
        assert_eq!(m.force(Duration::ZERO, Force::Up).change.unwrap().weight, 5);
        let mut m = Machine::new(p(10, 180, 5), None);
        assert_eq!(
            m.force(Duration::ZERO, Force::Down).change.unwrap().state,
            State::Down
        );
    }

    #[test]
    fn resume_keeps_programmed_weight_after_restart() {
        let mut m = Machine::new(p(10, 180, 100), Some(48));
        let d = m.on_probe(Duration::from_secs(1), Outcome::Good);
        assert_eq!(d.change.unwrap().weight, 48);
        // ramp continues from there
        let mut w = 48;
        for i in 2..10 {
            if let Some(c) = m.on_probe(Duration::from_secs(i), Outcome::Good).change {
                w = c.weight;
            }
        }
        assert_eq!(w, 100);
        // resume is ignored when the first probe fails
        let mut m = Machine::new(p(10, 10, 100), Some(48));
        m.on_probe(Duration::from_secs(1), Outcome::Bad("x".into()));
        assert_eq!(
            m.on_probe(Duration::from_secs(2), Outcome::Good)
                .change
                .unwrap()
                .weight,
            3
        );
    }

    #[test]
    fn params_change_keeps_state() {
        let mut s = Sim::new(p(10, 180, 100));
        for _ in 0..16 {
            s.probe(true);
        }
        assert_eq!(s.state(), (State::Up, 100));
        let d = s.m.set_params(s.now, p(10, 180, 10));
        assert_eq!(d.change.unwrap().weight, 10);
        // At its full weight: a raised weight is taken at once.
        let d = s.m.set_params(s.now, p(10, 180, 50));
        assert_eq!(d.change.unwrap().weight, 50);
        assert_eq!(s.state(), (State::Up, 50));
        // Still ramping (back from down at 50/32 = 1): the ramp goes on
        // towards the new weight.
        s.probe(false);
        while s.state().0 != State::Up {
            s.probe(true);
        }
        let (_, w) = s.state();
        assert!(w < 50, "ramping from {w}");
        let d = s.m.set_params(s.now, p(10, 180, 64));
        assert!(d.change.is_none());
        s.probe(true);
        s.probe(true);
        assert_eq!(s.state(), (State::Up, w * 2));
    }

    #[test]
    fn since_tracks_state_changes() {
        let mut s = Sim::new(p(10, 180, 100));
        s.probe(true);
        assert_eq!(s.m.since(), Some(Duration::from_secs(10)));
        s.probe(true);
        s.probe(true);
        assert_eq!(s.m.since(), Some(Duration::from_secs(10)));
        s.probe(false);
        assert_eq!(s.m.since(), Some(Duration::from_secs(40)));
    }
}
