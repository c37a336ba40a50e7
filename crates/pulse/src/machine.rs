//! The role state machine (docs/ARCHITECTURE.md, "pulse's role state
//! machine", with the fixes listed there), as a pure
//! function of events and an injected monotonic clock.
//!
//! The runtime calls [`Machine::step`] with every event and the current
//! [`Instant`] (CLOCK_MONOTONIC; the wall clock is never read, FLT-T01), then
//! performs the returned [`Action`]s in order, and sleeps until
//! [`Machine::next_deadline`].
//!
//! Differences from Piranha, all deliberate:
//!
//! * **No startup race.** The primary takes over as soon as it hears the
//!   backup "stopped" (or after `deadtime` of silence). The backup takes over
//!   on a "stopped" heartbeat only when (a) the primary was seen active and
//!   now says stopped (it relinquished: link or child failure, or a legacy
//!   clean stop), (b) the primary says "leaving", or (c) the primary has
//!   said "stopped" without interruption for a grace period of
//!   `deadtime + 2 * keepalive` (longer than it takes a willing primary to
//!   claim: it claims after at most `deadtime` of silence, and announces the
//!   claim at once), or (d) the primary's signed heartbeat carries the
//!   "unwilling" flag (link or child failure: it will not claim, so the
//!   grace period would only leave the VIPs unserved; Piranha's 4-byte
//!   heartbeats cannot carry the flag, so with them (c) applies). So a
//!   backup never wins a simultaneous start against a willing primary.
//! * **Leaving.** A clean stop of the active router sends "leaving" (legacy:
//!   "stopped", which the partner that saw us active treats as rule (a)),
//!   relinquishes, and sends "leaving" again at the exit. With a willing
//!   partner it hands over make-before-break ([`Action::HandOver`]): the
//!   VIPs stay up until the partner announces them.
//! * **Immediate announcements.** The first heartbeat goes out at start, and
//!   one goes out the moment we claim, so the partner learns of it within one
//!   network delay instead of one keepalive.
//! * **Dual-active.** The backup yields (after one more "running"); the
//!   primary re-announces once per dual-active episode (not once per packet,
//!   which would be an ARP storm during an asymmetric partition).

use crate::codec::{PeerState, Role};
use std::time::{Duration, Instant};

/// The two timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Send interval.
    pub keepalive: Duration,
    /// Silence after which the partner is dead.
    pub deadtime: Duration,
}

impl Timing {
    /// How long a backup waits on a primary that keeps saying "stopped".
    pub fn grace(&self) -> Duration {
        self.deadtime + self.keepalive * 2
    }
}

/// An input to the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A wake-up (timer); deadlines are checked on every event anyway.
    Tick,
    /// A valid heartbeat from the partner (on channel 0).
    Heartbeat(PeerState),
    /// A valid heartbeat on channel `n` (0 public, 1 private). Transitions
    /// are judged per channel, so a datagram overtaken on the other path
    /// (stale "stopped" after a fresh "running") is not mistaken for one.
    HeartbeatOn(usize, PeerState),
    /// A valid heartbeat on a channel with the sender's "unwilling" flag
    /// (signed heartbeats carry it; Piranha's never do).
    Heard(Heard),
    /// Our lvsd exited; the text is the log line
    /// (`Child process <pid> exited with status <n>`).
    ChildExited(String),
    /// The takeover could not complete (lvsd not ready in time, ...).
    TakeoverFailed(String),
    /// Result of a link check: `down` lists the log lines of the links that
    /// are down (`Primary NIC: link down`); empty means all up.
    Links(Vec<String>),
    /// `--forceactive` at start.
    ForceActive,
    /// SIGTERM or SIGINT.
    Terminate(i32),
    /// FOS: a valid "stop me" on channel `n`: the partner took over after
    /// our service failed and asks us to become inactive.
    StopMe(usize),
    /// FOS: the partner's services failed (our monitor exited and our
    /// network looks fine); the text is the log line. Take over and send
    /// "stop me" until the partner reports stopped.
    PartnerServiceFailed(String),
}

/// A heartbeat as the machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    /// 0 public, 1 private.
    pub channel: usize,
    /// The state the partner announces.
    pub state: PeerState,
    /// The partner cannot take over (its link or its lvsd failed).
    pub unwilling: bool,
}

/// An output of the machine, to be performed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a heartbeat announcing this state.
    Send(PeerState),
    /// Log at info level.
    Log(String),
    /// Log only in verbose mode (`DEBUG -- ...`).
    Debug(String),
    /// Run the takeover sequence (docs/ARCHITECTURE.md, "Takeover and
    /// relinquish").
    Takeover,
    /// Run the relinquish sequence (same section).
    Relinquish,
    /// A planned stop with a willing partner: keep the VIPs until the
    /// partner announces them (at most `deadtime`), then relinquish.
    HandOver,
    /// Re-run active_cmd, re-add the VIPs and re-send gratuitous ARPs.
    Reannounce,
    /// Finish: wait for the sequences in flight, send "leaving", exit 0.
    Exit,
}

/// What we know of the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Partner {
    /// Its last announced state; `None` = never heard or declared dead.
    pub state: Option<PeerState>,
    /// When we last heard it.
    pub last_heard: Option<Instant>,
    /// Since when it has been saying "stopped" without interruption.
    pub stopped_since: Option<Instant>,
    /// Its last heartbeat said it cannot take over.
    pub unwilling: bool,
}

/// The role state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    role: Role,
    timing: Timing,
    sends: bool,
    active: bool,
    link_fail: bool,
    child_fail: bool,
    terminating: bool,
    send_now: bool,
    next_send: Instant,
    need: Instant,
    partner: Partner,
    per_channel: [Option<PeerState>; MAX_CHANNELS],
    stopped_at: Option<Instant>,
    leaving: Option<LeavingRepeats>,
    forcing: bool,
}

