//! CFG-P03: the web tool and the daemons accept exactly the same files.
//! Every file of the lvs.cf corpus is read the web tool's way (its store)
//! and the daemons' way (`lvscf_store::load_file`, which pulse uses; lvsd
//! parses the same bytes with the same parser): both load it or both
//! refuse it, with the same configuration. The files Piranha 0.8.6 ran
//! that the parser once refused (I15) are named: they must load in both.

use piranha_web::store::Store;
use std::path::{Path, PathBuf};

fn corpus(sub: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus/lvs_cf")
        .join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files
}

#[test]
fn the_web_tool_and_the_daemons_load_the_same_corpus_files() {
    let mut mismatches = Vec::new();
    let mut loaded = Vec::new();
    for path in corpus("good").into_iter().chain(corpus("bad")) {
        let web = match Store::new(&path).read() {
            Ok(s) => s,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let daemons = lvscf_store::load_file(&path);
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        match (&daemons, web.doc.has_errors()) {
            (Ok(l), false) => {
                if &l.config != web.doc.config() {
                    mismatches.push(format!("{name}: the configurations differ"));
                }
                loaded.push(name);
            }
            (Err(_), true) => {}
            (Ok(_), true) => mismatches.push(format!(
                "{name}: the daemons load it, the web tool does not"
            )),
            (Err(e), false) => mismatches.push(format!(
                "{name}: the web tool loads it, the daemons do not: {e}"
            )),
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    for piranha_ran in [
        "number-spellings.cf",
        "address-spellings.cf",
        "duplicate-services.cf",
        "duplicate-real-servers.cf",
        "kernel-refuses.cf",
        "noncontiguous-netmasks.cf",
        "backup-private-alone.cf",
    ] {
        assert!(
            loaded.iter().any(|n| n == piranha_ran),
            "{piranha_ran} must load: {loaded:?}"
        );
    }
}
