//! The supervisor on an injected clock.

use std::time::{Duration, Instant};

use daemon_kit::log::Level;
use nanny::protocol::{Job, Report, VirtualCheck};

use super::*;
use crate::group::Group;

/// Four virtual servers with one real server each; `timeout` is what a
/// test changes to change a job.
fn config(timeout_of_c: u32) -> lvscf_parser::Config {
    let mut text = String::from("serial_no = 1\nservice = lvs\nnetwork = direct\n");
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        let timeout = if *name == "c" { timeout_of_c } else { 6 };
        text.push_str(&format!(
            "virtual {name} {{\n    active = 1\n    address = 10.0.0.{n} eth0:1\n    port = 80\n    timeout = {timeout}\n    server {name}1 {{\n        address = 10.0.1.{n}\n        active = 1\n    }}\n    server {name}2 {{\n        address = 10.0.2.{n}\n        active = 1\n    }}\n}}\n",
            n = i + 1
        ));
    }
    match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("test file: {e}"),
    }
}

fn check(c: &lvscf_parser::Config, name: &str) -> VirtualCheck {
    let v = c
        .virtual_named(name)
        .unwrap_or_else(|| panic!("no virtual {name}"));
    crate::jobs::virtual_check(c, v)
}

/// A group of the named virtuals (as `crate::group` would make it when
/// they share a check).
fn group(c: &lvscf_parser::Config, names: &[&str]) -> Group {
    Group {
        virtuals: names.iter().map(|n| n.to_string()).collect(),
        job: Job {
            virtuals: names.iter().map(|n| check(c, n)).collect(),
        },
    }
}

fn reload(groups: Vec<Group>, hard_shutdown: bool) -> Event {
    Event::ReloadGroups {
        groups,
        hard_shutdown,
    }
}

/// The (slot, gen) of every spawn in `actions`.
fn spawns(actions: &[Action]) -> Vec<(SlotId, Gen)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Spawn { slot, gen, .. } => Some((*slot, *gen)),
            _ => None,
        })
        .collect()
}

fn logs(actions: &[Action], level: Level) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l, line) if *l == level => Some(line.clone()),
            _ => None,
        })
        .collect()
}

fn restart_at(actions: &[Action]) -> Option<Instant> {
    actions.iter().find_map(|a| match a {
        Action::ScheduleRestart { at, .. } => Some(*at),
        _ => None,
    })
}

/// Starts the groups and answers every spawn (pids 100, 101, ...).
/// Returns the (slot, gen) of each, in group order.
fn started(sup: &mut Supervisor, groups: Vec<Group>, hard: bool, t: Instant) -> Vec<(SlotId, Gen)> {
    let out = spawns(&sup.step(reload(groups, hard), t));
    for (i, (slot, gen)) in out.iter().enumerate() {
        let pid = 100 + i as u32;
        sup.step(
            Event::Spawned {
                slot: *slot,
                gen: *gen,
                pid,
            },
            t,
        );
    }
    out
}

fn exited(slot: SlotId, gen: Gen) -> Event {
    Event::Exited {
        slot,
        gen,
        status: "killed by signal 9".into(),
    }
}

fn report(slot: SlotId, gen: Gen) -> Event {
    let line =
        r#"{"virtual":"a","server":"a1","address":"10.0.1.1","port":80,"state":"up","weight":1}"#;
    Event::Report {
        slot,
        gen,
        report: Ok(Report::from_line(line).unwrap_or_else(|e| panic!("report: {e}"))),
    }
}

