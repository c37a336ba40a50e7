//! The decision: may root run this command line from lvs.cf?

use crate::allowlist::{Allowlist, ListError};
use crate::trust::{self, TrustError};
use std::fmt;
use std::path::{Path, PathBuf};

/// The allowlist in force (or why there is none) and the decisions made
/// against it. Load it again to see edits of the file: pulse does before
/// each command, nanny with each new set of checks.
#[derive(Debug, Clone)]
pub struct Policy {
    list: Result<Allowlist, ListError>,
}

/// A command that may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    /// The real path of the program (symbolic links resolved): what to
    /// execute.
    pub program: PathBuf,
    /// The words as configured; `argv[0]` as written in lvs.cf.
    pub argv: Vec<String>,
    /// The allowlist line that allowed it.
    pub entry_line: usize,
}

/// Why a command may not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No words.
    Empty,
    /// A bare name not found in the fixed search path.
    NotFound {
        /// The first word.
        program: String,
    },
    /// There is no usable allowlist.
    NoList(ListError),
    /// The allowlist has no entry for it.
    NotListed {
        /// The command line.
        command: String,
        /// The allowlist.
        list: PathBuf,
    },
    /// The program breaks the ownership rule.
    Untrusted {
        /// What is wrong.
        why: TrustError,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("the command is empty"),
            Refusal::NotFound { program } => write!(
                f,
                "no program `{program}` in {}, the fixed search path of the daemons (write its full path)",
                crate::trust::search_path()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            ),
            Refusal::NoList(e) => write!(f, "{e}"),
            Refusal::NotListed { command, list } => write!(
                f,
                "`{command}` is not listed in {}, the root-owned list of programs lvs.cf may run \
                 (to allow it, root adds that command line to the file)",
                list.display()
            ),
            Refusal::Untrusted { why } => write!(
                f,
                "{why}: programs run for lvs.cf must be root-owned and not writable by group or others, in root-owned directories"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

impl Policy {
    /// The allowlist at [`crate::allowlist_path`].
    pub fn load() -> Policy {
        Policy::load_from(&crate::allowlist_path())
    }

    /// The allowlist at `path`, which must pass the ownership rule.
    pub fn load_from(path: &Path) -> Policy {
        Policy {
            list: read_list(path),
        }
    }

    /// A policy over an already parsed list (its file's ownership is not
    /// checked; programs still are).
    pub fn from_allowlist(list: Allowlist) -> Policy {
        Policy { list: Ok(list) }
    }

    /// The allowlist, or why there is none.
    pub fn allowlist(&self) -> Result<&Allowlist, &ListError> {
        self.list.as_ref()
    }

    /// Whether `command` (as configured, `%h`/`%p` not yet replaced) may
    /// run; on success, what to execute.
    pub fn check(&self, command: &str) -> Result<Approved, Refusal> {
        let words: Vec<&str> = command.split_whitespace().collect();
        let Some((&first, args)) = words.split_first() else {
            return Err(Refusal::Empty);
        };
        let Some(located) = trust::resolve_program(first) else {
            return Err(Refusal::NotFound {
                program: first.to_string(),
            });
        };
        let list = self.list.as_ref().map_err(|e| Refusal::NoList(e.clone()))?;
        let real = std::fs::canonicalize(&located).ok();
        let same = |p: &str| {
            p == first
                || Path::new(p) == located
                || (real.is_some() && std::fs::canonicalize(p).ok() == real)
        };
        let Some(entry) = list.find(same, args) else {
            return Err(Refusal::NotListed {
                command: words.join(" "),
                list: list.path().to_path_buf(),
            });
        };
        let program = trust::trusted_program(&located).map_err(|why| Refusal::Untrusted { why })?;
        Ok(Approved {
            program,
            argv: words.iter().map(|s| s.to_string()).collect(),
            entry_line: entry.line,
        })
    }
}

impl Policy {
    /// The commands of `after` that `before` did not have and that may not
    /// run: what an edit (web tool, `lvscf set`) would add for nothing.
    /// Commands already refused before are not repeated, so an unrelated
    /// edit of a file that names one still saves.
    pub fn newly_refused(
        &self,
        before: &lvscf_parser::Config,
        after: &lvscf_parser::Config,
    ) -> Vec<(crate::ConfiguredCommand, Refusal)> {
        // Compared by block name, keyword and text: a block moved or added
        // before another does not make that one's commands new.
        let id = |c: &crate::ConfiguredCommand| (c.origin.to_string(), c.key, c.template.clone());
        let old: Vec<_> = crate::commands_of(before).iter().map(id).collect();
        crate::commands_of(after)
            .into_iter()
            .filter(|c| !old.contains(&id(c)))
            .filter_map(|c| self.check(&c.template).err().map(|why| (c, why)))
            .collect()
    }
}

fn read_list(path: &Path) -> Result<Allowlist, ListError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ListError::Missing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => {
            return Err(ListError::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            })
        }
        Ok(_) => {}
    }
    let real = trust::trusted_file(path).map_err(|why| ListError::Untrusted {
        path: path.to_path_buf(),
        why,
    })?;
    let text = std::fs::read_to_string(&real).map_err(|e| ListError::Unreadable {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    Allowlist::parse(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        Policy::from_allowlist(Allowlist::parse(Path::new("/l"), text).expect("parses"))
    }

    fn sh() -> String {
        trust::locate("sh")
            .expect("sh")
            .to_string_lossy()
            .into_owned()
    }

    /// Reliability catalogue CFG-V08 and PRIV-02 (docs/RELIABILITY.md).
    #[test]
    fn only_listed_command_lines_run() {
        let env = trust::locate("env").expect("env");
        let p = policy(&format!("{} -i\n", env.display()));
        let ok = p.check(&format!("{} -i", env.display())).expect("listed");
        assert_eq!(ok.argv[1], "-i");
        assert_eq!(ok.entry_line, 1);
        // The attacks of the security review: a listed launcher with other
        // arguments, a shell, a bare name.
        for cmd in [
            format!("{} /tmp/x/evil.sh", env.display()),
            format!("{} -i /tmp/x/evil.sh", env.display()),
            format!("{} -c id>>/tmp/x", sh()),
            format!("{} -c echo${{IFS}}x", sh()),
        ] {
            match p.check(&cmd) {
                Err(Refusal::NotListed { command, list }) => {
                    assert_eq!(command, cmd);
                    assert_eq!(list, Path::new("/l"));
                }
                other => panic!("{cmd}: {other:?}"),
            }
        }
        assert_eq!(p.check("  "), Err(Refusal::Empty));
        assert!(matches!(
            p.check("no-such-program-here"),
            Err(Refusal::NotFound { .. })
        ));
        assert!(matches!(
            p.check("./relative"),
            Err(Refusal::NotListed { .. })
        ));
    }

    /// A relative program (Piranha's execvp found it on the PATH) is
    /// resolved first; the allowlist and the ownership rule then apply to
    /// the path found exactly as to a path written in lvs.cf.
    #[test]
    fn relative_programs_are_checked_as_the_path_they_resolve_to() {
        let t = trust::resolve_program("true").expect("true on the root path");
        let listed = policy(&format!("{} now\n", t.display()));
        let ok = listed
            .check("true now")
            .expect("resolves to the listed path");
        assert_eq!(ok.program, std::fs::canonicalize(&t).expect("canonical"));
        assert_eq!(ok.argv, ["true", "now"]);
        // The same name with other arguments, and another program on the
        // path, are not listed: a relative name gains nothing.
        assert!(matches!(
            listed.check("true later"),
            Err(Refusal::NotListed { .. })
        ));
        assert!(matches!(
            listed.check("false now"),
            Err(Refusal::NotListed { .. })
        ));
        // `bin/true` is /bin/true (the daemons' working directory is /).
        let bin = policy("/bin/true now\n");
        if Path::new("/bin/true").exists() {
            bin.check("bin/true now").expect("bin/true is /bin/true");
        }
        assert!(matches!(
            bin.check("../bin/true now"),
            Err(Refusal::NotListed { .. }) | Err(Refusal::Untrusted { .. })
        ));
    }

    #[test]
    fn bare_names_and_symlinked_paths_match_their_real_program() {
        // `sh` from lvs.cf (rsh_command style) matches the entry written with
        // the path the safe search finds.
        let p = policy(&format!("{} %h uptime\n", sh()));
        let ok = p.check("sh %h uptime").expect("bare name resolved");
        assert_eq!(
            ok.program,
            std::fs::canonicalize(sh()).expect("canonical sh")
        );
        assert!(p.check("sh %h").is_err());
    }

    #[test]
    fn no_list_allows_nothing() {
        let p = Policy::load_from(Path::new("/nonexistent/lvs-programs"));
        match p.check("/bin/true") {
            Err(Refusal::NoList(ListError::Missing { path })) => {
                assert_eq!(path, Path::new("/nonexistent/lvs-programs"))
            }
            other => panic!("{other:?}"),
        }
        let msg = p.check("/bin/true").expect_err("refused").to_string();
        assert!(msg.contains("does not exist"), "{msg}");
    }
}
