//! The pieces the forms are made of: hidden fields, the rows of a form
//! (text, select, checkbox) with the error next to each field, the lists
//! of netmasks, the file's diagnostics and the allowlist note.

use super::layout::Ctx;
use crate::forms::{self, FieldErrors, Params};
use lvscf_parser::Document;
use maud::{html, Markup};

/// Which command lines the daemons may run: the program fields may name
/// only these (root edits the list; the web tool cannot).
pub fn programs_note(ctx: &Ctx) -> Markup {
    let Some(n) = &ctx.programs else {
        return html! {};
    };
    html! {
        div.programs id="allowed-programs" {
            p { strong { "Programs the daemons may run" } " (root-owned list " code { (n.path) } "; only root can change it):" }
            @match &n.entries {
                Ok(e) if e.is_empty() => p { "none: the list is empty, so any program named here will not run." }
                Ok(e) => ul { @for l in e { li { code { (l) } } } }
                Err(why) => p.alert { (why) }
            }
            p { small { "A command runs only if it is one of these lines word for word (a final * allows any further arguments)." } }
        }
    }
}

/// Submitted values and errors to show again in a form.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// The values the user submitted (shown instead of the file's).
    pub submitted: Option<Params>,
    /// Errors per field and general.
    pub errors: FieldErrors,
}

impl FormState {
    /// The value a field shows: the submitted one, else `current`.
    pub fn value(&self, field: &str, current: String) -> String {
        match &self.submitted {
            Some(p) => forms::param(p, field)
                .map(str::to_string)
                .unwrap_or(current),
            None => current,
        }
    }
    /// The error of a field.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.fields.get(field).map(String::as_str)
    }

    /// The warning of a field (its value loads, but the parser warns).
    pub fn warning(&self, field: &str) -> Option<&str> {
        self.errors.warnings.get(field).map(String::as_str)
    }

    /// Whether a field is marked (an error or a warning): the field gets
    /// `aria-invalid`, `aria-describedby` naming its message, and the
    /// focus (the first marked field of the page).
    pub fn marked(&self, field: &str) -> bool {
        self.error(field).is_some() || self.warning(field).is_some()
    }

    /// The `aria-describedby` of a marked field.
    pub fn described_by(&self, field: &str) -> Option<String> {
        self.marked(field).then(|| format!("err-{field}"))
    }

    /// `aria-invalid` of a marked field.
    pub fn invalid(&self, field: &str) -> Option<&'static str> {
        self.marked(field).then_some("true")
    }
}

/// The CSRF token and the version of the file the form was made from;
/// after warnings, the form's default button (Enter: save again, with the
/// warnings checked again) and SAVE ANYWAY.
pub fn hidden(ctx: &Ctx, version: &str) -> Markup {
    html! {
        @if ctx.warned {
            button type="submit" name="accept_default" value="1" hidden aria-hidden="true" tabindex="-1" { "ACCEPT" }
            p.warned {
                "The values below load, but the daemons would warn (marked fields). "
                button type="submit" name=(crate::warnings::SAVE_ANYWAY) value="1" { "SAVE ANYWAY" }
                " or change them and save again."
            }
        }
        input type="hidden" name="csrf" value=(ctx.csrf);
        input type="hidden" name="version" value=(version);
        @if let Some(l) = &ctx.loaded {
            input type="hidden" name=(crate::conflict::LOADED) value=(l);
        }
    }
}

/// The error or warning next to a field (`id="err-FIELD"`, what the
/// field's `aria-describedby` names).
pub fn err(fs: &FormState, field: &str) -> Markup {
    html! {
        @if let Some(e) = fs.error(field) {
            span.err id=(format!("err-{field}")) { (e) }
        } @else if let Some(w) = fs.warning(field) {
            span.err.warn id=(format!("err-{field}")) { "Warning: " (w) }
        }
    }
}

/// The errors of no field, and a note when fields have errors.
pub fn general_errors(fs: &FormState) -> Markup {
    html! {
        @for e in &fs.errors.general { p.alert role="alert" { (e) } }
        @if !fs.errors.fields.is_empty() {
            p.alert role="alert" { "Nothing was saved: correct the fields marked below." }
        }
        @for w in &fs.errors.general_warnings { p.alert role="alert" { "Warning: " (w) } }
        @if fs.errors.only_warnings() {
            p.alert role="alert" { "Not saved yet: the daemons would warn about these values. SAVE ANYWAY (in the form) saves them as they are." }
        }
    }
}

/// A text field's row.
pub fn text_row(fs: &FormState, label: &str, field: &str, current: String, help: &str) -> Markup {
    let v = fs.value(field, current);
    html! {
        tr {
            td { label for=(field) { (label) ":" } }
            td {
                input type="text" id=(field) name=(field) value=(v) size="30" aria-invalid=[fs.invalid(field)] aria-describedby=[fs.described_by(field)] autofocus[fs.marked(field)];
                @if !help.is_empty() { " " small { (help) } }
                (err(fs, field))
            }
        }
    }
}

