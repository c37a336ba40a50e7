//! The checked-in corpus under `tests/corpus/lvs_cf/`.
//!
//! Every `good/*.cf` must load, round-trip byte for byte, and produce
//! exactly the diagnostics in its `.expect` file and the configuration in its
//! `.json` file. Every `bad/*.cf` must fail with exactly the diagnostics in
//! its `.expect` file: `SEVERITY LINE:COLUMN CODE | MESSAGE` per line, so a
//! change in any position, code or wording is a visible diff.
//!
//! `UPDATE_EXPECT=1 cargo test -p lvscf-parser --test corpus` rewrites the
//! expectation files; review the diff before committing it.

use lvscf_parser::Document;
use std::fs;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/lvs_cf")
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir().join(sub))
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {sub}");
    files
}

fn describe(doc: &Document) -> String {
    doc.diagnostics()
        .iter()
        .map(|d| {
            format!(
                "{} {}:{} {} | {}\n",
                d.severity,
                d.line,
                d.column,
                d.code.as_str(),
                d.message
            )
        })
        .collect()
}

fn check_golden(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(path, actual).expect("write expectation");
        return;
    }
    let expected = fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{}:\n--- expected\n{expected}--- actual\n{actual}",
            path.display()
        ));
    }
}

#[test]
fn good_files_load_round_trip_and_match_their_goldens() {
    let mut failures = Vec::new();
    for path in files("good") {
        let bytes = fs::read(&path).expect("read");
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let doc = Document::parse(name.clone(), bytes.clone());
        assert_eq!(doc.as_bytes(), &bytes[..], "{name} does not round-trip");
        if doc.has_errors() {
            failures.push(format!("{name} does not load:\n{}", describe(&doc)));
            continue;
        }
        check_golden(
            &path.with_extension("expect"),
            &describe(&doc),
            &mut failures,
        );
        let json = serde_json::to_string_pretty(doc.config()).expect("json") + "\n";
        check_golden(&path.with_extension("json"), &json, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_files_fail_with_exactly_their_expected_diagnostics() {
    let mut failures = Vec::new();
    for path in files("bad") {
        let bytes = fs::read(&path).expect("read");
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let doc = Document::parse(name.clone(), bytes.clone());
        assert_eq!(doc.as_bytes(), &bytes[..], "{name} does not round-trip");
        if !doc.has_errors() {
            failures.push(format!("{name} loads but should not:\n{}", describe(&doc)));
            continue;
        }
        for d in doc.diagnostics() {
            assert!(d.line >= 1 && d.column >= 1, "{name}: unlocated {d:?}");
            let rendered = d.render(&name);
            assert!(rendered.starts_with(&format!("{name}:{}:{}: ", d.line, d.column)));
        }
        check_golden(
            &path.with_extension("expect"),
            &describe(&doc),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
