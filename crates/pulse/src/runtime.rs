//! The main loop: heartbeat sockets, timers, signals, link checks,
//! reloads. Decisions are the machine's; this module only feeds it events
//! and carries out its actions. Start-up is [`startup`]'s.

use crate::cli::Options;
use crate::codec::{config_digest, hex, Auth, Codec, DropReason, PeerState, Role, ServiceMode};
use crate::executor::{ExecConfig, Executor, Op, Report};
use crate::log::{Logger, RateLimiter};
use crate::machine::{Action, Event, Heard, Machine, Timing};
use crate::settings::{self, Settings};
use crate::status::{self, ReloadRequest, Shared};
use crate::syncd::{IpvsSyncDaemon, LoggingSyncDaemon, SyncDaemon};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

mod startup;

pub use startup::{auth_from, describe_auth, prepare, Prepared};
use startup::{link_check, load_error_lines, remove_leftovers, HbSocket, Resolver};

struct Loop {
    opts: Options,
    log: Arc<Logger>,
    settings: Arc<Settings>,
    digest: [u8; 8],
    machine: Machine,
    codec: Codec,
    sockets: Vec<HbSocket>,
    started: Instant,
    limiter: RateLimiter,
    partner_digest: Option<[u8; 8]>,
    mismatch_logged: Option<[u8; 8]>,
    ops: mpsc::UnboundedSender<Op>,
    shared: Arc<Mutex<Shared>>,
    lvsd_pid: Arc<AtomicI32>,
    resolver: Resolver,
    exiting: bool,
    cancel: tokio::sync::watch::Sender<u64>,
    arp_watch: Option<crate::handover::ArpWatch>,
    fos: crate::fos::FosState,
    netcheck: mpsc::UnboundedSender<crate::fos::netcheck::Verdict>,
}

