//! Our extension keywords of a `virtual` (or `failover`) block: the native
//! health checks nanny runs itself (`check = http | https | dns` and its
//! `check_*` settings) and keepalived's `quorum` / `hysteresis`. Piranha
//! 0.8.6 knew none of them; a file without them means what it always
//! meant. Their values, what storing them refuses, and the checks across
//! keywords (a `check_url` without `check`, a DNS check without a query)
//! live here so that the rest of the parser only routes to them.

use crate::diag::{Code, Severity};
use crate::keywords::Key;
use crate::model::{Protocol, VirtualServer};
use crate::value::{Problem, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Default `check_url`.
pub const DEFAULT_CHECK_URL: &str = "/";
/// Default `check_cert_days`.
pub const DEFAULT_CERT_DAYS: u32 = 14;
/// Default `check_status` (any success).
pub const DEFAULT_STATUS: (u16, u16) = (200, 299);
/// Record types `check_query` accepts.
pub const DNS_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA",
];

/// `check`: which native check nanny runs instead of send/expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckType {
    /// HTTP/1.1 GET of `check_url`.
    Http,
    /// The same over TLS (rustls).
    Https,
    /// A DNS query for `check_query`.
    Dns,
}

impl CheckType {
    /// The keyword's values.
    pub const KEYWORDS: &'static [&'static str] = &["http", "https", "dns"];

    fn from_keyword(s: &str) -> Option<CheckType> {
        match s {
            "http" => Some(CheckType::Http),
            "https" => Some(CheckType::Https),
            "dns" => Some(CheckType::Dns),
            _ => None,
        }
    }
}

impl fmt::Display for CheckType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckType::Http => "http",
            CheckType::Https => "https",
            CheckType::Dns => "dns",
        })
    }
}

/// `check_status = 200-299,301`: the HTTP status codes that count as up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct StatusSet(Vec<(u16, u16)>);

impl StatusSet {
    /// Parses `200`, `200-299`, `200-299,301` (blanks around commas are
    /// allowed; codes are 100 to 599).
    pub fn parse(text: &str) -> Result<StatusSet, String> {
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("`{text}` has an empty item"));
            }
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let code = |s: &str| -> Result<u16, String> {
                match s.parse::<u16>() {
                    Ok(n) if (100..=599).contains(&n) && s.bytes().all(|b| b.is_ascii_digit()) => {
                        Ok(n)
                    }
                    _ => Err(format!("`{s}` is not an HTTP status code (100 to 599)")),
                }
            };
            let (lo, hi) = (code(lo)?, code(hi)?);
            if lo > hi {
                return Err(format!("range `{part}` is backwards"));
            }
            ranges.push((lo, hi));
        }
        Ok(StatusSet(ranges))
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }

    /// The ranges, inclusive.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }
}

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet(vec![DEFAULT_STATUS])
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

impl From<StatusSet> for String {
    fn from(s: StatusSet) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for StatusSet {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        StatusSet::parse(&s)
    }
}

/// `check_query = NAME [TYPE]` (type `A` when absent).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DnsQuery {
    /// The name asked for (as written; a trailing dot is allowed).
    pub name: String,
    /// The record type, uppercase (one of [`DNS_TYPES`]).
    pub qtype: String,
}

