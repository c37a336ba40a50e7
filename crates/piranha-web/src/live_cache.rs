//! lvsd's status shared between requests for a short while.
//!
//! With 2,000 virtual servers of 10 real servers lvsd's document is about
//! 6 MiB of JSON; asking for it and parsing it for every page cost more
//! than the whole page may (300 ms). The pages therefore share one copy:
//! a request takes the copy when it is younger than [`MAX_AGE`], and
//! otherwise asks lvsd again, one request at a time (the others wait for
//! that answer instead of asking too). What a page shows of the live state
//! is thus at most [`MAX_AGE`] older than lvsd's own, and the page says how
//! old it is ([`Fetched::age`]). An action that changes the live state
//! (DRAIN) drops the copy, so its own page shows the change.

use crate::status::lvsd_status;
use lvs_status::LvsdStatus;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a copy of lvsd's status serves the pages.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// lvsd's status as one request asked for it, or why lvsd did not answer.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The document, or lvsd's error.
    pub status: Result<Arc<LvsdStatus>, String>,
    /// When lvsd answered.
    pub at: Instant,
}

impl Fetched {
    /// How old the copy is now.
    pub fn age(&self) -> Duration {
        self.at.elapsed()
    }
}

/// Whether a copy taken at `at` may still serve at `now` (pure).
pub fn usable(at: Instant, now: Instant, max_age: Duration) -> bool {
    now.checked_duration_since(at)
        .is_some_and(|age| age < max_age)
}

/// The shared copy.
#[derive(Debug)]
pub struct LiveCache {
    max_age: Duration,
    // A tokio mutex, held across the question to lvsd: the requests that
    // find the copy too old wait for one answer instead of each asking.
    slot: tokio::sync::Mutex<Option<Fetched>>,
}

impl Default for LiveCache {
    fn default() -> LiveCache {
        LiveCache::new(MAX_AGE)
    }
}

impl LiveCache {
    /// A cache whose copies serve for `max_age`.
    pub fn new(max_age: Duration) -> LiveCache {
        LiveCache {
            max_age,
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// How long a copy serves.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// lvsd's status on `socket`: the shared copy while it is young
    /// enough, else a new answer (which becomes the copy).
    pub async fn get(&self, socket: &Path) -> Fetched {
        let mut slot = self.slot.lock().await;
        if let Some(f) = slot.as_ref() {
            if usable(f.at, Instant::now(), self.max_age) {
                return f.clone();
            }
        }
        let status = lvsd_status(socket)
            .await
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let fetched = Fetched {
            status,
            at: Instant::now(),
        };
        *slot = Some(fetched.clone());
        fetched
    }

    /// Drops the copy: the next request asks lvsd.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_serve_only_while_young() {
        let t0 = Instant::now();
        let max = Duration::from_secs(2);
        assert!(usable(t0, t0, max));
        assert!(usable(t0, t0 + Duration::from_millis(1999), max));
        assert!(!usable(t0, t0 + max, max));
        assert!(!usable(t0, t0 + Duration::from_secs(60), max));
        // A clock that seems to go back never serves a copy "from the
        // future".
        assert!(!usable(t0 + Duration::from_secs(5), t0, max));
    }

    #[test]
    fn one_answer_serves_several_requests_and_invalidate_asks_again() {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = std::env::temp_dir().join(format!("live-cache-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let sock = dir.join("lvsd.sock");
        let _ = std::fs::remove_file(&sock);
        let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let mut req = String::new();
                let _ = BufReader::new(&s).read_line(&mut req);
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = (&s).write_all(b"{\"services\":[]}\n");
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            let cache = LiveCache::new(Duration::from_secs(60));
            for _ in 0..3 {
                let f = cache.get(&sock).await;
                assert!(f.status.is_ok(), "{:?}", f.status);
            }
            assert_eq!(asked.load(Ordering::SeqCst), 1);
            cache.invalidate().await;
            let _ = cache.get(&sock).await;
            assert_eq!(asked.load(Ordering::SeqCst), 2);
            // An expired copy is not used.
            let short = LiveCache::new(Duration::ZERO);
            let _ = short.get(&sock).await;
            let _ = short.get(&sock).await;
            assert_eq!(asked.load(Ordering::SeqCst), 4);
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
