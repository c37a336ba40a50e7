//! A real resolver path with a counting DNS server at its end (catalogue
//! item CFG-V02): a network namespace made by the test, whose
//! `/etc/resolv.conf` (through `ip netns exec`'s `/etc/netns/NAME/` bind
//! mounts) names a server on the namespace's own 127.0.0.1:53, which this
//! module runs and which answers from a fixed table and counts every
//! question it gets. A program started with [`ResolverNs::command`] resolves
//! through the system's real resolver (glibc's getaddrinfo, nsswitch
//! `files dns`), so the counts say how often the program really asked.
//!
//! Needs root (namespaces, the /etc/netns directory); the caller checks
//! with [`crate::require`] first.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Metadata, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Questions asked, by (name without the final dot, record type).
type Counts = BTreeMap<(String, RecordType), usize>;

/// An lvs.cf whose addresses are host names: a VIP and two real servers
/// with names of [`NAMED_HOSTS`], one name used by two real servers in two
/// virtual servers, and one name (`nx.v02.test`) that does not resolve.
pub const NAMED_CONFIG: &str = "\
serial_no = 1
primary = 10.0.0.1
service = lvs
backup_active = 0
heartbeat = 1
keepalive = 6
deadtime = 18
network = direct
virtual web {
    active = 1
    address = vip.v02.test eth0:1
    port = 80
    scheduler = wlc
    protocol = tcp
    timeout = 6
    reentry = 15
    server s1 {
        address = rs1.v02.test
        active = 1
        weight = 1
    }
    server s2 {
        address = rs2.v02.test
        active = 1
        weight = 2
    }
}
virtual web2 {
    active = 1
    address = 10.9.0.2 eth0:2
    port = 8080
    scheduler = rr
    protocol = tcp
    timeout = 6
    reentry = 15
    server s1 {
        address = rs1.v02.test
        active = 1
        weight = 1
    }
    server gone {
        address = nx.v02.test
        active = 1
        weight = 1
    }
}
";

/// The names of [`NAMED_CONFIG`] that resolve, and their addresses.
pub const NAMED_HOSTS: &[(&str, Ipv4Addr)] = &[
    ("vip.v02.test", Ipv4Addr::new(10, 9, 0, 1)),
    ("rs1.v02.test", Ipv4Addr::new(10, 9, 1, 1)),
    ("rs2.v02.test", Ipv4Addr::new(10, 9, 1, 2)),
];

/// Every host name of [`NAMED_CONFIG`], once each.
pub const NAMED_CONFIG_NAMES: &[&str] = &[
    "vip.v02.test",
    "rs1.v02.test",
    "rs2.v02.test",
    "nx.v02.test",
];

/// A namespace whose resolver is a counting DNS server. Removed on drop.
pub struct ResolverNs {
    name: String,
    etc: PathBuf,
    counts: Arc<Mutex<Counts>>,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

/// Why the resolver namespace could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    /// An `ip` command could not start or failed (its error output).
    #[error("ip {args}: {why}")]
    Ip { args: String, why: String },
    /// A file under /etc/netns, or the DNS socket.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// The socket's read timeout could not be set.
    #[error("{0}")]
    Timeout(std::io::Error),
    /// Joining the namespace failed.
    #[error("setns {path}: {source}")]
    Setns { path: String, source: nix::Error },
    /// The thread that joins the namespace panicked.
    #[error("the namespace thread panicked")]
    ThreadPanicked,
}

