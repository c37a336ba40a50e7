//! The nanny supervisor: which nanny processes run, for which groups of
//! virtual servers, and what a nanny's death does. Pure: events in,
//! actions out, on an injected monotonic clock.
//!
//! Each nanny lives in a *slot*, one per group of virtual servers that
//! share a check ([`crate::group`]). Slot ids outlive reloads: a group that
//! keeps its slot keeps its process, and gets a new job line only when its
//! checks changed. Every start of a process in a slot has a new
//! *generation*, so that what an earlier process of the slot said or did
//! (a late report, its exit) is recognised and ignored.
//!
//! A slot is starting (its process asked for), running, or waiting to be
//! restarted:
//!
//! | state | event | actions, next state |
//! |---|---|---|
//! | (new group) | [`Event::ReloadGroups`] | [`Action::Spawn`]; starting |
//! | starting | [`Event::Spawned`] | `create_monitor ...` lines (debug level for a restart); running |
//! | starting | [`Event::SpawnFailed`] | as a death |
//! | running | [`Event::Report`] | [`Action::Deliver`] (a line that is no report: logged) |
//! | running | [`Event::Exited`] | `hard_shutdown = 1`: [`Action::ShutDown`], every slot gone; else [`Action::ScheduleRestart`] at the backoff's time; waiting |
//! | waiting | [`Event::TimerFired`] (due) | [`Action::Spawn`]; starting |
//! | running | [`Event::ReloadGroups`], group kept, checks changed | [`Action::Send`] |
//! | waiting | [`Event::ReloadGroups`], group kept | new job kept for the restart |
//! | any | [`Event::ReloadGroups`], no group kept it | [`Action::Stop`] if running; slot gone |
//! | any | [`Event::Terminate`] | [`Action::ShutDown`], every slot gone |
//!
//! An event for another generation than the slot's, or for a slot that is
//! gone, changes nothing (a process spawned for a slot that is gone is
//! stopped). After [`Action::ShutDown`] every event is ignored.
//!
//! Backoff (`hard_shutdown = 0`, [`crate::backoff`]): 1 s doubling to
//! 60 s, back to 1 s after a minute of life, at most 7 restarts a minute;
//! the table entries of the group are kept meanwhile (lvsd's model keeps
//! the last reports). With `hard_shutdown = 1` any nanny death shuts lvsd
//! down (services removed, exit status 1), as Piranha did, so pulse fails
//! over to the backup router.
//!
//! [`drive`] performs a step's actions through [`Effects`] (the thin I/O
//! layer: processes, timers, the table, the log), feeding the result of
//! each spawn back as an event.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use daemon_kit::log::Level;
use nanny::protocol::{Job, Report};

use crate::backoff::Backoff;
use crate::group::{assign, Group};
use crate::health::UnreadableLine;

/// A slot's id (one per group of virtual servers; outlives reloads).
pub type SlotId = u64;
/// A process generation (one per start of a nanny, over all slots).
pub type Gen = u64;

/// An input to the supervisor.
#[derive(Debug)]
pub enum Event {
    /// The groups of a configuration just (re)loaded, and its
    /// `hard_shutdown`.
    ReloadGroups {
        /// The groups, in lvs.cf order.
        groups: Vec<Group>,
        /// `hard_shutdown = 1`.
        hard_shutdown: bool,
    },
    /// The nanny of `slot` asked for by [`Action::Spawn`] runs.
    Spawned {
        /// The slot.
        slot: SlotId,
        /// The generation of the spawn.
        gen: Gen,
        /// Its process id.
        pid: u32,
    },
    /// The nanny asked for by [`Action::Spawn`] could not be started.
    SpawnFailed {
        /// The slot.
        slot: SlotId,
        /// The generation of the spawn.
        gen: Gen,
        /// Why, in words.
        error: String,
    },
    /// A nanny process ended.
    Exited {
        /// The slot.
        slot: SlotId,
        /// Its generation.
        gen: Gen,
        /// How it ended, in words (`killed by signal 9`).
        status: String,
    },
    /// A line on a nanny's standard output.
    Report {
        /// The slot.
        slot: SlotId,
        /// The generation of the process that wrote it.
        gen: Gen,
        /// The report, or why the line is none.
        report: Result<Report, UnreadableLine>,
    },
    /// A time asked for with [`Action::ScheduleRestart`] has come (restarts
    /// that are due are made; an early or extra wake-up does nothing).
    TimerFired,
    /// SIGTERM or SIGINT (the signal's number).
    Terminate(i32),
}

/// Why lvsd shuts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A nanny died with `hard_shutdown = 1`.
    NannyDied,
    /// SIGTERM or SIGINT.
    Signal(i32),
}