#[test]
fn every_group_gets_a_nanny_and_its_servers_are_announced() {
    let c = config(6);
    let t = Instant::now();
    let mut sup = Supervisor::new();
    let a = sup.step(
        reload(vec![group(&c, &["a", "b"]), group(&c, &["c"])], false),
        t,
    );
    assert_eq!(spawns(&a), [(1, 1), (2, 2)]);
    assert!(matches!(&a[0], Action::Spawn { job, .. } if job.virtuals.len() == 2));
    let a = sup.step(
        Event::Spawned {
            slot: 1,
            gen: 1,
            pid: 4242,
        },
        t,
    );
    assert_eq!(
        logs(&a, Level::Info),
        [
            "create_monitor for a/a1 running as pid 4242",
            "create_monitor for a/a2 running as pid 4242",
            "create_monitor for b/b1 running as pid 4242",
            "create_monitor for b/b2 running as pid 4242",
        ]
    );
    let mut watched: Vec<&str> = sup.watched().collect();
    watched.sort();
    assert_eq!(watched, ["a", "b", "c"]);
    // A report of a running nanny goes to the table with what it watches.
    let a = sup.step(report(1, 1), t);
    assert!(
        matches!(&a[..], [Action::Deliver { watched, .. }] if *watched == ["a", "b"]),
        "{a:?}"
    );
    // A line that is no report is logged, nothing else.
    let bad = Report::from_line("nonsense").map_err(|error| crate::health::UnreadableLine {
        line: "nonsense".into(),
        error,
    });
    let a = sup.step(
        Event::Report {
            slot: 1,
            gen: 1,
            report: bad.map(|_| unreachable!("not a report")),
        },
        t,
    );
    assert_eq!(
        logs(&a, Level::Warning),
        [r#"unreadable nanny line "nonsense": expected ident at line 1 column 2"#]
    );
}

#[test]
fn a_dead_nanny_is_restarted_after_doubling_delays_up_to_the_cap() {
    let c = config(6);
    let t0 = Instant::now();
    let mut sup = Supervisor::new();
    let mut cur = started(&mut sup, vec![group(&c, &["a"])], false, t0)[0];
    let mut now = t0;
    let mut delays = Vec::new();
    for _ in 0..9 {
        // It dies as soon as it runs.
        let a = sup.step(exited(cur.0, cur.1), now);
        assert!(!a.iter().any(|a| matches!(a, Action::ShutDown(_))));
        let at = restart_at(&a).unwrap_or_else(|| panic!("no restart in {a:?}"));
        let secs = (at - now).as_secs();
        assert_eq!(
            logs(&a, Level::Warning),
            [format!(
                "nanny for child a/a1,a2 died (killed by signal 9)! restarting it in {secs} s"
            )]
        );
        assert_eq!(sup.next_restart(), Some(at));
        delays.push(secs);
        // Not before its time, and only once.
        assert!(sup
            .step(Event::TimerFired, at - Duration::from_millis(1))
            .is_empty());
        let a = sup.step(Event::TimerFired, at);
        let s = spawns(&a);
        assert_eq!(s.len(), 1, "{a:?}");
        assert_eq!(s[0].0, cur.0, "the same slot");
        assert!(s[0].1 > cur.1, "a new generation");
        assert!(sup.step(Event::TimerFired, at).is_empty());
        let a = sup.step(
            Event::Spawned {
                slot: s[0].0,
                gen: s[0].1,
                pid: 7,
            },
            at,
        );
        // FLT-K06: one line per restart (the death line); Piranha's
        // create_monitor lines of a restart go to the debug level.
        assert!(logs(&a, Level::Info).is_empty(), "{a:?}");
        assert_eq!(logs(&a, Level::Debug).len(), 2, "{a:?}");
        cur = s[0];
        now = at;
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
}

#[test]
fn a_nanny_that_lived_a_minute_starts_again_at_one_second() {
    let c = config(6);
    let t0 = Instant::now();
    let mut sup = Supervisor::new();
    let first = started(&mut sup, vec![group(&c, &["a"])], false, t0)[0];
    let a = sup.step(exited(first.0, first.1), t0);
    let at = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
    let s = spawns(&sup.step(Event::TimerFired, at))[0];
    sup.step(
        Event::Spawned {
            slot: s.0,
            gen: s.1,
            pid: 8,
        },
        at,
    );
    let a = sup.step(exited(s.0, s.1), at + Duration::from_secs(1));
    assert_eq!(restart_at(&a), Some(at + Duration::from_secs(3)), "2 s");
    let at = at + Duration::from_secs(3);
    let s = spawns(&sup.step(Event::TimerFired, at))[0];
    sup.step(
        Event::Spawned {
            slot: s.0,
            gen: s.1,
            pid: 9,
        },
        at,
    );
    let later = at + Duration::from_secs(3600);
    let a = sup.step(exited(s.0, s.1), later);
    assert_eq!(restart_at(&a), Some(later + Duration::from_secs(1)));
}

/// The defect: the backoff measured a run from the last *successful*
/// start, so after a nanny that had run for a long time, every failed
/// restart (the binary removed or broken by an upgrade) counted as the
/// death of a long-lived nanny and was retried after 1 s, 7 times a
/// minute for ever, instead of backing off to 60 s.
#[test]
fn a_failed_start_is_no_run_and_backs_off() {
    let c = config(6);
    let t0 = Instant::now();
    let mut sup = Supervisor::new();
    let first = started(&mut sup, vec![group(&c, &["a"])], false, t0)[0];
    let mut now = t0 + Duration::from_secs(3600);
    let a = sup.step(exited(first.0, first.1), now);
    let mut at = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(at - now, Duration::from_secs(1), "it had run for an hour");
    let mut delays = Vec::new();
    for _ in 0..7 {
        now = at;
        let s = spawns(&sup.step(Event::TimerFired, now))[0];
        let a = sup.step(
            Event::SpawnFailed {
                slot: s.0,
                gen: s.1,
                error: "No such file or directory (os error 2)".into(),
            },
            now,
        );
        at = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
        delays.push((at - now).as_secs());
        assert_eq!(
            logs(&a, Level::Warning),
            [format!(
                "nanny for child a/a1,a2 died (did not start: No such file or directory (os error 2))! restarting it in {} s",
                (at - now).as_secs()
            )]
        );
    }
    assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60]);
}

