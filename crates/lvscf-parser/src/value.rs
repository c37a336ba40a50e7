//! Reading the value of one keyword line: the words after `=` become a
//! typed [`Value`] or a [`Problem`] that says what is wrong with them.
//!
//! The rules are Piranha's: its C parser read numbers with
//! `strtol(s, &end, 0)` into a C `int` and addresses with `inet_aton`
//! (`creading.rs`), and every spelling it took loads here with the value
//! it had there. A spelling that is easy to misread (a leading `+`, `0x`
//! hexadecimal, a leading zero that makes a number octal, a short or
//! numeric address form) loads with a warning that gives the value and
//! the plain spelling. A host name is a valid value here; storing it adds
//! a warning. Nothing here knows where the value sits in the file: the
//! analyser places each problem on its token.

use crate::creading::{self, CNumber, NumberForm};
use crate::diag::{Code, Severity};
use crate::keywords::{self, Key, Keyword, ValueKind};
use crate::model::*;
use crate::syntax::Token;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Longest accepted send/expect/program text, in bytes.
pub const MAX_TEXT_BYTES: usize = 8192;
/// Most words accepted in a command line.
pub const MAX_COMMAND_WORDS: usize = 256;

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
    /// A negative number, as Piranha's `int` held it: only the keys that
    /// give it a meaning accept it (`apply.rs`).
    Negative(i64),
    Bool(bool),
    Host(Host),
    HostDevice(AddressOnDevice),
    Ip(IpAddr),
    Netmask(Option<Netmask>),
    /// A netmask `inet_aton` read whose one bits are not contiguous.
    OddNetmask(Ipv4Addr),
    Pmask(Option<Pmask>),
    Port(u16),
    /// A port number the kernel cannot take (0, negative, above 65535).
    BadPort(i64),
    Seconds(Duration),
    Text(&'w str),
    List(Vec<String>),
}

