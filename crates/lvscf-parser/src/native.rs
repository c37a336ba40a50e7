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

pub use crate::health::{
    CheckType, DnsQuery, Health, StatusSet, StatusSetError, DEFAULT_CERT_DAYS, DEFAULT_CHECK_URL,
    DEFAULT_STATUS, DNS_TYPES,
};

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
