//! The URLs of the pages (pure). Blocks are addressed by name, each name
//! one percent-encoded path segment, so no name can reach another route,
//! split a header or break out of an attribute.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A name as one URL path segment.
pub fn seg(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// URL of a virtual server's pages (`edit`, `real`, `scripts`).
pub fn virtual_url(name: &str, page: &str) -> String {
    format!("/virtual/{}/{page}", seg(name))
}

/// URL of a failover service's pages (`edit`, `scripts`). Piranha's
/// failover pages are not linked from the tabs (since Piranha 0.7.4);
/// the failover list links them.
pub fn failover_url(name: &str, page: &str) -> String {
    format!("/failover/{}/{page}", seg(name))
}

/// URL of a real server's edit page.
pub fn server_url(vname: &str, sname: &str) -> String {
    format!("/virtual/{}/real/{}/edit", seg(vname), seg(sname))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_segment() {
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(virtual_url("w?x", "edit"), "/virtual/w%3Fx/edit");
        assert_eq!(server_url("a/b", "../r"), "/virtual/a%2Fb/real/..%2Fr/edit");
        assert_eq!(
            failover_url("f\r\n", "scripts"),
            "/failover/f%0D%0A/scripts"
        );
    }
}
