//! Host names of lvs.cf, turned into addresses by one rule for every tool:
//! a literal address is itself; a name resolves through the system's
//! resolver (getaddrinfo), and of its addresses the first IPv4 one is taken
//! (Piranha's tools resolved with gethostbyname, IPv4 only), else the first
//! IPv6 one.

use std::net::{IpAddr, ToSocketAddrs};

/// Why a name gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The resolver failed (unknown name, no network, ...).
    #[error("cannot resolve {name}: {why}")]
    Failed {
        /// The name.
        name: String,
        /// The resolver's error.
        why: String,
    },
    /// The name has no address.
    #[error("{0} has no address")]
    NoAddress(String),
}

/// Picks the address of a name from what the resolver returned.
pub fn pick(addrs: impl IntoIterator<Item = IpAddr>) -> Option<IpAddr> {
    let mut first_v6 = None;
    for a in addrs {
        match a {
            IpAddr::V4(_) => return Some(a),
            IpAddr::V6(_) if first_v6.is_none() => first_v6 = Some(a),
            IpAddr::V6(_) => {}
        }
    }
    first_v6
}

/// The address of `name` (a literal address or a host name).
pub fn lookup(name: &str) -> Result<IpAddr, LookupError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ip);
    }
    let addrs = (name, 0)
        .to_socket_addrs()
        .map_err(|e| LookupError::Failed {
            name: name.to_string(),
            why: e.to_string(),
        })?;
    pick(addrs.map(|a| a.ip())).ok_or_else(|| LookupError::NoAddress(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_first_then_ipv6() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(pick([v6, v4, v6b]), Some(v4));
        assert_eq!(pick([v6, v6b]), Some(v6));
        assert_eq!(pick([]), None);
        assert_eq!(lookup("10.0.0.1"), Ok("10.0.0.1".parse().unwrap()));
        assert_eq!(lookup("::1"), Ok("::1".parse().unwrap()));
        assert_eq!(lookup("localhost").map(|a| a.is_loopback()), Ok(true));
        assert!(matches!(
            lookup("no-such-host.invalid"),
            Err(LookupError::Failed { .. } | LookupError::NoAddress(_))
        ));
    }
}
