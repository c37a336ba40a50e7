//! The text being read, and the diagnostics placed on it.
//!
//! [`Source`] is what the analyser, the block tracker and the semantic
//! checks share: the file's bytes with their lines and tokens, the text of
//! a token, and the list of diagnostics, each placed on its line with a
//! 1-based character column, a caret width and a copy of the line.

use crate::diag::{Code, Diagnostic, Severity};
use crate::syntax::{Lexed, Token};

/// A lexed text and the diagnostics found in it so far.
pub(crate) struct Source<'a> {
    text: &'a [u8],
    /// The text as `str` when the whole file is UTF-8 (the common case).
    whole: Option<&'a str>,
    lexed: &'a Lexed,
    diags: &'a mut Vec<Diagnostic>,
}

impl<'a> Source<'a> {
    /// Diagnostics are appended to `diags`.
    pub(crate) fn new(text: &'a [u8], lexed: &'a Lexed, diags: &'a mut Vec<Diagnostic>) -> Self {
        Source {
            text,
            whole: std::str::from_utf8(text).ok(),
            lexed,
            diags,
        }
    }

    /// [`Source::new`] without checking the whole text as UTF-8 first, for
    /// callers that place diagnostics but read few token texts (each is
    /// then checked on its own).
    pub(crate) fn for_placing(
        text: &'a [u8],
        lexed: &'a Lexed,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Source {
            text,
            whole: None,
            lexed,
            diags,
        }
    }

    /// The lines and tokens.
    pub(crate) fn lexed(&self) -> &'a Lexed {
        self.lexed
    }

    /// The diagnostics so far.
    pub(crate) fn diagnostics(&self) -> &[Diagnostic] {
        self.diags
    }

    /// The tokens of line `index`.
    #[inline]
    pub(crate) fn tokens(&self, index: usize) -> &'a [Token] {
        let line = &self.lexed.lines[index];
        &self.lexed.tokens
            [line.first_token as usize..(line.first_token + line.token_count) as usize]
    }

    /// The text of a token, quotes removed.
    #[inline]
    pub(crate) fn token_text(&self, token: &Token) -> &'a str {
        // Token lines were validated as UTF-8 by the lexer.
        match self.whole {
            Some(w) => w.get(token.value_range()).unwrap_or(""),
            None => std::str::from_utf8(&self.text[token.value_range()]).unwrap_or(""),
        }
    }

    /// Appends a diagnostic that is already placed.
    pub(crate) fn push_placed(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// Appends a diagnostic on line `index` (0-based), underlining the bytes
    /// `byte_range` (offsets in the whole text).
    #[allow(clippy::too_many_arguments)] // every argument is a distinct part of a diagnostic
    pub(crate) fn push(
        &mut self,
        severity: Severity,
        code: Code,
        index: usize,
        byte_range: (usize, usize),
        keyword: Option<&str>,
        message: String,
        hint: Option<String>,
    ) {
        let source_line = self.lexed.line_text(self.text, index);
        let start = self.lexed.lines[index].start as usize;
        let from = byte_range.0.saturating_sub(start);
        let to = byte_range.1.saturating_sub(start).max(from);
        let column = column_of(&source_line, from);
        let width = column_of(&source_line, to).saturating_sub(column).max(1);
        self.diags.push(Diagnostic {
            severity,
            code,
            line: index + 1,
            column,
            width,
            keyword: keyword.map(str::to_string),
            message,
            hint,
            source_line,
        });
    }

    /// [`Source::push`] underlining one token.
    #[allow(clippy::too_many_arguments)] // every argument is a distinct part of a diagnostic
    pub(crate) fn at_token(
        &mut self,
        severity: Severity,
        code: Code,
        index: usize,
        token: &Token,
        keyword: Option<&str>,
        message: String,
        hint: Option<String>,
    ) {
        self.push(
            severity,
            code,
            index,
            (token.start as usize, token.end as usize),
            keyword,
            message,
            hint,
        );
    }
}

/// 1-based character column of byte `offset` in `line`.
fn column_of(line: &str, offset: usize) -> usize {
    let offset = offset.min(line.len());
    let mut cut = offset;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    line[..cut].chars().count() + 1
}
