//! The list-and-buttons widget of the VIRTUAL SERVERS, REAL SERVER and
//! failover lists: a table of blocks with a radio button on each row (the
//! selected row), the columns the page chooses, the name field for ADD and
//! the list's buttons. The form field names and button values are the
//! ones [`List::decide`] reads, so a page can only offer what the POST
//! understands.

use super::layout::Ctx;
use super::widgets::{err, hidden, FormState};
use crate::panel::{List, ListButton, ADD_NAME, ENTER, SELECTED};
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
        }
    }

    /// Adds a column.
    pub fn column(mut self, heading: &'static str, cell: impl Fn(&T) -> Markup + 'a) -> Self {
        self.columns.push(Column::new(heading, cell));
        self
    }
}

/// The form: the table, the errors of the selection and of the name, the
/// name for ADD and the buttons.
pub fn render<T>(ctx: &Ctx, hash: &str, fs: &FormState, form: &ListForm<'_, T>) -> Markup {
    let field = form.list.button_field();
    html! {
        form method="post" action=(form.list.url()) {
            (enter_does_nothing())
            (hidden(ctx, hash))
            table.list {
                tr { th {} @for c in &form.columns { th { (c.heading) } } }
                @for (i, row) in form.rows.iter().enumerate() {
                    tr {
                        td { input type="radio" id=(format!("sel-{i}")) name=(SELECTED) value=((form.key)(row)); }
                        @for c in &form.columns { td { ((c.cell)(row)) } }
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
        assert!(html.contains("<th></th><th>LEN</th>"), "{html}");
        assert!(
            html.contains(r#"id="sel-1" name="selected" value="&lt;x&gt;""#),
            "{html}"
        );
        assert!(html.contains("<td>3</td>"), "{html}");
        let default = html.find("<button").expect("a button");
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
}
