//! Piranha's backslash escapes for `send`/`expect`, and the reverse (for
//! showing what a server sent in a log line or a report).

/// Translate Piranha's escapes: `\\`, `\r`, `\n`, `\t`, `\'`, `\"`. Any other
/// backslash sequence (and a trailing lone backslash) is left untouched, as
/// Piranha did. Piranha only translated strings of length >= 2, which is the
/// same thing since every escape is two characters long.
pub fn translate(raw: &str) -> Vec<u8> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let t = match b[i + 1] {
                b'\\' => Some(b'\\'),
                b'r' => Some(b'\r'),
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'\'' => Some(b'\''),
                b'"' => Some(b'"'),
                _ => None,
            };
            if let Some(c) = t {
                out.push(c);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Printable, single-line rendering of bytes read from a server: `\r`, `\n`,
/// `\t`, `\\`, `\"` and `\xNN` for other non-printable bytes, truncated to
/// `max` input bytes with a trailing `...`.
pub fn show(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(bytes.len().min(max) + 8);
    for &c in bytes.iter().take(max) {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn piranha_escapes() {
        assert_eq!(
            translate(r"GET / HTTP/1.0\r\n\r\n"),
            b"GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(translate(r#"a\\b\tc\'d\"e"#), b"a\\b\tc'd\"e");
        assert_eq!(translate(r"\x41\0\"), br"\x41\0\");
        assert_eq!(translate(r"\\n"), b"\\n");
        assert_eq!(translate(""), b"");
        assert_eq!(translate("\\"), b"\\");
    }

    #[test]
    fn show_is_escaped_and_bounded() {
        assert_eq!(show(b"HTTP/1.0 200\r\n", 100), "HTTP/1.0 200\\r\\n");
        assert_eq!(show(b"\x00\xffab", 3), "\\x00\\xffa...");
    }

    proptest! {
        #[test]
        fn translate_never_grows(s in ".*") {
            prop_assert!(translate(&s).len() <= s.len());
        }
        #[test]
        fn show_is_single_line(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let s = show(&b, 64);
            prop_assert!(!s.contains('\n') && !s.contains('\r'));
            prop_assert!(s.len() <= 64 * 4 + 3);
        }
    }
}
