//! The lossless layer: lines, their endings, and the tokens on them.
//!
//! Nothing here knows a keyword. A line is blank, a comment, or a run of
//! tokens separated by blanks (spaces and tabs); a token is bare or quoted
//! (`"..."` / `'...'`, no escapes, as Piranha). The bytes are kept exactly,
//! so writing a document back gives the input byte for byte.

use nom::bytes::complete::{tag, take_till};
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// Files larger than this are refused (a 2,000-virtual file is about 4 MiB).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// More tokens than this on one line are refused, never silently dropped.
pub const MAX_TOKENS_PER_LINE: usize = 100;

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    /// The last line of a file without a final newline.
    None,
    /// `\n`.
    Lf,
    /// `\r\n`.
    CrLf,
}

impl Eol {
    /// The bytes of this line ending.
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::None => "",
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
        }
    }
}

/// A problem found while splitting a line into tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexProblem {
    /// A `\r` that is not part of a `\r\n` line ending (byte offset in line).
    StrayCarriageReturn(usize),
    /// A NUL byte (byte offset in line).
    Nul(usize),
    /// Bytes that are not UTF-8 (byte offset in line).
    InvalidUtf8(usize),
    /// A quote that is never closed on this line (byte offset of the quote).
    UnterminatedQuote(usize),
    /// Text glued to a closing quote, as in `"abc"def` (offset of that text).
    TextAfterQuote(usize),
    /// Not fatal: a quoted word whose first closing quote has text glued to
    /// it, read as Piranha's tokenizer read it (`"a\"b"` is `a\"b`: the
    /// word runs to the last quote of its blank-separated chunk, or, when
    /// blanks follow, to the next quote). Offset of the text after the
    /// first closing quote.
    GluedQuote(usize),
    /// More than [`MAX_TOKENS_PER_LINE`] tokens.
    TooManyTokens(usize),
}

/// What a line holds, lexically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or only blanks.
    Blank,
    /// First non-blank character is `#`.
    Comment,
    /// One or more tokens.
    Tokens,
    /// The line could not be split (see [`Line::problem`]).
    Bad,
}

/// A token: its bytes in the file (quotes included) and its quote character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Offset of the first byte (the opening quote if quoted).
    pub start: u32,
    /// Offset one past the last byte (past the closing quote if quoted).
    pub end: u32,
    /// `b'"'`, `b'\''` or 0.
    pub quote: u8,
}

impl Token {
    /// The byte range of the value, quotes removed.
    pub fn value_range(&self) -> std::ops::Range<usize> {
        if self.quote != 0 {
            self.start as usize + 1..self.end as usize - 1
        } else {
            self.start as usize..self.end as usize
        }
    }
}

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Offset of the first byte of the line.
    pub start: u32,
    /// Offset one past the content (before the line ending).
    pub end: u32,
    /// The line ending.
    pub eol: Eol,
    /// What the line holds.
    pub kind: LineKind,
    /// Index of its first token in [`Lexed::tokens`].
    pub first_token: u32,
    /// Number of tokens.
    pub token_count: u32,
    /// Why the line is [`LineKind::Bad`], or a non-fatal oddity of a comment
    /// (invalid UTF-8 in a comment is only a warning).
    pub problem: Option<LexProblem>,
}

/// A file split into lines and tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    /// The lines, in order.
    pub lines: Vec<Line>,
    /// The tokens of all lines.
    pub tokens: Vec<Token>,
}

impl Lexed {
    /// The content of line `index` of `text` (the text this was lexed
    /// from), without its line ending, as lossy UTF-8.
    pub(crate) fn line_text(&self, text: &[u8], index: usize) -> String {
        let line = &self.lines[index];
        String::from_utf8_lossy(&text[line.start as usize..line.end as usize]).into_owned()
    }
}

