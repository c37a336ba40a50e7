//! Which command lines a configuration makes root run, as the daemons will
//! build them (before `%h`/`%p` are replaced). Pure: `lvscf programs`, the
//! web tool and `lvscf check` list exactly what pulse and nanny would ask
//! the [`crate::Policy`] about.

use lvscf_parser::{Config, LoadMonitor, VirtualServer};

/// Where a command comes from in lvs.cf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The global section.
    Global,
    /// `virtual NAME { ... }`, the `index`th of `Config::virtuals`.
    Virtual {
        /// Index in `Config::virtuals`.
        index: usize,
        /// Its name.
        name: String,
    },
    /// `failover NAME { ... }`, the `index`th of `Config::failovers`.
    Failover {
        /// Index in `Config::failovers`.
        index: usize,
        /// Its name.
        name: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Global => f.write_str("global"),
            Origin::Virtual { name, .. } => write!(f, "virtual {name}"),
            Origin::Failover { name, .. } => write!(f, "failover {name}"),
        }
    }
}

/// One command root would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredCommand {
    /// The block.
    pub origin: Origin,
    /// The keyword that names it (`load_monitor` for the remote load
    /// command built from `load_monitor` and `rsh_command`).
    pub key: &'static str,
    /// The command line, words separated by one blank.
    pub template: String,
}

/// The load monitor's command for a server at `%h`, or `None` for
/// `load_monitor = none`:
///
/// * `uptime`: the words of `rsh_command` (default `rsh`), `%h`, `uptime`;
/// * `rsh` / `ssh` (how Piranha's lvsd passed `uptime`): that, `%h`, `uptime`;
/// * `rup`, `ruptime`, or any other command line: its words, then `%h`.
pub fn load_monitor_template(load_monitor: &str, rsh_command: &str) -> Option<Vec<String>> {
    let lm = load_monitor.trim();
    if lm.is_empty() || lm == "none" {
        return None;
    }
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let mut argv;
    if lm == "uptime" {
        argv = words(rsh_command);
        if argv.is_empty() {
            argv.push("rsh".into());
        }
        argv.push("%h".into());
        argv.push("uptime".into());
    } else if lm == "rsh" || lm == "ssh" {
        argv = vec![lm.to_string(), "%h".into(), "uptime".into()];
    } else {
        argv = words(lm);
        argv.push("%h".into());
    }
    Some(argv)
}

fn virtual_commands(
    out: &mut Vec<ConfiguredCommand>,
    config: &Config,
    v: &VirtualServer,
    origin: Origin,
) {
    let mut push = |key: &'static str, text: &str| {
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.is_empty() {
            out.push(ConfiguredCommand {
                origin: origin.clone(),
                key,
                template: words.join(" "),
            });
        }
    };
    if let Origin::Failover { .. } = origin {
        if let Some(c) = &v.start_cmd {
            push("start_cmd", c);
        }
        if let Some(c) = &v.stop_cmd {
            push("stop_cmd", c);
        }
    }
    if let Some(c) = &v.send_program {
        push("send_program", &c.text);
    }
    if v.load_monitor != LoadMonitor::None {
        if let Some(t) = load_monitor_template(v.load_monitor.as_str(), &config.rsh_command) {
            push("load_monitor", &t.join(" "));
        }
    }
}

/// Every command `config` makes root run: `active_cmd`, `inactive_cmd`,
/// and, for active virtual servers and failover services, their checks'
/// programs, load monitors, `start_cmd` and `stop_cmd`.
pub fn commands_of(config: &Config) -> Vec<ConfiguredCommand> {
    let mut out = Vec::new();
    for (key, c) in [
        ("active_cmd", &config.active_cmd),
        ("inactive_cmd", &config.inactive_cmd),
    ] {
        if let Some(c) = c {
            let words = c.argv();
            if !words.is_empty() {
                out.push(ConfiguredCommand {
                    origin: Origin::Global,
                    key,
                    template: words.join(" "),
                });
            }
        }
    }
    for (index, v) in config.virtuals.iter().enumerate().filter(|(_, v)| v.active) {
        let origin = Origin::Virtual {
            index,
            name: v.name.clone(),
        };
        virtual_commands(&mut out, config, v, origin);
    }
    for (index, f) in config
        .failovers
        .iter()
        .enumerate()
        .filter(|(_, f)| f.active)
    {
        let origin = Origin::Failover {
            index,
            name: f.name.clone(),
        };
        virtual_commands(&mut out, config, f, origin);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        lvscf_parser::Document::parse("t", text)
            .into_config()
            .expect("loads")
            .0
    }

    #[test]
    fn load_monitor_templates() {
        let t = |lm, rsh| load_monitor_template(lm, rsh).map(|v| v.join(" "));
        assert_eq!(t("none", "ssh"), None);
        assert_eq!(t("uptime", "ssh"), Some("ssh %h uptime".into()));
        assert_eq!(t("uptime", ""), Some("rsh %h uptime".into()));
        assert_eq!(
            t("uptime", "/usr/bin/env /tmp/x/evil.sh"),
            Some("/usr/bin/env /tmp/x/evil.sh %h uptime".into())
        );
        assert_eq!(t("ruptime", "rsh"), Some("ruptime %h".into()));
        assert_eq!(t("ssh", "rsh"), Some("ssh %h uptime".into()));
        // Any other value, as Piranha's nanny ran it (I15 part 3).
        assert_eq!(
            t("/usr/local/bin/load-of", "rsh"),
            Some("/usr/local/bin/load-of %h".into())
        );
    }

    #[test]
    fn every_program_key_is_listed() {
        let c = config(
            "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nbackup = 10.0.0.2\nbackup_active = 1\n\
             heartbeat = 1\nkeepalive = 6\ndeadtime = 18\nnetwork = direct\n\
             rsh_command = \"/usr/bin/env /tmp/x/evil.sh\"\n\
             active_cmd = \"/usr/bin/env /tmp/x/evil.sh\"\ninactive_cmd = \"/bin/sh -c id\"\n\
             virtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n port = 80\n\
             send_program = \"/bin/sh -c echo${IFS}x %h\"\n load_monitor = uptime\n\
             server s1 {\n address = 10.0.1.11\n active = 1\n }\n}\n\
             virtual off {\n active = 0\n address = 10.0.0.101 eth0:1\n send_program = \"/x\"\n}\n\
             failover ftp {\n active = 1\n address = 10.0.0.102 eth0:2\n port = 21\n\
             start_cmd = \"/etc/init.d/ftp start\"\n stop_cmd = \"/etc/init.d/ftp stop\"\n}\n",
        );
        let got: Vec<(String, &str, String)> = commands_of(&c)
            .into_iter()
            .map(|c| (c.origin.to_string(), c.key, c.template))
            .collect();
        let want: Vec<(String, &str, String)> = [
            ("global", "active_cmd", "/usr/bin/env /tmp/x/evil.sh"),
            ("global", "inactive_cmd", "/bin/sh -c id"),
            ("virtual web", "send_program", "/bin/sh -c echo${IFS}x %h"),
            (
                "virtual web",
                "load_monitor",
                "/usr/bin/env /tmp/x/evil.sh %h uptime",
            ),
            ("failover ftp", "start_cmd", "/etc/init.d/ftp start"),
            ("failover ftp", "stop_cmd", "/etc/init.d/ftp stop"),
        ]
        .into_iter()
        .map(|(a, b, c)| (a.to_string(), b, c.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