impl Loop {
    fn perform(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send(st) => self.send(st),
                Action::Log(l) => self.log.info(&l),
                Action::Debug(l) => self.log.debug(&l),
                Action::Takeover => {
                    let _ = self.ops.send(Op::Takeover(*self.cancel.borrow()));
                }
                Action::Relinquish => {
                    self.cancel.send_modify(|g| *g += 1);
                    let _ = self.ops.send(Op::Relinquish);
                }
                Action::HandOver => {
                    self.cancel.send_modify(|g| *g += 1);
                    let watch = self.arp_watch.take();
                    let _ = self
                        .ops
                        .send(Op::HandOver(self.settings.timing.deadtime, watch));
                }
                Action::Reannounce => {
                    let _ = self.ops.send(Op::Reannounce);
                }
                Action::Exit => self.exiting = true,
            }
        }
        self.reconcile_fos();
        self.publish();
    }

    /// FOS: the monitor runs while the partner is active and we are not.
    fn reconcile_fos(&mut self) {
        if self.settings.service != ServiceMode::Fos || self.exiting {
            return;
        }
        let m = &self.machine;
        let willing = !m.unwilling();
        if let Some(on) = self
            .fos
            .monitor_change(m.is_active(), willing, m.partner().state)
        {
            let _ = self.ops.send(Op::Monitor(on));
        }
    }

    /// A fos child ended on its own.
    fn on_fos_exit(&mut self, e: crate::fos::FosExit) {
        use crate::fos::FosMode;
        match e.mode {
            FosMode::Active => {
                self.log.info(&e.line);
                if self.machine.is_active() {
                    self.log.info("fos process exited -- restarting it");
                    let ops = self.ops.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(crate::fos::RESTART_DELAY).await;
                        let _ = ops.send(Op::RestartFos);
                    });
                }
            }
            FosMode::Monitor => {
                self.fos.monitoring = false;
                self.log.info(&e.line);
                if self.machine.is_active() || self.fos.checking {
                    return;
                }
                self.log
                    .info("partner's failover service failed: checking our own network");
                self.fos.checking = true;
                let tx = self.netcheck.clone();
                tokio::task::spawn_blocking(move || {
                    let route = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
                    let _ = tx.send(crate::fos::netcheck::check(&route));
                });
            }
        }
    }

    /// The network check after a monitor exit ([`crate::fos::netcheck`]).
    fn on_netcheck(&mut self, v: crate::fos::netcheck::Verdict) {
        use crate::fos::netcheck::Verdict;
        self.fos.checking = false;
        let line = match v {
            Verdict::RemoteFault(gw) => {
                format!("gateway {gw} answers: seems like a remote network fault; performing service failover")
            }
            Verdict::NoGateway => {
                "no default gateway to check our network: performing service failover".to_string()
            }
            Verdict::OwnFault(gw, why) => {
                self.log.info(&format!(
                    "I SEEM TO HAVE A NETWORK FAULT! (gateway {gw}: {why})"
                ));
                self.fos.network_fault = true;
                self.publish();
                return;
            }
        };
        let a = self
            .machine
            .step(Event::PartnerServiceFailed(line), Instant::now());
        self.perform(a);
    }

    /// SIGTERM or SIGINT. An active router watches for the partner's ARP
    /// before it says "leaving" (see [`crate::handover::ArpWatch`]).
    fn terminate(&mut self, sig: i32) {
        if self.machine.is_active() && self.arp_watch.is_none() {
            match crate::handover::ArpWatch::open() {
                Ok(w) => self.arp_watch = Some(w),
                Err(e) => self
                    .log
                    .debug(&format!("DEBUG -- cannot watch for the partner's ARP: {e}")),
            }
        }
        let a = self.machine.step(Event::Terminate(sig), Instant::now());
        self.perform(a);
        // Not handed over (no willing partner): nothing to watch for.
        self.arp_watch = None;
    }

    fn send(&mut self, st: PeerState) {
        let uptime = self.started.elapsed().as_millis() as u64;
        let unwilling = self.machine.unwilling();
        self.codec.set_stop_me(self.machine.forcing());
        for s in &self.sockets {
            let Some(peer) = s.peer else { continue };
            let bytes = self
                .codec
                .encode(st, unwilling, uptime, self.digest, s.local, peer);
            if let Err(e) = s
                .sock
                .try_send_to(&bytes, SocketAddr::new(peer, self.settings.port))
            {
                self.log.debug(&format!(
                    "Warning -- failed to send heartbeat ({} if): {e}",
                    s.name
                ));
            }
        }
    }

    fn publish(&self) {
        let p = self.machine.partner();
        if let Ok(mut g) = self.shared.lock() {
            g.active = self.machine.is_active();
            g.link_fail = self.machine.link_fail();
            g.child_fail = self.machine.child_fail();
            g.partner_state = p.state;
            g.last_heard = p.last_heard;
            g.accepted = self.codec.accepted;
            g.accepted_signed = self.codec.accepted_signed;
            g.partner_unwilling = p.unwilling;
            g.partner_boot_id = self.codec.partner_boot_id();
            g.auth_mode = self.codec.auth().mode_name();
            g.key_ids = self
                .codec
                .auth()
                .keys()
                .map(|k| k.ids())
                .unwrap_or_default();
            g.send_key = self
                .codec
                .auth()
                .keys()
                .filter(|_| self.codec.auth().sends_signed())
                .map(|k| k.send_id());
            g.drops = self.codec.counters.0;
            g.digest = self.digest;
            g.partner_digest = self.partner_digest;
            g.channels = self
                .sockets
                .iter()
                .map(|s| status::Channel {
                    name: s.name,
                    local: s.local,
                    peer: s.peer,
                    last_heard: s.last_heard,
                    accepted: s.accepted,
                })
                .collect();
            let t = self.machine.timing();
            g.keepalive = t.keepalive.as_secs_f64();
            g.deadtime = t.deadtime.as_secs_f64();
        }
    }

    fn on_datagram(&mut self, idx: usize, buf: &[u8], from: SocketAddr) {
        let now = Instant::now();
        let src = match from.ip() {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        if !self.sockets.iter().any(|s| s.peer == Some(src)) {
            self.codec.count(DropReason::WrongSource);
            if self.log.verbose()
                && self
                    .limiter
                    .allow(DropReason::WrongSource.name(), now)
                    .is_some()
            {
                self.log.debug(&format!("Unexpected heartbeat from {src}"));
            }
            return;
        }
        let local = self.sockets[idx].local;
        let decoded = self.codec.decode_on(idx, buf, src, local);
        // A new run of the partner: answer now, so that its next packet
        // echoes our boot id and is accepted one round trip later instead
        // of one keepalive later.
        if self.codec.take_reply_request() && self.settings.sends_heartbeats {
            self.send(self.machine.own_state());
        }
        match decoded {
            Ok(inc) => {
                if let Some(s) = self.sockets.get_mut(idx) {
                    s.last_heard = Some(now);
                    s.accepted += 1;
                }
                if let Some(d) = inc.digest {
                    self.partner_digest = Some(d);
                    self.check_digest();
                }
                if idx == 0 && self.fos.network_fault {
                    self.fos.network_fault = false;
                    self.log.info("Network fault seems to be fixed");
                }
                let ev = if inc.stop_me {
                    Event::StopMe(idx)
                } else {
                    Event::Heard(Heard {
                        channel: idx,
                        state: inc.state,
                        unwilling: inc.unwilling,
                    })
                };
                let a = self.machine.step(ev, now);
                self.perform(a);
            }
            Err(reason) => {
                if let Some(suppressed) = self.limiter.allow(reason.name(), now) {
                    let mut line = reason.message().to_string();
                    if reason == DropReason::WrongSource {
                        line = format!("{line} from {src}");
                    }
                    if suppressed > 0 {
                        line = format!("{line} ({suppressed} more dropped since the last report)");
                    }
                    self.log.info(&line);
                }
                if let Ok(mut g) = self.shared.lock() {
                    g.drops = self.codec.counters.0;
                }
            }
        }
    }

    /// Reads what is already queued on socket `idx` (bounded), so a flood
    /// costs one wake-up per batch instead of one per datagram.
    fn drain(&mut self, idx: usize, buf: &mut [u8]) {
        for _ in 0..256 {
            let r = match self.sockets.get(idx) {
                Some(s) => s.sock.try_recv_from(buf),
                None => return,
            };
            match r {
                Ok((n, from)) => self.on_datagram(idx, &buf[..n], from),
                Err(_) => return,
            }
        }
    }

    fn check_digest(&mut self) {
        let Some(d) = self.partner_digest else { return };
        if d != self.digest {
            if self.mismatch_logged != Some(d) {
                self.log.info(&format!(
                    "WARNING -- the partner's lvs.cf differs from ours (partner digest {}, ours {}): copy the same lvs.cf to both routers",
                    hex(&d),
                    hex(&self.digest)
                ));
                self.mismatch_logged = Some(d);
            }
        } else if self.mismatch_logged.is_some() {
            self.log.info("the partner's lvs.cf now matches ours");
            self.mismatch_logged = None;
        }
    }

    fn reload(&mut self) -> Result<(), String> {
        let r = match lvscf_store::load_file(&self.opts.config) {
            Err(e) => {
                for l in load_error_lines(&e) {
                    self.log.info(&l);
                }
                self.log
                    .info("configuration not reloaded: keeping the previous one");
                Err(load_error_lines(&e).join("; "))
            }
            Ok(loaded) => {
                let master = self.settings.role == Role::Master;
                match settings::settings_from(&loaded.config, master, &|h| self.resolver.resolve(h))
                {
                    Err(e) => {
                        self.log.info(&format!("configuration not reloaded: {e}"));
                        Err(e.0)
                    }
                    Ok(new) if new.service != self.settings.service => {
                        // The heartbeat magics and the child (lvsd or fos)
                        // are chosen at start.
                        let e = "configuration not reloaded: `service` changed (lvs <-> fos): restart pulse to apply it";
                        self.log.info(e);
                        Err(e.to_string())
                    }
                    Ok(new) => {
                        for line in &new.not_brought_up {
                            self.log.info(line);
                        }
                        let old = &self.settings;
                        if new.own != old.own
                            || new.partner != old.partner
                            || new.private != old.private
                            || new.port != old.port
                        {
                            self.log.info(
                                "heartbeat addresses or port changed: restart pulse to apply them",
                            );
                        }
                        // Keys and mode apply at once (HB-11): the codec keeps
                        // its sequence and replay windows, so no heartbeat is
                        // lost. A bad key file keeps the previous policy.
                        let mut key_error = None;
                        match auth_from(&new) {
                            Ok(auth) => {
                                if &auth != self.codec.auth() {
                                    self.log.info(&describe_auth(&auth));
                                    self.codec.set_auth(auth);
                                }
                            }
                            Err(e) => {
                                self.log.info(&format!(
                                    "{e}: heartbeat keys not reloaded, keeping the previous ones ({})",
                                    self.codec.auth().mode_name()
                                ));
                                key_error = Some(e);
                            }
                        }
                        let t = Timing {
                            keepalive: new.timing.keepalive,
                            deadtime: new.timing.deadtime,
                        };
                        if t.keepalive >= settings::MIN_KEEPALIVE && t.deadtime > t.keepalive {
                            self.machine.set_timing(t);
                        }
                        self.digest = config_digest(loaded.document.as_bytes());
                        self.check_digest();
                        let new = Arc::new(new);
                        self.settings = new.clone();
                        let _ = self.ops.send(Op::Reconfigure(new));
                        self.log.info("configuration reloaded");
                        match key_error {
                            None => Ok(()),
                            Some(e) => Err(e),
                        }
                    }
                }
            }
        };
        let pid = self.lvsd_pid.load(Ordering::SeqCst);
        if pid > 0 {
            crate::exec::signal(pid, libc::SIGHUP);
        }
        self.publish();
        r
    }
}

