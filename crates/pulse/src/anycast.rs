//! Anycast mode's decisions (lvs.cf `router_mode = anycast`, docs/ANYCAST.md):
//! which VIPs this router announces. Pure: events in, address additions and
//! removals out, time passed in, so that it is tested on an injected clock.
//! The I/O around it is in [`crate::anycast_runtime`].
//!
//! A virtual server may be served here while lvsd is ready, its latest
//! status answer is fresh, the status lists the virtual in the kernel with
//! enough live weight, this router is not drained and pulse is not
//! stopping. A VIP is announced while at least one virtual server on it may
//! be served (BGP announces addresses, not ports).

use lvs_status::lvsd::{LvsdStatus, ServerState, Service};
use lvscf_parser::Config;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// One virtual server this router may announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnycastVirtual {
    /// `virtual NAME`.
    pub name: String,
    /// Its VIP.
    pub vip: IpAddr,
    /// The live weight needed without lvsd's own quorum verdict (`quorum`,
    /// default 1: at least one live real server).
    pub quorum: u64,
}

/// The virtual servers of `config` that anycast mode announces: the active
/// ones with an address the kernel can take. Firewall-mark services are
/// announced by their address when they have one.
pub fn virtuals_of(config: &Config) -> Vec<AnycastVirtual> {
    config
        .active_virtuals()
        .filter(|v| v.kernel_refusal().is_none())
        .filter_map(|v| {
            let vip = v.vip().filter(|ip| !ip.is_unspecified())?;
            Some(AnycastVirtual {
                name: v.name.clone(),
                vip,
                quorum: u64::from(v.health.quorum.unwrap_or(1).max(1)),
            })
        })
        .collect()
}

/// What happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// lvsd reported ready on its readiness pipe.
    LvsdReady,
    /// lvsd ended (or failed to become ready).
    LvsdGone,
    /// lvsd answered its status.
    Status(LvsdStatus),
    /// lvsd's status socket did not answer (not running, timeout, garbage).
    StatusFailed,
    /// The operator drains this router (`true`) or ends the drain.
    Drain(bool),
    /// pulse is stopping (SIGTERM, SIGINT).
    Stopping,
    /// Time passes (a status answer may have gone stale).
    Tick,
}

/// What to do to the announcement interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Put the VIP on the interface (/32 or /128).
    Announce {
        /// The VIP.
        vip: IpAddr,
        /// The virtual servers that may be served on it.
        virtuals: Vec<String>,
    },
    /// Take the VIP off the interface.
    Withdraw {
        /// The VIP.
        vip: IpAddr,
        /// Why, for the log.
        why: String,
    },
}

/// The announcement state of one router.
#[derive(Debug)]
pub struct Announcer {
    virtuals: Vec<AnycastVirtual>,
    stale_after: Duration,
    lvsd_ready: bool,
    status: Option<(Instant, LvsdStatus)>,
    drained: bool,
    stopping: bool,
    announced: BTreeMap<IpAddr, Vec<String>>,
}

impl Announcer {
    /// For these virtual servers; a status answer older than `stale_after`
    /// no longer counts (a wedged lvsd must not keep attracting traffic).
    pub fn new(virtuals: Vec<AnycastVirtual>, stale_after: Duration) -> Announcer {
        Announcer {
            virtuals,
            stale_after,
            lvsd_ready: false,
            status: None,
            drained: false,
            stopping: false,
            announced: BTreeMap::new(),
        }
    }

    /// The VIPs announced now.
    pub fn announced(&self) -> impl Iterator<Item = &IpAddr> {
        self.announced.keys()
    }

