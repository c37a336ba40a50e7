//! From lines and tokens to the typed [`Config`], the block structure the
//! editor needs, and every diagnostic (spec 1.1-1.9 plus DESIGN.md's
//! compatibility decisions).

use crate::diag::{Code, Diagnostic, Severity};
use crate::keywords::{self, Key, Keyword, Level, ValueKind};
use crate::model::*;
use crate::syntax::{LexProblem, Lexed, LineKind, Token};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Longest accepted send/expect/program text, in bytes.
pub const MAX_TEXT_BYTES: usize = 8192;
/// Most words accepted in a command line.
pub const MAX_COMMAND_WORDS: usize = 256;
/// Longest interface name (IFNAMSIZ - 1).
pub const MAX_DEVICE_LEN: usize = 15;

/// Kind of block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// `virtual NAME {`.
    Virtual,
    /// `failover NAME {`.
    Failover,
    /// `server NAME {`.
    Server,
}

impl BlockKind {
    /// The keyword that opens it.
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::Virtual => "virtual",
            BlockKind::Failover => "failover",
            BlockKind::Server => "server",
        }
    }

    /// The level of the keywords inside.
    pub fn level(self) -> Level {
        match self {
            BlockKind::Virtual | BlockKind::Failover => Level::Virtual,
            BlockKind::Server => Level::Server,
        }
    }
}

/// Where a block sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Its kind.
    pub kind: BlockKind,
    /// Line index (0-based) of the `kind NAME {` line.
    pub header: usize,
    /// Line index of its `}`; `None` when the file ends first.
    pub close: Option<usize>,
    /// For a server, the index of its virtual/failover block in `blocks`.
    pub parent: Option<usize>,
    /// Index in `Config::virtuals`/`failovers` or in the parent's `servers`.
    pub config_index: usize,
    /// For a virtual or failover block, its server blocks in order.
    pub children: Vec<usize>,
    /// Newest of its keyword lines in [`Structure`]'s key list.
    last_key: u32,
}

/// No keyword line (end of a block's chain of keyword lines).
const NO_KEY: u32 = u32::MAX;

/// One keyword line, chained to the previous one of the same block. One
/// list for the whole file instead of a `Vec` per block: a 20,000-server
/// file would otherwise allocate 20,000 small vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyLine {
    key: &'static str,
    line: u32,
    previous: u32,
}

/// The keyword lines and blocks of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    /// Every block, in file order of their headers.
    pub blocks: Vec<BlockInfo>,
    /// Block index of each `Config::virtuals` entry.
    pub virtual_blocks: Vec<usize>,
    /// Block index of each `Config::failovers` entry.
    pub failover_blocks: Vec<usize>,
    key_lines: Vec<KeyLine>,
    global_last_key: u32,
}

impl Default for Structure {
    fn default() -> Self {
        Structure {
            blocks: Vec::new(),
            virtual_blocks: Vec::new(),
            failover_blocks: Vec::new(),
            key_lines: Vec::new(),
            global_last_key: NO_KEY,
        }
    }
}

/// The keyword lines of a block (or of the global section), newest first,
/// as `(keyword, line index)`.
pub struct Keys<'s> {
    lines: &'s [KeyLine],
    next: u32,
}

impl Iterator for Keys<'_> {
    type Item = (&'static str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let k = self.lines.get(self.next as usize)?;
        self.next = k.previous;
        Some((k.key, k.line as usize))
    }
}

impl Structure {
    /// Room for a file of `lines` lines, so that the lists never grow by
    /// copying while a large file is read (untouched capacity costs nothing).
    fn with_capacity(lines: usize) -> Structure {
        Structure {
            key_lines: Vec::with_capacity(lines),
            // A block takes at least a header and a `}`, usually a few
            // keyword lines more.
            blocks: Vec::with_capacity(lines / 5),
            ..Structure::default()
        }
    }

    /// The keyword lines of a block (`None` = global), newest first.
    pub fn keys(&self, block: Option<usize>) -> Keys<'_> {
        let next = match block {
            Some(b) => self.blocks.get(b).map_or(NO_KEY, |info| info.last_key),
            None => self.global_last_key,
        };
        Keys {
            lines: &self.key_lines,
            next,
        }
    }

    fn push_key(&mut self, block: Option<usize>, key: &'static str, line: usize) {
        let slot = match block {
            Some(b) => &mut self.blocks[b].last_key,
            None => &mut self.global_last_key,
        };
        self.key_lines.push(KeyLine {
            key,
            line: line as u32,
            previous: *slot,
        });
        *slot = (self.key_lines.len() - 1) as u32;
    }

    /// The last line of a key in a block (`None` = global), if present.
    pub fn key_line(&self, block: Option<usize>, key: &str) -> Option<usize> {
        self.keys(block).find(|(k, _)| *k == key).map(|(_, l)| l)
    }

    /// The name of a block, as the configuration holds it.
    pub fn block_name<'c>(&self, config: &'c Config, block: usize) -> &'c str {
        let Some(info) = self.blocks.get(block) else {
            return "";
        };
        let list = |kind| {
            if kind == BlockKind::Failover {
                &config.failovers
            } else {
                &config.virtuals
            }
        };
        let name = match (info.kind, info.parent) {
            (BlockKind::Server, Some(parent)) => self.blocks.get(parent).and_then(|p| {
                list(p.kind)
                    .get(p.config_index)?
                    .servers
                    .get(info.config_index)
                    .map(|s| s.name.as_str())
            }),
            (kind, _) => list(kind).get(info.config_index).map(|v| v.name.as_str()),
        };
        name.unwrap_or("")
    }

    /// The block describing `config.virtuals[index]` (or `failovers`).
    pub fn virtual_block(&self, failover: bool, index: usize) -> Option<usize> {
        let list = if failover {
            &self.failover_blocks
        } else {
            &self.virtual_blocks
        };
        list.get(index).copied()
    }

    /// The block of server `server` of the virtual block `virtual_block`.
    pub fn server_block(&self, virtual_block: usize, server: usize) -> Option<usize> {
        self.blocks
            .get(virtual_block)?
            .children
            .get(server)
            .copied()
    }
}

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

