//! The `piranha-web` command line, as a clap definition (the binary and the
//! man page generator share it).

use crate::session::Cidr;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The LVS web configuration tool (Piranha's GUI, port 3636).
#[derive(Parser, Debug)]
#[command(name = "piranha-web", version)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, default_value = "[::]:3636")]
    pub listen: SocketAddr,
    /// The LVS configuration file.
    #[arg(long, default_value = lvscf_parser::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// The htpasswd file with the user piranha.
    #[arg(long, default_value = "/etc/sysconfig/ha/conf/piranha.passwd")]
    pub passwd_file: PathBuf,
    /// PEM certificate chain: serve HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Client networks allowed to connect (CIDR; repeatable; default all).
    #[arg(long = "allow", value_name = "NET")]
    pub allow: Vec<Cidr>,
    /// pulse's status socket.
    #[arg(long, default_value = "/run/piranha/pulse.sock")]
    pub pulse_socket: PathBuf,
    /// lvsd's status socket.
    #[arg(long, default_value = "/run/piranha/lvsd.sock")]
    pub lvsd_socket: PathBuf,
    /// The root-owned list of programs the daemons run for lvs.cf (default
    /// $LVS_PROGRAMS_FILE, else /etc/sysconfig/lvs-programs); the tool
    /// refuses to save a program it does not allow.
    #[arg(long, value_name = "FILE")]
    pub programs: Option<PathBuf>,
}
