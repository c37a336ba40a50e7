//! nanny: health checks of the real servers of LVS virtual services.
//!
//! Owns the probes (TCP/UDP connect, send/expect, send_program) and the
//! up/down state machine with reentry, weight ramp, quiesce and load
//! monitoring. It never touches the kernel: it reports state changes and
//! lvsd applies them.