/// The repeats of "leaving" after a clean stop: one datagram can be lost
/// (a queue overflow, a busy partner), and without it the partner waits for
/// the deadtime. They stop when the partner answers "running" (it claimed:
/// every pulse, and Piranha, announces its own state, so this
/// acknowledgement needs nothing new on the wire) or once `deadtime` has
/// passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LeavingRepeats {
    next: Instant,
    gap: Duration,
    until: Instant,
}

/// The pause before the first repeat of "leaving"; each later pause is
/// twice the one before (0, 5, 15, 35, 75 ms, ... until `deadtime`).
pub const LEAVING_FIRST_REPEAT: Duration = Duration::from_millis(5);

/// Heartbeat channels tracked separately.
pub const MAX_CHANNELS: usize = 4;

impl Machine {
    /// A machine starting at `now`. `sends_heartbeats` is `backup_active`.
    pub fn new(role: Role, timing: Timing, sends_heartbeats: bool, now: Instant) -> Machine {
        Machine {
            role,
            timing,
            sends: sends_heartbeats,
            active: false,
            link_fail: false,
            child_fail: false,
            terminating: false,
            send_now: false,
            next_send: now,
            need: now + timing.deadtime,
            partner: Partner::default(),
            per_channel: [None; MAX_CHANNELS],
            stopped_at: None,
            leaving: None,
            forcing: false,
        }
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether we hold (or are taking) the VIPs.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// What we announce.
    pub fn own_state(&self) -> PeerState {
        if self.terminating {
            PeerState::Leaving
        } else if self.active {
            PeerState::Active
        } else {
            PeerState::Inactive
        }
    }

    /// Link or child failure: we will not take over.
    pub fn unwilling(&self) -> bool {
        self.link_fail || self.child_fail
    }

    /// LINKFAIL.
    pub fn link_fail(&self) -> bool {
        self.link_fail
    }

    /// CHILDFAIL.
    pub fn child_fail(&self) -> bool {
        self.child_fail
    }

    /// FOS: we took over from a partner whose services failed and ask it
    /// to stop ("stop me" instead of "running") until it reports stopped.
    /// Meanwhile its "running" does not make us yield.
    pub fn forcing(&self) -> bool {
        self.forcing
    }

    /// The partner view.
    pub fn partner(&self) -> Partner {
        self.partner
    }

    /// The timers in force.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// New timers (reload); deadlines already armed are kept.
    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
    }

    /// Whether "leaving" is still being repeated (a clean stop not yet
    /// acknowledged by the partner's "running").
    pub fn repeating_leaving(&self) -> bool {
        self.leaving.is_some()
    }

    /// When the runtime must call `step(Event::Tick, ..)` next.
    pub fn next_deadline(&self) -> Instant {
        if let Some(at) = self.stopped_at {
            // Stopping: only the repeats of "leaving" are timed.
            return self
                .leaving
                .map(|r| r.next)
                .unwrap_or(at + Duration::from_secs(3600));
        }
        if self.sends {
            self.next_send.min(self.need)
        } else {
            self.need
        }
    }

    fn willing(&self) -> bool {
        !self.link_fail && !self.child_fail && !self.terminating
    }

    fn activate(&mut self, out: &mut Vec<Action>, why: &str) {
        out.push(Action::Log(why.to_string()));
        self.active = true;
        out.push(Action::Takeover);
        self.send_now = true;
    }

    fn deactivate(&mut self, out: &mut Vec<Action>) {
        self.forcing = false;
        if self.active {
            self.active = false;
            out.push(Action::Relinquish);
        }
    }

