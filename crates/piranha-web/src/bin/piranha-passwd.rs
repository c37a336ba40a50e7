//! `piranha-passwd`: sets the password of the web tool's user `piranha`.
//!
//! Prompts `New Password: ` and `Verify: ` without echo (or reads two lines
//! from standard input when it is not a terminal). A password on the command
//! line is refused: it would be visible in `ps` and in shell history.
//! Writes a bcrypt hash into the htpasswd file atomically: the temporary
//! file is created with mode 0600 before anything is written, so the hash
//! is never readable by others, then given to the user piranha (when it
//! exists) and renamed over the old file.

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};
use nix::unistd::User;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DEFAULT_FILE: &str = "/etc/sysconfig/ha/conf/piranha.passwd";

fn usage() -> ! {
    eprintln!("usage: piranha-passwd [--passwd-file FILE]");
    eprintln!("Sets the password of the user piranha for the web tool; it asks for the password.");
    std::process::exit(2);
}

fn main() {
    let mut file = PathBuf::from(DEFAULT_FILE);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--passwd-file" => match args.next() {
                Some(f) => file = PathBuf::from(f),
                None => usage(),
            },
            "-h" | "--help" => {
                println!("usage: piranha-passwd [--passwd-file FILE]");
                println!("Prompts for the new password of the user piranha (or reads it from standard input).");
                return;
            }
            s if s.starts_with("--passwd-file=") => {
                file = PathBuf::from(&s["--passwd-file=".len()..])
            }
            _ => {
                eprintln!(
                    "piranha-passwd: a password on the command line is refused (it would show in ps and shell history)."
                );
                eprintln!("Run piranha-passwd without arguments and type the password at the prompt, or pipe it on standard input.");
                std::process::exit(2);
            }
        }
    }
    let (password, verify) = match read_passwords() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("piranha-passwd: {e}");
            std::process::exit(1);
        }
    };
    if password != verify {
        eprintln!("Passwords do not match.");
        std::process::exit(1);
    }
    if password.is_empty() {
        eprintln!("piranha-passwd: an empty password is refused.");
        std::process::exit(1);
    }
    let hash = match piranha_web::htpasswd::hash_new(&password) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("piranha-passwd: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = write_file(&file, &hash) {
        eprintln!("piranha-passwd: {}: {e}", file.display());
        std::process::exit(1);
    }
}

/// Turns terminal echo off on standard input until dropped (a newline is
/// still echoed, so the prompts stay on their own lines).
struct NoEcho {
    saved: Option<Termios>,
}

impl NoEcho {
    fn new() -> NoEcho {
        let Ok(saved) = termios::tcgetattr(io::stdin()) else {
            return NoEcho { saved: None };
        };
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        let _ = termios::tcsetattr(io::stdin(), SetArg::TCSANOW, &quiet);
        NoEcho { saved: Some(saved) }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(io::stdin(), SetArg::TCSANOW, t);
        }
    }
}

fn read_line(stdin: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    if stdin.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    Ok(Some(line))
}

fn read_passwords() -> io::Result<(String, String)> {
    let stdin = io::stdin();
    let mut lock = stdin.lock();
    if io::stdin().is_terminal() {
        let _guard = NoEcho::new();
        print!("New Password: ");
        io::stdout().flush()?;
        let p = read_line(&mut lock)?.unwrap_or_default();
        print!("Verify: ");
        io::stdout().flush()?;
        let v = read_line(&mut lock)?.unwrap_or_default();
        Ok((p, v))
    } else {
        let p = read_line(&mut lock)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "no password on standard input",
            )
        })?;
        let v = read_line(&mut lock)?.unwrap_or_else(|| p.clone());
        Ok((p, v))
    }
}

/// uid and gid of the user piranha, if it exists.
fn piranha_ids() -> Option<(u32, u32)> {
    let user = User::from_name("piranha").ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

fn write_file(path: &Path, hash: &str) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; refusing to write through it",
            ))
        }
        Ok(m) if !m.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is not a regular file",
            ))
        }
        _ => {}
    }
    let old = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let text = piranha_web::htpasswd::set_entry(&old, piranha_web::htpasswd::USER, hash);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "piranha.passwd".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    // Created 0600 before any byte is written: never readable by others.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    let result = (|| {
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(text.as_bytes())?;
        match piranha_ids() {
            Some((uid, gid)) => {
                if let Err(e) = std::os::unix::fs::fchown(&f, Some(uid), Some(gid)) {
                    eprintln!("piranha-passwd: warning: cannot give the file to the user piranha: {e}");
                }
            }
            None => eprintln!(
                "piranha-passwd: warning: there is no user piranha; the file stays owned by {} (piranha-web must run as a user that can read it)",
                nix::unistd::geteuid()
            ),
        }
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
