//! Line analysis: from lexed lines to the typed [`Config`], the block
//! [`Structure`] and every diagnostic.
//!
//! Each line is read on its own, as Piranha's C parser read it: a blank or
//! comment line is skipped, `}` closes the open block, `virtual NAME {`,
//! `failover NAME {` and `server NAME {` open one (`blocks.rs`), and any
//! other line must be `KEYWORD = VALUE` with a keyword of the level it is
//! at. Its value is read (`value.rs`) and stored into the configuration
//! (`apply.rs`); when every line is read, the checks that look at the whole
//! file run ([`crate::validate`]).
//!
//! Some of what Piranha read in a surprising way loads with a warning: a
//! missing final `}`, a key set twice (the last one wins), a host name
//! instead of an address, text after a `}`. What was easy to get wrong is
//! refused with a hint that says how Piranha read it (a number with a
//! leading zero was octal, a short address form such as `10.1` meant
//! `10.0.0.1`). Lines may end in CR LF. An unknown keyword stops the file
//! from loading, as in Piranha, with a hint when the keyword exists at
//! another level or looks like a known one.

use crate::apply::apply;
use crate::blocks::{is_block_word, Blocks};
use crate::diag::{Code, Diagnostic, Severity};
use crate::keywords::{self, Keyword, Level};
use crate::model::Config;
use crate::settle::settle;
use crate::source::Source;
use crate::structure::Structure;
use crate::syntax::{LexProblem, Lexed, LineKind, Token};
use crate::validate::validate;
use crate::value::{parse_value, Problem};

/// The result of analysing a lexed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The configuration, with defaults (meaningful when there is no error).
    pub config: Config,
    /// Blocks and keyword lines.
    pub structure: Structure,
    /// Errors and warnings, sorted by line.
    pub diagnostics: Vec<Diagnostic>,
}

/// Analyses a lexed file: every line, then the checks across lines.
pub fn analyze(text: &[u8], lexed: &Lexed) -> Analysis {
    let mut diagnostics = Vec::new();
    if text.is_empty() {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: Code::EmptyConfiguration,
            line: 1,
            column: 1,
            width: 1,
            keyword: None,
            message: "Empty configuration: the file has no content".into(),
            hint: Some("an empty lvs.cf defines no service; see lvs.cf(5)".into()),
            source_line: String::new(),
        });
    }
    let mut a = Analyzer {
        src: Source::new(text, lexed, &mut diagnostics),
        config: Config::default(),
        blocks: Blocks::new(lexed.lines.len()),
    };
    for index in 0..lexed.lines.len() {
        a.line(index);
    }
    a.blocks.finish(&mut a.src, &a.config);
    let Analyzer {
        mut config, blocks, ..
    } = a;
    let structure = blocks.into_structure();
    settle(text, lexed, &mut config, &structure, &mut diagnostics);
    validate(text, lexed, &config, &structure, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Analysis {
        config,
        structure,
        diagnostics,
    }
}

/// The state of one analysis.
struct Analyzer<'a> {
    src: Source<'a>,
    config: Config,
    blocks: Blocks,
}