impl DnsQuery {
    /// Parses the words after `=`.
    pub(crate) fn parse(words: &[String]) -> Result<DnsQuery, Problem> {
        let name = words.first().map(String::as_str).unwrap_or("");
        let valid_name = !name.is_empty()
            && name.len() <= 253
            && (name == "."
                || name
                    .trim_end_matches('.')
                    .split('.')
                    .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(is_label_byte)));
        if !valid_name {
            return Err(Problem::error(
                Code::InvalidArgument,
                format!("invalid argument: `{name}` is not a DNS name"),
            )
            .hint("write `check_query = www.example.com A`"));
        }
        let qtype = match words.get(1) {
            None => "A".to_string(),
            Some(t) => {
                let upper = t.to_ascii_uppercase();
                if !DNS_TYPES.contains(&upper.as_str()) {
                    return Err(Problem::error(
                        Code::InvalidArgument,
                        format!("invalid argument: `{t}` is not a record type nanny can ask for"),
                    )
                    .at(1)
                    .hint(format!("expected one of: {}", DNS_TYPES.join(", "))));
                }
                upper
            }
        };
        if words.len() > 2 {
            return Err(Problem::error(
                Code::UnexpectedArguments,
                "unexpected arguments: `check_query` takes a name and a record type",
            )
            .at(2));
        }
        Ok(DnsQuery {
            name: name.to_string(),
            qtype,
        })
    }
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*'
}

impl fmt::Display for DnsQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.qtype)
    }
}

/// The extension settings of one block. Every field is `None` when its
/// keyword is absent, so a file without them is exactly as before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckType>,
    /// `check_url` (default [`DEFAULT_CHECK_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_url: Option<String>,
    /// `check_status` (default 200-299).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_status: Option<StatusSet>,
    /// `check_host`: Host header and TLS server name (default: the real
    /// server's address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_host: Option<String>,
    /// `check_ca`: a PEM file of trusted certificates; verification is on
    /// only when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_ca: Option<String>,
    /// `check_cert_days` (default [`DEFAULT_CERT_DAYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_cert_days: Option<u32>,
    /// `check_query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_query: Option<DnsQuery>,
    /// `quorum`: the live weight (sum of the weights of the servers up)
    /// below which the service is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// `hysteresis`: the quorum is lost below `quorum - hysteresis` and
    /// regained at `quorum + hysteresis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hysteresis: Option<u32>,
}

impl Health {
    /// Whether no extension keyword is set.
    pub fn is_unset(&self) -> bool {
        *self == Health::default()
    }

    /// The effective URL path.
    pub fn url(&self) -> &str {
        self.check_url.as_deref().unwrap_or(DEFAULT_CHECK_URL)
    }

    /// The effective status set.
    pub fn status(&self) -> StatusSet {
        self.check_status.clone().unwrap_or_default()
    }

    /// The effective certificate warning window, in days.
    pub fn cert_days(&self) -> u32 {
        self.check_cert_days.unwrap_or(DEFAULT_CERT_DAYS)
    }

    /// The value of one of its keywords as the words after `=`.
    pub fn value(&self, key: &str) -> Option<String> {
        match key {
            "check" => self.check.map(|c| c.to_string()),
            "check_url" => self.check_url.clone(),
            "check_status" => self.check_status.as_ref().map(ToString::to_string),
            "check_host" => self.check_host.clone(),
            "check_ca" => self.check_ca.clone(),
            "check_cert_days" => self.check_cert_days.map(|n| n.to_string()),
            "check_query" => self.check_query.as_ref().map(ToString::to_string),
            "quorum" => self.quorum.map(|n| n.to_string()),
            "hysteresis" => self.hysteresis.map(|n| n.to_string()),
            _ => None,
        }
    }
}

