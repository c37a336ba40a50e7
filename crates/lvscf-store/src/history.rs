//! The history of lvs.cf: every save by a writer (the web tool, `lvscf`)
//! first keeps the version it replaces, with who saved, from where, when
//! and a one-line summary of the change.
//!
//! Kept next to lvs.cf in `lvs.cf.history/` (mode 2770, the group of the
//! directory lvs.cf is in: `piranha` on an installed router), one pair of
//! files per save, mode 0660: `NNNNNNNNNN.cf` (the previous file, byte for
//! byte) and `NNNNNNNNNN.meta` (`key=value` lines). The numbers count up;
//! only the newest [`KEEP`] are kept. Writers record under the lvs.cf lock
//! ([`crate::ConfigLock`]), so the numbers never collide.
//!
//! The summary ([`summarize`]) compares the typed configurations (the
//! parser's `Config`, as its JSON form), never the text: "virtual web:
//! server s2 weight 1 → 3".

use lvscf_parser::Document;
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many versions are kept.
pub const KEEP: usize = 100;
/// The history directory's mode: group-writable, setgid (new files get
/// its group), nothing for others.
pub const DIR_MODE: u32 = 0o2770;
/// The mode of its files.
pub const FILE_MODE: u32 = 0o660;

/// Who saved, from where, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `web user piranha`, `lvscf (root)`...
    pub who: String,
    /// The client address, or `localhost` for a command.
    pub from: String,
    /// One line: what changed ([`summarize`]).
    pub summary: String,
}

/// One kept version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its number (the newest is the highest).
    pub seq: u64,
    /// When it was replaced, seconds since the epoch.
    pub when: u64,
    /// `serial_no` of the version kept.
    pub serial_before: u64,
    /// `serial_no` of the version that replaced it.
    pub serial_after: u64,
    /// Who replaced it, from where, and how.
    pub change: Change,
}

/// The history directory of `config`.
pub fn dir_for(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lvs.cf".into());
    config.with_file_name(format!("{name}.history"))
}

fn file(dir: &Path, seq: u64, ext: &str) -> PathBuf {
    dir.join(format!("{seq:010}.{ext}"))
}

/// A value on one line: newlines and other controls become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Makes the directory if needed, mode [`DIR_MODE`], group of lvs.cf's
/// directory.
fn ensure_dir(config: &Path) -> io::Result<PathBuf> {
    let dir = dir_for(config);
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => return Ok(dir),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not a directory", dir.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir(&dir)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(DIR_MODE))?;
    if let Some(parent) = dir.parent().and_then(|p| fs::metadata(p).ok()) {
        // Root (lvscf) makes it piranha's like the directory above; a
        // user who may not chown keeps the group the setgid parent gave.
        let _ = std::os::unix::fs::chown(&dir, None, Some(parent.gid()));
    }
    Ok(dir)
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(bytes)?;
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    f.sync_all()
}

/// The numbers of the kept versions, oldest first.
fn seqs(dir: &Path) -> io::Result<Vec<u64>> {
    let mut v: Vec<u64> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".meta")?.parse().ok()
            })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    v.sort_unstable();
    Ok(v)
}

/// Keeps `previous` (the bytes of lvs.cf about to be replaced; its serial
/// `serial_before`, the new one's `serial_after`) with `change`, then
/// prunes to [`KEEP`]. Call under the lvs.cf lock, before the save.
pub fn record(
    config: &Path,
    previous: &[u8],
    serial_before: u64,
    serial_after: u64,
    change: &Change,
) -> io::Result<Entry> {
    let dir = ensure_dir(config)?;
    let existing = seqs(&dir)?;
    let seq = existing.last().map_or(1, |n| n + 1);
    let when = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    write_new(&file(&dir, seq, "cf"), previous)?;
    let meta = format!(
        "when={when}\nserial_before={serial_before}\nserial_after={serial_after}\nwho={}\nfrom={}\nsummary={}\n",
        one_line(&change.who),
        one_line(&change.from),
        one_line(&change.summary)
    );
    // The metadata last: an entry without it is not listed.
    write_new(&file(&dir, seq, "meta"), meta.as_bytes())?;
    let total = existing.len() + 1;
    if total > KEEP {
        for old in &existing[..total - KEEP] {
            let _ = fs::remove_file(file(&dir, *old, "meta"));
            let _ = fs::remove_file(file(&dir, *old, "cf"));
        }
    }
    Ok(Entry {
        seq,
        when,
        serial_before,
        serial_after,
        change: change.clone(),
    })
}

fn parse_meta(seq: u64, text: &str) -> Entry {
    let mut e = Entry {
        seq,
        when: 0,
        serial_before: 0,
        serial_after: 0,
        change: Change {
            who: String::new(),
            from: String::new(),
            summary: String::new(),
        },
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "when" => e.when = v.parse().unwrap_or(0),
            "serial_before" => e.serial_before = v.parse().unwrap_or(0),
            "serial_after" => e.serial_after = v.parse().unwrap_or(0),
            "who" => e.change.who = v.to_string(),
            "from" => e.change.from = v.to_string(),
            "summary" => e.change.summary = v.to_string(),
            _ => {}
        }
    }
    e
}

