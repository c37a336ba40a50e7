//! The scheduler: one tokio task per distinct check, feeding the state
//! machines of every (virtual, server) that uses it; job reconciliation;
//! forced states. Runs on a current-thread runtime inside a `LocalSet`.

use crate::check::{self, CheckSpec, Resolved};
use crate::log;
use crate::probe;
use crate::protocol::{EventReport, Job, Report, ServerReport, State, INITIAL_ROUND_DONE};
use crate::state::{Decision, Event, Force, Machine, Outcome};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Where reports go.
pub type Sink = Box<dyn FnMut(&Report)>;

type Key = (String, String);

struct Sub {
    vname: String,
    sname: String,
    address: IpAddr,
    port: u16,
    machine: Machine,
    load_cmd: Option<(std::path::PathBuf, Vec<String>)>,
}

struct Checker {
    spec: CheckSpec,
    subs: Vec<Sub>,
    wake: Rc<Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
    last: Option<(Instant, Outcome)>,
    /// The certificate warning in force (https) and when it was last logged.
    cert: Option<(crate::protocol::CertExpiry, Instant)>,
}

/// How often a certificate warning is logged again while it lasts.
pub const CERT_WARNING_EVERY: Duration = Duration::from_secs(86_400);

/// The engine state shared by all checker tasks.
pub struct Engine {
    checkers: HashMap<u64, Checker>,
    by_spec: HashMap<CheckSpec, u64>,
    next_id: u64,
    job_seq: u64,
    pending: Vec<(u64, HashSet<Key>)>,
    forced: Option<Force>,
    epoch: Instant,
    rng: u64,
    sink: Sink,
    /// Sockets reused by the TCP connect-only checks of this engine.
    pool: Rc<probe::SocketPool>,
}

/// Shared handle.
pub type Shared = Rc<RefCell<Engine>>;

/// Probes start on multiples of this tick (from the engine's start), not at
/// any millisecond: a process with a thousand checks a second then wakes up
/// fifty times a second and starts the probes that are due together,
/// instead of waking (and switching context) once per probe. The
/// start is rounded to the nearest tick, so the interval between two probes
/// of a check moves by at most half a tick and is `timeout` on average.
pub const START_TICK: Duration = Duration::from_millis(20);

/// `t` rounded to the nearest multiple of [`START_TICK`] after `epoch`
/// (`t` itself when it is not after `epoch`).
pub fn on_tick(epoch: Instant, t: Instant) -> Instant {
    let since = t.saturating_duration_since(epoch).as_nanos();
    let tick = START_TICK.as_nanos();
    let late = since % tick;
    if late == 0 {
        t
    } else if late * 2 < tick {
        t - Duration::from_nanos(late as u64)
    } else {
        t + Duration::from_nanos((tick - late) as u64)
    }
}

impl Engine {
    /// A new engine writing reports to `sink`.
    pub fn new(sink: Sink) -> Shared {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ ((std::process::id() as u64) << 32);
        Rc::new(RefCell::new(Engine {
            checkers: HashMap::new(),
            by_spec: HashMap::new(),
            next_id: 1,
            job_seq: 0,
            pending: Vec::new(),
            forced: None,
            epoch: Instant::now(),
            rng: seed | 1,
            sink,
            pool: Rc::new(probe::SocketPool::new()),
        }))
    }

    fn now(&self) -> Duration {
        Instant::now() - self.epoch
    }

    /// When a probe due after `delay` starts: `now + delay` rounded up to
    /// this engine's next [`START_TICK`].
    fn start_time(&self, delay: Duration) -> Instant {
        on_tick(self.epoch, Instant::now() + delay)
    }

    fn rand(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform jitter in [0, max).
    fn jitter(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis() as u64;
        if ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(self.rand() % ms)
        }
    }

    /// Take the next job sequence number (for a rejected line).
    pub fn next_job_seq(&mut self) -> u64 {
        self.job_seq += 1;
        self.job_seq
    }

    /// Write a report.
    pub fn emit(&mut self, r: &Report) {
        (self.sink)(r)
    }

    /// Number of distinct checks running.
    pub fn check_count(&self) -> usize {
        self.checkers.len()
    }

    /// Number of (virtual, server) state machines.
    pub fn server_count(&self) -> usize {
        self.checkers.values().map(|c| c.subs.len()).sum()
    }
}