impl Reason {
    /// lvsd's exit status: 1 after a nanny's death (pulse sees a failed
    /// child and fails over), 0 on a signal.
    pub fn exit_code(self) -> i32 {
        match self {
            Reason::NannyDied => 1,
            Reason::Signal(_) => 0,
        }
    }
}

/// An output of the supervisor, to be performed in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start a nanny for `slot` and send it `job` (with the kernel's
    /// weights, so that it resumes at them); answer with
    /// [`Event::Spawned`] or [`Event::SpawnFailed`].
    Spawn {
        /// The slot.
        slot: SlotId,
        /// The new process's generation.
        gen: Gen,
        /// Its job.
        job: Job,
    },
    /// Send the running nanny of `slot` its new job.
    Send {
        /// The slot.
        slot: SlotId,
        /// The generation of the running process.
        gen: Gen,
        /// The job.
        job: Job,
    },
    /// Stop the nanny of `slot` (its stdin closed, SIGTERM).
    Stop {
        /// The slot.
        slot: SlotId,
        /// The generation of the process to stop.
        gen: Gen,
    },
    /// Wake the supervisor with [`Event::TimerFired`] at `at` (the restart
    /// of `slot` is due then).
    ScheduleRestart {
        /// The slot.
        slot: SlotId,
        /// When.
        at: Instant,
    },
    /// Apply a report of the nanny that watches `watched` (the virtual
    /// names of its job) to the table.
    Deliver {
        /// The virtual names the nanny watches.
        watched: Vec<String>,
        /// The report.
        report: Report,
    },
    /// Stop every nanny, remove the services lvsd owns and exit with
    /// [`Reason::exit_code`]. Nothing is performed after it.
    ShutDown(Reason),
    /// A log line.
    Log(Level, String),
}

/// Where a slot's process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Asked for; the spawn's outcome comes next.
    Starting { gen: Gen },
    /// Running as `pid`.
    Running { gen: Gen, pid: u32 },
    /// Dead (or never started); restarted at `at`.
    Waiting { gen: Gen, at: Instant },
}

impl Run {
    fn gen(self) -> Gen {
        match self {
            Run::Starting { gen } | Run::Running { gen, .. } | Run::Waiting { gen, .. } => gen,
        }
    }
}

#[derive(Debug)]
struct Slot {
    /// The job as last sent (without kernel weights). Compared as data,
    /// not as its JSON line: serializing every job at each reload is what
    /// would cost time.
    job: Job,
    /// Virtual names the job watches.
    watched: Vec<String>,
    run: Run,
    backoff: Backoff,
    /// Processes started for this slot so far.
    starts: u32,
}

