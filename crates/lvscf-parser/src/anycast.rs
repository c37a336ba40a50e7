//! Checks of `router_mode = anycast` (our extension, docs/ANYCAST.md):
//! every router is active behind ECMP, so replies must bypass the
//! directors (no NAT), and every director must pick the same real server
//! for a flow (the `mh` scheduler).

use crate::diag::{Code, Severity};
use crate::model::{Config, Network, RouterMode, Scheduler};
use crate::report::Reporter;

/// Appends the anycast-mode diagnostics of `config` to `r`.
pub(crate) fn check(r: &mut Reporter<'_>, config: &Config) {
    if config.router_mode != RouterMode::Anycast {
        if config.anycast_interface.is_some() {
            r.at(
                Severity::Warning,
                Code::NoEffect,
                None,
                "anycast_interface",
                "anycast_interface has no effect without `router_mode = anycast`".into(),
                Some("set `router_mode = anycast`, or remove the line".into()),
            );
        }
        return;
    }
    if config.network == Network::Nat {
        // Absent `network` is Piranha's default, nat: name the line that
        // chose anycast then.
        let written = r.structure.key_line(None, "network").is_some();
        let (key, how) = if written {
            ("network", "network = nat")
        } else {
            ("router_mode", "network (not set: nat, Piranha's default)")
        };
        r.at(
            Severity::Error,
            Code::AnycastNat,
            None,
            key,
            format!("router_mode = anycast cannot run with {how}: with several active routers behind ECMP the replies must not come back through the routers"),
            Some("set `network = direct` or `network = tunnel`".into()),
        );
    }
    for (index, v) in config.virtuals.iter().enumerate() {
        if !v.active || v.scheduler == Scheduler::Mh {
            continue;
        }
        let Some(block) = r.structure.virtual_block(false, index) else {
            continue;
        };
        r.at(
            Severity::Warning,
            Code::AnycastScheduler,
            Some(block),
            "scheduler",
            format!(
                "scheduler {} in anycast mode: when the upstream moves a flow to another router, that router may pick another real server and the connection breaks; mh (Maglev hashing) picks the same one on every router",
                v.scheduler
            ),
            Some("set `scheduler = mh`, with the same real servers and weights on every router".into()),
        );
    }
}