/// Analyses a lexed file.
pub fn analyze(text: &[u8], lexed: &Lexed) -> Analysis {
    let mut a = Analyzer {
        text,
        whole: std::str::from_utf8(text).ok(),
        lexed,
        diags: Vec::new(),
        config: Config::default(),
        structure: Structure::with_capacity(lexed.lines.len()),
        current_virtual: None,
        current_server: None,
        lone_brace_expected: false,
    };
    if text.is_empty() {
        a.diags.push(Diagnostic {
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
    for index in 0..lexed.lines.len() {
        a.line(index);
    }
    a.finish();
    crate::validate::validate(text, lexed, &a.config, &a.structure, &mut a.diags);
    let mut diagnostics = a.diags;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Analysis {
        config: a.config,
        structure: a.structure,
        diagnostics,
    }
}

struct Analyzer<'a> {
    text: &'a [u8],
    /// The text as `str` when the whole file is UTF-8 (the common case).
    whole: Option<&'a str>,
    lexed: &'a Lexed,
    diags: Vec<Diagnostic>,
    config: Config,
    structure: Structure,
    /// Block index of the open virtual/failover block.
    current_virtual: Option<usize>,
    /// Block index of the open server block.
    current_server: Option<usize>,
    /// A block header lacked its `{`; a lone `{` on the next line is eaten.
    lone_brace_expected: bool,
}

/// A problem with a value, before it is located.
struct Problem {
    code: Code,
    message: String,
    hint: Option<String>,
    /// Which value token (0 = first after `=`); `None` = the keyword.
    token: Option<usize>,
    severity: Severity,
}

impl Problem {
    fn error(code: Code, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
            hint: None,
            token: Some(0),
            severity: Severity::Error,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    fn at(mut self, token: usize) -> Problem {
        self.token = Some(token);
        self
    }

    fn warning(mut self) -> Problem {
        self.severity = Severity::Warning;
        self
    }
}

/// A parsed value, before it is stored in the config.
enum Value<'w> {
    Int(u64),
    Bool(bool),
    Host(Host),
    HostDevice(AddressOnDevice),
    Ip(IpAddr),
    Netmask(Option<Netmask>),
    Pmask(Option<Pmask>),
    Port(u16),
    Seconds(Duration),
    Text(&'w str),
    List(Vec<String>),
}

pub(crate) fn line_text(text: &[u8], lexed: &Lexed, index: usize) -> String {
    let line = &lexed.lines[index];
    String::from_utf8_lossy(&text[line.start as usize..line.end as usize]).into_owned()
}

/// 1-based character column of byte `offset` in `line`.
pub(crate) fn column_of(line: &str, offset: usize) -> usize {
    let offset = offset.min(line.len());
    let mut cut = offset;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    line[..cut].chars().count() + 1
}

impl<'a> Analyzer<'a> {
    fn tokens(&self, index: usize) -> &'a [Token] {
        let line = &self.lexed.lines[index];
        &self.lexed.tokens
            [line.first_token as usize..(line.first_token + line.token_count) as usize]
    }

    fn token_text(&self, token: &Token) -> &'a str {
        // Token lines were validated as UTF-8 by the lexer.
        match self.whole {
            Some(w) => w.get(token.value_range()).unwrap_or(""),
            None => std::str::from_utf8(&self.text[token.value_range()]).unwrap_or(""),
        }
    }

    #[allow(clippy::too_many_arguments)] // every argument is a distinct part of a diagnostic
    fn push(
        &mut self,
        severity: Severity,
        code: Code,
        index: usize,
        byte_range: (usize, usize),
        keyword: Option<&str>,
        message: String,
        hint: Option<String>,
    ) {
        let source_line = line_text(self.text, self.lexed, index);
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

    #[allow(clippy::too_many_arguments)] // every argument is a distinct part of a diagnostic
    fn at_token(
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

    fn line(&mut self, index: usize) {
        let line = &self.lexed.lines[index];
        match line.kind {
            LineKind::Blank => {}
            LineKind::Comment => {
                if let Some(LexProblem::InvalidUtf8(at)) = line.problem {
                    let at = line.start as usize + at;
                    self.push(
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
        let line = &self.lexed.lines[index];
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
            None => return,
        };
        self.push(
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
        let tokens = self.tokens(index);
        let first = tokens[0];
        let word = self.token_text(&first);
        let bare = first.quote == 0;
        if self.lone_brace_expected {
            self.lone_brace_expected = false;
            if bare && word == "{" && tokens.len() == 1 {
                return;
            }
        }
        if bare && word == "}" {
            self.close_block(index, tokens);
            return;
        }
        if bare && is_block_word(word) {
            self.open_block(index, tokens, word);
            return;
        }
        self.assignment(index, tokens);
    }

    fn close_block(&mut self, index: usize, tokens: &[Token]) {
        let closed = if let Some(server) = self.current_server.take() {
            Some(server)
        } else {
            self.current_virtual.take()
        };
        match closed {
            Some(block) => {
                self.structure.blocks[block].close = Some(index);
                if tokens.len() > 1 {
                    let from = tokens[1].start as usize;
                    let to = tokens[tokens.len() - 1].end as usize;
                    self.push(
                        Severity::Warning,
                        Code::TextAfterBrace,
                        index,
                        (from, to),
                        None,
                        "text after `}` is ignored".into(),
                        Some("Piranha ignored it too; remove it or make it a comment line".into()),
                    );
                }
            }
            None => self.at_token(
                Severity::Error,
                Code::UnbalancedBrace,
                index,
                &tokens[0],
                None,
                "unknown command `}`: no block is open here".into(),
                Some("remove this `}` or the `}` that closed the block too early".into()),
            ),
        }
    }

    fn open_block(&mut self, index: usize, tokens: &[Token], word: &str) {
        let kind = match word {
            "virtual" => BlockKind::Virtual,
            "failover" => BlockKind::Failover,
            _ => BlockKind::Server,
        };
        let shape_ok =
            tokens.len() == 3 && tokens[2].quote == 0 && self.token_text(&tokens[2]) == "{";
        if !shape_ok {
            let (code, at, message, hint) = match tokens.len() {
                1 => (
                    Code::MissingArguments,
                    &tokens[0],
                    format!("missing arguments: `{word}` needs a name and `{{`"),
                    format!("write `{word} NAME {{` on one line"),
                ),
                2 => (
                    Code::MissingArguments,
                    &tokens[1],
                    format!("missing arguments: `{{` expected after `{word} NAME`"),
                    "the `{` must be on the same line as the block name".to_string(),
                ),
                3 => (
                    Code::InvalidArgument,
                    &tokens[2],
                    format!("`{{` expected after `{word} NAME`"),
                    format!("write `{word} NAME {{`; block names cannot contain blanks"),
                ),
                _ => (
                    Code::UnexpectedArguments,
                    &tokens[3],
                    format!("unexpected arguments after `{word} NAME {{`"),
                    "block names are one word; nothing may follow the `{`".to_string(),
                ),
            };
            let at = *at;
            self.at_token(
                Severity::Error,
                code,
                index,
                &at,
                Some(word),
                message,
                Some(hint),
            );
            if tokens.len() != 2 {
                return;
            }
            // `virtual NAME` alone: recover by opening the block, so one
            // misplaced brace is reported once rather than on every line.
            self.lone_brace_expected = true;
        }
        let name = self.token_text(&tokens[1]).to_string();
        match kind {
            BlockKind::Server => {
                let Some(parent) = self.current_virtual else {
                    self.at_token(
                        Severity::Error,
                        Code::UnknownCommand,
                        index,
                        &tokens[0],
                        Some("server"),
                        "unknown command `server`: server blocks belong inside a virtual block"
                            .into(),
                        None,
                    );
                    return;
                };
                if let Some(open) = self.current_server {
                    let open_name = self.structure.block_name(&self.config, open).to_string();
                    self.at_token(
                        Severity::Error,
                        Code::UnbalancedBrace,
                        index,
                        &tokens[0],
                        Some("server"),
                        format!("server block inside server `{open_name}`: a `}}` is missing"),
                        Some(format!("close `server {open_name}` before this line")),
                    );
                    self.structure.blocks[open].close = None;
                }
                let parent_kind = self.structure.blocks[parent].kind;
                let vindex = self.structure.blocks[parent].config_index;
                let list = if parent_kind == BlockKind::Failover {
                    &mut self.config.failovers
                } else {
                    &mut self.config.virtuals
                };
                let servers = &mut list[vindex].servers;
                servers.push(RealServer::new(name));
                let config_index = servers.len() - 1;
                self.structure.blocks.push(BlockInfo {
                    kind,
                    header: index,
                    close: None,
                    parent: Some(parent),
                    config_index,
                    children: Vec::new(),
                    last_key: NO_KEY,
                });
                let block = self.structure.blocks.len() - 1;
                self.structure.blocks[parent].children.push(block);
                self.current_server = Some(block);
            }
            BlockKind::Virtual | BlockKind::Failover => {
                if let Some(open) = self.current_virtual {
                    let open_name = self.structure.block_name(&self.config, open).to_string();
                    let open_kind = self.structure.blocks[open].kind.keyword();
                    self.at_token(
                        Severity::Error,
                        Code::UnbalancedBrace,
                        index,
                        &tokens[0],
                        Some(word),
                        format!("{word} block inside {open_kind} `{open_name}`: a `}}` is missing"),
                        Some(format!("close `{open_kind} {open_name}` before this line")),
                    );
                    self.current_server = None;
                }
                let list = if kind == BlockKind::Failover {
                    &mut self.config.failovers
                } else {
                    &mut self.config.virtuals
                };
                list.push(VirtualServer::new(name));
                let config_index = list.len() - 1;
                self.structure.blocks.push(BlockInfo {
                    kind,
                    header: index,
                    close: None,
                    parent: None,
                    config_index,
                    children: Vec::new(),
                    last_key: NO_KEY,
                });
                let block = self.structure.blocks.len() - 1;
                if kind == BlockKind::Failover {
                    self.structure.failover_blocks.push(block);
                } else {
                    self.structure.virtual_blocks.push(block);
                }
                self.current_virtual = Some(block);
            }
        }
    }

    fn level(&self) -> (Level, Option<usize>) {
        if let Some(server) = self.current_server {
            (Level::Server, Some(server))
        } else if let Some(v) = self.current_virtual {
            (Level::Virtual, Some(v))
        } else {
            (Level::Global, None)
        }
    }

    fn level_name(&self, block: Option<usize>) -> String {
        match block {
            Some(b) => {
                let info = &self.structure.blocks[b];
                format!(
                    "{} block `{}`",
                    info.kind.keyword(),
                    self.structure.block_name(&self.config, b)
                )
            }
            None => "the global section".to_string(),
        }
    }

    fn assignment(&mut self, index: usize, tokens: &[Token]) {
        let (level, block) = self.level();
        let key_text = self.token_text(&tokens[0]);
        let Some(keyword) = keywords::lookup(level, key_text).filter(|_| tokens[0].quote == 0)
        else {
            self.unknown_keyword(index, &tokens[0], level, block);
            return;
        };
        if tokens.len() == 1 || self.token_text(&tokens[1]) != "=" || tokens[1].quote != 0 {
            let at = tokens.get(1).copied().unwrap_or(tokens[0]);
            let hint = match tokens.get(1).map(|t| self.token_text(t)) {
                Some(t) if t.starts_with('=') => Some(format!(
                    "put a blank after the `=`: `{} = {}`",
                    keyword.name,
                    &t[1..]
                )),
                _ => Some(format!("write `{} = VALUE`", keyword.name)),
            };
            self.at_token(
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
            self.at_token(
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
            .structure
            .keys(block)
            .find(|(k, _)| std::ptr::eq(*k, keyword.name))
        {
            let place = self.level_name(block);
            self.at_token(
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
        self.structure.push_key(block, keyword.name, index);
        // Most values are one or two words: avoid an allocation per line.
        let mut inline = [""; 4];
        let heap: Vec<&str>;
        let words: &[&str] = if values.len() <= inline.len() {
            for (slot, t) in inline.iter_mut().zip(values) {
                *slot = self.token_text(t);
            }
            &inline[..values.len()]
        } else {
            heap = values.iter().map(|t| self.token_text(t)).collect();
            &heap
        };
        let result =
            parse_value(keyword, words, values).and_then(|v| self.apply(keyword, block, v));
        match result {
            Ok(warnings) => {
                for w in warnings {
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
        self.at_token(
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
        let word = self.token_text(token);
        let place = self.level_name(block);
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
        self.at_token(
            Severity::Error,
            Code::UnknownCommand,
            index,
            token,
            Some(word),
            format!("unknown command `{word}` in {place}; expected {expected}"),
            hint,
        );
    }

    fn finish(&mut self) {
        let open: Vec<usize> = self
            .current_server
            .into_iter()
            .chain(self.current_virtual)
            .collect();
        for block in open {
            let info = &self.structure.blocks[block];
            let header = info.header;
            let message = format!(
                "{} block `{}` is not closed; it ends at the end of the file",
                info.kind.keyword(),
                self.structure.block_name(&self.config, block)
            );
            let line = &self.lexed.lines[header];
            self.push(
                Severity::Warning,
                Code::MissingCloseBrace,
                header,
                (line.start as usize, line.end as usize),
                Some(info.kind.keyword()),
                message,
                Some("add the missing `}`".into()),
            );
        }
    }

    /// Stores a value. Returns warnings, or the problem that stops it.
    fn apply(
        &mut self,
        keyword: &Keyword,
        block: Option<usize>,
        value: Value<'_>,
    ) -> Result<Vec<Problem>, Problem> {
        let mut warnings = Vec::new();
        if let Value::Host(Host::Name(name)) = &value {
            warnings.push(host_name_warning(name));
        }
        if let Value::HostDevice(AddressOnDevice {
            host: Host::Name(name),
            ..
        }) = &value
        {
            warnings.push(host_name_warning(name));
        }
        match block {
            None => self.apply_global(keyword.key, value, &mut warnings)?,
            Some(b) => {
                let info = &self.structure.blocks[b];
                match info.kind {
                    BlockKind::Server => {
                        let parent = info.parent.unwrap_or(0);
                        let sindex = info.config_index;
                        let pinfo = &self.structure.blocks[parent];
                        let list = if pinfo.kind == BlockKind::Failover {
                            &mut self.config.failovers
                        } else {
                            &mut self.config.virtuals
                        };
                        let server = &mut list[pinfo.config_index].servers[sindex];
                        apply_server(server, keyword.key, value)?;
                    }
                    kind => {
                        let list = if kind == BlockKind::Failover {
                            &mut self.config.failovers
                        } else {
                            &mut self.config.virtuals
                        };
                        let v = &mut list[info.config_index];
                        apply_virtual(v, keyword.key, value, &mut warnings)?;
                    }
                }
            }
        }
        Ok(warnings)
    }

    fn apply_global(
        &mut self,
        key: Key,
        value: Value<'_>,
        warnings: &mut Vec<Problem>,
    ) -> Result<(), Problem> {
        let c = &mut self.config;
        match (key, value) {
            (Key::SerialNo, Value::Int(n)) => c.serial_no = n,
            (Key::Primary, Value::Host(h)) => {
                if is_unspecified(&h) {
                    return Err(Problem::error(
                        Code::InvalidHost,
                        "invalid host name or ip address: 0.0.0.0 is not a router address",
                    ));
                }
                c.primary = Some(h)
            }
            (Key::PrimaryPrivate, Value::Host(h)) => {
                c.primary_private = Some(not_unspecified(h, "primary_private")?)
            }
            (Key::BackupPrivate, Value::Host(h)) => {
                c.backup_private = Some(not_unspecified(h, "backup_private")?)
            }
            (Key::PrimaryShared, Value::Text(s)) => c.primary_shared = Some(s.to_string()),
            (Key::BackupShared, Value::Text(s)) => c.backup_shared = Some(s.to_string()),
            (Key::Service, Value::Text(s)) => {
                c.service = ServiceKind::from_keyword(s).unwrap_or(ServiceKind::Lvs)
            }
            (Key::RshCommand, Value::Text(s)) => c.rsh_command = s.to_string(),
            (Key::BackupActive, Value::Bool(b)) => c.backup_active = b,
            (Key::Backup, Value::Host(h)) => c.backup = Some(h),
            (Key::Heartbeat, Value::Bool(b)) => c.heartbeat = b,
            (Key::HeartbeatPort, Value::Port(p)) => c.heartbeat_port = p,
            (Key::HeartbeatKey, Value::Text(s)) => c.heartbeat_key = Some(s.to_string()),
            (Key::HeartbeatAuth, Value::Text(s)) => {
                c.heartbeat_auth = HeartbeatAuth::from_keyword(s)
            }
            (Key::Keepalive, Value::Seconds(d)) => c.keepalive = d,
            (Key::Deadtime, Value::Seconds(d)) => c.deadtime = d,
            (Key::Network, Value::Text(s)) => {
                c.network = Network::from_keyword(s).unwrap_or(Network::Nat)
            }
            (Key::NatRouter, Value::HostDevice(a)) => c.nat_router = Some(a),
            (Key::NatNmask, Value::Netmask(m)) => c.nat_nmask = m,
            (Key::ReservationConflictAction, Value::Text(s)) => {
                c.reservation_conflict_action = ReservationConflictAction::from_keyword(s)
            }
            (Key::DebugLevel, Value::Text(s)) => c.debug_level = s.to_string(),
            (Key::MonitorLinks, Value::Int(n)) => c.monitor_links = n != 0,
            (Key::Syncdaemon, Value::Bool(b)) => c.syncdaemon = b,
            (Key::SyncdIface, Value::Text(s)) => {
                check_device(s)?;
                c.syncd_iface = s.to_string()
            }
            (Key::SyncdId, Value::Int(n)) => {
                if n > 255 {
                    warnings.push(
                        Problem::error(
                            Code::SyncdIdWrapped,
                            format!(
                                "syncd_id {n} is above 255; it is used modulo 256, as {}",
                                n % 256
                            ),
                        )
                        .hint(format!("write `syncd_id = {}`", n % 256))
                        .warning(),
                    );
                }
                c.syncd_id = (n % 256) as u8
            }
            (Key::TcpTimeout, Value::Int(n)) => c.tcp_timeout = to_u32(n)?,
            (Key::TcpfinTimeout, Value::Int(n)) => c.tcpfin_timeout = to_u32(n)?,
            (Key::UdpTimeout, Value::Int(n)) => c.udp_timeout = to_u32(n)?,
            (Key::ActiveCmd, Value::Text(s)) => c.active_cmd = Some(CommandLine::new(s)),
            (Key::InactiveCmd, Value::Text(s)) => c.inactive_cmd = Some(CommandLine::new(s)),
            (Key::HardShutdown, Value::Bool(b)) => c.hard_shutdown = b,
            (Key::Ipvsadm, Value::Text(s)) => c.ipvsadm = s.to_string(),
            (Key::Sync, Value::Bool(b)) => c.sync = b,
            _ => {}
        }
        Ok(())
    }
}

fn apply_virtual(
    v: &mut VirtualServer,
    key: Key,
    value: Value<'_>,
    warnings: &mut Vec<Problem>,
) -> Result<(), Problem> {
    match (key, value) {
        (Key::Active, Value::Bool(b)) => v.active = b,
        (Key::Address, Value::HostDevice(a)) => v.address = Some(a),
        (Key::SorryServer, Value::Ip(ip)) => v.sorry_server = Some(ip),
        (Key::VipNmask, Value::Netmask(m)) => v.vip_nmask = m,
        (Key::Fwmark, Value::Int(n)) => {
            let n = to_u32(n)?;
            v.fwmark = (n != 0).then_some(n)
        }
        (Key::Port, Value::Port(p)) => {
            // Piranha gave a server without `port` the virtual's port as it
            // was when the server line was read. Keep that meaning.
            let earlier: Vec<String> = v
                .servers
                .iter()
                .filter(|s| s.port.is_none())
                .map(|s| s.name.clone())
                .collect();
            if !earlier.is_empty() && p != v.port {
                let old = v.port;
                for s in v.servers.iter_mut().filter(|s| s.port.is_none()) {
                    s.port = Some(old);
                }
                warnings.push(
                    Problem::error(
                        Code::PortAfterServers,
                        format!(
                            "`port` comes after server block(s) {}: they keep port {old}, as Piranha read them",
                            earlier.join(", ")
                        ),
                    )
                    .hint("move `port` above the server blocks, or give each server its own `port`")
                    .warning(),
                );
            }
            v.port = p
        }
        (Key::Persistent, Value::Int(n)) => v.persistent = to_u32(n)?,
        (Key::Pmask, Value::Pmask(m)) => v.pmask = m,
        (Key::Send, Value::Text(s)) => v.send = Some(s.to_string()),
        (Key::Expect, Value::Text(s)) => v.expect = Some(s.to_string()),
        (Key::UseRegex, Value::Bool(b)) => v.use_regex = b,
        (Key::SendProgram, Value::Text(s)) => v.send_program = Some(CommandLine::new(s)),
        (Key::LoadMonitor, Value::Text(s)) => {
            v.load_monitor = LoadMonitor::from_keyword(s).unwrap_or(LoadMonitor::None)
        }
        (Key::Scheduler, Value::Text(s)) => {
            v.scheduler = Scheduler::from_keyword(s).unwrap_or(Scheduler::Wlc)
        }
        (Key::Protocol, Value::Text(s)) => {
            v.protocol = Protocol::from_keyword(s).unwrap_or(Protocol::Tcp)
        }
        (Key::Timeout, Value::Int(n)) => {
            if n == 0 {
                return Err(Problem::error(
                    Code::OutOfRange,
                    "timeout must be at least 1 second (0 made Piranha's nanny divide by zero)",
                ));
            }
            v.timeout = to_u32(n)?
        }
        (Key::Reentry, Value::Int(n)) => v.reentry = to_u32(n)?,
        (Key::QuiesceServer, Value::Bool(b)) => v.quiesce_server = b,
        (Key::ClientMonitor, Value::Text(s)) => v.client_monitor = s.to_string(),
        (Key::StartCmd, Value::Text(s)) => v.start_cmd = Some(s.to_string()),
        (Key::StopCmd, Value::Text(s)) => v.stop_cmd = Some(s.to_string()),
        (Key::Master, Value::Host(h)) => v.master = Some(h),
        (Key::Dirs, Value::List(l)) => v.dirs = Some(l),
        _ => {}
    }
    Ok(())
}

fn apply_server(s: &mut RealServer, key: Key, value: Value) -> Result<(), Problem> {
    match (key, value) {
        (Key::Address, Value::Host(h)) => s.address = Some(h),
        (Key::Active, Value::Bool(b)) => s.active = b,
        (Key::Port, Value::Port(p)) => s.port = Some(p),
        (Key::Weight, Value::Int(n)) => {
            if n > 65535 {
                return Err(Problem::error(
                    Code::OutOfRange,
                    format!("weight {n} is out of range: IPVS weights are 0 to 65535"),
                ));
            }
            s.weight = n as u32
        }
        _ => {}
    }
    Ok(())
}

/// `virtual`, `failover` or `server`. Looks at the first byte before
/// comparing strings: this runs for every line of the file.
fn is_block_word(word: &str) -> bool {
    match word.as_bytes().first() {
        Some(b'v') => word == "virtual",
        Some(b'f') => word == "failover",
        Some(b's') => word == "server",
        _ => false,
    }
}

fn host_name_warning(name: &str) -> Problem {
    Problem::error(
        Code::HostName,
        format!("`{name}` is a host name: it is resolved once when a daemon loads the file"),
    )
    .hint("write the address instead, so that loading never depends on DNS")
    .warning()
}

fn is_unspecified(h: &Host) -> bool {
    matches!(h, Host::Ip(ip) if ip.is_unspecified())
}

fn not_unspecified(h: Host, key: &str) -> Result<Host, Problem> {
    if is_unspecified(&h) {
        Err(Problem::error(
            Code::InvalidHost,
            format!("invalid host name or ip address: {key} cannot be 0.0.0.0"),
        ))
    } else {
        Ok(h)
    }
}

fn to_u32(n: u64) -> Result<u32, Problem> {
    u32::try_from(n).map_err(|_| {
        Problem::error(
            Code::OutOfRange,
            format!("{n} is out of range (at most {})", u32::MAX),
        )
    })
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

fn parse_value<'w>(
    keyword: &Keyword,
    words: &[&'w str],
    tokens: &[Token],
) -> Result<Value<'w>, Problem> {
    let name = keyword.name;
    let single = |words: &[&str]| -> Result<(), Problem> {
        if words.len() > 1 {
            let hint = if words[1].starts_with('#') {
                "comments must be on a line of their own".to_string()
            } else {
                format!("`{name}` takes one value; quote it if it contains blanks")
            };
            return Err(Problem::error(
                Code::UnexpectedArguments,
                format!("unexpected arguments after the value of `{name}`"),
            )
            .at(1)
            .hint(hint));
        }
        Ok(())
    };
    let word = words[0];
    match keyword.kind {
        ValueKind::Int => {
            single(words)?;
            Ok(Value::Int(parse_int(word)?))
        }
        ValueKind::Bool => {
            single(words)?;
            match word {
                "0" => Ok(Value::Bool(false)),
                "1" => Ok(Value::Bool(true)),
                _ => Err(Problem::error(
                    Code::BooleanExpected,
                    format!("boolean expected for `{name}`: 0 or 1, found `{word}`"),
                )),
            }
        }
        ValueKind::Host => {
            single(words)?;
            Ok(Value::Host(parse_host(word)?))
        }
        ValueKind::HostDevice => {
            if words.len() < 2 {
                return Err(Problem::error(
                    Code::MissingArguments,
                    format!("missing arguments: `{name}` needs an address and a device"),
                )
                .hint(format!("write `{name} = {word} eth0:1`")));
            }
            if words.len() > 2 {
                return Err(Problem::error(
                    Code::UnexpectedArguments,
                    format!("unexpected arguments: `{name}` takes an address and a device"),
                )
                .at(2));
            }
            let host = parse_host(word)?;
            check_device(words[1]).map_err(|p| p.at(1))?;
            Ok(Value::HostDevice(AddressOnDevice {
                host,
                device: words[1].to_string(),
            }))
        }
        ValueKind::IpOnly => {
            single(words)?;
            match parse_host(word)? {
                Host::Ip(ip) => Ok(Value::Ip(ip)),
                Host::Name(_) => Err(Problem::error(
                    Code::InvalidHost,
                    format!("invalid host name or ip address: `{name}` takes an IP address"),
                )
                .hint("host names are not accepted here, as in Piranha")),
            }
        }
        ValueKind::Netmask => {
            single(words)?;
            parse_netmask(word).map(|m| Value::Netmask(Some(m)))
        }
        ValueKind::Pmask => {
            single(words)?;
            if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
                // A prefix length (extension). The family is checked once
                // the virtual's address is known (validate.rs).
                return match word.parse::<u8>() {
                    Ok(p) if p <= 128 => Ok(Value::Pmask(Some(Pmask::Prefix(p)))),
                    _ => Err(Problem::error(
                        Code::OutOfRange,
                        format!("pmask prefix length {word} is out of range (0 to 128)"),
                    )),
                };
            }
            match parse_netmask(word) {
                Ok(m) if m.prefix_len() == 32 => Ok(Value::Pmask(None)),
                Ok(m) => Ok(Value::Pmask(Some(Pmask::Mask(m)))),
                Err(_) => Err(Problem::error(
                    Code::PmaskIgnored,
                    format!("pmask `{word}` is not a netmask; it is ignored, as Piranha did"),
                )
                .hint("write a netmask such as 255.255.255.0 (or a prefix length such as 64 for IPv6), or remove the line")
                .warning()),
            }
        }
        ValueKind::Port => {
            single(words)?;
            if word.bytes().all(|b| b.is_ascii_digit()) || word.starts_with(['-', '+']) {
                return parse_port(word).map(Value::Port);
            }
            if word.starts_with("0x") || word.starts_with("0X") {
                return parse_port(word).map(Value::Port);
            }
            keywords::service_port(word).map(Value::Port).ok_or_else(|| {
                Problem::error(
                    Code::InvalidArgument,
                    format!("invalid argument: `{word}` is not a port number nor a known service name"),
                )
                .hint("write the port number")
            })
        }
        ValueKind::PortNumber => {
            single(words)?;
            if keywords::service_port(word).is_some() {
                return Err(Problem::error(
                    Code::IntegerExpected,
                    format!("integer expected: a real server's port is a number, not `{word}`"),
                )
                .hint(format!(
                    "write `port = {}` (Piranha accepted service names only for the virtual's port)",
                    keywords::service_port(word).unwrap_or(0)
                )));
            }
            parse_port(word).map(Value::Port)
        }
        ValueKind::Seconds => {
            single(words)?;
            parse_seconds(word).map(Value::Seconds)
        }
        ValueKind::Word => {
            single(words)?;
            check_text(word, 256)?;
            Ok(Value::Text(word))
        }
        ValueKind::Text => {
            single(words)?;
            check_text(word, MAX_TEXT_BYTES)?;
            Ok(Value::Text(word))
        }
        ValueKind::Command => {
            single(words)?;
            check_text(word, MAX_TEXT_BYTES)?;
            let cmd = CommandLine::new(word);
            let argv = cmd.argv();
            let Some(program) = argv.first() else {
                return Err(Problem::error(
                    Code::MissingArguments,
                    format!("missing arguments: `{name}` is empty"),
                ));
            };
            if !program.starts_with('/') {
                return Err(Problem::error(
                    Code::RelativeProgram,
                    format!("`{program}` is not an absolute path: programs named in lvs.cf run without a shell and without a PATH search"),
                )
                .hint(format!("write the full path, e.g. `/usr/local/bin/{program}`")));
            }
            if argv.len() > MAX_COMMAND_WORDS {
                return Err(Problem::error(
                    Code::ValueTooLong,
                    format!(
                        "`{name}` has {} words; at most {MAX_COMMAND_WORDS} are accepted",
                        argv.len()
                    ),
                ));
            }
            Ok(Value::Text(word))
        }
        ValueKind::Path => {
            single(words)?;
            check_text(word, 4096)?;
            if !word.starts_with('/') {
                return Err(Problem::error(
                    Code::RelativeProgram,
                    format!("`{word}` is not an absolute path"),
                )
                .hint("write the full path"));
            }
            Ok(Value::Text(word))
        }
        ValueKind::Enum(values) => {
            single(words)?;
            if values.contains(&word) {
                return Ok(Value::Text(word));
            }
            let lower = word.to_ascii_lowercase();
            let hint = if values.contains(&lower.as_str()) {
                format!("values are lowercase: `{lower}`")
            } else {
                format!("expected one of: {}", values.join(", "))
            };
            Err(Problem::error(
                Code::InvalidArgument,
                format!("invalid argument `{word}` for `{name}`"),
            )
            .hint(hint))
        }
        ValueKind::List => {
            let last = words.len() - 1;
            if words.len() < 2
                || words[0] != "["
                || words[last] != "]"
                || tokens[0].quote != 0
                || tokens[last].quote != 0
            {
                return Err(Problem::error(
                    Code::ListExpected,
                    format!(
                        "list expected: `{name} = [ a b c ]` with the brackets as separate words"
                    ),
                ));
            }
            Ok(Value::List(
                words[1..last].iter().map(|s| s.to_string()).collect(),
            ))
        }
    }
}

fn check_text(text: &str, max: usize) -> Result<(), Problem> {
    if text.len() > max {
        return Err(Problem::error(
            Code::ValueTooLong,
            format!(
                "value is {} bytes long; at most {max} are accepted",
                text.len()
            ),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Problem::error(
            Code::InvalidArgument,
            "invalid argument: control characters are not allowed in values",
        )
        .hint("write escapes such as \\r\\n as two characters each; nanny translates them"));
    }
    Ok(())
}

/// Interface names: what the kernel accepts, minus what could be mistaken
/// for an option or a path by the tools that receive it.
fn check_device(device: &str) -> Result<(), Problem> {
    let bad = |why: &str| {
        Err(Problem::error(
            Code::InvalidDevice,
            format!("invalid device `{device}`: {why}"),
        )
        .hint("write an interface name such as `eth0` or an alias such as `eth0:1`"))
    };
    if device.is_empty() {
        return bad("empty");
    }
    if device.len() > MAX_DEVICE_LEN {
        return bad("longer than 15 characters");
    }
    if device.starts_with('-') {
        return bad("starts with `-`");
    }
    if device.contains("..") || device == "." {
        return bad("contains `..`");
    }
    if !device
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
    {
        return bad("only letters, digits and _ - . : @ are allowed");
    }
    Ok(())
}

fn parse_int(word: &str) -> Result<u64, Problem> {
    if let Some(rest) = word.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem::error(
                Code::OutOfRange,
                format!("negative value `{word}`: only 0 and positive numbers are accepted"),
            ));
        }
    }
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        let hint = match u64::from_str_radix(hex, 16) {
            Ok(n) => format!("Piranha read this as hexadecimal; write `{n}`"),
            Err(_) => "write a decimal number".to_string(),
        };
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("integer expected: `{word}` is hexadecimal; numbers are decimal"),
        )
        .hint(hint));
    }
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("integer expected, found `{word}`"),
        ));
    }
    if word.len() > 1 && word.starts_with('0') {
        let octal = u64::from_str_radix(word, 8).ok();
        let decimal = word.trim_start_matches('0');
        let decimal = if decimal.is_empty() { "0" } else { decimal };
        let hint = match octal {
            Some(o) => format!(
                "Piranha read `{word}` as octal ({o}); write `{o}`, or `{decimal}` if that was meant"
            ),
            None => format!("write `{decimal}`"),
        };
        return Err(Problem::error(
            Code::IntegerExpected,
            format!("integer expected: `{word}` has a leading zero"),
        )
        .hint(hint));
    }
    word.parse::<u64>()
        .map_err(|_| Problem::error(Code::OutOfRange, format!("`{word}` is out of range")))
}

fn parse_port(word: &str) -> Result<u16, Problem> {
    let n = parse_int(word)?;
    if n == 0 || n > 65535 {
        return Err(Problem::error(
            Code::OutOfRange,
            format!("port {n} is out of range: ports are 1 to 65535"),
        ));
    }
    Ok(n as u16)
}

fn parse_seconds(word: &str) -> Result<Duration, Problem> {
    let (whole, fraction) = match word.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (word, None),
    };
    let secs = parse_int(whole)?;
    let millis = match fraction {
        None => 0,
        Some(f) => {
            if f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Problem::error(
                    Code::IntegerExpected,
                    format!("number of seconds expected, found `{word}`"),
                )
                .hint("write whole seconds or up to three decimals, e.g. `0.25`"));
            }
            format!("{f:0<3}").parse::<u64>().unwrap_or(0)
        }
    };
    if secs > u64::from(u32::MAX) {
        return Err(Problem::error(
            Code::OutOfRange,
            format!("`{word}` is out of range"),
        ));
    }
    let d = Duration::from_millis(secs * 1000 + millis);
    if d.is_zero() {
        return Err(Problem::error(
            Code::OutOfRange,
            "the interval must be more than 0 seconds",
        ));
    }
    Ok(d)
}

/// Strict dotted quad: four decimal parts 0..=255, no leading zeros.
pub(crate) fn parse_ipv4_strict(word: &str) -> Option<Ipv4Addr> {
    // One pass over the bytes: this runs for every address of the file,
    // and `split('.')` plus `parse` cost several times more.
    let mut parts = [0u8; 4];
    let mut part = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    for &c in word.as_bytes() {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None; // a leading zero (Piranha read it as octal)
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && part < 3 => {
                parts[part] = value as u8;
                part += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 || part != 3 {
        return None;
    }
    parts[3] = value as u8;
    Some(Ipv4Addr::from(parts))
}

fn looks_numeric(word: &str) -> bool {
    word.bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'x' || b == b'X')
        && word.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn is_host_name(word: &str) -> bool {
    word.len() <= 253
        && word.bytes().any(|b| b.is_ascii_alphabetic())
        && word.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn parse_host(word: &str) -> Result<Host, Problem> {
    if word.as_bytes().contains(&b':') {
        return word
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| {
                Problem::error(
                    Code::InvalidHost,
                    format!("invalid host name or ip address: `{word}` is not an IPv6 address"),
                )
            });
    }
    if let Some(ip) = parse_ipv4_strict(word) {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    if looks_numeric(word) {
        return Err(Problem::error(
            Code::InvalidHost,
            format!("invalid host name or ip address: `{word}` is not a dotted-quad address"),
        )
        .hint("write four decimal numbers 0-255 without leading zeros, e.g. 10.0.0.1 (Piranha also read short, octal and hex forms, which were easy to get wrong)"));
    }
    if is_host_name(word) {
        return Ok(Host::Name(word.to_string()));
    }
    Err(Problem::error(
        Code::InvalidHost,
        format!("invalid host name or ip address: `{word}`"),
    ))
}

fn parse_netmask(word: &str) -> Result<Netmask, Problem> {
    let bad = || {
        Problem::error(
            Code::BadSubnetMask,
            format!("Bad subnet mask specified: `{word}`"),
        )
    };
    let ip = parse_ipv4_strict(word)
        .ok_or_else(|| bad().hint("write a dotted-quad netmask such as 255.255.255.0"))?;
    Netmask::new(ip).ok_or_else(|| {
        bad().hint("the one bits of a netmask must be contiguous, e.g. 255.255.254.0")
    })
}

#[cfg(test)]
mod tests {
    use super::parse_ipv4_strict;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// The specification: four decimal numbers 0-255 without leading zeros.
    fn reference(word: &str) -> Option<Ipv4Addr> {
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut octets = [0u8; 4];
        for (octet, part) in octets.iter_mut().zip(&parts) {
            let canonical = !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|b| b.is_ascii_digit())
                && !(part.len() > 1 && part.starts_with('0'));
            if !canonical {
                return None;
            }
            *octet = part.parse().ok()?;
        }
        Some(Ipv4Addr::from(octets))
    }

    #[test]
    fn strict_ipv4_examples() {
        for good in ["0.0.0.0", "10.0.0.1", "255.255.255.255", "1.22.133.4"] {
            assert_eq!(parse_ipv4_strict(good), good.parse().ok(), "{good}");
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "01.2.3.4",
            "1.2.3.00",
            "256.1.1.1",
            "1.2.3.1000",
            "0x1.2.3.4",
            "1.2.3.4 ",
            "-1.2.3.4",
            "1.2.3.4.5",
        ] {
            assert_eq!(parse_ipv4_strict(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn strict_ipv4_matches_its_specification(word in "[0-9.x]{0,18}") {
            prop_assert_eq!(parse_ipv4_strict(&word), reference(&word));
        }

        #[test]
        fn every_address_reads_back(octets in any::<[u8; 4]>()) {
            let ip = Ipv4Addr::from(octets);
            prop_assert_eq!(parse_ipv4_strict(&ip.to_string()), Some(ip));
        }
    }
}
