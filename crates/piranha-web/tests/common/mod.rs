//! Shared helpers of the HTTP tests: a real server on 127.0.0.1:0 with a
//! temporary config directory, and a raw HTTP/1.1 client (so tests can send
//! any method and any unnormalised path).

#![allow(dead_code)]

use piranha_web::server::{self, App, Options};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub mod chromium;

pub const PASSWORD: &str = "s3cret pass";

/// A test that cannot run here (not root, a tool missing) says why and
/// returns; under CI (the environment variable `CI` set), where everything
/// is installed and tests run as root, it fails instead.
pub fn skip(why: &str) {
    // The suite's one rule (crates/test-support): fails under CI, and is
    // counted by tests/run-all.
    test_support::skip("piranha-web", why);
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub const LVS_CF: &str = "# lvs.cf for the tests: this comment must survive\nserial_no = 7\nprimary = 10.0.0.1\nservice = lvs\nbackup_active = 1\nbackup = 10.0.0.2\nheartbeat = 1\nheartbeat_port = 539\nkeepalive = 6\ndeadtime = 18\nnetwork = direct\n# a comment between globals and blocks\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n     send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n     expect = \"HTTP\"\n     scheduler = wlc\n     protocol = tcp\n     timeout = 6\n     reentry = 15\n     # a comment inside a block\n     server r1 {\n         address = 10.0.1.11\n         active = 1\n         weight = 1\n     }\n}\n";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory for one test.
pub fn tempdir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("piranha-web-tests")
        .join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// An exec-policy allowlist with `lines` that the policy trusts: in a
/// root-owned directory under /run when running as root (a checkout below
/// /tmp would not pass the ownership rule). Each call gets its own file.
pub fn trusted_allowlist(lines: &[&str]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let root = is_root();
    let dir = if root {
        PathBuf::from(format!("/run/piranha-web-tests-{}", std::process::id()))
    } else {
        tempdir("programs")
    };
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let p = dir.join(format!("lvs-programs-{n}"));
    std::fs::write(&p, lines.join("\n") + "\n").expect("write allowlist");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    p
}

pub struct Env {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub passwd: PathBuf,
    pub pulse_socket: PathBuf,
    pub lvsd_socket: PathBuf,
    pub addr: SocketAddr,
    _rt: std::thread::JoinHandle<()>,
}

pub struct EnvBuilder {
    pub tag: String,
    pub with_passwd: bool,
    pub config_text: Option<String>,
    pub allow: Vec<piranha_web::session::Cidr>,
    pub config_dir: Option<PathBuf>,
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// The exec-policy allowlist; by default a file that does not exist
    /// (no program allowed, and never the host's own list).
    pub programs: Option<PathBuf>,
}

impl EnvBuilder {
    pub fn new(tag: &str) -> EnvBuilder {
        EnvBuilder {
            tag: tag.into(),
            with_passwd: true,
            config_text: Some(LVS_CF.into()),
            allow: vec![],
            config_dir: None,
            tls: None,
            programs: None,
        }
    }

    pub fn start(self) -> Env {
        let dir = tempdir(&self.tag);
        let cdir = self.config_dir.clone().unwrap_or_else(|| dir.clone());
        let config = cdir.join("lvs.cf");
        if let Some(t) = &self.config_text {
            std::fs::write(&config, t).expect("write lvs.cf");
        }
        let passwd = dir.join("piranha.passwd");
        if self.with_passwd {
            let h = piranha_web::htpasswd::hash_with_cost(PASSWORD, 4).expect("hash");
            std::fs::write(&passwd, format!("piranha:{h}\n")).expect("write passwd");
        }
        let opts = Options {
            config: config.clone(),
            passwd_file: passwd.clone(),
            pulse_socket: dir.join("pulse.sock"),
            lvsd_socket: dir.join("lvsd.sock"),
            allow: self.allow,
            copy_timeout: Duration::from_secs(5),
            programs: self
                .programs
                .clone()
                .unwrap_or_else(|| dir.join("no-lvs-programs")),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let o2 = opts.clone();
        let tls = self.tls.clone();
        let rt = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send");
                let app = App::new(o2);
                let _ = server::serve(listener, server::router(app), tls).await;
            });
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server started");
        Env {
            dir,
            config,
            passwd,
            pulse_socket: opts.pulse_socket,
            lvsd_socket: opts.lvsd_socket,
            addr,
            _rt: rt,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[allow(clippy::while_let_loop)]
fn decode_chunked(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(pos) = b.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..pos]).trim(), 16).unwrap_or(0);
        b = &b[pos + 2..];
        if size == 0 || b.len() < size {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

/// Sends one raw request (the caller gives the request line's target as is).
pub fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let raw_body = if end + 4 <= buf.len() {
        &buf[end + 4..]
    } else {
        &[][..]
    };
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        decode_chunked(raw_body)
    } else {
        raw_body.to_vec()
    };
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    raw(addr, &head, body)
}

