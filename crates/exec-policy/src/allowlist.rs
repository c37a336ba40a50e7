//! The allowlist file: its format and its matching. Pure.
//!
//! ```text
//! # /etc/sysconfig/lvs-programs: the command lines lvs.cf may make root run.
//! # One per line: an absolute program path, then the arguments it may be
//! # given, word for word. A last word `*` allows any further arguments.
//! /usr/local/sbin/vip-notify active
//! /usr/local/sbin/vip-notify inactive
//! /usr/local/libexec/check-mysql --host %h --port %p
//! /usr/bin/ssh %h uptime
//! ```
//!
//! Words are separated by blanks; `#` starts a comment when it begins a
//! word. There is no quoting (lvs.cf has none either).

use crate::trust::TrustError;
use std::fmt;
use std::path::{Path, PathBuf};

/// One allowed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line in the allowlist.
    pub line: usize,
    /// The absolute program path as written.
    pub program: String,
    /// The arguments that must follow, word for word.
    pub args: Vec<String>,
    /// A final `*`: any further arguments are allowed.
    pub any_further: bool,
}

impl Entry {
    /// Whether `args` (the words after the program) are what this entry
    /// allows.
    pub fn allows_args(&self, args: &[&str]) -> bool {
        if args.len() < self.args.len() || (!self.any_further && args.len() != self.args.len()) {
            return false;
        }
        self.args.iter().zip(args).all(|(want, got)| want == got)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for a in &self.args {
            write!(f, " {a}")?;
        }
        if self.any_further {
            f.write_str(" *")?;
        }
        Ok(())
    }
}

/// Why there is no usable allowlist (then nothing runs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// The file does not exist.
    #[error("{} does not exist, so no program named in lvs.cf is run", .path.display())]
    Missing {
        /// The allowlist.
        path: PathBuf,
    },
    /// It could not be read.
    #[error("cannot read {}: {error}", .path.display())]
    Unreadable {
        /// The allowlist.
        path: PathBuf,
        /// The system's error.
        error: String,
    },
    /// It or a directory above it breaks the ownership rule.
    #[error("{} is not trusted, so no program named in lvs.cf is run: {why}", .path.display())]
    Untrusted {
        /// The allowlist.
        path: PathBuf,
        /// What is wrong.
        why: TrustError,
    },
    /// A line does not parse; the whole file is refused, as sudo refuses a
    /// broken sudoers.
    #[error("{}:{line}: {message}; the whole list is refused, so no program named in lvs.cf is run", .path.display())]
    Syntax {
        /// The allowlist.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The parsed allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist {
    path: PathBuf,
    entries: Vec<Entry>,
}

/// Programs that run what their arguments name: with `*` after them, an
/// entry lets lvs.cf choose the program after all.
const LAUNCHERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "env",
    "sudo",
    "su",
    "doas",
    "nice",
    "nohup",
    "timeout",
    "xargs",
    "setsid",
    "chroot",
    "nsenter",
    "unshare",
    "ionice",
    "taskset",
    "stdbuf",
    "flock",
    "script",
    "strace",
    "ltrace",
    "gdb",
    "watch",
    "runuser",
    "systemd-run",
    "ssh",
    "rsh",
    "awk",
    "gawk",
    "mawk",
    "find",
    "perl",
    "python",
    "python3",
    "ruby",
    "node",
    "lua",
    "php",
    "tclsh",
    "expect",
];

/// Whether `program` (a path or a bare name) runs what its arguments name:
/// a shell, `env`, an interpreter, `sudo`...
pub fn is_launcher(program: &str) -> bool {
    let base = program.rsplit('/').next().unwrap_or(program);
    let base = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    LAUNCHERS.contains(&base)
}

