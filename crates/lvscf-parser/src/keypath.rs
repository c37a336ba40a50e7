//! Key paths as `lvscf get/set/unset` take them: `keepalive`,
//! `virtual.web.port`, `virtual.web.server.web1.weight`, `failover.f.port`,
//! and block paths `virtual.web`, `virtual.web.server.web1`.
//!
//! Block names may contain dots; a path is matched against the names the
//! file has, longest first, and otherwise a name ends at the next dot.

use crate::document::{Document, Target};
use crate::model::Config;
use crate::write::{global_value, server_value, virtual_value};

/// A resolved path: a block, and a keyword in it unless the path names the
/// block itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The section.
    pub target: Target,
    /// The keyword, or `None` for the whole block.
    pub key: Option<String>,
}

/// Why a path could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadPath {
    /// The path has none of the accepted shapes.
    #[error("bad key path `{0}`: expected KEY, virtual.NAME[.KEY], virtual.NAME.server.NAME[.KEY] or failover.NAME[.KEY]")]
    Shape(String),
    /// A block path was given where a keyword path is needed.
    #[error("a block path has no single value")]
    BlockPath,
    /// No virtual or failover block has the name.
    #[error("there is no block named `{0}`")]
    NoSuchBlock(String),
    /// Several blocks have the name.
    #[error("several blocks are named `{0}`")]
    AmbiguousBlock(String),
    /// The keyword does not exist at that level (`global`, `virtual` or
    /// `server`).
    #[error("unknown {level} keyword `{key}`")]
    UnknownKey {
        /// The level, in words.
        level: &'static str,
        /// The keyword.
        key: String,
    },
    /// The virtual block has no server of that name.
    #[error("virtual `{virtual_name}` has no server `{server}`")]
    NoSuchServer {
        /// The virtual block.
        virtual_name: String,
        /// The server.
        server: String,
    },
    /// Several servers of the virtual block have the name.
    #[error("several servers are named `{0}`")]
    AmbiguousServer(String),
}

fn split_name<'p>(rest: &'p str, names: &[&str]) -> (&'p str, &'p str) {
    let mut best: Option<&str> = None;
    for name in names {
        let fits = rest == *name
            || (rest.len() > name.len()
                && rest.starts_with(name)
                && rest.as_bytes()[name.len()] == b'.');
        if fits && best.is_none_or(|b| name.len() > b.len()) {
            best = Some(name);
        }
    }
    let len = best
        .map(str::len)
        .unwrap_or_else(|| rest.find('.').unwrap_or(rest.len()));
    let (name, tail) = rest.split_at(len);
    (name, tail.strip_prefix('.').unwrap_or(tail))
}

impl KeyPath {
    /// Resolves `path` against the blocks of `doc`.
    pub fn parse(path: &str, doc: &Document) -> Result<KeyPath, BadPath> {
        let bad = || BadPath::Shape(path.to_string());
        let config = doc.config();
        let (kind, rest) = match path.split_once('.') {
            None => {
                if path.is_empty() {
                    return Err(bad());
                }
                return Ok(KeyPath {
                    target: Target::Global,
                    key: Some(path.to_string()),
                });
            }
            Some(x) => x,
        };
        let list = match kind {
            "virtual" => &config.virtuals,
            "failover" => &config.failovers,
            _ => return Err(bad()),
        };
        let names: Vec<&str> = list.iter().map(|v| v.name.as_str()).collect();
        let (name, tail) = split_name(rest, &names);
        if name.is_empty() {
            return Err(bad());
        }
        let block = if kind == "virtual" {
            Target::Virtual(name.to_string())
        } else {
            Target::Failover(name.to_string())
        };
        if tail.is_empty() {
            return Ok(KeyPath {
                target: block,
                key: None,
            });
        }
        if let Some(server_rest) = tail.strip_prefix("server.") {
            if kind != "virtual" {
                return Err(bad());
            }
            let servers: Vec<&str> = list
                .iter()
                .find(|v| v.name == name)
                .map(|v| v.servers.iter().map(|s| s.name.as_str()).collect())
                .unwrap_or_default();
            let (server, key) = split_name(server_rest, &servers);
            if server.is_empty() || key.contains('.') {
                return Err(bad());
            }
            return Ok(KeyPath {
                target: Target::Server {
                    virtual_name: name.to_string(),
                    server: server.to_string(),
                },
                key: (!key.is_empty()).then(|| key.to_string()),
            });
        }
        if tail.contains('.') {
            return Err(bad());
        }
        Ok(KeyPath {
            target: block,
            key: Some(tail.to_string()),
        })
    }

    /// The effective value (defaults applied) of a keyword path; `Ok(None)`
    /// when the keyword is valid but unset.
    pub fn get(&self, config: &Config) -> Result<Option<String>, BadPath> {
        let Some(key) = &self.key else {
            return Err(BadPath::BlockPath);
        };
        let find = |list: &'_ [crate::model::VirtualServer], name: &str| {
            let found: Vec<usize> = (0..list.len()).filter(|&i| list[i].name == name).collect();
            match found.len() {
                0 => Err(BadPath::NoSuchBlock(name.to_string())),
                1 => Ok(found[0]),
                _ => Err(BadPath::AmbiguousBlock(name.to_string())),
            }
        };
        let known = |level| crate::keywords::lookup(level, key).is_some();
        use crate::keywords::Level;
        match &self.target {
            Target::Global => {
                if !known(Level::Global) {
                    return Err(BadPath::UnknownKey {
                        level: "global",
                        key: key.clone(),
                    });
                }
                Ok(global_value(config, key))
            }
            Target::Virtual(name) | Target::Failover(name) => {
                if !known(Level::Virtual) {
                    return Err(BadPath::UnknownKey {
                        level: "virtual",
                        key: key.clone(),
                    });
                }
                let list = if matches!(self.target, Target::Virtual(_)) {
                    &config.virtuals
                } else {
                    &config.failovers
                };
                Ok(virtual_value(&list[find(list, name)?], key))
            }
            Target::Server {
                virtual_name,
                server,
            } => {
                if !known(Level::Server) {
                    return Err(BadPath::UnknownKey {
                        level: "server",
                        key: key.clone(),
                    });
                }
                let v = &config.virtuals[find(&config.virtuals, virtual_name)?];
                let found: Vec<&crate::model::RealServer> =
                    v.servers.iter().filter(|s| s.name == *server).collect();
                match found.as_slice() {
                    [s] => Ok(server_value(v, s, key)),
                    [] => Err(BadPath::NoSuchServer {
                        virtual_name: virtual_name.clone(),
                        server: server.clone(),
                    }),
                    _ => Err(BadPath::AmbiguousServer(server.clone())),
                }
            }
        }
    }
}