/// Reads the value of `keyword` from its words (`words[i]` is the text of
/// `tokens[i]`, quotes removed). Warnings about how the value is spelled
/// go to `notes`; the value still loads.
// Runs once per keyword line; inlined into the analyser's loop as when it
// lived in the same module (a call here cost about 2% of a parse).
#[inline]
pub(crate) fn parse_value<'w>(
    keyword: &Keyword,
    words: &[&'w str],
    tokens: &[Token],
    notes: &mut Vec<Problem>,
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
            if keyword.key == Key::SerialNo
                && !word.is_empty()
                && !word.starts_with('0')
                && word.bytes().all(|b| b.is_ascii_digit())
            {
                // Only the tools read serial_no; it keeps its full range.
                if let Ok(n) = word.parse::<u64>() {
                    return Ok(Value::Int(n));
                }
            }
            let n = read_number(keyword, word, notes)?;
            let value = n.value();
            if keyword.key == Key::Fwmark && value < 0 {
                // Piranha read the mark into an `unsigned int`: the bits
                // of the `int`, so `-1` is mark 4294967295.
                return Ok(Value::Int(u64::from(value as i32 as u32)));
            }
            Ok(match u64::try_from(value) {
                Ok(v) => Value::Int(v),
                Err(_) => Value::Negative(value),
            })
        }
        ValueKind::Bool => {
            single(words)?;
            let bad = || {
                Problem::error(
                    Code::BooleanExpected,
                    format!("boolean expected for `{name}`: 0 or 1, found `{word}`"),
                )
            };
            let mut spelling = Vec::new();
            let n = read_number(keyword, word, &mut spelling).map_err(|_| bad())?;
            match n.int {
                0 | 1 => {
                    notes.append(&mut spelling);
                    Ok(Value::Bool(n.int == 1))
                }
                _ => Err(bad()),
            }
        }
        ValueKind::Host => {
            single(words)?;
            Ok(Value::Host(parse_host(name, word, notes)?))
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
            let host = parse_host(name, word, notes)?;
            if let Some(why) = device_problem(words[1]) {
                notes.push(unusable_device(name, words[1], why).at(1));
            }
            Ok(Value::HostDevice(AddressOnDevice {
                host,
                device: words[1].to_string(),
            }))
        }
        ValueKind::IpOnly => {
            single(words)?;
            match parse_host(name, word, notes)? {
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
            let mask = read_ipv4(name, word, notes).ok_or_else(|| {
                Problem::error(
                    Code::BadSubnetMask,
                    format!("Bad subnet mask specified: `{word}`"),
                )
                .hint("write a dotted-quad netmask such as 255.255.255.0")
            })?;
            Ok(match Netmask::new(mask) {
                Some(m) => Value::Netmask(Some(m)),
                None => Value::OddNetmask(mask),
            })
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
            let mut spelling = Vec::new();
            match read_ipv4(name, word, &mut spelling).and_then(Netmask::new) {
                Some(m) if m.prefix_len() == 32 => {
                    notes.append(&mut spelling);
                    Ok(Value::Pmask(None))
                }
                Some(m) => {
                    notes.append(&mut spelling);
                    Ok(Value::Pmask(Some(Pmask::Mask(m))))
                }
                None => Err(Problem::error(
                    Code::PmaskIgnored,
                    format!("pmask `{word}` is not a netmask; it is ignored, as Piranha did"),
                )
                .hint("write a netmask such as 255.255.255.0 (or a prefix length such as 64 for IPv6), or remove the line")
                .warning()),
            }
        }
        ValueKind::Port => {
            single(words)?;
            // As Piranha: a number first, then a service name.
            if let Some(n) = creading::strtol_whole(word) {
                note_spelling(keyword, word, n, notes);
                return Ok(port_value(n));
            }
            keywords::service_port(word).map(Value::Port).ok_or_else(|| {
                Problem::error(
                    Code::InvalidArgument,
                    format!("invalid argument: `{word}` is not a port number nor a known service name"),
                )
                .hint(match octal_refusal(word) {
                    Some(h) => h,
                    None => "write the port number".to_string(),
                })
            })
        }
        ValueKind::PortNumber => {
            single(words)?;
            if let Some(n) = creading::strtol_whole(word) {
                note_spelling(keyword, word, n, notes);
                return Ok(port_value(n));
            }
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
            Err(integer_expected(word))
        }
        ValueKind::Seconds => {
            single(words)?;
            parse_seconds(keyword, word, notes).map(Value::Seconds)
        }
        ValueKind::Word => {
            single(words)?;
            check_text(name, word, 256, notes)?;
            Ok(Value::Text(word))
        }
        ValueKind::Text => {
            single(words)?;
            check_text(name, word, MAX_TEXT_BYTES, notes)?;
            Ok(Value::Text(word))
        }
        ValueKind::Command => {
            single(words)?;
            check_text(name, word, MAX_TEXT_BYTES, notes)?;
            let cmd = CommandLine::new(word);
            let argv = cmd.argv();
            let Some(program) = argv.first() else {
                return Err(Problem::error(
                    Code::MissingArguments,
                    format!("missing arguments: `{name}` is empty"),
                ));
            };
            if !program.starts_with('/') {
                notes.push(relative_program(program));
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
            check_text(name, word, 4096, notes)?;
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
            if keyword.key == Key::LoadMonitor && !word.is_empty() {
                check_text(name, word, 256, notes)?;
                notes.push(load_monitor_command(word, &hint));
                return Ok(Value::Text(word));
            }
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
                check_text(name, w, 256, notes)?;
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

/// The warning for a program written without its full path: Piranha ran
/// it with `execvp`, so it still runs, found as execvp found it, under the
/// same allowlist as a full path.
fn relative_program(program: &str) -> Problem {
    let (found, example) = if program.contains('/') {
        (
            format!("take it from `/`, their working directory (`/{program}`)"),
            format!("/{program}"),
        )
    } else {
        (
            "look it up in /usr/sbin:/usr/bin:/sbin:/bin, the PATH Piranha's daemons inherited from init".to_string(),
            format!("/usr/sbin/{program}"),
        )
    };
    Problem::error(
        Code::RelativeProgram,
        format!(
            "`{program}` is not an absolute path: when they run it, the daemons {found}, as Piranha's execvp did; \
             /etc/sysconfig/lvs-programs must list the path found"
        ),
    )
    .hint(format!("write the full path, e.g. `{example}`"))
    .warning()
}

/// The warning for a `load_monitor` that is none of its keywords: Piranha's
/// nanny ran it as a command, and so does ours, under the allowlist.
fn load_monitor_command(word: &str, hint: &str) -> Problem {
    let command = if word == "rsh" || word == "ssh" {
        format!("{word} ADDRESS uptime")
    } else {
        format!("{word} ADDRESS")
    };
    Problem::error(
        Code::LoadMonitorCommand,
        format!(
            "`load_monitor = {word}` is not none, rup, ruptime or uptime: Piranha's nanny ran it as a command, \
             `{command}` for each real server, and nanny still does, only if /etc/sysconfig/lvs-programs \
             lists it (else the weights are left alone and the refusal is logged)"
        ),
    )
    .hint(format!(
        "{hint}; `load_monitor = uptime` with `rsh_command = ssh` runs `ssh ADDRESS uptime`"
    ))
    .warning()
}

fn check_text(name: &str, text: &str, max: usize, notes: &mut Vec<Problem>) -> Result<(), Problem> {
    if text.len() > max {
        return Err(Problem::error(
            Code::ValueTooLong,
            format!(
                "value is {} bytes long; at most {max} are accepted",
                text.len()
            ),
        ));
    }
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && *c != '\t')
    {
        // Piranha's reader split lines at CR and LF and words at blanks
        // only: any other control character stayed in the value, byte for
        // byte, and so it does here.
        notes.push(
            Problem::error(
                Code::ControlCharacter,
                format!(
                    "`{name}` has the control character U+{:04X} at byte {at} of its value: it is kept as it is, as Piranha kept it",
                    c as u32
                ),
            )
            .hint("write escapes such as \\r\\n as two characters each (nanny translates them in send and expect), or remove the character")
            .warning(),
        );
    }
    Ok(())
}

/// Interface names ([`device_problem`]): an error where the device is
/// used for nothing else (`syncd_iface`).
pub(crate) fn check_device(device: &str) -> Result<(), Problem> {
    match device_problem(device) {
        None => Ok(()),
        Some(why) => Err(Problem::error(
            Code::InvalidDevice,
            format!("invalid device `{device}`: {why}"),
        )
        .hint("write an interface name such as `eth0` or an alias such as `eth0:1`")),
    }
}

/// The warning for an `address`/`nat_router` device that cannot name an
/// interface: Piranha's ifconfig failed for that address and everything
/// else ran, so the file loads and only that address is left down.
fn unusable_device(name: &str, device: &str, why: &str) -> Problem {
    let what = if name == "nat_router" {
        "the NAT router address is not brought up"
    } else {
        "pulse does not bring this VIP up (and logs it), lvsd still programs the virtual server"
    };
    Problem::error(
        Code::InvalidDevice,
        format!(
            "invalid device `{device}`: {why}; Piranha's ifconfig failed for this address and the rest ran: {what}"
        ),
    )
    .hint("write an interface name such as `eth0` or an alias such as `eth0:1`")
    .warning()
}

/// The unit a number of `keyword` counts, for messages.
fn unit(keyword: &Keyword) -> &'static str {
    match keyword.key {
        Key::Keepalive
        | Key::Deadtime
        | Key::Timeout
        | Key::Reentry
        | Key::Persistent
        | Key::TcpTimeout
        | Key::TcpfinTimeout
        | Key::UdpTimeout => " seconds",
        _ => "",
    }
}

fn integer_expected(word: &str) -> Problem {
    let problem = Problem::error(
        Code::IntegerExpected,
        format!("integer expected, found `{word}`"),
    );
    match octal_refusal(word) {
        Some(hint) => problem.hint(hint),
        None => problem,
    }
}

/// Why Piranha refused a number such as `08`, when that is the reason.
fn octal_refusal(word: &str) -> Option<String> {
    let digits = word.trim_start_matches(['+', '-']);
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        let decimal = digits.trim_start_matches('0');
        return Some(format!(
            "a leading zero makes a number octal, where 8 and 9 are not digits (Piranha refused it too); write `{}`",
            if decimal.is_empty() { "0" } else { decimal }
        ));
    }
    None
}