    /// Feeds one event at time `now`; returns the actions to perform.
    pub fn step(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Tick => {}
            Event::Heartbeat(state) => self.on_heartbeat(
                Heard {
                    channel: 0,
                    state,
                    unwilling: false,
                },
                now,
                &mut out,
            ),
            Event::HeartbeatOn(channel, state) => self.on_heartbeat(
                Heard {
                    channel,
                    state,
                    unwilling: false,
                },
                now,
                &mut out,
            ),
            Event::Heard(h) => self.on_heartbeat(h, now, &mut out),
            Event::StopMe(channel) => self.on_stop_me(channel, now, &mut out),
            Event::PartnerServiceFailed(line) => {
                if !self.active && self.willing() {
                    out.push(Action::Log(line));
                    self.forcing = true;
                    self.activate(&mut out, "partner's services failed: activating fos");
                }
            }
            Event::ChildExited(line) => {
                out.push(Action::Log(line));
                self.child_fail = true;
                self.deactivate(&mut out);
            }
            Event::TakeoverFailed(line) => {
                out.push(Action::Log(line));
                self.child_fail = true;
                self.deactivate(&mut out);
            }
            Event::Links(down) => {
                if !down.is_empty() && !self.link_fail {
                    out.extend(down.into_iter().map(Action::Log));
                    out.push(Action::Log("Local NIC link failure: Pulse disabled".into()));
                    self.link_fail = true;
                    if self.active {
                        out.push(Action::Log("local link failure: deactivating LVS".into()));
                        self.deactivate(&mut out);
                    }
                } else if down.is_empty() && self.link_fail {
                    self.link_fail = false;
                    out.push(Action::Log(
                        "Local NIC link(s) restored: Pulse enabled".into(),
                    ));
                }
            }
            Event::ForceActive => {
                if !self.active && !self.terminating {
                    self.activate(&mut out, "Forced active on startup: activating lvs");
                }
            }
            Event::Terminate(sig) => {
                if !self.terminating {
                    out.push(Action::Log(format!("Terminating due to signal {sig}")));
                    self.terminating = true;
                    self.stopped_at = Some(now);
                    // "leaving" first, so the partner starts its takeover
                    // while we take our VIPs down instead of after; then
                    // repeated until the partner answers (and sent again
                    // at the exit).
                    if self.active && self.sends {
                        out.push(Action::Send(self.own_state()));
                        self.leaving = Some(LeavingRepeats {
                            next: now + LEAVING_FIRST_REPEAT,
                            gap: LEAVING_FIRST_REPEAT,
                            until: now + self.timing.deadtime,
                        });
                    }
                    let partner_takes_over =
                        self.partner.state == Some(PeerState::Inactive) && !self.partner.unwilling;
                    if self.active && self.sends && partner_takes_over {
                        self.active = false;
                        out.push(Action::HandOver);
                    } else {
                        self.deactivate(&mut out);
                    }
                    out.push(Action::Exit);
                }
                return out;
            }
        }
        self.check_timers(now, &mut out);
        out
    }

    fn check_timers(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.terminating {
            self.repeat_leaving(now, out);
            return;
        }
        if now >= self.need {
            self.forcing = false;
            self.partner.state = None;
            self.partner.stopped_since = None;
            self.partner.unwilling = false;
            self.per_channel = [None; MAX_CHANNELS];
            if !self.active && self.willing() {
                self.activate(out, "partner dead: activating lvs");
            }
            self.need = now + self.timing.deadtime;
        }
        let send_now = std::mem::take(&mut self.send_now);
        if self.sends && (send_now || now >= self.next_send) {
            out.push(Action::Debug("DEBUG -- Sending heartbeat...".into()));
            out.push(Action::Send(self.own_state()));
            self.next_send += self.timing.keepalive;
            if send_now || self.next_send <= now {
                self.next_send = now + self.timing.keepalive;
            }
        }
    }

    fn repeat_leaving(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(r) = self.leaving.as_mut() else {
            return;
        };
        if now < r.next {
            return;
        }
        if now >= r.until {
            self.leaving = None;
            return;
        }
        out.push(Action::Send(PeerState::Leaving));
        r.gap *= 2;
        r.next = now + r.gap;
    }

    fn on_heartbeat(&mut self, heard: Heard, now: Instant, out: &mut Vec<Action>) {
        let Heard {
            channel,
            state,
            unwilling,
        } = heard;
        let ch = channel.min(MAX_CHANNELS - 1);
        out.push(Action::Debug(
            "DEBUG -- Received Heartbeat from partner".into(),
        ));
        let prev = self.partner.state;
        let was_unwilling = std::mem::replace(&mut self.partner.unwilling, unwilling);
        if unwilling && !was_unwilling {
            out.push(Action::Log(
                "partner reports a link or child failure: it will not take over".into(),
            ));
        }
        let prev_here = self.per_channel[ch].replace(state);
        self.need = now + self.timing.deadtime;
        self.partner.state = Some(state);
        self.partner.last_heard = Some(now);
        if state != PeerState::Active {
            // the partner let go: no more "stop me"
            self.forcing = false;
        }
        if state == PeerState::Inactive {
            self.partner.stopped_since.get_or_insert(now);
        } else {
            self.partner.stopped_since = None;
        }
        if self.terminating {
            if state == PeerState::Active && self.leaving.take().is_some() {
                out.push(Action::Debug(
                    "DEBUG -- partner active: leaving acknowledged".into(),
                ));
            }
            return;
        }
        match state {
            PeerState::Active => {
                self.child_fail = false;
                if self.active && self.forcing {
                    // FOS: it has not heard our "stop me" yet
                } else if self.active {
                    match self.role {
                        Role::Backup => {
                            if self.sends {
                                out.push(Action::Send(PeerState::Active));
                            }
                            out.push(Action::Log("partner active: deactivating LVS".into()));
                            self.deactivate(out);
                        }
                        Role::Master => {
                            if prev != Some(PeerState::Active) {
                                out.push(Action::Log("partner active: resending arps".into()));
                                out.push(Action::Reannounce);
                            }
                        }
                    }
                }
            }
            PeerState::Leaving => {
                if !self.active && self.willing() {
                    self.activate(out, "partner leaving: activating lvs");
                }
            }
            PeerState::Inactive => {
                if self.active || !self.willing() {
                    return;
                }
                match self.role {
                    Role::Master => self.activate(out, "backup inactive: activating lvs"),
                    Role::Backup => {
                        let was_active =
                            matches!(prev_here, Some(PeerState::Active | PeerState::Leaving));
                        let stopped_long = self
                            .partner
                            .stopped_since
                            .is_some_and(|t| now.duration_since(t) >= self.timing.grace());
                        // The grace period only guards against a primary
                        // that is still starting up and will claim; one that
                        // says it is unwilling will not, so waiting for it
                        // would only leave the VIPs unserved.
                        if was_active || stopped_long || unwilling {
                            self.activate(out, "primary inactive: activating lvs");
                        }
                    }
                }
            }
        }
    }
}

