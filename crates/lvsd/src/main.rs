//! The `lvsd` binary.

fn main() {
    println!("lvsd {}", env!("CARGO_PKG_VERSION"));
}
