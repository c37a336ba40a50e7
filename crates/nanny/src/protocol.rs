//! The lvsd <-> nanny wire protocol (JSON lines), shared with lvsd.
//!
//! lvsd starts `nanny --lvsd [-v]` with stdin and stdout as pipes.
//!
//! * stdin, lvsd -> nanny: each line is one complete [`Job`] (the whole desired
//!   set of checks, not a delta). nanny reconciles: checkers whose virtual
//!   name, server name, check definition and state-machine parameters are
//!   unchanged keep their state and timers; removed ones stop silently; new
//!   ones start. EOF on stdin makes nanny exit 0.
//! * stdout, nanny -> lvsd: one [`Report`] per line. A [`ServerReport`] is
//!   written whenever the (state, weight) of a (virtual, server) changes,
//!   including its first decision after it was added to a job. An
//!   [`EventReport`] `{"event":"initial-round-done","job":N}` is written once
//!   per job line, after every server of that job has had its first decision.
//!
//! Logs never go to stdout (they go to stderr). See `crates/nanny/PROTOCOL.md`.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP connect (then optional send/expect).
    #[default]
    Tcp,
    /// UDP: one datagram is sent; see PROTOCOL.md for what counts as success.
    Udp,
    /// SCTP: a one-to-one (SOCK_STREAM) SCTP association, used like TCP.
    Sctp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        })
    }
}

/// One job line: the complete desired set of checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Job {
    /// Virtual servers to watch. Names must be unique within a job.
    pub virtuals: Vec<VirtualCheck>,
}

fn default_timeout() -> u32 {
    10
}
fn default_reentry() -> u32 {
    180
}
fn default_load_monitor() -> String {
    "none".to_string()
}
fn default_rsh() -> String {
    "rsh".to_string()
}
fn default_scale() -> u32 {
    10
}
fn default_port() -> u16 {
    80
}

/// One virtual server and the check definition shared by its real servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualCheck {
    /// The `virtual NAME` of lvs.cf; echoed in reports.
    pub name: String,
    /// The VIP (informational: used in log lines only). `null` for fwmark services.
    #[serde(default)]
    pub vip: Option<IpAddr>,
    /// The virtual port. Port 80 with no send, expect nor send_program selects
    /// Piranha's HTTP default check (`GET / HTTP/1.0\r\n\r\n`, expect `HTTP`).
    #[serde(default = "default_port")]
    pub port: u16,
    /// tcp, udp or sctp.
    #[serde(default)]
    pub protocol: Protocol,
    /// Firewall mark (informational).
    #[serde(default)]
    pub fwmark: Option<u32>,
    /// Seconds between probes, and the bound of each probe. 0 is treated as 1.
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// Seconds of consecutive good probes needed to readmit a failed server
    /// (`reentry / timeout` probes). 0 means 180, as Piranha.
    #[serde(default = "default_reentry")]
    pub reentry: u32,
    /// lvsd keeps a down server at weight 0 instead of deleting it. nanny
    /// reports the same `down`/weight 0 either way.
    #[serde(default)]
    pub quiesce: bool,
    /// `none`, `uptime` (run through `rsh_command`), `rup`, `ruptime`, or a
    /// command line to which the server address is appended.
    #[serde(default = "default_load_monitor")]
    pub load_monitor: String,
    /// Remote shell for `load_monitor = uptime` (`rsh`, `ssh`, ...).
    #[serde(default = "default_rsh")]
    pub rsh_command: String,
    /// Maximum load-based weight multiplier (Piranha `-S`). Default 10.
    #[serde(default = "default_scale")]
    pub scale: u32,
    /// Raw lvs.cf `send` string; Piranha backslash escapes are NOT translated
    /// (nanny translates them unless `suppress_escapes`).
    #[serde(default)]
    pub send: Option<String>,
    /// Raw lvs.cf `expect` string (escapes untranslated). `"*"` = any byte.
    #[serde(default)]
    pub expect: Option<String>,
    /// `expect` is a regular expression (Rust `regex` syntax, which accepts
    /// the common POSIX ERE forms), matched anywhere in what was read.
    #[serde(default)]
    pub use_regex: bool,
    /// Piranha `-T`: do not translate backslash escapes in send/expect.
    #[serde(default)]
    pub suppress_escapes: bool,
    /// External check command line: split on blanks, `%h` -> server address,
    /// `%p` -> server port, run without a shell. Overrides `send`.
    #[serde(default)]
    pub send_program: Option<String>,
    /// A native check (lvs.cf `check = ...`, our extension) instead of
    /// send/expect/send_program. `expect` and `use_regex` then apply to the
    /// HTTP body or the DNS answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<NativeCheck>,
    /// The real servers.
    #[serde(default)]
    pub servers: Vec<ServerCheck>,
}

/// Which native check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NativeKind {
    /// HTTP/1.1 GET.
    Http,
    /// HTTP/1.1 GET over TLS.
    Https,
    /// A DNS query.
    Dns,
}

fn default_url() -> String {
    "/".to_string()
}
fn default_cert_days() -> u32 {
    14
}

