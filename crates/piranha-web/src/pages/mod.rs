//! The HTML pages (pure: documents and form states in, markup out; maud
//! escapes every interpolated value).
//!
//! Plain server-rendered forms, no JavaScript, usable in a text browser.
//! Titles start with `Piranha (` as Piranha's did. One module per panel;
//! the lists of blocks share one widget ([`list`]).
//!
//! | module | pages |
//! |---|---|
//! | `layout` | the frame of every page, [`Ctx`], the message page |
//! | `widgets` | form rows, hidden fields, errors, netmask lists, diagnostics, the allowlist note |
//! | [`list`] | the list-and-buttons widget of the three lists |
//! | `login` | login, the CHANGE PASSWORD help |
//! | `confirm` | the confirmation of a destructive or disruptive action |
//! | `control` | CONTROL/MONITORING |
//! | [`history`] | HISTORY: the kept versions, their diffs, RESTORE |
//! | `global` | GLOBAL SETTINGS, REDUNDANCY |
//! | `newvirtual` | NEW VIRTUAL SERVER: one form with the check and real servers |
//! | `virtuals` | VIRTUAL SERVERS, VIRTUAL SERVER |
//! | `real` | REAL SERVER (list and one) |
//! | `scripts` | MONITORING SCRIPTS (virtual and failover) |
//! | `failover` | the failover list and one failover service |

mod confirm;
mod control;
mod failover;
mod global;
pub mod history;
mod layout;
pub mod list;
mod login;
mod newvirtual;
mod real;
mod scripts;
mod virtuals;
mod widgets;

pub use confirm::{confirm, Confirmation};
pub use control::{control, refresh_url as control_refresh_url};
pub use failover::{failover_edit, failover_list};
pub use global::{global, redundancy};
pub use layout::{action_buttons, layout, message, render, Ctx, ProgramsNote, Tab, STYLE};
pub use login::{login, passwd_help};
pub use newvirtual::new_virtual;
pub use real::{real_edit, real_list};
pub use scripts::{failover_scripts, scripts};
pub use virtuals::{virtual_edit, virtual_list};
pub use widgets::{diagnostics, FormState};
