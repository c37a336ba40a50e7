//! What a request to an editing panel asks of lvs.cf (pure: no I/O and no
//! HTTP type). A [`Panel`] is what a URL names; [`Panel::exists`] says
//! whether the current document has it; [`Panel::decide`] turns its form
//! (and the daemons' exec policy, for program fields) into an [`Outcome`]:
//! go to another page (EDIT buttons), or save an edit and go where the
//! edit says. The edit itself runs later, on the file as it is under the
//! save lock. The three lists of blocks share one set of buttons
//! ([`List`], [`ListButton`]); the JSON API's edits are [`api_edit`].

use crate::edits;
use crate::forms::{param, Editor, FieldErrors, Params};
use crate::urls::{failover_url, server_url, virtual_url};
use crate::view::ListView;
use lvscf_parser::keypath::KeyPath;
use lvscf_parser::{Document, Target};

#[cfg(test)]
mod tests;

/// One of the editing panels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Panel {
    /// GLOBAL SETTINGS.
    Global,
    /// REDUNDANCY.
    Redundancy,
    /// VIRTUAL SERVERS, the list.
    VirtualList,
    /// VIRTUAL SERVER of one.
    VirtualEdit(String),
    /// REAL SERVER, the list of one virtual server's.
    RealList(String),
    /// One real server (virtual, server).
    RealEdit(String, String),
    /// MONITORING SCRIPTS of a virtual server.
    Scripts(String),
    /// The failover services, the list.
    FailoverList,
    /// One failover service.
    FailoverEdit(String),
    /// MONITORING SCRIPTS of a failover service.
    FailoverScripts(String),
}

impl Panel {
    /// Whether the blocks the panel shows are in `doc`.
    pub fn exists(&self, doc: &Document) -> bool {
        match self {
            Panel::VirtualEdit(v) | Panel::RealList(v) | Panel::Scripts(v) => {
                doc.config().virtual_named(v).is_some()
            }
            Panel::RealEdit(v, s) => doc
                .config()
                .virtual_named(v)
                .map(|x| x.servers.iter().any(|r| r.name == *s))
                .unwrap_or(false),
            Panel::FailoverEdit(f) | Panel::FailoverScripts(f) => {
                doc.config().failovers.iter().any(|x| x.name == *f)
            }
            _ => true,
        }
    }

    /// Where to go when the block a panel shows has gone.
    pub fn fallback(&self) -> Panel {
        match self {
            Panel::FailoverEdit(_) | Panel::FailoverScripts(_) => Panel::FailoverList,
            _ => Panel::VirtualList,
        }
    }

    /// Whether the panel has program fields, so that its page lists the
    /// programs the daemons may run.
    pub fn names_programs(&self) -> bool {
        matches!(
            self,
            Panel::Global | Panel::Scripts(_) | Panel::FailoverScripts(_)
        )
    }

    /// The list the panel shows, for the list panels.
    pub fn list(&self) -> Option<List> {
        match self {
            Panel::VirtualList => Some(List::Virtuals),
            Panel::RealList(v) => Some(List::Servers(v.clone())),
            Panel::FailoverList => Some(List::Failovers),
            _ => None,
        }
    }

    /// What a POST of this panel's form asks for; `policy` judges the
    /// programs it names.
    pub fn decide(&self, p: &Params, policy: &exec_policy::Policy) -> Result<Outcome, FieldErrors> {
        if let Some(list) = self.list() {
            return list.decide(p);
        }
        let form = p.clone();
        let policy = policy.clone();
        let outcome = match self.clone() {
            Panel::Global => {
                save(move |d| edits::apply_global(d, &form, &policy).map(|_| "/global".to_string()))
            }
            Panel::Redundancy => {
                save(move |d| edits::apply_redundancy(d, &form).map(|_| "/redundancy".to_string()))
            }
            Panel::VirtualEdit(v) => save(move |d| {
                edits::apply_virtual_edit(d, &v, &form, &policy).map(|n| virtual_url(&n, "edit"))
            }),
            Panel::RealEdit(v, s) => save(move |d| {
                edits::apply_server_edit(d, &v, &s, &form).map(|n| server_url(&v, &n))
            }),
            Panel::Scripts(v) => save(move |d| {
                edits::apply_scripts(d, &v, &form, &policy).map(|_| virtual_url(&v, "scripts"))
            }),
            Panel::FailoverEdit(f) => save(move |d| {
                edits::apply_failover_edit(d, &f, &form).map(|n| failover_url(&n, "edit"))
            }),
            Panel::FailoverScripts(f) => save(move |d| {
                edits::apply_service_scripts(d, &Target::Failover(f.clone()), &form, &policy)
                    .map(|_| failover_url(&f, "scripts"))
            }),
            Panel::VirtualList | Panel::RealList(_) | Panel::FailoverList => {
                Err(FieldErrors::general("unknown action"))
            }
        }?;
        // ENABLE, DISABLE and RESET of REDUNDANCY are steps of their own
        // (ENABLE comes before the backup's address is typed): only forms
        // of values wait on their warnings.
        let steps = *self == Panel::Redundancy
            && param(p, "redundancy_action").is_some_and(|a| a != "ACCEPT");
        Ok(match outcome {
            Outcome::Save(edit) if !steps => {
                Outcome::Save(Box::new(crate::warnings::checked(p, edit)))
            }
            other => other,
        })
    }
}

