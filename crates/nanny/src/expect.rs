//! Matching what a server sent against the `expect` string.
//!
//! Fixed relative to Piranha: the expect text may arrive split over several
//! reads (nanny keeps reading until it can decide, up to [`MAX_READ`] bytes
//! or the probe deadline), and regular expressions are compiled once with a
//! size limit; a bad one is an error reported once, at load.

use crate::escape;

/// Bound on what one probe reads from a server (or a program's output).
pub const MAX_READ: usize = 64 * 1024;

/// Compiled expectation.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Nothing expected: no read at all (TCP), see PROTOCOL.md for UDP.
    Nothing,
    /// `expect = "*"`: any byte.
    AnyByte,
    /// The reply must start with these bytes (Piranha's prefix match).
    Prefix(Vec<u8>),
    /// A regular expression matched anywhere in what was read.
    Regex(regex::bytes::Regex),
}

/// Decision about the bytes read so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Success.
    Match,
    /// Cannot decide yet: read more.
    NeedMore,
    /// Failure.
    Mismatch,
}

/// A bad `expect` regular expression.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("Error '{0}' processing expected regular expression")]
pub struct BadRegex(pub String);

impl PartialEq for Expect {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Expect::Nothing, Expect::Nothing) | (Expect::AnyByte, Expect::AnyByte) => true,
            (Expect::Prefix(a), Expect::Prefix(b)) => a == b,
            (Expect::Regex(a), Expect::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}
impl Eq for Expect {}

impl std::hash::Hash for Expect {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match self {
            Expect::Nothing => 0u8.hash(h),
            Expect::AnyByte => 1u8.hash(h),
            Expect::Prefix(p) => {
                2u8.hash(h);
                p.hash(h)
            }
            Expect::Regex(r) => {
                3u8.hash(h);
                r.as_str().hash(h)
            }
        }
    }
}

impl Expect {
    /// Compile a raw lvs.cf expect string (escapes untranslated unless
    /// `suppress_escapes`). An empty string expects nothing.
    pub fn compile(
        raw: Option<&str>,
        use_regex: bool,
        suppress_escapes: bool,
    ) -> Result<Expect, BadRegex> {
        let raw = match raw {
            None | Some("") => return Ok(Expect::Nothing),
            Some(r) => r,
        };
        let bytes = if suppress_escapes {
            raw.as_bytes().to_vec()
        } else {
            escape::translate(raw)
        };
        if use_regex {
            // translate() only rewrites ASCII, so the result is still UTF-8.
            let pat = String::from_utf8_lossy(&bytes);
            regex::bytes::RegexBuilder::new(&pat)
                .size_limit(1 << 20)
                .dfa_size_limit(1 << 20)
                .nest_limit(64)
                .build()
                .map(Expect::Regex)
                .map_err(|e| {
                    BadRegex(
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("bad regex")
                            .trim()
                            .to_string(),
                    )
                })
        } else if bytes == b"*" {
            Ok(Expect::AnyByte)
        } else {
            Ok(Expect::Prefix(bytes))
        }
    }

    /// Whether anything must be read.
    pub fn wants_reply(&self) -> bool {
        !matches!(self, Expect::Nothing)
    }

    /// Decide on `data` (everything read so far); `eof` = no more will come.
    pub fn check(&self, data: &[u8], eof: bool) -> Verdict {
        let full = eof || data.len() >= MAX_READ;
        match self {
            Expect::Nothing => Verdict::Match,
            Expect::AnyByte => {
                if !data.is_empty() {
                    Verdict::Match
                } else if full {
                    Verdict::Mismatch
                } else {
                    Verdict::NeedMore
                }
            }
            Expect::Prefix(p) => {
                let n = data.len().min(p.len());
                if data[..n] != p[..n] {
                    Verdict::Mismatch
                } else if n == p.len() {
                    Verdict::Match
                } else if full {
                    Verdict::Mismatch
                } else {
                    Verdict::NeedMore
                }
            }
            Expect::Regex(r) => {
                let d = &data[..data.len().min(MAX_READ)];
                if r.is_match(d) {
                    Verdict::Match
                } else if full {
                    Verdict::Mismatch
                } else {
                    Verdict::NeedMore
                }
            }
        }
    }

