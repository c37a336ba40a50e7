//! Build helpers for packaging (never installed).
//!
//! ```text
//! cargo run -p xtask -- man OUTDIR          # man pages: generated + hand-written
//! cargo run -p xtask -- completions OUTDIR  # bash, zsh and fish completions
//! ```
//!
//! Man pages of the tools whose command line is a clap definition (`lvscf`,
//! `lvsd`, `nanny`, `piranha-web`) are generated from it with clap_mangen,
//! plus the sections clap does not know (FILES, SIGNALS, SEE ALSO, ...),
//! kept here. `pulse`, `fos`, `send_arp` and `piranha-passwd` parse Piranha's own
//! argument syntax by hand (popt-style errors, positional arguments), so
//! their pages are hand-written roff in `packaging/man/`, as is `lvs.cf(5)`;
//! their completions come from the small clap mirrors in `mirror.rs`.
//! packaging/test.sh checks that every long option a binary's `--help`
//! prints is in its man page.

mod mirror;

use clap::{Command, CommandFactory};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -p xtask -- man OUTDIR | completions OUTDIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [verb, out] if verb == "man" => man(Path::new(out)),
        [verb, out] if verb == "completions" => completions(Path::new(out)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The packaging/ directory of this checkout.
fn packaging_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging")
}

/// The suite's version (the workspace version).
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// One generated page: the clap command with a clean one-line `about` and a
/// description, and the roff of the sections clap cannot know.
struct Page {
    cmd: Command,
    about: &'static str,
    description: &'static str,
    extra: &'static str,
}

fn generated_pages() -> Vec<Page> {
    vec![
        Page {
            cmd: <lvscf::cli::Cli as CommandFactory>::command(),
            about: "check, show and edit lvs.cf",
            description: "lvscf checks /etc/sysconfig/ha/lvs.cf with the parser every daemon of the suite uses, prints the effective configuration with defaults applied, and changes single keywords or blocks without touching the rest of the file.",
            extra: LVSCF_EXTRA,
        },
        Page {
            cmd: <lvsd::cli::Cli as CommandFactory>::command(),
            about: "program the kernel IPVS table from lvs.cf and supervise nanny",
            description: "lvsd reads lvs.cf, builds the IPVS table the active virtual servers describe, compares it with the kernel's table and applies only the differences over generic netlink. It starts one nanny per active virtual server and applies the up and down reports the nannies send. pulse starts lvsd on the active router (with --nofork); it is rarely run by hand.",
            extra: LVSD_EXTRA,
        },
        Page {
            cmd: <nanny::cli::Cli as CommandFactory>::command(),
            about: "health checks of LVS real servers",
            description: "nanny checks real servers (TCP or UDP connect, send and expect strings, or an external send_program) and reports them up or down with Piranha's timing: one failed probe takes a server out, reentry/timeout good probes bring it back. lvsd runs one nanny per virtual server with --lvsd and applies its reports to the kernel; the Piranha command line for a single server (--lvs) is kept for people who run nanny by hand, and then nanny only logs and reports, it never changes the IPVS table.",
            extra: NANNY_EXTRA,
        },
        Page {
            cmd: <piranha_web::cli::Args as CommandFactory>::command(),
            about: "the LVS web configuration tool (port 3636)",
            description: "piranha-web serves Piranha's configuration pages (CONTROL/MONITORING, GLOBAL SETTINGS, REDUNDANCY, VIRTUAL SERVERS) on port 3636. Every page needs the login of the user piranha with the password set by piranha-passwd(8); every change needs a CSRF token; viewing never writes. Changes are written to lvs.cf(5) through the same parser as the daemons, atomically (a temporary file in /etc/sysconfig/ha renamed over lvs.cf, under the lock /etc/sysconfig/ha/.lvs.cf.lock), and an edit made from a stale page is refused instead of losing another change. The status of pulse and lvsd is read from their status sockets. It needs no privileges and runs as the user piranha (piranha-gui.service); it warns when it runs as root, and when it serves plain HTTP on a non-loopback address.",
            extra: PIRANHA_WEB_EXTRA,
        },
    ]
}

