//! Addresses as lvs.cf writes them: a host (IP or name), an address on a
//! device (`address = VIP eth0:1`), netmasks and persistence masks. Part
//! of [`crate::model`], which re-exports every type here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::MAX_DEVICE_LEN;

/// An address as written in lvs.cf: an IP address, or a host name that the
/// daemons resolve once when they load the file (never on a reload path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Host {
    /// IPv4 (dotted quad) or IPv6 (extension).
    Ip(IpAddr),
    /// A host name (loads with a warning).
    Name(String),
}

impl Host {
    /// The address, if this is not a host name.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// `address = IP DEVICE` and `nat_router = IP DEVICE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddressOnDevice {
    /// The address.
    pub host: Host,
    /// The device, possibly with an alias label (`eth0:1`).
    pub device: String,
}

impl AddressOnDevice {
    /// The device without its `:alias` label (`eth0:1` -> `eth0`).
    pub fn base_device(&self) -> &str {
        self.device.split(':').next().unwrap_or(&self.device)
    }

    /// Why the device cannot name an interface, if it cannot: the file
    /// loads (Piranha's ifconfig failed for that address and the rest
    /// ran), and pulse does not bring the address up.
    pub fn device_problem(&self) -> Option<&'static str> {
        device_problem(&self.device)
    }
}

/// Why `device` cannot be an interface name (with an optional `:alias`
/// label), or `None`: what the kernel accepts, minus what could be taken
/// for an option or a path by the tools that receive it.
pub fn device_problem(device: &str) -> Option<&'static str> {
    if device.is_empty() {
        return Some("empty");
    }
    if device.len() > MAX_DEVICE_LEN {
        return Some("longer than 15 characters");
    }
    if device.starts_with('-') {
        return Some("starts with `-`");
    }
    if device.contains("..") || device == "." {
        return Some("contains `..`");
    }
    if !device
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
    {
        return Some("only letters, digits and _ - . : @ are allowed");
    }
    None
}

/// A contiguous IPv4 netmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Netmask(Ipv4Addr);

impl Netmask {
    /// The mask with `prefix` leading one bits (0..=32).
    pub fn from_prefix(prefix: u8) -> Option<Netmask> {
        if prefix > 32 {
            return None;
        }
        let bits = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        };
        Some(Netmask(Ipv4Addr::from(bits)))
    }

    /// Accepts only contiguous masks.
    pub fn new(mask: Ipv4Addr) -> Option<Netmask> {
        let bits = u32::from(mask);
        if bits.leading_ones() + bits.trailing_zeros() == 32 {
            Some(Netmask(mask))
        } else {
            None
        }
    }

    /// The mask as an address.
    pub fn addr(self) -> Ipv4Addr {
        self.0
    }

    /// Number of leading one bits.
    pub fn prefix_len(self) -> u8 {
        u32::from(self.0).leading_ones() as u8
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<Netmask> for String {
    fn from(m: Netmask) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Netmask {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse::<Ipv4Addr>()
            .ok()
            .and_then(Netmask::new)
            .ok_or_else(|| format!("bad netmask {s:?}"))
    }
}

/// `pmask`: the persistence netmask of a virtual server.
///
/// Piranha wrote an IPv4 netmask; IPv6 services (our extension) need a
/// prefix length, written as a bare number (`pmask = 64`), which IPv4
/// services may use too (`pmask = 24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Pmask {
    /// A dotted IPv4 netmask, as Piranha wrote it.
    Mask(Netmask),
    /// A prefix length, 0..=128.
    Prefix(u8),
}

impl Pmask {
    /// Number of leading one bits.
    pub fn prefix_len(self) -> u8 {
        match self {
            Pmask::Mask(m) => m.prefix_len(),
            Pmask::Prefix(p) => p,
        }
    }

    /// The IPv4 netmask, when the prefix fits one.
    pub fn ipv4(self) -> Option<Netmask> {
        match self {
            Pmask::Mask(m) => Some(m),
            Pmask::Prefix(p) => Netmask::from_prefix(p),
        }
    }
}

impl fmt::Display for Pmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pmask::Mask(m) => m.fmt(f),
            Pmask::Prefix(p) => p.fmt(f),
        }
    }
}

impl From<Pmask> for String {
    fn from(m: Pmask) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Pmask {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if let Ok(p) = s.parse::<u8>() {
            return if p <= 128 {
                Ok(Pmask::Prefix(p))
            } else {
                Err(format!("bad pmask prefix length {s:?}"))
            };
        }
        Netmask::try_from(s).map(Pmask::Mask)
    }
}
