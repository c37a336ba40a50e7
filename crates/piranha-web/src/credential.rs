//! What a login is tied to: the fingerprint of the password entry it was
//! checked against (a session ends when the password changes), and the
//! short-lived cache of verified HTTP Basic credentials (so a Prometheus
//! scrape does not pay a bcrypt every time).
//!
//! Pure, with an injected clock. The cache never holds a password: it is
//! keyed by an HMAC of the `Authorization` header under the process's
//! secret, and an entry counts only while the password file still has the
//! entry it was verified against.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a verified Basic credential is trusted without a new check.
pub const BASIC_CACHE_TTL: Duration = Duration::from_secs(120);
/// Most credentials cached at once (the oldest goes first).
pub const BASIC_CACHE_MAX: usize = 64;

/// HMAC-SHA256 of `data` under `key`, lowercase hex.
pub fn keyed_hex(key: &str, data: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts every key length"),
    };
    mac.update(data);
    crate::session::hex(&mac.finalize().into_bytes())
}

/// The fingerprint of the user's password entry (its stored hash), keyed
/// with the process's secret: changes whenever the password does.
pub fn entry_fingerprint(secret: &str, user: &str, stored_hash: &str) -> String {
    keyed_hex(secret, format!("entry\0{user}\0{stored_hash}").as_bytes())
}

#[derive(Debug, Clone)]
struct Cached {
    fingerprint: String,
    verified: Instant,
}

/// Verified `Authorization: Basic` headers, by keyed hash.
#[derive(Debug, Default)]
pub struct BasicCache {
    map: HashMap<String, Cached>,
}

impl BasicCache {
    /// Whether the header with this keyed hash was verified less than
    /// [`BASIC_CACHE_TTL`] ago against the entry with `fingerprint`.
    /// Entries of an older password or past their time are dropped.
    pub fn check(&mut self, key: &str, fingerprint: &str, now: Instant) -> bool {
        let fresh = match self.map.get(key) {
            None => return false,
            Some(c) => {
                c.fingerprint == fingerprint
                    && now.saturating_duration_since(c.verified) < BASIC_CACHE_TTL
            }
        };
        if !fresh {
            self.map.remove(key);
        }
        fresh
    }

    /// Remembers a header just verified against the entry `fingerprint`.
    pub fn insert(&mut self, key: String, fingerprint: String, now: Instant) {
        self.map.retain(|_, c| {
            c.fingerprint == fingerprint
                && now.saturating_duration_since(c.verified) < BASIC_CACHE_TTL
        });
        while self.map.len() >= BASIC_CACHE_MAX {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, c)| c.verified)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
        self.map.insert(
            key,
            Cached {
                fingerprint,
                verified: now,
            },
        );
    }

    /// How many are cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_key_and_data() {
        assert_eq!(keyed_hex("k", b"a"), keyed_hex("k", b"a"));
        assert_ne!(keyed_hex("k", b"a"), keyed_hex("k", b"b"));
        assert_ne!(keyed_hex("k", b"a"), keyed_hex("j", b"a"));
        assert_eq!(keyed_hex("k", b"a").len(), 64);
        assert_ne!(
            entry_fingerprint("s", "piranha", "$2y$a"),
            entry_fingerprint("s", "piranha", "$2y$b")
        );
    }

    #[test]
    fn cached_credentials_expire_and_follow_the_password() {
        let t0 = Instant::now();
        let mut c = BasicCache::default();
        assert!(!c.check("h1", "fp1", t0));
        c.insert("h1".into(), "fp1".into(), t0);
        assert!(c.check("h1", "fp1", t0 + Duration::from_secs(1)));
        assert!(!c.check("h2", "fp1", t0), "another header is not cached");
        // The password changed: the entry is dropped for good.
        assert!(!c.check("h1", "fp2", t0));
        assert!(!c.check("h1", "fp1", t0));
        c.insert("h1".into(), "fp1".into(), t0);
        assert!(!c.check("h1", "fp1", t0 + BASIC_CACHE_TTL));
        assert!(c.is_empty());
    }

    #[test]
    fn the_cache_is_bounded() {
        let t0 = Instant::now();
        let mut c = BasicCache::default();
        for i in 0..BASIC_CACHE_MAX + 10 {
            c.insert(
                format!("h{i}"),
                "fp".into(),
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(c.len(), BASIC_CACHE_MAX);
        assert!(!c.check("h0", "fp", t0), "the oldest went first");
    }
}
