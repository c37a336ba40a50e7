//! Which programs named in lvs.cf the daemons agree to run.
//!
//! The web tool's user can edit lvs.cf; it must not be able to make root run
//! a program of its own. So a program runs only if it is an absolute path to
//! a regular, executable file that is not set-uid/set-gid, and the file and
//! every directory above it are owned by root and writable by nobody else.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Checks `program` against the policy; the error says what is wrong.
pub fn check_program(program: &str) -> Result<(), String> {
    let path = Path::new(program);
    if !path.is_absolute() {
        return Err(format!("`{program}` is not an absolute path"));
    }
    if path.components().any(|c| c.as_os_str() == "..") {
        return Err(format!("`{program}` contains `..`"));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("`{program}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!("`{program}` is not a regular file"));
    }
    let mode = meta.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(format!("`{program}` is not executable"));
    }
    if mode & 0o6000 != 0 {
        return Err(format!("`{program}` is set-uid or set-gid"));
    }
    check_owner(path, &meta)?;
    let mut dir = path.parent();
    while let Some(d) = dir {
        let meta = std::fs::metadata(d).map_err(|e| format!("`{}`: {e}", d.display()))?;
        check_owner(d, &meta)?;
        dir = d.parent();
    }
    Ok(())
}

fn check_owner(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.uid() != 0 {
        return Err(format!(
            "`{}` is owned by uid {}, not root",
            path.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "`{}` is writable by its group or by others",
            path.display()
        ));
    }
    Ok(())
}

/// Checks every program a configuration would make root run (`active_cmd`,
/// `inactive_cmd`, and `send_program` of active virtual servers) and
/// returns one error diagnostic per refused program, located at its line.
pub fn check_config_programs(doc: &crate::Document) -> Vec<crate::Diagnostic> {
    use crate::analyze::BlockKind;
    let config = doc.config();
    let structure = doc.structure();
    let mut found: Vec<(Option<usize>, &'static str, &crate::CommandLine)> = Vec::new();
    if let Some(c) = &config.active_cmd {
        found.push((None, "active_cmd", c));
    }
    if let Some(c) = &config.inactive_cmd {
        found.push((None, "inactive_cmd", c));
    }
    for (i, v) in config.virtuals.iter().enumerate() {
        if let (true, Some(c)) = (v.active, &v.send_program) {
            let block = structure
                .blocks
                .iter()
                .position(|b| b.kind == BlockKind::Virtual && b.config_index == i);
            found.push((block, "send_program", c));
        }
    }
    let text = doc.as_bytes();
    found
        .into_iter()
        .filter_map(|(block, key, command)| {
            let program = command.program()?;
            let why = check_program(program).err()?;
            let line = structure.key_line(block, key).unwrap_or(0);
            let source_line = String::from_utf8_lossy(text)
                .lines()
                .nth(line)
                .unwrap_or("")
                .to_string();
            let column = source_line.find(program).map(|c| c + 1).unwrap_or(1);
            Some(crate::Diagnostic {
                severity: crate::Severity::Error,
                code: crate::Code::UnsafeProgram,
                line: line + 1,
                column,
                width: program.chars().count().max(1),
                keyword: Some(key.to_string()),
                message: format!("{key} will not be run: {why}"),
                hint: Some(
                    "programs named in lvs.cf must be root-owned, not writable by group or others, in root-owned directories".into(),
                ),
                source_line,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_binaries_pass_and_bad_paths_fail() {
        assert!(check_program("/bin/true").is_ok() || check_program("/usr/bin/true").is_ok());
        assert!(check_program("true").is_err());
        assert!(check_program("/nonexistent/x").is_err());
        assert!(check_program("/tmp").is_err());
        assert!(check_program("/usr/bin/../bin/true").is_err());
    }
}
