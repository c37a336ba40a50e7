//! What nanny said about each real server. Pure.
//!
//! A server is identified by (virtual name, server name, address, port):
//! a report about an address that the configuration no longer gives that
//! server (a reload changed it) is stale and ignored, so a changed address
//! starts "unknown" until nanny checks it. The jobs lvsd sends to nanny are
//! built by the `jobs` module.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use lvscf_parser::{Config, VirtualServer};
use nanny::protocol::{self, Report, ServerReport, State};

/// A line on a nanny's standard output that is not a report.
#[derive(Debug, thiserror::Error)]
#[error("unreadable nanny line {line:?}: {error}")]
pub struct UnreadableLine {
    /// The line (without its end).
    pub line: String,
    /// Why it does not parse.
    #[source]
    pub error: serde_json::Error,
}

/// Reads one line of a nanny's standard output (trimmed; `None` for a
/// blank line).
pub fn parse_report(line: &str) -> Option<Result<Report, UnreadableLine>> {
    let text = line.trim();
    if text.is_empty() {
        return None;
    }
    Some(Report::from_line(text).map_err(|error| UnreadableLine {
        line: text.to_string(),
        error,
    }))
}

/// Identity of a checked real server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId {
    /// `virtual NAME`.
    pub virtual_name: String,
    /// `server NAME`.
    pub server: String,
    /// Its address.
    pub addr: IpAddr,
    /// Its (real) port.
    pub port: u16,
}

/// The last decision nanny reported for a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// In the table at this weight.
    Up(u32),
    /// Out of the table (or at weight 0 with `quiesce_server`).
    Down,
}

/// When nanny's reports about a server came, and why it is down: what the
/// status socket shows beside the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Since when it has been up, or down.
    pub since: Instant,
    /// When nanny's latest report about it came.
    pub reported: Instant,
    /// Why it is down (nanny's reason; none while up).
    pub reason: Option<String>,
}

/// Reports received so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    states: HashMap<ServerId, ServerState>,
    notes: HashMap<ServerId, Note>,
    initial_done: BTreeSet<String>,
    certificates: HashMap<ServerId, protocol::CertExpiry>,
    /// Whether each virtual with `quorum` has it (absent: not decided).
    quorum: HashMap<String, bool>,
}

/// What a report changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A server's state or weight changed.
    Changed {
        /// The server.
        id: ServerId,
        /// Its state before, if it had one.
        before: Option<ServerState>,
        /// Its state now.
        now: ServerState,
    },
    /// Nothing changed (a repeated report).
    Unchanged,
    /// The first round of checks of these virtuals is over.
    InitialRoundDone(Vec<String>),
    /// The line is ignored (stale, not for this nanny, or an unknown event).
    Ignored(String),
}

impl Health {
    /// No reports yet.
    pub fn new() -> Health {
        Health::default()
    }

    /// The reported state of a server, `None` while nanny has not decided.
    pub fn state(&self, id: &ServerId) -> Option<ServerState> {
        self.states.get(id).copied()
    }

    /// When and why, for the server's latest reports.
    pub fn note(&self, id: &ServerId) -> Option<&Note> {
        self.notes.get(id)
    }

    /// Whether the first round of checks of a virtual is over.
    pub fn initial_done(&self, virtual_name: &str) -> bool {
        self.initial_done.contains(virtual_name)
    }

    /// Marks the first round of a virtual as over (nanny said so, or the
    /// wait for it timed out).
    pub fn set_initial_done(&mut self, virtual_name: &str) {
        self.initial_done.insert(virtual_name.to_string());
    }

    /// Re-decides every quorum (after a reload: `quorum` may have changed).
    pub fn refresh_quorums(&mut self, config: &Config) {
        let names: Vec<String> = config
            .active_virtuals()
            .filter(|v| v.health.quorum.is_some())
            .map(|v| v.name.clone())
            .collect();
        self.quorum.retain(|n, _| names.contains(n));
        for n in names {
            self.update_quorum(&n, config);
        }
    }

    /// Applies one report line from the nanny watching `watched` (the
    /// virtual names of its job), received now. `config` tells which
    /// servers exist.
    pub fn apply(&mut self, report: &Report, watched: &[String], config: &Config) -> Applied {
        self.apply_at(report, watched, config, Instant::now())
    }

    /// [`Health::apply`] of a report received at `at`.
    pub fn apply_at(
        &mut self,
        report: &Report,
        watched: &[String],
        config: &Config,
        at: Instant,
    ) -> Applied {
        match report {
            Report::Event(e) if e.event == protocol::INITIAL_ROUND_DONE => {
                let mut newly = Vec::new();
                for v in watched {
                    if self.initial_done.insert(v.clone()) {
                        newly.push(v.clone());
                    }
                }
                for v in &newly {
                    self.update_quorum(v, config);
                }
                Applied::InitialRoundDone(newly)
            }
            Report::Event(e) => Applied::Ignored(match &e.error {
                Some(err) => format!("nanny event {}: {err}", e.event),
                None => format!("nanny event {}", e.event),
            }),
            Report::Server(r) => {
                let applied = self.apply_server(r, watched, config, at);
                if let Applied::Changed { id, .. } = &applied {
                    self.update_quorum(&id.virtual_name, config);
                }
                applied
            }
            Report::Certificate(c) => {
                let id = ServerId {
                    virtual_name: c.virtual_name.clone(),
                    server: c.server.clone(),
                    addr: c.address,
                    port: c.port,
                };
                if !watched.contains(&c.virtual_name) || !is_configured(config, &id) {
                    return Applied::Ignored(format!(
                        "stale certificate report for {}/{}",
                        c.virtual_name, c.server
                    ));
                }
                match &c.certificate {
                    Some(e) => self.certificates.insert(id, e.clone()),
                    None => self.certificates.remove(&id),
                };
                Applied::Unchanged
            }
        }
    }

