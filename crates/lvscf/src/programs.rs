//! The programs lvs.cf makes root run, judged by the exec policy: the
//! diagnostics of `lvscf check`, the report of `lvscf programs`, the guard
//! of `lvscf set`, and `lvscf programs --allow-current`.

use exec_policy::{commands_of, ConfiguredCommand, Origin, Policy, Refusal};
use lvscf_parser::{Code, Config, Diagnostic, Document, Severity};

/// The block index in the document's structure of a command's origin.
fn block_of(doc: &Document, origin: &Origin) -> Option<usize> {
    let s = doc.structure();
    match origin {
        Origin::Global => None,
        Origin::Virtual { index, .. } => s.virtual_blocks.get(*index).copied(),
        Origin::Failover { index, .. } => s.failover_blocks.get(*index).copied(),
    }
}

/// One error per command of `doc` that the policy refuses, at the line of
/// its keyword, with the offending text under the caret.
pub fn program_diagnostics(doc: &Document, policy: &Policy) -> Vec<Diagnostic> {
    let text = String::from_utf8_lossy(doc.as_bytes());
    commands_of(doc.config())
        .into_iter()
        .filter_map(|c| {
            let why = policy.check(&c.template).err()?;
            let block = block_of(doc, &c.origin);
            let line = doc.structure().key_line(block, c.key).unwrap_or(0);
            let source_line = text.lines().nth(line).unwrap_or("").to_string();
            let shown = c.template.split(' ').next().unwrap_or("");
            let column = source_line
                .find('=')
                .map(|eq| {
                    eq + 1 + source_line[eq + 1..].len() - source_line[eq + 1..].trim_start().len()
                })
                .map(|c| c + 1)
                .unwrap_or(1);
            let width = source_line
                .get(column.saturating_sub(1)..)
                .map(|rest| rest.trim_end().chars().count())
                .unwrap_or(0)
                .max(shown.chars().count())
                .max(1);
            Some(Diagnostic {
                severity: Severity::Error,
                code: Code::UnsafeProgram,
                line: line + 1,
                column,
                width,
                keyword: Some(c.key.to_string()),
                message: format!("{} will not be run: {why}", describe(&c)),
                hint: Some(hint(&why)),
                source_line,
            })
        })
        .collect()
}

fn describe(c: &ConfiguredCommand) -> String {
    match c.key {
        "load_monitor" => format!("the load monitor command `{}`", c.template),
        key => key.to_string(),
    }
}

fn hint(why: &Refusal) -> String {
    match why {
        Refusal::NotListed { command, list } => format!(
            "if root should run it, add the line `{command}` to {} (see `lvscf programs`)",
            list.display()
        ),
        Refusal::NoList(_) => format!(
            "create {} (root-owned, mode 0644) listing the command lines root may run; `lvscf programs --allow-current` does it for this file",
            exec_policy::allowlist_path().display()
        ),
        _ => "programs named in lvs.cf must be root-owned, not writable by group or others, in root-owned directories".into(),
    }
}

/// `lvscf programs`: one line per command, then the allowlist's warnings.
/// Returns the text and whether every command would run.
pub fn report(config: &Config, policy: &Policy) -> (String, bool) {
    let mut out = String::new();
    let list = exec_policy::allowlist_path();
    match policy.allowlist() {
        Ok(l) => out.push_str(&format!(
            "allowlist {}: {} entr{}\n",
            l.path().display(),
            l.entries().len(),
            if l.entries().len() == 1 { "y" } else { "ies" }
        )),
        Err(e) => out.push_str(&format!("allowlist {}: {e}\n", list.display())),
    }
    let commands = commands_of(config);
    if commands.is_empty() {
        out.push_str("lvs.cf names no program that root would run\n");
    }
    let mut all = true;
    for c in &commands {
        match policy.check(&c.template) {
            Ok(a) => out.push_str(&format!(
                "allowed  {} {}: {} (line {} of the allowlist)\n",
                c.origin, c.key, c.template, a.entry_line
            )),
            Err(why) => {
                all = false;
                out.push_str(&format!(
                    "REFUSED  {} {}: {}\n         {why}\n",
                    c.origin, c.key, c.template
                ));
            }
        }
    }
    if let Ok(l) = policy.allowlist() {
        for w in l.warnings() {
            out.push_str(&format!("warning: {w}\n"));
        }
    }
    (out, all)
}

/// Commands of `after` that `before` did not have and the policy refuses,
/// one message each: what an edit would add that the daemons will not run.
pub fn newly_refused(before: &Config, after: &Config, policy: &Policy) -> Vec<String> {
    policy
        .newly_refused(before, after)
        .into_iter()
        .map(|(c, why)| format!("{} {}: {why}", c.origin, c.key))
        .collect()
}

/// The header of an allowlist made by `--allow-current`.
const HEADER: &str = "\
# The command lines lvs.cf may make root run (pulse: active_cmd, inactive_cmd;
# nanny: send_program, load monitors; failover services: start_cmd, stop_cmd).
# One per line: the program's absolute path, then its arguments word for word;
# a last word `*` allows any further arguments. `%h` and `%p` stand for the
# real server's address and port, as in send_program. Keep this file owned by
# root and not writable by anybody else. See lvs.cf(5), \"PROGRAMS\".
";

