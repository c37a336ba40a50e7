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
//! # Layout
//!
//! Decisions are pure functions and state machines over data (the clock
//! passed in), tested without root; the I/O around them is thin and tested
//! for real in the qemu guest (`tests/vm/scripts/lvsd-*.sh`). No two
//! modules import each other.
//!
//! | module | kind | what |
//! |---|---|---|
//! | [`table`] | pure | the IPVS table as data, and a model of how the kernel applies operations |
//! | [`desired`] | pure | configuration + reports -> desired table |
//! | [`diff`] | pure | current + desired -> the fewest operations |
//! | [`plan`] | pure | what a reconcile sends for the whole table or one re-read block; the sorry-server and start/stop lines |
//! | [`drain`] | pure | real servers being drained: weight 0 in the desired table, and when a drain is over |
//! | [`health`] | pure | nanny's reports: the state of each real server, the first round of checks |
//! | [`jobs`] | pure | the nanny job lines built from lvs.cf |
//! | [`group`] | pure | which virtual servers share a nanny process, and which group keeps which nanny on reload |
//! | [`backoff`] | pure | when to restart a dead nanny |
//! | [`supervisor`] | pure | the nanny supervisor, `step(event, now) -> Vec<Action>`, and the loop that performs its actions through an `Effects` trait |
//! | [`ready`] | pure | when the table counts as built (`--ready-fd`) |
//! | [`status`] | pure | the status socket's document |
//! | [`ipvsadm`] | pure | operations as ipvsadm command lines (`--dry-run`, benchmarks) |
//! | [`synth`] | pure | synthetic lvs.cf files for the benchmarks |
//! | [`cli`] | pure | the command line |
//! | [`load`] | I/O | reading and parsing lvs.cf, its warnings logged |
//! | [`resolve`] | I/O | host names, resolved once per load within a deadline |
//! | [`kernel`] | I/O | netlink reads and batches (through `ipvs`), and the model of the owned services |
//! | [`reconcile`] | I/O | the one path from configuration and reports to the kernel's table |
//! | [`deactivate`] | I/O | the end of a drain: `active = 0` in lvs.cf under the writers' lock, then pulse's reload |
//! | [`reload`] | I/O | SIGHUP: unchanged file, one block re-read alone, or the full parse |
//! | [`nannyproc`] | I/O | nanny child processes: pipes, `PR_SET_PDEATHSIG`, reading their reports |
//! | [`status_server`] | I/O | the status socket |
//! | [`process`] | I/O | the readiness descriptor, the pid file, the allocator setting |
//! | [`oneshot`] | I/O | `--dry-run` and `--test-start` |
//! | [`daemon`] | I/O | start-up and the main loop: signals, timers, the supervisor's actions |
//! | [`log`] | I/O | stdout with `lvs: `, or syslog ident `lvsd` |

#![warn(missing_docs)]

pub mod backoff;
pub mod cli;
pub mod desired;
pub mod diff;
pub mod drain;
pub mod group;
pub mod health;
pub mod ipvsadm;
pub mod jobs;
pub mod plan;
pub mod quorum;
pub mod ready;
pub mod status;
pub mod supervisor;
pub mod synth;
pub mod table;

pub mod daemon;
pub mod deactivate;
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
