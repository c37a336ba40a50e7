//! Re-reading the one `virtual` block an edit changed, without parsing the
//! rest of a large lvs.cf.
//!
//! A SIGHUP after an edit of one block (a weight, a scheduler) should not
//! lex and analyse 10,000 unchanged lines. [`BlockMap`] remembers where the
//! top-level blocks of the last fully parsed text lie. [`BlockMap::reparse`]
//! finds the single block the new text changes and parses it alone, with
//! the file's global section in front of it, so that defaults and every
//! check inside the block see the same context as in a full parse.
//!
//! It answers only when the result is certain to equal a full parse: the
//! change lies inside one `virtual` block, which stays one well-formed
//! block without errors and keeps what checks across blocks look at (name,
//! `active`, address, port, protocol, fwmark). The global `serial_no` line
//! may change too: the web tool bumps it with every save. Anything else (a
//! global line, two blocks, a block added, removed or renamed, a new
//! address, any error or warning in the block) returns the text for a full
//! parse, so that every message about the file comes from the full parser,
//! with the lines and cross-references only it knows.

use crate::document::Document;
use crate::model::{Config, VirtualServer};
use crate::structure::BlockKind;
use crate::syntax::MAX_FILE_BYTES;

/// Where the top-level blocks of a parsed text lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMap {
    text: Vec<u8>,
    /// Byte offset of the first block's header line: the global section
    /// is everything before it (no global keyword comes after it).
    globals_end: usize,
    /// Lines of the global section.
    globals_lines: usize,
    /// Global keyword lines.
    global_keys: usize,
    /// Line index of the global `serial_no`, when there is exactly one:
    /// the web tool bumps it with every save.
    serial_line: Option<usize>,
    blocks: Vec<TopBlock>,
}

/// Where the change found by [`BlockMap::find_change`] lies.
struct Located {
    /// Index in `blocks` of the changed block.
    at: usize,
    /// Bytes the `serial_no` line grew by (negative: shrank).
    serial_shift: isize,
    /// End of the changed block in the new text.
    new_block_end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TopBlock {
    /// Byte offset of its header line.
    start: usize,
    /// Byte offset just past its `}` line and that line's ending.
    end: usize,
    /// Line index (0-based) of its header.
    header_line: usize,
    /// Index in `Config::virtuals`; `None` for a failover block.
    virtual_index: Option<usize>,
}

/// One virtual block parsed again.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedVirtual {
    /// Its index in `Config::virtuals`.
    pub index: usize,
    /// The block's new contents.
    pub virtual_server: VirtualServer,
    /// The new `serial_no`, when the edit also changed it (the rest of
    /// the global section is unchanged).
    pub serial_no: Option<u64>,
    /// Lines of the whole file where the block starts and ends (1-based).
    pub lines: (usize, usize),
}

/// Length of the common prefix of `a` and `b`: whole chunks compared with
/// `memcmp` first, which is many times faster than byte by byte.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + CHUNK <= n && a[i..i + CHUNK] == b[i..i + CHUNK] {
        i += CHUNK;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Length of the common suffix of `a` and `b`, at most `limit`.
fn common_suffix(a: &[u8], b: &[u8], limit: usize) -> usize {
    const CHUNK: usize = 4096;
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + CHUNK <= limit && a[la - i - CHUNK..la - i] == b[lb - i - CHUNK..lb - i] {
        i += CHUNK;
    }
    i + a[..la - i]
        .iter()
        .rev()
        .zip(b[..lb - i].iter().rev())
        .take(limit - i)
        .take_while(|(x, y)| x == y)
        .count()
}

fn newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// Whether a checks-across-blocks look at anything that differs.
fn same_identity(a: &VirtualServer, b: &VirtualServer) -> bool {
    a.name == b.name
        && a.active == b.active
        && a.address == b.address
        && a.port == b.port
        && a.protocol == b.protocol
        && a.fwmark == b.fwmark
}

