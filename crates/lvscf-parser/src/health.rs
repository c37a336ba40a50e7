//! The values of our extension keywords of a `virtual` (or `failover`)
//! block (`check = http | https | dns`, its `check_*` settings, `quorum`,
//! `hysteresis`): the types the model holds and their defaults. Pure data:
//! how they are read from a file and checked lives in [`crate::native`].

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

    pub(crate) fn from_keyword(s: &str) -> Option<CheckType> {
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

/// Why a `check_status` value is not a set of HTTP status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusSetError {
    /// Two commas in a row, or one at either end (the whole value).
    #[error("`{0}` has an empty item")]
    EmptyItem(String),
    /// A word that is not a number from 100 to 599.
    #[error("`{0}` is not an HTTP status code (100 to 599)")]
    NotACode(String),
    /// `LOW-HIGH` with LOW above HIGH.
    #[error("range `{0}` is backwards")]
    Backwards(String),
}

/// `check_status = 200-299,301`: the HTTP status codes that count as up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct StatusSet(Vec<(u16, u16)>);

impl StatusSet {
    /// Parses `200`, `200-299`, `200-299,301` (blanks around commas are
    /// allowed; codes are 100 to 599).
    pub fn parse(text: &str) -> Result<StatusSet, StatusSetError> {
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(StatusSetError::EmptyItem(text.to_string()));
            }
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let code = |s: &str| -> Result<u16, StatusSetError> {
                match s.parse::<u16>() {
                    Ok(n) if (100..=599).contains(&n) && s.bytes().all(|b| b.is_ascii_digit()) => {
                        Ok(n)
                    }
                    _ => Err(StatusSetError::NotACode(s.to_string())),
                }
            };
            let (lo, hi) = (code(lo)?, code(hi)?);
            if lo > hi {
                return Err(StatusSetError::Backwards(part.to_string()));
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
    type Error = StatusSetError;
    fn try_from(s: String) -> Result<Self, StatusSetError> {
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