/// The kept versions, newest first (none when there is no history yet).
pub fn list(config: &Path) -> io::Result<Vec<Entry>> {
    let dir = dir_for(config);
    let mut out = Vec::new();
    for seq in seqs(&dir)?.into_iter().rev() {
        match fs::read_to_string(file(&dir, seq, "meta")) {
            Ok(t) => out.push(parse_meta(seq, &t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The bytes of kept version `seq`.
pub fn read_version(config: &Path, seq: u64) -> io::Result<Vec<u8>> {
    let p = file(&dir_for(config), seq, "cf");
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&p)?;
    let mut buf = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(f, 64 * 1024 * 1024), &mut buf)?;
    Ok(buf)
}

/// The unified diff (3 lines of context) from `before` to `after`, the
/// files named `from` and `to` in its header; empty when they are equal.
/// Bounded in time: on a pathological pair the diff is coarser, never slow.
pub fn diff(before: &[u8], after: &[u8], from: &str, to: &str) -> String {
    if before == after {
        return String::new();
    }
    let a = String::from_utf8_lossy(before);
    let b = String::from_utf8_lossy(after);
    let d = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_millis(200))
        .diff_lines(a.as_ref(), b.as_ref());
    d.unified_diff()
        .context_radius(3)
        .missing_newline_hint(false)
        .header(from, to)
        .to_string()
}

/// A value as the summary shows it.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "unset".into(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(" "),
        Value::Object(o) => o
            .values()
            .filter(|v| !v.is_null())
            .map(show)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The changes of the keys of two objects (skipping `skip`), as
/// `KEY a → b`.
fn key_changes(a: &Value, b: &Value, skip: &[&str], out: &mut Vec<String>, prefix: &str) {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return;
    };
    for (k, va) in a {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let vb = b.get(k).unwrap_or(&Value::Null);
        if va != vb {
            out.push(format!("{prefix}{k} {} → {}", show(va), show(vb)));
        }
    }
}

/// The changes of a list of named blocks (`virtual`, `server`,
/// `failover`), matched by name.
fn block_changes(kind: &str, a: &Value, b: &Value, out: &mut Vec<String>, prefix: &str) {
    let empty = Vec::new();
    let a = a.as_array().unwrap_or(&empty);
    let b = b.as_array().unwrap_or(&empty);
    let name = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    for va in a {
        let n = name(va);
        match b.iter().find(|vb| name(vb) == n) {
            None => out.push(format!("{prefix}{kind} {n} deleted")),
            Some(vb) => {
                // "virtual web: port ...", "virtual web: server s2 weight ...".
                let sep = if prefix.is_empty() { ": " } else { " " };
                let inner = format!("{prefix}{kind} {n}{sep}");
                key_changes(va, vb, &["name", "servers"], out, &inner);
                if va.get("servers").is_some() {
                    let here = format!("{prefix}{kind} {n}: ");
                    block_changes(
                        "server",
                        va.get("servers").unwrap_or(&Value::Null),
                        vb.get("servers").unwrap_or(&Value::Null),
                        out,
                        &here,
                    );
                }
            }
        }
    }
    for vb in b {
        let n = name(vb);
        if !a.iter().any(|va| name(va) == n) {
            out.push(format!("{prefix}{kind} {n} added"));
        }
    }
}

/// Every change between two files, one phrase each (the serial is left
/// out: every save bumps it).
pub fn changes(before: &Document, after: &Document) -> Vec<String> {
    if before.has_errors() || after.has_errors() {
        return vec!["lvs.cf replaced (one of the versions does not load)".into()];
    }
    let (Ok(a), Ok(b)) = (
        serde_json::to_value(before.config()),
        serde_json::to_value(after.config()),
    ) else {
        return vec!["lvs.cf replaced".into()];
    };
    let mut out = Vec::new();
    key_changes(
        &a,
        &b,
        &["serial_no", "virtuals", "failovers"],
        &mut out,
        "",
    );
    block_changes("virtual", &a["virtuals"], &b["virtuals"], &mut out, "");
    block_changes("failover", &a["failovers"], &b["failovers"], &mut out, "");
    out
}

/// The one-line summary of a change: its phrases joined (the first few,
/// and how many more), or what it was when the configuration is the same.
pub fn summarize(before: &Document, after: &Document) -> String {
    let c = changes(before, after);
    const SHOWN: usize = 4;
    match c.len() {
        0 if before.as_bytes() == after.as_bytes() => "no change".into(),
        0 => "comments or layout only".into(),
        n if n <= SHOWN => c.join("; "),
        n => format!("{}; and {} more", c[..SHOWN].join("; "), n - SHOWN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "serial_no = 3\nprimary = 10.0.0.1\nservice = lvs\nkeepalive = 6\nvirtual web {\n address = 10.0.0.100 eth0:1\n port = 80\n server s1 {\n  address = 10.0.1.1\n  weight = 1\n }\n server s2 {\n  address = 10.0.1.2\n  weight = 1\n }\n}\n";

    fn doc(t: &str) -> Document {
        Document::parse("lvs.cf", t)
    }

    #[test]
    fn summaries_speak_of_blocks_and_keys() {
        let a = doc(CF);
        let b = doc(&CF.replace(
            " server s2 {\n  address = 10.0.1.2\n  weight = 1",
            " server s2 {\n  address = 10.0.1.2\n  weight = 3",
        ));
        assert_eq!(summarize(&a, &b), "virtual web: server s2 weight 1 → 3");
        let c = doc(&CF
            .replace("keepalive = 6", "keepalive = 2")
            .replace("serial_no = 3", "serial_no = 4"));
        assert_eq!(
            summarize(&a, &c),
            "keepalive 6 → 2",
            "the serial is not a change"
        );
        let d = doc(&CF.replace(" server s1 {\n  address = 10.0.1.1\n  weight = 1\n }\n", ""));
        assert_eq!(summarize(&a, &d), "virtual web: server s1 deleted");
        let e = doc(&format!(
            "{CF}virtual ftp {{\n address = 10.0.0.101 eth0:2\n port = 21\n}}\n"
        ));
        assert_eq!(summarize(&a, &e), "virtual ftp added");
        let f = doc(&CF.replace("port = 80", "port = 8080"));
        assert_eq!(summarize(&a, &f), "virtual web: port 80 → 8080");
        assert_eq!(
            summarize(&a, &doc(&format!("# hi\n{CF}"))),
            "comments or layout only"
        );
        assert_eq!(summarize(&a, &a), "no change");
        let many = doc(&CF
            .replace("weight = 1", "weight = 2")
            .replace("port = 80", "port = 81")
            .replace("keepalive = 6", "keepalive = 5")
            .replace("10.0.1.1", "10.0.1.9"));
        assert!(
            summarize(&a, &many).ends_with("; and 1 more"),
            "{}",
            summarize(&a, &many)
        );
    }

    #[test]
    fn diffs_are_unified_with_context() {
        let after = CF.replace("port = 80", "port = 8080");
        let d = diff(
            CF.as_bytes(),
            after.as_bytes(),
            "lvs.cf (serial 3)",
            "lvs.cf (now)",
        );
        assert!(
            d.starts_with("--- lvs.cf (serial 3)\n+++ lvs.cf (now)\n@@ "),
            "{d}"
        );
        assert!(d.contains("\n- port = 80\n+ port = 8080\n"), "{d}");
        assert!(
            d.contains("\n  address = 10.0.0.100 eth0:1\n"),
            "context kept: {d}"
        );
        assert!(
            !d.contains("s2") && !d.contains("primary"),
            "only 3 lines of context: {d}"
        );
        assert_eq!(diff(CF.as_bytes(), CF.as_bytes(), "a", "b"), "");
    }

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lvscf-history-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("mkdir");
        d
    }

    #[test]
    fn versions_are_kept_listed_and_pruned() {
        let d = temp("keep");
        let cf = d.join("lvs.cf");
        let ch = |i: u64| Change {
            who: "web user piranha".into(),
            from: "192.0.2.1".into(),
            summary: format!("change {i}\nwith a newline"),
        };
        assert!(list(&cf).expect("list").is_empty());
        for i in 0..(KEEP as u64 + 5) {
            record(&cf, format!("version {i}\n").as_bytes(), i, i + 1, &ch(i)).expect("record");
        }
        let l = list(&cf).expect("list");
        assert_eq!(l.len(), KEEP);
        assert_eq!(l[0].seq, KEEP as u64 + 5, "newest first");
        assert_eq!(l[0].serial_before, KEEP as u64 + 4);
        assert_eq!(
            l[0].change.summary,
            format!("change {} with a newline", KEEP + 4)
        );
        assert_eq!(l[0].change.from, "192.0.2.1");
        assert_eq!(
            read_version(&cf, l[0].seq).expect("read"),
            format!("version {}\n", KEEP + 4).into_bytes()
        );
        assert!(read_version(&cf, 1).is_err(), "pruned");
        let meta = fs::metadata(dir_for(&cf)).expect("dir");
        assert_eq!(meta.mode() & 0o7777, DIR_MODE);
        let f = fs::metadata(file(&dir_for(&cf), l[0].seq, "cf")).expect("file");
        assert_eq!(f.mode() & 0o777, FILE_MODE);
        let _ = fs::remove_dir_all(&d);
    }
}
