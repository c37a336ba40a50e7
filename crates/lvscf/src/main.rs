//! `lvscf`: check, show and edit lvs.cf from the command line.
//!
//! `check` is to lvs.cf what `nginx -t` is to nginx.conf; `get`, `set` and
//! `unset` let scripts and configuration management edit the file without
//! ever writing one that would not load.

use clap::Parser;
use exec_policy::Policy;
use lvscf::cli::{Cli, Command};
use lvscf::programs;
use lvscf_parser::keypath::KeyPath;
use lvscf_parser::{Document, Target};
use lvscf_store::{read_config_file, write_atomic};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("lvscf: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read(cli: &Cli) -> Result<Document, String> {
    let bytes = read_config_file(&cli.config)
        .map_err(|e| format!("failed to open {}: {e}", cli.config.display()))?;
    Ok(Document::parse(cli.config.display().to_string(), bytes))
}

fn print_diagnostics(doc: &Document, quiet: bool) {
    for d in doc.diagnostics() {
        if quiet && !d.is_error() {
            continue;
        }
        eprint!("{}", d.render(doc.name()));
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let writes = matches!(
        cli.command,
        Command::Set { .. } | Command::Unset { .. } | Command::Rename { .. } | Command::Move { .. }
    );
    if writes {
        // A save killed half-way (by us or by the web tool) leaves its
        // temporary file; the writer's own clean-up removes those owned by
        // our user. It takes the lock itself, so it runs before ours.
        match lvscf_store::remove_stale_temps(&cli.config) {
            Ok(removed) => {
                for path in removed {
                    eprintln!("removed {}, left by an interrupted save", path.display());
                }
            }
            Err(e) => eprintln!(
                "warning: cannot look for interrupted saves next to {}: {e}",
                cli.config.display()
            ),
        }
    }
    // Writers hold the same lock as the web tool from read to rename, so
    // neither can overwrite the other's change.
    let _lock = if writes {
        Some(
            lvscf_store::ConfigLock::acquire(&cli.config)
                .map_err(|e| format!("cannot lock {}: {e}", cli.config.display()))?,
        )
    } else {
        None
    };
    let doc = read(&cli)?;
    match &cli.command {
        Command::Check { syntax_only, quiet } => {
            let mut diags: Vec<_> = doc.diagnostics().to_vec();
            if !syntax_only && !doc.has_errors() {
                diags.extend(programs::program_diagnostics(&doc, &Policy::load()));
            }
            diags.sort_by_key(|d| (d.line, d.column));
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - errors;
            for d in &diags {
                if *quiet && !d.is_error() {
                    continue;
                }
                print!("{}", d.render(doc.name()));
            }
            if errors > 0 {
                println!(
                    "{}: {errors} error(s), {warnings} warning(s): the file does not load",
                    doc.name()
                );
                Ok(ExitCode::FAILURE)
            } else {
                if !quiet {
                    println!("{}: ok ({warnings} warning(s))", doc.name());
                }
                Ok(ExitCode::SUCCESS)
            }
        }
        Command::Dump { json } => {
            let (config, _) = doc.load().map_err(|d| {
                eprint!("{}", d.render());
                "the file does not load".to_string()
            })?;
            if *json {
                let text = serde_json::to_string_pretty(config).map_err(|e| e.to_string())?;
                println!("{text}");
            } else {
                let text =
                    lvscf_parser::write::write_config_full(config).map_err(|e| e.to_string())?;
                print!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Get { key } => {
            let (config, _) = doc.load().map_err(|d| {
                eprint!("{}", d.render());
                "the file does not load".to_string()
            })?;
            let path = KeyPath::parse(key, &doc).map_err(|e| e.to_string())?;
            match path.get(config).map_err(|e| e.to_string())? {
                Some(value) => {
                    println!("{value}");
                    Ok(ExitCode::SUCCESS)
                }
                None => Err(format!("`{key}` is not set")),
            }
        }
        Command::Set { key, value } => {
            let path = KeyPath::parse(key, &doc).map_err(|e| e.to_string())?;
            let Some(name) = &path.key else {
                return Err(format!(
                    "`{key}` names a block; give a keyword, e.g. `{key}.active`"
                ));
            };
            let mut edited = doc.clone();
            edited
                .set(&path.target, name, value)
                .map_err(|e| e.to_string())?;
            save(&cli, &doc, &edited)
        }
        Command::Unset { key } => {
            let path = KeyPath::parse(key, &doc).map_err(|e| e.to_string())?;
            let mut edited = doc.clone();
            match &path.key {
                Some(name) => {
                    if !edited
                        .unset(&path.target, name)
                        .map_err(|e| e.to_string())?
                    {
                        eprintln!("lvscf: `{key}` was not set");
                        return Ok(ExitCode::SUCCESS);
                    }
                }
                None => edited.remove(&path.target).map_err(|e| e.to_string())?,
            }
            save(&cli, &doc, &edited)
        }
        Command::Rename { block, new_name } => {
            let path = block_path(block, &doc)?;
            let mut edited = doc.clone();
            edited.rename(&path, new_name).map_err(|e| e.to_string())?;
            save(&cli, &doc, &edited)
        }
        Command::Programs { allow_current } => {
            let policy = Policy::load();
            if *allow_current {
                // A file that does not load (the package's empty lvs.cf)
                // names no program; the list is still created.
                return match doc.load() {
                    Ok((config, _)) => allow_current_programs(config, &policy),
                    Err(_) => {
                        eprintln!(
                            "lvscf: {} does not load: no command taken from it",
                            cli.config.display()
                        );
                        allow_current_programs(&lvscf_parser::Config::default(), &policy)
                    }
                };
            }
            let (config, _) = doc.load().map_err(|d| {
                eprint!("{}", d.render());
                "the file does not load".to_string()
            })?;
            let (text, all_allowed) = programs::report(config, &policy);
            print!("{text}");
            Ok(if all_allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Drain {
            server,
            wait,
            timeout,
            cancel,
            socket,
        } => lvscf::drain::run(
            &doc,
            &lvscf::drain::DrainArgs {
                path: server,
                wait: *wait,
                cancel: *cancel,
                timeout: timeout.map(std::time::Duration::from_secs),
                socket,
                config: &cli.config,
            },
        ),
        Command::Move { block, index } => {
            let path = block_path(block, &doc)?;
            let mut edited = doc.clone();
            edited.move_to(&path, *index).map_err(|e| e.to_string())?;
            save(&cli, &doc, &edited)
        }
    }
}

fn block_path(text: &str, doc: &Document) -> Result<Target, String> {
    let path = KeyPath::parse(text, doc).map_err(|e| e.to_string())?;
    if path.key.is_some() || path.target == Target::Global {
        return Err(format!(
            "`{text}` is not a block path (virtual.NAME or virtual.NAME.server.NAME)"
        ));
    }
    Ok(path.target)
}

/// Writes the edited document if it loads; otherwise explains and leaves the
/// file untouched.
fn save(cli: &Cli, before: &Document, edited: &Document) -> Result<ExitCode, String> {
    if edited.has_errors() {
        print_diagnostics(edited, true);
        return Err(format!(
            "not written: {} would not load after this change",
            cli.config.display()
        ));
    }
    if edited.as_bytes() == before.as_bytes() {
        return Ok(ExitCode::SUCCESS);
    }
    let refused = programs::newly_refused(before.config(), edited.config(), &Policy::load());
    if !refused.is_empty() {
        for r in &refused {
            eprintln!("lvscf: {r}");
        }
        return Err(format!(
            "not written: the daemons would not run the program this change names ({} lists what root may run; see `lvscf programs`)",
            exec_policy::allowlist_path().display()
        ));
    }
    write_atomic(&cli.config, edited.as_bytes())
        .map_err(|e| format!("failed to write {}: {e}", cli.config.display()))?;
    keep_in_history(cli, before, edited);
    print_diagnostics(edited, false);
    Ok(ExitCode::SUCCESS)
}

/// Keeps the replaced version in lvs.cf's history, as the web tool does
/// (who: `lvscf` and the Unix user, from: local). The file is saved
/// already: a history that cannot be written is a warning, not a failure.
fn keep_in_history(cli: &Cli, before: &Document, edited: &Document) {
    if before.as_bytes().is_empty() {
        return;
    }
    let change = lvscf_store::history::Change {
        who: lvscf::who_am_i(),
        from: "local".into(),
        summary: lvscf_store::history::summarize(before, edited),
    };
    let serial = |d: &Document| d.config().serial_no;
    match lvscf_store::history::record(
        &cli.config,
        before.as_bytes(),
        serial(before),
        serial(edited),
        &change,
    ) {
        Ok(_) => {}
        Err(e) => eprintln!(
            "warning: {} saved, but the previous version could not be kept in {}: {e}",
            cli.config.display(),
            lvscf_store::history::dir_for(&cli.config).display()
        ),
    }
}

/// `lvscf programs --allow-current`: adds the file's command lines to the
/// allowlist (root only), printing what was added and what was left out.
fn allow_current_programs(
    config: &lvscf_parser::Config,
    policy: &Policy,
) -> Result<ExitCode, String> {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::geteuid().is_root() {
        return Err("--allow-current changes the root-owned allowlist: run it as root".into());
    }
    let path = exec_policy::allowlist_path();
    let current = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    // A list that exists but is broken or untrusted is the administrator's
    // to fix; appending to it would hide the problem.
    if let Err(
        e @ (exec_policy::ListError::Syntax { .. } | exec_policy::ListError::Untrusted { .. }),
    ) = policy.allowlist()
    {
        return Err(format!("{e}; fix it by hand first"));
    }
    let (text, added, skipped) = programs::allow_current(config, policy, current.as_deref());
    for s in &skipped {
        println!("not added: {s}");
    }
    if added.is_empty() && current.is_some() {
        println!("{}: nothing to add", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    write_atomic(&path, text.as_bytes())
        .map_err(|e| format!("failed to write {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    if current.is_none() {
        println!("created {}", path.display());
    }
    for a in &added {
        println!("added to {}: {a}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
