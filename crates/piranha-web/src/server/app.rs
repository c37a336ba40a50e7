//! The state every handler shares.

use crate::credential::{self, BasicCache};
use crate::session::{self, Cidr, Sessions, Throttle};
use crate::store::{Snapshot, Store};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Where things are and who may connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// lvs.cf.
    pub config: PathBuf,
    /// The htpasswd file.
    pub passwd_file: PathBuf,
    /// pulse's status socket.
    pub pulse_socket: PathBuf,
    /// lvsd's status socket.
    pub lvsd_socket: PathBuf,
    /// Client networks allowed (empty = all).
    pub allow: Vec<Cidr>,
    /// Time allowed for the copy to the backup.
    pub copy_timeout: Duration,
    /// The daemons' exec-policy allowlist (`/etc/sysconfig/lvs-programs`):
    /// read to refuse, at save time, programs the daemons would not run,
    /// and to show which ones they would.
    pub programs: PathBuf,
}

struct Inner {
    opts: Options,
    store: Store,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    basic_cache: Mutex<BasicCache>,
    live: crate::live_cache::LiveCache,
    secret: String,
}

/// The password file as read for one request: its entries and the
/// fingerprint of the user's entry (what logins are tied to).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Every entry of the file.
    pub entries: Vec<crate::htpasswd::Entry>,
    /// [`credential::entry_fingerprint`] of the user `piranha`'s entry.
    pub fingerprint: String,
}

/// The shared application state.
#[derive(Clone)]
pub struct App(Arc<Inner>);

/// A lock that a panicked holder left is still usable: the data are plain
/// maps, always consistent between two statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl App {
    /// Builds the state.
    pub fn new(opts: Options) -> App {
        let store = Store::new(opts.config.clone());
        App(Arc::new(Inner {
            store,
            opts,
            sessions: Mutex::new(Sessions::default()),
            throttle: Mutex::new(Throttle::default()),
            basic_cache: Mutex::new(BasicCache::default()),
            live: crate::live_cache::LiveCache::default(),
            secret: session::random_hex(32),
        }))
    }

    /// Where things are.
    pub fn options(&self) -> &Options {
        &self.0.opts
    }

    /// The store of lvs.cf.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Reads lvs.cf now.
    pub fn snapshot(&self) -> std::io::Result<Snapshot> {
        self.0.store.read()
    }

    /// lvsd's status, shared between requests for a short while
    /// ([`crate::live_cache`]).
    pub fn live_cache(&self) -> &crate::live_cache::LiveCache {
        &self.0.live
    }

    /// lvsd's status for a page: the shared copy or a new answer.
    pub async fn lvsd_live(&self) -> crate::live_cache::Fetched {
        self.0.live.get(&self.0.opts.lvsd_socket).await
    }

    /// The logged-in sessions.
    pub fn sessions(&self) -> MutexGuard<'_, Sessions> {
        lock(&self.0.sessions)
    }

    /// The failed-login bookkeeping.
    pub fn throttle(&self) -> MutexGuard<'_, Throttle> {
        lock(&self.0.throttle)
    }

    /// The verified HTTP Basic credentials.
    pub fn basic_cache(&self) -> MutexGuard<'_, BasicCache> {
        lock(&self.0.basic_cache)
    }

    /// The password file now, with the fingerprint of the user's entry; none
    /// when it is missing or has no user piranha.
    pub fn credentials(&self) -> Option<Credentials> {
        let entries = self.passwd_entries()?;
        let stored = crate::htpasswd::lookup(&entries, crate::htpasswd::USER)?;
        let fingerprint =
            credential::entry_fingerprint(&self.0.secret, crate::htpasswd::USER, stored);
        Some(Credentials {
            entries,
            fingerprint,
        })
    }

    /// The process's secret (for the CSRF token of HTTP Basic clients).
    pub fn secret(&self) -> &str {
        &self.0.secret
    }

    /// The daemons' exec policy as it stands now (the allowlist is read
    /// again for every request that needs it, so an edit shows at once).
    pub fn policy(&self) -> exec_policy::Policy {
        exec_policy::Policy::load_from(&self.0.opts.programs)
    }

    /// The password file's entries, if it exists and has the user piranha.
    pub fn passwd_entries(&self) -> Option<Vec<crate::htpasswd::Entry>> {
        let text = std::fs::read_to_string(&self.0.opts.passwd_file).ok()?;
        let entries = crate::htpasswd::parse(&text);
        crate::htpasswd::lookup(&entries, crate::htpasswd::USER)?;
        Some(entries)
    }

    /// The password file's path, for the pages.
    pub fn passwd_path(&self) -> String {
        self.0.opts.passwd_file.display().to_string()
    }
}
