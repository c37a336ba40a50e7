//! Anycast mode's thin I/O layer (docs/ANYCAST.md): the announcement
//! interface, lvsd, the polling of lvsd's status, signals. Decisions are in
//! [`crate::anycast`].
//!
//! The announcement interface is a non-persistent TUN device held open by
//! this process: the kernel deletes it, with every VIP on it, when pulse's
//! process ends in any way (SIGKILL included), and the routing daemon
//! withdraws the routes of addresses that disappear. Nothing is ever read
//! from or written to the device.

use crate::anycast::{virtuals_of, Action, Announcer, Event};
use crate::cli::Options;
use crate::exec;
use crate::log::Logger;
use crate::netlink::{self, AddrSpec};
use lvs_status::lvsd::LvsdStatus;
use lvs_status::Request;
use lvscf_parser::{Config, RouterMode};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often lvsd's status is asked.
pub const POLL: Duration = Duration::from_millis(200);
/// A status answer older than this no longer counts.
pub const STALE_AFTER: Duration = Duration::from_millis(600);
/// How long one status request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(150);
/// How long lvsd gets to stop before SIGKILL.
const LVSD_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The hook where pulse chooses its mode: runs anycast mode and returns its
/// exit code when lvs.cf says `router_mode = anycast`; `None` otherwise
/// (including a file that does not load: pair mode's start reports it).
pub fn run_if_anycast(opts: &Options) -> Option<i32> {
    let loaded = lvscf_store::load_file(&opts.config).ok()?;
    if loaded.config.router_mode != RouterMode::Anycast {
        return None;
    }
    Some(run(opts, loaded.config))
}

fn run(opts: &Options, config: Config) -> i32 {
    if !opts.nodaemon {
        if let Err(e) = daemon_kit::process::daemonize() {
            eprintln!("pulse: cannot daemonize: {e}");
            return 1;
        }
    }
    let pidfile = daemon_kit::process::PidFile::write(&opts.pidfile);
    let log = Arc::new(Logger::new(opts.nodaemon && !opts.syslog, opts.verbose));
    if let Err(e) = &pidfile {
        log.warn(&format!(
            "cannot write pid file {}: {e}",
            opts.pidfile.display()
        ));
    }
    let code = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(main_loop(opts, config, &log)),
        Err(e) => {
            log.info(&format!("cannot start the runtime: {e}"));
            1
        }
    };
    drop(pidfile);
    code
}

/// Where lvsd answers its status: beside pulse's own socket
/// (`/run/piranha/pulse.sock` -> `/run/piranha/lvsd.sock`, lvsd's default).
pub fn lvsd_socket(pulse_socket: &Path) -> PathBuf {
    pulse_socket
        .parent()
        .unwrap_or(Path::new("/run/piranha"))
        .join("lvsd.sock")
}

async fn main_loop(opts: &Options, config: Config, log: &Logger) -> i32 {
    let virtuals = virtuals_of(&config);
    if virtuals.is_empty() {
        log.info("no active virtual servers defined -- exiting");
        return 1;
    }
    let ifname = config.anycast_interface_name().to_string();
    log.info(&format!(
        "STARTING PULSE IN ANYCAST MODE ({} virtual servers, interface {ifname})",
        virtuals.len()
    ));
    let tun = match Tun::create(&ifname) {
        Ok(t) => t,
        Err(e) => {
            log.info(&format!("cannot create the interface {ifname}: {e}"));
            return 1;
        }
    };
    let mut announcer = Announcer::new(virtuals, STALE_AFTER);
    let lvsd_sock = lvsd_socket(&opts.status_socket);
    // SIGUSR1/SIGUSR2 are handled (and ignored) as in pair mode.
    let Some(crate::runtime::Signals {
        term: mut sigterm,
        int: mut sigint,
        hup: mut sighup,
        ..
    }) = crate::runtime::Signals::install(log)
    else {
        return 1;
    };
    let notifier = crate::notify::Notifier::from_env();
    if opts.test_start {
        log.info("test start (-t): lvsd is not started, nothing is announced");
        notifier.send("READY=1\nSTATUS=anycast, test start: nothing announced");
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
        return 0;
    }
    let lvsd = match exec::start_lvsd(
        &opts.lvsd,
        &opts.config,
        opts.nodaemon,
        opts.verbose,
        opts.syslog,
    ) {
        Ok(l) => l,
        Err(e) => {
            log.info(&format!("cannot start {}: {e}", opts.lvsd.display()));
            return 1;
        }
    };
    let exec::Lvsd {
        mut child,
        mut ready,
    } = lvsd;
    let lvsd_pid = child.id().map_or(0, |p| p as i32);
    notifier.send("READY=1\nSTATUS=anycast, waiting for lvsd");
    let ready_wait = exec::wait_ready(&mut ready, opts.ready_timeout);
    tokio::pin!(ready_wait);
    let mut ready_done = false;
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watchdog_every = notifier.watchdog_interval();
    let mut watchdog = tokio::time::interval(watchdog_every.unwrap_or(Duration::from_secs(3600)));
    let apply = |actions: Vec<Action>| {
        for a in actions {
            perform(&tun, a, log);
        }
    };
    let code = loop {
        tokio::select! {
            r = &mut ready_wait, if !ready_done => {
                ready_done = true;
                match r {
                    Ok(()) => {
                        log.info("lvsd is ready");
                        apply(announcer.step(Event::LvsdReady, Instant::now()));
                    }
                    Err(e) => {
                        log.info(&e);
                        apply(announcer.step(Event::LvsdGone, Instant::now()));
                        break 1;
                    }
                }
            }
            st = child.wait() => {
                match st {
                    Ok(st) => log.info(&exec::exit_line(child.id().unwrap_or(0), &st)),
                    Err(e) => log.info(&format!("lvsd: {e}")),
                }
                apply(announcer.step(Event::LvsdGone, Instant::now()));
                log.info("lvsd ended: every VIP is withdrawn; exiting");
                return 1;
            }
            _ = poll.tick() => {
                let event = if ready_done {
                    match lvs_status::client::request_within::<LvsdStatus>(&lvsd_sock, Request::Status, REQUEST_TIMEOUT).await {
                        Ok(s) => Event::Status(s),
                        Err(e) => {
                            log.debug(&format!("DEBUG -- lvsd status: {e}"));
                            Event::StatusFailed
                        }
                    }
                } else {
                    Event::Tick
                };
                apply(announcer.step(event, Instant::now()));
                let n = announcer.announced().count();
                notifier.send(&format!("STATUS=anycast, {n} VIPs announced on {}", tun.name));
            }
            _ = watchdog.tick(), if watchdog_every.is_some() => notifier.send("WATCHDOG=1"),
            _ = sighup.recv() => {
                // lvsd re-reads lvs.cf itself; pulse takes the new set of
                // virtual servers (the interface and the mode need a restart).
                exec::signal(lvsd_pid, libc::SIGHUP);
                match lvscf_store::load_file(&opts.config) {
                    Ok(l) => {
                        if l.config.router_mode != RouterMode::Anycast
                            || l.config.anycast_interface_name() != tun.name
                        {
                            log.warn("SIGHUP: router_mode or anycast_interface changed: restart pulse to apply it");
                        }
                        log.info("SIGHUP: lvs.cf re-read, passed on to lvsd");
                        apply(announcer.set_virtuals(virtuals_of(&l.config), Instant::now()));
                    }
                    Err(e) => log.warn(&format!(
                        "SIGHUP: lvs.cf not re-read, the running set is kept: {}",
                        e.to_string().lines().next().unwrap_or("cannot load")
                    )),
                }
            }
            _ = sigterm.recv() => break 0,
            _ = sigint.recv() => break 0,
        }
    };
    // Withdraw first, then stop lvsd: traffic leaves before the service.
    notifier.send("STOPPING=1");
    apply(announcer.step(Event::Stopping, Instant::now()));
    log.info("shutting down lvsd");
    exec::signal(lvsd_pid, libc::SIGTERM);
    if tokio::time::timeout(LVSD_STOP_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        exec::signal(lvsd_pid, libc::SIGKILL);
        let _ = child.wait().await;
    }
    drop(tun);
    code
}

