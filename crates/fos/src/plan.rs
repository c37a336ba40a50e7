//! What each mode runs, from lvs.cf (pure).

use lvscf_parser::{Config, Host, Protocol, VirtualServer};
use std::net::IpAddr;
use std::path::Path;

/// One active failover block, as fos runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The block name.
    pub name: String,
    /// `start_cmd` (None: not configured; a warning of `lvscf check`).
    pub start: Option<String>,
    /// `stop_cmd` (None: not configured; Piranha's fos ran garbage then).
    pub stop: Option<String>,
    /// The nanny command line watching the partner's copy (monitor mode),
    /// or why there is none.
    pub monitor: Result<Vec<String>, String>,
}

/// How nanny is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NannyMode {
    /// fos runs in the foreground: so does nanny (`--nodaemon`), else
    /// `-c` (no fork).
    pub nodaemon: bool,
    /// `-v`.
    pub verbose: bool,
    /// `--syslog`.
    pub syslog: bool,
}

/// The active failover blocks of `config`, in file order. `resolve`
/// turns a host name into an address.
pub fn services(
    config: &Config,
    nanny: &Path,
    mode: NannyMode,
    resolve: &dyn Fn(&str) -> Result<IpAddr, String>,
) -> Vec<Service> {
    config
        .failovers
        .iter()
        .filter(|f| f.active)
        .map(|f| Service {
            name: f.name.clone(),
            start: nonblank(&f.start_cmd),
            stop: nonblank(&f.stop_cmd),
            monitor: nanny_argv(f, nanny, mode, resolve),
        })
        .collect()
}

fn nonblank(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|t| t.trim().trim_matches('"').trim().to_string())
        .filter(|t| !t.is_empty())
}

/// nanny watching the partner's service on the failover address: `nanny
/// -c|--nodaemon -h ADDRESS -p PORT [-s SEND] [-x EXPECT] [-e PROGRAM]
/// [--regex] [-u] -t TIMEOUT --fos [-v] [--syslog]`. As in Piranha, no
/// reentry is passed (nanny then uses the interval).
pub fn nanny_argv(
    f: &VirtualServer,
    nanny: &Path,
    mode: NannyMode,
    resolve: &dyn Fn(&str) -> Result<IpAddr, String>,
) -> Result<Vec<String>, String> {
    let Some(addr) = &f.address else {
        return Err(format!("failover `{}` has no address to watch", f.name));
    };
    let ip = match &addr.host {
        Host::Ip(ip) => *ip,
        Host::Name(n) => resolve(n).map_err(|e| format!("failover `{}`: {e}", f.name))?,
    };
    let mut v = vec![nanny.display().to_string()];
    v.push(if mode.nodaemon { "--nodaemon" } else { "-c" }.into());
    v.extend(["-h".into(), ip.to_string(), "-p".into(), f.port.to_string()]);
    if let Some(s) = &f.send {
        v.extend(["-s".into(), s.clone()]);
    }
    if let Some(x) = &f.expect {
        v.extend(["-x".into(), x.clone()]);
    }
    if let Some(e) = &f.send_program {
        v.extend(["-e".into(), e.text.clone()]);
    }
    if f.use_regex {
        v.push("--regex".into());
    }
    if f.protocol == Protocol::Udp {
        v.push("-u".into());
    }
    v.extend(["-t".into(), f.timeout.to_string(), "--fos".into()]);
    if mode.verbose {
        v.push("-v".into());
    }
    if mode.syslog {
        v.push("--syslog".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "serial_no = 1\nprimary = 10.0.0.1\nbackup = 10.0.0.2\nservice = fos\n\
        failover web {\n active = 1\n address = 10.0.0.100 eth0:1\n port = 8081\n\
         send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n expect = \"HTTP\"\n timeout = 3\n\
         start_cmd = \"/usr/sbin/webctl start\"\n stop_cmd = \"/usr/sbin/webctl stop\"\n}\n\
        failover dns {\n active = 1\n address = 10.0.0.101 eth0:2\n port = 53\n protocol = udp\n\
         send_program = \"/usr/local/bin/dnscheck %h\"\n expect = \"OK\"\n start_cmd = \"/usr/sbin/dnsctl start\"\n}\n\
        failover off {\n active = 0\n address = 10.0.0.102 eth0:3\n port = 21\n}\n";

    fn cfg() -> Config {
        match lvscf_parser::parse("lvs.cf", FILE.as_bytes()) {
            Ok(l) => l.config,
            Err(d) => panic!(
                "{:?}",
                d.errors().map(|e| e.message.clone()).collect::<Vec<_>>()
            ),
        }
    }

    fn no_names(n: &str) -> Result<IpAddr, String> {
        Err(format!("cannot resolve {n}"))
    }

    #[test]
    fn active_blocks_commands_and_nanny_argv() {
        let mode = NannyMode {
            nodaemon: false,
            verbose: true,
            syslog: false,
        };
        let s = services(&cfg(), Path::new("/usr/sbin/nanny"), mode, &no_names);
        assert_eq!(s.len(), 2, "the inactive block is not run");
        assert_eq!(s[0].name, "web");
        assert_eq!(s[0].start.as_deref(), Some("/usr/sbin/webctl start"));
        assert_eq!(s[0].stop.as_deref(), Some("/usr/sbin/webctl stop"));
        assert_eq!(
            s[0].monitor.clone().unwrap(),
            [
                "/usr/sbin/nanny",
                "-c",
                "-h",
                "10.0.0.100",
                "-p",
                "8081",
                "-s",
                "GET / HTTP/1.0\\r\\n\\r\\n",
                "-x",
                "HTTP",
                "-t",
                "3",
                "--fos",
                "-v"
            ]
        );
        assert_eq!(s[1].stop, None);
        let m = s[1].monitor.clone().unwrap();
        assert!(m
            .windows(2)
            .any(|w| w == ["-e", "/usr/local/bin/dnscheck %h"]));
        assert!(m.contains(&"-u".to_string()));
        assert!(m.windows(2).any(|w| w == ["-p", "53"]));
    }

    #[test]
    fn foreground_and_missing_address() {
        let mut c = cfg();
        c.failovers[0].address = None;
        let mode = NannyMode {
            nodaemon: true,
            verbose: false,
            syslog: true,
        };
        let s = services(&c, Path::new("/n"), mode, &no_names);
        assert_eq!(
            s[0].monitor,
            Err("failover `web` has no address to watch".to_string())
        );
        let m = s[1].monitor.clone().unwrap();
        assert_eq!(m[1], "--nodaemon");
        assert_eq!(m.last().map(String::as_str), Some("--syslog"));
    }
}
