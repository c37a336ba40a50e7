//! Reading the value of one keyword line: the words after `=` become a
//! typed [`Value`] or a [`Problem`] that says what is wrong with them.
//!
//! The rules are Piranha's (its C parser read numbers with
//! `strtol(s, &end, 0)` and addresses with `inet_aton`), made strict where
//! Piranha's reading surprised people: a leading zero, a hexadecimal number
//! or a short address form is refused with a hint that gives what Piranha
//! read. A host name is a valid value here; storing it adds a warning.
//! Nothing here knows where the value sits in the file: the analyser
//! places each problem on its token.

use crate::diag::{Code, Severity};
use crate::keywords::{self, Keyword, ValueKind};
use crate::model::*;
use crate::syntax::Token;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Longest accepted send/expect/program text, in bytes.
pub const MAX_TEXT_BYTES: usize = 8192;
/// Most words accepted in a command line.
pub const MAX_COMMAND_WORDS: usize = 256;
/// Longest interface name (IFNAMSIZ - 1).
pub const MAX_DEVICE_LEN: usize = 15;

/// A problem with a value, before it is located.
pub(crate) struct Problem {
    pub(crate) code: Code,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// Which value token (0 = first after `=`); `None` = the keyword.
    pub(crate) token: Option<usize>,
    pub(crate) severity: Severity,
}

impl Problem {
    /// An error at the first value token.
    pub(crate) fn error(code: Code, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
            hint: None,
            token: Some(0),
            severity: Severity::Error,
        }
    }

    /// With a hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    /// At value token `token` instead (0 = first after `=`).
    pub(crate) fn at(mut self, token: usize) -> Problem {
        self.token = Some(token);
        self
    }

    /// A warning: the line still loads.
    pub(crate) fn warning(mut self) -> Problem {
        self.severity = Severity::Warning;
        self
    }
}

/// A parsed value, before it is stored in the config.
pub(crate) enum Value<'w> {
    Int(u64),
    Bool(bool),
    Host(Host),
    HostDevice(AddressOnDevice),
    Ip(IpAddr),
    Netmask(Option<Netmask>),
    Pmask(Option<Pmask>),
    Port(u16),
    Seconds(Duration),
    Text(&'w str),
    List(Vec<String>),
}

