//! Sessions, CSRF tokens, login throttling and the client allow-list.
//!
//! Pure data structures with an injected clock (`Instant` arguments), so
//! expiry and backoff are tested without sleeping.

use crate::htpasswd::constant_time_eq;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const COOKIE: &str = "piranha_session";

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after login, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// At most this many sessions are kept; the oldest is dropped first.
pub const MAX_SESSIONS: usize = 256;

/// `n` random bytes as lowercase hex, from the operating system's CSPRNG.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if getrandom::getrandom(&mut buf).is_err() {
        // The kernel's generator cannot fail after boot; refuse to continue
        // with predictable tokens rather than invent entropy.
        std::process::abort();
    }
    hex(&buf)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// When it logged in.
    pub created: Instant,
    /// Its last request.
    pub last_seen: Instant,
    /// The fingerprint of the password entry it logged in with
    /// ([`crate::credential::entry_fingerprint`]): once the password
    /// changes, the session is over.
    pub credential: String,
}

/// The sessions of the server process (lost on restart, by design).
#[derive(Debug, Default)]
pub struct Sessions {
    map: HashMap<String, Session>,
}

impl Sessions {
    /// Creates a session and returns its id (a fresh random id every time,
    /// so a cookie planted before login is never promoted: no fixation).
    pub fn create(&mut self, now: Instant, credential: &str) -> (String, Session) {
        self.expire(now);
        while self.map.len() >= MAX_SESSIONS {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
        let id = random_hex(32);
        let session = Session {
            csrf: random_hex(32),
            created: now,
            last_seen: now,
            credential: credential.to_string(),
        };
        self.map.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with this id, touched, if it logged in with the
    /// password entry whose fingerprint is `credential`; expired ones and
    /// those of an older password are removed.
    pub fn get(&mut self, id: &str, credential: &str, now: Instant) -> Option<Session> {
        let alive = match self.map.get(id) {
            None => return None,
            Some(s) => {
                now.saturating_duration_since(s.last_seen) < IDLE_TIMEOUT
                    && now.saturating_duration_since(s.created) < ABSOLUTE_TIMEOUT
                    && constant_time_eq(s.credential.as_bytes(), credential.as_bytes())
            }
        };
        if !alive {
            self.map.remove(id);
            return None;
        }
        let s = self.map.get_mut(id)?;
        s.last_seen = now;
        Some(s.clone())
    }

    /// Ends a session (logout).
    pub fn remove(&mut self, id: &str) {
        self.map.remove(id);
    }

    /// Drops every expired session.
    pub fn expire(&mut self, now: Instant) {
        self.map.retain(|_, s| {
            now.saturating_duration_since(s.last_seen) < IDLE_TIMEOUT
                && now.saturating_duration_since(s.created) < ABSOLUTE_TIMEOUT
        });
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Checks a submitted CSRF token in constant time.
pub fn csrf_ok(expected: &str, submitted: Option<&str>) -> bool {
    match submitted {
        Some(s) => constant_time_eq(expected.as_bytes(), s.as_bytes()),
        None => false,
    }
}

/// The CSRF token for a client that authenticates with HTTP Basic on every
/// request (no session): derived from the server's secret, stable for the
/// process lifetime.
pub fn basic_csrf(secret: &str) -> String {
    sha256_hex(format!("{secret}:basic-auth-csrf").as_bytes())
}

/// Whether a request's `Origin`/`Sec-Fetch-Site` say it came from another
/// site. `host` is the request's Host header; `origin` and `fetch_site`
/// the headers if present.
pub fn cross_site(host: Option<&str>, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
    if let Some(site) = fetch_site {
        if site != "same-origin" && site != "none" {
            return true;
        }
    }
    if let Some(origin) = origin {
        // Browsers send `Origin: null` for some same-origin posts (privacy
        // settings); their Sec-Fetch-Site then tells the truth.
        if origin == "null" && fetch_site == Some("same-origin") {
            return false;
        }
        let Some(host) = host else {
            return true;
        };
        let matches = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .map(|rest| rest.eq_ignore_ascii_case(host))
            .unwrap_or(false);
        if !matches {
            return true;
        }
    }
    false
}

/// Extracts a cookie's value from a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Decodes `Authorization: Basic ...` into (user, password).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Failures counted within this window.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures from one client address before it is locked out.
pub const MAX_FAILURES_PER_CLIENT: usize = 5;
/// Failures for the user (from anywhere) before logins back off.
pub const MAX_FAILURES_PER_USER: usize = 10;

/// Failed-login bookkeeping (WEB-03): a client address is locked out after
/// [`MAX_FAILURES_PER_CLIENT`] failures in [`FAILURE_WINDOW`] for a time
/// that doubles with each further failure (capped at the window); the user
/// as a whole backs off the same way after [`MAX_FAILURES_PER_USER`].
/// Sessions that are already logged in are never affected.
///
/// An attempt is counted as a failure when it starts ([`Throttle::begin`])
/// and forgiven when its password turns out right
/// ([`Throttle::succeeded`]), so attempts checked in parallel cannot slip
/// past the lock while the first ones are still being checked.
///
/// While the user-wide brake is on, an address that has not failed within
/// the window may still try, once: a correct password from the admin's own
/// address gets through while someone else hammers the login, and each
/// address an attacker uses buys a single guess per brake.
#[derive(Debug, Default)]
pub struct Throttle {
    clients: HashMap<IpAddr, Vec<Instant>>,
    user: Vec<Instant>,
}

/// One login attempt under way: returned by [`Throttle::begin`], given back
/// to [`Throttle::succeeded`] when the password was right.
#[derive(Debug)]
#[must_use = "a successful attempt must be given back to Throttle::succeeded"]
pub struct Attempt {
    at: Instant,
}

fn lock_left(failures: &[Instant], limit: usize, now: Instant) -> Option<Duration> {
    if failures.len() < limit {
        return None;
    }
    let extra = (failures.len() - limit).min(10) as u32;
    let lock = Duration::from_secs(30u64 << extra).min(FAILURE_WINDOW);
    let last = *failures.last()?;
    let until = last + lock;
    (until > now).then(|| until - now)
}

impl Throttle {
    fn prune(&mut self, now: Instant) {
        let keep = |t: &Instant| now.saturating_duration_since(*t) < FAILURE_WINDOW;
        self.user.retain(keep);
        self.clients.retain(|_, v| {
            v.retain(keep);
            !v.is_empty()
        });
    }

    /// How long `client` must still wait before it may try again.
    pub fn locked(&mut self, client: IpAddr, now: Instant) -> Option<Duration> {
        self.prune(now);
        let mine = self.clients.get(&client).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(wait) = lock_left(mine, MAX_FAILURES_PER_CLIENT, now) {
            return Some(wait);
        }
        // The user-wide brake stops only addresses that failed themselves.
        if mine.is_empty() {
            return None;
        }
        lock_left(&self.user, MAX_FAILURES_PER_USER, now)
    }

    /// Starts an attempt: refused with the time left while `client` is
    /// locked, else counted as a failure at once (undone by
    /// [`Throttle::succeeded`]).
    pub fn begin(&mut self, client: IpAddr, now: Instant) -> Result<Attempt, Duration> {
        if let Some(wait) = self.locked(client, now) {
            return Err(wait);
        }
        self.failed(client, now);
        Ok(Attempt { at: now })
    }

    /// Records a failed attempt that [`Throttle::begin`] did not count.
    pub fn failed(&mut self, client: IpAddr, now: Instant) {
        self.prune(now);
        self.clients.entry(client).or_default().push(now);
        self.user.push(now);
        // Bound memory: a flood from many addresses keeps only the newest.
        if self.user.len() > 10_000 {
            self.user.drain(..5_000);
        }
        if self.clients.len() > 10_000 {
            self.clients.clear();
        }
    }

    /// The attempt's password was right: it is no failure, and that
    /// client's earlier failures are forgotten.
    pub fn succeeded(&mut self, client: IpAddr, attempt: Attempt) {
        self.clients.remove(&client);
        if let Some(i) = self.user.iter().rposition(|t| *t == attempt.at) {
            self.user.remove(i);
        }
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a `--allow` network does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("`{0}`: not an address")]
    NotAnAddress(String),
    /// The prefix length is not a number up to 32 (IPv4) or 128 (IPv6).
    #[error("`{0}`: bad prefix length")]
    BadPrefix(String),
}

impl std::str::FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| CidrError::NotAnAddress(s.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| CidrError::BadPrefix(s.to_string()))?,
        };
        // Clients are compared as IPv4 when they are IPv4-mapped, so the
        // network is too.
        if let IpAddr::V6(v6) = addr {
            if let (Some(v4), true) = (v6.to_ipv4_mapped(), prefix >= 96) {
                return Ok(Cidr {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                });
            }
        }
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is inside the network (IPv4-mapped IPv6 addresses count
    /// as their IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether a client may talk to us: an empty list allows everyone.
pub fn allowed(list: &[Cidr], ip: IpAddr) -> bool {
    list.is_empty() || list.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue WEB-14 (docs/RELIABILITY.md).
    #[test]
    fn sessions_expire_and_ids_are_fresh() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        let (a, sa) = s.create(t0, "fp");
        let (b, _) = s.create(t0, "fp");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(s.get(&a, "fp", t0 + Duration::from_secs(60)).is_some());
        assert_eq!(s.get(&a, "fp", t0).map(|x| x.csrf), Some(sa.csrf));
        assert!(s
            .get(&a, "fp", t0 + Duration::from_secs(60) + IDLE_TIMEOUT)
            .is_none());
        assert!(s.get(&a, "fp", t0).is_none(), "expired sessions are gone");
        s.remove(&b);
        assert!(s.get(&b, "fp", t0).is_none());
        assert!(s.get("not-a-session", "fp", t0).is_none());
    }

    #[test]
    fn a_new_password_ends_the_sessions_of_the_old_one() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        let (a, _) = s.create(t0, "old");
        assert!(s.get(&a, "old", t0).is_some());
        assert!(s.get(&a, "new", t0).is_none());
        assert!(s.get(&a, "old", t0).is_none(), "and it stays ended");
    }

    #[test]
    fn absolute_timeout_applies_to_busy_sessions() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        let (a, _) = s.create(t0, "fp");
        let mut t = t0;
        while t < t0 + ABSOLUTE_TIMEOUT - Duration::from_secs(600) {
            t += Duration::from_secs(600);
            assert!(s.get(&a, "fp", t).is_some());
        }
        assert!(s.get(&a, "fp", t0 + ABSOLUTE_TIMEOUT).is_none());
    }

    #[test]
    fn session_count_is_bounded() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        for _ in 0..MAX_SESSIONS + 10 {
            s.create(t0, "fp");
        }
        assert_eq!(s.len(), MAX_SESSIONS);
    }

