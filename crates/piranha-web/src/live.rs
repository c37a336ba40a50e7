//! Configuration beside health (pure): what lvsd and nanny say of each
//! virtual and real server that lvs.cf names.
//!
//! lvs.cf's `active` is what the administrator asked for; the live state
//! is what lvsd programmed and nanny checked. The two differ all the time
//! on a healthy router (a server configured active that fails its check
//! is down), and on a router whose lvs.cf on disk is not the one running
//! (a server deactivated on disk is still up until APPLY). The pages show
//! both, side by side, and never colour the configured flag as health.
//!
//! Blocks are matched by name: lvsd's status names each service by its
//! `virtual` and each destination by its `server`.

use lvs_status::lvsd::{Certificate, LvsdStatus, Quorum, Server, ServerState, Service};
use std::collections::HashMap;

/// What a real server is doing, as lvsd and nanny report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LiveState {
    /// Passing its checks, in the kernel with a weight.
    Up,
    /// Failing its checks, out of the kernel's table.
    Down,
    /// In the kernel at weight 0 with no active connection: failing its
    /// checks with `quiesce_server`, or weighted 0.
    Quiesced,
    /// Being drained (`lvscf drain`): weight 0 until its active
    /// connections end, then deactivated in lvs.cf.
    Draining,
    /// lvsd wants it in the table but the kernel does not have it.
    NotInKernel,
    /// nanny has not decided yet (the first check is running).
    Checking,
    /// The sorry server, in the table because every real server is down.
    Sorry,
    /// Not in what lvsd runs (inactive there, added on disk since, or lvsd
    /// is not running).
    NotRunning,
}

impl LiveState {
    /// The word the pages show.
    pub fn word(self) -> &'static str {
        match self {
            LiveState::Up => "up",
            LiveState::Down => "down",
            LiveState::Quiesced => "quiesced",
            LiveState::Draining => "draining",
            LiveState::NotInKernel => "not in the kernel",
            LiveState::Checking => "checking",
            LiveState::Sorry => "sorry server in use",
            LiveState::NotRunning => "not running",
        }
    }

    /// The CSS class of the word (colour is never the only sign: the word
    /// says it too).
    pub fn class(self) -> &'static str {
        match self {
            LiveState::Up => "live-up",
            LiveState::Down | LiveState::NotInKernel => "live-down",
            LiveState::Quiesced | LiveState::Draining | LiveState::Sorry => "live-warn",
            LiveState::Checking | LiveState::NotRunning => "live-none",
        }
    }

    /// Whether it needs a look: anything but up, checking, or absent from
    /// what runs.
    pub fn is_problem(self) -> bool {
        !matches!(
            self,
            LiveState::Up | LiveState::Checking | LiveState::NotRunning
        )
    }

    /// Every state, in the order the summary counts them.
    pub const ALL: [LiveState; 8] = [
        LiveState::Up,
        LiveState::Down,
        LiveState::Quiesced,
        LiveState::Draining,
        LiveState::NotInKernel,
        LiveState::Checking,
        LiveState::Sorry,
        LiveState::NotRunning,
    ];
}

/// The live state of one destination of lvsd's status.
pub fn server_state(s: &Server) -> LiveState {
    match (s.state, s.in_kernel) {
        (ServerState::Sorry, _) => LiveState::Sorry,
        _ if s.draining => LiveState::Draining,
        (ServerState::Down, true) => LiveState::Quiesced,
        (ServerState::Down, false) => LiveState::Down,
        (ServerState::Up, true) if s.weight == 0 => LiveState::Quiesced,
        (ServerState::Up, true) => LiveState::Up,
        (ServerState::Up, false) => LiveState::NotInKernel,
        (ServerState::Unknown, _) => LiveState::Checking,
    }
}

/// What a virtual server is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualState {
    /// In the kernel, every real server up.
    Serving,
    /// In the kernel, some real servers not up.
    Degraded,
    /// In the kernel with no real server up (the sorry server may serve).
    NoServer,
    /// lvsd programs it but the kernel does not have it.
    NotInKernel,
    /// Not in what lvsd runs.
    NotRunning,
}

impl VirtualState {
    /// The word the pages show.
    pub fn word(self) -> &'static str {
        match self {
            VirtualState::Serving => "serving",
            VirtualState::Degraded => "degraded",
            VirtualState::NoServer => "no real server up",
            VirtualState::NotInKernel => "not in the kernel",
            VirtualState::NotRunning => "not running",
        }
    }

    /// The CSS class of the word.
    pub fn class(self) -> &'static str {
        match self {
            VirtualState::Serving => "live-up",
            VirtualState::Degraded => "live-warn",
            VirtualState::NoServer | VirtualState::NotInKernel => "live-down",
            VirtualState::NotRunning => "live-none",
        }
    }

    /// Whether it needs a look.
    pub fn is_problem(self) -> bool {
        !matches!(self, VirtualState::Serving | VirtualState::NotRunning)
    }
}

