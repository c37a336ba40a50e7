//! The frame of every page (banner, tabs, messages, the "saved" banner
//! with APPLY and COPY TO BACKUP), what a page needs to know about its
//! viewer ([`Ctx`]), and the message page.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The embedded stylesheet.
pub const STYLE: &str = include_str!("../../assets/style.css");

/// Which top tab is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// CONTROL/MONITORING.
    Control,
    /// GLOBAL SETTINGS.
    Global,
    /// REDUNDANCY.
    Redundancy,
    /// VIRTUAL SERVERS.
    Virtual,
    /// HISTORY.
    History,
    /// No tab (login, help).
    None,
}

/// What every page of a logged-in user needs.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// CSRF token for forms.
    pub csrf: String,
    /// Messages shown on top (already plain text).
    pub notices: Vec<String>,
    /// Error messages shown on top.
    pub alerts: Vec<String>,
    /// Show the "saved: apply / copy to backup" banner with this serial.
    pub saved_serial: Option<u64>,
    /// Whether the user is logged in (shows the tabs).
    pub logged_in: bool,
    /// Meta refresh (seconds, url).
    pub refresh: Option<(u32, String)>,
    /// What the daemons' exec policy allows, for pages with program fields.
    pub programs: Option<ProgramsNote>,
    /// lvsd's status, for the pages that show the live state beside the
    /// configuration (`None`: not asked, and those columns are left out).
    pub live: Option<Result<lvs_status::LvsdStatus, String>>,
    /// How the page's list is searched and paged.
    pub view: crate::view::ListView,
    /// What the page's form loaded ([`crate::conflict::loaded`]), sent
    /// back with it so that a save merges with other changes.
    pub loaded: Option<String>,
    /// The page's form comes back with warnings: it offers SAVE ANYWAY.
    pub warned: bool,
}

impl Ctx {
    /// lvsd's status indexed by name, when the page asked for it.
    pub fn live_index(&self) -> Option<crate::live::LiveIndex<'_>> {
        self.live
            .as_ref()
            .map(|l| crate::live::LiveIndex::new(l.as_ref().ok()))
    }
}

/// The page frame.
pub fn layout(title: &str, tab: Tab, ctx: &Ctx, body: Markup) -> Markup {
    let tabs = [
        (Tab::Control, "/control", "CONTROL/MONITORING"),
        (Tab::Global, "/global", "GLOBAL SETTINGS"),
        (Tab::Redundancy, "/redundancy", "REDUNDANCY"),
        (Tab::Virtual, "/virtual", "VIRTUAL SERVERS"),
        (Tab::History, "/history", "HISTORY"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some((secs, url)) = &ctx.refresh {
                    meta http-equiv="refresh" content=(format!("{secs};url={url}"));
                }
                title { "Piranha (" (title) ")" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.banner {
                    span.brand { span.logo { "PIRANHA" } " CONFIGURATION TOOL" }
                    @if ctx.logged_in {
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(ctx.csrf);
                            a href="/passwd" { "CHANGE PASSWORD" } " "
                            button type="submit" { "LOGOUT" }
                        }
                    }
                }
                @if ctx.logged_in {
                    nav.tabs aria-label="panels" {
                        @for (t, href, label) in tabs {
                            @if t == tab {
                                a.current href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                            " "
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @for a in &ctx.alerts { p.alert role="alert" { (a) } }
                    @for n in &ctx.notices { p.notice { (n) } }
                    @if let Some(serial) = ctx.saved_serial {
                        div.saved {
                            p { "Changes saved to lvs.cf (serial_no " (serial) "). They take effect when pulse reloads the file, and the backup router needs the same file." }
                            (action_buttons(ctx))
                        }
                    }
                    (body)
                }
            }
        }
    }
}

/// APPLY and COPY TO BACKUP buttons.
pub fn action_buttons(ctx: &Ctx) -> Markup {
    html! {
        form.inline method="post" action="/apply" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" name="apply" value="1" { "APPLY (reload pulse)" }
        }
        " "
        form.inline method="post" action="/sync" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" name="sync" value="1" { "COPY lvs.cf TO BACKUP" }
        }
    }
}

/// A page with a message and a preformatted output.
pub fn message(ctx: &Ctx, title: &str, text: &str, output: &str) -> Markup {
    layout(
        title,
        Tab::Control,
        ctx,
        html! {
            p { (text) }
            @if !output.is_empty() { pre tabindex="0" aria-label="output" { (output) } }
            p { a href="/control" { "Back to CONTROL/MONITORING" } }
        },
    )
}

/// Renders markup to a string.
pub fn render(m: Markup) -> String {
    let PreEscaped(s) = m;
    s
}

/// The allowlist as the program fields' pages show it.
#[derive(Debug, Clone)]
pub struct ProgramsNote {
    /// The allowlist file.
    pub path: String,
    /// Its command lines, or why the daemons use none.
    pub entries: Result<Vec<String>, exec_policy::ListError>,
}

impl ProgramsNote {
    /// The note for `policy`.
    pub fn of(policy: &exec_policy::Policy, path: &std::path::Path) -> ProgramsNote {
        ProgramsNote {
            path: path.display().to_string(),
            entries: match policy.allowlist() {
                Ok(l) => Ok(l.entries().iter().map(|e| e.to_string()).collect()),
                Err(e) => Err(e.clone()),
            },
        }
    }
}