    /// Applies `event` at `now`; returns the changes to make, withdrawals
    /// first.
    pub fn step(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match event {
            Event::LvsdReady => self.lvsd_ready = true,
            Event::LvsdGone => {
                self.lvsd_ready = false;
                self.status = None;
            }
            Event::Status(s) => self.status = Some((now, s)),
            Event::StatusFailed => {}
            Event::Drain(d) => self.drained = d,
            Event::Stopping => self.stopping = true,
            Event::Tick => {}
        }
        let wanted = self.wanted(now);
        let mut actions = Vec::new();
        let gone: Vec<IpAddr> = self
            .announced
            .keys()
            .filter(|vip| !wanted.contains_key(vip))
            .copied()
            .collect();
        for vip in gone {
            self.announced.remove(&vip);
            actions.push(Action::Withdraw {
                vip,
                why: self.why_not(vip, now),
            });
        }
        for (vip, names) in wanted {
            if !self.announced.contains_key(&vip) {
                actions.push(Action::Announce {
                    vip,
                    virtuals: names.clone(),
                });
            }
            self.announced.insert(vip, names);
        }
        actions
    }

    /// The status, if lvsd is ready and it is fresh.
    fn fresh_status(&self, now: Instant) -> Option<&LvsdStatus> {
        if !self.lvsd_ready {
            return None;
        }
        let (at, s) = self.status.as_ref()?;
        (now.saturating_duration_since(*at) <= self.stale_after).then_some(s)
    }

    fn wanted(&self, now: Instant) -> BTreeMap<IpAddr, Vec<String>> {
        let mut out: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
        if self.stopping || self.drained {
            return out;
        }
        let Some(status) = self.fresh_status(now) else {
            return out;
        };
        for v in &self.virtuals {
            if servable(v, status).is_ok() {
                out.entry(v.vip).or_default().push(v.name.clone());
            }
        }
        out
    }

    /// Why `vip` is not announced, for the log.
    fn why_not(&self, vip: IpAddr, now: Instant) -> String {
        if self.stopping {
            return "pulse is stopping".into();
        }
        if self.drained {
            return "this router is drained".into();
        }
        if !self.lvsd_ready {
            return "lvsd is not running".into();
        }
        let Some(status) = self.fresh_status(now) else {
            return format!(
                "lvsd has not answered its status for {} ms",
                self.stale_after.as_millis()
            );
        };
        let reasons: Vec<String> = self
            .virtuals
            .iter()
            .filter(|v| v.vip == vip)
            .filter_map(|v| {
                servable(v, status)
                    .err()
                    .map(|e| format!("{}: {e}", v.name))
            })
            .collect();
        reasons.join("; ")
    }
}

/// Whether lvsd's status says `v` may be served, or why not.
fn servable(v: &AnycastVirtual, status: &LvsdStatus) -> Result<(), String> {
    let service = status
        .services
        .iter()
        .find(|s| s.name == v.name && s.address == Some(v.vip))
        .ok_or("not in lvsd's status")?;
    if !service.in_kernel {
        return Err("not in the kernel".into());
    }
    if let Some(q) = &service.quorum {
        // lvsd's verdict applies the hysteresis.
        return if q.up {
            Ok(())
        } else {
            Err(format!(
                "below quorum (live weight {} of {})",
                q.live_weight, q.quorum
            ))
        };
    }
    let live = live_weight(service);
    if live >= v.quorum {
        Ok(())
    } else {
        Err(format!("live weight {live}, needs {}", v.quorum))
    }
}