/// Reads the value of `keyword` from its words (`words[i]` is the text of
/// `tokens[i]`, quotes removed).
// Runs once per keyword line; inlined into the analyser's loop as when it
// lived in the same module (a call here cost about 2% of a parse).
#[inline]
pub(crate) fn parse_value<'w>(
    keyword: &Keyword,
    words: &[&'w str],
    tokens: &[Token],
) -> Result<Value<'w>, Problem> {
    let name = keyword.name;
    let single = |words: &[&str]| -> Result<(), Problem> {
        if words.len() > 1 {
            let hint = if words[1].starts_with('#') {
                "comments must be on a line of their own".to_string()
            } else {
                format!("`{name}` takes one value; quote it if it contains blanks")
            };
            return Err(Problem::error(
                Code::UnexpectedArguments,
                format!("unexpected arguments after the value of `{name}`"),
            )
            .at(1)
            .hint(hint));
        }
        Ok(())
    };
    let word = words[0];
    match keyword.kind {
        ValueKind::Int => {
            single(words)?;
            Ok(Value::Int(parse_int(word)?))
        }
        ValueKind::Bool => {
            single(words)?;
            match word {
                "0" => Ok(Value::Bool(false)),
                "1" => Ok(Value::Bool(true)),
                _ => Err(Problem::error(
                    Code::BooleanExpected,
                    format!("boolean expected for `{name}`: 0 or 1, found `{word}`"),
                )),
            }
        }
        ValueKind::Host => {
            single(words)?;
            Ok(Value::Host(parse_host(word)?))
        }
        ValueKind::HostDevice => {
            if words.len() < 2 {
                return Err(Problem::error(
                    Code::MissingArguments,
                    format!("missing arguments: `{name}` needs an address and a device"),
                )
                .hint(format!("write `{name} = {word} eth0:1`")));
            }
            if words.len() > 2 {
                return Err(Problem::error(
                    Code::UnexpectedArguments,
                    format!("unexpected arguments: `{name}` takes an address and a device"),
                )
                .at(2));
            }
            let host = parse_host(word)?;
            check_device(words[1]).map_err(|p| p.at(1))?;
            Ok(Value::HostDevice(AddressOnDevice {
                host,
                device: words[1].to_string(),
            }))
        }
        ValueKind::IpOnly => {
            single(words)?;
            match parse_host(word)? {
                Host::Ip(ip) => Ok(Value::Ip(ip)),
                Host::Name(_) => Err(Problem::error(
                    Code::InvalidHost,
                    format!("invalid host name or ip address: `{name}` takes an IP address"),
                )
                .hint("host names are not accepted here, as in Piranha")),
            }
        }
        ValueKind::Netmask => {
            single(words)?;
            parse_netmask(word).map(|m| Value::Netmask(Some(m)))
        }
        ValueKind::Pmask => {
            single(words)?;
            if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
                // A prefix length (extension). The family is checked once
                // the virtual's address is known (validate.rs).
                return match word.parse::<u8>() {
                    Ok(p) if p <= 128 => Ok(Value::Pmask(Some(Pmask::Prefix(p)))),
                    _ => Err(Problem::error(
                        Code::OutOfRange,
                        format!("pmask prefix length {word} is out of range (0 to 128)"),
                    )),
                };
            }
            match parse_netmask(word) {
                Ok(m) if m.prefix_len() == 32 => Ok(Value::Pmask(None)),
                Ok(m) => Ok(Value::Pmask(Some(Pmask::Mask(m)))),
                Err(_) => Err(Problem::error(
                    Code::PmaskIgnored,
                    format!("pmask `{word}` is not a netmask; it is ignored, as Piranha did"),
                )
                .hint("write a netmask such as 255.255.255.0 (or a prefix length such as 64 for IPv6), or remove the line")
                .warning()),
            }
        }
        ValueKind::Port => {
            single(words)?;
            if word.bytes().all(|b| b.is_ascii_digit()) || word.starts_with(['-', '+']) {
                return parse_port(word).map(Value::Port);
            }
            if word.starts_with("0x") || word.starts_with("0X") {
                return parse_port(word).map(Value::Port);
            }
            keywords::service_port(word).map(Value::Port).ok_or_else(|| {
                Problem::error(
                    Code::InvalidArgument,
                    format!("invalid argument: `{word}` is not a port number nor a known service name"),
                )
                .hint("write the port number")
            })
        }
        ValueKind::PortNumber => {
            single(words)?;
            if keywords::service_port(word).is_some() {
                return Err(Problem::error(
                    Code::IntegerExpected,
                    format!("integer expected: a real server's port is a number, not `{word}`"),
                )
                .hint(format!(
                    "write `port = {}` (Piranha accepted service names only for the virtual's port)",
                    keywords::service_port(word).unwrap_or(0)
                )));
            }
            parse_port(word).map(Value::Port)
        }
        ValueKind::Seconds => {
            single(words)?;
            parse_seconds(word).map(Value::Seconds)
        }
        ValueKind::Word => {
            single(words)?;
            check_text(word, 256)?;
            Ok(Value::Text(word))
        }
        ValueKind::Text => {
            single(words)?;
            check_text(word, MAX_TEXT_BYTES)?;
            Ok(Value::Text(word))
        }
        ValueKind::Command => {
            single(words)?;
            check_text(word, MAX_TEXT_BYTES)?;
            let cmd = CommandLine::new(word);
            let argv = cmd.argv();
            let Some(program) = argv.first() else {
                return Err(Problem::error(
                    Code::MissingArguments,
                    format!("missing arguments: `{name}` is empty"),
                ));
            };
            if !program.starts_with('/') {
                return Err(Problem::error(
                    Code::RelativeProgram,
                    format!("`{program}` is not an absolute path: programs named in lvs.cf run without a shell and without a PATH search"),
                )
                .hint(format!("write the full path, e.g. `/usr/local/bin/{program}`")));
            }
            if argv.len() > MAX_COMMAND_WORDS {
                return Err(Problem::error(
                    Code::ValueTooLong,
                    format!(
                        "`{name}` has {} words; at most {MAX_COMMAND_WORDS} are accepted",
                        argv.len()
                    ),
                ));
            }
            Ok(Value::Text(word))
        }
        ValueKind::Path => {
            single(words)?;
            check_text(word, 4096)?;
            if !word.starts_with('/') {
                return Err(Problem::error(
                    Code::RelativeProgram,
                    format!("`{word}` is not an absolute path"),
                )
                .hint("write the full path"));
            }
            Ok(Value::Text(word))
        }
        ValueKind::Enum(values) => {
            single(words)?;
            if values.contains(&word) {
                return Ok(Value::Text(word));
            }
            let lower = word.to_ascii_lowercase();
            let hint = if values.contains(&lower.as_str()) {
                format!("values are lowercase: `{lower}`")
            } else {
                format!("expected one of: {}", values.join(", "))
            };
            Err(Problem::error(
                Code::InvalidArgument,
                format!("invalid argument `{word}` for `{name}`"),
            )
            .hint(hint))
        }
        ValueKind::Words(max) => {
            if words.len() > max {
                return Err(Problem::error(
                    Code::UnexpectedArguments,
                    format!("unexpected arguments: `{name}` takes at most {max} words"),
                )
                .at(max));
            }
            for w in words {
                check_text(w, 256)?;
            }
            Ok(Value::List(words.iter().map(|s| s.to_string()).collect()))
        }
        ValueKind::List => {
            let last = words.len() - 1;
            if words.len() < 2
                || words[0] != "["
                || words[last] != "]"
                || tokens[0].quote != 0
                || tokens[last].quote != 0
            {
                return Err(Problem::error(
                    Code::ListExpected,
                    format!(
                        "list expected: `{name} = [ a b c ]` with the brackets as separate words"
                    ),
                ));
            }
            Ok(Value::List(
                words[1..last].iter().map(|s| s.to_string()).collect(),
            ))
        }
    }
}