/// The settings of a native check (lvs.cf `check_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeCheck {
    /// http, https or dns.
    pub kind: NativeKind,
    /// `check_url`: path and query of the GET.
    #[serde(default = "default_url")]
    pub url: String,
    /// `check_status`: inclusive ranges of status codes that mean up;
    /// empty = 200-299.
    #[serde(default)]
    pub status: Vec<[u16; 2]>,
    /// `check_host`: Host header and TLS server name; absent = the real
    /// server's address.
    #[serde(default)]
    pub host: Option<String>,
    /// `check_ca`: PEM file of trusted CAs; absent = no verification.
    #[serde(default)]
    pub ca: Option<String>,
    /// `check_cert_days`: warn about a certificate that expires within this
    /// many days.
    #[serde(default = "default_cert_days")]
    pub cert_days: u32,
    /// `check_query` name (dns).
    #[serde(default)]
    pub query: Option<String>,
    /// `check_query` record type (dns; default A).
    #[serde(default)]
    pub query_type: Option<String>,
}

/// One real server of a virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCheck {
    /// The `server NAME` of lvs.cf; echoed in reports.
    pub name: String,
    /// Real server address.
    pub address: IpAddr,
    /// Real server port (what is checked). Defaults to the virtual port.
    #[serde(default)]
    pub port: Option<u16>,
    /// Configured weight W.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Weight lvsd currently has programmed for this server, if it is in the
    /// kernel table (e.g. after a nanny restart, FLT-K03). When set and > 0, a
    /// first successful probe resumes at this weight instead of ramping from
    /// W/32. Not part of the checker identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_weight: Option<u32>,
}

fn default_weight() -> u32 {
    1
}

impl ServerCheck {
    /// The port that is checked.
    pub fn check_port(&self, v: &VirtualCheck) -> u16 {
        self.port.unwrap_or(v.port)
    }
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Real server must be in the table with `weight`.
    Up,
    /// Real server must be removed (or kept at weight 0 with quiesce).
    Down,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Up => "up",
            State::Down => "down",
        })
    }
}

/// A state or weight change of one (virtual, server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerReport {
    /// Virtual server name.
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    /// Real server name.
    pub server: String,
    /// Real server address.
    pub address: IpAddr,
    /// Real server port.
    pub port: u16,
    /// up or down.
    pub state: State,
    /// The weight lvsd must program (always 0 when down).
    pub weight: u32,
    /// Why it is down (absent when up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A protocol event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReport {
    /// Event name; currently only [`INITIAL_ROUND_DONE`].
    pub event: String,
    /// 1-based sequence number of the job line this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
    /// For [`JOB_REJECTED`]: why the line was not accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Event name written once per job line after every server's first decision.
pub const INITIAL_ROUND_DONE: &str = "initial-round-done";
/// Event name written for a job line that is not valid JSON for a [`Job`];
/// the previous job stays in force.
pub const JOB_REJECTED: &str = "job-rejected";

/// A TLS certificate that expires soon (https checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertExpiry {
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// The certificate state of one (virtual, server) of an https check:
/// written when a warning starts, when its day count changes and when it
/// ends (`certificate` absent: the certificate was renewed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertReport {
    /// Virtual server name.
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    /// Real server name.
    pub server: String,
    /// Real server address.
    pub address: IpAddr,
    /// Real server port.
    pub port: u16,
    /// The warning, if the certificate expires within `check_cert_days`.
    #[serde(default)]
    pub certificate: Option<CertExpiry>,
}

/// One stdout line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Report {
    /// `{"virtual":..,"server":..,"state":..,"weight":..}`
    Server(ServerReport),
    /// `{"event":"initial-round-done","job":N}`
    Event(EventReport),
    /// `{"virtual":..,"server":..,"address":..,"port":..,"certificate":{..}}`
    Certificate(CertReport),
}

impl Report {
    /// The JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("reports always serialize")
    }

    /// Parse one stdout line.
    pub fn from_line(line: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(line)
    }
}

impl Job {
    /// Parse one stdin line.
    pub fn from_line(line: &str) -> Result<Job, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("jobs always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let line = r#"{"virtuals":[{"name":"web","vip":"10.0.0.100","port":80,"protocol":"tcp","fwmark":null,"timeout":10,"reentry":180,"quiesce":false,"load_monitor":"none","rsh_command":"rsh","send":"GET / HTTP/1.0\\r\\n\\r\\n","expect":"HTTP","use_regex":false,"send_program":null,"servers":[{"name":"r1","address":"10.0.1.11","port":80,"weight":1}]}]}"#;
        let job = Job::from_line(line).unwrap();
        assert_eq!(
            job.virtuals[0].send.as_deref(),
            Some("GET / HTTP/1.0\\r\\n\\r\\n")
        );
        assert_eq!(job.virtuals[0].servers[0].port, Some(80));
        let again = Job::from_line(&job.to_line()).unwrap();
        assert_eq!(job, again);
    }

    #[test]
    fn report_lines() {
        let r = Report::Server(ServerReport {
            virtual_name: "web".into(),
            server: "r1".into(),
            address: "10.0.1.11".parse().unwrap(),
            port: 80,
            state: State::Down,
            weight: 0,
            reason: Some("connection refused".into()),
        });
        assert_eq!(
            r.to_line(),
            r#"{"virtual":"web","server":"r1","address":"10.0.1.11","port":80,"state":"down","weight":0,"reason":"connection refused"}"#
        );
        assert_eq!(Report::from_line(&r.to_line()).unwrap(), r);
        let e = Report::Event(EventReport {
            event: INITIAL_ROUND_DONE.into(),
            job: Some(1),
            error: None,
        });
        assert_eq!(e.to_line(), r#"{"event":"initial-round-done","job":1}"#);
        assert_eq!(Report::from_line(&e.to_line()).unwrap(), e);
    }
}