/// However a nanny dies (at once, after a while, after a long life, or by
/// failing to start), no 60 s window holds more than 7 restarts.
#[test]
fn no_minute_holds_more_than_seven_restarts() {
    let c = config(6);
    // Seconds each run lasts before it ends; `None`: the start fails.
    let patterns: [&[Option<u64>]; 5] = [
        &[Some(0)],
        &[Some(59)],
        &[Some(61), Some(0)],
        &[Some(3600), None, None, None, None, None, None, None, None],
        &[Some(61), None, Some(0), Some(61), None],
    ];
    for pattern in patterns {
        let t0 = Instant::now();
        let mut sup = Supervisor::new();
        let mut cur = started(&mut sup, vec![group(&c, &["a"])], false, t0)[0];
        let mut now = t0;
        let mut starts = vec![t0];
        let mut runs = pattern.iter().cycle();
        let mut running = true;
        while now < t0 + Duration::from_secs(1800) {
            let run = runs.next().copied().flatten();
            let a = if running {
                now += Duration::from_secs(run.unwrap_or(0));
                sup.step(exited(cur.0, cur.1), now)
            } else {
                sup.step(
                    Event::SpawnFailed {
                        slot: cur.0,
                        gen: cur.1,
                        error: "exec failed".into(),
                    },
                    now,
                )
            };
            now = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
            let s = spawns(&sup.step(Event::TimerFired, now))[0];
            starts.push(now);
            cur = s;
            running = runs.clone().next().copied().flatten().is_some();
            if running {
                sup.step(
                    Event::Spawned {
                        slot: s.0,
                        gen: s.1,
                        pid: 1,
                    },
                    now,
                );
            }
        }
        for (i, s) in starts.iter().enumerate() {
            let within = starts[i..]
                .iter()
                .take_while(|t| **t < *s + Duration::from_secs(60))
                .count();
            assert!(
                within <= 7,
                "{within} starts within a minute with {pattern:?}"
            );
        }
    }
}

#[test]
fn with_hard_shutdown_any_death_shuts_lvsd_down() {
    let c = config(6);
    let t = Instant::now();
    let mut sup = Supervisor::new();
    let s = started(
        &mut sup,
        vec![group(&c, &["a", "b"]), group(&c, &["c"])],
        true,
        t,
    );
    let a = sup.step(exited(s[0].0, s[0].1), t);
    assert_eq!(
        a,
        [
            Action::Log(
                Level::Err,
                "nanny for child a/a1,a2 b/b1,b2 died (killed by signal 9)! shutting down lvs"
                    .into()
            ),
            Action::ShutDown(Reason::NannyDied),
        ]
    );
    assert_eq!(Reason::NannyDied.exit_code(), 1);
    assert!(sup.is_stopped());
    assert_eq!(sup.watched().count(), 0);
    // Nothing after the end: not the other nanny's death, not a reload.
    assert!(sup.step(exited(s[1].0, s[1].1), t).is_empty());
    assert!(sup.step(report(s[1].0, s[1].1), t).is_empty());
    assert!(sup
        .step(reload(vec![group(&c, &["d"])], true), t)
        .is_empty());
    assert!(sup.step(Event::TimerFired, t).is_empty());
    assert!(sup.step(Event::Terminate(15), t).is_empty());
}

