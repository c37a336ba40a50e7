//! The `send_arp` binary, with Piranha's argv:
//! `send_arp [-i dev] src_ip_addr src_hw_addr targ_ip_addr targ_hw_addr`.
//!
//! Sends Piranha's 60-byte gratuitous ARP reply (Ethernet destination
//! `targ_hw_addr`, sender = target = `src_ip_addr`/`src_hw_addr`). When
//! `src_ip_addr` is an IPv6 address it sends an unsolicited neighbour
//! advertisement instead (extension). `targ_ip_addr` is resolved but not used,
//! as in Piranha.

use send_arp::{arp_reply_frame, Mac, Sender};
use std::net::IpAddr;
use std::process::ExitCode;

const USAGE: &str =
    "usage: send_arp [-i <device>] src_ip_addr src_hw_addr targ_ip_addr targ_hw_addr\n";

/// One rule for host names in the whole suite (IPv4 first).
fn resolve(host: &str) -> Option<IpAddr> {
    daemon_kit::host::lookup(host).ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dev, rest) = match args.len() {
        4 => ("eth0".to_string(), &args[..]),
        6 if args[0] == "-i" => (args[1].clone(), &args[2..]),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    let Some(src_ip) = resolve(&rest[0]) else {
        eprintln!("send_arp: unknown host {}", rest[0]);
        return ExitCode::from(1);
    };
    let Ok(src_hw) = rest[1].parse::<Mac>() else {
        eprintln!("Invalid hardware address");
        return ExitCode::from(1);
    };
    if resolve(&rest[2]).is_none() {
        eprintln!("send_arp: unknown host {}", rest[2]);
        return ExitCode::from(1);
    }
    let Ok(targ_hw) = rest[3].parse::<Mac>() else {
        eprintln!("Invalid hardware address");
        return ExitCode::from(1);
    };
    let sender = match Sender::open(&dev) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("socket: {e}");
            return ExitCode::from(1);
        }
    };
    let result = match src_ip {
        IpAddr::V4(ip) => sender.send_frame(&arp_reply_frame(ip, src_hw, targ_hw)),
        IpAddr::V6(ip) => sender.announce_v6(ip, src_hw),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sendto: {e}");
            ExitCode::from(1)
        }
    }
}
