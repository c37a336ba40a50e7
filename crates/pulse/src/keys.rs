//! The heartbeat key file (`heartbeat_key = PATH`).
//!
//! Two layouts are read:
//!
//! * **One key** (the original layout): the whole file is the secret,
//!   trailing whitespace ignored, at least 16 bytes. Its key id is 0.
//! * **A key list**, recognised by its first line being exactly
//!   `pulse-heartbeat-keys 1` (a header no single key written by hand or by a
//!   generator starts with, so a one-key file is never misread):
//!
//!   ```text
//!   pulse-heartbeat-keys 1
//!   # comments and blank lines are ignored
//!   key 1 first secret, at least 16 bytes
//!   key 2 the next secret, at least 16 bytes
//!   send 2
//!   ```
//!
//!   `key ID SECRET`: ID is a decimal number 0..=4294967295, used once;
//!   SECRET is the rest of the line with surrounding blanks removed.
//!   `send ID` names the key heartbeats are signed with; it may be left out
//!   when there is a single key. Every listed key is accepted on receipt, so
//!   a rotation is make-before-break: add the new key on both routers
//!   (SIGHUP), switch `send` on both, then remove the old key.
//!
//! [`parse`] is pure; [`load`] adds the file checks (HB-10: a regular file,
//! not a symlink, owned by root, no group or other permission bits).

use std::fmt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The header line of the key-list layout.
pub const HEADER: &str = "pulse-heartbeat-keys 1";
/// Shortest accepted secret.
pub const MIN_SECRET: usize = 16;

/// The keys of one router: every key is accepted, one signs.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<(u32, Vec<u8>)>,
    send: u32,
}

// Secrets never reach a log line: Debug shows the ids only.
impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.ids())
            .field("send", &self.send)
            .finish()
    }
}

impl Keyring {
    /// A ring with one key under `id`, used to sign.
    pub fn single(id: u32, secret: Vec<u8>) -> Keyring {
        Keyring {
            keys: vec![(id, secret)],
            send: id,
        }
    }

    /// A ring from `(id, secret)` pairs signing with `send`; `None` if `send`
    /// is not among them, an id repeats, or the list is empty.
    pub fn new(keys: Vec<(u32, Vec<u8>)>, send: u32) -> Option<Keyring> {
        let mut ids: Vec<u32> = keys.iter().map(|k| k.0).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != keys.len() || !ids.contains(&send) {
            return None;
        }
        Some(Keyring { keys, send })
    }

    /// The secret of key `id`, if listed.
    pub fn get(&self, id: u32) -> Option<&[u8]> {
        self.keys.iter().find(|k| k.0 == id).map(|k| k.1.as_slice())
    }

    /// The signing key: `(id, secret)`.
    pub fn sending(&self) -> (u32, &[u8]) {
        // `new` and `single` guarantee the send id is listed; an empty
        // secret would only make every signature fail, never panic.
        (self.send, self.get(self.send).unwrap_or(&[]))
    }

    /// The signing key id.
    pub fn send_id(&self) -> u32 {
        self.send
    }

    /// Every key id, in file order.
    pub fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.0).collect()
    }
}

