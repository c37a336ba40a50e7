//! [`Reporter`]: places the diagnostics of the checks that look across
//! lines (`validate`, `anycast`) on the lines they are about. A module of
//! its own so that the checks can share it without importing each other.

use crate::diag::{Code, Diagnostic, Severity};
use crate::source::Source;
use crate::structure::Structure;
use crate::syntax::Lexed;

/// Places diagnostics of the checks across lines on the lines they are
/// about.
pub(crate) struct Reporter<'a> {
    pub(crate) src: Source<'a>,
    pub(crate) structure: &'a Structure,
}

impl<'a> Reporter<'a> {
    /// For `text`, appending to `diags`.
    pub(crate) fn new(
        text: &'a [u8],
        lexed: &'a Lexed,
        structure: &'a Structure,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Reporter {
            src: Source::for_placing(text, lexed, diags),
            structure,
        }
    }

    /// Reports at the value of `key` in `block` (or at the block header, or
    /// line 1 for the global section when the key is absent).
    pub(crate) fn at(
        &mut self,
        severity: Severity,
        code: Code,
        block: Option<usize>,
        key: &str,
        message: String,
        hint: Option<String>,
    ) {
        let lexed = self.src.lexed();
        if lexed.lines.is_empty() {
            self.src.push_placed(Diagnostic {
                severity,
                code,
                line: 1,
                column: 1,
                width: 1,
                keyword: Some(key.to_string()),
                message,
                hint,
                source_line: String::new(),
            });
            return;
        }
        let (line, from, to) = match self.structure.key_line(block, key) {
            Some(line) => {
                let l = &lexed.lines[line];
                match (self.src.tokens(line).get(2), self.src.tokens(line).last()) {
                    (Some(first), Some(last)) => (line, first.start, last.end),
                    _ => (line, l.start, l.end),
                }
            }
            None => match block {
                Some(b) => {
                    let line = self.structure.blocks[b].header;
                    let l = &lexed.lines[line];
                    match self.src.tokens(line).get(1) {
                        Some(t) => (line, t.start, t.end),
                        None => (line, l.start, l.end),
                    }
                }
                None => (0, 0, 0),
            },
        };
        self.src.push(
            severity,
            code,
            line,
            (from as usize, to as usize),
            Some(key),
            message,
            hint,
        );
    }
}
