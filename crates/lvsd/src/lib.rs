//! lvsd: turns lvs.cf into the kernel's IPVS table and keeps it right.
//!
//! Owns the desired table (from the parsed configuration and nanny's
//! reports), the diff against the live kernel table, and nanny supervision.
//! It never parses lvs.cf itself (that is `lvscf-parser`) and never speaks
//! netlink directly (that is `ipvs`).
