//! The list-and-buttons widget of the VIRTUAL SERVERS, REAL SERVER and
//! failover lists: a table of blocks with a radio button on each row (the
//! selected row), the columns the page chooses, the name field for ADD and
//! the list's buttons. The form field names and button values are the
//! ones [`List::decide`] reads, so a page can only offer what the POST
//! understands.

use super::layout::Ctx;
use super::widgets::{err, hidden, FormState};
use crate::panel::{List, ListButton, ADD_NAME, ENTER, SELECTED};
use crate::view::{row_anchor, ListView, Paged};
use maud::{html, Markup};

/// One column of a list: its heading and how a row's cell is drawn.
pub struct Column<'a, T> {
    /// The heading (Piranha's, in capitals).
    pub heading: &'static str,
    /// The cell of a row.
    pub cell: Box<dyn Fn(&T) -> Markup + 'a>,
}

impl<'a, T> Column<'a, T> {
    /// A column.
    pub fn new(heading: &'static str, cell: impl Fn(&T) -> Markup + 'a) -> Column<'a, T> {
        Column {
            heading,
            cell: Box::new(cell),
        }
    }
}

/// What a row says for the search or the filter.
pub type RowFn<'a, T, R> = Box<dyn Fn(&T) -> R + 'a>;

/// A list of blocks as one form.
pub struct ListForm<'a, T> {
    /// Which list: where the form posts, the field of its buttons.
    pub list: &'a List,
    /// The blocks, one row each, in file order.
    pub rows: &'a [T],
    /// The name a row's radio button submits as the selected block.
    pub key: fn(&T) -> &str,
    /// The columns after the radio button.
    pub columns: Vec<Column<'a, T>>,
    /// The buttons under the list, in order.
    pub buttons: &'a [ListButton],
    /// The text the search looks in (by default the name).
    pub text: Option<RowFn<'a, T, String>>,
    /// Whether a row's live state is a problem (offers "only problems").
    pub problem: Option<RowFn<'a, T, bool>>,
}

impl<'a, T> ListForm<'a, T> {
    /// The form of `list`, without columns yet, with Piranha's four
    /// buttons.
    pub fn new(list: &'a List, rows: &'a [T], key: fn(&T) -> &str) -> ListForm<'a, T> {
        ListForm {
            list,
            rows,
            key,
            columns: Vec::new(),
            buttons: &ListButton::ALL,
            text: None,
            problem: None,
        }
    }

    /// Adds a column.
    pub fn column(mut self, heading: &'static str, cell: impl Fn(&T) -> Markup + 'a) -> Self {
        self.columns.push(Column::new(heading, cell));
        self
    }

    /// What the search looks in.
    pub fn search(mut self, text: impl Fn(&T) -> String + 'a) -> Self {
        self.text = Some(Box::new(text));
        self
    }

    /// Which rows "only problems" keeps.
    pub fn problems(mut self, problem: impl Fn(&T) -> bool + 'a) -> Self {
        self.problem = Some(Box::new(problem));
        self
    }

    /// The indices of the rows the view keeps, in file order.
    fn kept(&self, view: &ListView) -> Vec<usize> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let text = match &self.text {
                    Some(t) => t(r),
                    None => (self.key)(r).to_string(),
                };
                view.matches(&text)
                    && (!view.problems || self.problem.as_ref().is_none_or(|p| p(r)))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// The search form of a list or the dashboard: the text, "only problems"
/// when offered, and a link back to the whole list.
pub fn search_form(base: &str, view: &ListView, problems: bool, noun: &str) -> Markup {
    html! {
        form.search method="get" action=(base) role="search" {
            label for="q" { "Search " (noun) "s: " }
            input type="search" id="q" name="q" value=(view.q) size="24";
            @if problems {
                " "
                @if view.problems { input type="checkbox" id="problems" name="problems" value="1" checked; }
                @else { input type="checkbox" id="problems" name="problems" value="1"; }
                label for="problems" { " only problems" }
            }
            " "
            button type="submit" { "SEARCH" }
            @if view.filtered() { " " a href=(base) { "show all" } }
        }
    }
}

/// "Showing 51-100 of 2000" and the links to the other pages.
pub fn pager(base: &str, view: &ListView, p: &Paged, noun: &str) -> Markup {
    let which = if view.filtered() { " matching" } else { "" };
    html! {
        nav.pager aria-label=(format!("pages of {noun}s")) {
            @if p.count == 0 {
                "No" (which) " " (noun) "s."
            } @else {
                "Showing " (p.start + 1) "-" (p.end) " of " (p.count) (which) " " (noun) "s"
            }
            @if p.pages > 1 {
                " | "
                @if p.page > 1 {
                    a href=(view.page_url(base, 1)) { "first" } " "
                    a href=(view.page_url(base, p.page - 1)) rel="prev" { "previous" }
                } @else { "first previous" }
                " | page " (p.page) " of " (p.pages) " | "
                @if p.page < p.pages {
                    a href=(view.page_url(base, p.page + 1)) rel="next" { "next" } " "
                    a href=(view.page_url(base, p.pages)) { "last" }
                } @else { "next last" }
            }
        }
    }
}

