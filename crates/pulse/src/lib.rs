//! pulse: heartbeat and failover between the two LVS routers.
//!
//! Owns the heartbeat codec, the role state machine and the takeover and
//! relinquish sequences (VIPs, gratuitous ARP, lvsd start and stop). It
//! never programs IPVS services itself: lvsd does.