    /// The certificate warning of a server's https check, if any.
    pub fn certificate(&self, id: &ServerId) -> Option<&protocol::CertExpiry> {
        self.certificates.get(id)
    }

    /// Whether a virtual with `quorum` has it; `None` before its servers
    /// are decided (or without `quorum`).
    pub fn has_quorum(&self, virtual_name: &str) -> Option<bool> {
        self.quorum.get(virtual_name).copied()
    }

    /// The live weight of a virtual: the configured weights of its servers
    /// reported up.
    pub fn live_weight(&self, v: &VirtualServer) -> u64 {
        v.active_servers()
            .filter(|s| {
                s.ip().is_some_and(|addr| {
                    let id = ServerId {
                        virtual_name: v.name.clone(),
                        server: s.name.clone(),
                        addr,
                        port: v.server_port(s),
                    };
                    matches!(self.states.get(&id), Some(ServerState::Up(_)))
                })
            })
            .map(|s| u64::from(s.weight))
            .sum()
    }

    /// Re-decides the quorum of `virtual_name` after a change.
    fn update_quorum(&mut self, virtual_name: &str, config: &Config) {
        if let Some(v) = config.active_virtuals().find(|v| v.name == virtual_name) {
            let Some(q) = v.health.quorum else {
                self.quorum.remove(virtual_name);
                return;
            };
            let undecided = v.active_servers().any(|s| {
                s.ip().is_some_and(|addr| {
                    !self.states.contains_key(&ServerId {
                        virtual_name: v.name.clone(),
                        server: s.name.clone(),
                        addr,
                        port: v.server_port(s),
                    })
                })
            });
            if undecided && !self.initial_done.contains(virtual_name) {
                // Not before the first round: a server not checked yet is
                // not a lost quorum.
                self.quorum.remove(virtual_name);
                return;
            }
            let live = self.live_weight(v);
            let before = self.quorum.get(virtual_name).copied();
            let now = crate::quorum::decide(before, live, q, v.health.hysteresis.unwrap_or(0));
            self.quorum.insert(virtual_name.to_string(), now);
        }
    }

    fn apply_server(
        &mut self,
        r: &ServerReport,
        watched: &[String],
        config: &Config,
        at: Instant,
    ) -> Applied {
        if !watched.contains(&r.virtual_name) {
            return Applied::Ignored(format!(
                "report for virtual {} from a nanny that does not watch it",
                r.virtual_name
            ));
        }
        let id = ServerId {
            virtual_name: r.virtual_name.clone(),
            server: r.server.clone(),
            addr: r.address,
            port: r.port,
        };
        if !is_configured(config, &id) {
            return Applied::Ignored(format!(
                "stale report for {}/{} ({})",
                r.virtual_name, r.server, r.address
            ));
        }
        let now = match r.state {
            State::Up => ServerState::Up(r.weight),
            State::Down => ServerState::Down,
        };
        let before = self.states.insert(id.clone(), now);
        let same_kind = matches!(
            (before, now),
            (Some(ServerState::Up(_)), ServerState::Up(_))
                | (Some(ServerState::Down), ServerState::Down)
        );
        let reason = match now {
            ServerState::Up(_) => None,
            ServerState::Down => r.reason.clone(),
        };
        match self.notes.get_mut(&id) {
            Some(n) if same_kind => {
                n.reported = at;
                n.reason = reason;
            }
            _ => {
                self.notes.insert(
                    id.clone(),
                    Note {
                        since: at,
                        reported: at,
                        reason,
                    },
                );
            }
        }
        if before == Some(now) {
            Applied::Unchanged
        } else {
            Applied::Changed { id, before, now }
        }
    }

    /// Forgets servers and virtuals that `config` no longer has.
    pub fn retain_configured(&mut self, config: &Config) {
        // Virtuals by name (a repeated name keeps all its blocks), then a
        // scan of that virtual's few servers: not a scan of every virtual
        // per known server (10,000 x 1,000 names for a large file), nor an
        // index of every server (a reload need not build one).
        let mut by_name: HashMap<&str, Vec<&VirtualServer>> = HashMap::new();
        for v in config.active_virtuals() {
            by_name.entry(v.name.as_str()).or_default().push(v);
        }
        let configured = |id: &ServerId| {
            by_name.get(id.virtual_name.as_str()).is_some_and(|vs| {
                vs.iter().any(|v| {
                    v.active_servers().any(|s| {
                        s.name == id.server
                            && s.ip() == Some(id.addr)
                            && v.server_port(s) == id.port
                    })
                })
            })
        };
        self.states.retain(|id, _| configured(id));
        self.notes.retain(|id, _| configured(id));
        self.initial_done
            .retain(|v| by_name.contains_key(v.as_str()));
        let states = &self.states;
        self.certificates.retain(|id, _| states.contains_key(id));
        self.refresh_quorums(config);
    }

    /// Forgets everything about one virtual (its nanny is restarted and
    /// will report again).
    pub fn forget_virtual(&mut self, virtual_name: &str) {
        self.initial_done.remove(virtual_name);
    }
}

fn is_configured(config: &Config, id: &ServerId) -> bool {
    config.active_virtuals().any(|v| {
        v.name == id.virtual_name
            && v.active_servers().any(|s| {
                s.name == id.server && s.ip() == Some(id.addr) && v.server_port(s) == id.port
            })
    })
}
