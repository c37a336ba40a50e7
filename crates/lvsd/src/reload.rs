//! SIGHUP: lvs.cf read again and the table brought in line with it.
//!
//! Three cases, cheapest first. The same bytes as the running text (which
//! names no host, whose address could have changed): not parsed again. An
//! edit inside one `virtual` block (the common case: a weight, a
//! scheduler, a server added): that block is re-read alone
//! (`lvscf_parser::BlockMap`) and its service reconciled at once against
//! lvsd's model of the kernel table, before anything else, so the change
//! is in the kernel after parsing a few lines and sending what differs.
//! Anything else: the full parse, with every message about the file.
//!
//! In all three cases the rest of the reload then runs the same way: the
//! kernel's service list read (services that vanished or changed behind
//! lvsd's back are re-read), timeouts set, the whole table reconciled, so
//! that an `ipvsadm -C` done behind lvsd's back is repaired by this
//! SIGHUP; and, when the configuration changed, the nannies regrouped by
//! the caller. An invalid file is logged with line and column and the
//! running configuration is kept. Every step is timed; the breakdown is
//! logged at debug level (`reload timing: ...`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use lvscf_parser::ChangedVirtual;

use crate::load::{parse_config, read_config, RunningText};
use crate::plan::{self, Scope};
use crate::reconcile::{Reconciler, Steps};
use crate::{debug, error, info, warn};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The file lvsd reloads, and its running text when it names no host.
pub struct Reloader {
    path: PathBuf,
    running: Option<RunningText>,
}

/// A reload that got as far as the kernel: what remains is regrouping the
/// nannies (when [`Reloaded::regroup`] says so), then
/// [`Reloaded::finish`].
#[must_use]
pub struct Reloaded {
    t0: Instant,
    t_read: Instant,
    t_parse: Instant,
    t_resolve: Instant,
    t_config: Instant,
    t_dump: Instant,
    t_timeouts: Instant,
    t_reconcile: Instant,
    /// Operations the block re-read alone applied, when it was.
    early: Option<usize>,
    /// Operations the full comparison applied.
    n: usize,
    regroup: bool,
}

impl Reloader {
    /// `running`: the text lvsd started with, if it names no host.
    pub fn new(path: &Path, running: Option<RunningText>) -> Reloader {
        Reloader {
            path: path.to_path_buf(),
            running,
        }
    }

    /// Reads lvs.cf again and reconciles. `None` when the file could not
    /// be read or does not parse (logged; nothing changed).
    pub fn reload(&mut self, r: &mut Reconciler) -> Option<Reloaded> {
        let t0 = Instant::now();
        info!("rereading configuration file {}", self.path.display());
        let bytes = match read_config(&self.path) {
            Ok(b) => b,
            Err(e) => {
                error!("{e}; keeping the running configuration");
                return None;
            }
        };
        let t_read = Instant::now();
        let unchanged = self
            .running
            .as_ref()
            .is_some_and(|t| t.bytes() == bytes.as_slice());
        let (mut t_parse, mut t_resolve) = (t_read, t_read);
        let mut early = None;
        if unchanged {
            // Same bytes, no host names: the same configuration. The kernel
            // is still read and repaired below.
            debug!("lvs.cf unchanged since it was loaded: not parsed again");
        } else {
            let whole = match self.running.as_mut() {
                Some(RunningText::Blocks(map)) => {
                    match map.reparse(&self.path.display().to_string(), r.config(), bytes) {
                        Ok(changed) => {
                            t_parse = Instant::now();
                            t_resolve = t_parse;
                            match self.apply_one_virtual(r, changed, t0) {
                                Ok(n) => {
                                    early = Some(n);
                                    None
                                }
                                Err(text) => Some(text),
                            }
                        }
                        Err(bytes) => Some(bytes),
                    }
                }
                _ => Some(bytes),
            };
            if let Some(bytes) = whole {
                let (mut config, text) = match parse_config(&self.path, bytes) {
                    Ok(c) => c,
                    Err(e) => {
                        error!("{e}; keeping the running configuration");
                        return None;
                    }
                };
                t_parse = Instant::now();
                let names = !crate::resolve::names(&config).is_empty();
                for l in crate::resolve::resolve(&mut config) {
                    info!("{l}");
                }
                t_resolve = Instant::now();
                for l in plan::virtual_changes(r.config(), &config) {
                    info!("{l}");
                }
                r.set_config(config);
                self.running = (!names).then_some(text);
            }
            r.forget_unconfigured();
        }
        let t_config = Instant::now();
        r.refresh(false);
        let t_dump = Instant::now();
        r.timeouts();
        let t_timeouts = Instant::now();
        let n = r.reconcile(Scope::All);
        let t_reconcile = Instant::now();
        Some(Reloaded {
            t0,
            t_read,
            t_parse,
            t_resolve,
            t_config,
            t_dump,
            t_timeouts,
            t_reconcile,
            early,
            n,
            // The groups and jobs depend on the configuration only.
            regroup: !unchanged,
        })
    }

