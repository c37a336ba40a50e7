//! The `nanny` binary: `nanny --lvsd [-v]` under lvsd, or Piranha's
//! single-server command line.

fn main() {
    std::process::exit(nanny::cli::main_with(std::env::args().collect()));
}