fn ip(args: &[&str]) -> Result<(), NsError> {
    let failed = |why: String| NsError::Ip {
        args: args.join(" "),
        why,
    };
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

impl ResolverNs {
    /// Makes namespace `name` with its loopback up, a resolv.conf naming
    /// 127.0.0.1, a hosts file with only localhost, and the server
    /// answering `answers` (an A record each; every other name is NXDOMAIN,
    /// every other type of a known name is an empty answer).
    pub fn create(name: &str, answers: &[(&str, Ipv4Addr)]) -> Result<ResolverNs, NsError> {
        let etc = PathBuf::from("/etc/netns").join(name);
        let _ = ip(&["netns", "del", name]);
        ip(&["netns", "add", name])?;
        let mut me = ResolverNs {
            name: name.to_string(),
            etc: etc.clone(),
            counts: Arc::default(),
            stop: Arc::default(),
            server: None,
        };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        // An address beside loopback: getaddrinfo with AI_ADDRCONFIG (as
        // getent and many programs ask) sends no question on a host that
        // has only loopback addresses.
        ip(&[
            "-n", name, "link", "add", "v02a", "type", "veth", "peer", "name", "v02b",
        ])?;
        ip(&["-n", name, "addr", "add", "10.9.255.1/24", "dev", "v02a"])?;
        ip(&["-n", name, "link", "set", "v02a", "up"])?;
        ip(&["-n", name, "link", "set", "v02b", "up"])?;
        std::fs::create_dir_all(&etc).map_err(|source| NsError::Io {
            what: etc.display().to_string(),
            source,
        })?;
        let write = |file: &str, text: &str| {
            let p = etc.join(file);
            std::fs::write(&p, text).map_err(|source| NsError::Io {
                what: p.display().to_string(),
                source,
            })
        };
        // One attempt, no search domains: each lookup is one question per
        // record type, so the counts are exact.
        write(
            "resolv.conf",
            "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n",
        )?;
        write("hosts", "127.0.0.1 localhost\n::1 localhost\n")?;
        let socket = me.bind_inside()?;
        let table: BTreeMap<String, Ipv4Addr> = answers
            .iter()
            .map(|(n, a)| (n.trim_end_matches('.').to_ascii_lowercase(), *a))
            .collect();
        let counts = me.counts.clone();
        let stop = me.stop.clone();
        me.server = Some(std::thread::spawn(move || {
            serve(&socket, &table, &counts, &stop)
        }));
        Ok(me)
    }

    /// Binds 127.0.0.1:53 inside the namespace, from a thread that joins
    /// it (the socket keeps its namespace afterwards).
    fn bind_inside(&self) -> Result<UdpSocket, NsError> {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let ns = File::open(&path).map_err(|source| NsError::Io {
                what: path.clone(),
                source,
            })?;
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|source| {
                NsError::Setns {
                    path: path.clone(),
                    source,
                }
            })?;
            let s = UdpSocket::bind("127.0.0.1:53").map_err(|source| NsError::Io {
                what: "bind :53".into(),
                source,
            })?;
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .map_err(NsError::Timeout)?;
            Ok(s)
        })
        .join()
        .map_err(|_| NsError::ThreadPanicked)?
    }

    /// `program` to be run inside the namespace (through `ip netns exec`,
    /// which puts this namespace's resolv.conf and hosts in place).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// How many questions of type A the server got for `name`.
    pub fn a_questions(&self, name: &str) -> usize {
        self.questions(name, RecordType::A)
    }

    /// How many questions of type `rtype` the server got for `name`.
    pub fn questions(&self, name: &str, rtype: RecordType) -> usize {
        let key = (name.trim_end_matches('.').to_ascii_lowercase(), rtype);
        self.lock().get(&key).copied().unwrap_or(0)
    }

    /// Every question so far, of any name and type.
    pub fn all_questions(&self) -> usize {
        self.lock().values().sum()
    }

    /// What was asked, for a failure message.
    pub fn report(&self) -> String {
        let c = self.lock();
        if c.is_empty() {
            return "no question".into();
        }
        c.iter()
            .map(|((n, t), k)| format!("{n} {t}: {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Forgets the counts so far.
    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ResolverNs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.server.take() {
            let _ = t.join();
        }
        let _ = ip(&["netns", "del", &self.name]);
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

fn serve(
    socket: &UdpSocket,
    table: &BTreeMap<String, Ipv4Addr>,
    counts: &Mutex<Counts>,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(request) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let mut reply = Message::new(
            request.metadata.id,
            MessageType::Response,
            request.metadata.op_code,
        );
        reply.metadata = Metadata::response_from_request(&request.metadata);
        reply.metadata.recursion_available = true;
        for q in &request.queries {
            let name = q
                .name()
                .to_ascii()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            *counts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((name.clone(), q.query_type()))
                .or_default() += 1;
            reply.add_query(q.clone());
            match table.get(&name) {
                None => reply.metadata.response_code = ResponseCode::NXDomain,
                Some(addr) if q.query_type() == RecordType::A => {
                    if let Ok(owner) = Name::from_ascii(format!("{name}.")) {
                        reply.add_answer(Record::from_rdata(owner, 60, RData::A(A(*addr))));
                    }
                }
                Some(_) => {}
            }
        }
        if let Ok(bytes) = reply.to_vec() {
            let _ = socket.send_to(&bytes, peer);
        }
    }
}
