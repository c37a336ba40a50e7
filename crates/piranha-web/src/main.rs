//! The `piranha-web` binary: the LVS web configuration tool on port 3636.
//!
//! Owns the web pages, their authentication and the edits they make to
//! lvs.cf (always through `lvscf-parser`). It never needs root: run it as
//! the user `piranha`, with lvs.cf `root:piranha` mode 0660 and its
//! directory writable by the group (saves are atomic renames).
//! Everything lives in the `piranha_web` library; this file only parses
//! the command line.

use clap::Parser;
use piranha_web::cli::Args;
use piranha_web::server::{self, App, Options};
use std::time::Duration;

/// stderr for the log, ignoring write errors. tracing-subscriber reports a
/// failed write with `eprintln!`, which panics when stderr is gone (a closed
/// pipe, a terminal that went away): every request that logged something
/// then died without an answer. A lost log line must not cost a request.
struct LossyStderr;

impl std::io::Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(|| LossyStderr)
        .init();
    let args = Args::parse();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => match server::tls_config(c, k) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("piranha-web: {e}");
                std::process::exit(1);
            }
        },
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %args.listen,
            "serving plain HTTP on a non-loopback address: passwords and session cookies cross the network in clear text; use --tls-cert/--tls-key or --listen 127.0.0.1:3636"
        );
    }
    if nix::unistd::geteuid().is_root() {
        tracing::warn!(
            "running as root; piranha-web needs no privileges, run it as the user piranha"
        );
    }
    let opts = Options {
        config: args.config,
        passwd_file: args.passwd_file,
        pulse_socket: args.pulse_socket,
        lvsd_socket: args.lvsd_socket,
        allow: args.allow,
        copy_timeout: Duration::from_secs(60),
        programs: args.programs.unwrap_or_else(exec_policy::allowlist_path),
    };
    // A save killed half-way (kill -9, a crash) leaves its temporary file
    // next to lvs.cf; remove ours before serving (FLT-K04).
    match piranha_web::store::Store::new(&opts.config).clean_stale_temps() {
        Ok(removed) => {
            for p in removed {
                tracing::info!(path = %p.display(), "removed the temporary file of an interrupted save");
            }
        }
        Err(e) => tracing::warn!(
            config = %opts.config.display(),
            error = %e,
            "cannot look for temporary files of interrupted saves"
        ),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("piranha-web: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async move {
        let app = App::new(opts);
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        tracing::info!(listen = %listener.local_addr()?, tls = tls.is_some(), "piranha-web listening");
        server::serve(listener, server::router(app), tls).await
    });
    if let Err(e) = result {
        eprintln!("piranha-web: {e}");
        std::process::exit(1);
    }
}
