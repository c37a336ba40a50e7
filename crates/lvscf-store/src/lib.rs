//! lvs.cf on disk, for every tool that reads or writes it.
//!
//! Owns: reading the file with the parser's size bound
//! ([`read_config_file`]) and loading it ([`load_file`], with
//! [`LoadError`]); the atomic save every writer uses ([`write_atomic`]: a
//! temporary file next to lvs.cf, created exclusively and never through a
//! symlink, written, fsynced, given the old file's mode and owner, renamed
//! over it, then the directory fsynced), the steps it makes ([`SaveStep`],
//! named in its errors) and the seam that lets tests drive those steps
//! ([`SaveOps`], [`write_atomic_with`]); the writers' lock ([`ConfigLock`]);
//! the removal of the temporary files interrupted saves left behind
//! ([`remove_stale_temps`]); and the [`history`] of saved versions (who,
//! from where, when, a one-line summary computed from the parser's typed
//! configurations, the previous bytes), bounded and pruned.
//!
//! Must not: read or write lvs.cf's grammar (that is `lvscf-parser`'s, and
//! this crate only hands it bytes), decide what a save contains, contact
//! the daemons, or follow a symbolic link when it writes.

pub mod history;
mod load;
mod lock;
mod save;

pub use load::{load_file, read_config_file, LoadError};
pub use lock::ConfigLock;
pub use save::{
    is_temp_name, os_error_code, remove_stale_temps, save_step_error, temp_name, write_atomic,
    write_atomic_with, Existing, OsSave, SaveOps, SaveStep, SaveStepError,
};