impl Slot {
    /// Piranha's "VIRTUAL/SERVER" of its death line: one
    /// `VIRTUAL/SERVER,SERVER` per virtual server of the group.
    fn who(&self) -> String {
        self.job
            .virtuals
            .iter()
            .map(|v| {
                let servers: Vec<&str> = v.servers.iter().map(|s| s.name.as_str()).collect();
                format!("{}/{}", v.name, servers.join(","))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The supervisor's state: the slots, and whether lvsd is shutting down.
#[derive(Debug)]
pub struct Supervisor {
    slots: BTreeMap<SlotId, Slot>,
    next_slot: SlotId,
    next_gen: Gen,
    hard_shutdown: bool,
    stopped: bool,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new()
    }
}

impl Supervisor {
    /// No slots yet.
    pub fn new() -> Supervisor {
        Supervisor {
            slots: BTreeMap::new(),
            next_slot: 1,
            next_gen: 1,
            hard_shutdown: false,
            stopped: false,
        }
    }

    /// Whether lvsd is shutting down ([`Action::ShutDown`] was given).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Every virtual name a slot watches.
    pub fn watched(&self) -> impl Iterator<Item = &str> {
        self.slots
            .values()
            .flat_map(|s| s.watched.iter().map(String::as_str))
    }

    /// When the next restart is due, if one waits.
    pub fn next_restart(&self) -> Option<Instant> {
        self.slots
            .values()
            .filter_map(|s| match s.run {
                Run::Waiting { at, .. } => Some(at),
                _ => None,
            })
            .min()
    }

    fn new_gen(&mut self) -> Gen {
        let gen = self.next_gen;
        self.next_gen += 1;
        gen
    }

    /// Handles one event at `now`; returns what to do, in order.
    pub fn step(&mut self, event: Event, now: Instant) -> Vec<Action> {
        if self.stopped {
            return Vec::new();
        }
        match event {
            Event::ReloadGroups {
                groups,
                hard_shutdown,
            } => {
                self.hard_shutdown = hard_shutdown;
                self.regroup(groups)
            }
            Event::Spawned { slot, gen, pid } => self.spawned(slot, gen, pid, now),
            Event::SpawnFailed { slot, gen, error } => match self.slots.get(&slot) {
                Some(s) if s.run == (Run::Starting { gen }) => {
                    self.died(slot, format!("did not start: {error}"), now)
                }
                _ => Vec::new(),
            },
            Event::Exited { slot, gen, status } => match self.slots.get(&slot) {
                Some(s) if matches!(s.run, Run::Running { gen: g, .. } if g == gen) => {
                    self.died(slot, status, now)
                }
                _ => Vec::new(),
            },
            Event::Report { slot, gen, report } => match self.slots.get(&slot) {
                Some(s) if s.run.gen() == gen => match report {
                    Ok(report) => vec![Action::Deliver {
                        watched: s.watched.clone(),
                        report,
                    }],
                    Err(e) => vec![Action::Log(Level::Warning, e.to_string())],
                },
                _ => Vec::new(),
            },
            Event::TimerFired => self.restart_due(now),
            Event::Terminate(signal) => {
                self.stopped = true;
                self.slots.clear();
                vec![
                    Action::Log(Level::Info, format!("shutting down due to signal {signal}")),
                    Action::ShutDown(Reason::Signal(signal)),
                ]
            }
        }
    }

    /// One slot per group: a group keeps the slot it overlaps most (see
    /// [`assign`]); slots no group keeps are stopped; new groups get a
    /// nanny.
    fn regroup(&mut self, groups: Vec<Group>) -> Vec<Action> {
        let mut out = Vec::new();
        let old: Vec<(SlotId, BTreeSet<String>)> = self
            .slots
            .iter()
            .map(|(id, s)| (*id, s.watched.iter().cloned().collect()))
            .collect();
        let new: Vec<BTreeSet<String>> = groups
            .iter()
            .map(|g| g.virtuals.iter().cloned().collect())
            .collect();
        let assigned = assign(&old, &new);
        let kept: BTreeSet<SlotId> = assigned.iter().flatten().copied().collect();
        for (id, _) in &old {
            if kept.contains(id) {
                continue;
            }
            let Some(slot) = self.slots.remove(id) else {
                continue;
            };
            if let Run::Running { gen, pid } = slot.run {
                out.push(Action::Log(
                    Level::Debug,
                    format!("stopping nanny of {} (pid {pid})", slot.watched.join(",")),
                ));
                out.push(Action::Stop { slot: *id, gen });
            }
        }
        for (group, slot_id) in groups.into_iter().zip(assigned) {
            match slot_id.and_then(|id| self.slots.get_mut(&id).map(|s| (id, s))) {
                Some((id, slot)) => {
                    if slot.watched != group.virtuals {
                        let line = match slot.run {
                            Run::Running { pid, .. } => format!(
                                "nanny pid {pid} now watches {} (was {})",
                                group.virtuals.join(","),
                                slot.watched.join(",")
                            ),
                            _ => format!(
                                "nanny slot of {} now watches {}",
                                slot.watched.join(","),
                                group.virtuals.join(",")
                            ),
                        };
                        out.push(Action::Log(Level::Debug, line));
                        slot.watched = group.virtuals;
                    }
                    if slot.job != group.job {
                        slot.job = group.job;
                        if let Run::Running { gen, .. } = slot.run {
                            out.push(Action::Send {
                                slot: id,
                                gen,
                                job: slot.job.clone(),
                            });
                        }
                    }
                }
                None => {
                    let id = self.next_slot;
                    self.next_slot += 1;
                    let gen = self.new_gen();
                    out.push(Action::Spawn {
                        slot: id,
                        gen,
                        job: group.job.clone(),
                    });
                    self.slots.insert(
                        id,
                        Slot {
                            job: group.job,
                            watched: group.virtuals,
                            run: Run::Starting { gen },
                            backoff: Backoff::new(),
                            starts: 0,
                        },
                    );
                }
            }
        }
        out
    }

    fn spawned(&mut self, id: SlotId, gen: Gen, pid: u32, now: Instant) -> Vec<Action> {
        let Some(slot) = self
            .slots
            .get_mut(&id)
            .filter(|s| s.run == (Run::Starting { gen }))
        else {
            // Spawned for a slot that is gone (or for a start that is no
            // longer wanted): nobody would ever stop it.
            return vec![Action::Stop { slot: id, gen }];
        };
        slot.run = Run::Running { gen, pid };
        slot.backoff.started(now);
        // Piranha's line for the first start; a restart is already told by
        // the death line ("restarting it in N s"), so a crash loop logs one
        // line per restart (FLT-K06).
        let level = if slot.starts == 0 {
            Level::Info
        } else {
            Level::Debug
        };
        slot.starts += 1;
        let mut out = Vec::new();
        for v in &slot.watched {
            for s in slot
                .job
                .virtuals
                .iter()
                .filter(|c| c.name == *v)
                .flat_map(|c| &c.servers)
            {
                out.push(Action::Log(
                    level,
                    format!("create_monitor for {v}/{} running as pid {pid}", s.name),
                ));
            }
        }
        out
    }

    /// The nanny of `id` died (or did not start): `hard_shutdown` shuts
    /// lvsd down, whichever group it watched; otherwise it is restarted
    /// with backoff and the table is kept.
    fn died(&mut self, id: SlotId, status: String, now: Instant) -> Vec<Action> {
        let Some(slot) = self.slots.get_mut(&id) else {
            return Vec::new();
        };
        let who = slot.who();
        if self.hard_shutdown {
            self.stopped = true;
            self.slots.clear();
            return vec![
                Action::Log(
                    Level::Err,
                    format!("nanny for child {who} died ({status})! shutting down lvs"),
                ),
                Action::ShutDown(Reason::NannyDied),
            ];
        }
        let at = slot.backoff.died(now);
        slot.run = Run::Waiting {
            gen: slot.run.gen(),
            at,
        };
        let secs = at.saturating_duration_since(now).as_secs_f64();
        vec![
            Action::Log(
                Level::Warning,
                format!("nanny for child {who} died ({status})! restarting it in {secs:.0} s"),
            ),
            Action::ScheduleRestart { slot: id, at },
        ]
    }

    fn restart_due(&mut self, now: Instant) -> Vec<Action> {
        let due: Vec<SlotId> = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s.run, Run::Waiting { at, .. } if at <= now))
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        for id in due {
            let gen = self.new_gen();
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.run = Run::Starting { gen };
                out.push(Action::Spawn {
                    slot: id,
                    gen,
                    job: slot.job.clone(),
                });
            }
        }
        out
    }
}

