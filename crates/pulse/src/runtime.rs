//! Start-up (spec 2.2) and the main loop: heartbeat sockets, timers,
//! signals, link checks, reloads. Decisions are the machine's; this module
//! only feeds it events and carries out its actions.

use crate::cli::Options;
use crate::codec::{config_digest, hex, Auth, Codec, DropReason, PeerState, Role};
use crate::executor::{ExecConfig, Executor, Op, Report};
use crate::keys;
use crate::log::{Logger, RateLimiter};
use crate::machine::{Action, Event, Heard, Machine, Timing};
use crate::netlink;
use crate::settings::{self, Settings, SettingsError};
use crate::status::{self, ReloadRequest, Shared};
use crate::syncd::{IpvsSyncDaemon, LoggingSyncDaemon, SyncDaemon};
use lvscf_parser::{Host, ServiceKind};
use lvscf_store::LoadError;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// The heartbeat policy the settings ask for: Piranha's unsigned
/// heartbeats without `heartbeat_key`, else the key file's keys with the
/// `heartbeat_auth` mode. The error names the key file and what is wrong.
pub fn auth_from(s: &Settings) -> Result<Auth, String> {
    match &s.key_path {
        None => Ok(Auth::Legacy),
        Some(p) => Ok(Auth::Keyed(keys::load(Path::new(p))?, s.auth_mode)),
    }
}

/// One log line describing a policy.
pub fn describe_auth(a: &Auth) -> String {
    match a {
        Auth::Legacy => "heartbeat authentication: none (Piranha's unsigned heartbeats)".into(),
        Auth::Keyed(k, m) => {
            let ids: Vec<String> = k.ids().iter().map(u32::to_string).collect();
            let send = if a.sends_signed() {
                format!("signing with key {}", k.send_id())
            } else {
                "sending unsigned".into()
            };
            format!(
                "heartbeat authentication: {}, {send}, accepting keys {}{}",
                m.name(),
                ids.join(", "),
                if a.accepts_unsigned() {
                    " and unsigned heartbeats"
                } else {
                    ""
                }
            )
        }
    }
}

/// Resolves hosts, remembering names (looked up once per name).
#[derive(Default)]
struct Resolver {
    cache: Mutex<HashMap<String, IpAddr>>,
}

impl Resolver {
    fn resolve(&self, h: &Host) -> Result<IpAddr, SettingsError> {
        if let Host::Name(n) = h {
            if let Ok(c) = self.cache.lock() {
                if let Some(ip) = c.get(n) {
                    return Ok(*ip);
                }
            }
            let ip = settings::resolve_host(h)?;
            if let Ok(mut c) = self.cache.lock() {
                c.insert(n.clone(), ip);
            }
            return Ok(ip);
        }
        settings::resolve_host(h)
    }
}

fn load_error_lines(e: &LoadError) -> Vec<String> {
    match e {
        LoadError::Io { path, .. } => vec![format!("failed to open {}", path.display())],
        LoadError::Invalid(d) => d
            .errors()
            .map(|x| format!("{}:{}:{}: error: {}", d.file, x.line, x.column, x.message))
            .collect(),
    }
}

struct HbSocket {
    sock: tokio::net::UdpSocket,
    local: IpAddr,
    peer: Option<IpAddr>,
    name: &'static str,
    last_heard: Option<Instant>,
    accepted: u64,
}