fn perform(tun: &Tun, action: Action, log: &Logger) {
    let (vip, add) = match &action {
        Action::Announce { vip, .. } => (*vip, true),
        Action::Withdraw { vip, .. } => (*vip, false),
    };
    let spec = AddrSpec {
        index: tun.index,
        addr: vip,
        prefix: host_prefix(vip),
        label: None,
    };
    let result = if add {
        netlink::add_address(&spec)
    } else {
        netlink::del_address(&spec)
    };
    match (&action, result) {
        (Action::Announce { virtuals, .. }, Ok(())) => {
            log.info(&format!("announcing {vip} ({})", virtuals.join(", ")))
        }
        (Action::Withdraw { why, .. }, Ok(())) => log.info(&format!("withdrawing {vip}: {why}")),
        (_, Err(e)) => log.info(&format!(
            "cannot {} {vip} on {}: {e}",
            if add { "add" } else { "remove" },
            tun.name
        )),
    }
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// The announcement interface: a TUN device that lives as long as `fd`
/// (closing it deletes the device and its addresses).
struct Tun {
    _fd: OwnedFd,
    name: String,
    index: u32,
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` with the name and the flags member of its union.
#[repr(C)]
struct IfReqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl IfReqFlags {
    fn new(name: &str) -> io::Result<IfReqFlags> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "interface names have 1 to 15 characters",
            ));
        }
        let mut r = IfReqFlags {
            name: [0; libc::IFNAMSIZ],
            flags: 0,
            _pad: [0; 22],
        };
        r.name[..bytes.len()].copy_from_slice(bytes);
        Ok(r)
    }
}

impl Tun {
    fn create(name: &str) -> io::Result<Tun> {
        // SAFETY: open(2) with a constant path.
        let raw = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReqFlags::new(name)?;
        req.flags = IFF_TUN | IFF_NO_PI;
        // SAFETY: TUNSETIFF reads and writes a struct ifreq we own.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut req) } < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("{e} (an interface of that name that is not pulse's TUN device?)"),
            ));
        }
        set_up(name)?;
        let index = netlink::links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| io::Error::other("created but not listed"))?;
        Ok(Tun {
            _fd: fd,
            name: name.to_string(),
            index,
        })
    }
}

/// Sets IFF_UP on `name`.
fn set_up(name: &str) -> io::Result<()> {
    // SAFETY: socket(2).
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReqFlags::new(name)?;
    // SAFETY: SIOCGIFFLAGS / SIOCSIFFLAGS on a struct ifreq we own.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvsd_socket_sits_beside_pulses() {
        assert_eq!(
            lvsd_socket(Path::new("/run/piranha/pulse.sock")),
            PathBuf::from("/run/piranha/lvsd.sock")
        );
        assert_eq!(
            lvsd_socket(Path::new("/tmp/d1/pulse.sock")),
            PathBuf::from("/tmp/d1/lvsd.sock")
        );
    }

    #[test]
    fn interface_names_are_bounded() {
        assert!(IfReqFlags::new("lvs-anycast").is_ok());
        assert!(IfReqFlags::new("").is_err());
        assert!(IfReqFlags::new("sixteen-chars-xx").is_err());
        assert_eq!(std::mem::size_of::<IfReqFlags>(), 40);
    }
}