/// The weights of the real servers up, in the kernel and not draining (the
/// sorry server does not count: it is the sign that none is up).
fn live_weight(s: &Service) -> u64 {
    s.servers
        .iter()
        .filter(|r| r.state == ServerState::Up && r.in_kernel && !r.draining)
        .map(|r| u64::try_from(r.weight).unwrap_or(0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_status::lvsd::{Quorum, Server, Stats};

    const STALE: Duration = Duration::from_millis(600);

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn server(name: &str, state: ServerState, weight: i32) -> Server {
        Server {
            server: name.into(),
            address: ip("10.0.1.1"),
            port: 80,
            state,
            weight,
            in_kernel: weight > 0,
            reason: None,
            since_ms: None,
            report_age_ms: None,
            active_conns: 0,
            inactive_conns: 0,
            stats: Stats::default(),
            certificate: None,
            draining: false,
        }
    }

    fn service(name: &str, vip: &str, servers: Vec<Server>) -> Service {
        Service {
            name: name.into(),
            protocol: "tcp".into(),
            address: Some(ip(vip)),
            port: 80,
            fwmark: None,
            scheduler: "mh".into(),
            persistent: 0,
            in_kernel: true,
            stats: Stats::default(),
            servers,
            quorum: None,
        }
    }

    fn virt(name: &str, vip: &str, quorum: u64) -> AnycastVirtual {
        AnycastVirtual {
            name: name.into(),
            vip: ip(vip),
            quorum,
        }
    }

    fn status(services: Vec<Service>) -> Event {
        Event::Status(LvsdStatus { services })
    }

    fn up2() -> Vec<Server> {
        vec![
            server("r1", ServerState::Up, 1),
            server("r2", ServerState::Up, 1),
        ]
    }

    fn announced(a: &Announcer) -> Vec<IpAddr> {
        a.announced().copied().collect()
    }

    /// A router that is ready and announces `web` on 198.51.100.80.
    fn ready(t0: Instant) -> Announcer {
        let mut a = Announcer::new(vec![virt("web", "198.51.100.80", 2)], STALE);
        assert!(a.step(Event::LvsdReady, t0).is_empty());
        let acts = a.step(status(vec![service("web", "198.51.100.80", up2())]), t0);
        assert_eq!(
            acts,
            vec![Action::Announce {
                vip: ip("198.51.100.80"),
                virtuals: vec!["web".into()]
            }]
        );
        a
    }

    #[test]
    fn nothing_is_announced_before_lvsd_is_ready() {
        let t0 = Instant::now();
        let mut a = Announcer::new(vec![virt("web", "198.51.100.80", 1)], STALE);
        let acts = a.step(status(vec![service("web", "198.51.100.80", up2())]), t0);
        assert!(acts.is_empty());
        assert!(announced(&a).is_empty());
        // ready: the status already known counts
        let acts = a.step(Event::LvsdReady, t0 + Duration::from_millis(10));
        assert_eq!(acts.len(), 1);
    }

    #[test]
    fn announce_once_and_withdraw_below_quorum() {
        let t0 = Instant::now();
        let mut a = ready(t0);
        // the same status again: nothing to do
        let t1 = t0 + Duration::from_millis(200);
        assert!(a
            .step(status(vec![service("web", "198.51.100.80", up2())]), t1)
            .is_empty());
        // one real server down: live weight 1 of 2
        let one = vec![
            server("r1", ServerState::Up, 1),
            server("r2", ServerState::Down, 0),
        ];
        let acts = a.step(status(vec![service("web", "198.51.100.80", one)]), t1);
        assert_eq!(
            acts,
            vec![Action::Withdraw {
                vip: ip("198.51.100.80"),
                why: "web: live weight 1, needs 2".into()
            }]
        );
        // back
        let acts = a.step(status(vec![service("web", "198.51.100.80", up2())]), t1);
        assert_eq!(acts.len(), 1);
        assert_eq!(announced(&a), vec![ip("198.51.100.80")]);
    }

    #[test]
    fn lvsd_quorum_verdict_wins_when_present() {
        let t0 = Instant::now();
        let mut a = ready(t0);
        let mut s = service("web", "198.51.100.80", up2());
        s.quorum = Some(Quorum {
            quorum: 2,
            hysteresis: 1,
            live_weight: 2,
            up: false,
        });
        let acts = a.step(status(vec![s]), t0);
        assert!(
            matches!(&acts[..], [Action::Withdraw { why, .. }] if why.contains("below quorum (live weight 2 of 2)")),
            "{acts:?}"
        );
    }

    #[test]
    fn not_in_kernel_draining_and_sorry_servers_do_not_count() {
        let t0 = Instant::now();
        let mut a = ready(t0);
        let mut s = service("web", "198.51.100.80", up2());
        s.in_kernel = false;
        let acts = a.step(status(vec![s]), t0);
        assert!(
            matches!(&acts[..], [Action::Withdraw { why, .. }] if why == "web: not in the kernel")
        );
        let mut servers = up2();
        servers[1].draining = true;
        servers.push(server("sorry", ServerState::Sorry, 5));
        let acts = a.step(status(vec![service("web", "198.51.100.80", servers)]), t0);
        assert!(acts.is_empty(), "{acts:?}");
        assert!(announced(&a).is_empty());
        // a service of that name on another address is not this virtual
        let acts = a.step(status(vec![service("web", "198.51.100.81", up2())]), t0);
        assert!(acts.is_empty());
    }

    #[test]
    fn a_stale_status_withdraws_on_the_next_tick() {
        let t0 = Instant::now();
        let mut a = ready(t0);
        assert!(a.step(Event::StatusFailed, t0 + STALE).is_empty());
        let acts = a.step(Event::Tick, t0 + STALE + Duration::from_millis(1));
        assert_eq!(
            acts,
            vec![Action::Withdraw {
                vip: ip("198.51.100.80"),
                why: "lvsd has not answered its status for 600 ms".into()
            }]
        );
    }

    #[test]
    fn lvsd_gone_stopping_and_drain_withdraw_everything() {
        let t0 = Instant::now();
        for (event, why) in [
            (Event::LvsdGone, "lvsd is not running"),
            (Event::Stopping, "pulse is stopping"),
            (Event::Drain(true), "this router is drained"),
        ] {
            let mut a = ready(t0);
            let acts = a.step(event.clone(), t0);
            assert_eq!(
                acts,
                vec![Action::Withdraw {
                    vip: ip("198.51.100.80"),
                    why: why.into()
                }],
                "{event:?}"
            );
            // a good status afterwards does not bring it back, except
            // after lvsd is back or the drain ends
            let good = status(vec![service("web", "198.51.100.80", up2())]);
            assert!(a.step(good.clone(), t0).is_empty(), "{event:?}");
            match event {
                // the status kept from before counts once lvsd is ready
                Event::LvsdGone => assert_eq!(a.step(Event::LvsdReady, t0).len(), 1),
                Event::Drain(_) => assert_eq!(a.step(Event::Drain(false), t0).len(), 1),
                _ => assert!(a.step(Event::Tick, t0).is_empty()),
            }
        }
    }

    #[test]
    fn a_vip_shared_by_two_virtuals_stays_while_one_can_serve() {
        let t0 = Instant::now();
        let mut a = Announcer::new(
            vec![
                virt("http", "2001:db8::80", 1),
                virt("https", "2001:db8::80", 1),
            ],
            STALE,
        );
        a.step(Event::LvsdReady, t0);
        let both = vec![
            service("http", "2001:db8::80", up2()),
            service("https", "2001:db8::80", up2()),
        ];
        let acts = a.step(status(both), t0);
        assert_eq!(
            acts,
            vec![Action::Announce {
                vip: ip("2001:db8::80"),
                virtuals: vec!["http".into(), "https".into()]
            }]
        );
        let mut down = service("https", "2001:db8::80", vec![]);
        down.in_kernel = false;
        let acts = a.step(
            status(vec![service("http", "2001:db8::80", up2()), down.clone()]),
            t0,
        );
        assert!(acts.is_empty());
        let mut down2 = service("http", "2001:db8::80", vec![]);
        down2.in_kernel = false;
        let acts = a.step(status(vec![down2, down]), t0);
        assert!(
            matches!(&acts[..], [Action::Withdraw { why, .. }] if why == "http: not in the kernel; https: not in the kernel"),
            "{acts:?}"
        );
    }

    #[test]
    fn virtuals_of_takes_active_addressed_ones_with_their_quorum() {
        let text = "router_mode = anycast\nnetwork = direct\n\
            virtual a {\n active = 1\n address = 198.51.100.1 eth0\n scheduler = mh\n quorum = 3\n}\n\
            virtual b {\n active = 0\n address = 198.51.100.2 eth0\n scheduler = mh\n}\n\
            virtual c {\n active = 1\n address = 2001:db8::3 eth0\n scheduler = mh\n}\n";
        let loaded = lvscf_parser::parse("lvs.cf", text.as_bytes()).expect("parse");
        let v = virtuals_of(&loaded.config);
        assert_eq!(
            v,
            vec![virt("a", "198.51.100.1", 3), virt("c", "2001:db8::3", 1)]
        );
    }
}