/// What performing the supervisor's actions needs from the world.
pub trait Effects {
    /// The clock (for the events that answer a spawn).
    fn now(&self) -> Instant;
    /// Starts a nanny for `slot` with `job`; its pid.
    fn spawn(&mut self, slot: SlotId, gen: Gen, job: &Job) -> std::io::Result<u32>;
    /// Sends the running nanny of `slot` (generation `gen`) a new job.
    fn send(&mut self, slot: SlotId, gen: Gen, job: &Job);
    /// Stops the nanny of `slot` if it is generation `gen`.
    fn stop(&mut self, slot: SlotId, gen: Gen);
    /// Wakes the supervisor with [`Event::TimerFired`] at `at`.
    fn schedule(&mut self, at: Instant);
    /// Applies a report; true when the table may need a change.
    fn deliver(&mut self, watched: &[String], report: Report) -> bool;
    /// Stops every nanny and removes the owned services; lvsd then exits.
    fn shut_down(&mut self, reason: Reason);
    /// Logs a line.
    fn log(&mut self, level: Level, line: &str);
}

/// Steps `event` and performs the actions, in order. The outcome of each
/// spawn is stepped at once and its actions performed before the next
/// ones. After [`Action::ShutDown`] nothing more is performed (a reload
/// that meets a failing nanny under `hard_shutdown` starts no other
/// nanny). Returns true when a report may have changed the table.
pub fn drive(sup: &mut Supervisor, event: Event, fx: &mut impl Effects) -> bool {
    let mut queue: VecDeque<Action> = sup.step(event, fx.now()).into();
    let mut dirty = false;
    while let Some(action) = queue.pop_front() {
        match action {
            Action::Spawn { slot, gen, job } => {
                let outcome = match fx.spawn(slot, gen, &job) {
                    Ok(pid) => Event::Spawned { slot, gen, pid },
                    Err(e) => Event::SpawnFailed {
                        slot,
                        gen,
                        error: e.to_string(),
                    },
                };
                let more = sup.step(outcome, fx.now());
                for a in more.into_iter().rev() {
                    queue.push_front(a);
                }
            }
            Action::Send { slot, gen, job } => fx.send(slot, gen, &job),
            Action::Stop { slot, gen } => fx.stop(slot, gen),
            Action::ScheduleRestart { at, .. } => fx.schedule(at),
            Action::Deliver { watched, report } => dirty |= fx.deliver(&watched, report),
            Action::ShutDown(reason) => {
                fx.shut_down(reason);
                queue.clear();
            }
            Action::Log(level, line) => fx.log(level, &line),
        }
    }
    dirty
}

#[cfg(test)]
mod tests;