fn apply(sink: &mut Sink, sub: &mut Sub, d: Decision, addr: std::net::SocketAddr) {
    if d.events.is_empty() && d.change.is_none() {
        return;
    }
    let hp = &check::hostport(addr);
    for ev in &d.events {
        match ev {
            Event::Available => log::info(&format!("[ active ] making {hp} available")),
            Event::ShutDown(r) => {
                log::info(&format!(
                    "[inactive] shutting down {hp} due to connection failure"
                ));
                log::info(&format!("{}/{} {hp}: {r}", sub.vname, sub.sname));
            }
            Event::NotAvailable(r) => log::info(&format!(
                "{hp} is not available ({}/{}): {r}",
                sub.vname, sub.sname
            )),
            Event::Weight(w) => log::verbose(&format!("Adjusting weight of {hp} to {w}")),
            Event::Load(l) => log::verbose(&format!("Loadavg of {} is {l}", sub.address)),
            Event::LoadFailed(e) => log::info(&format!("{e} ({})", sub.address)),
        }
    }
    if let Some(c) = d.change {
        sink(&Report::Server(ServerReport {
            virtual_name: sub.vname.clone(),
            server: sub.sname.clone(),
            address: sub.address,
            port: sub.port,
            state: c.state,
            weight: c.weight,
            reason: c.reason,
        }));
    }
}

impl Engine {
    fn decided(&mut self, key: &Key) {
        for (_, set) in self.pending.iter_mut() {
            set.remove(key);
        }
    }

    fn flush_rounds(&mut self) {
        while let Some(pos) = self.pending.iter().position(|(_, s)| s.is_empty()) {
            let (seq, _) = self.pending.remove(pos);
            (self.sink)(&Report::Event(EventReport {
                event: INITIAL_ROUND_DONE.into(),
                job: Some(seq),
                error: None,
            }));
        }
    }

    /// Deliver a probe outcome; returns the load commands to run.
    fn deliver(
        &mut self,
        id: u64,
        outcome: Outcome,
    ) -> Vec<(Key, (std::path::PathBuf, Vec<String>))> {
        let now = self.now();
        let mut loads = Vec::new();
        let mut newly = Vec::new();
        let Some(ch) = self.checkers.get_mut(&id) else {
            return loads;
        };
        ch.last = Some((Instant::now(), outcome.clone()));
        let hp = ch.spec.addr;
        for sub in ch.subs.iter_mut() {
            let first = sub.machine.reported().is_none();
            let d = sub.machine.on_probe(now, outcome.clone());
            if d.run_load {
                if let Some(c) = &sub.load_cmd {
                    loads.push(((sub.vname.clone(), sub.sname.clone()), c.clone()));
                }
            }
            apply(&mut self.sink, sub, d, hp);
            if first && sub.machine.reported().is_some() {
                newly.push((sub.vname.clone(), sub.sname.clone()));
            }
        }
        for k in newly {
            self.decided(&k);
        }
        self.flush_rounds();
        loads
    }

    fn deliver_load(&mut self, id: u64, key: &Key, load: Result<f64, String>) {
        let now = self.now();
        let Some(ch) = self.checkers.get_mut(&id) else {
            return;
        };
        let hp = ch.spec.addr;
        if let Some(sub) = ch
            .subs
            .iter_mut()
            .find(|s| s.vname == key.0 && s.sname == key.1)
        {
            let d = sub.machine.on_load(now, load);
            apply(&mut self.sink, sub, d, hp);
        }
    }

    /// SIGUSR1 / SIGUSR2: force every server of this process.
    pub fn force(&mut self, f: Force) {
        log::info(match f {
            Force::Down => "opaque glasses on",
            Force::Up => "rose-colored glasses on",
        });
        self.forced = Some(f);
        let now = self.now();
        let mut keys = Vec::new();
        for ch in self.checkers.values_mut() {
            let hp = ch.spec.addr;
            for sub in ch.subs.iter_mut() {
                let d = sub.machine.force(now, f);
                apply(&mut self.sink, sub, d, hp);
                keys.push((sub.vname.clone(), sub.sname.clone()));
            }
        }
        for k in keys {
            self.decided(&k);
        }
        self.flush_rounds();
    }

    /// SIGHUP: back to normal probing, with an immediate (jittered) probe.
    pub fn unforce(&mut self) {
        log::info("DEBUG -- removing glasses");
        self.forced = None;
        for ch in self.checkers.values_mut() {
            for sub in ch.subs.iter_mut() {
                sub.machine.unforce();
            }
            ch.wake.notify_one();
        }
    }
}