    /// Reliability catalogue WEB-05 (docs/RELIABILITY.md).
    #[test]
    fn csrf_checks() {
        assert!(csrf_ok("abc", Some("abc")));
        assert!(!csrf_ok("abc", Some("abd")));
        assert!(!csrf_ok("abc", Some("")));
        assert!(!csrf_ok("abc", None));
        assert_ne!(basic_csrf("a"), basic_csrf("b"));
    }

    #[test]
    fn cross_site_detection() {
        assert!(!cross_site(Some("h:3636"), None, None));
        assert!(!cross_site(
            Some("h:3636"),
            Some("http://h:3636"),
            Some("same-origin")
        ));
        assert!(!cross_site(Some("h:3636"), Some("https://H:3636"), None));
        assert!(cross_site(Some("h:3636"), Some("http://evil"), None));
        assert!(cross_site(Some("h:3636"), Some("null"), None));
        assert!(!cross_site(
            Some("h:3636"),
            Some("null"),
            Some("same-origin")
        ));
        assert!(cross_site(Some("h:3636"), Some("null"), Some("cross-site")));
        assert!(cross_site(Some("h:3636"), None, Some("cross-site")));
        assert!(cross_site(Some("h:3636"), None, Some("same-site")));
        assert!(!cross_site(Some("h:3636"), None, Some("none")));
        assert!(cross_site(None, Some("http://h"), None));
    }