#[test]
fn a_reload_turns_hard_shutdown_on_and_off() {
    let c = config(6);
    let t = Instant::now();
    let mut sup = Supervisor::new();
    let s = started(&mut sup, vec![group(&c, &["a"])], true, t)[0];
    sup.step(reload(vec![group(&c, &["a"])], false), t);
    let a = sup.step(exited(s.0, s.1), t);
    assert!(restart_at(&a).is_some(), "{a:?}");
    assert!(!sup.is_stopped());
}

#[test]
fn terminate_shuts_down_with_status_zero() {
    let c = config(6);
    let t = Instant::now();
    let mut sup = Supervisor::new();
    started(&mut sup, vec![group(&c, &["a"])], false, t);
    let a = sup.step(Event::Terminate(15), t);
    assert_eq!(
        a,
        [
            Action::Log(Level::Info, "shutting down due to signal 15".into()),
            Action::ShutDown(Reason::Signal(15)),
        ]
    );
    assert_eq!(Reason::Signal(15).exit_code(), 0);
    assert!(sup.step(exited(1, 1), t).is_empty());
}

#[test]
fn a_reload_keeps_merges_and_splits_groups_keeping_the_nanny_it_overlaps_most() {
    let c = config(6);
    let t = Instant::now();
    let mut sup = Supervisor::new();
    // Slots 1: {a, b}, 2: {c}, 3: {d}.
    let s = started(
        &mut sup,
        vec![group(&c, &["a", "b"]), group(&c, &["c"]), group(&c, &["d"])],
        false,
        t,
    );
    assert_eq!(s, [(1, 1), (2, 2), (3, 3)]);

    // The same groups: nothing at all.
    let a = sup.step(
        reload(
            vec![group(&c, &["a", "b"]), group(&c, &["c"]), group(&c, &["d"])],
            false,
        ),
        t,
    );
    assert!(a.is_empty(), "{a:?}");

    // c's check changed: its nanny gets the new job, the others nothing.
    let c2 = config(9);
    let a = sup.step(
        reload(
            vec![
                group(&c2, &["a", "b"]),
                group(&c2, &["c"]),
                group(&c2, &["d"]),
            ],
            false,
        ),
        t,
    );
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        matches!(&a[0], Action::Send { slot: 2, gen: 2, job } if job.virtuals[0].timeout == 9),
        "{a:?}"
    );

    // Merge {a, b} and {c} into {a, b, c}: slot 1 overlaps most and keeps
    // its nanny (new job); slot 2 is stopped; d is untouched.
    let a = sup.step(
        reload(
            vec![group(&c2, &["a", "b", "c"]), group(&c2, &["d"])],
            false,
        ),
        t,
    );
    assert_eq!(
        a,
        [
            Action::Log(Level::Debug, "stopping nanny of c (pid 101)".into()),
            Action::Stop { slot: 2, gen: 2 },
            Action::Log(
                Level::Debug,
                "nanny pid 100 now watches a,b,c (was a,b)".into()
            ),
            Action::Send {
                slot: 1,
                gen: 1,
                job: group(&c2, &["a", "b", "c"]).job
            },
        ]
    );

    // Split {a, b, c} into {a} and {b, c}: {b, c} overlaps slot 1 most
    // (two of three) and keeps it; {a} gets a new nanny.
    let a = sup.step(
        reload(
            vec![
                group(&c2, &["a"]),
                group(&c2, &["b", "c"]),
                group(&c2, &["d"]),
            ],
            false,
        ),
        t,
    );
    assert_eq!(spawns(&a), [(4, 4)]);
    assert!(a.contains(&Action::Log(
        Level::Debug,
        "nanny pid 100 now watches b,c (was a,b,c)".into()
    )));
    assert!(a.iter().any(|x| matches!(x, Action::Send { slot: 1, .. })));
    assert!(!a.iter().any(|x| matches!(x, Action::Stop { .. })));

    // A group gone: its nanny is stopped; the others are left alone.
    let a = sup.step(
        reload(vec![group(&c2, &["a"]), group(&c2, &["b", "c"])], false),
        t,
    );
    assert_eq!(
        a,
        [
            Action::Log(Level::Debug, "stopping nanny of d (pid 102)".into()),
            Action::Stop { slot: 3, gen: 3 },
        ]
    );
}