/// Reconcile the engine with a new job line. Must run inside a `LocalSet`.
pub fn reconcile(engine: &Shared, job: &Job) {
    let mut e = engine.borrow_mut();
    e.job_seq += 1;
    let seq = e.job_seq;
    let now = e.now();

    // Desired (virtual, server) -> resolved check.
    let mut desired: HashMap<
        Key,
        (
            Resolved,
            &crate::protocol::VirtualCheck,
            &crate::protocol::ServerCheck,
        ),
    > = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    // The allowlist is read once per set of checks (at start and on every
    // job lvsd sends, so after each reload).
    let mut programs = crate::program::Programs::load();
    for v in &job.virtuals {
        for s in &v.servers {
            let key = (v.name.clone(), s.name.clone());
            if desired.contains_key(&key) {
                log::info(&format!(
                    "duplicate server {} in virtual {}: ignoring the second one",
                    s.name, v.name
                ));
                continue;
            }
            let r = check::resolve(v, s, &mut |t: &str| programs.decide(t));
            desired.insert(key.clone(), (r, v, s));
            order.push(key);
        }
    }

    // Keep or drop existing subscribers.
    let mut kept: HashSet<Key> = HashSet::new();
    let ids: Vec<u64> = e.checkers.keys().copied().collect();
    let mut emptied = Vec::new();
    let e = &mut *e;
    for id in ids {
        let ch = e.checkers.get_mut(&id).unwrap();
        let hp = ch.spec.addr;
        let mut i = 0;
        while i < ch.subs.len() {
            let key = (ch.subs[i].vname.clone(), ch.subs[i].sname.clone());
            match desired.get(&key) {
                Some((r, _, _)) if r.spec == ch.spec => {
                    let sub = &mut ch.subs[i];
                    let d = sub.machine.set_params(now, r.params);
                    sub.load_cmd = r.load_cmd.clone();
                    apply(&mut e.sink, sub, d, hp);
                    kept.insert(key);
                    i += 1;
                }
                _ => {
                    log::verbose(&format!("stopping monitor of {}/{} {hp}", key.0, key.1));
                    ch.subs.swap_remove(i);
                    for (_, set) in e.pending.iter_mut() {
                        set.remove(&key);
                    }
                }
            }
        }
        if ch.subs.is_empty() {
            emptied.push(id);
        }
    }
    for id in emptied {
        if let Some(ch) = e.checkers.remove(&id) {
            e.by_spec.remove(&ch.spec);
            if let Some(t) = ch.task {
                t.abort();
            }
        }
    }

    // Start the new ones.
    let spread = Duration::from_micros(100 * order.len() as u64).min(Duration::from_secs(1));
    let mut pending: HashSet<Key> = HashSet::new();
    for key in &order {
        if kept.contains(key) {
            let ch = e
                .checkers
                .values()
                .find(|c| c.subs.iter().any(|s| s.vname == key.0 && s.sname == key.1));
            if let Some(ch) = ch {
                if ch
                    .subs
                    .iter()
                    .any(|s| s.vname == key.0 && s.sname == key.1 && s.machine.reported().is_none())
                {
                    pending.insert(key.clone());
                }
            }
            continue;
        }
        let (r, v, s) = desired.remove(key).unwrap();
        let hp = check::hostport(r.spec.addr);
        let vip = match (v.vip, v.fwmark) {
            (_, Some(m)) if m > 0 => format!("fwmark {m}"),
            (Some(ip), _) => format!("{}", std::net::SocketAddr::new(ip, v.port)),
            (None, _) => format!("port {}", v.port),
        };
        log::info(&format!("starting LVS client monitor for {vip} -> {hp}"));
        let id = match e.by_spec.get(&r.spec) {
            Some(id) => *id,
            None => {
                for n in &r.notes {
                    log::info(n);
                }
                if let check::CheckKind::Invalid(m) = &r.spec.kind {
                    log::info(&format!(
                        "{hp}: {m}: the check cannot run, the server is reported down"
                    ));
                }
                let id = e.next_id;
                e.next_id += 1;
                let wake = Rc::new(Notify::new());
                // The first probes are spread (so thousands of checks do
                // not start at once) over 0.1 ms per check of the job, at
                // most 1 s: a small job probes at once, and lvsd, which
                // waits for this first round before pulse brings up the
                // VIPs, is ready within one round trip of a takeover.
                let first = e.jitter(r.spec.timeout.min(spread));
                let task = tokio::task::spawn_local(checker_task(
                    engine.clone(),
                    id,
                    r.spec.clone(),
                    wake.clone(),
                    first,
                ));
                e.checkers.insert(
                    id,
                    Checker {
                        spec: r.spec.clone(),
                        subs: Vec::new(),
                        wake,
                        task: Some(task),
                        last: None,
                        cert: None,
                    },
                );
                e.by_spec.insert(r.spec.clone(), id);
                id
            }
        };
        let mut sub = Sub {
            vname: key.0.clone(),
            sname: key.1.clone(),
            address: s.address,
            port: r.spec.addr.port(),
            machine: Machine::new(r.params, s.kernel_weight),
            load_cmd: r.load_cmd.clone(),
        };
        let ch = e.checkers.get_mut(&id).unwrap();
        let d = if let Some(f) = e.forced {
            Some(sub.machine.force(now, f))
        } else {
            match &ch.last {
                // Share a fresh result of the same check at once.
                Some((at, o)) if at.elapsed() <= ch.spec.timeout * 2 => {
                    Some(sub.machine.on_probe(now, o.clone()))
                }
                _ => None,
            }
        };
        if let Some(d) = d {
            apply(&mut e.sink, &mut sub, d, r.spec.addr);
        }
        if sub.machine.reported().is_none() {
            pending.insert(key.clone());
        }
        ch.subs.push(sub);
    }
    e.pending.push((seq, pending));
    e.flush_rounds();
}

