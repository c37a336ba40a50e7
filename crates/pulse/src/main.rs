//! The `pulse` binary.

fn main() {
    println!("pulse {}", env!("CARGO_PKG_VERSION"));
}