fn check_text(text: &str, max: usize) -> Result<(), Problem> {
    if text.len() > max {
        return Err(Problem::error(
            Code::ValueTooLong,
            format!(
                "value is {} bytes long; at most {max} are accepted",
                text.len()
            ),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Problem::error(
            Code::InvalidArgument,
            "invalid argument: control characters are not allowed in values",
        )
        .hint("write escapes such as \\r\\n as two characters each; nanny translates them"));
    }
    Ok(())
}

/// Interface names: what the kernel accepts, minus what could be mistaken
/// for an option or a path by the tools that receive it.
pub(crate) fn check_device(device: &str) -> Result<(), Problem> {
    let bad = |why: &str| {
        Err(Problem::error(
            Code::InvalidDevice,
            format!("invalid device `{device}`: {why}"),
        )
        .hint("write an interface name such as `eth0` or an alias such as `eth0:1`"))
    };
    if device.is_empty() {
        return bad("empty");
    }
    if device.len() > MAX_DEVICE_LEN {
        return bad("longer than 15 characters");
    }
    if device.starts_with('-') {
        return bad("starts with `-`");
    }
    if device.contains("..") || device == "." {
        return bad("contains `..`");
    }
    if !device
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
    {
        return bad("only letters, digits and _ - . : @ are allowed");
    }
    Ok(())
}

fn parse_int(word: &str) -> Result<u64, Problem> {
    if let Some(rest) = word.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem::error(
                Code::OutOfRange,
                format!("negative value `{word}`: only 0 and positive numbers are accepted"),
            ));
        }
    }
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        let hint = match u64::from_str_radix(hex, 16) {
            Ok(n) => format!("Piranha read this as hexadecimal; write `{n}`"),
            Err(_) => "write a decimal number".to_string(),
        };
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("integer expected: `{word}` is hexadecimal; numbers are decimal"),
        )
        .hint(hint));
    }
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("integer expected, found `{word}`"),
        ));
    }
    if word.len() > 1 && word.starts_with('0') {
        let octal = u64::from_str_radix(word, 8).ok();
        let decimal = word.trim_start_matches('0');
        let decimal = if decimal.is_empty() { "0" } else { decimal };
        let hint = match octal {
            Some(o) => format!(
                "Piranha read `{word}` as octal ({o}); write `{o}`, or `{decimal}` if that was meant"
            ),
            None => format!("write `{decimal}`"),
        };
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("integer expected: `{word}` has a leading zero"),
        )
        .hint(hint));
    }
    word.parse::<u64>()
        .map_err(|_| Problem::error(Code::OutOfRange, format!("`{word}` is out of range")))
}

fn parse_port(word: &str) -> Result<u16, Problem> {
    let n = parse_int(word)?;
    if n == 0 || n > 65535 {
        return Err(Problem::error(
            Code::OutOfRange,
            format!("port {n} is out of range: ports are 1 to 65535"),
        ));
    }
    Ok(n as u16)
}

