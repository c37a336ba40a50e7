//! Operations written as `ipvsadm` command lines (without the program
//! name), the format of `ipvsadm -S` and `ipvsadm -R`:
//! `-A -t 10.0.0.1:80 -s wlc`, `-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1`.
//! Used by `lvsd --dry-run` and by the benchmark, which feeds the same
//! lines to `ipvsadm -R` and to one `ipvsadm` process per line.

use std::fmt::Write as _;
use std::net::IpAddr;

use ipvs::{Destination, Family, Forward, Netmask, Operation, Service, ServiceKey};

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The service part: `-t VIP:PORT`, `-u ...`, `--sctp-service ...`,
/// `-f MARK` (with `-6` for an IPv6 fwmark service).
pub fn service_spec(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Tcp(a, p) => format!("-t {}", addr_port(a, *p)),
        ServiceKey::Udp(a, p) => format!("-u {}", addr_port(a, *p)),
        ServiceKey::Sctp(a, p) => format!("--sctp-service {}", addr_port(a, *p)),
        ServiceKey::Fwmark { mark, family } => match family {
            Family::Inet => format!("-f {mark}"),
            Family::Inet6 => format!("-f {mark} -6"),
        },
    }
}

fn service_options(s: &Service) -> String {
    let mut out = format!("-s {}", s.scheduler);
    if s.is_persistent() {
        let _ = write!(out, " -p {}", s.timeout);
        let host = Netmask::host(s.key.family());
        if s.netmask != host {
            match s.netmask {
                Netmask::V4(m) => {
                    let _ = write!(out, " -M {m}");
                }
                Netmask::V6(p) => {
                    let _ = write!(out, " -M {p}");
                }
            }
        }
    }
    out
}

fn forward_flag(f: Forward) -> &'static str {
    match f {
        Forward::Masq => "-m",
        Forward::Route => "-g",
        Forward::Tunnel => "-i",
        // ipvsadm has no flag for these; the kernel reports them for a
        // local real server. `-g` is what ipvsadm -S prints for Local.
        Forward::Local | Forward::Bypass => "-g",
    }
}

fn dest_options(d: &Destination) -> String {
    let mut out = format!(
        "-r {} {} -w {}",
        addr_port(&d.addr, d.port),
        forward_flag(d.forward),
        d.weight
    );
    if d.upper_threshold != 0 {
        let _ = write!(out, " -x {}", d.upper_threshold);
    }
    if d.lower_threshold != 0 {
        let _ = write!(out, " -y {}", d.lower_threshold);
    }
    out
}

/// One operation as an ipvsadm command line (without `ipvsadm`).
pub fn format_op(op: &Operation) -> String {
    match op {
        Operation::AddService(s) => format!("-A {} {}", service_spec(&s.key), service_options(s)),
        Operation::EditService(s) => format!("-E {} {}", service_spec(&s.key), service_options(s)),
        Operation::DelService(k) => format!("-D {}", service_spec(k)),
        Operation::AddDest(k, d) => format!("-a {} {}", service_spec(k), dest_options(d)),
        Operation::EditDest(k, d) => format!("-e {} {}", service_spec(k), dest_options(d)),
        Operation::DelDest {
            service,
            addr,
            port,
        } => format!("-d {} -r {}", service_spec(service), addr_port(addr, *port)),
        Operation::Flush => "-C".to_string(),
        Operation::SetTimeouts(t) => format!("--set {} {} {}", t.tcp, t.tcpfin, t.udp),
        Operation::StartDaemon(d) => format!(
            "--start-daemon {} --mcast-interface {} --syncid {}",
            d.state, d.mcast_ifn, d.syncid
        ),
        Operation::StopDaemon(s) => format!("--stop-daemon {s}"),
        Operation::Zero(None) => "-Z".to_string(),
        Operation::Zero(Some(k)) => format!("-Z {}", service_spec(k)),
    }
}

/// A whole plan, one line per operation, each ending in a newline.
pub fn format_plan(ops: &[Operation]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&format_op(op));
        out.push('\n');
    }
    out
}