fn trim_end(mut b: &[u8]) -> &[u8] {
    while let Some((last, rest)) = b.split_last() {
        if !last.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    b
}

fn trim(b: &[u8]) -> &[u8] {
    let b = trim_end(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

/// What is wrong with the contents of a key file; the list layout's errors
/// name the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyListError {
    /// A one-key file with too short a secret.
    #[error("is shorter than {MIN_SECRET} bytes")]
    ShortFile,
    /// `key` without a numeric id.
    #[error("line {line}: `key` needs a numeric id 0..=4294967295")]
    KeyId { line: usize },
    /// A listed secret that is too short.
    #[error("line {line}: the secret of key {id} is shorter than {MIN_SECRET} bytes")]
    ShortSecret { line: usize, id: u32 },
    /// An id listed twice.
    #[error("line {line}: key {id} is listed twice")]
    Duplicate { line: usize, id: u32 },
    /// `send` without exactly one numeric id.
    #[error("line {line}: `send` needs one numeric key id")]
    SendId { line: usize },
    /// A second `send` line.
    #[error("line {line}: `send` is given twice")]
    SendTwice { line: usize },
    /// A line that is none of the three kinds.
    #[error("line {line}: expected `key ID SECRET`, `send ID` or a # comment")]
    Unknown { line: usize },
    /// The header and nothing else.
    #[error("lists no key")]
    NoKey,
    /// Several keys, none named for signing.
    #[error("lists several keys but no `send ID` line")]
    NoSend,
    /// `send` names an id that is not listed.
    #[error("`send {0}` names a key that is not listed")]
    SendUnlisted(u32),
}

/// Why the key file cannot be used; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// It cannot be examined or read.
    #[error("heartbeat key {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A symlink, directory or other non-file.
    #[error("heartbeat key {} is not a regular file", path.display())]
    NotRegular { path: PathBuf },
    /// Owned by someone else than root.
    #[error("heartbeat key {} is owned by uid {uid}, not root", path.display())]
    NotRoot { path: PathBuf, uid: u32 },
    /// Readable or writable by group or others.
    #[error("heartbeat key {} has mode {mode:04o}; it must be readable by root only (0600)", path.display())]
    Mode { path: PathBuf, mode: u32 },
    /// Its contents are wrong.
    #[error("heartbeat key {} {source}", path.display())]
    Contents { path: PathBuf, source: KeyListError },
}

// pulse's start-up still reports its errors as text.
impl From<KeyFileError> for String {
    fn from(e: KeyFileError) -> String {
        e.to_string()
    }
}

/// Parses the contents of a key file (either layout). Errors name the line.
pub fn parse(bytes: &[u8]) -> Result<Keyring, KeyListError> {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if trim_end(first) != HEADER.as_bytes() {
        let secret = trim_end(bytes);
        if secret.len() < MIN_SECRET {
            return Err(KeyListError::ShortFile);
        }
        return Ok(Keyring::single(0, secret.to_vec()));
    }
    let mut keys: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut send: Option<u32> = None;
    for (n, raw) in bytes.split(|&b| b == b'\n').enumerate().skip(1) {
        let lineno = n + 1;
        let line = trim(raw);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let (word, rest) = split_word(line);
        match word {
            b"key" => {
                let (id, secret) = split_word(rest);
                let id = parse_id(id).ok_or(KeyListError::KeyId { line: lineno })?;
                if secret.len() < MIN_SECRET {
                    return Err(KeyListError::ShortSecret { line: lineno, id });
                }
                if keys.iter().any(|k| k.0 == id) {
                    return Err(KeyListError::Duplicate { line: lineno, id });
                }
                keys.push((id, secret.to_vec()));
            }
            b"send" => {
                let (id, extra) = split_word(rest);
                let id = match parse_id(id) {
                    Some(id) if extra.is_empty() => id,
                    _ => return Err(KeyListError::SendId { line: lineno }),
                };
                if send.replace(id).is_some() {
                    return Err(KeyListError::SendTwice { line: lineno });
                }
            }
            _ => return Err(KeyListError::Unknown { line: lineno }),
        }
    }
    let send = match (send, keys.as_slice()) {
        (_, []) => return Err(KeyListError::NoKey),
        (Some(id), _) => id,
        (None, [only]) => only.0,
        (None, _) => return Err(KeyListError::NoSend),
    };
    Keyring::new(keys, send).ok_or(KeyListError::SendUnlisted(send))
}

fn split_word(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|c| c.is_ascii_whitespace()) {
        Some(i) => (&b[..i], trim(&b[i..])),
        None => (b, &[]),
    }
}

