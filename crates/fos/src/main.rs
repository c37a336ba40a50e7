//! The `fos` binary: see the crate documentation of `fos`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(fos::main_with_args(&args));
}