#[test]
fn a_death_during_a_restart_wait_and_a_reload_meanwhile() {
    let c = config(6);
    let t0 = Instant::now();
    let mut sup = Supervisor::new();
    let s = started(
        &mut sup,
        vec![group(&c, &["a"]), group(&c, &["b"]), group(&c, &["c"])],
        false,
        t0,
    );
    // a dies: it waits 1 s.
    let a = sup.step(exited(s[0].0, s[0].1), t0);
    let a_at = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
    // The same death reported again while it waits changes nothing (no
    // second restart, no doubled delay).
    assert!(sup.step(exited(s[0].0, s[0].1), t0).is_empty());
    // b dies while a waits: its own wait, its own delay.
    let t1 = t0 + Duration::from_millis(500);
    let a = sup.step(exited(s[1].0, s[1].1), t1);
    let b_at = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(b_at - t1, Duration::from_secs(1));
    assert_eq!(sup.next_restart(), Some(a_at));
    // A reload meanwhile: a's check changes (nothing to send: no process;
    // the restart takes the new job), b's group is gone, c is kept.
    let c2 = config(6);
    let mut a_new = group(&c2, &["a"]);
    a_new.job.virtuals[0].timeout = 3;
    let a = sup.step(reload(vec![a_new.clone(), group(&c2, &["c"])], false), t1);
    assert!(a.is_empty(), "no process to stop or send to: {a:?}");
    // a restarts with the new job; b does not restart at all.
    let a = sup.step(Event::TimerFired, a_at);
    assert!(
        matches!(&a[..], [Action::Spawn { slot, job, .. }] if *slot == s[0].0 && *job == a_new.job),
        "{a:?}"
    );
    assert!(sup.step(Event::TimerFired, b_at).is_empty());
    assert_eq!(sup.next_restart(), None);
}

#[test]
fn what_an_earlier_generation_says_or_does_is_ignored() {
    let c = config(6);
    let t0 = Instant::now();
    let mut sup = Supervisor::new();
    let old = started(&mut sup, vec![group(&c, &["a"])], false, t0)[0];
    let a = sup.step(exited(old.0, old.1), t0);
    let at = restart_at(&a).unwrap_or_else(|| panic!("{a:?}"));
    let new = spawns(&sup.step(Event::TimerFired, at))[0];
    sup.step(
        Event::Spawned {
            slot: new.0,
            gen: new.1,
            pid: 9,
        },
        at,
    );
    // The old process's late lines and exit: nothing.
    assert!(sup.step(report(old.0, old.1), at).is_empty());
    assert!(sup.step(exited(old.0, old.1), at).is_empty());
    assert!(sup
        .step(
            Event::SpawnFailed {
                slot: old.0,
                gen: old.1,
                error: "x".into()
            },
            at
        )
        .is_empty());
    // The new one's: delivered.
    assert_eq!(sup.step(report(new.0, new.1), at).len(), 1);
    // A spawn answered for a slot that is gone: that process is stopped.
    let a = sup.step(reload(vec![group(&c, &["b"])], false), at);
    let (b_slot, b_gen) = spawns(&a)[0];
    assert!(a.contains(&Action::Stop {
        slot: new.0,
        gen: new.1
    }));
    let a = sup.step(
        Event::Spawned {
            slot: 99,
            gen: 99,
            pid: 5,
        },
        at,
    );
    assert_eq!(a, [Action::Stop { slot: 99, gen: 99 }]);
    // ...and a second answer for the same start.
    sup.step(
        Event::Spawned {
            slot: b_slot,
            gen: b_gen,
            pid: 6,
        },
        at,
    );
    let a = sup.step(
        Event::Spawned {
            slot: b_slot,
            gen: b_gen,
            pid: 6,
        },
        at,
    );
    assert_eq!(
        a,
        [Action::Stop {
            slot: b_slot,
            gen: b_gen
        }]
    );
}

