//! The IPVS connection-sync daemon, behind a trait so that tests (and this
//! kernel, which has no IPVS) can use the logging implementation.
//!
//! Takeover: stop backup, stop master, start master (spec 2.6 step 3).
//! Relinquish and start-up: stop backup, stop master, start backup (2.7).

use crate::log::Logger;
use std::sync::Arc;

/// Switches the sync daemon between master and backup.
pub trait SyncDaemon: Send {
    /// Stop both, start master on `iface` with `syncid`.
    fn become_master(&mut self, iface: &str, syncid: u8) -> Result<(), String>;
    /// Stop both, start backup on `iface` with `syncid`.
    fn become_backup(&mut self, iface: &str, syncid: u8) -> Result<(), String>;
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
    fn become_master(&mut self, iface: &str, syncid: u8) -> Result<(), String> {
        self.log.debug(&format!(
            "DEBUG -- sync daemon: stop backup, stop master, start master --mcast-interface {iface} --syncid {syncid}"
        ));
        Ok(())
    }

    fn become_backup(&mut self, iface: &str, syncid: u8) -> Result<(), String> {
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

    fn switch(&mut self, state: ipvs::SyncState, iface: &str, syncid: u8) -> Result<(), String> {
        if self.conn.is_none() {
            self.conn = Some(ipvs::Ipvs::connect().map_err(|e| format!("cannot reach IPVS: {e}"))?);
        }
        let Some(c) = self.conn.as_mut() else {
            return Err("cannot reach IPVS".into());
        };
        // Stopping a daemon that does not run is not an error here.
        let _ = c.stop_daemon(ipvs::SyncState::Backup);
        let _ = c.stop_daemon(ipvs::SyncState::Master);
        let d = ipvs::SyncDaemon::new(state, iface, u32::from(syncid));
        c.start_daemon(&d).map_err(|e| {
            self.conn = None;
            format!("cannot start the sync daemon on {iface}: {e}")
        })
    }
}

impl Default for IpvsSyncDaemon {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncDaemon for IpvsSyncDaemon {
    fn become_master(&mut self, iface: &str, syncid: u8) -> Result<(), String> {
        self.switch(ipvs::SyncState::Master, iface, syncid)
    }

    fn become_backup(&mut self, iface: &str, syncid: u8) -> Result<(), String> {
        self.switch(ipvs::SyncState::Backup, iface, syncid)
    }
}