fn man(out: &Path) -> Result<(), String> {
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for page in generated_pages() {
        let name = page.cmd.get_name().to_string();
        let cmd = page
            .cmd
            .about(page.about)
            .long_about(page.description)
            .disable_help_subcommand(true);
        let man = clap_mangen::Man::new(cmd.clone())
            .section("8")
            .source(format!("lvs-suite {}", version()))
            .manual("System Manager's Manual");
        let mut roff: Vec<u8> = Vec::new();
        let render = |roff: &mut Vec<u8>| -> std::io::Result<()> {
            man.render_title(roff)?;
            man.render_name_section(roff)?;
            man.render_synopsis_section(roff)?;
            man.render_description_section(roff)?;
            man.render_options_section(roff)?;
            if cmd.get_subcommands().next().is_some() {
                man.render_subcommands_section(roff)?;
            }
            roff.write_all(page.extra.as_bytes())
        };
        render(&mut roff).map_err(|e| e.to_string())?;
        write(&out.join(format!("{name}.8")), &roff)?;
        // One page per subcommand (`lvscf-check(8)`, ...), which the
        // SUBCOMMANDS section refers to.
        let mut built = cmd.clone();
        built.build();
        for sub in built.get_subcommands() {
            let page_name = format!("{name}-{}", sub.get_name());
            // After build(), a subcommand's display name is `lvscf-check`.
            let man = clap_mangen::Man::new(sub.clone())
                .section("8")
                .source(format!("lvs-suite {}", version()))
                .manual("System Manager's Manual");
            let mut roff: Vec<u8> = Vec::new();
            man.render(&mut roff).map_err(|e| e.to_string())?;
            roff.extend_from_slice(
                format!(".SH \"SEE ALSO\"\n\\fB{name}\\fR(8), \\fBlvs.cf\\fR(5)\n").as_bytes(),
            );
            write(&out.join(format!("{page_name}.8")), &roff)?;
        }
    }
    let hand = packaging_dir().join("man");
    let entries = fs::read_dir(&hand).map_err(|e| format!("{}: {e}", hand.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let is_page = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.len() == 1 && e.chars().all(|c| c.is_ascii_digit()));
        if is_page {
            let name = path.file_name().expect("a file name");
            let text = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            write(&out.join(name), &text)?;
        }
    }
    Ok(())
}

/// Every tool with completions: the generated definitions and the mirrors.
fn all_commands() -> Vec<Command> {
    let mut cmds: Vec<Command> = generated_pages().into_iter().map(|p| p.cmd).collect();
    cmds.extend(mirror::commands());
    cmds
}

fn completions(out: &Path) -> Result<(), String> {
    use clap_complete::Shell;
    for (shell, dir, file) in [
        (Shell::Bash, "bash", "{}"),
        (Shell::Zsh, "zsh", "_{}"),
        (Shell::Fish, "fish", "{}.fish"),
    ] {
        let dir = out.join(dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for mut cmd in all_commands() {
            let name = cmd.get_name().to_string();
            let mut buf: Vec<u8> = Vec::new();
            clap_complete::generate(shell, &mut cmd, name.clone(), &mut buf);
            write(&dir.join(file.replace("{}", &name)), &buf)?;
        }
    }
    Ok(())
}

fn write(path: &Path, data: &[u8]) -> Result<(), String> {
    fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))?;
    // Progress only: a closed stdout is not an error.
    let _ = writeln!(std::io::stdout(), "{}", path.display());
    Ok(())
}

/// The SEE ALSO section of the daemons' pages (a macro: `concat!` needs a literal).
macro_rules! see_also_all {
    () => {
        ".SH \"SEE ALSO\"
\\fBlvs.cf\\fR(5), \\fBpulse\\fR(8), \\fBlvsd\\fR(8), \\fBnanny\\fR(8), \\fBfos\\fR(8), \\fBsend_arp\\fR(8), \\fBlvscf\\fR(8), \\fBpiranha\\-web\\fR(8), \\fBpiranha\\-passwd\\fR(8), \\fBipvsadm\\fR(8)
"
    };
}

const LVSCF_EXTRA: &str = concat!(
    ".SH KEYS
Keys name one keyword:
\\fIKEYWORD\\fR (global),
\\fBvirtual.\\fINAME\\fB.\\fIKEYWORD\\fR,
\\fBvirtual.\\fINAME\\fB.server.\\fINAME\\fB.\\fIKEYWORD\\fR and
\\fBfailover.\\fINAME\\fB.\\fIKEYWORD\\fR;
without the last part they name a block.
Block names that contain dots are matched against the names in the file.
VALUE is written without lvs.cf quoting, for example
.PP
.RS
.nf
lvscf set virtual.web.address \"10.0.0.100 eth0:1\"
lvscf set virtual.web.send 'GET / HTTP/1.0\\er\\en\\er\\en'
lvscf set virtual.web.server.web1.weight 5
lvscf unset virtual.web.server.web2
.fi
.RE
.PP
\\fBset\\fR on a block that does not exist creates it.
.SH OUTPUT
\\fBcheck\\fR prints every problem as
\\fIFILE\\fB:\\fILINE\\fB:\\fICOL\\fB: error|warning: \\fImessage\\fB [\\fIcode\\fB]\\fR
with the offending line, a caret under the offending text and, when there is
one, a hint. It also checks that the programs the file names
(\\fBactive_cmd\\fR, \\fBinactive_cmd\\fR, \\fBsend_program\\fR) are owned by
root and not writable by others, unless \\fB\\-\\-syntax\\-only\\fR is given.
\\fBdump \\-\\-json\\fR prints one JSON object, the typed configuration with
every default applied.
.SH \"WRITING THE FILE\"
\\fBset\\fR, \\fBunset\\fR, \\fBrename\\fR and \\fBmove\\fR change only the lines
concerned (comments and spacing elsewhere stay byte for byte), lay new lines
out as Piranha's GUI did, refuse to write a file that would not load, and
replace the file atomically (temporary file, fsync, rename), holding the lock
file \\fB.lvs.cf.lock\\fR next to it that the web tool also takes.
.SH \"EXIT STATUS\"
0 when the file loads (warnings allowed) or the change was written; 1 when the
file does not load or the change was refused; 2 on a usage error.
.SH FILES
.TP
.I /etc/sysconfig/ha/lvs.cf
the configuration
.TP
.I /etc/sysconfig/ha/.lvs.cf.lock
the lock shared with \\fBpiranha\\-web\\fR(8)
",
    ".SH \"SEE ALSO\"
\\fBlvs.cf\\fR(5), \\fBpulse\\fR(8), \\fBlvsd\\fR(8), \\fBnanny\\fR(8), \\fBfos\\fR(8), \\fBsend_arp\\fR(8), \\fBpiranha\\-web\\fR(8), \\fBpiranha\\-passwd\\fR(8), \\fBipvsadm\\fR(8)
"
);