impl Analyzer<'_> {
    fn line(&mut self, index: usize) {
        let line = &self.src.lexed().lines[index];
        match line.kind {
            LineKind::Blank => {}
            LineKind::Comment => {
                if let Some(LexProblem::InvalidUtf8(at)) = line.problem {
                    let at = line.start as usize + at;
                    self.src.push(
                        Severity::Warning,
                        Code::InvalidUtf8,
                        index,
                        (at, at + 1),
                        None,
                        "comment is not valid UTF-8".into(),
                        Some("it is kept byte for byte; only comments may hold such bytes".into()),
                    );
                }
            }
            LineKind::Bad => self.bad_line(index),
            LineKind::Tokens => self.token_line(index),
        }
    }

    fn bad_line(&mut self, index: usize) {
        let line = &self.src.lexed().lines[index];
        let start = line.start as usize;
        let (code, at, message, hint) = match line.problem {
            Some(LexProblem::Nul(at)) => (
                Code::NulByte,
                at,
                "NUL byte in the file".to_string(),
                Some("lvs.cf is a text file; the line is refused rather than cut at the NUL"),
            ),
            Some(LexProblem::StrayCarriageReturn(at)) => (
                Code::StrayCarriageReturn,
                at,
                "carriage return inside a line".to_string(),
                Some("lines may end in LF or CR LF; a lone CR is refused so that lines are never merged"),
            ),
            Some(LexProblem::InvalidUtf8(at)) => (
                Code::InvalidUtf8,
                at,
                "invalid UTF-8".to_string(),
                Some("keywords and values must be UTF-8 text"),
            ),
            Some(LexProblem::UnterminatedQuote(at)) => (
                Code::QuotationMismatch,
                at,
                "quotation mismatch: this quote is not closed on the same line".to_string(),
                Some("a quoted value ends at the next quote of the same kind on the same line"),
            ),
            Some(LexProblem::TextAfterQuote(at)) => (
                Code::QuotationMismatch,
                at,
                "quotation mismatch: text follows the closing quote".to_string(),
                Some("separate it with a blank, or put it inside the quotes"),
            ),
            Some(LexProblem::TooManyTokens(at)) => (
                Code::TooManyTokens,
                at,
                format!(
                    "too many words on one line (more than {})",
                    crate::syntax::MAX_TOKENS_PER_LINE
                ),
                None,
            ),
            None | Some(LexProblem::GluedQuote(_)) => return,
        };
        self.src.push(
            Severity::Error,
            code,
            index,
            (start + at, start + at + 1),
            None,
            message,
            hint.map(str::to_string),
        );
    }

    fn token_line(&mut self, index: usize) {
        let line = &self.src.lexed().lines[index];
        if let Some(LexProblem::GluedQuote(at)) = line.problem {
            let at = line.start as usize + at;
            self.src.push(
                Severity::Warning,
                Code::QuotationMismatch,
                index,
                (at, at + 1),
                None,
                "text follows a closing quote: read as Piranha read it, the quoted value runs to the last quote of the word (or, when blanks follow, to the next quote), inner quotes included".into(),
                Some("write the value with one pair of quotes around it; `\\\"` inside send/expect is a quote for nanny".into()),
            );
        }
        let tokens = self.src.tokens(index);
        let first = tokens[0];
        let word = self.src.token_text(&first);
        let bare = first.quote == 0;
        if self.blocks.take_lone_brace() && bare && word == "{" && tokens.len() == 1 {
            return;
        }
        if bare && word == "}" {
            self.blocks.close(&mut self.src, index, tokens);
            return;
        }
        if bare && is_block_word(word) {
            self.blocks
                .open(&mut self.src, &mut self.config, index, tokens, word);
            return;
        }
        self.assignment(index, tokens);
    }

    fn assignment(&mut self, index: usize, tokens: &[Token]) {
        let (level, block) = self.blocks.current();
        let key_text = self.src.token_text(&tokens[0]);
        let Some(keyword) = keywords::lookup(level, key_text).filter(|_| tokens[0].quote == 0)
        else {
            self.unknown_keyword(index, &tokens[0], level, block);
            return;
        };
        if tokens.len() == 1 || self.src.token_text(&tokens[1]) != "=" || tokens[1].quote != 0 {
            let at = tokens.get(1).copied().unwrap_or(tokens[0]);
            let hint = match tokens.get(1).map(|t| self.src.token_text(t)) {
                Some(t) if t.starts_with('=') => Some(format!(
                    "put a blank after the `=`: `{} = {}`",
                    keyword.name,
                    &t[1..]
                )),
                _ => Some(format!("write `{} = VALUE`", keyword.name)),
            };
            self.src.at_token(
                Severity::Error,
                Code::EqualExpected,
                index,
                &at,
                Some(keyword.name),
                format!("equal (=) expected after `{}`", keyword.name),
                hint,
            );
            return;
        }
        let values = &tokens[2..];
        if values.is_empty() {
            self.src.at_token(
                Severity::Error,
                Code::MissingArguments,
                index,
                &tokens[1],
                Some(keyword.name),
                format!(
                    "missing arguments: a value is expected after `{} =`",
                    keyword.name
                ),
                None,
            );
            return;
        }
        // Duplicate keys: the last one wins, as in Piranha, but say so.
        // Keys are the table's own `&'static str`s: comparing addresses is
        // enough and keeps this per-line check cheap.
        if let Some((_, previous)) = self
            .blocks
            .structure()
            .keys(block)
            .find(|(k, _)| std::ptr::eq(*k, keyword.name))
        {
            let place = self.blocks.place(&self.config, block);
            self.src.at_token(
                Severity::Warning,
                Code::DuplicateKey,
                index,
                &tokens[0],
                Some(keyword.name),
                format!(
                    "duplicate `{}` in {place} (first set on line {}); this later one wins",
                    keyword.name,
                    previous + 1
                ),
                Some("remove one of the two lines".into()),
            );
        }
        self.blocks.push_key(block, keyword.name, index);
        // Most values are one or two words: avoid an allocation per line.
        let mut inline = [""; 4];
        let heap: Vec<&str>;
        let words: &[&str] = if values.len() <= inline.len() {
            for (slot, t) in inline.iter_mut().zip(values) {
                *slot = self.src.token_text(t);
            }
            &inline[..values.len()]
        } else {
            heap = values.iter().map(|t| self.src.token_text(t)).collect();
            &heap
        };
        let mut notes = Vec::new();
        let result = parse_value(keyword, words, values, &mut notes)
            .and_then(|v| apply(&mut self.config, self.blocks.structure(), keyword, block, v));
        match result {
            Ok(warnings) => {
                for w in notes.into_iter().chain(warnings) {
                    self.report(index, keyword, &tokens[0], values, w);
                }
            }
            Err(problem) => self.report(index, keyword, &tokens[0], values, problem),
        }
    }

    fn report(
        &mut self,
        index: usize,
        keyword: &Keyword,
        key_token: &Token,
        values: &[Token],
        problem: Problem,
    ) {
        let at = match problem.token {
            Some(i) => values
                .get(i)
                .or(values.last())
                .copied()
                .unwrap_or(*key_token),
            None => *key_token,
        };
        self.src.at_token(
            problem.severity,
            problem.code,
            index,
            &at,
            Some(keyword.name),
            problem.message,
            problem.hint,
        );
    }

    fn unknown_keyword(&mut self, index: usize, token: &Token, level: Level, block: Option<usize>) {
        let word = self.src.token_text(token);
        let place = self.blocks.place(&self.config, block);
        let mut hint = None;
        if let Some((key, _)) = word.split_once('=') {
            if keywords::lookup(level, key).is_some() {
                hint = Some(format!(
                    "the `=` needs blanks around it: `{key} = {}`",
                    &word[key.len() + 1..]
                ));
            }
        }
        let elsewhere = [Level::Global, Level::Virtual, Level::Server]
            .into_iter()
            .filter(|l| *l != level)
            .find(|l| keywords::lookup(*l, word).is_some());
        if hint.is_none() {
            if let Some(l) = elsewhere {
                let where_ = match l {
                    Level::Global => "in the global section",
                    Level::Virtual => "inside a virtual block",
                    Level::Server => "inside a server block",
                };
                hint = Some(format!("`{word}` is only accepted {where_}"));
            } else if let Some(near) = closest(word, &keywords::names_at(level)) {
                hint = Some(format!("did you mean `{near}`?"));
            }
        }
        let expected = match level {
            Level::Global => "a global keyword, `virtual NAME {` or `failover NAME {`",
            Level::Virtual => "a virtual-server keyword, `server NAME {` or `}`",
            Level::Server => "a real-server keyword (address, active, port, weight) or `}`",
        };
        self.src.at_token(
            Severity::Error,
            Code::UnknownCommand,
            index,
            token,
            Some(word),
            format!("unknown command `{word}` in {place}; expected {expected}"),
            hint,
        );
    }
}

/// Levenshtein distance, for "did you mean".
fn closest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = if ca == *cb {
                    prev
                } else {
                    1 + prev.min(row[j]).min(row[j + 1])
                };
                prev = cur;
            }
        }
        row[b.len()]
    };
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
