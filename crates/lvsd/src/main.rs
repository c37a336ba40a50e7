//! The `lvsd` binary: see the crate documentation of `lvsd`.

use clap::Parser;
use lvsd::cli::Cli;

fn main() {
    let cli = Cli::parse();
    let code = if cli.dry_run {
        lvsd::oneshot::dry_run(&cli)
    } else if cli.test_start {
        lvsd::log::init(false, cli.verbose);
        lvsd::oneshot::test_start(&cli)
    } else {
        lvsd::daemon::run(cli)
    };
    std::process::exit(code);
}
