//! Draining real servers (`lvscf drain`, the web tool's DRAIN): a drained
//! server keeps its entry in the table with weight 0, so its established
//! connections go on and it gets no new one, whatever its health; once it
//! has no active connection left, lvsd sets `active = 0` on it in lvs.cf
//! (see [`crate::deactivate`]) and the reload that follows takes it out.
//!
//! Pure: the set of drains, what it does to a desired table, and which
//! drains are over, from the status document. The drains live in lvsd's
//! memory only; a restarted lvsd (or the other router after a failover)
//! has none, and the server is back at its weight until drained again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lvs_status::LvsdStatus;
use lvscf_parser::Config;

use crate::desired::Desired;

/// `(virtual NAME, server NAME)`.
pub type DrainKey = (String, String);

/// One drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// When it began.
    pub since: Instant,
    /// lvs.cf already says `active = 0` (lvsd wrote it, or somebody did):
    /// the drain ends at the next reload.
    pub deactivated: bool,
}

/// Why a drain cannot begin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    /// No such virtual server.
    #[error("lvs.cf has no virtual server `{0}`")]
    NoVirtual(String),
    /// The virtual server is not active (lvsd does not program it).
    #[error("virtual server `{0}` is not active")]
    VirtualInactive(String),
    /// No such real server in the virtual server.
    #[error("virtual server `{0}` has no real server `{1}`")]
    NoServer(String, String),
    /// The real server is not active (it is not in the table).
    #[error("real server `{1}` of virtual server `{0}` is not active: nothing to drain")]
    ServerInactive(String, String),
}

/// The drains in progress.
#[derive(Debug, Clone, Default)]
pub struct Drains {
    drains: BTreeMap<DrainKey, Drain>,
}

impl Drains {
    /// No drain.
    pub fn new() -> Drains {
        Drains::default()
    }

    /// Whether no drain is in progress.
    pub fn is_empty(&self) -> bool {
        self.drains.is_empty()
    }

    /// The drain of `virtual_name`/`server`, if any.
    pub fn get(&self, virtual_name: &str, server: &str) -> Option<&Drain> {
        self.drains
            .get(&(virtual_name.to_string(), server.to_string()))
    }

    /// Begins draining `server` of `virtual_name` (both active in
    /// `config`). `Ok(false)`: it was already draining.
    pub fn start(
        &mut self,
        config: &Config,
        virtual_name: &str,
        server: &str,
        now: Instant,
    ) -> Result<bool, DrainError> {
        let v = config
            .virtuals
            .iter()
            .find(|v| v.name == virtual_name)
            .ok_or_else(|| DrainError::NoVirtual(virtual_name.to_string()))?;
        if !v.active {
            return Err(DrainError::VirtualInactive(virtual_name.to_string()));
        }
        let s =
            v.servers.iter().find(|s| s.name == server).ok_or_else(|| {
                DrainError::NoServer(virtual_name.to_string(), server.to_string())
            })?;
        if !s.active {
            return Err(DrainError::ServerInactive(
                virtual_name.to_string(),
                server.to_string(),
            ));
        }
        let key = (virtual_name.to_string(), server.to_string());
        if self.drains.contains_key(&key) {
            return Ok(false);
        }
        self.drains.insert(
            key,
            Drain {
                since: now,
                deactivated: false,
            },
        );
        Ok(true)
    }

    /// Ends a drain (the server's weight comes back). False when there was
    /// none.
    pub fn cancel(&mut self, virtual_name: &str, server: &str) -> bool {
        self.drains
            .remove(&(virtual_name.to_string(), server.to_string()))
            .is_some()
    }

    /// Marks a drain as written to lvs.cf (`active = 0`).
    pub fn mark_deactivated(&mut self, key: &DrainKey) {
        if let Some(d) = self.drains.get_mut(key) {
            d.deactivated = true;
        }
    }

    /// After a reload: ends the drains of servers `config` no longer has
    /// active (the drain's purpose reached, or the administrator's edit).
    /// Returns them with how long they lasted.
    pub fn retain_configured(
        &mut self,
        config: &Config,
        now: Instant,
    ) -> Vec<(DrainKey, Duration)> {
        let mut ended = Vec::new();
        self.drains.retain(|(vn, sn), d| {
            let active = config
                .virtuals
                .iter()
                .find(|v| v.name == *vn)
                .filter(|v| v.active)
                .and_then(|v| v.servers.iter().find(|s| s.name == *sn))
                .is_some_and(|s| s.active);
            if !active {
                ended.push((
                    (vn.clone(), sn.clone()),
                    now.saturating_duration_since(d.since),
                ));
            }
            active
        });
        ended
    }

    /// Puts the drains into a desired table: weight 0 for each drained
    /// server that the table has (a server down without quiesce is not in
    /// it and stays out), and the mark in its description.
    pub fn apply(&self, desired: &mut Desired) {
        if self.drains.is_empty() {
            return;
        }
        // Runs at every reconcile: look names up without allocating, and
        // only in the virtual servers that have a drain.
        for (key, info) in desired.info.iter_mut() {
            let mut drained = self
                .drains
                .keys()
                .filter(|(v, _)| *v == info.name)
                .map(|(_, s)| s.as_str())
                .peekable();
            if drained.peek().is_none() {
                continue;
            }
            let drained: Vec<&str> = drained.collect();
            for s in info.servers.iter_mut() {
                if !drained.contains(&s.name.as_str()) {
                    continue;
                }
                s.draining = true;
                if let Some(d) = desired
                    .table
                    .services
                    .get_mut(key)
                    .and_then(|e| e.dests.get_mut(&(s.addr, s.port)))
                {
                    d.weight = 0;
                }
            }
        }
    }

    /// The drains that are over: drained servers that the live table shows
    /// with no active connection (or not at all), not yet written to
    /// lvs.cf.
    pub fn finished(&self, live: &LvsdStatus) -> Vec<DrainKey> {
        self.drains
            .iter()
            .filter(|(_, d)| !d.deactivated)
            .filter(|((vn, sn), _)| {
                let conns = live
                    .services
                    .iter()
                    .filter(|v| v.name == *vn)
                    .flat_map(|v| v.servers.iter())
                    .find(|s| s.server == *sn)
                    .map(|s| s.active_conns)
                    .unwrap_or(0);
                conns == 0
            })
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// The active and inactive connections of `virtual_name`/`server` in a
/// status document (0, 0 when it is not there).
pub fn connections(live: &LvsdStatus, virtual_name: &str, server: &str) -> (u32, u32) {
    live.services
        .iter()
        .filter(|v| v.name == virtual_name)
        .flat_map(|v| v.servers.iter())
        .find(|s| s.server == server)
        .map(|s| (s.active_conns, s.inactive_conns))
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests;
