//! Resolving a (virtual, server) of a job into a check definition. Pure:
//! the exec policy's answer for a program is injected ([`ProgramGate`]).
//!
//! Two servers with equal [`CheckSpec`]s (same address, port, protocol,
//! timeout and check) are probed once per interval and the result feeds every
//! (virtual, server) state machine that uses it.

use crate::escape;
use crate::expect::Expect;
use crate::protocol::{NativeCheck, NativeKind, Protocol, ServerCheck, VirtualCheck};
use crate::state::Params;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The exec policy's answer for a command line as configured (`%h`/`%p`
/// not yet replaced): the real path of the program to execute, or why it
/// may not run. [`crate::program::Programs`] asks the allowlist (its
/// refusal is an [`exec_policy::Refusal`]); only the refusal's text is used.
pub type ProgramGate<'a, E> = dyn FnMut(&str) -> Result<PathBuf, E> + 'a;

/// Piranha's default send string for a port-80 virtual without a monitor.
pub const HTTP_DEFAULT_SEND: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
/// Piranha's default expect string for a port-80 virtual without a monitor.
pub const HTTP_DEFAULT_EXPECT: &[u8] = b"HTTP";

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// Connect (TCP/SCTP) or send a datagram (UDP), optionally send bytes,
    /// optionally read and match.
    Connect {
        /// Bytes to send after connecting (escapes already translated).
        send: Option<Vec<u8>>,
        /// What the reply must look like.
        expect: Expect,
    },
    /// Run an external program; its exit status and output decide.
    Program {
        /// What to execute: the real path the exec policy approved.
        program: PathBuf,
        /// argv, `%h`/`%p` already substituted; `argv[0]` as configured.
        argv: Vec<String>,
        /// What its output must be (`Nothing` = no output at all).
        expect: Expect,
    },
    /// HTTP or HTTPS GET (lvs.cf `check = http | https`).
    Http(Box<crate::native::HttpCheck>),
    /// A DNS query (lvs.cf `check = dns`).
    Dns(Box<crate::native::DnsCheck>),
    /// The definition cannot be run (bad regex, empty program): every probe
    /// fails with this reason, logged once.
    Invalid(String),
}

/// A complete, comparable check definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckSpec {
    /// Protocol.
    pub protocol: Protocol,
    /// Address and port probed.
    pub addr: SocketAddr,
    /// Bound of one probe, and the pause between probes.
    pub timeout: Duration,
    /// What the probe does.
    pub kind: CheckKind,
}

/// A resolved check plus its state-machine parameters and log notes.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The check.
    pub spec: CheckSpec,
    /// State machine parameters.
    pub params: Params,
    /// Load command, if any and allowed: the approved program, then its
    /// arguments with the server's address.
    pub load_cmd: Option<(PathBuf, Vec<String>)>,
    /// Piranha-style notes to log once when the check starts.
    pub notes: Vec<String>,
}

