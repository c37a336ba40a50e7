//! htpasswd files: reading entries and verifying passwords.
//!
//! Piranha's password file is an Apache htpasswd file with one line
//! `piranha:<hash>`. Existing files carry whatever scheme the machine's
//! htpasswd used: DES `crypt()` (13 characters), `$apr1$` MD5, `{SHA}`,
//! bcrypt (`$2y$`, `$2a$`, `$2b$`), glibc `$1$`/`$5$`/`$6$`, or plain text.
//! New hashes are bcrypt (`$2y$`, cost 12), which Apache reads too.

use base64::Engine as _;
use md5::{Digest as _, Md5};
use sha1::Sha1;

/// The only user Piranha's GUI knows.
pub const USER: &str = "piranha";

/// bcrypt cost for new hashes.
pub const BCRYPT_COST: u32 = 12;

/// A hash scheme found in a password file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Traditional DES `crypt()`, 13 characters.
    Des,
    /// Apache `$apr1$` MD5.
    Apr1,
    /// `{SHA}` base64 of SHA-1 (unsalted).
    Sha1,
    /// bcrypt `$2y$`/`$2a$`/`$2b$`.
    Bcrypt,
    /// glibc crypt: `$1$` MD5, `$5$` SHA-256, `$6$` SHA-512.
    GlibcCrypt,
    /// No hash at all.
    Plain,
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which scheme a stored hash uses.
pub fn scheme_of(hash: &str) -> Scheme {
    if hash.starts_with("$apr1$") {
        Scheme::Apr1
    } else if hash.starts_with("{SHA}") {
        Scheme::Sha1
    } else if hash.starts_with("$2y$") || hash.starts_with("$2a$") || hash.starts_with("$2b$") {
        Scheme::Bcrypt
    } else if hash.starts_with("$1$") || hash.starts_with("$5$") || hash.starts_with("$6$") {
        Scheme::GlibcCrypt
    } else if hash.len() == 13 && hash.bytes().all(|b| ITOA64.contains(&b)) {
        Scheme::Des
    } else {
        Scheme::Plain
    }
}

/// Compares two byte strings in time that depends only on their lengths
/// (never on where they first differ): every byte pair is combined, and
/// `black_box` keeps the optimiser from turning the loop into an early
/// exit. WEB-03 measures it (tests/constant_time.rs).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | ((a.len() ^ b.len()) >> 8) as u8;
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff = std::hint::black_box(diff | (x ^ y));
    }
    diff == 0 && a.len() == b.len()
}

fn to64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(ITOA64[(v & 0x3f) as usize] as char);
        v >>= 6;
    }
}

