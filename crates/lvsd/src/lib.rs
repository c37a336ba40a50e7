//! lvsd: turns lvs.cf into the kernel's IPVS table and keeps it right.
//!
//! Owns: the desired table (from the parsed configuration and nanny's
//! reports), the difference against the live kernel table as the fewest
//! IPVS operations, applied in one pipelined batch, and the supervision of
//! the nanny processes (one per active virtual server, or per group of
//! virtual servers that share an identical check) whose reports drive the
//! table. lvsd is the only writer of the IPVS table in the suite.
//!
//! Must not: parse lvs.cf itself (that is `lvscf-parser`), speak netlink
//! directly (that is `ipvs`), run ipvsadm or a shell, flush the table
//! (services it does not own, i.e. whose key no `virtual` block of lvs.cf
//! describes, are left alone), delete and re-add an entry that merely
//! changed (scheduler, persistence, weight and forwarding method are
//! edits), touch VIPs or interfaces (pulse does), or resolve host names
//! anywhere but at load time (with a deadline).
//!
//! Layout: pure modules, tested without root:
//! - [`table`]: the IPVS table as data, and an in-memory model of how the
//!   kernel applies operations;
//! - [`desired`]: configuration + reports -> desired table;
//! - [`diff`]: current + desired -> operations;
//! - [`ipvsadm`]: operations as ipvsadm command lines (`--dry-run`);
//! - [`health`]: nanny's reports, and the nanny jobs built from lvs.cf;
//! - [`group`]: which virtual servers share a nanny process;
//! - [`backoff`]: when to restart a dead nanny;
//! - [`status`]: the status socket's JSON;
//! - [`synth`]: synthetic lvs.cf files for the benchmarks.
//!
//! Thin I/O around them: [`daemon`] (netlink through `ipvs`, signals,
//! timers, the status socket), [`nannyproc`] (nanny child processes),
//! [`log`] (stdout with `lvs: ` or syslog ident `lvsd`), [`resolve`] (host
//! names with a deadline), [`cli`].

#![warn(missing_docs)]

pub mod backoff;
pub mod desired;
pub mod diff;
pub mod group;
pub mod health;
pub mod ipvsadm;
pub mod jobs;
pub mod plan;
pub mod status;
pub mod synth;
pub mod table;

pub mod cli;
pub mod daemon;
pub mod kernel;
pub mod load;
pub mod log;
pub mod nannyproc;
pub mod oneshot;
pub mod process;
pub mod reconcile;
pub mod reload;
pub mod resolve;
pub mod status_server;
