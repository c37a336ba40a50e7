//! The IPVS connection-sync daemon, behind a trait so that tests (and this
//! kernel, which has no IPVS) can use the logging implementation.
//!
//! Takeover: stop backup, stop master, start master. Relinquish and
//! start-up: stop backup, stop master, start backup (Piranha's order,
//! docs/ARCHITECTURE.md "Takeover and relinquish").

use crate::log::Logger;
use std::sync::Arc;

/// Why the sync daemon could not be switched.
#[derive(Debug, thiserror::Error)]
pub enum SyncdError {
    /// The IPVS netlink family cannot be reached.
    #[error("cannot reach IPVS: {0}")]
    Connect(ipvs::Error),
    /// The connection vanished between opening and use.
    #[error("cannot reach IPVS")]
    NotConnected,
    /// The kernel refused to start the daemon.
    #[error("cannot start the sync daemon on {iface}: {source}")]
    Start { iface: String, source: ipvs::Error },
}

/// Switches the sync daemon between master and backup.
pub trait SyncDaemon: Send {
    /// Stop both, start master on `iface` with `syncid`.
    fn become_master(&mut self, iface: &str, syncid: u8) -> Result<(), SyncdError>;
    /// Stop both, start backup on `iface` with `syncid`.
    fn become_backup(&mut self, iface: &str, syncid: u8) -> Result<(), SyncdError>;
}

/// Only logs what it would do (verbose); selected with `--sync-daemon=log`
/// (tests, kernels without IPVS).
pub struct LoggingSyncDaemon {
    log: Arc<Logger>,
}

impl LoggingSyncDaemon {
    /// A logging implementation.
    pub fn new(log: Arc<Logger>) -> Self {
        LoggingSyncDaemon { log }
    }
}

impl SyncDaemon for LoggingSyncDaemon {
    fn become_master(&mut self, iface: &str, syncid: u8) -> Result<(), SyncdError> {
        self.log.debug(&format!(
            "DEBUG -- sync daemon: stop backup, stop master, start master --mcast-interface {iface} --syncid {syncid}"
        ));
        Ok(())
    }

    fn become_backup(&mut self, iface: &str, syncid: u8) -> Result<(), SyncdError> {
        self.log.debug(&format!(
            "DEBUG -- sync daemon: stop backup, stop master, start backup --mcast-interface {iface} --syncid {syncid}"
        ));
        Ok(())
    }
}

/// The real implementation: the kernel's sync daemons over generic netlink
/// (the `ipvs` crate). The netlink connection is opened on first use.
pub struct IpvsSyncDaemon {
    conn: Option<ipvs::Ipvs>,
}

impl IpvsSyncDaemon {
    /// Not connected yet.
    pub fn new() -> Self {
        IpvsSyncDaemon { conn: None }
    }

    fn switch(
        &mut self,
        state: ipvs::SyncState,
        iface: &str,
        syncid: u8,
    ) -> Result<(), SyncdError> {
        if self.conn.is_none() {
            self.conn = Some(ipvs::Ipvs::connect().map_err(SyncdError::Connect)?);
        }
        let Some(c) = self.conn.as_mut() else {
            return Err(SyncdError::NotConnected);
        };
        // Stopping a daemon that does not run is not an error here.
        let _ = c.stop_daemon(ipvs::SyncState::Backup);
        let _ = c.stop_daemon(ipvs::SyncState::Master);
        let d = ipvs::SyncDaemon::new(state, iface, u32::from(syncid));
        c.start_daemon(&d).map_err(|source| {
            self.conn = None;
            SyncdError::Start {
                iface: iface.to_string(),
                source,
            }
        })
    }
}

impl Default for IpvsSyncDaemon {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncDaemon for IpvsSyncDaemon {
    fn become_master(&mut self, iface: &str, syncid: u8) -> Result<(), SyncdError> {
        self.switch(ipvs::SyncState::Master, iface, syncid)
    }

    fn become_backup(&mut self, iface: &str, syncid: u8) -> Result<(), SyncdError> {
        self.switch(ipvs::SyncState::Backup, iface, syncid)
    }
}