/// The MD5-crypt algorithm with a given magic (`$apr1$` or `$1$`).
/// `salt` is the text after the magic, up to 8 characters before any `$`.
pub fn md5_crypt(password: &[u8], magic: &str, salt: &str) -> String {
    let salt = salt.split('$').next().unwrap_or("");
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    let mut alt = Md5::new();
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    let alt = alt.finalize();
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i != 0 {
        if i & 1 != 0 {
            ctx.update([0u8]);
        } else {
            ctx.update([password.first().copied().unwrap_or(0)]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 != 0 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 != 0 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize();
    }
    let mut out = String::with_capacity(40);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let f = |i: usize| u32::from(fin[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(&mut out, (f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    to64(&mut out, f(11), 2);
    out
}

/// `{SHA}` followed by the base64 SHA-1 of the password.
pub fn sha1_hash(password: &[u8]) -> String {
    let digest = Sha1::digest(password);
    format!(
        "{{SHA}}{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Checks `password` against a stored hash of any supported scheme.
pub fn verify(password: &str, hash: &str) -> bool {
    let pw = password.as_bytes();
    match scheme_of(hash) {
        Scheme::Apr1 => {
            let salt = &hash["$apr1$".len()..];
            constant_time_eq(md5_crypt(pw, "$apr1$", salt).as_bytes(), hash.as_bytes())
        }
        Scheme::Sha1 => constant_time_eq(sha1_hash(pw).as_bytes(), hash.as_bytes()),
        // pwhash recomputes the hash with the stored salt and cost; the
        // comparison with the stored hash is ours, so it is the same
        // constant-time loop for every scheme.
        Scheme::Bcrypt | Scheme::GlibcCrypt => recomputed_matches(password, hash),
        Scheme::Des => {
            // A 13-character plain-text entry looks like DES; Apache on
            // Linux would not accept it, but files written with
            // `htpasswd -p` hold plain entries, and they keep working.
            // Both are computed, so the time does not say which matched.
            let des = recomputed_matches(password, hash);
            let plain = constant_time_eq(pw, hash.as_bytes());
            des | plain
        }
        Scheme::Plain => constant_time_eq(pw, hash.as_bytes()),
    }
}

/// Recomputes `hash` (bcrypt, glibc `$1$`/`$5$`/`$6$`, DES) from
/// `password` with the stored salt and parameters and compares the result.
/// A malformed stored hash fails (pwhash can panic on some; caught).
fn recomputed_matches(password: &str, hash: &str) -> bool {
    match std::panic::catch_unwind(|| pwhash::unix::crypt(password, hash)) {
        Ok(Ok(computed)) => constant_time_eq(computed.as_bytes(), hash.as_bytes()),
        _ => false,
    }
}

/// Why a new password could not be hashed (bcrypt refuses a cost outside
/// 4-31; the system's random generator can fail).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HashError(#[from] pwhash::error::Error);

/// A bcrypt hash (`$2y$`, cost [`BCRYPT_COST`]) for a new password.
pub fn hash_new(password: &str) -> Result<String, HashError> {
    hash_with_cost(password, BCRYPT_COST)
}

/// A bcrypt hash with an explicit cost (tests use a low one).
pub fn hash_with_cost(password: &str, cost: u32) -> Result<String, HashError> {
    let setup = pwhash::bcrypt::BcryptSetup {
        salt: None,
        cost: Some(cost),
        variant: Some(pwhash::bcrypt::BcryptVariant::V2y),
    };
    Ok(pwhash::bcrypt::hash_with(setup, password)?)
}

/// One parsed line of an htpasswd file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The user name.
    pub user: String,
    /// The stored hash.
    pub hash: String,
}

/// Parses htpasswd text: `user:hash` lines; blank lines and `#` comments
/// are skipped; CR before LF is dropped.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (user, hash) = l.split_once(':')?;
            Some(Entry {
                user: user.to_string(),
                hash: hash.to_string(),
            })
        })
        .collect()
}

/// The stored hash of `user` (the first entry, as Apache uses).
pub fn lookup<'a>(entries: &'a [Entry], user: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|e| e.user == user)
        .map(|e| e.hash.as_str())
}

/// A hash every failed lookup is verified against, so that an unknown user
/// costs as much time as a known one.
const DUMMY_BCRYPT: &str = "$2y$12$0123456789abcdefghijkuNtw3b0DW0Qk7/S5Dt1mQ0h2Bh8ebFGu";

/// Verifies `user`/`password` against the file's entries. Only
/// [`USER`] may log in; other users always fail (after the same work).
pub fn check_login(entries: &[Entry], user: &str, password: &str) -> bool {
    match (user == USER, lookup(entries, user)) {
        (true, Some(hash)) => verify(password, hash),
        _ => {
            let _ = verify(password, DUMMY_BCRYPT);
            false
        }
    }
}

/// Replaces (or adds) `user`'s line in htpasswd text, keeping other lines.
pub fn set_entry(text: &str, user: &str, hash: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in text.lines() {
        let is_user = line
            .split_once(':')
            .map(|(u, _)| u == user)
            .unwrap_or(false);
        if is_user {
            if !done {
                out.push_str(&format!("{user}:{hash}\n"));
                done = true;
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !done {
        out.push_str(&format!("{user}:{hash}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with Debian apache2-utils 2.4 `htpasswd -nb[d|m|s|B|p]`
    // piranha <password>; see the test names for the scheme.
    include!("htpasswd_vectors.rs");

    #[test]
    fn schemes_are_detected() {
        assert_eq!(scheme_of("$apr1$abc$def"), Scheme::Apr1);
        assert_eq!(scheme_of("{SHA}xyz"), Scheme::Sha1);
        assert_eq!(scheme_of("$2y$05$abc"), Scheme::Bcrypt);
        assert_eq!(scheme_of("abcdefghijklm"), Scheme::Des);
        assert_eq!(scheme_of("hello world"), Scheme::Plain);
    }

    #[test]
    fn vectors_verify_and_wrong_passwords_fail() {
        for (password, line) in VECTORS {
            let entries = parse(line);
            assert_eq!(entries.len(), 1, "{line}");
            assert!(
                check_login(&entries, USER, password),
                "{line} should accept {password:?}"
            );
            assert!(
                !check_login(&entries, USER, "wrong"),
                "{line} accepted a wrong password"
            );
            // DES crypt reads only 8 characters (a property of the scheme).
            if scheme_of(&entries[0].hash) != Scheme::Des || password.len() < 8 {
                assert!(
                    !check_login(&entries, USER, &format!("{password}x")),
                    "{line} accepted a longer password"
                );
            }
        }
    }

    #[test]
    fn apr1_matches_known_vector() {
        for (password, line) in VECTORS {
            let entries = parse(line);
            let hash = &entries[0].hash;
            if let Some(rest) = hash.strip_prefix("$apr1$") {
                assert_eq!(&md5_crypt(password.as_bytes(), "$apr1$", rest), hash);
            }
        }
    }

    #[test]
    fn only_piranha_may_log_in() {
        let entries = parse("admin:secret\npiranha:other\n");
        assert!(!check_login(&entries, "admin", "secret"));
        assert!(check_login(&entries, USER, "other"));
        assert!(!check_login(&[], USER, "other"));
    }

    #[test]
    fn new_hashes_are_bcrypt_and_verify() {
        let h = hash_with_cost("s3cret pass", 4).expect("hash");
        assert!(h.starts_with("$2y$04$"), "{h}");
        assert!(verify("s3cret pass", &h));
        assert!(!verify("s3cret pas", &h));
    }

    #[test]
    fn garbage_hashes_do_not_panic() {
        for h in [
            "$2y$",
            "$2y$99$x",
            "$1$",
            "$apr1$",
            "{SHA}",
            "",
            "$6$$",
            "$5$rounds=1$",
        ] {
            let _ = verify("x", h);
        }
    }

    #[test]
    fn set_entry_replaces_only_that_user() {
        let t = set_entry("# c\nother:x\npiranha:old\n", USER, "new");
        assert_eq!(t, "# c\nother:x\npiranha:new\n");
        assert_eq!(set_entry("", USER, "h"), "piranha:h\n");
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
