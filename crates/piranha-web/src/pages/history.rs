//! HISTORY: the versions of lvs.cf the writers kept (newest first, a page
//! at a time), each with who saved, from where, when, the one-line summary
//! and its diff, and a RESTORE button (a confirmed save).

use super::layout::{layout, Ctx, Tab};
use lvscf_store::history::Entry;
use maud::{html, Markup};

/// How many saves one page of the history shows.
pub const PER_PAGE: usize = 20;

/// One save as the page shows it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The kept entry.
    pub entry: Entry,
    /// The unified diff of the save (the kept version to the one that
    /// replaced it).
    pub diff: String,
}

/// A time as `2026-12-02 13:37:08 UTC` (seconds since the epoch).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // The civil date of a day count (the proleptic Gregorian calendar, in
    // 400-year eras of 146,097 days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The HISTORY page: `rows` are the page `page` of `pages`, `total` saves
/// in all.
pub fn history(ctx: &Ctx, rows: &[Row], page: usize, pages: usize, total: usize) -> Markup {
    layout(
        "History",
        Tab::History,
        ctx,
        html! {
            p { "Every save of lvs.cf by the web tool, by " code { "lvscf" } " or by lvsd at the end of a drain keeps the version it replaced (the newest "
                (lvscf_store::history::KEEP) "). RESTORE puts a kept version back, as a new save that is recorded too; it shows the change first." }
            @if total == 0 {
                p { "No save has been recorded yet." }
            } @else {
                nav.pager aria-label="pages of the history" {
                    "Saves " (((page - 1) * PER_PAGE) + 1) "-" (((page - 1) * PER_PAGE) + rows.len()) " of " (total)
                    @if pages > 1 {
                        " | "
                        @if page > 1 { a href=(format!("/history?page={}", page - 1)) rel="prev" { "newer" } } @else { "newer" }
                        " | page " (page) " of " (pages) " | "
                        @if page < pages { a href=(format!("/history?page={}", page + 1)) rel="next" { "older" } } @else { "older" }
                    }
                }
                @for r in rows {
                    @let e = &r.entry;
                    section.save id=(format!("save-{}", e.seq)) aria-labelledby=(format!("save-{}-h", e.seq)) {
                        h2 id=(format!("save-{}-h", e.seq)) { "Save " (e.seq) ": " (e.change.summary) }
                        p {
                            (utc(e.when)) ", by " (e.change.who) " from " (e.change.from)
                            ": serial_no " (e.serial_before) " → " (e.serial_after) "."
                        }
                        details {
                            summary { "The diff of this save" }
                            @if r.diff.is_empty() { p { "(no difference in the file)" } }
                            @else { pre.diff { (r.diff) } }
                        }
                        form.inline method="post" action=(format!("/history/{}/restore", e.seq)) {
                            input type="hidden" name="csrf" value=(ctx.csrf);
                            button type="submit" name="restore" value="1" {
                                "RESTORE the file before this save (serial_no " (e.serial_before) ")"
                            }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render;
    use lvscf_store::history::Change;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_218_628), "2026-12-02 13:37:08 UTC");
    }

    #[test]
    fn a_row_has_who_where_when_summary_diff_and_restore() {
        let ctx = Ctx {
            csrf: "tok".into(),
            logged_in: true,
            ..Ctx::default()
        };
        let rows = [Row {
            entry: Entry {
                seq: 7,
                when: 0,
                serial_before: 3,
                serial_after: 4,
                change: Change {
                    who: "lvscf (<root>)".into(),
                    from: "local".into(),
                    summary: "keepalive 6 → 2".into(),
                },
            },
            diff: "-keepalive = 6\n+keepalive = 2\n".into(),
        }];
        let html = render(history(&ctx, &rows, 1, 1, 1));
        for want in [
            "Save 7: keepalive 6 → 2",
            "lvscf (&lt;root&gt;) from local",
            "1970-01-01",
            "serial_no 3 → 4",
            "+keepalive = 2",
            r#"action="/history/7/restore""#,
            r#"name="csrf" value="tok""#,
        ] {
            assert!(html.contains(want), "{want}: {html}");
        }
        assert!(render(history(&ctx, &[], 1, 1, 0)).contains("No save has been recorded"));
    }
}
