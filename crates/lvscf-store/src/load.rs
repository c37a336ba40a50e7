//! Reading lvs.cf: a size bound before the parser sees the bytes.

use lvscf_parser::diag::Diagnostics;
use lvscf_parser::syntax::MAX_FILE_BYTES;
use lvscf_parser::{Document, Loaded};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Why a configuration file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// It could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// It was read but does not load.
    Invalid(Diagnostics),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => {
                write!(f, "failed to open {}: {error}", path.display())
            }
            LoadError::Invalid(d) => d.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads a configuration file, refusing one larger than the parser accepts
/// without reading all of it.
pub fn read_config_file(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    // Sized once from the file's length: growing by doubling would copy a
    // large file several times.
    let size = file
        .metadata()
        .map_or(0, |m| m.len())
        .min(MAX_FILE_BYTES as u64);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads and parses a configuration file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let bytes = read_config_file(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Document::parse(path.display().to_string(), bytes)
        .into_loaded()
        .map_err(LoadError::Invalid)
}