/// Reads a number as Piranha did (`strtol`, kept in an `int`), noting an
/// unusual spelling.
fn read_number(
    keyword: &Keyword,
    word: &str,
    notes: &mut Vec<Problem>,
) -> Result<CNumber, Problem> {
    let n = creading::strtol_whole(word).ok_or_else(|| integer_expected(word))?;
    note_spelling(keyword, word, n, notes);
    Ok(n)
}

/// The warning for a number not written in plain decimal, or one that
/// does not fit the 32-bit `int` Piranha kept it in.
fn note_spelling(keyword: &Keyword, word: &str, n: CNumber, notes: &mut Vec<Problem>) {
    let name = keyword.name;
    let unit = unit(keyword);
    let value = n.value();
    let spelled = match n.form {
        NumberForm::Decimal => None,
        NumberForm::Plus => Some(format!(
            "`{name} = {word}` is {value}{unit}: the `+` is ignored, as Piranha's strtol did"
        )),
        NumberForm::Hex => Some(format!(
            "`{name} = {word}` is hexadecimal: {value}{unit}, as Piranha read it"
        )),
        NumberForm::Octal => Some(format!(
            "`{name} = {word}` has a leading zero, so it is octal: {value}{unit}, as Piranha read it"
        )),
        NumberForm::Empty => Some(format!(
            "`{name}` has an empty value: Piranha's strtol read it as 0"
        )),
    };
    if let Some(message) = spelled {
        let hint = match n.form {
            NumberForm::Octal => {
                let decimal = word
                    .trim_start_matches(['+', '-', ' '])
                    .trim_start_matches('0');
                format!("write `{value}`, or `{decimal}` if that was meant")
            }
            _ => format!("write `{value}`"),
        };
        notes.push(
            Problem::error(Code::NumberSpelling, message)
                .hint(hint)
                .warning(),
        );
    }
    if !n.fits_32_bits() {
        notes.push(
            Problem::error(
                Code::OutOfRange,
                format!(
                    "`{word}` does not fit in the 32-bit int Piranha kept it in: it is read as {value}, as Piranha read it"
                ),
            )
            .hint(format!("write `{value}`, or the value you mean"))
            .warning(),
        );
    }
}