impl Allowlist {
    /// Parses the text of the allowlist `path` (named in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Allowlist, ListError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let syntax = |message: String| ListError::Syntax {
                path: path.to_path_buf(),
                line,
                message,
            };
            let mut words: Vec<&str> = Vec::new();
            for w in raw.split([' ', '\t', '\r']).filter(|w| !w.is_empty()) {
                if w.starts_with('#') {
                    break;
                }
                words.push(w);
            }
            let Some((&program, rest)) = words.split_first() else {
                continue;
            };
            if !program.starts_with('/') {
                return Err(syntax(format!(
                    "`{program}` is not an absolute path (write the program's full path)"
                )));
            }
            if program.split('/').any(|c| c == "..") {
                return Err(syntax(format!("`{program}` contains `..`")));
            }
            if program == "*" || program.contains('*') {
                return Err(syntax("a program cannot be a wildcard".into()));
            }
            let (args, any_further) = match rest.split_last() {
                Some((&"*", init)) => (init, true),
                _ => (rest, false),
            };
            if let Some(w) = args.iter().find(|w| **w == "*") {
                return Err(syntax(format!(
                    "`{w}` is allowed only as the last word (any further arguments)"
                )));
            }
            entries.push(Entry {
                line,
                program: program.to_string(),
                args: args.iter().map(|s| s.to_string()).collect(),
                any_further,
            });
        }
        Ok(Allowlist {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The first entry that allows `args` after a program for which
    /// `same_program(entry.program)` holds.
    pub fn find(&self, same_program: impl Fn(&str) -> bool, args: &[&str]) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.allows_args(args) && same_program(&e.program))
    }

    /// Entries that give lvs.cf the choice of program back (a shell, `env`,
    /// an interpreter... followed by `*`), one message each.
    pub fn warnings(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.any_further && is_launcher(&e.program))
            .map(|e| {
                format!(
                    "{}:{}: `{e}` lets lvs.cf run any program through {}; list the exact command lines instead",
                    self.path.display(),
                    e.line,
                    e.program
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Allowlist {
        Allowlist::parse(Path::new("/etc/sysconfig/lvs-programs"), text).expect("parses")
    }

    #[test]
    fn entries_comments_and_wildcards() {
        let l = list(
            "# header\n\n/usr/local/sbin/notify active # trailing\n\t/usr/bin/ssh %h uptime\n/usr/local/bin/check *\n",
        );
        let e = l.entries();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].program, "/usr/local/sbin/notify");
        assert_eq!(e[0].args, vec!["active"]);
        assert!(!e[0].any_further);
        assert_eq!(e[1].to_string(), "/usr/bin/ssh %h uptime");
        assert!(e[2].any_further && e[2].args.is_empty());
    }

    #[test]
    fn exact_arguments_unless_a_final_star() {
        let l = list("/p a b\n/q a *\n");
        let same = |want: &'static str| move |p: &str| p == want;
        assert!(l.find(same("/p"), &["a", "b"]).is_some());
        assert!(l.find(same("/p"), &["a"]).is_none());
        assert!(l.find(same("/p"), &["a", "b", "c"]).is_none());
        assert!(l.find(same("/p"), &["b", "a"]).is_none());
        assert!(l.find(same("/q"), &["a"]).is_some());
        assert!(l.find(same("/q"), &["a", "x", "y"]).is_some());
        assert!(l.find(same("/q"), &[]).is_none());
        assert!(l.find(same("/r"), &["a", "b"]).is_none());
    }

    #[test]
    fn malformed_lines_refuse_the_whole_file() {
        for (text, line, what) in [
            ("/ok\nrelative/prog\n", 2, "absolute"),
            ("/a/../b\n", 1, ".."),
            ("/a * b\n", 1, "last word"),
            ("/bin/*\n", 1, "wildcard"),
        ] {
            match Allowlist::parse(Path::new("/l"), text) {
                Err(ListError::Syntax {
                    line: l, message, ..
                }) => {
                    assert_eq!(l, line, "{text}");
                    assert!(message.contains(what), "{message}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn launchers_with_a_star_are_named() {
        let l = list("/usr/bin/env *\n/bin/sh -c *\n/usr/bin/python3.11 *\n/usr/local/bin/check *\n/bin/sh /usr/local/bin/fixed.sh\n");
        let w = l.warnings();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains(":1:") && w[0].contains("/usr/bin/env"));
        assert!(w[2].contains("python3.11"));
    }
}
