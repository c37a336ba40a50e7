//! Opening and closing blocks while the lines are read.
//!
//! [`Blocks`] knows which `virtual`/`failover` block and which `server`
//! block are open, records every block in the [`Structure`], adds its
//! entry to the configuration, and reports what is wrong with the nesting:
//! a `}` with no open block, a block inside another that was never closed,
//! a `server` outside a `virtual`, a header without its `{`, a block still
//! open at the end of the file. As in Piranha, a missing `}` at the end of
//! the file is only a warning, and text after a `}` is ignored with one.

use crate::diag::{Code, Severity};
use crate::keywords::Level;
use crate::model::{Config, RealServer, VirtualServer};
use crate::source::Source;
use crate::structure::{BlockKind, Structure};
use crate::syntax::Token;

/// The blocks of a file being read, and which of them are open.
pub(crate) struct Blocks {
    structure: Structure,
    /// Block index of the open virtual/failover block.
    current_virtual: Option<usize>,
    /// Block index of the open server block.
    current_server: Option<usize>,
    /// A block header lacked its `{`; a lone `{` on the next line is eaten.
    lone_brace_expected: bool,
}

/// `virtual`, `failover` or `server`. Looks at the first byte before
/// comparing strings: this runs for every line of the file.
pub(crate) fn is_block_word(word: &str) -> bool {
    match word.as_bytes().first() {
        Some(b'v') => word == "virtual",
        Some(b'f') => word == "failover",
        Some(b's') => word == "server",
        _ => false,
    }
}

impl Blocks {
    /// For a file of `lines` lines.
    pub(crate) fn new(lines: usize) -> Blocks {
        Blocks {
            structure: Structure::with_capacity(lines),
            current_virtual: None,
            current_server: None,
            lone_brace_expected: false,
        }
    }

    /// The blocks recorded so far.
    pub(crate) fn structure(&self) -> &Structure {
        &self.structure
    }

    /// Records keyword `key` on line `line` of `block` (`None` = global).
    pub(crate) fn push_key(&mut self, block: Option<usize>, key: &'static str, line: usize) {
        self.structure.push_key(block, key, line);
    }

    /// The finished structure.
    pub(crate) fn into_structure(self) -> Structure {
        self.structure
    }

    /// Whether the previous line was a block header without its `{`, so
    /// that a line holding only `{` is to be skipped. Call it for every
    /// token line, before anything else: it answers once.
    #[inline]
    pub(crate) fn take_lone_brace(&mut self) -> bool {
        std::mem::take(&mut self.lone_brace_expected)
    }

    /// The level the keywords of the next line belong to, and its block
    /// (`None` = the global section).
    pub(crate) fn current(&self) -> (Level, Option<usize>) {
        if let Some(server) = self.current_server {
            (Level::Server, Some(server))
        } else if let Some(v) = self.current_virtual {
            (Level::Virtual, Some(v))
        } else {
            (Level::Global, None)
        }
    }

    /// A block (or the global section) in words, for messages.
    pub(crate) fn place(&self, config: &Config, block: Option<usize>) -> String {
        match block {
            Some(b) => {
                let info = &self.structure.blocks[b];
                format!(
                    "{} block `{}`",
                    info.kind.keyword(),
                    self.structure.block_name(config, b)
                )
            }
            None => "the global section".to_string(),
        }
    }

    /// A `}` line.
    pub(crate) fn close(&mut self, src: &mut Source<'_>, index: usize, tokens: &[Token]) {
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
                    src.push(
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
            None => src.at_token(
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

    /// A line that starts with `virtual`, `failover` or `server` (`word`).
    /// The new block's entry is added to `config`.
    pub(crate) fn open(
        &mut self,
        src: &mut Source<'_>,
        config: &mut Config,
        index: usize,
        tokens: &[Token],
        word: &str,
    ) {
        let kind = match word {
            "virtual" => BlockKind::Virtual,
            "failover" => BlockKind::Failover,
            _ => BlockKind::Server,
        };
        let shape_ok =
            tokens.len() == 3 && tokens[2].quote == 0 && src.token_text(&tokens[2]) == "{";
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
            src.at_token(
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
        let name = src.token_text(&tokens[1]).to_string();
        match kind {
            BlockKind::Server => {
                let Some(parent) = self.current_virtual else {
                    src.at_token(
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
                    let open_name = self.structure.block_name(config, open).to_string();
                    src.at_token(
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
                    &mut config.failovers
                } else {
                    &mut config.virtuals
                };
                let servers = &mut list[vindex].servers;
                servers.push(RealServer::new(name));
                let config_index = servers.len() - 1;
                let block = self.structure.open_server(parent, index, config_index);
                self.current_server = Some(block);
            }
            BlockKind::Virtual | BlockKind::Failover => {
                if let Some(open) = self.current_virtual {
                    let open_name = self.structure.block_name(config, open).to_string();
                    let open_kind = self.structure.blocks[open].kind.keyword();
                    src.at_token(
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
                    &mut config.failovers
                } else {
                    &mut config.virtuals
                };
                list.push(VirtualServer::new(name));
                let config_index = list.len() - 1;
                let block = self.structure.open_top(kind, index, config_index);
                self.current_virtual = Some(block);
            }
        }
    }

    /// The end of the file: a block still open is closed by it, with a
    /// warning.
    pub(crate) fn finish(&mut self, src: &mut Source<'_>, config: &Config) {
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
                self.structure.block_name(config, block)
            );
            let line = &src.lexed().lines[header];
            let range = (line.start as usize, line.end as usize);
            src.push(
                Severity::Warning,
                Code::MissingCloseBrace,
                header,
                range,
                Some(info.kind.keyword()),
                message,
                Some("add the missing `}`".into()),
            );
        }
    }
}
