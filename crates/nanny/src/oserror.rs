//! The words a probe's failure reason uses for a system error.

use std::io;

/// An I/O error in Piranha's words (`connection refused`, ...).
pub(crate) fn err_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "connection refused".into(),
        Some(libc::ECONNRESET) => "connection reset by peer".into(),
        Some(libc::EHOSTUNREACH) => "no route to host".into(),
        Some(libc::ENETUNREACH) => "network unreachable".into(),
        _ => {
            let s = e.to_string();
            // "Connection refused (os error 111)" -> "connection refused"
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            s.to_lowercase()
        }
    }
}