impl BlockMap {
    /// The map of a document that loads. `None` when it does not, when a
    /// global keyword follows a block, or when the file does not start
    /// with a global section (there would be no context to parse a block
    /// in).
    pub fn of(doc: &Document) -> Option<BlockMap> {
        if doc.has_errors() {
            return None;
        }
        let text = doc.as_bytes();
        let lines = &doc.lexed().lines;
        let structure = doc.structure();
        let mut blocks = Vec::new();
        for info in structure.blocks.iter().filter(|b| b.parent.is_none()) {
            let header = lines.get(info.header)?;
            let close = lines.get(info.close?)?;
            let end = close.end as usize + close.eol.as_str().len();
            blocks.push(TopBlock {
                start: header.start as usize,
                end,
                header_line: info.header,
                virtual_index: (info.kind == BlockKind::Virtual).then_some(info.config_index),
            });
        }
        let first = blocks.first()?;
        let mut global_keys = 0;
        let mut serial_lines = Vec::new();
        for (key, line) in structure.keys(None) {
            if line >= first.header_line {
                return None;
            }
            if key == "serial_no" {
                serial_lines.push(line);
            }
            global_keys += 1;
        }
        if first.header_line == 0 {
            return None;
        }
        Some(BlockMap {
            text: text.to_vec(),
            globals_end: first.start,
            globals_lines: first.header_line,
            global_keys,
            serial_line: match serial_lines[..] {
                [line] => Some(line),
                _ => None,
            },
            blocks,
        })
    }

    /// The text this map describes.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The text, without the map.
    pub fn into_text(self) -> Vec<u8> {
        self.text
    }

    /// Parses the one virtual block that `new_text` changes, given the
    /// configuration this map's text loaded as. On success the map
    /// describes `new_text`; `Err` gives `new_text` back for a full parse.
    /// `name` is the file name used in the warnings.
    pub fn reparse(
        &mut self,
        name: &str,
        config: &Config,
        new_text: Vec<u8>,
    ) -> Result<ChangedVirtual, Vec<u8>> {
        match self.find_change(name, config, &new_text) {
            Some((located, changed)) => {
                self.advance(&located, new_text);
                Ok(changed)
            }
            None => Err(new_text),
        }
    }

    /// Where `new` first differs from the map's text, past a changed
    /// `serial_no` line: `(old offset, new offset, serial line shift)`;
    /// the shift is `None` when the serial line is unchanged.
    fn first_difference(&self, new: &[u8]) -> Option<(usize, usize, Option<isize>)> {
        let old = &self.text;
        let p = common_prefix(old, new);
        if p >= self.globals_end {
            return Some((p, p, None));
        }
        // Only the serial_no line may differ in the global section.
        let line_start = memchr::memrchr(b'\n', &old[..p]).map_or(0, |i| i + 1);
        if Some(newlines(&old[..line_start])) != self.serial_line {
            return None;
        }
        let old_next = p + memchr::memchr(b'\n', &old[p..])? + 1;
        let new_next = p + memchr::memchr(b'\n', new.get(p..)?)? + 1;
        if old_next > self.globals_end {
            return None;
        }
        let rest = common_prefix(&old[old_next..], &new[new_next..]);
        let serial_shift = new_next as isize - old_next as isize;
        Some((old_next + rest, new_next + rest, Some(serial_shift)))
    }

