//! The `send_arp` binary.

fn main() {
    println!("send_arp {}", env!("CARGO_PKG_VERSION"));
}
