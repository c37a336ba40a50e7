//! The block structure of a file: where each `virtual`, `failover` and
//! `server` block opens and closes, which block holds which, and the
//! keyword lines of each block and of the global section.
//!
//! The analyser records it while it reads the lines; the semantic checks
//! use it to point at the line of a value, the editor to find the lines to
//! rewrite, and [`crate::BlockMap`] to find the block an edit changed.

use crate::keywords::Level;
use crate::model::Config;

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
    pub(crate) fn with_capacity(lines: usize) -> Structure {
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

    /// Records keyword `key` on line `line` of a block (`None` = global).
    pub(crate) fn push_key(&mut self, block: Option<usize>, key: &'static str, line: usize) {
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

    /// Records a `virtual` or `failover` block whose header is line
    /// `header`, describing entry `config_index` of its list in the
    /// configuration. Returns its block index.
    pub(crate) fn open_top(
        &mut self,
        kind: BlockKind,
        header: usize,
        config_index: usize,
    ) -> usize {
        self.blocks.push(BlockInfo {
            kind,
            header,
            close: None,
            parent: None,
            config_index,
            children: Vec::new(),
            last_key: NO_KEY,
        });
        let block = self.blocks.len() - 1;
        if kind == BlockKind::Failover {
            self.failover_blocks.push(block);
        } else {
            self.virtual_blocks.push(block);
        }
        block
    }

    /// Records a `server` block of the block `parent`, whose header is line
    /// `header`, describing server `config_index` of the parent's servers.
    /// Returns its block index.
    pub(crate) fn open_server(
        &mut self,
        parent: usize,
        header: usize,
        config_index: usize,
    ) -> usize {
        self.blocks.push(BlockInfo {
            kind: BlockKind::Server,
            header,
            close: None,
            parent: Some(parent),
            config_index,
            children: Vec::new(),
            last_key: NO_KEY,
        });
        let block = self.blocks.len() - 1;
        self.blocks[parent].children.push(block);
        block
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