/// What [`drive`] did, for the tests.
#[derive(Default)]
struct Fake {
    now: Option<Instant>,
    /// Slots whose spawn fails.
    failing: Vec<SlotId>,
    spawned: Vec<SlotId>,
    stopped: Vec<(SlotId, Gen)>,
    sent: Vec<SlotId>,
    scheduled: Vec<Instant>,
    delivered: usize,
    shut_down: Vec<Reason>,
    lines: Vec<(Level, String)>,
}

impl Effects for Fake {
    fn now(&self) -> Instant {
        self.now.unwrap_or_else(Instant::now)
    }
    fn spawn(&mut self, slot: SlotId, _gen: Gen, _job: &Job) -> std::io::Result<u32> {
        if self.failing.contains(&slot) {
            return Err(std::io::Error::other("exec failed"));
        }
        self.spawned.push(slot);
        Ok(1000 + slot as u32)
    }
    fn send(&mut self, slot: SlotId, _gen: Gen, _job: &Job) {
        self.sent.push(slot);
    }
    fn stop(&mut self, slot: SlotId, gen: Gen) {
        self.stopped.push((slot, gen));
    }
    fn schedule(&mut self, at: Instant) {
        self.scheduled.push(at);
    }
    fn deliver(&mut self, _watched: &[String], _report: Report) -> bool {
        self.delivered += 1;
        true
    }
    fn shut_down(&mut self, reason: Reason) {
        self.shut_down.push(reason);
    }
    fn log(&mut self, level: Level, line: &str) {
        self.lines.push((level, line.to_string()));
    }
}

#[test]
fn drive_feeds_spawns_back_and_performs_in_order() {
    let c = config(6);
    let mut sup = Supervisor::new();
    let mut fx = Fake {
        now: Some(Instant::now()),
        failing: vec![2],
        ..Fake::default()
    };
    let dirty = drive(
        &mut sup,
        reload(vec![group(&c, &["a"]), group(&c, &["b"])], false),
        &mut fx,
    );
    assert!(!dirty);
    assert_eq!(fx.spawned, [1]);
    assert_eq!(
        fx.scheduled.len(),
        1,
        "the failed start waits for its restart"
    );
    assert_eq!(
        fx.lines,
        [
            (
                Level::Info,
                "create_monitor for a/a1 running as pid 1001".to_string()
            ),
            (
                Level::Info,
                "create_monitor for a/a2 running as pid 1001".to_string()
            ),
            (
                Level::Warning,
                "nanny for child b/b1,b2 died (did not start: exec failed)! restarting it in 1 s"
                    .to_string()
            ),
        ]
    );
    assert!(drive(&mut sup, report(1, 1), &mut fx));
    assert_eq!(fx.delivered, 1);
}

/// The defect: a reload (or the start) that met a nanny failing to start
/// under `hard_shutdown = 1` shut lvsd down, and then went on starting
/// the nannies of the remaining groups, which lived until lvsd's exit
/// killed them.
#[test]
fn nothing_is_started_after_a_hard_shutdown() {
    let c = config(6);
    let mut sup = Supervisor::new();
    let mut fx = Fake {
        now: Some(Instant::now()),
        failing: vec![1],
        ..Fake::default()
    };
    drive(
        &mut sup,
        reload(
            vec![group(&c, &["a"]), group(&c, &["b"]), group(&c, &["c"])],
            true,
        ),
        &mut fx,
    );
    assert_eq!(fx.shut_down, [Reason::NannyDied]);
    assert!(
        fx.spawned.is_empty(),
        "started after the shutdown: {:?}",
        fx.spawned
    );
    assert_eq!(
        fx.lines,
        [(
            Level::Err,
            "nanny for child a/a1,a2 died (did not start: exec failed)! shutting down lvs"
                .to_string()
        )]
    );
}