    fn find_change(
        &self,
        name: &str,
        config: &Config,
        new: &[u8],
    ) -> Option<(Located, ChangedVirtual)> {
        let old = &self.text;
        // (An unchanged text finds no block: its difference is empty.)
        if new.len() > MAX_FILE_BYTES {
            return None;
        }
        let (p_old, p_new, serial_change) = self.first_difference(new)?;
        let serial_shift = serial_change.unwrap_or(0);
        let serial_line = self.serial_line.filter(|_| serial_change.is_some());
        if p_old < self.globals_end {
            return None;
        }
        let s = common_suffix(old, new, (old.len() - p_old).min(new.len() - p_new));
        let old_end = old.len() - s;
        let at = self
            .blocks
            .partition_point(|b| b.start <= p_old)
            .checked_sub(1)?;
        let block = self.blocks[at];
        // Strictly inside: text inserted before the header or after the
        // `}` belongs between blocks.
        if p_old == block.start || old_end >= block.end {
            return None;
        }
        let index = block.virtual_index?;
        let new_globals_end = self.globals_end.checked_add_signed(serial_shift)?;
        let new_block_start = block.start.checked_add_signed(serial_shift)?;
        let new_block_end = (block.end + new.len()).checked_sub(old.len())?;
        let body = new.get(new_block_start..new_block_end)?;
        // The block must still end a line: `}` glued to the next block's
        // header would read differently in the whole file.
        if new_block_end != new.len() && !body.ends_with(b"\n") {
            return None;
        }
        let mut alone = Vec::with_capacity(new_globals_end + body.len());
        alone.extend_from_slice(&new[..new_globals_end]);
        alone.extend_from_slice(body);
        let doc = Document::parse(name, alone);
        // Diagnostics of the global section were reported with the file,
        // which has the same global section (but for serial_no, which must
        // have none).
        if doc.has_errors()
            || doc
                .diagnostics()
                .iter()
                .any(|d| d.line > self.globals_lines || Some(d.line) == serial_line.map(|l| l + 1))
        {
            return None;
        }
        let structure = doc.structure();
        let mut top = structure.blocks.iter().filter(|b| b.parent.is_none());
        let only = top.next()?;
        let ends_text = only
            .close
            .and_then(|c| doc.lexed().lines.get(c))
            .is_some_and(|l| l.end as usize + l.eol.as_str().len() == doc.as_bytes().len());
        if top.next().is_some()
            || only.kind != BlockKind::Virtual
            || only.header != self.globals_lines
            || !ends_text
            || structure.keys(None).count() != self.global_keys
            || serial_line.is_some_and(|line| {
                !structure
                    .keys(None)
                    .any(|(key, at)| key == "serial_no" && at == line)
            })
        {
            return None;
        }
        let fresh = doc.config().virtuals.first()?;
        if !same_identity(fresh, config.virtuals.get(index)?) {
            return None;
        }
        let serial_no = serial_line.map(|_| doc.config().serial_no);
        let block_lines = newlines(body) + usize::from(!body.ends_with(b"\n"));
        Some((
            Located {
                at,
                serial_shift,
                new_block_end,
            },
            ChangedVirtual {
                index,
                virtual_server: fresh.clone(),
                serial_no,
                lines: (block.header_line + 1, block.header_line + block_lines),
            },
        ))
    }

    /// Moves the map to `new`, whose only changes are the one located.
    fn advance(&mut self, located: &Located, new: Vec<u8>) {
        let Located {
            at,
            serial_shift,
            new_block_end,
        } = *located;
        let block = self.blocks[at];
        let shift = |offset: usize, by: isize| offset.saturating_add_signed(by);
        let new_start = shift(block.start, serial_shift);
        let old_lines = newlines(&self.text[block.start..block.end]);
        let new_lines = newlines(&new[new_start..new_block_end]);
        let total = new.len() as isize - self.text.len() as isize;
        self.globals_end = shift(self.globals_end, serial_shift);
        for b in &mut self.blocks[..at] {
            b.start = shift(b.start, serial_shift);
            b.end = shift(b.end, serial_shift);
        }
        self.blocks[at].start = new_start;
        self.blocks[at].end = new_block_end;
        for b in &mut self.blocks[at + 1..] {
            b.start = shift(b.start, total);
            b.end = shift(b.end, total);
            b.header_line = b.header_line + new_lines - old_lines;
        }
        self.text = new;
    }
}