/// A port number: the ones the kernel can take, or the number as read.
fn port_value(n: CNumber) -> Value<'static> {
    match u16::try_from(n.value()) {
        Ok(p) if p > 0 => Value::Port(p),
        _ => Value::BadPort(n.value()),
    }
}

fn parse_seconds(
    keyword: &Keyword,
    word: &str,
    notes: &mut Vec<Problem>,
) -> Result<Duration, Problem> {
    let positive = || {
        Problem::error(
            Code::OutOfRange,
            format!(
                "`{} = {word}`: the interval must be more than 0 seconds (0 or less made Piranha's pulse spin)",
                keyword.name
            ),
        )
    };
    let Some((whole, f)) = word.split_once('.') else {
        // Whole seconds, read as Piranha read them.
        let n = read_number(keyword, word, notes)?;
        return match u64::try_from(n.value()) {
            Ok(s) if s > 0 => Ok(Duration::from_secs(s)),
            _ => Err(positive()),
        };
    };
    // Fractions are our extension (Piranha refused them): plain decimal.
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || f.is_empty()
        || f.len() > 3
        || !f.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("number of seconds expected, found `{word}`"),
        )
        .hint("write whole seconds or up to three decimals, e.g. `0.25`"));
    }
    let secs = whole
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= u64::from(u32::MAX))
        .ok_or_else(|| Problem::error(Code::OutOfRange, format!("`{word}` is out of range")))?;
    let millis = format!("{f:0<3}").parse::<u64>().unwrap_or(0);
    let d = Duration::from_millis(secs * 1000 + millis);
    if d.is_zero() {
        return Err(positive());
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

/// An IPv4 address as `inet_aton` reads it, noting a spelling other than
/// the plain dotted quad.
fn read_ipv4(name: &str, word: &str, notes: &mut Vec<Problem>) -> Option<Ipv4Addr> {
    if let Some(ip) = parse_ipv4_strict(word) {
        return Some(ip);
    }
    let ip = creading::inet_aton(word)?;
    notes.push(
        Problem::error(
            Code::AddressSpelling,
            format!("`{name} = {word}` is read as {ip}, as Piranha's inet_aton read it"),
        )
        .hint(format!("write `{ip}`"))
        .warning(),
    );
    Some(ip)
}

fn parse_host(name: &str, word: &str, notes: &mut Vec<Problem>) -> Result<Host, Problem> {
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
    if let Some(ip) = read_ipv4(name, word, notes) {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    if looks_numeric(word) {
        return Err(Problem::error(
            Code::InvalidHost,
            format!("invalid host name or ip address: `{word}` is not a dotted-quad address"),
        )
        .hint("write four decimal numbers 0-255, e.g. 10.0.0.1 (Piranha's inet_aton did not read this either)"));
    }
    if is_host_name(word) {
        return Ok(Host::Name(word.to_string()));
    }
    Err(Problem::error(
        Code::InvalidHost,
        format!("invalid host name or ip address: `{word}`"),
    ))
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