    #[test]
    fn cookies_and_basic() {
        assert_eq!(
            cookie_value("a=1; piranha_session=xyz; b=2", COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value("a=1", COOKIE), None);
        assert_eq!(
            parse_basic("Basic cGlyYW5oYTpxOng="),
            Some(("piranha".into(), "q:x".into()))
        );
        assert_eq!(parse_basic("Bearer x"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }

    #[test]
    fn throttle_locks_client_then_user() {
        let t0 = Instant::now();
        let mut th = Throttle::default();
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        for i in 0..MAX_FAILURES_PER_CLIENT {
            assert!(th.locked(a, t0).is_none(), "locked too early at {i}");
            th.failed(a, t0);
        }
        assert!(th.locked(a, t0).is_some());
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        assert!(th.locked(b, t0).is_none());
        // Many addresses, one user.
        for i in 0..MAX_FAILURES_PER_USER {
            let ip: IpAddr = format!("10.1.0.{i}").parse().expect("ip");
            th.failed(ip, t0);
        }
        assert!(th.locked(b, t0).is_none(), "a clean address may try");
        th.failed(b, t0);
        assert!(th.locked(b, t0).is_some(), "user-wide backoff");
        // Everything is forgotten after the window.
        assert!(th
            .locked(a, t0 + FAILURE_WINDOW + Duration::from_secs(1))
            .is_none());
        // Backoff grows with further failures.
        let mut th = Throttle::default();
        for _ in 0..MAX_FAILURES_PER_CLIENT {
            th.failed(a, t0);
        }
        let first = th.locked(a, t0).expect("locked");
        th.failed(a, t0);
        let second = th.locked(a, t0).expect("locked");
        assert!(second > first);
    }

    #[test]
    fn attempts_count_before_they_are_checked() {
        let t0 = Instant::now();
        let mut th = Throttle::default();
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        // Five attempts under way at once: the sixth waits.
        let pending: Vec<Attempt> = (0..MAX_FAILURES_PER_CLIENT)
            .map(|_| th.begin(a, t0).expect("allowed"))
            .collect();
        assert!(th.begin(a, t0).is_err());
        // One of them was right: the address is forgiven.
        let mut pending = pending.into_iter();
        th.succeeded(a, pending.next().expect("one"));
        assert!(th.begin(a, t0).is_ok());
        // A success undoes its own count for the user, not the others'.
        let mut th = Throttle::default();
        let ok = th.begin(a, t0).expect("allowed");
        th.succeeded(a, ok);
        assert!(th.user.is_empty());
    }

    #[test]
    fn the_user_brake_lets_a_clean_address_try_once() {
        let t0 = Instant::now();
        let mut th = Throttle::default();
        for i in 0..MAX_FAILURES_PER_USER {
            let ip: IpAddr = format!("10.1.0.{}", i / 2).parse().expect("ip");
            th.failed(ip, t0);
        }
        let failed: IpAddr = "10.1.0.0".parse().expect("ip");
        assert!(th.locked(failed, t0).is_some(), "a failed address waits");
        // The admin's address has not failed: its right password is checked.
        let admin: IpAddr = "192.0.2.7".parse().expect("ip");
        let at = th.begin(admin, t0).expect("a clean address may try");
        th.succeeded(admin, at);
        assert!(th.locked(admin, t0).is_none());
        // An attacker's fresh address gets one guess, then waits.
        let fresh: IpAddr = "198.51.100.9".parse().expect("ip");
        let _wrong = th.begin(fresh, t0).expect("one guess");
        assert!(
            th.begin(fresh, t0).is_err(),
            "only one guess under the brake"
        );
    }

    #[test]
    fn cidr_matching() {
        let n: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(n.contains("10.1.2.3".parse().expect("ip")));
        assert!(!n.contains("11.1.2.3".parse().expect("ip")));
        assert!(n.contains("::ffff:10.1.2.3".parse().expect("ip")));
        let one: Cidr = "127.0.0.1".parse().expect("cidr");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        let v6: Cidr = "fd00::/8".parse().expect("cidr");
        assert!(v6.contains("fd12::1".parse().expect("ip")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("x/8".parse::<Cidr>().is_err());
        assert!(allowed(&[], "1.2.3.4".parse().expect("ip")));
        assert!(!allowed(&[n], "1.2.3.4".parse().expect("ip")));
    }

    /// Clients are compared as IPv4 when they come as IPv4-mapped IPv6
    /// addresses, so a network written in that form must be too: it used
    /// to match no client at all.
    #[test]
    fn an_ipv4_mapped_network_matches_its_ipv4_clients() {
        let n: Cidr = "::ffff:10.0.0.0/104".parse().expect("cidr");
        assert!(n.contains("10.1.2.3".parse().expect("ip")));
        assert!(n.contains("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!n.contains("11.1.2.3".parse().expect("ip")));
        let one: Cidr = "::ffff:127.0.0.1".parse().expect("cidr");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        assert!("::ffff:10.0.0.0/129".parse::<Cidr>().is_err());
    }
}