/// A large receive buffer absorbs bursts of junk (HB-13) so that the
/// partner's heartbeats are not dropped by the kernel. SO_RCVBUFFORCE works
/// as root beyond rmem_max; SO_RCVBUF is the fallback.
fn set_rcvbuf(sock: &UdpSocket, bytes: i32) {
    use nix::sys::socket::{setsockopt, sockopt};
    let bytes = usize::try_from(bytes).unwrap_or(0);
    if setsockopt(sock, sockopt::RcvBufForce, &bytes).is_err() {
        let _ = setsockopt(sock, sockopt::RcvBuf, &bytes);
    }
}

async fn recv_on(s: Option<&HbSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.sock.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// The signals pulse's loops (pair and anycast mode) handle.
pub(crate) struct Signals {
    pub term: tokio::signal::unix::Signal,
    pub int: tokio::signal::unix::Signal,
    pub hup: tokio::signal::unix::Signal,
    pub usr1: tokio::signal::unix::Signal,
    pub usr2: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers, then releases the signals held since
    /// start-up (`daemon_kit::signals`): those that came meanwhile are
    /// handled now. `None` (logged) when a handler cannot be installed.
    pub(crate) fn install(log: &Logger) -> Option<Signals> {
        let (Ok(term), Ok(int), Ok(hup), Ok(usr1), Ok(usr2)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
            signal(SignalKind::user_defined1()),
            signal(SignalKind::user_defined2()),
        ) else {
            log.info("cannot install signal handlers");
            return None;
        };
        if let Err(e) = daemon_kit::signals::release() {
            log.warn(&format!(
                "cannot release the signals held during start-up: {e}"
            ));
        }
        Some(Signals {
            term,
            int,
            hup,
            usr1,
            usr2,
        })
    }
}

/// Runs pulse after [`prepare`]; returns the exit code.
pub fn run(p: Prepared) -> i32 {
    let opts = p.opts.clone();
    if !opts.nodaemon {
        if let Err(e) = daemon_kit::process::daemonize() {
            eprintln!("pulse: cannot daemonize: {e}");
            return 1;
        }
    }
    // Removed when pulse ends, if it still names pulse.
    let pidfile = daemon_kit::process::PidFile::write(&opts.pidfile);
    // Foreground logs go to stdout (the journal under systemd); `--syslog`
    // asks for Piranha's syslog ident and facility instead.
    let log = Arc::new(Logger::new(opts.nodaemon && !opts.syslog, opts.verbose));
    let pidfile = match pidfile {
        Ok(p) => Some(p),
        Err(e) => {
            log.warn(&format!(
                "cannot write pid file {}: {e}",
                opts.pidfile.display()
            ));
            None
        }
    };
    let code = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(main_loop(p, log.clone())),
        Err(e) => {
            log.info(&format!("cannot start the runtime: {e}"));
            1
        }
    };
    drop(pidfile);
    code
}

