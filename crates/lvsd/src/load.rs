//! Reading and parsing lvs.cf for lvsd: the bounded read of the parser's
//! loader, the parse with its warnings logged, host names resolved, and
//! the running text kept for the next SIGHUP.

use std::path::Path;

use lvscf_parser::{BlockMap, Config, Diagnostics};
use lvscf_store::LoadError;

use crate::{info, warn};

/// Why a configuration file does not load. Displayed, it is the log line
/// (the caller adds what it does about it).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read (`failed to open PATH: ...`).
    #[error(transparent)]
    Read(LoadError),
    /// It does not parse (`error parsing PATH:LINE:COLUMN: ...`, with the
    /// offending line and a caret).
    #[error("error parsing {0}")]
    Parse(Diagnostics),
}

/// Loads and resolves a configuration file.
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let bytes = read_config(path)?;
    let (mut config, _) = parse_config(path, bytes)?;
    for l in crate::resolve::resolve(&mut config) {
        info!("{l}");
    }
    Ok(config)
}

/// Reads a configuration file (bounded as the parser's loader reads it).
pub fn read_config(path: &Path) -> Result<Vec<u8>, ConfigError> {
    lvscf_store::read_config_file(path).map_err(|error| {
        ConfigError::Read(LoadError::Io {
            path: path.to_path_buf(),
            error,
        })
    })
}

/// The text of the running lvs.cf, kept while it names no host (a SIGHUP
/// with the same bytes then cannot change the configuration, so it is not
/// parsed again; with host names it is, to resolve them anew).
pub enum RunningText {
    /// With the map of its blocks: an edit inside one `virtual` block is
    /// re-read alone.
    Blocks(BlockMap),
    /// Bytes only (a layout [`BlockMap`] does not handle).
    Bytes(Vec<u8>),
}

impl RunningText {
    /// The text.
    pub fn bytes(&self) -> &[u8] {
        match self {
            RunningText::Blocks(m) => m.text(),
            RunningText::Bytes(b) => b,
        }
    }

    /// The text, given up.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            RunningText::Blocks(m) => m.into_text(),
            RunningText::Bytes(b) => b,
        }
    }
}

/// Parses a configuration file's bytes and logs its warnings (host names
/// are left unresolved). Also returns the text with the map of its blocks.
pub fn parse_config(path: &Path, bytes: Vec<u8>) -> Result<(Config, RunningText), ConfigError> {
    let doc = lvscf_parser::Document::parse(path.display().to_string(), bytes);
    let text = match BlockMap::of(&doc) {
        Some(map) => RunningText::Blocks(map),
        None => RunningText::Bytes(doc.as_bytes().to_vec()),
    };
    let (config, warnings) = doc.into_config().map_err(ConfigError::Parse)?;
    for w in &warnings {
        warn!(
            "{}:{}:{}: warning: {}",
            path.display(),
            w.line,
            w.column,
            w.message
        );
    }
    Ok((config, text))
}

/// Loads lvs.cf at start: the configuration with its host names resolved,
/// and its text when it names no host (see [`RunningText`]).
pub fn load_running(path: &Path) -> Result<(Config, Option<RunningText>), ConfigError> {
    let bytes = read_config(path)?;
    let (mut config, text) = parse_config(path, bytes)?;
    let names = !crate::resolve::names(&config).is_empty();
    for l in crate::resolve::resolve(&mut config) {
        info!("{l}");
    }
    Ok((config, (!names).then_some(text)))
}
