//! Where the user is in a long list (pure): the search text, the "only
//! problems" filter, the page, and the row to come back to.
//!
//! A list's GET carries them in its query (`q`, `problems`, `page`, `at`);
//! the list's own form repeats them in hidden fields (`list_q`,
//! `list_problems`, `list_page`), so that an action returns to the page it
//! was pressed on, scrolled to the row it acted on (`at=NAME#row-NAME`:
//! the page that holds that row, wherever it moved).

use crate::forms::{param, Params};
use crate::urls::seg;

/// Rows per page of the lists and of the dashboard.
pub const PAGE_SIZE: usize = 50;

/// Longest search text kept (a longer one is cut).
const MAX_SEARCH: usize = 200;

/// How a list is searched and paged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    /// Search text (empty: every row).
    pub q: String,
    /// Only rows whose live state is a problem.
    pub problems: bool,
    /// Page, from 1 (0 or absent: the first).
    pub page: usize,
    /// The row to show: its page wins over `page` when it is in the list.
    pub at: Option<String>,
}

fn clean(s: &str) -> String {
    let t = s.trim();
    let mut end = t.len().min(MAX_SEARCH);
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    t[..end].to_string()
}

impl ListView {
    /// From a list page's query.
    pub fn from_query(p: &Params) -> ListView {
        ListView {
            q: param(p, "q").map(clean).unwrap_or_default(),
            problems: param(p, "problems").is_some_and(|v| !v.is_empty() && v != "0"),
            page: param(p, "page")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            at: param(p, "at").filter(|v| !v.is_empty()).map(str::to_string),
        }
    }

    /// From the hidden fields of a list's form (the view it was shown in).
    pub fn from_form(p: &Params) -> ListView {
        ListView {
            q: param(p, "list_q").map(clean).unwrap_or_default(),
            problems: param(p, "list_problems").is_some_and(|v| v == "1"),
            page: param(p, "list_page")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            at: None,
        }
    }

    /// Whether anything filters the rows.
    pub fn filtered(&self) -> bool {
        !self.q.is_empty() || self.problems
    }

    /// Whether `haystack` matches the search (case-insensitive substring;
    /// every word of the search must appear).
    pub fn matches(&self, haystack: &str) -> bool {
        if self.q.is_empty() {
            return true;
        }
        let h = haystack.to_lowercase();
        self.q
            .to_lowercase()
            .split_whitespace()
            .all(|w| h.contains(w))
    }

    /// The query string of this view, without `at` (`""` for the plain
    /// list), with `page` replaced by `page`.
    pub fn query_for_page(&self, page: usize) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        if self.problems {
            out.append_pair("problems", "1");
        }
        if page > 1 {
            out.append_pair("page", &page.to_string());
        }
        out.finish()
    }

    /// `base` showing this view at `page`.
    pub fn page_url(&self, base: &str, page: usize) -> String {
        with_query(base, &self.query_for_page(page))
    }

    /// `base` showing this view on the page that holds row `name`, scrolled
    /// to it (`None`: the view's own page).
    pub fn return_url(&self, base: &str, name: Option<&str>) -> String {
        let mut q = self.query_for_page(self.page);
        match name {
            Some(n) => {
                let at = form_urlencoded::Serializer::new(String::new())
                    .append_pair("at", n)
                    .finish();
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str(&at);
                format!("{}#{}", with_query(base, &q), row_anchor(n))
            }
            None => with_query(base, &q),
        }
    }

    /// Which page to show of `count` matching rows, the row named by `at`
    /// being at `at_position` among them (if it matched).
    pub fn page_of(&self, count: usize, at_position: Option<usize>) -> Paged {
        let pages = count.div_ceil(PAGE_SIZE).max(1);
        let page = match at_position {
            Some(i) => i / PAGE_SIZE + 1,
            None => self.page.clamp(1, pages),
        };
        let start = (page - 1) * PAGE_SIZE;
        Paged {
            page,
            pages,
            start,
            end: (start + PAGE_SIZE).min(count),
            count,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paged {
    /// The page shown, from 1.
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
    /// First row shown (index among the matching rows).
    pub start: usize,
    /// One past the last row shown.
    pub end: usize,
    /// Matching rows.
    pub count: usize,
}

/// The `id` of a list row, and the fragment that scrolls to it.
pub fn row_anchor(name: &str) -> String {
    format!("row-{}", seg(name))
}

/// `url` with `query` added to its query string (before any fragment).
pub fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let (path, frag) = match url.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (url, None),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    match frag {
        Some(f) => format!("{path}{sep}{query}#{f}"),
        None => format!("{path}{sep}{query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Params {
        form_urlencoded::parse(s.as_bytes()).into_owned().collect()
    }

    #[test]
    fn views_read_and_write_their_urls() {
        let v = ListView::from_query(&q("q=%20web%20&problems=1&page=3&at=v%2F1"));
        assert_eq!(v.q, "web");
        assert!(v.problems && v.filtered());
        assert_eq!((v.page, v.at.as_deref()), (3, Some("v/1")));
        assert_eq!(
            v.page_url("/virtual", 4),
            "/virtual?q=web&problems=1&page=4"
        );
        assert_eq!(
            v.return_url("/virtual", Some("a b")),
            "/virtual?q=web&problems=1&page=3&at=a+b#row-a%20b"
        );
        assert_eq!(ListView::default().page_url("/virtual", 1), "/virtual");
        let f = ListView::from_form(&q("list_q=x&list_problems=1&list_page=2"));
        assert_eq!(
            f.return_url("/control", None),
            "/control?q=x&problems=1&page=2"
        );
        assert_eq!(ListView::from_query(&q("page=junk")).page, 0);
        let long = "é".repeat(300);
        assert!(ListView::from_query(&vec![("q".into(), long)]).q.len() <= MAX_SEARCH);
    }

    #[test]
    fn search_needs_every_word() {
        let v = ListView::from_query(&q("q=Web+10.0.0"));
        assert!(v.matches("web 10.0.0.100 80"));
        assert!(!v.matches("ftp 10.0.0.101 21"));
        assert!(ListView::default().matches("anything"));
    }

    #[test]
    fn pages_hold_the_row_asked_for() {
        let v = ListView::default();
        let p = v.page_of(2000, None);
        assert_eq!((p.page, p.pages, p.start, p.end), (1, 40, 0, PAGE_SIZE));
        let p = v.page_of(2000, Some(1234));
        assert_eq!((p.page, p.start), (25, 1200));
        let far = ListView {
            page: 99,
            ..ListView::default()
        };
        assert_eq!(far.page_of(120, None).page, 3, "clamped to the last page");
        assert_eq!(far.page_of(120, None).end, 120);
        assert_eq!(
            v.page_of(0, None),
            Paged {
                page: 1,
                pages: 1,
                start: 0,
                end: 0,
                count: 0
            }
        );
    }

    #[test]
    fn queries_go_before_the_fragment() {
        assert_eq!(with_query("/virtual", "saved=1"), "/virtual?saved=1");
        assert_eq!(
            with_query("/virtual?q=a#row-x", "saved=1"),
            "/virtual?q=a&saved=1#row-x"
        );
        assert_eq!(with_query("/v", ""), "/v");
    }
}