/// The form: the search, the page of rows, the errors of the selection and
/// of the name, the name for ADD and the buttons. The form remembers the
/// view it was shown in, so an action comes back to it.
pub fn render<T>(ctx: &Ctx, hash: &str, fs: &FormState, form: &ListForm<'_, T>) -> Markup {
    let field = form.list.button_field();
    let view = &ctx.view;
    let base = form.list.url();
    let noun = form.list.noun();
    let kept = form.kept(view);
    let at = view
        .at
        .as_deref()
        .and_then(|name| kept.iter().position(|&i| (form.key)(&form.rows[i]) == name));
    let paged = view.page_of(kept.len(), at);
    html! {
        (search_form(&base, view, form.problem.is_some(), noun))
        (pager(&base, view, &paged, noun))
        form method="post" action=(base) {
            (enter_does_nothing())
            (hidden(ctx, hash))
            input type="hidden" name="list_q" value=(view.q);
            input type="hidden" name="list_problems" value=(if view.problems { "1" } else { "" });
            input type="hidden" name="list_page" value=(paged.page);
            div.scroll role="region" aria-label=(format!("{noun}s")) tabindex="0" {
            table.list {
                tr { th scope="col" { span.vh { "select" } } @for c in &form.columns { th scope="col" { (c.heading) } } }
                @for &i in &kept[paged.start..paged.end] {
                    @let row = &form.rows[i];
                    @let name = (form.key)(row);
                    tr id=(row_anchor(name)) {
                        td {
                            input type="radio" id=(format!("sel-{i}")) name=(SELECTED) value=(name);
                            label.vh for=(format!("sel-{i}")) { "select " (noun) " " (name) }
                        }
                        @for c in &form.columns { td { ((c.cell)(row)) } }
                    }
                }
            }
            }
            (err(fs, SELECTED))
            p {
                label for=(ADD_NAME) { "Name for ADD (optional): " }
                input type="text" id=(ADD_NAME) name=(ADD_NAME) value=(fs.value(ADD_NAME, String::new())) size="20";
                (err(fs, ADD_NAME))
            }
            @for (i, b) in form.buttons.iter().enumerate() {
                @if i > 0 { " " }
                button type="submit" name=(field) value=(b.label()) { (b.label()) }
            }
        }
    }
}

/// The form's default button, first in the form and hidden: Enter in the
/// name field or on a selected row presses it, and it asks for nothing
/// (the answer is 204, so the browser stays on the page with what was
/// typed). Enter used to press ADD, the first visible button. (A disabled
/// default button would do, by the HTML standard, but Chromium then
/// picks the next enabled one.)
pub fn enter_does_nothing() -> Markup {
    html! {
        button type="submit" name=(ENTER) value="1" hidden aria-hidden="true" tabindex="-1" { "(Enter does nothing here)" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render as to_string;

    #[test]
    fn rows_columns_radio_and_buttons() {
        let list = List::Servers("a b".into());
        let rows = ["r1".to_string(), "<x>".to_string()];
        let form =
            ListForm::new(&list, &rows, |r| r.as_str()).column("LEN", |r| html! { (r.len()) });
        let fs = FormState::default();
        let ctx = Ctx::default();
        let html = to_string(render(&ctx, "H", &fs, &form));
        assert!(html.contains(r#"action="/virtual/a%20b/real""#), "{html}");
        assert!(html.contains(r#"<th scope="col">LEN</th>"#), "{html}");
        assert!(html.contains(r#"<label class="vh" for="sel-1">"#), "{html}");
        assert!(
            html.contains(r#"id="sel-1" name="selected" value="&lt;x&gt;""#),
            "{html}"
        );
        assert!(html.contains("<td>3</td>"), "{html}");
        // The default button of the list's own form (the search above it
        // is a form of its own).
        let post = html.find(r#"<form method="post""#).expect("the list form");
        let default = post + html[post..].find("<button").expect("a button");
        assert!(
            html[default..].starts_with(r#"<button type="submit" name="enter" value="1" hidden"#),
            "the default button must do nothing: {html}"
        );
        for b in ListButton::ALL {
            let want = format!(r#"name="real_service" value="{0}">{0}</button>"#, b.label());
            assert!(html.contains(&want), "{want}: {html}");
        }
        let fewer = ListForm {
            buttons: &[ListButton::Edit],
            ..form
        };
        let html = to_string(render(&ctx, "H", &fs, &fewer));
        assert!(!html.contains("DELETE"), "{html}");
    }

    #[test]
    fn search_paging_and_the_way_back() {
        let list = List::Virtuals;
        let rows: Vec<String> = (0..120).map(|i| format!("v{i}")).collect();
        let form = ListForm::new(&list, &rows, |r| r.as_str())
            .column("N", |r| html! { (r) })
            .problems(|r| r.ends_with('7'));
        let fs = FormState::default();
        let page = |view: ListView| {
            let ctx = Ctx {
                view,
                ..Ctx::default()
            };
            to_string(render(&ctx, "H", &fs, &form))
        };
        let first = page(ListView::default());
        assert!(first.contains(r#"value="v49""#) && !first.contains(r#"value="v50""#));
        assert!(
            first.contains("Showing 1-50 of 120 virtual servers"),
            "{first}"
        );
        assert!(
            first.contains(r#"href="/virtual?page=2" rel="next""#),
            "{first}"
        );
        // The row asked for decides the page, and the form remembers it.
        let at = page(ListView {
            at: Some("v101".into()),
            ..ListView::default()
        });
        assert!(at.contains(r#"<tr id="row-v101">"#), "{at}");
        assert!(at.contains(r#"name="list_page" value="3""#), "{at}");
        let found = page(ListView {
            q: "V11".into(),
            ..ListView::default()
        });
        // v11 and v110..v119.
        assert!(found.contains("Showing 1-11 of 11 matching"), "{found}");
        assert!(found.contains(r#"name="list_q" value="V11""#), "{found}");
        let bad = page(ListView {
            problems: true,
            ..ListView::default()
        });
        assert!(bad.contains("of 12 matching"), "{bad}");
        assert!(bad.contains(r#"id="problems" name="problems" value="1" checked"#));
    }
}
