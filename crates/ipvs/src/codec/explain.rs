//! Kernel refusals in words an administrator can act on.

use crate::types::Operation;

/// Why the kernel refused `op` with `errno`, in words an administrator can
/// act on.
pub fn explain(op: &Operation, errno: i32) -> String {
    use Operation::*;
    let generic = || std::io::Error::from_raw_os_error(errno).to_string();
    match (errno, op) {
        (libc::ENOENT, AddService(s) | EditService(s)) => match &s.pe_name {
            Some(pe) => format!(
                "scheduler '{}' or persistence engine '{pe}' is not available (module ip_vs_{} / ip_vs_pe_{pe} not loaded?)",
                s.scheduler, s.scheduler
            ),
            None => format!(
                "scheduler '{}' is not available (module ip_vs_{} not loaded?)",
                s.scheduler, s.scheduler
            ),
        },
        (libc::EEXIST, AddService(_)) => "service already exists".into(),
        (libc::ESRCH, AddDest(..) | EditDest(..) | DelDest { .. } | EditService(_) | DelService(_) | Zero(_)) => {
            "no such service".into()
        }
        (libc::EEXIST, AddDest(..)) => "real server already exists in this service".into(),
        (libc::ENOENT, EditDest(..) | DelDest { .. }) => "no such real server in this service".into(),
        (libc::EINVAL, AddDest(..) | EditDest(..)) => {
            "invalid real server (no route to it, a non-unicast address, or a forwarding method the service's family cannot use?)".into()
        }
        (libc::ERANGE, AddDest(..) | EditDest(..)) => {
            "weight or thresholds out of range (negative weight, or lower threshold above upper?)".into()
        }
        (libc::EAFNOSUPPORT, AddDest(..) | EditDest(..)) => {
            "real server and service have different address families (only tunnelling can mix them)".into()
        }
        (libc::EEXIST, StartDaemon(_)) => "a sync daemon in this state is already running".into(),
        (libc::ESRCH, StopDaemon(_)) => "no sync daemon in this state is running".into(),
        (libc::ENODEV, StartDaemon(d)) => format!("no such interface '{}'", d.mcast_ifn),
        (libc::EPERM, _) => "permission denied (CAP_NET_ADMIN needed)".into(),
        _ => generic(),
    }
}