fn parse_id(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Reads and checks the key file (HB-10), then parses it. The error names
/// the file and what is wrong.
pub fn load(path: &Path) -> Result<Keyring, KeyFileError> {
    let at = || path.to_path_buf();
    let meta = std::fs::symlink_metadata(path)
        .map_err(|source| KeyFileError::Io { path: at(), source })?;
    if !meta.file_type().is_file() {
        return Err(KeyFileError::NotRegular { path: at() });
    }
    if meta.uid() != 0 {
        return Err(KeyFileError::NotRoot {
            path: at(),
            uid: meta.uid(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Mode { path: at(), mode });
    }
    let bytes = std::fs::read(path).map_err(|source| KeyFileError::Io { path: at(), source })?;
    parse(&bytes).map_err(|source| KeyFileError::Contents { path: at(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_file_as_before() {
        let k = parse(b"this is the shared heartbeat key\n\n").unwrap();
        assert_eq!(k.ids(), vec![0]);
        assert_eq!(k.sending(), (0, &b"this is the shared heartbeat key"[..]));
        // binary keys with inner newlines stay one key
        let bin = [
            0xffu8, b'\n', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        ];
        assert_eq!(parse(&bin).unwrap().get(0), Some(&bin[..]));
        // a passphrase that merely looks like the list syntax is one key
        let k = parse(b"key 1 for the lvs routers\nsend 1\n").unwrap();
        assert_eq!(k.ids(), vec![0]);
        assert_eq!(
            parse(b"short\n").unwrap_err().to_string(),
            "is shorter than 16 bytes".to_string()
        );
    }

    #[test]
    fn key_list() {
        let text = b"pulse-heartbeat-keys 1\n# rotation\n\n  key 1   the first secret 1234  \r\nkey 7 the second secret 5678\nsend 7\n";
        let k = parse(text).unwrap();
        assert_eq!(k.ids(), vec![1, 7]);
        assert_eq!(k.get(1), Some(&b"the first secret 1234"[..]));
        assert_eq!(k.sending(), (7, &b"the second secret 5678"[..]));
        assert_eq!(k.get(2), None);
        // one key: send may be left out
        let k = parse(b"pulse-heartbeat-keys 1\nkey 4294967295 0123456789abcdef\n").unwrap();
        assert_eq!(k.send_id(), u32::MAX);
        // Debug never shows a secret
        assert!(!format!("{k:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn key_list_errors_name_the_line() {
        let cases: [(&[u8], &str); 9] = [
            (b"pulse-heartbeat-keys 1\n", "lists no key"),
            (
                b"pulse-heartbeat-keys 1\nkey 1 0123456789abcdef\nkey 2 0123456789abcdef\n",
                "no `send ID` line",
            ),
            (
                b"pulse-heartbeat-keys 1\nkey 1 0123456789abcdef\nsend 2\n",
                "`send 2` names a key that is not listed",
            ),
            (
                b"pulse-heartbeat-keys 1\nkey 1 short\n",
                "line 2: the secret",
            ),
            (
                b"pulse-heartbeat-keys 1\nkey x 0123456789abcdef\n",
                "line 2: `key` needs a numeric id",
            ),
            (
                b"pulse-heartbeat-keys 1\nkey 4294967296 0123456789abcdef\n",
                "line 2: `key` needs a numeric id",
            ),
            (
                b"pulse-heartbeat-keys 1\nkey 1 0123456789abcdef\n\nkey 1 0123456789abcdeg\n",
                "line 4: key 1 is listed twice",
            ),
            (
                b"pulse-heartbeat-keys 1\nkey 1 0123456789abcdef\nsend 1\nsend 1\n",
                "line 4: `send` is given twice",
            ),
            (
                b"pulse-heartbeat-keys 1\nauth 1\n",
                "line 2: expected `key ID SECRET`",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
        }
    }

    #[test]
    fn ring_invariants() {
        assert!(Keyring::new(vec![], 0).is_none());
        assert!(Keyring::new(vec![(1, vec![1]), (1, vec![2])], 1).is_none());
        assert!(Keyring::new(vec![(1, vec![1])], 2).is_none());
        assert!(Keyring::new(vec![(1, vec![1]), (2, vec![2])], 2).is_some());
    }
}