const PIRANHA_WEB_EXTRA: &str = r#".SH "COPY TO BACKUP"
The CONTROL/MONITORING page can copy lvs.cf to the backup router. With
.B rsh_command = ssh
it runs
.B "scp \-q \-o BatchMode=yes \-o ConnectTimeout=10"
as the user piranha, whose home is
.IR /etc/sysconfig/ha :
give it a key in
.I /etc/sysconfig/ha/.ssh/
(mode 0700, owner piranha), install the public key for piranha on the
backup, and, since piranha's shell is
.BR nologin ,
let sshd there serve it SFTP only:
.PP
.RS
.nf
Match User piranha
    ForceCommand internal\-sftp
.fi
.RE
.PP
Otherwise it runs
.BR rcp ,
which cannot work under the hardened
.B piranha\-gui.service
(rcp is setuid root to bind a reserved port).
.SH FILES
.TP
.I /etc/sysconfig/ha/lvs.cf
mode 0660, owner root, group piranha; the directory is mode 2775 root:piranha
.TP
.I /etc/sysconfig/ha/conf/piranha.passwd
mode 0600, owner piranha
.TP
.I /etc/sysconfig/piranha\-gui
.B PIRANHA_WEB_OPTIONS
for the service
.SH "SEE ALSO"
.BR piranha\-passwd (8),
.BR lvs.cf (5),
.BR lvscf (8),
.BR pulse (8)
"#;

const LVSD_EXTRA: &str = concat!(
    ".SH \"RELOADING\"
On \\fBSIGHUP\\fR (pulse forwards its own SIGHUP) lvsd re-reads lvs.cf, dumps the
kernel table, and applies only the differences: unchanged services and real
servers keep their connections. Piranha flushed and rebuilt the table.
A file that does not load is refused and the running table is kept.
.SH SIGNALS
.TP
.B SIGHUP
reload, as above
.TP
.BR SIGTERM \", \" SIGINT
stop the nannies, remove the services lvsd added, remove the pid file and exit
.SH \"NANNY DEATH\"
With \\fBhard_shutdown = 1\\fR (the default) a nanny that dies makes lvsd exit,
so that pulse fails over to the backup router, as in Piranha.
With \\fBhard_shutdown = 0\\fR lvsd restarts the nanny with a back-off.
.SH FILES
.TP
.I /etc/sysconfig/ha/lvs.cf
the configuration
.TP
.I /var/run/lvs.pid
the pid file (the name Piranha used)
.TP
.I /run/piranha/lvsd.sock
the status socket (JSON, read-only), read by \\fBpiranha\\-web\\fR(8)
.SH LOGGING
To syslog (facility daemon, ident \\fBlvsd\\fR), or with \\fB\\-n\\fR to
standard output with the prefix \\fBlvs:\\fR, as Piranha did.
",
    ".SH \"SEE ALSO\"
\\fBlvs.cf\\fR(5), \\fBpulse\\fR(8), \\fBnanny\\fR(8), \\fBlvscf\\fR(8), \\fBipvsadm\\fR(8)
"
);

const NANNY_EXTRA: &str = concat!(
    ".SH CHECKS
A probe connects to the real server (TCP, or UDP with \\fB\\-u\\fR), sends the
\\fB\\-s\\fR string if any and reads a reply matching the \\fB\\-x\\fR string
(\\fB*\\fR matches anything; with \\fB\\-\\-regex\\fR a POSIX extended regular
expression). With \\fB\\-e\\fR the program is run instead (\\fB%h\\fR is
replaced with the server address, \\fB%p\\fR with the port, no shell) and its
output is matched against \\fB\\-x\\fR; a failing program is a failed probe.
Backslash escapes (\\fB\\er\\fR, \\fB\\en\\fR, ...) in the strings are
translated unless \\fB\\-T\\fR is given.
.PP
One failed probe takes a server out (or sets its weight to 0 with
\\fB\\-q\\fR); it comes back after \\fIreentry\\fR/\\fIinterval\\fR good probes
in a row, with a weight that ramps up from 1/32 of the configured weight.
With \\fB\\-U\\fR the weight follows the server's load average.
.SH LOGGING
With \\fB\\-n\\fR to standard error with the prefix \\fBnanny:\\fR, otherwise
also to syslog (facility daemon, ident \\fBnanny\\fR).
",
    see_also_all!()
);