/// An edit of a panel; returns the URL to go to after saving.
pub type PanelEdit = Box<dyn FnOnce(&mut Document) -> Result<String, FieldErrors> + Send>;

/// What a panel's POST asks for (its CSRF token already checked).
pub enum Outcome {
    /// Go there without saving (EDIT buttons).
    Redirect(String),
    /// Save with this edit, then go to the URL the edit returns.
    Save(PanelEdit),
    /// Nothing at all (Enter in a list: its hidden default button).
    Nothing,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Redirect(url) => f.debug_tuple("Redirect").field(url).finish(),
            Outcome::Save(_) => f.write_str("Save(..)"),
            Outcome::Nothing => f.write_str("Nothing"),
        }
    }
}

fn save<F>(f: F) -> Result<Outcome, FieldErrors>
where
    F: FnOnce(&mut Document) -> Result<String, FieldErrors> + Send + 'static,
{
    Ok(Outcome::Save(Box::new(f)))
}

/// The buttons under every list of blocks, as Piranha had them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListButton {
    /// ADD a block (with the optional name typed beside the list).
    Add,
    /// DELETE the selected block.
    Delete,
    /// EDIT the selected block (go to its page).
    Edit,
    /// (DE)ACTIVATE: toggle the selected block's `active`.
    Toggle,
}

impl ListButton {
    /// The buttons, in the order the pages show them.
    pub const ALL: [ListButton; 4] = [
        ListButton::Add,
        ListButton::Delete,
        ListButton::Edit,
        ListButton::Toggle,
    ];

    /// The button's label, which is also the value it submits.
    pub fn label(self) -> &'static str {
        match self {
            ListButton::Add => "ADD",
            ListButton::Delete => "DELETE",
            ListButton::Edit => "EDIT",
            ListButton::Toggle => "(DE)ACTIVATE",
        }
    }

    /// The button a submitted value names.
    pub fn parse(value: &str) -> Option<ListButton> {
        ListButton::ALL.into_iter().find(|b| b.label() == value)
    }
}

/// Name of the form field of a list's selected row (the radio buttons).
pub const SELECTED: &str = "selected";
/// Name of the form field of the name typed for ADD.
pub const ADD_NAME: &str = "name";
/// The field of a list's hidden default button (what Enter presses).
pub const ENTER: &str = "enter";

/// One of the lists of blocks with [`ListButton`]s under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum List {
    /// The virtual servers (VIRTUAL SERVERS).
    Virtuals,
    /// The real servers of one virtual server (REAL SERVER).
    Servers(String),
    /// The failover services.
    Failovers,
}