pub fn urlencode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A logged-in browser-like client.
#[derive(Debug, Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub cookie: String,
    pub csrf: String,
    /// The loopback address requests come from (127.0.0.1 when none): the
    /// server caps connections per client address.
    pub src: Option<std::net::Ipv4Addr>,
}

pub fn extract(html: &str, name: &str) -> Option<String> {
    let pat = format!("name=\"{name}\" value=\"");
    let i = html.find(&pat)? + pat.len();
    let rest = &html[i..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn login(addr: SocketAddr, password: &str) -> Result<Client, Resp> {
    let body = urlencode(&[("user", "piranha"), ("password", password)]);
    let r = request(
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    if r.status != 303 {
        return Err(r);
    }
    let set = r.header("set-cookie").unwrap_or("").to_string();
    let cookie = set.split(';').next().unwrap_or("").to_string();
    let page = request(addr, "GET", "/control", &[("Cookie", &cookie)], b"");
    let csrf = extract(&page.body, "csrf").unwrap_or_default();
    Ok(Client {
        addr,
        cookie,
        csrf,
        src: None,
    })
}

impl Client {
    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[("Cookie", &self.cookie)], b"")
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        match self.src {
            Some(src) => request_from(src, self.addr, method, path, headers, body),
            None => request(self.addr, method, path, headers, body),
        }
    }

    /// Loads a form page and returns its `version` (file hash).
    pub fn version(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        extract(&r.body, "version").expect("version field")
    }

    /// POSTs a form with the CSRF token and the given version.
    pub fn post_form(&self, path: &str, version: &str, pairs: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str()), ("version", version)];
        all.extend_from_slice(pairs);
        let body = urlencode(&all);
        self.send(
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
    }

    /// Loads the page, then submits its form.
    pub fn submit(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let v = self.version(path);
        self.post_form(path, &v, pairs)
    }

    /// POSTs exactly these fields.
    pub fn post_pairs(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let body = urlencode(pairs);
        self.send(
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
    }

    /// Presses CONFIRM on a confirmation page: posts its form's hidden
    /// fields (the request, the CSRF token, the version) with `confirm=1`.
    pub fn confirm(&self, page: &Resp) -> Resp {
        assert_eq!(page.status, 200, "not a confirmation page: {}", page.body);
        let (action, fields) =
            confirm_form(&page.body).unwrap_or_else(|| panic!("no CONFIRM form in {}", page.body));
        let mut pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("confirm", "1"));
        self.post_pairs(&action, &pairs)
    }

    /// Submits a form whose action asks for a confirmation, and confirms.
    pub fn submit_confirmed(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let page = self.submit(path, pairs);
        assert!(
            page.status == 200 && page.body.contains("Confirm:"),
            "{path} {pairs:?} should ask first: {} {}",
            page.status,
            page.body
        );
        self.confirm(&page)
    }
}

