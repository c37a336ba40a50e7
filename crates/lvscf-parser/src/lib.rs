//! The lvs.cf grammar, shared by every daemon and the web tool.
//!
//! Owns: reading lvs.cf text (a nom line lexer, then keyword analysis), a
//! lossless [`Document`] that writes back byte for byte, the typed
//! [`Config`] with Piranha's defaults, semantic checks, diagnostics with
//! file, line, column and a caret snippet, re-reading the one `virtual`
//! block an edit changed ([`BlockMap`]), the editor (set/unset keys,
//! add/remove/rename/move blocks, touching only the affected lines), the
//! GUI-layout writer, and key paths such as `virtual.web.server.r1.weight`.
//!
//! Layout, each module using only those above it:
//! - [`syntax`]: lines, line endings and tokens; knows no keyword.
//! - [`diag`]: diagnostics and their stable codes; [`keywords`]: the
//!   keyword table; [`model`]: the typed configuration.
//! - [`structure`]: where blocks open and close, and their keyword lines.
//! - `creading.rs`: numbers and addresses as Piranha's C library read them
//!   (`strtol`, `inet_aton`); `value.rs`: the words after `=` to a typed
//!   value; `apply.rs`: a value
//!   into the configuration; `blocks.rs`: opening and closing blocks while
//!   reading; `source.rs`: placing diagnostics on lines.
//! - `settle.rs`: what Piranha derived once every line was read;
//!   [`validate`]: checks across lines; [`analyze`]: the line-by-line
//!   reading that drives all of the above.
//! - `anycast.rs`: the checks of `router_mode = anycast` (our extension).
//! - [`document`]: the lossless document and its editor, with [`mod@write`]
//!   for values and whole files; [`keypath`] and [`incremental`] on top.
//!
//! Must not: read or write files (`lvscf-store` does, and hands this crate
//! bytes), resolve host names, touch the network, or act on the
//! configuration. One parser for the whole suite, so that no two tools ever
//! disagree about what lvs.cf says.

pub mod analyze;
mod anycast;
mod apply;
mod blocks;
mod creading;
pub mod diag;
pub mod document;
mod health;
pub mod incremental;
pub mod keypath;
pub mod keywords;
pub mod model;
pub mod native;
mod report;
mod settle;
mod source;
pub mod structure;
pub mod syntax;
pub mod validate;
mod value;
pub mod write;

pub use diag::{Code, Diagnostic, Diagnostics, Severity};
pub use document::{Document, EditError, Loaded, Target};
pub use incremental::{BlockMap, ChangedVirtual};
pub use model::MAX_DEVICE_LEN;
pub use model::*;
pub use native::{CheckType, DnsQuery, Health, StatusSet, StatusSetError};
pub use structure::{BlockInfo, BlockKind, Keys, Structure};
pub use value::{MAX_COMMAND_WORDS, MAX_TEXT_BYTES};
pub use write::write_config;

/// Parses lvs.cf text. `file` is the name used in messages.
///
/// Returns the configuration with its warnings, or every diagnostic when
/// the file has at least one error.
pub fn parse(file: &str, text: &[u8]) -> Result<Loaded, Diagnostics> {
    Document::parse(file, text.to_vec()).into_loaded()
}