impl List {
    /// The form field that names the button pressed (Piranha's names).
    pub fn button_field(&self) -> &'static str {
        match self {
            List::Virtuals => "virtual_service",
            List::Servers(_) => "real_service",
            List::Failovers => "failover_service",
        }
    }

    /// What the list holds, for messages.
    pub fn noun(&self) -> &'static str {
        match self {
            List::Virtuals => "virtual server",
            List::Servers(_) => "real server",
            List::Failovers => "failover service",
        }
    }

    /// The list's own URL: where its form posts and a change returns.
    pub fn url(&self) -> String {
        match self {
            List::Virtuals => "/virtual".to_string(),
            List::Servers(v) => virtual_url(v, "real"),
            List::Failovers => "/failover".to_string(),
        }
    }

    /// The block a row's name stands for.
    pub fn target(&self, name: String) -> Target {
        match self {
            List::Virtuals => Target::Virtual(name),
            List::Servers(v) => Target::Server {
                virtual_name: v.clone(),
                server: name,
            },
            List::Failovers => Target::Failover(name),
        }
    }

    /// The edit page of a row.
    pub fn edit_url(&self, name: &str) -> String {
        match self {
            List::Virtuals => virtual_url(name, "edit"),
            List::Servers(v) => server_url(v, name),
            List::Failovers => failover_url(name, "edit"),
        }
    }

    /// What a press of one of the list's buttons asks for.
    pub fn decide(&self, p: &Params) -> Result<Outcome, FieldErrors> {
        // Back to the page the button was pressed on, at the row acted on.
        let view = ListView::from_form(p);
        let base = self.url();
        let back = view.return_url(&base, param(p, SELECTED).filter(|s| !s.is_empty()));
        let button = param(p, self.button_field()).and_then(ListButton::parse);
        match button {
            Some(ListButton::Add) => {
                let name = param(p, ADD_NAME).map(str::to_string);
                let list = self.clone();
                save(move |d| {
                    let added = match &list {
                        List::Virtuals => edits::add_virtual(d, name.as_deref()),
                        List::Servers(v) => edits::add_server(d, v, name.as_deref()),
                        List::Failovers => edits::add_failover(d, name.as_deref()),
                    };
                    added.map(|n| view.return_url(&base, Some(&n)))
                })
            }
            Some(ListButton::Delete) => {
                let t = self.target(selected(p, self.noun())?);
                save(move |d| edits::delete(d, &t).map(|_| back))
            }
            Some(ListButton::Toggle) => {
                let t = self.target(selected(p, self.noun())?);
                save(move |d| edits::toggle_active(d, &t).map(|_| back))
            }
            Some(ListButton::Edit) => {
                Ok(Outcome::Redirect(self.edit_url(&selected(p, self.noun())?)))
            }
            None if param(p, ENTER).is_some() => Ok(Outcome::Nothing),
            None => Err(FieldErrors::general("unknown action")),
        }
    }
}

/// The selected row's name, or an error on the radio buttons.
fn selected(p: &Params, what: &str) -> Result<String, FieldErrors> {
    match param(p, SELECTED) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(FieldErrors {
            fields: [(SELECTED.to_string(), format!("select a {what} first"))].into(),
            ..FieldErrors::default()
        }),
    }
}

/// A JSON API edit (`/api/v1/set`, `/api/v1/unset`) of `doc`: `key` is a
/// key path (`KEY`, `virtual.NAME[.KEY]`, `virtual.NAME.server.NAME[.KEY]`,
/// `failover.NAME[.KEY]`). A path with a keyword sets it to `value` or,
/// with `unset`, removes it; a path naming a block adds the block (empty)
/// or, with `unset`, removes it. `serial_no` is the tool's own. Programs
/// are judged by `policy` as the daemons will judge them.
pub fn api_edit(
    doc: &mut Document,
    key: &str,
    value: &str,
    unset: bool,
    policy: &exec_policy::Policy,
) -> Result<bool, FieldErrors> {
    let path = KeyPath::parse(key, doc).map_err(|e| FieldErrors::general(e.to_string()))?;
    if path.key.as_deref() == Some("serial_no") {
        return Err(FieldErrors::general("serial_no is managed by the tool"));
    }
    let mut ed = Editor::checking(doc, policy);
    match (&path.key, unset) {
        (Some(k), false) => ed.set("value", &path.target, k, value),
        (Some(k), true) => ed.unset("value", &path.target, k),
        (None, true) => {
            if let Err(e) = ed.doc.remove(&path.target) {
                ed.errors.general.push(e.to_string());
            }
            ed.changed = true;
        }
        (None, false) => {
            let r = match &path.target {
                Target::Virtual(n) => ed.doc.add_virtual(n),
                Target::Failover(n) => ed.doc.add_failover(n),
                Target::Server {
                    virtual_name,
                    server,
                } => ed.doc.add_server(virtual_name, server),
                Target::Global => Ok(()),
            };
            if let Err(e) = r {
                ed.errors.general.push(e.to_string());
            }
            ed.changed = true;
        }
    }
    ed.finish()
}