    /// Puts one re-read `virtual` block into the configuration and sends
    /// what its service now needs ([`Scope::Virtual`]). Returns the number
    /// of operations applied, or the file's text when the block needs a
    /// full parse after all (a host name to resolve).
    fn apply_one_virtual(
        &mut self,
        r: &mut Reconciler,
        changed: ChangedVirtual,
        t0: Instant,
    ) -> Result<usize, Vec<u8>> {
        let v = changed.virtual_server;
        let has_names = crate::resolve::virtual_names(&v).next().is_some();
        let name = v.name.clone();
        if has_names || !r.set_virtual(changed.index, v, changed.serial_no) {
            // The map already describes the new text: forget it, so that
            // a failed full parse is not taken for the running file later.
            return Err(self
                .running
                .take()
                .map(RunningText::into_bytes)
                .unwrap_or_default());
        }
        let applied = r.reconcile(Scope::Virtual(changed.index));
        info!(
            "virtual {name} re-read alone (lines {}-{}): {applied} change(s) applied {:.1} ms after the SIGHUP",
            changed.lines.0,
            changed.lines.1,
            ms(t0.elapsed())
        );
        Ok(applied)
    }
}

impl Reloaded {
    /// Whether the configuration changed, so the nannies must be
    /// regrouped.
    pub fn regroup(&self) -> bool {
        self.regroup
    }

    /// Logs the timing breakdown and the result. `steps`: the full
    /// reconcile's own breakdown.
    pub fn finish(self, steps: Steps) {
        let t_end = Instant::now();
        let st = steps;
        debug!(
            "reload timing: read {:.1} ms, parse {:.1} ms, resolve {:.1} ms, config swap {:.1} ms, \
             kernel dump {:.1} ms, timeouts {:.1} ms, desired {:.1} ms, diff {:.1} ms, \
             apply {:.1} ms, model {:.1} ms, reconcile other {:.1} ms, nannies {:.1} ms, \
             total {:.1} ms",
            ms(self.t_read - self.t0),
            ms(self.t_parse - self.t_read),
            ms(self.t_resolve - self.t_parse),
            ms(self.t_config - self.t_resolve),
            ms(self.t_dump - self.t_config),
            ms(self.t_timeouts - self.t_dump),
            ms(st.desired),
            ms(st.diff),
            ms(st.apply),
            ms(st.model),
            ms((self.t_reconcile - self.t_timeouts)
                .saturating_sub(st.desired + st.diff + st.apply + st.model)),
            ms(t_end - self.t_reconcile),
            ms(t_end - self.t0),
        );
        let n = self.n;
        if let (Some(_), true) = (self.early, n > 0) {
            warn!("reload: repaired {n} difference(s) made behind lvsd's back");
        }
        info!(
            "configuration reloaded: {} change(s) applied in {:.1} ms",
            n + self.early.unwrap_or(0),
            ms(t_end - self.t0)
        );
    }
}