/// A select's row; a current value the list does not know (written by
/// hand) is kept and shown as the current one.
pub fn select_row(
    fs: &FormState,
    label: &str,
    field: &str,
    current: String,
    options: &[(String, String)],
) -> Markup {
    let v = fs.value(field, current);
    let known = options.iter().any(|(k, _)| *k == v);
    html! {
        tr {
            td { label for=(field) { (label) ":" } }
            td {
                select id=(field) name=(field) aria-invalid=[fs.invalid(field)] aria-describedby=[fs.described_by(field)] autofocus[fs.marked(field)] {
                    @if !known {
                        option value=(v) selected { (v) " (current)" }
                    }
                    @for (k, l) in options {
                        @if *k == v { option value=(k) selected { (l) } } @else { option value=(k) { (l) } }
                    }
                }
                (err(fs, field))
            }
        }
    }
}

/// A checkbox's row.
pub fn checkbox_row(fs: &FormState, label: &str, field: &str, current: bool) -> Markup {
    let on = match &fs.submitted {
        Some(p) => forms::param(p, field).is_some(),
        None => current,
    };
    html! {
        tr {
            td { label for=(field) { (label) ":" } }
            td {
                input type="checkbox" id=(field) name=(field) value="1" checked[on] aria-invalid=[fs.invalid(field)] aria-describedby=[fs.described_by(field)] autofocus[fs.marked(field)];
                (err(fs, field))
            }
        }
    }
}

/// Piranha's netmask choices, /32 down to /16, with `Unused` first when
/// `unused`.
pub fn masks(unused: bool) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    if unused {
        v.push(("Unused".into(), "Unused".into()));
    }
    for (i, m) in forms::netmask_choices().into_iter().enumerate() {
        v.push((m.clone(), format!("{m} /{}", 32 - i)));
    }
    v
}

/// The persistence mask choices: Piranha's IPv4 netmasks, then prefix
/// lengths for IPv6 virtual servers (`pmask = 64`). The parser refuses a
/// choice of the wrong family, and the error shows next to the field.
pub fn persistence_masks() -> Vec<(String, String)> {
    let mut v = masks(true);
    for p in forms::IPV6_PERSISTENCE_PREFIXES {
        v.push((p.to_string(), format!("/{p} (IPv6)")));
    }
    v
}

/// A netmask as the selects show it: `Unused` when unset.
pub fn mask_current(s: String) -> String {
    if s.is_empty() {
        "Unused".into()
    } else {
        s
    }
}

/// Diagnostics of the file, when it does not load cleanly.
pub fn diagnostics(doc: &Document) -> Markup {
    let items: Vec<_> = doc.diagnostics().iter().collect();
    html! {
        @if !items.is_empty() {
            div.diag {
                @if doc.has_errors() {
                    p.alert { "lvs.cf does not load: the daemons refuse it. Fix these lines (edits are refused until the file loads):" }
                } @else {
                    p { "lvs.cf loads with warnings:" }
                }
                // Focusable: a long line scrolls sideways, and a keyboard
                // user must be able to scroll it too.
                pre tabindex="0" aria-label="lvs.cf diagnostics" { @for d in items { (d.render(doc.name())) "\n" } }
            }
        }
    }
}

/// The configured flag, `active` or `inactive`: what lvs.cf asks for,
/// never coloured as health (the live state is beside it).
pub fn config_word(active: bool) -> Markup {
    html! { @if active { span.cfg { "active" } } @else { span.cfg.off { "inactive" } } }
}

/// A real server's live state: the word, why it is down, for how long.
pub fn live_server_cell(s: Option<&lvs_status::lvsd::Server>) -> Markup {
    let state = s
        .map(crate::live::server_state)
        .unwrap_or(crate::live::LiveState::NotRunning);
    html! {
        span class=(state.class()) { (state.word()) }
        @if let Some(s) = s {
            @if let Some(r) = &s.reason { ": " span.reason { (r) } }
            @if let Some(ms) = s.since_ms { " " small { "for " (crate::live::ago(ms)) } }
        }
    }
}

/// A virtual server's live state: the word and how many real servers are
/// up.
pub fn live_virtual_cell(s: Option<&lvs_status::lvsd::Service>) -> Markup {
    let state = s
        .map(crate::live::virtual_state)
        .unwrap_or(crate::live::VirtualState::NotRunning);
    html! {
        span class=(state.class()) { (state.word()) }
        @if let Some(s) = s {
            @let up = s.servers.iter().filter(|r| crate::live::server_state(r) == crate::live::LiveState::Up).count();
            @let real = s.servers.iter().filter(|r| r.state != lvs_status::lvsd::ServerState::Sorry).count();
            " " small { (up) "/" (real) " up" }
        }
    }
}

/// Why the live columns say "not running": lvsd did not answer.
pub fn live_note(ctx: &Ctx) -> Markup {
    html! {
        @if let Some(Err(e)) = &ctx.live {
            p.note { "lvsd is not running on this router (" (e) "), so no live state is shown: a backup router runs no lvsd." }
        }
    }
}