/// Stores one extension keyword; `Ok(false)` when `key` is not one.
pub(crate) fn apply(v: &mut VirtualServer, key: Key, value: &Value<'_>) -> Result<bool, Problem> {
    let h = &mut v.health;
    match (key, value) {
        (Key::Check, Value::Text(s)) => h.check = CheckType::from_keyword(s),
        (Key::CheckUrl, Value::Text(s)) => {
            if !s.starts_with('/') || s.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(Problem::error(
                    Code::InvalidArgument,
                    format!("invalid argument: `check_url` must be a path starting with `/` without blanks, found `{s}`"),
                )
                .hint("write e.g. `check_url = /healthz`"));
            }
            h.check_url = Some(s.to_string())
        }
        (Key::CheckStatus, Value::Text(s)) => {
            h.check_status = Some(StatusSet::parse(s).map_err(|why| {
                Problem::error(
                    Code::InvalidArgument,
                    format!("invalid argument for `check_status`: {why}"),
                )
                .hint("write status codes and ranges, e.g. `check_status = 200-299,301`")
            })?)
        }
        (Key::CheckHost, Value::Text(s)) => h.check_host = Some(s.to_string()),
        (Key::CheckCa, Value::Text(s)) => h.check_ca = Some(s.to_string()),
        (Key::CheckCertDays, Value::Int(n)) => {
            h.check_cert_days =
                Some(u32::try_from(*n).map_err(|_| {
                    Problem::error(Code::OutOfRange, format!("{n} is out of range"))
                })?)
        }
        (Key::CheckQuery, Value::List(words)) => h.check_query = Some(DnsQuery::parse(words)?),
        (Key::Quorum, Value::Int(n)) => {
            if *n == 0 || *n > u64::from(u32::MAX) {
                return Err(Problem::error(
                    Code::OutOfRange,
                    format!("quorum {n} is out of range: at least 1 (the live weight needed)"),
                )
                .hint("remove `quorum` to keep the service while any server is up"));
            }
            h.quorum = Some(*n as u32)
        }
        (Key::Hysteresis, Value::Int(n)) => {
            h.hysteresis = Some(u32::try_from(*n).map_err(|_| {
                Problem::error(Code::OutOfRange, format!("hysteresis {n} is out of range"))
            })?)
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// One finding of [`validate`]: severity, code, the keyword to point at,
/// the message and a hint.
pub(crate) type Finding = (Severity, Code, &'static str, String, Option<String>);

/// The checks across keywords of one block.
pub(crate) fn validate(v: &VirtualServer, failover: bool) -> Vec<Finding> {
    use Severity::{Error, Warning};
    let h = &v.health;
    let mut out: Vec<Finding> = Vec::new();
    let set = |k: &str| h.value(k).is_some();
    match h.check {
        None => {
            for k in [
                "check_url",
                "check_status",
                "check_host",
                "check_ca",
                "check_cert_days",
                "check_query",
            ] {
                if set(k) {
                    out.push((
                        Warning,
                        Code::NoEffect,
                        k,
                        format!("`{k}` has no effect without `check`"),
                        Some("add `check = http`, `https` or `dns`, or remove the line".into()),
                    ));
                }
            }
        }
        Some(c) => {
            if v.send_program.is_some() || v.send.is_some() {
                let k = if v.send_program.is_some() {
                    "send_program"
                } else {
                    "send"
                };
                out.push((
                    Warning,
                    Code::NoEffect,
                    k,
                    format!("`{k}` is not used: `check = {c}` replaces it"),
                    Some(format!("remove `{k}`, or remove `check`")),
                ));
            }
            let http = matches!(c, CheckType::Http | CheckType::Https);
            if http && v.protocol != Protocol::Tcp {
                out.push((
                    Error,
                    Code::InvalidCheck,
                    "check",
                    format!(
                        "`check = {c}` needs `protocol = tcp`, this block is {}",
                        v.protocol
                    ),
                    None,
                ));
            }
            if c == CheckType::Dns && h.check_query.is_none() {
                out.push((
                    Error,
                    Code::InvalidCheck,
                    "check",
                    "`check = dns` needs `check_query = NAME [TYPE]`".into(),
                    Some("add e.g. `check_query = www.example.com A`".into()),
                ));
            }
            let unused: &[&'static str] = match c {
                CheckType::Http => &["check_ca", "check_cert_days", "check_query"],
                CheckType::Https => &["check_query"],
                CheckType::Dns => &[
                    "check_url",
                    "check_status",
                    "check_host",
                    "check_ca",
                    "check_cert_days",
                ],
            };
            for &k in unused.iter().filter(|k| set(k)) {
                out.push((
                    Warning,
                    Code::NoEffect,
                    k,
                    format!("`{k}` has no effect with `check = {c}`"),
                    None,
                ));
            }
        }
    }
    if failover {
        for k in ["quorum", "hysteresis"].into_iter().filter(|k| set(k)) {
            out.push((
                Warning,
                Code::NoEffect,
                k,
                format!("`{k}` has no effect in a failover block (it has no real servers)"),
                None,
            ));
        }
    } else if let Some(hy) = h.hysteresis {
        match h.quorum {
            None => out.push((
                Warning,
                Code::NoEffect,
                "hysteresis",
                "`hysteresis` has no effect without `quorum`".into(),
                None,
            )),
            Some(q) if hy >= q => out.push((
                Warning,
                Code::OutOfRange,
                "hysteresis",
                format!("hysteresis {hy} is not below quorum {q}: once reached, the quorum is never lost"),
                Some(format!("use a hysteresis below {q}")),
            )),
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_sets() {
        let s = StatusSet::parse("200-299, 301").unwrap();
        assert!(s.contains(200) && s.contains(299) && s.contains(301));
        assert!(!s.contains(300) && !s.contains(302) && !s.contains(199));
        assert_eq!(s.to_string(), "200-299,301");
        assert_eq!(StatusSet::parse(&s.to_string()).unwrap(), s);
        for bad in ["", "200,", "abc", "99", "600", "300-200", "+200", "2 00"] {
            assert!(StatusSet::parse(bad).is_err(), "{bad}");
        }
        assert!(StatusSet::default().contains(204));
    }

    #[test]
    fn dns_queries() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let q = DnsQuery::parse(&w("www.example.com")).ok().unwrap();
        assert_eq!(q.qtype, "A");
        let q = DnsQuery::parse(&w("example.com. aaaa")).ok().unwrap();
        assert_eq!(q.to_string(), "example.com. AAAA");
        assert!(DnsQuery::parse(&w(". SOA")).is_ok());
        assert!(DnsQuery::parse(&w("a..b")).is_err());
        assert!(DnsQuery::parse(&w("x BOGUS")).is_err());
        assert!(DnsQuery::parse(&w("x A extra")).is_err());
    }
}

#[cfg(test)]
mod round_trip {
    use crate::write::{write_config, write_config_full};
    use crate::Document;

    const FILE: &str = "primary = 10.0.0.1\nvirtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n check = https\n check_url = /h?x=1\n check_status = 200-204,301\n check_host = www.example.com\n check_ca = /etc/ca.pem\n check_cert_days = 7\n quorum = 4\n hysteresis = 1\n server r1 {\n  address = 10.0.1.1\n  active = 1\n }\n}\nvirtual dns {\n active = 1\n address = 10.0.0.100 eth0:1\n port = 53\n protocol = udp\n check = dns\n check_query = example.com mx\n}\n";

    #[test]
    fn show_and_dump_read_back_as_the_same_configuration() {
        let doc = Document::parse("a.cf", FILE.as_bytes().to_vec());
        assert!(!doc.has_errors(), "{:?}", doc.diagnostics());
        let h = &doc.config().virtuals[0].health;
        assert_eq!(h.cert_days(), 7);
        assert!(h.status().contains(204) && !h.status().contains(205));
        for text in [
            write_config(doc.config()).unwrap(),
            write_config_full(doc.config()).unwrap(),
        ] {
            assert!(
                text.contains("     check_query = example.com MX\n"),
                "{text}"
            );
            assert!(text.contains("     check_status = 200-204,301\n"), "{text}");
            let again = Document::parse("b.cf", text.clone().into_bytes());
            assert!(!again.has_errors(), "{text}");
            assert_eq!(again.config(), doc.config(), "{text}");
        }
        // Without the keywords nothing new is written, even in a dump.
        let plain = Document::parse("c.cf", b"virtual v {\n port = 80\n}\n".to_vec());
        let dump = write_config_full(plain.config()).unwrap();
        assert!(
            !dump.contains("check") && !dump.contains("quorum"),
            "{dump}"
        );
    }
}