/// The live state of a service of lvsd's status.
pub fn virtual_state(s: &Service) -> VirtualState {
    if !s.in_kernel {
        return VirtualState::NotInKernel;
    }
    let real: Vec<LiveState> = s
        .servers
        .iter()
        .map(server_state)
        .filter(|st| *st != LiveState::Sorry)
        .collect();
    let up = real.iter().filter(|st| **st == LiveState::Up).count();
    if up == 0 && real.iter().all(|st| *st != LiveState::Checking) {
        VirtualState::NoServer
    } else if real.iter().any(|st| st.is_problem()) {
        VirtualState::Degraded
    } else {
        VirtualState::Serving
    }
}

/// A virtual server's quorum (lvs.cf `quorum`) as the pages say it: the
/// CSS class and the words.
pub fn quorum_text(q: &Quorum) -> (&'static str, String) {
    let hyst = if q.hysteresis > 0 {
        format!(", hysteresis {}", q.hysteresis)
    } else {
        String::new()
    };
    if q.up {
        (
            "live-up",
            format!(
                "quorum up: live weight {} of {} needed{hyst}",
                q.live_weight, q.quorum
            ),
        )
    } else {
        (
            "live-down",
            format!(
                "quorum lost: live weight {} of {} needed{hyst}",
                q.live_weight, q.quorum
            ),
        )
    }
}

/// A real server's certificate warning (an https check's
/// `check_cert_days`) as the pages say it.
pub fn certificate_text(c: &Certificate) -> String {
    match c.days_left {
        d if d < -1 => format!("certificate expired {} days ago", -d),
        -1 => "certificate expired 1 day ago".to_string(),
        0 => "certificate expires today".to_string(),
        1 => "certificate expires in 1 day".to_string(),
        d => format!("certificate expires in {d} days"),
    }
}

/// Whether a virtual server needs a look: its state, a lost quorum, or a
/// real server's certificate about to expire.
pub fn service_needs_look(s: &Service) -> bool {
    virtual_state(s).is_problem()
        || s.quorum.is_some_and(|q| !q.up)
        || s.servers.iter().any(|r| r.certificate.is_some())
}

/// lvsd's status indexed by name, for the pages' look-ups.
#[derive(Debug, Clone, Default)]
pub struct LiveIndex<'a> {
    /// Whether lvsd answered (false: every block is "not running").
    pub running: bool,
    services: HashMap<&'a str, &'a Service>,
}

impl<'a> LiveIndex<'a> {
    /// The index of `status` (`None`: lvsd did not answer).
    pub fn new(status: Option<&'a LvsdStatus>) -> LiveIndex<'a> {
        let mut services = HashMap::new();
        if let Some(st) = status {
            for s in &st.services {
                // A repeated name: the first, as the configuration's
                // look-ups by name take the first block.
                services.entry(s.name.as_str()).or_insert(s);
            }
        }
        LiveIndex {
            running: status.is_some(),
            services,
        }
    }

    /// The service lvsd runs for `virtual NAME`.
    pub fn service(&self, name: &str) -> Option<&'a Service> {
        self.services.get(name).copied()
    }

    /// The destination lvsd runs for `server SNAME` of `virtual VNAME`.
    pub fn server(&self, vname: &str, sname: &str) -> Option<&'a Server> {
        self.service(vname)
            .and_then(|s| s.servers.iter().find(|r| r.server == sname))
    }

    /// The live state of a virtual server.
    pub fn virtual_state(&self, name: &str) -> VirtualState {
        self.service(name)
            .map(virtual_state)
            .unwrap_or(VirtualState::NotRunning)
    }

    /// The live state of a real server.
    pub fn server_state(&self, vname: &str, sname: &str) -> LiveState {
        self.server(vname, sname)
            .map(server_state)
            .unwrap_or(LiveState::NotRunning)
    }
}