impl Machine {
    /// FOS "stop me": a heartbeat from an active partner that asks us to let
    /// go (it took over after our service failed).
    fn on_stop_me(&mut self, channel: usize, now: Instant, out: &mut Vec<Action>) {
        let ch = channel.min(MAX_CHANNELS - 1);
        self.per_channel[ch] = Some(PeerState::Active);
        self.need = now + self.timing.deadtime;
        self.partner.state = Some(PeerState::Active);
        self.partner.last_heard = Some(now);
        self.partner.stopped_since = None;
        self.partner.unwilling = false;
        if self.terminating {
            self.leaving = None;
            return;
        }
        self.child_fail = false;
        if self.active {
            out.push(Action::Log(
                "partner took over our failed services: deactivating fos".into(),
            ));
            self.deactivate(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: f64, d: f64) -> Timing {
        Timing {
            keepalive: Duration::from_secs_f64(k),
            deadtime: Duration::from_secs_f64(d),
        }
    }

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    fn logs(a: &[Action]) -> Vec<String> {
        a.iter()
            .filter_map(|x| match x {
                Action::Log(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    fn has(a: &[Action], want: &Action) -> bool {
        a.contains(want)
    }

    // ---- Piranha's state table (docs/ARCHITECTURE.md), row by row ----

    #[test]
    fn row_send_timer() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        // first heartbeat at start (deviation: Piranha waited one keepalive)
        let a = m.step(Event::Tick, t0);
        assert!(has(&a, &Action::Send(PeerState::Inactive)));
        assert_eq!(m.next_deadline(), t0 + ms(2000));
        let a = m.step(Event::Tick, t0 + ms(1999));
        assert!(!a.iter().any(|x| matches!(x, Action::Send(_))));
        let a = m.step(Event::Tick, t0 + ms(2000));
        assert!(has(&a, &Action::Send(PeerState::Inactive)));
    }

    #[test]
    fn row_need_timer_expires_inactive() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Backup, t(2.0, 5.0), true, t0);
        assert!(logs(&m.step(Event::Tick, t0 + ms(4999))).is_empty());
        let a = m.step(Event::Tick, t0 + ms(5000));
        assert_eq!(logs(&a), vec!["partner dead: activating lvs"]);
        assert!(has(&a, &Action::Takeover));
        assert!(m.is_active());
    }

    #[test]
    fn row_need_timer_expires_otherwise() {
        let t0 = Instant::now();
        // already active: nothing
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ForceActive, t0);
        let a = m.step(Event::Tick, t0 + ms(5000));
        assert!(!has(&a, &Action::Takeover));
        // LINKFAIL: nothing
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::Links(vec!["Primary NIC: link down".into()]), t0);
        let a = m.step(Event::Tick, t0 + ms(5000));
        assert!(!has(&a, &Action::Takeover));
        // CHILDFAIL: nothing
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(
            Event::ChildExited("Child process 9 exited with status 1".into()),
            t0,
        );
        let a = m.step(Event::Tick, t0 + ms(5000));
        assert!(!has(&a, &Action::Takeover));
    }

    #[test]
    fn row_valid_heartbeat_rearms() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Backup, t(2.0, 5.0), false, t0);
        m.step(Event::Heartbeat(PeerState::Active), t0 + ms(4000));
        assert_eq!(m.next_deadline(), t0 + ms(9000));
        assert!(!has(&m.step(Event::Tick, t0 + ms(8999)), &Action::Takeover));
        assert!(has(&m.step(Event::Tick, t0 + ms(9000)), &Action::Takeover));
    }

    #[test]
    fn row_running_clears_childfail() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ChildExited("x".into()), t0);
        assert!(m.child_fail());
        m.step(Event::Heartbeat(PeerState::Active), t0 + ms(1));
        assert!(!m.child_fail());
    }

    #[test]
    fn row_running_active_backup_yields() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Backup, t(2.0, 5.0), true, t0);
        m.step(Event::Tick, t0 + ms(5000));
        assert!(m.is_active());
        let a = m.step(Event::Heartbeat(PeerState::Active), t0 + ms(6000));
        assert_eq!(
            a.iter()
                .filter(|x| !matches!(x, Action::Debug(_)))
                .cloned()
                .collect::<Vec<_>>(),
            vec![
                Action::Send(PeerState::Active),
                Action::Log("partner active: deactivating LVS".into()),
                Action::Relinquish
            ]
        );
        assert!(!m.is_active());
        assert_eq!(m.own_state(), PeerState::Inactive);
    }

    #[test]
    fn row_running_active_master_reannounces_once_per_episode() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::Tick, t0 + ms(5000));
        assert!(m.is_active());
        let a = m.step(Event::Heartbeat(PeerState::Active), t0 + ms(6000));
        assert_eq!(logs(&a), vec!["partner active: resending arps"]);
        assert!(has(&a, &Action::Reannounce));
        let a = m.step(Event::Heartbeat(PeerState::Active), t0 + ms(7000));
        assert!(!has(&a, &Action::Reannounce));
        m.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(8000));
        let a = m.step(Event::Heartbeat(PeerState::Active), t0 + ms(9000));
        assert!(has(&a, &Action::Reannounce));
        assert!(m.is_active());
    }

    #[test]
    fn row_running_inactive_no_failback() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        for i in 0..10 {
            let a = m.step(Event::Heartbeat(PeerState::Active), t0 + ms(i * 2000));
            assert!(!has(&a, &Action::Takeover));
            m.step(Event::Tick, t0 + ms(i * 2000 + 1));
        }
        assert!(!m.is_active());
    }

    #[test]
    fn row_stopped_master_takes_over() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        let a = m.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(10));
        assert_eq!(logs(&a), vec!["backup inactive: activating lvs"]);
        assert_eq!(
            a.iter()
                .filter(|x| !matches!(x, Action::Debug(_) | Action::Log(_)))
                .cloned()
                .collect::<Vec<_>>(),
            vec![Action::Takeover, Action::Send(PeerState::Active)]
        );
    }

    #[test]
    fn row_stopped_master_unwilling() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::Links(vec!["Primary NIC: link down".into()]), t0);
        assert!(!has(
            &m.step(Event::Heartbeat(PeerState::Inactive), t0),
            &Action::Takeover
        ));
    }

    #[test]
    fn row_stopped_backup_after_primary_was_active() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Backup, t(2.0, 5.0), true, t0);
        m.step(Event::Heartbeat(PeerState::Active), t0 + ms(100));
        let a = m.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(2100));
        assert_eq!(logs(&a), vec!["primary inactive: activating lvs"]);
        assert!(m.is_active());
    }

    #[test]
    fn row_stopped_backup_after_grace() {
        let t0 = Instant::now();
        let tm = t(2.0, 5.0);
        let mut m = Machine::new(Role::Backup, tm, true, t0);
        let mut now = t0;
        // the primary keeps saying stopped (it is unwilling)
        while now < t0 + tm.grace() {
            let a = m.step(Event::Heartbeat(PeerState::Inactive), now);
            assert!(!has(&a, &Action::Takeover), "{:?}", now - t0);
            now += tm.keepalive;
        }
        let a = m.step(Event::Heartbeat(PeerState::Inactive), now);
        assert_eq!(logs(&a), vec!["primary inactive: activating lvs"]);
    }

    #[test]
    fn row_leaving_takes_over_at_once() {
        let t0 = Instant::now();
        for role in [Role::Master, Role::Backup] {
            let mut m = Machine::new(role, t(2.0, 5.0), true, t0);
            m.step(Event::Heartbeat(PeerState::Active), t0);
            let a = m.step(Event::Heartbeat(PeerState::Leaving), t0 + ms(10));
            assert_eq!(logs(&a), vec!["partner leaving: activating lvs"]);
            assert!(m.is_active());
        }
    }

    #[test]
    fn row_child_exit() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ForceActive, t0);
        let a = m.step(
            Event::ChildExited("Child process 77 exited with status 3".into()),
            t0 + ms(1),
        );
        assert_eq!(logs(&a), vec!["Child process 77 exited with status 3"]);
        assert!(has(&a, &Action::Relinquish));
        assert!(!m.is_active() && m.child_fail());
        // stays inactive, announces stopped
        let a = m.step(Event::Tick, t0 + ms(20000));
        assert!(has(&a, &Action::Send(PeerState::Inactive)));
        assert!(!m.is_active());
        // a backup "stopped" does not make it take over while CHILDFAIL
        assert!(!has(
            &m.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(20001)),
            &Action::Takeover
        ));
        // the partner answers "running": CHILDFAIL cleared, still no failback
        m.step(Event::Heartbeat(PeerState::Active), t0 + ms(20002));
        assert!(!m.child_fail() && !m.is_active());
    }

    #[test]
    fn row_takeover_failed() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ForceActive, t0);
        let a = m.step(
            Event::TakeoverFailed("lvsd did not report ready".into()),
            t0,
        );
        assert!(has(&a, &Action::Relinquish));
        assert!(m.child_fail());
    }

    #[test]
    fn row_link_failure_and_restore() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ForceActive, t0);
        let a = m.step(Event::Links(vec!["Primary NIC: link down".into()]), t0);
        assert_eq!(
            logs(&a),
            vec![
                "Primary NIC: link down",
                "Local NIC link failure: Pulse disabled",
                "local link failure: deactivating LVS"
            ]
        );
        assert!(has(&a, &Action::Relinquish));
        // repeated: logged once
        assert!(logs(&m.step(Event::Links(vec!["Primary NIC: link down".into()]), t0)).is_empty());
        let a = m.step(Event::Links(vec![]), t0);
        assert_eq!(logs(&a), vec!["Local NIC link(s) restored: Pulse enabled"]);
        assert!(!m.link_fail());
    }

    #[test]
    fn terminate_hands_over_to_a_willing_partner() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ForceActive, t0);
        m.step(Event::Heartbeat(PeerState::Inactive), t0);
        let a = m.step(Event::Terminate(15), t0);
        assert_eq!(
            a,
            vec![
                Action::Log("Terminating due to signal 15".into()),
                Action::Send(PeerState::Leaving),
                Action::HandOver,
                Action::Exit
            ]
        );
        assert!(!m.is_active());
    }

    #[test]
    fn row_terminate() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), true, t0);
        m.step(Event::ForceActive, t0);
        let a = m.step(Event::Terminate(15), t0);
        assert_eq!(
            a,
            vec![
                Action::Log("Terminating due to signal 15".into()),
                Action::Send(PeerState::Leaving),
                Action::Relinquish,
                Action::Exit
            ]
        );
        assert_eq!(m.own_state(), PeerState::Leaving);
        // nothing more happens
        assert!(m
            .step(Event::Tick, t0 + ms(100000))
            .iter()
            .all(|x| !matches!(x, Action::Takeover)));
        assert!(m.step(Event::Terminate(2), t0).is_empty());
    }

    /// I18: "leaving" is repeated (0, 5, 15, 35, 75, 155 ms at deadtime
    /// 0.3 s) until the partner's "running" acknowledges it.
    #[test]
    fn leaving_is_repeated_until_acknowledged() {
        let t0 = Instant::now();
        let sends = |a: &[Action]| {
            a.iter()
                .filter(|x| **x == Action::Send(PeerState::Leaving))
                .count()
        };
        let mut m = Machine::new(Role::Master, t(0.1, 0.3), true, t0);
        m.step(Event::ForceActive, t0);
        m.step(Event::Heartbeat(PeerState::Inactive), t0);
        let a = m.step(Event::Terminate(15), t0);
        assert_eq!(sends(&a), 1);
        assert!(m.repeating_leaving());
        let mut at = Vec::new();
        let mut now = t0;
        while now < t0 + ms(400) {
            if sends(&m.step(Event::Tick, now)) > 0 {
                at.push((now - t0).as_millis());
            }
            now += ms(1);
        }
        assert_eq!(at, vec![5, 15, 35, 75, 155]);
        assert!(!m.repeating_leaving());
        assert_eq!(m.next_deadline(), t0 + Duration::from_secs(3600));

        // the partner claims: no more repeats
        let mut m = Machine::new(Role::Backup, t(0.1, 0.3), true, t0);
        m.step(Event::Tick, t0 + ms(300));
        assert!(m.is_active());
        m.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(301));
        m.step(Event::Terminate(15), t0 + ms(302));
        assert_eq!(m.next_deadline(), t0 + ms(307));
        assert_eq!(sends(&m.step(Event::Tick, t0 + ms(307))), 1);
        let a = m.step(Event::Heartbeat(PeerState::Active), t0 + ms(310));
        assert!(!a
            .iter()
            .any(|x| matches!(x, Action::Takeover | Action::Send(_))));
        assert!(!m.repeating_leaving());
        assert_eq!(sends(&m.step(Event::Tick, t0 + ms(400))), 0);

        // an inactive router stopping has nothing to hand over
        let mut m = Machine::new(Role::Backup, t(0.1, 0.3), true, t0);
        m.step(Event::Heartbeat(PeerState::Active), t0);
        m.step(Event::Terminate(15), t0);
        assert!(!m.repeating_leaving());
    }

    /// Spec 2.11: the inactive router whose monitor saw the partner's
    /// service fail takes over and forces the partner out: its "running"
    /// does not make us yield (even as backup) until it says stopped; the
    /// partner relinquishes on "stop me" without marking a child failure.
    #[test]
    fn fos_service_failure_forces_the_partner_out() {
        let t0 = Instant::now();
        let mut b = Machine::new(Role::Backup, t(1.0, 3.0), true, t0);
        let mut m = Machine::new(Role::Master, t(1.0, 3.0), true, t0);
        m.step(Event::ForceActive, t0);
        b.step(Event::Heartbeat(PeerState::Active), t0);
        assert!(!b.forcing());
        let a = b.step(
            Event::PartnerServiceFailed(
                "seems like a remote network fault; performing service failover".into(),
            ),
            t0 + ms(10),
        );
        assert_eq!(
            logs(&a),
            vec![
                "seems like a remote network fault; performing service failover",
                "partner's services failed: activating fos"
            ]
        );
        assert!(has(&a, &Action::Takeover) && has(&a, &Action::Send(PeerState::Active)));
        assert!(b.is_active() && b.forcing());
        // the master's "running" crossed our "stop me": we do not yield
        let a = b.step(Event::Heartbeat(PeerState::Active), t0 + ms(20));
        assert!(!has(&a, &Action::Relinquish), "{a:?}");
        assert!(b.is_active() && b.forcing());
        // the master hears "stop me": it relinquishes, stays willing
        let a = m.step(Event::StopMe(0), t0 + ms(20));
        assert_eq!(
            logs(&a),
            vec!["partner took over our failed services: deactivating fos"]
        );
        assert!(has(&a, &Action::Relinquish));
        assert!(!m.is_active() && !m.child_fail() && !m.unwilling());
        assert_eq!(m.partner().state, Some(PeerState::Active));
        // ... says stopped: we stop forcing, and normal rules are back
        b.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(30));
        assert!(b.is_active() && !b.forcing());
        // "stop me" while inactive changes nothing; nor does a second
        // failure report while active
        assert!(!has(
            &m.step(Event::StopMe(0), t0 + ms(40)),
            &Action::Takeover
        ));
        let a = b.step(Event::PartnerServiceFailed("x".into()), t0 + ms(40));
        assert!(a
            .iter()
            .all(|x| !matches!(x, Action::Takeover | Action::Log(_))));
        // unwilling routers do not take over on a failure report
        let mut u = Machine::new(Role::Backup, t(1.0, 3.0), true, t0);
        u.step(Event::Links(vec!["Primary NIC: link down".into()]), t0);
        assert!(!has(
            &u.step(Event::PartnerServiceFailed("x".into()), t0),
            &Action::Takeover
        ));
        // forcing ends when the partner goes silent
        let mut b = Machine::new(Role::Backup, t(1.0, 3.0), true, t0);
        b.step(Event::PartnerServiceFailed("x".into()), t0);
        assert!(b.forcing());
        b.step(Event::Tick, t0 + ms(3001));
        assert!(!b.forcing() && b.is_active());
    }

    fn heard(state: PeerState, unwilling: bool) -> Event {
        Event::Heard(Heard {
            channel: 0,
            state,
            unwilling,
        })
    }

    /// Spec 2.5 with the flag: a primary that says "stopped" and unwilling
    /// (its link or lvsd failed, possibly before it was ever seen active) is
    /// taken over at once, without the start-up grace period; a willing one
    /// still gets the grace period (no start-up race).
    #[test]
    fn unwilling_primary_is_taken_over_at_once() {
        let tm = t(1.0, 3.0);
        let t0 = Instant::now();
        let mut b = Machine::new(Role::Backup, tm, true, t0);
        let a = b.step(heard(PeerState::Inactive, false), t0 + ms(10));
        assert!(!has(&a, &Action::Takeover));
        assert!(!b.partner().unwilling);
        let a = b.step(heard(PeerState::Inactive, true), t0 + ms(20));
        assert_eq!(
            logs(&a),
            vec![
                "partner reports a link or child failure: it will not take over",
                "primary inactive: activating lvs"
            ]
        );
        assert!(has(&a, &Action::Takeover) && b.is_active());
        assert!(b.partner().unwilling);
        // the same stream without the flag waits for the grace period
        let mut b = Machine::new(Role::Backup, tm, true, t0);
        let mut now = t0;
        while now < t0 + tm.grace() - ms(10) {
            assert!(!has(
                &b.step(heard(PeerState::Inactive, false), now),
                &Action::Takeover
            ));
            now += ms(500);
        }
    }

    /// An unwilling backup never makes the primary wait, and the flag never
    /// makes an unwilling node itself take over.
    #[test]
    fn unwilling_flag_does_not_override_our_own_failure() {
        let t0 = Instant::now();
        let mut b = Machine::new(Role::Backup, t(1.0, 3.0), true, t0);
        b.step(Event::Links(vec!["Primary NIC: link down".into()]), t0);
        let a = b.step(heard(PeerState::Inactive, true), t0 + ms(5));
        assert!(!has(&a, &Action::Takeover));
        let mut m = Machine::new(Role::Master, t(1.0, 3.0), true, t0);
        let a = m.step(heard(PeerState::Inactive, true), t0 + ms(5));
        assert!(has(&a, &Action::Takeover));
        // the flag is logged once per change, cleared when the partner recovers
        let a = m.step(heard(PeerState::Inactive, true), t0 + ms(6));
        assert!(logs(&a).is_empty());
        m.step(heard(PeerState::Inactive, false), t0 + ms(7));
        assert!(!m.partner().unwilling);
    }

    /// Simulation: the primary's lvsd fails before the backup ever saw it
    /// active (it never became ready): with the flag the backup serves within
    /// one keepalive instead of deadtime + 2 keepalives.
    #[test]
    fn unwilling_primary_after_failed_takeover() {
        let tm = t(1.0, 3.0);
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, tm, true, t0);
        let mut b = Machine::new(Role::Backup, tm, true, t0);
        // the primary claims, but its takeover fails at once, before its
        // "running" reached the backup
        m.step(Event::ForceActive, t0);
        m.step(
            Event::TakeoverFailed("lvsd did not report ready".into()),
            t0,
        );
        assert!(m.unwilling() && !m.is_active());
        let mut now = t0;
        let mut took = None;
        while now < t0 + ms(10_000) && took.is_none() {
            for a in m.step(Event::Tick, now) {
                if let Action::Send(st) = a {
                    let ev = heard(st, m.unwilling());
                    if has(&b.step(ev, now + ms(1)), &Action::Takeover) {
                        took = Some(now + ms(1) - t0);
                    }
                }
            }
            now += ms(10);
        }
        let took = took.expect("backup never took over");
        assert!(took <= tm.keepalive + ms(1), "{took:?}");
    }

    #[test]
    fn backup_active_zero_master_sends_nothing() {
        let t0 = Instant::now();
        let mut m = Machine::new(Role::Master, t(2.0, 5.0), false, t0);
        let a = m.step(Event::Tick, t0);
        assert!(!a.iter().any(|x| matches!(x, Action::Send(_))));
        let a = m.step(Event::Tick, t0 + ms(5000));
        assert_eq!(logs(&a), vec!["partner dead: activating lvs"]);
        assert!(!a.iter().any(|x| matches!(x, Action::Send(_))));
    }

    // ---- simulation of two machines over a network ----

    /// Two machines exchanging heartbeats with a fixed one-way delay; returns
    /// the timeline of (time, master active, backup active).
    struct Sim {
        m: Machine,
        b: Machine,
        now: Instant,
        t0: Instant,
        delay: Duration,
        /// (arrival, to_master, state)
        wire: Vec<(Instant, bool, PeerState)>,
        link_up: bool,
        master_alive: bool,
        samples: Vec<(Duration, bool, bool)>,
    }

    impl Sim {
        fn new(tm: Timing, master_start: Duration, backup_start: Duration) -> Sim {
            let t0 = Instant::now();
            Sim {
                m: Machine::new(Role::Master, tm, true, t0 + master_start),
                b: Machine::new(Role::Backup, tm, true, t0 + backup_start),
                now: t0,
                t0,
                delay: ms(1),
                wire: Vec::new(),
                link_up: true,
                master_alive: true,
                samples: Vec::new(),
            }
        }

        fn apply(&mut self, from_master: bool, actions: Vec<Action>) {
            for a in actions {
                if let Action::Send(s) = a {
                    if self.link_up {
                        self.wire.push((self.now + self.delay, !from_master, s));
                    }
                }
            }
        }

        fn run_until(
            &mut self,
            end: Duration,
            step: Duration,
            master_start: Duration,
            backup_start: Duration,
        ) {
            while self.now < self.t0 + end {
                let rel = self.now - self.t0;
                let mut due: Vec<_> = Vec::new();
                self.wire.retain(|w| {
                    if w.0 <= self.now {
                        due.push(*w);
                        false
                    } else {
                        true
                    }
                });
                for (_, to_master, s) in due {
                    if to_master && self.master_alive && rel >= master_start {
                        let a = self.m.step(Event::Heartbeat(s), self.now);
                        self.apply(true, a);
                    } else if !to_master && rel >= backup_start {
                        let a = self.b.step(Event::Heartbeat(s), self.now);
                        self.apply(false, a);
                    }
                }
                if self.master_alive && rel >= master_start && self.now >= self.m.next_deadline() {
                    let a = self.m.step(Event::Tick, self.now);
                    self.apply(true, a);
                }
                if rel >= backup_start && self.now >= self.b.next_deadline() {
                    let a = self.b.step(Event::Tick, self.now);
                    self.apply(false, a);
                }
                self.samples.push((
                    rel,
                    self.master_alive && self.m.is_active(),
                    self.b.is_active(),
                ));
                self.now += step;
            }
        }
    }

    /// The backup never wins a simultaneous start, whatever the offset
    /// between the two starts within one keepalive, and the delay.
    #[test]
    fn startup_race_primary_always_wins() {
        for (k, d) in [(2.0, 5.0), (0.1, 0.3), (1.0, 3.0)] {
            let tm = t(k, d);
            for offset_ms in
                (0..=(k * 1000.0) as u64).step_by(((k * 1000.0) as u64 / 10).max(1) as usize)
            {
                for master_first in [true, false] {
                    let (ms_, bs) = if master_first {
                        (ms(0), ms(offset_ms))
                    } else {
                        (ms(offset_ms), ms(0))
                    };
                    let mut sim = Sim::new(tm, ms_, bs);
                    sim.delay = ms(2);
                    sim.run_until(Duration::from_secs_f64(d * 4.0), ms(1), ms_, bs);
                    assert!(
                        sim.samples.iter().all(|s| !s.2),
                        "backup activated: k={k} d={d} offset={offset_ms} master_first={master_first}"
                    );
                    assert!(
                        sim.m.is_active(),
                        "master not active k={k} d={d} offset={offset_ms}"
                    );
                }
            }
        }
    }

    /// Master killed: backup takes over within D (+ one tick); master
    /// restarts: no failback, never two actives.
    #[test]
    fn failover_and_restart_without_failback() {
        let tm = t(0.1, 0.3);
        let mut sim = Sim::new(tm, ms(0), ms(0));
        sim.run_until(ms(1000), ms(1), ms(0), ms(0));
        assert!(sim.m.is_active() && !sim.b.is_active());
        sim.master_alive = false;
        let killed = sim.now - sim.t0;
        sim.run_until(ms(2000), ms(1), ms(0), ms(0));
        let took = sim
            .samples
            .iter()
            .find(|s| s.0 > killed && s.2)
            .map(|s| s.0 - killed)
            .unwrap();
        assert!(took <= tm.deadtime + tm.keepalive, "{took:?}");
        // restart the master
        let restart = sim.now - sim.t0;
        sim.m = Machine::new(Role::Master, tm, true, sim.now);
        sim.master_alive = true;
        sim.run_until(ms(4000), ms(1), ms(0), ms(0));
        assert!(sim.b.is_active() && !sim.m.is_active());
        assert!(sim
            .samples
            .iter()
            .filter(|s| s.0 >= restart)
            .all(|s| !(s.1 && s.2)));
    }

    /// Partition and heal: both active during it; after heal exactly one
    /// (the master) within 2 keepalives.
    #[test]
    fn partition_heal() {
        let tm = t(0.1, 0.3);
        let mut sim = Sim::new(tm, ms(0), ms(0));
        sim.run_until(ms(1000), ms(1), ms(0), ms(0));
        sim.link_up = false;
        sim.run_until(ms(2000), ms(1), ms(0), ms(0));
        assert!(sim.m.is_active() && sim.b.is_active());
        sim.link_up = true;
        let heal = sim.now - sim.t0;
        sim.run_until(ms(3000), ms(1), ms(0), ms(0));
        let converged = sim
            .samples
            .iter()
            .filter(|s| s.0 >= heal)
            .find(|s| s.1 && !s.2)
            .map(|s| s.0 - heal)
            .unwrap();
        assert!(converged <= tm.keepalive * 2, "{converged:?}");
        assert!(sim
            .samples
            .iter()
            .filter(|s| s.0 >= heal + converged)
            .all(|s| s.1 && !s.2));
    }

    /// Clean stop: the partner takes over on "leaving", within the delay.
    #[test]
    fn leaving_handover() {
        let tm = t(1.0, 3.0);
        let mut sim = Sim::new(tm, ms(0), ms(0));
        sim.run_until(ms(5000), ms(1), ms(0), ms(0));
        assert!(sim.m.is_active());
        let a = sim.m.step(Event::Terminate(15), sim.now);
        assert!(a.contains(&Action::Exit));
        // the runtime sends "leaving" after relinquishing
        let a2 = vec![Action::Send(sim.m.own_state())];
        sim.apply(true, a2);
        sim.master_alive = false;
        let stop = sim.now - sim.t0;
        sim.run_until(ms(5100), ms(1), ms(0), ms(0));
        let took = sim
            .samples
            .iter()
            .find(|s| s.0 > stop && s.2)
            .map(|s| s.0 - stop)
            .unwrap();
        assert!(took <= ms(5), "{took:?}");
    }

    /// Two channels: a "stopped" overtaken on the private path by the
    /// "running" on the public one is not a relinquish; a real one (stopped
    /// after running on the same path) is.
    #[test]
    fn cross_channel_reordering_is_not_a_transition() {
        let t0 = Instant::now();
        let mut b = Machine::new(Role::Backup, t(0.1, 0.4), true, t0);
        b.step(Event::HeartbeatOn(0, PeerState::Inactive), t0);
        b.step(Event::HeartbeatOn(0, PeerState::Active), t0 + ms(5));
        let a = b.step(Event::HeartbeatOn(1, PeerState::Inactive), t0 + ms(6));
        assert!(!a.contains(&Action::Takeover));
        b.step(Event::HeartbeatOn(1, PeerState::Active), t0 + ms(7));
        assert!(!b.is_active());
        let a = b.step(Event::HeartbeatOn(1, PeerState::Inactive), t0 + ms(100));
        assert!(a.contains(&Action::Takeover));
    }

    /// Legacy clean stop: "stopped" from a partner that was active.
    #[test]
    fn legacy_leaving_as_stopped() {
        let t0 = Instant::now();
        let mut b = Machine::new(Role::Backup, t(2.0, 5.0), true, t0);
        b.step(Event::Heartbeat(PeerState::Active), t0 + ms(10));
        let a = b.step(Event::Heartbeat(PeerState::Inactive), t0 + ms(20));
        assert!(a.contains(&Action::Takeover));
    }

    /// FLT-T02: for K in 1..=60 s and D in K+1..=300 s, a dead partner is
    /// declared within D + K of its last heartbeat, and a live partner
    /// sending every K is never declared dead.
    #[test]
    fn flt_t02_exhaustive() {
        let t0 = Instant::now();
        for k in 1..=60u64 {
            for d in (k + 1)..=300 {
                let tm = Timing {
                    keepalive: Duration::from_secs(k),
                    deadtime: Duration::from_secs(d),
                };
                check_timing(tm, t0);
            }
        }
    }

    fn check_timing(tm: Timing, t0: Instant) {
        let mut m = Machine::new(Role::Backup, tm, true, t0);
        // live partner: a heartbeat every K for 3 deadtimes; wake at every
        // deadline in between
        let mut now = t0;
        let mut next_hb = t0;
        let end = t0 + tm.deadtime * 3;
        while now < end {
            if now >= next_hb {
                let a = m.step(Event::Heartbeat(PeerState::Active), now);
                assert!(!a.contains(&Action::Takeover));
                next_hb += tm.keepalive;
            }
            let a = m.step(Event::Tick, now);
            assert!(
                !a.contains(&Action::Takeover),
                "declared dead while alive: {tm:?}"
            );
            now = m.next_deadline().min(next_hb);
        }
        // partner dies: last heartbeat at `last`
        let last = next_hb - tm.keepalive;
        let mut declared = None;
        while declared.is_none() {
            let a = m.step(Event::Tick, now);
            if a.contains(&Action::Takeover) {
                declared = Some(now);
            }
            now = m.next_deadline();
            assert!(now <= last + tm.deadtime * 3, "never declared: {tm:?}");
        }
        let at = declared.unwrap_or(now);
        assert!(
            at <= last + tm.deadtime + tm.keepalive,
            "{tm:?}: {:?}",
            at - last
        );
        assert!(at >= last + tm.deadtime, "{tm:?}: too early");
    }

    proptest::proptest! {
        /// FLT-T02 with fractional timers (extension).
        #[test]
        fn flt_t02_fractional(k in 10u64..60_000, extra in 1u64..240_000) {
            let tm = Timing { keepalive: ms(k), deadtime: ms(k + extra) };
            check_timing(tm, Instant::now());
        }
    }
}