/// Everything decided before daemonizing.
pub struct Prepared {
    opts: Options,
    settings: Settings,
    digest: [u8; 8],
    auth: Auth,
    sockets: Vec<(UdpSocket, IpAddr, Option<IpAddr>, &'static str)>,
    resolver: Resolver,
}

/// Start-up steps 1-5: options are parsed; load, decide the role, check the
/// key, bind. Errors are `(message for stderr, exit code)`.
pub fn prepare(opts: Options) -> Result<Prepared, String> {
    let loaded = lvscf_store::load_file(&opts.config).map_err(|e| {
        load_error_lines(&e)
            .into_iter()
            .map(|l| format!("pulse: {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let config = loaded.config;
    let digest = config_digest(loaded.document.as_bytes());
    if config.service == ServiceKind::Fos {
        return Err("pulse: service = fos is not supported by this pulse".into());
    }
    if config.keepalive < settings::MIN_KEEPALIVE || config.deadtime <= config.keepalive {
        return Err(format!(
            "pulse: keepalive ({} s) must be at least 0.01 s and below deadtime ({} s)",
            config.keepalive.as_secs_f64(),
            config.deadtime.as_secs_f64()
        ));
    }
    let resolver = Resolver::default();
    let primary = config
        .primary
        .as_ref()
        .ok_or("pulse: no primary address in the configuration")?;
    let primary = resolver
        .resolve(primary)
        .map_err(|e| format!("pulse: {e}"))?;
    let addrs =
        netlink::addresses().map_err(|e| format!("pulse: cannot list interface addresses: {e}"))?;
    let links = netlink::links().map_err(|e| format!("pulse: cannot list interfaces: {e}"))?;
    let master = settings::is_master(primary, &addrs, |i| {
        links.iter().find(|l| l.index == i).map(|l| l.name.clone())
    });
    let s = settings::settings_from(&config, master, &|h| resolver.resolve(h))
        .map_err(|e| format!("pulse: {e}"))?;
    if s.vips.is_empty() && config.active_virtuals().next().is_none() {
        return Err("pulse: no active virtual servers defined -- exiting".into());
    }
    let auth = auth_from(&s).map_err(|e| format!("pulse: {e}"))?;
    let mut sockets = Vec::new();
    let bind = |addr: IpAddr| -> Result<UdpSocket, String> {
        UdpSocket::bind(SocketAddr::new(addr, s.port)).map_err(|e| {
            format!(
                "pulse: failed to bind to heartbeat address: {e}\npulse: cannot create heartbeat socket. running as root?"
            )
        })
    };
    let is_backup_without_heartbeat = s.role == Role::Backup && !s.sends_heartbeats;
    if !is_backup_without_heartbeat {
        sockets.push((bind(s.own)?, s.own, s.partner, "public"));
        if let Some((mine, peer)) = s.private {
            sockets.push((bind(mine)?, mine, peer, "private"));
        }
    }
    Ok(Prepared {
        opts,
        settings: s,
        digest,
        auth,
        sockets,
        resolver,
    })
}

/// Removes addresses left by a crashed run (before any role is taken).
fn remove_leftovers(s: &Settings, log: &Logger) {
    let (Ok(addrs), Ok(links)) = (netlink::addresses(), netlink::links()) else {
        return;
    };
    let index_of = |n: &str| links.iter().find(|l| l.name == n).map(|l| l.index);
    for (vip, a) in settings::leftovers(s, &addrs, index_of) {
        log.info(&format!(
            "removing leftover address {}/{} from {}",
            a.addr, a.prefix, vip.device
        ));
        let spec = netlink::AddrSpec {
            index: a.index,
            addr: a.addr,
            prefix: a.prefix,
            label: a.label.clone(),
        };
        if let Err(e) = netlink::del_address(&spec) {
            log.info(&format!("failed to remove leftover {}: {e}", a.addr));
        }
    }
    // lvsd's services of a run that was killed (systemd's watchdog, a
    // crash: KillMode=mixed SIGKILLs lvsd before it can remove them). No
    // lvsd runs yet, so a service on one of our VIPs is stale; the next
    // takeover's lvsd builds the table again.
    let vips: Vec<IpAddr> = s.vips.iter().map(|v| v.addr).collect();
    let Ok(mut ipvs) = ipvs::Ipvs::connect() else {
        return;
    };
    for svc in ipvs.services().unwrap_or_default() {
        let addr = match svc.key {
            ipvs::ServiceKey::Tcp(a, _)
            | ipvs::ServiceKey::Udp(a, _)
            | ipvs::ServiceKey::Sctp(a, _) => a,
            ipvs::ServiceKey::Fwmark { .. } => continue,
        };
        if vips.contains(&addr) {
            log.info(&format!("removing leftover IPVS service {:?}", svc.key));
            if let Err(e) = ipvs.del_service(&svc.key) {
                log.info(&format!("failed to remove leftover IPVS service: {e}"));
            }
        }
    }
}

/// Link check (spec 2.8): the interfaces carrying our public and private
/// addresses must be up and running; an address not found counts as up.
fn link_check(s: &Settings) -> Vec<String> {
    let (Ok(addrs), Ok(links)) = (netlink::addresses(), netlink::links()) else {
        return Vec::new();
    };
    let mut down = Vec::new();
    let mut check = |ip: IpAddr, what: &str| {
        if let Some(a) = addrs.iter().find(|a| a.addr == ip) {
            if let Some(l) = links.iter().find(|l| l.index == a.index) {
                if !l.is_up() {
                    down.push(format!("{what} NIC: link down"));
                }
            }
        }
    };
    check(s.own, "Primary");
    if let Some((p, _)) = s.private {
        check(p, "Private");
    }
    down
}

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
        self.publish();
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
                let a = self.machine.step(
                    Event::Heard(Heard {
                        channel: idx,
                        state: inc.state,
                        unwilling: inc.unwilling,
                    }),
                    now,
                );
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
                    Ok(new) => {
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
    use std::os::fd::AsRawFd;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: valid int option on our socket.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                &bytes as *const i32 as *const libc::c_void,
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}

async fn recv_on(s: Option<&HbSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.sock.recv_from(buf).await,
        None => std::future::pending().await,
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
    let codec = Codec::new(auth, role, boot_id);
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
    };
    if opts.force_active {
        let a = lp.machine.step(Event::ForceActive, Instant::now());
        lp.perform(a);
    }
    let (Ok(mut sigterm), Ok(mut sigint), Ok(mut sighup), Ok(mut sigusr1), Ok(mut sigusr2)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
    ) else {
        log.info("cannot install signal handlers");
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
                };
                let a = lp.machine.step(ev, Instant::now());
                lp.perform(a);
            }
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