fn parse_seconds(word: &str) -> Result<Duration, Problem> {
    let (whole, fraction) = match word.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (word, None),
    };
    let secs = parse_int(whole)?;
    let millis = match fraction {
        None => 0,
        Some(f) => {
            if f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Problem::error(
                    Code::IntegerExpected,
                    format!("number of seconds expected, found `{word}`"),
                )
                .hint("write whole seconds or up to three decimals, e.g. `0.25`"));
            }
            format!("{f:0<3}").parse::<u64>().unwrap_or(0)
        }
    };
    if secs > u64::from(u32::MAX) {
        return Err(Problem::error(
            Code::OutOfRange,
            format!("`{word}` is out of range"),
        ));
    }
    let d = Duration::from_millis(secs * 1000 + millis);
    if d.is_zero() {
        return Err(Problem::error(
            Code::OutOfRange,
            "the interval must be more than 0 seconds",
        ));
    }
    Ok(d)
}

/// Strict dotted quad: four decimal parts 0..=255, no leading zeros.
fn parse_ipv4_strict(word: &str) -> Option<Ipv4Addr> {
    // One pass over the bytes: this runs for every address of the file,
    // and `split('.')` plus `parse` cost several times more.
    let mut parts = [0u8; 4];
    let mut part = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    for &c in word.as_bytes() {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None; // a leading zero (Piranha read it as octal)
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && part < 3 => {
                parts[part] = value as u8;
                part += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 || part != 3 {
        return None;
    }
    parts[3] = value as u8;
    Some(Ipv4Addr::from(parts))
}

fn looks_numeric(word: &str) -> bool {
    word.bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'x' || b == b'X')
        && word.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn is_host_name(word: &str) -> bool {
    word.len() <= 253
        && word.bytes().any(|b| b.is_ascii_alphabetic())
        && word.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn parse_host(word: &str) -> Result<Host, Problem> {
    if word.as_bytes().contains(&b':') {
        return word
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| {
                Problem::error(
                    Code::InvalidHost,
                    format!("invalid host name or ip address: `{word}` is not an IPv6 address"),
                )
            });
    }
    if let Some(ip) = parse_ipv4_strict(word) {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    if looks_numeric(word) {
        return Err(Problem::error(
            Code::InvalidHost,
            format!("invalid host name or ip address: `{word}` is not a dotted-quad address"),
        )
        .hint("write four decimal numbers 0-255 without leading zeros, e.g. 10.0.0.1 (Piranha also read short, octal and hex forms, which were easy to get wrong)"));
    }
    if is_host_name(word) {
        return Ok(Host::Name(word.to_string()));
    }
    Err(Problem::error(
        Code::InvalidHost,
        format!("invalid host name or ip address: `{word}`"),
    ))
}

fn parse_netmask(word: &str) -> Result<Netmask, Problem> {
    let bad = || {
        Problem::error(
            Code::BadSubnetMask,
            format!("Bad subnet mask specified: `{word}`"),
        )
    };
    let ip = parse_ipv4_strict(word)
        .ok_or_else(|| bad().hint("write a dotted-quad netmask such as 255.255.255.0"))?;
    Netmask::new(ip).ok_or_else(|| {
        bad().hint("the one bits of a netmask must be contiguous, e.g. 255.255.254.0")
    })
}

#[cfg(test)]
mod tests {
    use super::parse_ipv4_strict;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// The specification: four decimal numbers 0-255 without leading zeros.
    fn reference(word: &str) -> Option<Ipv4Addr> {
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut octets = [0u8; 4];
        for (octet, part) in octets.iter_mut().zip(&parts) {
            let canonical = !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|b| b.is_ascii_digit())
                && !(part.len() > 1 && part.starts_with('0'));
            if !canonical {
                return None;
            }
            *octet = part.parse().ok()?;
        }
        Some(Ipv4Addr::from(octets))
    }

    #[test]
    fn strict_ipv4_examples() {
        for good in ["0.0.0.0", "10.0.0.1", "255.255.255.255", "1.22.133.4"] {
            assert_eq!(parse_ipv4_strict(good), good.parse().ok(), "{good}");
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "01.2.3.4",
            "1.2.3.00",
            "256.1.1.1",
            "1.2.3.1000",
            "0x1.2.3.4",
            "1.2.3.4 ",
            "-1.2.3.4",
            "1.2.3.4.5",
        ] {
            assert_eq!(parse_ipv4_strict(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn strict_ipv4_matches_its_specification(word in "[0-9.x]{0,18}") {
            prop_assert_eq!(parse_ipv4_strict(&word), reference(&word));
        }

        #[test]
        fn every_address_reads_back(octets in any::<[u8; 4]>()) {
            let ip = Ipv4Addr::from(octets);
            prop_assert_eq!(parse_ipv4_strict(&ip.to_string()), Some(ip));
        }
    }
}