/// The check kind of a native check of the server at `addr`.
pub fn native_kind(n: &NativeCheck, addr: SocketAddr, expect: Expect) -> CheckKind {
    match n.kind {
        NativeKind::Dns => match &n.query {
            None => CheckKind::Invalid("check = dns without check_query".into()),
            Some(name) => CheckKind::Dns(Box::new(crate::native::DnsCheck {
                name: name.clone(),
                qtype: n
                    .query_type
                    .clone()
                    .unwrap_or_else(|| "A".into())
                    .to_ascii_uppercase(),
                answer: expect,
            })),
        },
        NativeKind::Http | NativeKind::Https => {
            let tls = n.kind == NativeKind::Https;
            let default_port = if tls { 443 } else { 80 };
            let host = match &n.host {
                Some(h) => h.clone(),
                None => {
                    let ip = match addr {
                        SocketAddr::V4(a) => a.ip().to_string(),
                        SocketAddr::V6(a) => format!("[{}]", a.ip()),
                    };
                    if addr.port() == default_port {
                        ip
                    } else {
                        format!("{ip}:{}", addr.port())
                    }
                }
            };
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: nanny\r\nAccept: */*\r\n\r\n",
                n.url
            )
            .into_bytes();
            let status = if n.status.is_empty() {
                vec![(200, 299)]
            } else {
                n.status.iter().map(|[a, b]| (*a, *b)).collect()
            };
            CheckKind::Http(Box::new(crate::native::HttpCheck {
                request,
                url: n.url.clone(),
                status,
                body: expect,
                tls: tls.then(|| crate::native::TlsCheck {
                    server_name: n.host.clone().unwrap_or_else(|| addr.ip().to_string()),
                    ca: n.ca.as_ref().map(PathBuf::from),
                    cert_days: n.cert_days,
                }),
            }))
        }
    }
}

/// Format `IP:PORT` (`[v6]:PORT` for IPv6).
pub fn hostport(a: SocketAddr) -> String {
    a.to_string()
}

/// Split a send_program command line on blanks and substitute the tokens
/// `%h` (server address) and `%p` (server port). No quoting, as Piranha.
pub fn program_argv(cmd: &str, addr: IpAddr, port: u16) -> Vec<String> {
    cmd.split_whitespace()
        .map(|t| match t {
            "%h" => addr.to_string(),
            "%p" => port.to_string(),
            _ => t.to_string(),
        })
        .collect()
}

/// Resolve one (virtual, server); `gate` decides whether its programs may
/// run.
pub fn resolve<E: std::fmt::Display>(
    v: &VirtualCheck,
    s: &ServerCheck,
    gate: &mut ProgramGate<E>,
) -> Resolved {
    let port = s.check_port(v);
    let addr = SocketAddr::new(s.address, port);
    let interval = v.timeout.max(1);
    let mut notes = Vec::new();
    let nonempty = |o: &Option<String>| o.as_deref().filter(|x| !x.is_empty()).map(str::to_string);
    let send_raw = nonempty(&v.send);
    let expect_raw = nonempty(&v.expect);
    let program = nonempty(&v.send_program);
    let tr = |raw: &str| {
        if v.suppress_escapes {
            raw.as_bytes().to_vec()
        } else {
            escape::translate(raw)
        }
    };

    let kind = if let Some(native) = &v.check {
        if let Some(s) = send_raw.as_ref().or(program.as_ref()) {
            notes.push(format!(
                "native {:?} check requested: IGNORING send/send_program ({s})",
                native.kind
            ));
        }
        match Expect::compile(expect_raw.as_deref(), v.use_regex, v.suppress_escapes) {
            Err(e) => CheckKind::Invalid(e.to_string()),
            Ok(expect) => native_kind(native, addr, expect),
        }
    } else if let Some(cmd) = program {
        if let Some(s) = &send_raw {
            notes.push(format!(
                "External program use requested: ({cmd}), IGNORING send string option ({s})"
            ));
        }
        let argv = program_argv(&cmd, s.address, port);
        match Expect::compile(expect_raw.as_deref(), v.use_regex, v.suppress_escapes) {
            Err(e) => CheckKind::Invalid(e.to_string()),
            Ok(_) if argv.is_empty() => CheckKind::Invalid("empty send_program".into()),
            Ok(expect) => match gate(&cmd) {
                Ok(program) => CheckKind::Program {
                    program,
                    argv,
                    expect,
                },
                Err(why) => CheckKind::Invalid(format!("send_program '{cmd}' not run: {why}")),
            },
        }
    } else if send_raw.is_none()
        && expect_raw.is_none()
        && v.port == 80
        && v.protocol == Protocol::Tcp
    {
        notes.push("no monitor configured, assuming web service on port 80".into());
        CheckKind::Connect {
            send: Some(HTTP_DEFAULT_SEND.to_vec()),
            expect: Expect::Prefix(HTTP_DEFAULT_EXPECT.to_vec()),
        }
    } else {
        match Expect::compile(expect_raw.as_deref(), v.use_regex, v.suppress_escapes) {
            Err(e) => CheckKind::Invalid(e.to_string()),
            Ok(expect) => CheckKind::Connect {
                send: send_raw.as_deref().map(tr),
                expect,
            },
        }
    };
    let load_cmd =
        exec_policy::load_monitor_template(&v.load_monitor, &v.rsh_command).and_then(|template| {
            match gate(&template.join(" ")) {
                Ok(program) => Some((program, crate::load::with_address(&template, s.address))),
                Err(why) => {
                    notes.push(format!(
                        "load monitor '{}' not run: {why}",
                        template.join(" ")
                    ));
                    None
                }
            }
        });
    Resolved {
        spec: CheckSpec {
            protocol: v.protocol,
            addr,
            timeout: Duration::from_secs(interval as u64),
            kind,
        },
        params: Params::new(v.timeout, v.reentry, s.weight, v.scale, load_cmd.is_some()),
        load_cmd,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow_all(template: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(template.split(' ').next().unwrap_or("")))
    }

    fn resolve(v: &VirtualCheck, s: &ServerCheck) -> Resolved {
        super::resolve(v, s, &mut allow_all)
    }

    fn v() -> VirtualCheck {
        serde_json::from_str(r#"{"name":"web","vip":"10.0.0.100","port":80,"servers":[{"name":"r1","address":"10.0.1.11"}]}"#).unwrap()
    }

    #[test]
    fn http_default_on_port_80() {
        let v = v();
        let r = resolve(&v, &v.servers[0]);
        assert_eq!(
            r.notes,
            vec!["no monitor configured, assuming web service on port 80"]
        );
        assert_eq!(
            r.spec.kind,
            CheckKind::Connect {
                send: Some(b"GET / HTTP/1.0\r\n\r\n".to_vec()),
                expect: Expect::Prefix(b"HTTP".to_vec())
            }
        );
        assert_eq!(r.spec.addr.to_string(), "10.0.1.11:80");
        assert_eq!(r.params.threshold(), 18);
    }

    #[test]
    fn the_http_default_depends_on_the_virtual_port() {
        let mut v = v();
        v.port = 443;
        v.servers[0].port = Some(80);
        let r = resolve(&v, &v.servers[0]);
        assert_eq!(
            r.spec.kind,
            CheckKind::Connect {
                send: None,
                expect: Expect::Nothing
            }
        );
        assert_eq!(r.spec.addr.port(), 80);
    }

    #[test]
    fn send_expect_translated() {
        let mut v = v();
        v.send = Some(r"HEAD / HTTP/1.0\r\n\r\n".into());
        v.expect = Some("HTTP/1.".into());
        let r = resolve(&v, &v.servers[0]);
        assert_eq!(
            r.spec.kind,
            CheckKind::Connect {
                send: Some(b"HEAD / HTTP/1.0\r\n\r\n".to_vec()),
                expect: Expect::Prefix(b"HTTP/1.".to_vec())
            }
        );
        v.suppress_escapes = true;
        let r = resolve(&v, &v.servers[0]);
        assert!(
            matches!(r.spec.kind, CheckKind::Connect { send: Some(ref s), .. } if s == br"HEAD / HTTP/1.0\r\n\r\n")
        );
    }

    /// Reliability catalogue CFG-V08 (docs/RELIABILITY.md).
    #[test]
    fn program_tokens() {
        let mut v = v();
        v.send_program = Some("/usr/local/bin/check  --host %h --port %p x%h".into());
        v.send = Some("ignored".into());
        let r = resolve(&v, &v.servers[0]);
        assert_eq!(
            r.spec.kind,
            CheckKind::Program {
                program: PathBuf::from("/usr/local/bin/check"),
                argv: [
                    "/usr/local/bin/check",
                    "--host",
                    "10.0.1.11",
                    "--port",
                    "80",
                    "x%h"
                ]
                .map(String::from)
                .to_vec(),
                expect: Expect::Nothing
            }
        );
        assert!(r.notes[0].starts_with("External program use requested"));
    }

    #[test]
    fn refused_programs_fail_the_check_and_skip_the_load_monitor() {
        let mut v = v();
        v.send_program = Some("/bin/sh -c echo${IFS}x %h".into());
        v.load_monitor = "uptime".into();
        v.rsh_command = "/usr/bin/env /tmp/x/evil.sh".into();
        let mut asked = Vec::new();
        let mut refuse = |t: &str| {
            asked.push(t.to_string());
            Err("not listed".to_string())
        };
        let r = super::resolve(&v, &v.servers[0], &mut refuse);
        assert_eq!(
            asked,
            [
                "/bin/sh -c echo${IFS}x %h",
                "/usr/bin/env /tmp/x/evil.sh %h uptime"
            ]
        );
        assert_eq!(
            r.spec.kind,
            CheckKind::Invalid(
                "send_program '/bin/sh -c echo${IFS}x %h' not run: not listed".into()
            )
        );
        assert_eq!(r.load_cmd, None);
        assert!(r.notes.contains(
            &"load monitor '/usr/bin/env /tmp/x/evil.sh %h uptime' not run: not listed".to_string()
        ));
        // Allowed: the address goes where `%h` was.
        let r = resolve(&v, &v.servers[0]);
        assert_eq!(
            r.load_cmd,
            Some((
                PathBuf::from("/usr/bin/env"),
                ["/usr/bin/env", "/tmp/x/evil.sh", "10.0.1.11", "uptime"]
                    .map(String::from)
                    .to_vec()
            ))
        );
    }

    #[test]
    fn bad_regex_is_invalid_once() {
        let mut v = v();
        v.expect = Some("(".into());
        v.use_regex = true;
        let r = resolve(&v, &v.servers[0]);
        assert!(matches!(r.spec.kind, CheckKind::Invalid(ref m) if m.starts_with("Error '")));
    }

    #[test]
    fn identical_checks_compare_equal() {
        let v1 = v();
        let mut v2 = v();
        v2.name = "web2".into();
        v2.servers[0].weight = 7;
        assert_eq!(
            resolve(&v1, &v1.servers[0]).spec,
            resolve(&v2, &v2.servers[0]).spec
        );
        v2.timeout = 5;
        assert_ne!(
            resolve(&v1, &v1.servers[0]).spec,
            resolve(&v2, &v2.servers[0]).spec
        );
    }
}
