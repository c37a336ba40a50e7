//! The `piranha-web` binary: the LVS web configuration tool on port 3636.
//!
//! Owns the web pages, their authentication and the edits they make to
//! lvs.cf (always through `lvscf-parser`). It never needs root.
fn main() {
    println!("piranha-web {}", env!("CARGO_PKG_VERSION"));
}
