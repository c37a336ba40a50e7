//! IPVS over generic netlink.
//!
//! Owns the kernel's IPVS generic netlink family: services, destinations,
//! sync daemons and timeouts, with attributes as types. It knows nothing of
//! lvs.cf and makes no decisions: callers (lvsd, pulse) say what to program.
