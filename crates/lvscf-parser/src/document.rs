//! The lossless document and its editor.
//!
//! A [`Document`] keeps the file's bytes exactly. Edits splice whole lines
//! and re-read the result, so every line an edit does not touch stays byte
//! for byte what it was; new lines are laid out as Piranha's GUI writes them.
//! Edits do not validate: call [`Document::load`] before saving.

use crate::analyze::{analyze, Analysis};
use crate::diag::{Code, Diagnostic, Diagnostics, Severity};
use crate::keywords::{self, Level};
use crate::model::Config;
use crate::structure::{BlockKind, Structure};
use crate::syntax::{lex, Eol, Lexed, MAX_FILE_BYTES};
use crate::write::{check_block_name, format_value, Unwritable};
use std::fmt;

/// Which section of the file an edit addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The global section.
    Global,
    /// `virtual NAME { ... }`.
    Virtual(String),
    /// `failover NAME { ... }`.
    Failover(String),
    /// `server SERVER { ... }` inside `virtual VIRTUAL { ... }`.
    Server {
        /// The virtual block's name.
        virtual_name: String,
        /// The server block's name.
        server: String,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Global => f.write_str("the global section"),
            Target::Virtual(n) => write!(f, "virtual `{n}`"),
            Target::Failover(n) => write!(f, "failover `{n}`"),
            Target::Server {
                virtual_name,
                server,
            } => write!(f, "server `{server}` of virtual `{virtual_name}`"),
        }
    }
}

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The keyword does not exist at that level.
    UnknownKey {
        /// The section.
        target: Target,
        /// The keyword.
        key: String,
    },
    /// No such block.
    NoSuchBlock(Target),
    /// Several blocks have that name.
    Ambiguous(Target),
    /// A block with the new name exists already.
    NameTaken(Target),
    /// The value or name cannot be written as lvs.cf text.
    Unwritable(Unwritable),
    /// The file is too damaged to edit safely (unreadable lines).
    Damaged(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::UnknownKey { target, key } => {
                let level = level_of(target);
                write!(
                    f,
                    "unknown keyword `{key}` for {target}; known: {}",
                    keywords::names_at(level).join(", ")
                )
            }
            EditError::NoSuchBlock(t) => write!(f, "there is no {t}"),
            EditError::Ambiguous(t) => write!(f, "several blocks match {t}; rename one first"),
            EditError::NameTaken(t) => write!(f, "{t} exists already"),
            EditError::Unwritable(why) => write!(f, "{why}"),
            EditError::Damaged(why) => write!(f, "the file cannot be edited safely: {why}"),
        }
    }
}

impl std::error::Error for EditError {}

fn level_of(target: &Target) -> Level {
    match target {
        Target::Global => Level::Global,
        Target::Virtual(_) | Target::Failover(_) => Level::Virtual,
        Target::Server { .. } => Level::Server,
    }
}

/// A parsed file: its exact bytes, its structure, its config and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    name: String,
    text: Vec<u8>,
    lexed: Lexed,
    analysis: Analysis,
}

/// A file that loads: its configuration, its warnings, and the document.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration with defaults applied.
    pub config: Config,
    /// Warnings (the file loads despite them).
    pub warnings: Vec<Diagnostic>,
    /// The lossless document, for edits.
    pub document: Document,
}

