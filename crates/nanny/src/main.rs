//! The `nanny` binary.

fn main() {
    println!("nanny {}", env!("CARGO_PKG_VERSION"));
}