/// A duration in milliseconds as people read it: `45 s`, `12 min`,
/// `3 h 20 min`, `2 d 4 h`.
pub fn ago(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A per-second rate with a unit prefix: `950`, `12.5k`, `3.2M`.
pub fn rate(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_status::lvsd::Stats;

    fn server(state: ServerState, in_kernel: bool, weight: i32, active: u32) -> Server {
        Server {
            server: "r".into(),
            address: "10.0.1.1".parse().expect("ip"),
            port: 80,
            state,
            weight,
            in_kernel,
            reason: None,
            since_ms: None,
            report_age_ms: None,
            active_conns: active,
            inactive_conns: 0,
            stats: Stats::default(),
            certificate: None,
            draining: false,
        }
    }

    #[test]
    fn server_states_from_lvsd() {
        use ServerState::*;
        assert_eq!(server_state(&server(Up, true, 3, 0)), LiveState::Up);
        assert_eq!(server_state(&server(Down, false, 0, 0)), LiveState::Down);
        assert_eq!(server_state(&server(Down, true, 0, 0)), LiveState::Quiesced);
        // Weight 0 with connections left is quiesced unless lvsd says it is
        // being drained.
        assert_eq!(server_state(&server(Down, true, 0, 4)), LiveState::Quiesced);
        assert_eq!(server_state(&server(Up, true, 0, 0)), LiveState::Quiesced);
        assert_eq!(server_state(&server(Up, true, 0, 1)), LiveState::Quiesced);
        let draining = Server {
            draining: true,
            ..server(Up, true, 0, 1)
        };
        assert_eq!(server_state(&draining), LiveState::Draining);
        assert_eq!(
            server_state(&server(Up, false, 0, 0)),
            LiveState::NotInKernel
        );
        assert_eq!(
            server_state(&server(Unknown, true, 1, 0)),
            LiveState::Checking
        );
        assert_eq!(server_state(&server(Sorry, true, 1, 0)), LiveState::Sorry);
        assert!(LiveState::Down.is_problem() && !LiveState::Up.is_problem());
    }

    #[test]
    fn virtual_states_and_lookups() {
        use ServerState::*;
        let svc = |servers: Vec<Server>, in_kernel: bool| Service {
            name: "web".into(),
            protocol: "tcp".into(),
            address: None,
            port: 80,
            fwmark: None,
            scheduler: "wlc".into(),
            persistent: 0,
            in_kernel,
            stats: Stats::default(),
            servers,
            quorum: None,
        };
        let up = server(Up, true, 1, 0);
        let down = server(Down, false, 0, 0);
        assert_eq!(
            virtual_state(&svc(vec![up.clone()], true)),
            VirtualState::Serving
        );
        assert_eq!(
            virtual_state(&svc(vec![up.clone(), down.clone()], true)),
            VirtualState::Degraded
        );
        let sorry = server(Sorry, true, 1, 0);
        assert_eq!(
            virtual_state(&svc(vec![down.clone(), sorry], true)),
            VirtualState::NoServer
        );
        assert_eq!(
            virtual_state(&svc(vec![up.clone()], false)),
            VirtualState::NotInKernel
        );
        let status = LvsdStatus {
            services: vec![svc(vec![up, down], true)],
        };
        let ix = LiveIndex::new(Some(&status));
        assert_eq!(ix.server_state("web", "r"), LiveState::Up);
        assert_eq!(ix.server_state("web", "nope"), LiveState::NotRunning);
        assert_eq!(ix.virtual_state("other"), VirtualState::NotRunning);
        let none = LiveIndex::new(None);
        assert!(!none.running);
        assert_eq!(none.server_state("web", "r"), LiveState::NotRunning);
    }

    #[test]
    fn quorum_and_certificates_in_words() {
        let mut q = Quorum {
            quorum: 4,
            hysteresis: 0,
            live_weight: 5,
            up: true,
        };
        assert_eq!(
            quorum_text(&q),
            (
                "live-up",
                "quorum up: live weight 5 of 4 needed".to_string()
            )
        );
        q.up = false;
        q.live_weight = 2;
        q.hysteresis = 1;
        assert_eq!(
            quorum_text(&q),
            (
                "live-down",
                "quorum lost: live weight 2 of 4 needed, hysteresis 1".to_string()
            )
        );
        let c = |days_left| Certificate {
            not_after: 0,
            days_left,
        };
        assert_eq!(certificate_text(&c(9)), "certificate expires in 9 days");
        assert_eq!(certificate_text(&c(1)), "certificate expires in 1 day");
        assert_eq!(certificate_text(&c(0)), "certificate expires today");
        assert_eq!(certificate_text(&c(-1)), "certificate expired 1 day ago");
        assert_eq!(certificate_text(&c(-3)), "certificate expired 3 days ago");
        let mut svc = Service {
            name: "web".into(),
            protocol: "tcp".into(),
            address: None,
            port: 80,
            fwmark: None,
            scheduler: "wlc".into(),
            persistent: 0,
            in_kernel: true,
            stats: Stats::default(),
            servers: vec![server(ServerState::Up, true, 1, 0)],
            quorum: None,
        };
        assert!(!service_needs_look(&svc));
        svc.quorum = Some(q);
        assert!(service_needs_look(&svc), "quorum lost");
        svc.quorum = None;
        svc.servers[0].certificate = Some(c(3));
        assert!(service_needs_look(&svc), "certificate");
    }

    #[test]
    fn durations_and_rates_read_well() {
        assert_eq!(ago(999), "0 s");
        assert_eq!(ago(45_000), "45 s");
        assert_eq!(ago(12 * 60_000 + 5_000), "12 min");
        assert_eq!(ago((3 * 3600 + 20 * 60) * 1000), "3 h 20 min");
        assert_eq!(ago((2 * 86_400 + 4 * 3600) * 1000), "2 d 4 h");
        assert_eq!(rate(950), "950");
        assert_eq!(rate(12_500), "12.5k");
        assert_eq!(rate(3_200_000), "3.2M");
    }
}