/// Undoes maud's escaping of an attribute value.
pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The action and hidden fields of the form of a confirmation page (the
/// one with the CONFIRM button).
pub fn confirm_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let at = html.find(r#"name="confirm" value="1""#)?;
    let start = html[..at].rfind("<form ")?;
    let form = &html[start..at];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let pat = format!(r#"{name}=""#);
        let i = tag.find(&pat)? + pat.len();
        Some(unescape(&tag[i..i + tag[i..].find('"')?]))
    };
    let action = attr(&form[..form.find('>')?], "action")?;
    let mut fields = Vec::new();
    for piece in form.split("<input ").skip(1) {
        let tag = &piece[..piece.find('>')?];
        if tag.contains(r#"type="hidden""#) {
            fields.push((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()));
        }
    }
    Some((action, fields))
}

pub fn sha256_file(p: &Path) -> String {
    piranha_web::session::sha256_hex(&std::fs::read(p).unwrap_or_default())
}

pub fn file_state(p: &Path) -> (String, u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).expect("stat");
    (sha256_file(p), m.ino(), m.mtime(), m.mtime_nsec())
}

pub fn basic(password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("piranha:{password}"))
    )
}

/// The real `piranha-web` binary, started on 127.0.0.1 with a free port;
/// killed when dropped.
pub struct Gui {
    pub addr: SocketAddr,
    child: std::process::Child,
    log: Option<std::thread::JoinHandle<String>>,
}

impl Gui {
    /// Starts the binary with `args` (after `--listen`), as `uid`/`gid`
    /// when given. With `keep_stderr` false its stderr is closed as soon as
    /// it has said where it listens.
    pub fn start(
        args: &[&std::ffi::OsStr],
        user: Option<(u32, u32)>,
        keep_stderr: bool,
    ) -> Result<Gui, String> {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_piranha-web"));
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped());
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid);
        }
        let mut child = cmd.spawn().map_err(|e| format!("start piranha-web: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Read the log all along (unless asked to close it); the first
        // `listen=` line gives the address.
        let log = std::thread::spawn(move || {
            let mut seen = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                seen.push_str(&line);
                seen.push('\n');
                if let Some(rest) = line.split("listen=").nth(1) {
                    let a = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(a);
                    if !keep_stderr {
                        break;
                    }
                }
            }
            seen
        });
        let mut gui = Gui {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            log: Some(log),
        };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => {
                gui.addr = a
                    .parse()
                    .map_err(|e| format!("listen address {a:?}: {e}"))?;
                Ok(gui)
            }
            Err(_) => Err(format!("piranha-web did not start: {}", gui.stop())),
        }
    }

    /// Kills it and returns what it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log
            .take()
            .and_then(|l| l.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Gui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tmpfs mounted for one test (root only); unmounted when dropped.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`), or says why not.
    pub fn mount(tag: &str, size: &str) -> Result<Tmpfs, String> {
        if !is_root() {
            return Err("needs root to mount a tmpfs".into());
        }
        let dir = tempdir(tag);
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status();
        match st {
            Ok(s) if s.success() => Ok(Tmpfs(dir)),
            _ => Err("cannot mount a tmpfs here".into()),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A TCP connection to `addr` from the loopback address `src` (any of
/// 127.0.0.0/8), so a test can be several clients.
pub fn connect_from(src: std::net::Ipv4Addr, addr: SocketAddr) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    let SocketAddr::V4(dst) = addr else {
        panic!("IPv4 server address expected");
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    let local = SockaddrIn::from(std::net::SocketAddrV4::new(src, 0));
    bind(fd.as_raw_fd(), &local).unwrap_or_else(|e| panic!("bind {src}: {e}"));
    connect(fd.as_raw_fd(), &SockaddrIn::from(dst)).expect("connect");
    TcpStream::from(fd)
}

/// [`request`] from the loopback address `src`.
pub fn request_from(
    src: std::net::Ipv4Addr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut s = connect_from(src, addr);
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_response(&buf)
}

/// A login from the loopback address `src` (127.x.y.z); the status.
pub fn login_status_from(src: std::net::Ipv4Addr, addr: SocketAddr, password: &str) -> u16 {
    let body = urlencode(&[("user", "piranha"), ("password", password)]);
    request_from(
        src,
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .status
}
