//! Warnings before saving (pure): an edit that loads but makes the parser
//! warn (deadtime not above keepalive, a timeout of 0...) is not saved at
//! once; the form comes back with each warning on its field and a SAVE
//! ANYWAY button, which sends the same form with [`SAVE_ANYWAY`].

use crate::forms::{param, FieldErrors, Params};
use lvscf_parser::Document;
use std::collections::BTreeMap;

/// The field of the SAVE ANYWAY button.
pub const SAVE_ANYWAY: &str = "save_anyway";

/// How many warnings of each kind (code, keyword) a file has.
type Counts = BTreeMap<(String, String), usize>;

fn counts(doc: &Document) -> Counts {
    let mut c = Counts::new();
    for d in doc.diagnostics().iter().filter(|d| !d.is_error()) {
        let k = (
            d.code.as_str().to_string(),
            d.keyword.clone().unwrap_or_default(),
        );
        *c.entry(k).or_default() += 1;
    }
    c
}

/// The form field that shows a keyword, where it is not the keyword's own
/// name (Piranha's field names).
const FIELDS: &[(&str, &[&str])] = &[
    ("primary", &["PriLVSIP"]),
    ("nat_router", &["NATRtrIP"]),
    ("backup", &["redundant"]),
    ("backup_private", &["redundant_private"]),
    ("keepalive", &["hb_interval"]),
    ("deadtime", &["dead_after", "hb_interval"]),
    ("heartbeat_port", &["hb_port"]),
    ("scheduler", &["sched"]),
    ("load_monitor", &["load"]),
];

/// The submitted field a warning about `key` belongs on.
fn field_for(key: &str, p: &Params) -> Option<String> {
    let named = FIELDS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, f)| *f)
        .unwrap_or(&[]);
    named
        .iter()
        .copied()
        .chain(std::iter::once(key))
        .find(|f| param(p, f).is_some())
        .map(str::to_string)
}

/// The warnings `after` has that `before` had not, on the fields of the
/// form `p` (or general ones), as refused "errors" that only warn.
fn new_warnings(before: &Counts, after: &Document, p: &Params) -> FieldErrors {
    let mut seen = Counts::new();
    let mut out = FieldErrors::default();
    for d in after.diagnostics().iter().filter(|d| !d.is_error()) {
        let k = (
            d.code.as_str().to_string(),
            d.keyword.clone().unwrap_or_default(),
        );
        let n = seen.entry(k.clone()).or_default();
        *n += 1;
        if *n <= before.get(&k).copied().unwrap_or(0) {
            continue;
        }
        let msg = match &d.hint {
            Some(h) => format!("{} ({h})", d.message),
            None => d.message.clone(),
        };
        match d.keyword.as_deref().and_then(|k| field_for(k, p)) {
            Some(f) => {
                out.warnings.entry(f).or_insert(msg);
            }
            None => out.general_warnings.push(match &d.keyword {
                Some(k) => format!("{k}: {msg}"),
                None => msg,
            }),
        }
    }
    out
}

/// `edit`, refused with its new warnings unless the form says SAVE
/// ANYWAY.
pub fn checked<F>(
    p: &Params,
    edit: F,
) -> impl FnOnce(&mut Document) -> Result<String, FieldErrors> + Send + 'static
where
    F: FnOnce(&mut Document) -> Result<String, FieldErrors> + Send + 'static,
{
    let anyway = param(p, SAVE_ANYWAY).is_some();
    let p = p.clone();
    move |d: &mut Document| {
        let before = counts(d);
        let url = edit(d)?;
        if anyway {
            return Ok(url);
        }
        let w = new_warnings(&before, d, &p);
        if w.only_warnings() {
            Err(w)
        } else {
            Ok(url)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::apply_redundancy;

    const CF: &str = "serial_no = 1\nprimary = 10.0.0.1\nbackup_active = 1\nbackup = 10.0.0.2\nheartbeat = 1\nkeepalive = 6\ndeadtime = 18\n";

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(form: Params) -> Result<String, FieldErrors> {
        let mut d = Document::parse("lvs.cf", CF);
        let f = form.clone();
        checked(&form, move |d| {
            apply_redundancy(d, &f).map(|_| "/redundancy".into())
        })(&mut d)
    }

    #[test]
    fn a_new_warning_stops_the_save_on_its_field_unless_saved_anyway() {
        let form = p(&[
            ("redundancy_action", "ACCEPT"),
            ("hb_interval", "6"),
            ("dead_after", "5"),
        ]);
        let e = run(form.clone()).expect_err("warned");
        assert!(e.only_warnings(), "{e:?}");
        let w = e.warnings.get("dead_after").expect("on the field");
        assert!(
            w.contains("deadtime (5 s) is not above keepalive (6 s)"),
            "{w}"
        );
        assert!(!w.contains("line"), "fields, not lines: {w}");
        let mut anyway = form;
        anyway.push((SAVE_ANYWAY.into(), "1".into()));
        assert_eq!(run(anyway).expect("saved anyway"), "/redundancy");
        // No new warning: saved at once.
        assert!(run(p(&[("redundancy_action", "ACCEPT"), ("dead_after", "30")])).is_ok());
    }
}