async fn checker_task(engine: Shared, id: u64, spec: CheckSpec, wake: Rc<Notify>, first: Duration) {
    let mut delay = first;
    let mut second = true;
    let pool = engine.borrow().pool.clone();
    let mut session = probe::Session::default();
    loop {
        let start = engine.borrow().start_time(delay);
        tokio::select! {
            _ = tokio::time::sleep_until(start) => {}
            _ = wake.notified() => {
                // SIGHUP: probe soon, jittered so that thousands of checks do
                // not fire together.
                let j = engine.borrow_mut().jitter(spec.timeout.min(Duration::from_secs(1)));
                tokio::time::sleep(j).await;
            }
        }
        while engine.borrow().forced.is_some() {
            wake.notified().await;
        }
        // Boxed: the (large) probe future exists only while a probe runs,
        // so an idle check costs a few hundred bytes.
        let outcome = Box::pin(probe::probe_pooled(&spec, &pool, &mut session)).await;
        if matches!(spec.kind, check::CheckKind::Http(ref h) if h.tls.is_some()) {
            engine
                .borrow_mut()
                .certificate(id, session.http.cert.clone());
        }
        let loads = engine.borrow_mut().deliver(id, outcome);
        for (key, (program, argv)) in loads {
            let run = Box::pin(crate::program::run(
                &program,
                &argv,
                spec.timeout,
                16 * 1024,
            ))
            .await;
            let load = match run.exit {
                crate::program::Exit::Code(0) => {
                    crate::load::parse_load(&String::from_utf8_lossy(&run.output))
                        .map_err(|e| e.to_string())
                }
                crate::program::Exit::TimedOut => {
                    Err(format!("timeout running the following: {}", argv.join(" ")))
                }
                other => Err(format!("failed to read remote load: {other:?}")),
            };
            engine.borrow_mut().deliver_load(id, &key, load);
        }
        // Piranha: sleep `interval` after the end of the probe. The second
        // delay is drawn uniformly in (0, interval] once, so checks started
        // together spread over the whole interval.
        delay = if second {
            second = false;
            let t = spec.timeout;
            let j = engine.borrow_mut().jitter(t);
            t - j
        } else {
            spec.timeout
        };
    }
}