impl Document {
    /// Parses `text`; `name` is the file name used in messages. Never fails:
    /// problems are in [`Document::diagnostics`].
    pub fn parse(name: impl Into<String>, text: impl Into<Vec<u8>>) -> Document {
        let name = name.into();
        let text = text.into();
        if text.len() > MAX_FILE_BYTES {
            let analysis = Analysis {
                config: Config::default(),
                structure: Structure::default(),
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    code: Code::FileTooLarge,
                    line: 1,
                    column: 1,
                    width: 1,
                    keyword: None,
                    message: format!(
                        "file is {} bytes; at most {MAX_FILE_BYTES} are accepted",
                        text.len()
                    ),
                    hint: None,
                    source_line: String::new(),
                }],
            };
            return Document {
                name,
                text,
                lexed: Lexed::default(),
                analysis,
            };
        }
        let lexed = lex(&text);
        let analysis = analyze(&text, &lexed);
        Document {
            name,
            text,
            lexed,
            analysis,
        }
    }

    /// The file name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exact bytes of the document.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The configuration (meaningful only when there is no error).
    pub fn config(&self) -> &Config {
        &self.analysis.config
    }

    /// The lines and tokens.
    pub(crate) fn lexed(&self) -> &Lexed {
        &self.lexed
    }

    /// Where blocks and keyword lines are.
    pub fn structure(&self) -> &Structure {
        &self.analysis.structure
    }

    /// Every error and warning, in line order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.analysis.diagnostics
    }

    /// Whether the file fails to load.
    pub fn has_errors(&self) -> bool {
        self.analysis.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The configuration and its warnings, or every diagnostic when there is
    /// an error.
    pub fn load(&self) -> Result<(&Config, Vec<&Diagnostic>), Diagnostics> {
        if self.has_errors() {
            return Err(Diagnostics {
                file: self.name.clone(),
                items: self.analysis.diagnostics.clone(),
            });
        }
        Ok((
            &self.analysis.config,
            self.analysis.diagnostics.iter().collect(),
        ))
    }

    /// Consumes the document into a [`Loaded`] when it has no error.
    pub fn into_loaded(self) -> Result<Loaded, Diagnostics> {
        if self.has_errors() {
            return Err(Diagnostics {
                file: self.name.clone(),
                items: self.analysis.diagnostics.clone(),
            });
        }
        Ok(Loaded {
            config: self.analysis.config.clone(),
            warnings: self.analysis.diagnostics.clone(),
            document: self,
        })
    }

    /// Consumes the document into its configuration and warnings, without
    /// copying the configuration (the document is not kept).
    pub fn into_config(self) -> Result<(Config, Vec<Diagnostic>), Diagnostics> {
        if self.has_errors() {
            return Err(Diagnostics {
                file: self.name,
                items: self.analysis.diagnostics,
            });
        }
        Ok((self.analysis.config, self.analysis.diagnostics))
    }

    // ----- editing -------------------------------------------------------

    fn line_count(&self) -> usize {
        self.lexed.lines.len()
    }

    fn indent_of(&self, index: usize) -> String {
        self.lexed
            .line_text(&self.text, index)
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect()
    }

    /// The line ending new lines get: the file's most common one.
    fn eol(&self) -> &'static str {
        let crlf = self
            .lexed
            .lines
            .iter()
            .filter(|l| l.eol == Eol::CrLf)
            .count();
        let lf = self.lexed.lines.iter().filter(|l| l.eol == Eol::Lf).count();
        if crlf > lf {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Byte offset where line `index` starts (the end of the text for
    /// `index == line_count()`).
    fn offset_of(&self, index: usize) -> usize {
        self.lexed
            .lines
            .get(index)
            .map(|l| l.start as usize)
            .unwrap_or(self.text.len())
    }

    /// Replaces lines `from..to` with `new_lines` and re-reads the file.
    fn splice(&mut self, from: usize, to: usize, new_lines: &[String]) {
        let eol = self.eol();
        let start = self.offset_of(from);
        let end = self.offset_of(to);
        let mut text = Vec::with_capacity(self.text.len() + new_lines.len() * 40);
        text.extend_from_slice(&self.text[..start]);
        // Appending after a last line that has no newline: give it one.
        if !new_lines.is_empty()
            && start == self.text.len()
            && !text.is_empty()
            && !text.ends_with(b"\n")
        {
            text.extend_from_slice(eol.as_bytes());
        }
        for line in new_lines {
            text.extend_from_slice(line.as_bytes());
            text.extend_from_slice(eol.as_bytes());
        }
        text.extend_from_slice(&self.text[end..]);
        *self = Document::parse(std::mem::take(&mut self.name), text);
    }

    fn find_blocks(&self, target: &Target) -> Vec<usize> {
        let s = self.structure();
        match target {
            Target::Global => Vec::new(),
            Target::Virtual(name) | Target::Failover(name) => {
                let kind = if matches!(target, Target::Failover(_)) {
                    BlockKind::Failover
                } else {
                    BlockKind::Virtual
                };
                (0..s.blocks.len())
                    .filter(|&b| s.blocks[b].kind == kind && s.block_name(self.config(), b) == name)
                    .collect()
            }
            Target::Server {
                virtual_name,
                server,
            } => {
                let Ok(parent) = self.block_index(&Target::Virtual(virtual_name.clone())) else {
                    return Vec::new();
                };
                (0..s.blocks.len())
                    .filter(|&b| {
                        s.blocks[b].kind == BlockKind::Server
                            && s.blocks[b].parent == Some(parent)
                            && s.block_name(self.config(), b) == server
                    })
                    .collect()
            }
        }
    }

    /// The index in [`Structure::blocks`] of the block `target` names.
    /// Exactly one block must match: none is [`EditError::NoSuchBlock`]
    /// (always so for [`Target::Global`], which is no block), several are
    /// [`EditError::Ambiguous`]. A server is looked for in the one virtual
    /// block of that name.
    pub fn block_index(&self, target: &Target) -> Result<usize, EditError> {
        let found = self.find_blocks(target);
        match found.len() {
            0 => Err(EditError::NoSuchBlock(target.clone())),
            1 => Ok(found[0]),
            _ => Err(EditError::Ambiguous(target.clone())),
        }
    }

    /// Whether the block exists (exactly once).
    pub fn has_block(&self, target: &Target) -> bool {
        self.block_index(target).is_ok()
    }

    /// Last line of a block (its `}`, or the end of the file when unclosed).
    fn block_end(&self, block: usize) -> usize {
        self.structure().blocks[block]
            .close
            .unwrap_or(self.line_count().saturating_sub(1))
    }

    fn refuse_damaged(&self) -> Result<(), EditError> {
        if let Some(d) = self.diagnostics().iter().find(|d| {
            matches!(
                d.code,
                Code::FileTooLarge | Code::NulByte | Code::StrayCarriageReturn | Code::InvalidUtf8
            ) && d.is_error()
        }) {
            return Err(EditError::Damaged(format!(
                "line {}: {}",
                d.line, d.message
            )));
        }
        Ok(())
    }

    /// Sets `key` in `target` to `value` (the words after `=`, unquoted).
    /// The last line that sets the key is rewritten in place; otherwise a
    /// line is inserted where the GUI would put it. A missing virtual or
    /// server block is created.
    pub fn set(&mut self, target: &Target, key: &str, value: &str) -> Result<(), EditError> {
        self.refuse_damaged()?;
        let level = level_of(target);
        let keyword = keywords::lookup(level, key).ok_or_else(|| EditError::UnknownKey {
            target: target.clone(),
            key: key.to_string(),
        })?;
        let text = format_value(keyword, value).map_err(EditError::Unwritable)?;
        let block = match target {
            Target::Global => None,
            _ => match self.block_index(target) {
                Ok(b) => Some(b),
                Err(EditError::NoSuchBlock(_)) => {
                    self.add_block(target)?;
                    Some(self.block_index(target)?)
                }
                Err(e) => return Err(e),
            },
        };
        if let Some(line) = self.structure().key_line(block, key) {
            let l = &self.lexed.lines[line];
            let toks = &self.lexed.tokens
                [l.first_token as usize..(l.first_token + l.token_count) as usize];
            let (Some(first), Some(last)) = (toks.get(2), toks.last()) else {
                return Err(EditError::Damaged(format!(
                    "line {} has no value",
                    line + 1
                )));
            };
            let content = &self.text[l.start as usize..l.end as usize];
            let from = (first.start - l.start) as usize;
            let to = (last.end - l.start) as usize;
            let new_line = format!(
                "{}{}{}",
                String::from_utf8_lossy(&content[..from]),
                text,
                String::from_utf8_lossy(&content[to..])
            );
            self.splice(line, line + 1, &[new_line]);
            return Ok(());
        }
        let (at, indent) = self.insertion_point(block, target, key);
        self.splice(at, at, &[format!("{indent}{key} = {text}")]);
        Ok(())
    }

    /// Where a new `key` line goes in a block, and its indentation.
    fn insertion_point(&self, block: Option<usize>, target: &Target, key: &str) -> (usize, String) {
        let s = self.structure();
        let level = level_of(target);
        let failover = matches!(target, Target::Failover(_));
        let rank = keywords::gui_rank(level, failover, key);
        let before = s
            .keys(block)
            .filter(|(k, _)| keywords::gui_rank(level, failover, k) < rank)
            .map(|(_, l)| l)
            .max();
        let after = s
            .keys(block)
            .filter(|(k, _)| keywords::gui_rank(level, failover, k) > rank)
            .map(|(_, l)| l)
            .min();
        // Keys stay above nested blocks: globals above the first block, a
        // virtual's keys above its first server (so `port` keeps meaning
        // what it means for the servers).
        let limit = match block {
            None => s.blocks.iter().map(|b| b.header).min(),
            Some(b) => s
                .blocks
                .iter()
                .filter(|x| x.parent == Some(b))
                .map(|x| x.header)
                .min()
                .or(Some(self.block_end(b))),
        };
        let mut at = match (before, after, block) {
            (Some(l), _, _) => l + 1,
            (None, Some(l), _) => l,
            (None, None, Some(b)) => s.blocks[b].header + 1,
            (None, None, None) => limit.unwrap_or(self.line_count()),
        };
        if let Some(limit) = limit {
            if at > limit {
                at = limit;
            }
        }
        if let Some(b) = block {
            if s.blocks[b].close.is_none() && at > self.line_count() {
                at = self.line_count();
            }
        }
        let neighbour = before.or(after);
        let indent = match (neighbour, block) {
            (Some(l), _) => self.indent_of(l),
            (None, None) => String::new(),
            (None, Some(b)) => {
                let header = self.indent_of(s.blocks[b].header);
                let step = if header.contains('\t') {
                    "\t"
                } else if s.blocks[b].kind == BlockKind::Server {
                    "    "
                } else {
                    "     "
                };
                format!("{header}{step}")
            }
        };
        (at, indent)
    }

    /// Removes every line that sets `key` in `target`. Returns whether any
    /// line was removed.
    pub fn unset(&mut self, target: &Target, key: &str) -> Result<bool, EditError> {
        self.refuse_damaged()?;
        let level = level_of(target);
        if keywords::lookup(level, key).is_none() {
            return Err(EditError::UnknownKey {
                target: target.clone(),
                key: key.to_string(),
            });
        }
        let block = match target {
            Target::Global => None,
            _ => Some(self.block_index(target)?),
        };
        let s = self.structure();
        let mut lines: Vec<usize> = s
            .keys(block)
            .filter(|(k, _)| *k == key)
            .map(|(_, l)| l)
            .collect();
        if lines.is_empty() {
            return Ok(false);
        }
        lines.sort_unstable();
        for line in lines.into_iter().rev() {
            self.splice(line, line + 1, &[]);
        }
        Ok(true)
    }

    fn add_block(&mut self, target: &Target) -> Result<(), EditError> {
        match target {
            Target::Global => Ok(()),
            Target::Virtual(name) => self.add_virtual(name),
            Target::Failover(name) => self.add_failover(name),
            Target::Server {
                virtual_name,
                server,
            } => self.add_server(virtual_name, server),
        }
    }

    fn add_top_block(&mut self, kind: BlockKind, name: &str) -> Result<(), EditError> {
        self.refuse_damaged()?;
        check_block_name(name).map_err(EditError::Unwritable)?;
        let target = if kind == BlockKind::Failover {
            Target::Failover(name.to_string())
        } else {
            Target::Virtual(name.to_string())
        };
        if !self.find_blocks(&target).is_empty() {
            return Err(EditError::NameTaken(target));
        }
        let s = self.structure();
        let last_of = |k: BlockKind| {
            (0..s.blocks.len())
                .filter(|&b| s.blocks[b].kind == k)
                .map(|b| self.block_end(b))
                .max()
        };
        // The GUI writes failover blocks before virtual blocks.
        let at = match kind {
            BlockKind::Failover => last_of(BlockKind::Failover)
                .map(|l| l + 1)
                .or_else(|| {
                    s.blocks
                        .iter()
                        .find(|b| b.kind == BlockKind::Virtual)
                        .map(|b| b.header)
                })
                .unwrap_or(self.line_count()),
            _ => last_of(BlockKind::Virtual)
                .or(last_of(BlockKind::Failover))
                .map(|l| l + 1)
                .unwrap_or(self.line_count()),
        };
        let lines = [format!("{} {name} {{", kind.keyword()), "}".to_string()];
        self.splice(at, at, &lines);
        Ok(())
    }

    /// Appends an empty `virtual NAME { }` after the last virtual block.
    pub fn add_virtual(&mut self, name: &str) -> Result<(), EditError> {
        self.add_top_block(BlockKind::Virtual, name)
    }

    /// Adds an empty `failover NAME { }` (before the virtual blocks).
    pub fn add_failover(&mut self, name: &str) -> Result<(), EditError> {
        self.add_top_block(BlockKind::Failover, name)
    }

    /// Appends an empty `server NAME { }` at the end of a virtual block.
    pub fn add_server(&mut self, virtual_name: &str, name: &str) -> Result<(), EditError> {
        self.refuse_damaged()?;
        check_block_name(name).map_err(EditError::Unwritable)?;
        let parent = self.block_index(&Target::Virtual(virtual_name.to_string()))?;
        let target = Target::Server {
            virtual_name: virtual_name.to_string(),
            server: name.to_string(),
        };
        if !self.find_blocks(&target).is_empty() {
            return Err(EditError::NameTaken(target));
        }
        let s = self.structure();
        let siblings: Vec<usize> = (0..s.blocks.len())
            .filter(|&b| s.blocks[b].parent == Some(parent))
            .collect();
        let indent = match siblings.last() {
            Some(&b) => self.indent_of(s.blocks[b].header),
            None => {
                let header = self.indent_of(s.blocks[parent].header);
                format!(
                    "{header}{}",
                    if header.contains('\t') { "\t" } else { "     " }
                )
            }
        };
        let at = match s.blocks[parent].close {
            Some(close) => close,
            None => self.line_count(),
        };
        let lines = [format!("{indent}server {name} {{"), format!("{indent}}}")];
        self.splice(at, at, &lines);
        Ok(())
    }

    /// Removes a virtual, failover or server block, all its lines included.
    pub fn remove(&mut self, target: &Target) -> Result<(), EditError> {
        self.refuse_damaged()?;
        if *target == Target::Global {
            return Err(EditError::NoSuchBlock(Target::Global));
        }
        let block = self.block_index(target)?;
        let from = self.structure().blocks[block].header;
        let to = self.block_end(block) + 1;
        self.splice(from, to, &[]);
        Ok(())
    }

    /// Renames a block, rewriting only its header's name.
    pub fn rename(&mut self, target: &Target, new_name: &str) -> Result<(), EditError> {
        self.refuse_damaged()?;
        check_block_name(new_name).map_err(EditError::Unwritable)?;
        let block = self.block_index(target)?;
        let renamed = match target {
            Target::Global => return Err(EditError::NoSuchBlock(Target::Global)),
            Target::Virtual(_) => Target::Virtual(new_name.to_string()),
            Target::Failover(_) => Target::Failover(new_name.to_string()),
            Target::Server { virtual_name, .. } => Target::Server {
                virtual_name: virtual_name.clone(),
                server: new_name.to_string(),
            },
        };
        if renamed != *target && !self.find_blocks(&renamed).is_empty() {
            return Err(EditError::NameTaken(renamed));
        }
        let header = self.structure().blocks[block].header;
        let l = &self.lexed.lines[header];
        let name_token = self.lexed.tokens[l.first_token as usize + 1];
        let content = &self.text[l.start as usize..l.end as usize];
        let from = (name_token.start - l.start) as usize;
        let to = (name_token.end - l.start) as usize;
        let line = format!(
            "{}{}{}",
            String::from_utf8_lossy(&content[..from]),
            new_name,
            String::from_utf8_lossy(&content[to..])
        );
        self.splice(header, header + 1, &[line]);
        Ok(())
    }

    /// Moves a block to position `index` among its siblings of the same kind
    /// (0 = first); an index past the end moves it last.
    pub fn move_to(&mut self, target: &Target, index: usize) -> Result<(), EditError> {
        self.refuse_damaged()?;
        let block = self.block_index(target)?;
        let s = self.structure();
        let me = &s.blocks[block];
        let siblings: Vec<usize> = (0..s.blocks.len())
            .filter(|&b| s.blocks[b].kind == me.kind && s.blocks[b].parent == me.parent)
            .filter(|&b| b != block)
            .collect();
        let from = me.header;
        let to = self.block_end(block) + 1;
        let moved: Vec<u8> = self.text[self.offset_of(from)..self.offset_of(to)].to_vec();
        let at_line = match siblings.get(index) {
            Some(&b) => s.blocks[b].header,
            None => match siblings.last() {
                Some(&b) => self.block_end(b) + 1,
                None => return Ok(()),
            },
        };
        let insert_at = self.offset_of(at_line);
        let (cut_from, cut_to) = (self.offset_of(from), self.offset_of(to));
        let mut text = Vec::with_capacity(self.text.len() + 1);
        let mut moved = moved;
        if !moved.ends_with(b"\n") {
            moved.extend_from_slice(self.eol().as_bytes());
        }
        for (i, byte) in self.text.iter().enumerate() {
            if i == insert_at {
                text.extend_from_slice(&moved);
            }
            if i < cut_from || i >= cut_to {
                text.push(*byte);
            }
        }
        if insert_at >= self.text.len() {
            if !text.is_empty() && !text.ends_with(b"\n") {
                text.extend_from_slice(self.eol().as_bytes());
            }
            text.extend_from_slice(&moved);
        }
        *self = Document::parse(std::mem::take(&mut self.name), text);
        Ok(())
    }
}