/// Where lvsd (started without `--status-socket`) answers its status.
const LVSD_STATUS_SOCKET: &str = "/run/piranha/lvsd.sock";

async fn main_loop(p: Prepared, log: Arc<Logger>) -> i32 {
    let Prepared {
        opts,
        settings: s,
        digest,
        auth,
        sockets,
        resolver,
    } = p;
    let role = s.role;
    log.info(match role {
        Role::Master => "STARTING PULSE AS MASTER",
        Role::Backup => "STARTING PULSE AS BACKUP",
    });
    if role == Role::Backup && !s.sends_heartbeats {
        log.info("We are backup node and backup is marked inactive -- exiting pulse");
        return 0;
    }
    let mut hb = Vec::new();
    for (sock, local, peer, name) in sockets {
        set_rcvbuf(&sock, 4 << 20);
        if let Err(e) = sock.set_nonblocking(true) {
            log.info(&format!("failed to set up the heartbeat socket: {e}"));
            return 1;
        }
        match tokio::net::UdpSocket::from_std(sock) {
            Ok(sock) => hb.push(HbSocket {
                sock,
                local,
                peer,
                name,
                last_heard: None,
                accepted: 0,
            }),
            Err(e) => {
                log.info(&format!("failed to set up the heartbeat socket: {e}"));
                return 1;
            }
        }
    }
    remove_leftovers(&s, &log);
    for line in &s.not_brought_up {
        log.info(line);
    }
    let now = Instant::now();
    let settings = Arc::new(s);
    let machine = Machine::new(role, settings.timing, settings.sends_heartbeats, now);
    if auth != Auth::Legacy {
        log.info(&describe_auth(&auth));
    }
    // Every run takes a boot id above all earlier ones (the freshness rule
    // of signed heartbeats rests on it).
    let (boot_id, problem) = crate::bootid::take_boot_id(&opts.state_dir);
    if let Some(p) = problem {
        log.warn(&p);
    }
    log.debug(&format!("DEBUG -- boot id {boot_id}"));
    let codec = Codec::new(auth, role, boot_id).with_service(settings.service);
    let lvsd_pid = Arc::new(AtomicI32::new(0));
    let shared = Arc::new(Mutex::new(Shared {
        role,
        active: false,
        link_fail: false,
        child_fail: false,
        partner_state: None,
        last_heard: None,
        auth_mode: codec.auth().mode_name(),
        key_ids: codec.auth().keys().map(|k| k.ids()).unwrap_or_default(),
        send_key: None,
        accepted: 0,
        accepted_signed: 0,
        partner_unwilling: false,
        boot_id,
        partner_boot_id: 0,
        drops: [0; DropReason::ALL.len()],
        digest,
        partner_digest: None,
        lvsd_pid: lvsd_pid.clone(),
        channels: Vec::new(),
        keepalive: settings.timing.keepalive.as_secs_f64(),
        deadtime: settings.timing.deadtime.as_secs_f64(),
    }));
    let (reload_tx, mut reload_rx) = mpsc::unbounded_channel::<ReloadRequest>();
    match status::bind(&opts.status_socket) {
        Ok((l, note)) => {
            if let Some(n) = note {
                log.warn(&format!("status socket: {n}"));
            }
            tokio::spawn(status::serve(l, shared.clone(), reload_tx));
        }
        Err(e) => log.info(&format!("status socket: {e}")),
    }
    let (ops_tx, ops_rx) = mpsc::unbounded_channel();
    let (rep_tx, mut rep_rx) = mpsc::unbounded_channel();
    let exec_cfg = ExecConfig {
        lvsd: opts.lvsd.clone(),
        config: opts.config.clone(),
        nodaemon: opts.nodaemon,
        syslog: opts.syslog,
        verbose: opts.verbose,
        test_start: opts.test_start,
        ready_timeout: opts.ready_timeout,
        arp_rounds: 5,
        arp_interval: Duration::from_secs(1),
        fos: (settings.service == ServiceMode::Fos).then(|| crate::fos::FosCommand {
            program: opts.fos.clone(),
            config: opts.config.clone(),
            nodaemon: opts.nodaemon,
            verbose: opts.verbose,
            syslog: opts.syslog,
        }),
    };
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(0u64);
    let syncd: Box<dyn SyncDaemon> = if opts.sync_daemon_log {
        Box::new(LoggingSyncDaemon::new(log.clone()))
    } else {
        Box::new(IpvsSyncDaemon::new())
    };
    let executor = Executor::new(
        exec_cfg,
        settings.clone(),
        log.clone(),
        syncd,
        rep_tx,
        lvsd_pid.clone(),
        cancel_rx,
    );
    let exec_task = tokio::spawn(executor.run(ops_rx));
    let (netcheck_tx, mut netcheck_rx) = mpsc::unbounded_channel();
    let _ = ops_tx.send(Op::Initial);
    let mut lp = Loop {
        opts: opts.clone(),
        log: log.clone(),
        settings: settings.clone(),
        digest,
        machine,
        codec,
        sockets: hb,
        started: now,
        limiter: RateLimiter::new(Duration::from_secs(10)),
        partner_digest: None,
        mismatch_logged: None,
        ops: ops_tx.clone(),
        shared,
        lvsd_pid,
        resolver,
        exiting: false,
        cancel: cancel_tx,
        arp_watch: None,
        fos: crate::fos::FosState::default(),
        netcheck: netcheck_tx,
    };
    if opts.force_active {
        let a = lp.machine.step(Event::ForceActive, Instant::now());
        lp.perform(a);
    }
    let Some(Signals {
        term: mut sigterm,
        int: mut sigint,
        hup: mut sighup,
        usr1: mut sigusr1,
        usr2: mut sigusr2,
    }) = Signals::install(&log)
    else {
        return 1;
    };
    // Role known, sockets bound, leftovers removed: tell systemd we are up.
    let notifier = crate::notify::Notifier::from_env();
    let status = crate::notify::status_text(lp.machine.is_active(), role, None, None);
    notifier.send(&format!("READY=1\nSTATUS={status}"));
    tokio::spawn(crate::notify::publish_status(
        crate::notify::Notifier::from_env(),
        lp.shared.clone(),
        std::path::PathBuf::from(LVSD_STATUS_SOCKET),
        status,
    ));
    let watchdog_every = notifier.watchdog_interval();
    let mut watchdog = tokio::time::interval(watchdog_every.unwrap_or(Duration::from_secs(3600)));
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut link_timer = tokio::time::interval(Duration::from_millis(200));
    link_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let monitor = settings.monitor_links && settings.sends_heartbeats;
    let mut buf0 = vec![0u8; 65536];
    let mut buf1 = vec![0u8; 65536];
    while !lp.exiting {
        let deadline = tokio::time::Instant::from_std(lp.machine.next_deadline());
        tokio::select! {
            r = recv_on(lp.sockets.first(), &mut buf0) => {
                match r {
                    Ok((n, from)) => { lp.on_datagram(0, &buf0[..n], from); lp.drain(0, &mut buf0) }
                    Err(e) => if e.raw_os_error() != Some(libc::ECONNREFUSED) { log.info(&format!("recvfrom() failed: {e}")) },
                }
            }
            r = recv_on(lp.sockets.get(1), &mut buf1) => {
                match r {
                    Ok((n, from)) => { lp.on_datagram(1, &buf1[..n], from); lp.drain(1, &mut buf1) }
                    Err(e) => if e.raw_os_error() != Some(libc::ECONNREFUSED) { log.info(&format!("recvfrom() failed: {e}")) },
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let a = lp.machine.step(Event::Tick, Instant::now());
                lp.perform(a);
            }
            // Pinged from the main loop, so a wedged loop stops the pings.
            _ = watchdog.tick(), if watchdog_every.is_some() => notifier.send("WATCHDOG=1"),
            _ = sigterm.recv() => {
                notifier.send("STOPPING=1");
                lp.terminate(libc::SIGTERM);
            }
            _ = sigint.recv() => {
                notifier.send("STOPPING=1");
                lp.terminate(libc::SIGINT);
            }
            _ = sighup.recv() => {
                let _ = lp.reload();
            }
            _ = sigusr1.recv() => log.info("SIGUSR1 received: ignored"),
            _ = sigusr2.recv() => log.info("SIGUSR2 received: ignored"),
            Some(req) = reload_rx.recv() => {
                let r = lp.reload();
                let _ = req.send(r);
            }
            Some(rep) = rep_rx.recv() => {
                let ev = match rep {
                    Report::ChildExited(l) => Event::ChildExited(l),
                    Report::TakeoverFailed(l) => Event::TakeoverFailed(l),
                    Report::FosExited(e) => {
                        lp.on_fos_exit(e);
                        continue;
                    }
                };
                let a = lp.machine.step(ev, Instant::now());
                lp.perform(a);
            }
            Some(v) = netcheck_rx.recv() => lp.on_netcheck(v),
            _ = link_timer.tick(), if monitor => {
                let down = link_check(&lp.settings);
                let a = lp.machine.step(Event::Links(down), Instant::now());
                lp.perform(a);
            }
        }
    }
    // Exit: the hand-over or relinquish queued by the machine runs first,
    // then "leaving" once more. Meanwhile the partner is still heard and
    // "leaving" repeated until it answers "running" (the machine times the
    // repeats): a single datagram lost here would cost the partner its
    // deadtime.
    let (ack_tx, mut ack_rx) = tokio::sync::oneshot::channel();
    let _ = ops_tx.send(Op::Flush(ack_tx));
    loop {
        let deadline = tokio::time::Instant::from_std(lp.machine.next_deadline());
        tokio::select! {
            _ = &mut ack_rx => break,
            r = recv_on(lp.sockets.first(), &mut buf0) => {
                if let Ok((n, from)) = r { lp.on_datagram(0, &buf0[..n], from); lp.drain(0, &mut buf0) }
            }
            r = recv_on(lp.sockets.get(1), &mut buf1) => {
                if let Ok((n, from)) = r { lp.on_datagram(1, &buf1[..n], from); lp.drain(1, &mut buf1) }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let a = lp.machine.step(Event::Tick, Instant::now());
                lp.perform(a);
            }
        }
    }
    lp.send(PeerState::Leaving);
    drop(lp);
    drop(ops_tx);
    let _ = exec_task.await;
    let _ = std::fs::remove_file(&opts.status_socket);
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::AuthMode;
    use crate::keys::Keyring;

    #[test]
    fn auth_log_lines_name_mode_keys_and_what_is_sent() {
        assert_eq!(
            describe_auth(&Auth::Legacy),
            "heartbeat authentication: none (Piranha's unsigned heartbeats)"
        );
        let ring = |send| {
            Keyring::new(
                vec![
                    (0, b"0123456789abcdef".to_vec()),
                    (1, b"fedcba9876543210".to_vec()),
                ],
                send,
            )
            .expect("ring")
        };
        assert_eq!(
            describe_auth(&Auth::Keyed(ring(0), AuthMode::ReceiveOnly)),
            "heartbeat authentication: receive-only, sending unsigned, accepting keys 0, 1 and unsigned heartbeats"
        );
        assert_eq!(
            describe_auth(&Auth::Keyed(ring(1), AuthMode::Permissive)),
            "heartbeat authentication: permissive, signing with key 1, accepting keys 0, 1 and unsigned heartbeats"
        );
        let line = describe_auth(&Auth::Keyed(ring(1), AuthMode::Enforce));
        assert_eq!(
            line,
            "heartbeat authentication: enforce, signing with key 1, accepting keys 0, 1"
        );
        assert!(!line.contains("0123456789abcdef"), "a secret in a log line");
    }
}