/// Splits `text` into lines and tokens. Never fails: problems are recorded
/// on the lines that have them.
pub fn lex(text: &[u8]) -> Lexed {
    let mut lexed = Lexed {
        lines: Vec::with_capacity(memchr::memchr_iter(b'\n', text).count() + 1),
        tokens: Vec::new(),
    };
    lexed.tokens.reserve(lexed.lines.capacity() * 3);
    // Validating the whole file once is much cheaper than line by line.
    let whole = std::str::from_utf8(text).ok();
    // Most files hold no NUL and no CR at all: then no line needs looking.
    let scan = Scan {
        nul: memchr::memchr(b'\0', text).is_some(),
        cr: memchr::memchr(b'\r', text).is_some(),
    };
    let mut start = 0usize;
    while start < text.len() {
        let (content_end, next, eol) = match find_newline(text, start) {
            Some(nl) => {
                if nl > start && text[nl - 1] == b'\r' {
                    (nl - 1, nl + 1, Eol::CrLf)
                } else {
                    (nl, nl + 1, Eol::Lf)
                }
            }
            None => (text.len(), text.len(), Eol::None),
        };
        let line = lex_line(
            text,
            whole,
            scan,
            start,
            content_end,
            eol,
            &mut lexed.tokens,
        );
        lexed.lines.push(line);
        start = next;
    }
    lexed
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[derive(Clone, Copy)]
struct Scan {
    nul: bool,
    cr: bool,
}

fn lex_line(
    text: &[u8],
    whole: Option<&str>,
    scan: Scan,
    start: usize,
    end: usize,
    eol: Eol,
    tokens: &mut Vec<Token>,
) -> Line {
    let bytes = &text[start..end];
    let first_token = tokens.len() as u32;
    let mut line = Line {
        start: start as u32,
        end: end as u32,
        eol,
        kind: LineKind::Blank,
        first_token,
        token_count: 0,
        problem: None,
    };
    let first = skip_blanks(text, start, end) - start;
    if first == bytes.len() {
        return line;
    }
    let bad = |line: &mut Line, problem| {
        line.kind = LineKind::Bad;
        line.problem = Some(problem);
    };
    if let Some(i) = scan.nul.then(|| memchr::memchr(b'\0', bytes)).flatten() {
        bad(&mut line, LexProblem::Nul(i));
        return line;
    }
    if let Some(i) = scan.cr.then(|| memchr::memchr(b'\r', bytes)).flatten() {
        bad(&mut line, LexProblem::StrayCarriageReturn(i));
        return line;
    }
    if bytes[first] == b'#' {
        line.kind = LineKind::Comment;
        if whole.is_none() {
            if let Err(e) = std::str::from_utf8(bytes) {
                line.problem = Some(LexProblem::InvalidUtf8(e.valid_up_to()));
            }
        }
        return line;
    }
    // Line breaks are ASCII, so they always fall on character boundaries
    // of a file that is UTF-8 as a whole.
    let checked = match whole {
        Some(w) => Ok(&w[start..end]),
        None => std::str::from_utf8(bytes),
    };
    let s = match checked {
        Ok(s) => s,
        Err(e) => {
            bad(&mut line, LexProblem::InvalidUtf8(e.valid_up_to()));
            return line;
        }
    };
    line.kind = LineKind::Tokens;
    // Tokens split on ASCII blanks and quotes, so bytes are enough (and
    // faster than chars); the line was checked to be UTF-8 above.
    let s = s.as_bytes();
    let mut at = first;
    while at < s.len() {
        let offset = at;
        let first_char = s[at];
        let (token_end, quote) = if first_char == b'"' || first_char == b'\'' {
            match quoted(&s[at..], first_char) {
                Ok((after, _)) => (s.len() - after.len(), first_char),
                Err(_) => {
                    tokens.truncate(first_token as usize);
                    bad(&mut line, LexProblem::UnterminatedQuote(offset));
                    return line;
                }
            }
        } else {
            (bare_end(text, start + at, end) - start, 0)
        };
        let mut token_end = token_end;
        if quote != 0 && s.get(token_end).is_some_and(|&b| !is_blank(b)) {
            match piranha_quoted_end(s, at, quote) {
                Some(e) => {
                    if line.problem.is_none() {
                        line.problem = Some(LexProblem::GluedQuote(token_end));
                    }
                    token_end = e;
                }
                None => {
                    tokens.truncate(first_token as usize);
                    bad(&mut line, LexProblem::TextAfterQuote(token_end));
                    return line;
                }
            }
        }
        if tokens.len() - first_token as usize == MAX_TOKENS_PER_LINE {
            tokens.truncate(first_token as usize);
            bad(&mut line, LexProblem::TooManyTokens(offset));
            return line;
        }
        tokens.push(Token {
            start: (start + offset) as u32,
            end: (start + token_end) as u32,
            quote,
        });
        at = skip_blanks(text, start + token_end, end) - start;
    }
    line.token_count = tokens.len() as u32 - first_token;
    line
}

// The scans below run over every byte of the file, so they look at eight
// bytes at a time (SWAR: bit tricks on a u64): several times fewer
// instructions than a nom `take_while` through its generic `Input` trait or
// a `memchr` call per short line. nom keeps the quoted-token grammar, where
// the shape matters more than the speed.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of bytes of `w` below `n` (n <= 128). Bytes above the
/// lowest flagged one may be flagged wrongly (a borrow runs upwards), but
/// the lowest flag is exact, which is all [`scan`] uses.
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

fn word_at(s: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = s.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Index of the first byte at or after `at` for which `stop` holds (or
/// `s.len()`). `candidates(word)` must set a bit in the lowest byte of the
/// word that could stop the scan (any bit of it); it is checked with `stop`.
fn scan(
    s: &[u8],
    mut at: usize,
    candidates: impl Fn(u64) -> u64,
    stop: impl Fn(u8) -> bool,
) -> usize {
    while let Some(w) = word_at(s, at) {
        let hits = candidates(w);
        if hits == 0 {
            at += 8;
            continue;
        }
        let i = at + (hits.trailing_zeros() / 8) as usize;
        if stop(s[i]) {
            return i;
        }
        at = i + 1;
    }
    while at < s.len() && !stop(s[at]) {
        at += 1;
    }
    at
}

// `skip_blanks` and `bare_end` scan the whole text but answer within the
// line `..end`: reading a few bytes past the line keeps the last token of a
// line (the usual value) on the fast word path. A line ends at `\n` or
// `\r\n`, neither of which is blank, so the scans stop there at the latest.

/// Index of the first non-blank byte at or after `at` (or `end`).
fn skip_blanks(text: &[u8], at: usize, end: usize) -> usize {
    // Any byte that is not a space is a candidate (tabs are rare).
    let not_space = |w: u64| w ^ (ONES * u64::from(b' '));
    scan(text, at, not_space, |b| !is_blank(b)).min(end)
}

/// End of the bare token starting at `at`: the next blank (or `end`).
fn bare_end(text: &[u8], at: usize, end: usize) -> usize {
    // Blanks and line breaks are all below 0x21.
    let low = |w: u64| bytes_below(w, 0x21);
    let stop = |b: u8| is_blank(b) || b == b'\n' || b == b'\r';
    scan(text, at, low, stop).min(end)
}

/// Index of the next `\n` at or after `at`, if any.
fn find_newline(s: &[u8], at: usize) -> Option<usize> {
    let newline = |w: u64| bytes_below(w ^ (ONES * u64::from(b'\n')), 1);
    let i = scan(s, at, newline, |b| b == b'\n');
    (i < s.len()).then_some(i)
}

/// Where Piranha's tokenizer ended a quoted word that starts at `at` (one
/// past its closing quote), when its first closing quote has text glued to
/// it: at the end of the line if the blank-separated chunk ends there with
/// the quote; else, when blanks follow the chunk, at the next quote after
/// it. `None` where Piranha reported a quotation mismatch.
fn piranha_quoted_end(s: &[u8], at: usize, quote: u8) -> Option<usize> {
    let chunk_end = s[at..]
        .iter()
        .position(|&b| is_blank(b))
        .map_or(s.len(), |p| at + p);
    if chunk_end == s.len() {
        return (chunk_end - at >= 2 && s[chunk_end - 1] == quote).then_some(chunk_end);
    }
    s[chunk_end..]
        .iter()
        .position(|&b| b == quote)
        .map(|p| chunk_end + p + 1)
}

fn quoted(input: &[u8], quote: u8) -> IResult<&[u8], &[u8]> {
    let mark: &'static [u8] = if quote == b'"' { b"\"" } else { b"'" };
    delimited(tag(mark), take_till(move |b| b == quote), tag(mark)).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        let lexed = lex(text.as_bytes());
        lexed
            .lines
            .iter()
            .map(|l| {
                let toks =
                    &lexed.tokens[l.first_token as usize..(l.first_token + l.token_count) as usize];
                toks.iter()
                    .map(|t| text[t.value_range()].to_string())
                    .collect()
            })
            .collect()
    }

    /// Reliability catalogue CFG-L09 (docs/RELIABILITY.md).
    #[test]
    fn splits_on_spaces_and_tabs_and_keeps_quoted_blanks() {
        assert_eq!(
            words("  send =\t\"GET / HTTP/1.0\"\n"),
            vec![vec!["send", "=", "GET / HTTP/1.0"]]
        );
        assert_eq!(words("a = 'x \"y'\n"), vec![vec!["a", "=", "x \"y"]]);
    }

    /// I15 part 3: text glued to a closing quote is read as Piranha's
    /// tokenizer read it, where it read one; elsewhere it stays refused.
    #[test]
    fn glued_quotes_are_read_as_piranha_read_them() {
        // The chunk ends at the end of the line with the quote: one word.
        assert_eq!(words("e = \"a\\\"b\"\n"), vec![vec!["e", "=", "a\\\"b"]]);
        assert_eq!(words("e = \"a\"b\"\n"), vec![vec!["e", "=", "a\"b"]]);
        // Blanks follow the chunk: the word runs to the next quote, and the
        // next word starts right after it.
        assert_eq!(words("e = \"a\"b c\"\n"), vec![vec!["e", "=", "a\"b c"]]);
        assert_eq!(words("e = \"a b\"c\n"), vec![vec!["e", "=", "a b", "c"]]);
        assert_eq!(
            lex(b"e = \"a\\\"b\"\n").lines[0].problem,
            Some(LexProblem::GluedQuote(8))
        );
        // Where Piranha reported a quotation mismatch, so do we.
        for bad in ["e = \"a\"b\n", "e = \"a\"b x\n", "e = \"a\\\"b\" \n"] {
            let lexed = lex(bad.as_bytes());
            assert!(
                matches!(lexed.lines[0].problem, Some(LexProblem::TextAfterQuote(_))),
                "{bad:?}: {:?}",
                lexed.lines[0]
            );
        }
    }

    /// Reliability catalogue CFG-L04 (docs/RELIABILITY.md).
    #[test]
    fn line_endings_are_recorded() {
        let lexed = lex(b"a\r\nb\nc");
        let eols: Vec<Eol> = lexed.lines.iter().map(|l| l.eol).collect();
        assert_eq!(eols, vec![Eol::CrLf, Eol::Lf, Eol::None]);
    }

    #[test]
    fn problems_are_located() {
        let lexed = lex(b"x = \"abc\n");
        assert_eq!(
            lexed.lines[0].problem,
            Some(LexProblem::UnterminatedQuote(4))
        );
        let lexed = lex(b"x = \"abc\"def\n");
        assert_eq!(lexed.lines[0].problem, Some(LexProblem::TextAfterQuote(9)));
        let lexed = lex(b"x = a\rb\n");
        assert_eq!(
            lexed.lines[0].problem,
            Some(LexProblem::StrayCarriageReturn(5))
        );
        let lexed = lex(b"# caf\xe9\n");
        assert_eq!(lexed.lines[0].kind, LineKind::Comment);
        assert_eq!(lexed.lines[0].problem, Some(LexProblem::InvalidUtf8(5)));
    }

    fn naive_find(s: &[u8], at: usize, hit: impl Fn(u8) -> bool) -> usize {
        (at..s.len()).find(|&i| hit(s[i])).unwrap_or(s.len())
    }

    proptest::proptest! {
        #[test]
        fn word_scans_agree_with_byte_scans(
            s in proptest::collection::vec(proptest::sample::select(
                vec![b' ', b'\t', b'\n', b'a', b'"', 0x80, 0xff, 0x09 ^ 0x80, 0x20 ^ 0x01]), 0..40),
            at in 0usize..40,
        ) {
            let at = at.min(s.len());
            let end = s.len() - (s.len() - at) / 3;
            proptest::prop_assert_eq!(
                skip_blanks(&s, at, end),
                naive_find(&s[..end], at, |b| !is_blank(b))
            );
            proptest::prop_assert_eq!(
                bare_end(&s, at, end),
                naive_find(&s[..end], at, |b| is_blank(b) || b == b'\n' || b == b'\r')
            );
            let nl = naive_find(&s, at, |b| b == b'\n');
            proptest::prop_assert_eq!(find_newline(&s, at), (nl < s.len()).then_some(nl));
        }
    }

    /// Reliability catalogue CFG-L10 (docs/RELIABILITY.md).
    #[test]
    fn too_many_tokens_is_refused_not_truncated() {
        let line = vec!["t"; MAX_TOKENS_PER_LINE + 1].join(" ");
        let lexed = lex(line.as_bytes());
        assert_eq!(lexed.lines[0].kind, LineKind::Bad);
        let line = vec!["t"; MAX_TOKENS_PER_LINE].join(" ");
        let lexed = lex(line.as_bytes());
        assert_eq!(lexed.lines[0].token_count as usize, MAX_TOKENS_PER_LINE);
    }
}