    /// Printable form for logs.
    pub fn describe(&self) -> String {
        match self {
            Expect::Nothing => String::new(),
            Expect::AnyByte => "*".into(),
            Expect::Prefix(p) => escape::show(p, 64),
            Expect::Regex(r) => r.as_str().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    /// Reliability catalogue FLT-S03 (docs/RELIABILITY.md).
    #[test]
    fn prefix_across_reads() {
        let e = Expect::compile(Some("HTTP/1.0 200"), false, false).unwrap();
        assert_eq!(e.check(b"", false), NeedMore);
        assert_eq!(e.check(b"HT", false), NeedMore);
        assert_eq!(e.check(b"HTTP/1.0 200 OK", false), Match);
        assert_eq!(e.check(b"HX", false), Mismatch);
        assert_eq!(e.check(b"HT", true), Mismatch);
        assert_eq!(e.check(b"http/1.0 200", false), Mismatch);
    }

    #[test]
    fn escapes_in_expect() {
        let e = Expect::compile(Some(r"OK\r\n"), false, false).unwrap();
        assert_eq!(e.check(b"OK\r\n", false), Match);
        let e = Expect::compile(Some(r"OK\r\n"), false, true).unwrap();
        assert_eq!(e.check(b"OK\\r\\n", false), Match);
    }

    #[test]
    fn wildcard() {
        let e = Expect::compile(Some("*"), false, false).unwrap();
        assert_eq!(e, Expect::AnyByte);
        assert_eq!(e.check(b"x", false), Match);
        assert_eq!(e.check(b"", false), NeedMore);
        assert_eq!(e.check(b"", true), Mismatch);
    }

    #[test]
    fn regex() {
        let e = Expect::compile(Some("HTTP/1\\.[01] 200"), true, false).unwrap();
        assert_eq!(e.check(b"HTTP/1.1 2", false), NeedMore);
        assert_eq!(e.check(b"xxHTTP/1.1 200", false), Match);
        assert_eq!(e.check(b"HTTP/1.1 500", true), Mismatch);
        let big = vec![b'a'; MAX_READ];
        assert_eq!(e.check(&big, false), Mismatch);
        let bad = Expect::compile(Some("(unclosed"), true, false).unwrap_err();
        assert!(bad.to_string().starts_with("Error '"), "{bad}");
        assert!(Expect::compile(Some("a{1000}{1000}{1000}"), true, false).is_err());
    }

    #[test]
    fn empty_is_nothing() {
        assert_eq!(
            Expect::compile(Some(""), false, false).unwrap(),
            Expect::Nothing
        );
        assert_eq!(Expect::compile(None, true, false).unwrap(), Expect::Nothing);
    }

    /// A regex is matched against what was read so far (as Piranha's nanny
    /// matched its one read): `$` anchors at the end of that, so `H$`
    /// matches a first read of `H` even if `X` would have followed. nanny
    /// cannot wait for the end of the reply: servers keep connections open.
    #[test]
    fn dollar_anchors_at_what_was_read() {
        let e = Expect::compile(Some("H$"), true, false).unwrap();
        assert_eq!(e.check(b"H", false), Match);
        assert_eq!(e.check(b"HX", true), Mismatch);
    }

    /// Reliability catalogue FLT-S03, the T0 fuzz of the response matcher:
    /// any `expect` (prefix or regex, escapes or not) against any reply,
    /// read in any pieces, never panics, and a decision taken on part of
    /// the reply is the one the whole reply gets: a match stays a match, a
    /// mismatch stays a mismatch, and "read more" at the end of the reply
    /// cannot happen.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn expects() -> impl Strategy<Value = (String, bool, bool)> {
            (
                prop_oneof![
                    "[ -~]{0,24}",
                    r"(HTTP|SSH|220|\\r\\n|\\x[0-9a-f]{2}|[.*+?()|^$]){0,6}",
                ],
                any::<bool>(),
                any::<bool>(),
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]
            #[test]
            fn decisions_on_a_part_hold_for_the_whole(
                (raw, use_regex, suppress) in expects(),
                reply in prop::collection::vec(any::<u8>(), 0..300),
                cuts in prop::collection::vec(any::<usize>(), 0..6),
            ) {
                let Ok(e) = Expect::compile(Some(&raw), use_regex, suppress) else {
                    return Ok(());
                };
                let whole = e.check(&reply, true);
                prop_assert_ne!(whole, NeedMore);
                if use_regex && raw.contains('$') {
                    // `$` matches at the end of what was read so far (see
                    // `dollar_anchors_at_what_was_read`): no monotony.
                    return Ok(());
                }
                let mut ends: Vec<usize> = cuts.iter().map(|c| c % (reply.len() + 1)).collect();
                ends.sort_unstable();
                for end in ends {
                    match e.check(&reply[..end], false) {
                        Match => prop_assert_eq!(whole, Match, "{:?} matched {} bytes", raw, end),
                        Mismatch => prop_assert_eq!(whole, Mismatch, "{:?} refused {} bytes", raw, end),
                        NeedMore => {}
                    }
                }
            }

            #[test]
            fn a_reply_that_starts_with_the_prefix_matches(
                prefix in prop::collection::vec(1u8..=255, 1..40),
                rest in prop::collection::vec(any::<u8>(), 0..100),
            ) {
                let e = Expect::Prefix(prefix.clone());
                let mut reply = prefix.clone();
                reply.extend_from_slice(&rest);
                prop_assert_eq!(e.check(&reply, true), Match);
                let mut wrong = reply.clone();
                wrong[0] ^= 0x80;
                prop_assert_eq!(e.check(&wrong, true), Mismatch);
            }
        }
    }
}