impl Engine {
    /// The certificate seen by the last TLS handshake of check `id`: logs a
    /// warning when one starts and once a day while it lasts, and reports
    /// every change of it for each (virtual, server) of the check.
    fn certificate(&mut self, id: u64, note: Option<crate::tls::CertNote>) {
        let Some(ch) = self.checkers.get_mut(&id) else {
            return;
        };
        let now = Instant::now();
        let expiry = note.map(|n| crate::protocol::CertExpiry {
            not_after: n.not_after,
            days_left: n.days_left,
        });
        let changed = ch.cert.as_ref().map(|(e, _)| e) != expiry.as_ref();
        let hp = ch.spec.addr;
        match &expiry {
            Some(e) => {
                let due = ch
                    .cert
                    .as_ref()
                    .is_none_or(|(_, at)| now.duration_since(*at) >= CERT_WARNING_EVERY);
                if due {
                    log::info(&if e.days_left < 0 {
                        format!(
                            "WARNING: the TLS certificate of {hp} expired {} day(s) ago",
                            -e.days_left
                        )
                    } else {
                        format!(
                            "WARNING: the TLS certificate of {hp} expires in {} day(s)",
                            e.days_left
                        )
                    });
                }
                let at = match &ch.cert {
                    Some((_, at)) if !due => *at,
                    _ => now,
                };
                ch.cert = Some((e.clone(), at));
            }
            None => {
                if ch.cert.take().is_some() {
                    log::info(&format!(
                        "the TLS certificate of {hp} no longer expires soon"
                    ));
                }
            }
        }
        if changed {
            let reports: Vec<Report> = ch
                .subs
                .iter()
                .map(|sub| {
                    Report::Certificate(crate::protocol::CertReport {
                        virtual_name: sub.vname.clone(),
                        server: sub.sname.clone(),
                        address: sub.address,
                        port: sub.port,
                        certificate: expiry.clone(),
                    })
                })
                .collect();
            for r in &reports {
                (self.sink)(r);
            }
        }
    }
}

/// State of one (virtual, server), for tests and status output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// Virtual name.
    pub virtual_name: String,
    /// Server name.
    pub server: String,
    /// Last reported state and weight.
    pub reported: Option<(State, u32)>,
}

impl Engine {
    /// Snapshot of every (virtual, server).
    pub fn status(&self) -> Vec<ServerStatus> {
        let mut v: Vec<ServerStatus> = self
            .checkers
            .values()
            .flat_map(|c| c.subs.iter())
            .map(|s| ServerStatus {
                virtual_name: s.vname.clone(),
                server: s.sname.clone(),
                reported: s.machine.reported(),
            })
            .collect();
        v.sort_by(|a, b| (&a.virtual_name, &a.server).cmp(&(&b.virtual_name, &b.server)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_starts_are_rounded_to_the_nearest_tick() {
        let epoch = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(on_tick(epoch, epoch), epoch);
        let tick = START_TICK;
        assert_eq!(on_tick(epoch, epoch + tick), epoch + tick);
        assert_eq!(on_tick(epoch, epoch + ms(1)), epoch);
        assert_eq!(on_tick(epoch, epoch + tick / 2), epoch + tick);
        assert_eq!(
            on_tick(epoch, epoch + tick * 50 + tick / 2 - ms(1)),
            epoch + tick * 50
        );
        assert_eq!(
            on_tick(epoch, epoch + tick * 50 + tick / 2 + ms(1)),
            epoch + tick * 51
        );
        // At most half a tick away, on a tick, and unbiased: over a uniform
        // spread of due times the mean shift is ~0.
        let mut shift = 0i128;
        let n = 100_000u64;
        for i in 0..n {
            let t = epoch + Duration::from_nanos(i * 7_919_993 % 10_000_000_000);
            let r = on_tick(epoch, t);
            let d = (r - epoch).as_nanos() as i128 - (t - epoch).as_nanos() as i128;
            assert!(d.abs() * 2 <= START_TICK.as_nanos() as i128, "{i}");
            assert_eq!((r - epoch).as_nanos() % START_TICK.as_nanos(), 0, "{i}");
            shift += d;
        }
        let mean = shift / n as i128;
        assert!(mean.abs() < 100_000, "mean shift {mean} ns");
    }

    #[test]
    fn an_idle_check_is_small() {
        let e = Engine::new(Box::new(|_| {}));
        let spec = CheckSpec {
            protocol: crate::protocol::Protocol::Tcp,
            addr: "127.0.0.1:80".parse().unwrap(),
            timeout: Duration::from_secs(1),
            kind: check::CheckKind::Connect {
                send: None,
                expect: crate::expect::Expect::Nothing,
            },
        };
        let f = checker_task(e, 1, spec, Rc::new(Notify::new()), Duration::ZERO);
        let n = std::mem::size_of_val(&f);
        // A guard against buffers held inside the future (10,000 of them
        // live at once), not an exact figure: the size moves a little
        // between compiler versions and build settings.
        assert!(n <= 1024, "checker task future is {n} bytes");
        let spec2 = CheckSpec {
            protocol: crate::protocol::Protocol::Tcp,
            addr: "127.0.0.1:80".parse().unwrap(),
            timeout: Duration::from_secs(1),
            kind: check::CheckKind::Invalid(String::new()),
        };
        let p = crate::probe::probe(&spec2);
        eprintln!(
            "checker task future: {n} bytes; probe future: {} bytes",
            std::mem::size_of_val(&p)
        );
    }
}
