//! The commands that print a plan and change nothing: `lvsd --dry-run`
//! (against the live table) and `lvsd --test-start` (from an empty table,
//! without touching the kernel). Real servers are assumed up in both.

use ipvs::{Ipvs, Operation};

use crate::cli::Cli;
use crate::desired::{configured_keys, desired, timeouts_change, Monitor};
use crate::ipvsadm::{format_op, format_plan};
use crate::kernel::read_kernel;
use crate::load::load_config;
use crate::plan::{operations, Scope};
use crate::table::Table;
use crate::{info, warn};

/// `lvsd --dry-run`: the plan against the live table, as ipvsadm lines on
/// standard output, notes on standard error. Returns the exit status.
pub fn dry_run(cli: &Cli) -> i32 {
    let config = match load_config(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let mut ipvs = match Ipvs::connect() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let owned = configured_keys(&config);
    // Only the owned services are read: the plan deletes none other.
    let (current, foreign) = match read_kernel(&mut ipvs, &owned, None) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lvs: cannot read the IPVS table: {e}");
            return 1;
        }
    };
    for k in foreign {
        eprintln!("lvs: leaving service {k} alone: lvs.cf does not describe it");
    }
    let d = desired(&config, Monitor::AssumeUp, &current);
    for w in &d.warnings {
        eprintln!("lvs: {w}");
    }
    let mut ops = Vec::new();
    match ipvs.timeouts() {
        Ok(t) => {
            if let Some(t) = timeouts_change(&config, t) {
                ops.push(Operation::SetTimeouts(t));
            }
        }
        Err(e) => eprintln!("lvs: cannot read the IPVS timeouts: {e}"),
    }
    ops.extend(operations(&current, &d, Scope::All));
    print!("{}", format_plan(&ops));
    if ops.is_empty() {
        eprintln!(
            "lvs: the kernel table matches {}: empty plan",
            cli.config.display()
        );
    } else {
        eprintln!("lvs: {} operation(s) planned", ops.len());
    }
    0
}

/// `lvsd --test-start`: the plan that builds the table from scratch, as
/// log lines. Returns the exit status.
pub fn test_start(cli: &Cli) -> i32 {
    let config = match load_config(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvs: {e}");
            return 1;
        }
    };
    let empty = Table::new();
    let d = desired(&config, Monitor::AssumeUp, &empty);
    for w in &d.warnings {
        warn!("{w}");
    }
    for v in config.active_virtuals() {
        info!("starting virtual service {} active: {}", v.name, v.port);
    }
    for op in operations(&empty, &d, Scope::All) {
        info!("test-start: ipvsadm {}", format_op(&op));
    }
    0
}
