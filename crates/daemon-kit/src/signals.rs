//! Signals that arrive while a daemon starts.
//!
//! A daemon installs its handlers for SIGTERM, SIGINT, SIGHUP, SIGUSR1 and
//! SIGUSR2 only once its event loop exists, after reading lvs.cf, binding
//! sockets and removing leftovers. Until then the default action of each
//! is to end the process: a `systemctl reload` or a `kill -HUP` in the
//! first moments killed pulse. [`hold`] blocks them first thing, so they
//! wait (pending, one of each kind) instead; [`release`] unblocks them once
//! the handlers are in place, and each waiting one is handled then.
//!
//! Children do not inherit the block: Rust's `Command` starts every child
//! with an empty signal mask.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

/// The signals the daemons handle.
pub const HANDLED: [Signal; 5] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

fn set() -> SigSet {
    let mut s = SigSet::empty();
    for sig in HANDLED {
        s.add(sig);
    }
    s
}

/// Blocks [`HANDLED`] in the calling thread (and the threads it starts
/// later). Call it before anything else, on the main thread.
pub fn hold() -> nix::Result<()> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set()), None)
}

/// Unblocks [`HANDLED`] in the calling thread once their handlers are
/// installed: the ones that came meanwhile are delivered now.
pub fn release() -> nix::Result<()> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set()), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static HUPS: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn count(_: nix::libc::c_int) {
        HUPS.fetch_add(1, Ordering::SeqCst);
    }

    /// A SIGHUP sent while held waits and is delivered at [`release`].
    #[test]
    fn a_held_signal_waits_for_release() {
        // A thread of its own: the mask is per thread.
        std::thread::spawn(|| {
            hold().expect("hold");
            let action = nix::sys::signal::SigAction::new(
                nix::sys::signal::SigHandler::Handler(count),
                nix::sys::signal::SaFlags::empty(),
                SigSet::empty(),
            );
            // SAFETY: the handler only touches an atomic.
            unsafe { nix::sys::signal::sigaction(Signal::SIGHUP, &action) }.expect("sigaction");
            // raise(3) signals the calling thread.
            nix::sys::signal::raise(Signal::SIGHUP).expect("raise");
            assert_eq!(HUPS.load(Ordering::SeqCst), 0, "delivered while held");
            release().expect("release");
            assert_eq!(HUPS.load(Ordering::SeqCst), 1, "not delivered at release");
        })
        .join()
        .expect("thread");
    }
}
