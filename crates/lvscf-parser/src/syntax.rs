//! The lossless layer: lines, their endings, and the tokens on them.
//!
//! Nothing here knows a keyword. A line is blank, a comment, or a run of
//! tokens separated by blanks (spaces and tabs); a token is bare or quoted
//! (`"..."` / `'...'`, no escapes, as Piranha). The bytes are kept exactly,
//! so writing a document back gives the input byte for byte.

use nom::bytes::complete::{tag, take_till, take_while, take_while1};
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
        let (content_end, next, eol) = match memchr::memchr(b'\n', &text[start..]) {
            Some(i) => {
                let nl = start + i;
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
    let first = bytes.iter().position(|&b| b != b' ' && b != b'\t');
    let Some(first) = first else {
        return line;
    };
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
    let mut rest = s;
    loop {
        rest = match blanks(rest) {
            Ok((r, _)) => r,
            Err(_) => rest,
        };
        if rest.is_empty() {
            break;
        }
        let offset = s.len() - rest.len();
        let first_char = rest[0];
        let (after, quote) = if first_char == b'"' || first_char == b'\'' {
            match quoted(rest, first_char) {
                Ok((after, _)) => (after, first_char),
                Err(_) => {
                    tokens.truncate(first_token as usize);
                    bad(&mut line, LexProblem::UnterminatedQuote(offset));
                    return line;
                }
            }
        } else {
            match bare(rest) {
                Ok((after, _)) => (after, 0),
                Err(_) => break,
            }
        };
        if quote != 0 && after.first().is_some_and(|&b| !is_blank(b)) {
            tokens.truncate(first_token as usize);
            bad(&mut line, LexProblem::TextAfterQuote(s.len() - after.len()));
            return line;
        }
        if tokens.len() - first_token as usize == MAX_TOKENS_PER_LINE {
            tokens.truncate(first_token as usize);
            bad(&mut line, LexProblem::TooManyTokens(offset));
            return line;
        }
        let token_end = s.len() - after.len();
        tokens.push(Token {
            start: (start + offset) as u32,
            end: (start + token_end) as u32,
            quote,
        });
        rest = after;
    }
    line.token_count = tokens.len() as u32 - first_token;
    line
}

fn blanks(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(is_blank).parse(input)
}

fn bare(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| !is_blank(b)).parse(input)
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

    #[test]
    fn splits_on_spaces_and_tabs_and_keeps_quoted_blanks() {
        assert_eq!(
            words("  send =\t\"GET / HTTP/1.0\"\n"),
            vec![vec!["send", "=", "GET / HTTP/1.0"]]
        );
        assert_eq!(words("a = 'x \"y'\n"), vec![vec!["a", "=", "x \"y"]]);
    }

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