/// `lvscf programs --allow-current`: the command lines of `config` that are
/// refused only because the allowlist does not list them, except those
/// whose program is a shell, `env` or another launcher (an administrator
/// adds those by hand if that is really meant). Returns the new allowlist
/// text, the lines added, and the commands left out with why.
pub fn allow_current(
    config: &Config,
    policy: &Policy,
    current_text: Option<&str>,
) -> (String, Vec<String>, Vec<String>) {
    let mut added: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    for c in commands_of(config) {
        match policy.check(&c.template) {
            Ok(_) => {}
            Err(Refusal::NotListed { .. }) | Err(Refusal::NoList(_)) => {
                let command = c.template.clone();
                let program = command.split(' ').next().unwrap_or("");
                let located = exec_policy::trust::locate(program);
                if exec_policy::allowlist::is_launcher(program) {
                    skipped.push(format!(
                        "{} {}: `{command}`: {program} runs whatever its arguments name; add it by hand if that is meant",
                        c.origin, c.key
                    ));
                    continue;
                }
                match located.map(|p| exec_policy::trust::trusted_program(&p)) {
                    Some(Ok(_)) => {}
                    Some(Err(why)) => {
                        skipped.push(format!("{} {}: {why}", c.origin, c.key));
                        continue;
                    }
                    None => {
                        skipped.push(format!(
                            "{} {}: `{program}` is not an absolute path to an existing program",
                            c.origin, c.key
                        ));
                        continue;
                    }
                }
                let line = absolute_command(&command);
                if !added.contains(&line) {
                    added.push(line);
                }
            }
            Err(why) => skipped.push(format!("{} {}: {why}", c.origin, c.key)),
        }
    }
    let mut text = match current_text {
        Some(t) if !t.is_empty() => {
            let mut t = t.to_string();
            if !t.ends_with('\n') {
                t.push('\n');
            }
            t
        }
        _ => HEADER.to_string(),
    };
    for l in &added {
        text.push_str(l);
        text.push('\n');
    }
    (text, added, skipped)
}

/// The command with its program written as the absolute path the daemons
/// would find (a bare `ssh` becomes `/usr/bin/ssh`).
fn absolute_command(command: &str) -> String {
    let mut words: Vec<String> = command.split(' ').map(str::to_string).collect();
    if let Some(first) = words.first_mut() {
        if let Some(p) = exec_policy::trust::locate(first) {
            *first = p.display().to_string();
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use exec_policy::Allowlist;
    use std::path::Path;

    fn doc(extra: &str) -> Document {
        Document::parse(
            "lvs.cf",
            format!(
                "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nbackup = 10.0.0.2\nbackup_active = 1\n\
                 heartbeat = 1\nkeepalive = 6\ndeadtime = 18\nnetwork = direct\n{extra}\
                 virtual web {{\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n\
                 server s1 {{\n         address = 10.0.1.11\n         active = 1\n     }}\n}}\n"
            ),
        )
    }

    fn sh() -> String {
        exec_policy::trust::locate("sh")
            .expect("sh")
            .display()
            .to_string()
    }

    fn policy(text: &str) -> Policy {
        Policy::from_allowlist(Allowlist::parse(Path::new("/l"), text).expect("list"))
    }

    #[test]
    fn check_points_at_the_refused_keyword() {
        let d = doc(&format!("active_cmd = \"{} -c id\"\n", sh()));
        assert!(!d.has_errors());
        let diags = program_diagnostics(&d, &policy(""));
        assert_eq!(diags.len(), 1, "{diags:?}");
        let e = &diags[0];
        assert_eq!(e.line, 10);
        assert_eq!(e.keyword.as_deref(), Some("active_cmd"));
        assert_eq!(e.column, 14);
        assert!(
            e.message.starts_with("active_cmd will not be run: `"),
            "{}",
            e.message
        );
        assert!(
            e.hint.as_deref().unwrap_or("").contains("add the line"),
            "{e:?}"
        );
        assert!(program_diagnostics(&d, &policy(&format!("{} -c id\n", sh()))).is_empty());
    }

    #[test]
    fn report_and_newly_refused() {
        let before = doc("");
        let after = doc(&format!("inactive_cmd = \"{} -c id\"\n", sh()));
        let p = policy("");
        let (text, ok) = report(after.config(), &p);
        assert!(!ok);
        assert!(text.contains("REFUSED  global inactive_cmd"), "{text}");
        let (text, ok) = report(before.config(), &p);
        assert!(ok, "{text}");
        assert!(text.contains("names no program"), "{text}");
        assert_eq!(newly_refused(before.config(), after.config(), &p).len(), 1);
        assert!(newly_refused(after.config(), after.config(), &p).is_empty());
    }

    #[test]
    fn allow_current_skips_launchers() {
        let t = exec_policy::trust::locate("true")
            .expect("true")
            .display()
            .to_string();
        let d = doc(&format!(
            "active_cmd = \"{t} up\"\ninactive_cmd = \"{} -c id\"\n",
            sh()
        ));
        let (text, added, skipped) = allow_current(d.config(), &policy(""), None);
        assert_eq!(added, vec![format!("{t} up")]);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains("add it by hand"), "{skipped:?}");
        assert!(text.starts_with("# The command lines"));
        assert!(text.ends_with(&format!("{t} up\n")));
        let p = Policy::from_allowlist(Allowlist::parse(Path::new("/l"), &text).expect("list"));
        assert!(p.check(&format!("{t} up")).is_ok());
    }
}
