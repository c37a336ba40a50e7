//! Edit conflicts that keep work (pure). A form records the values of the
//! keys it loaded ([`loaded`], sent back in its `loaded` field); a save
//! whose file has changed since is refused only when one of those same
//! keys changed ([`changes`]); otherwise the edit is made again on the
//! file as it is now, so a change elsewhere (a weight in another block, a
//! timeout of another virtual server) is kept, not lost.

use crate::forms::{global_shown, Params};
use crate::panel::Panel;
use lvscf_parser::Document;
use serde_json::{Map, Value};

/// The form field holding what the form loaded.
pub const LOADED: &str = "loaded";

/// The keywords of GLOBAL SETTINGS.
const GLOBAL_KEYS: &[&str] = &[
    "primary",
    "primary_private",
    "tcp_timeout",
    "tcpfin_timeout",
    "udp_timeout",
    "network",
    "nat_router",
    "nat_nmask",
    "rsh_command",
    "active_cmd",
    "inactive_cmd",
];

/// The keywords of REDUNDANCY.
const REDUNDANCY_KEYS: &[&str] = &[
    "backup",
    "backup_private",
    "backup_active",
    "heartbeat",
    "keepalive",
    "deadtime",
    "heartbeat_port",
    "monitor_links",
    "syncdaemon",
    "syncd_iface",
    "syncd_id",
];

/// A block's keys as JSON (the parser's typed form), without `skip`.
fn block(v: Option<Value>, skip: &str) -> Option<Map<String, Value>> {
    let Value::Object(mut m) = v? else {
        return None;
    };
    m.remove(skip);
    Some(m)
}

/// The keys a panel's form shows and their values in `doc`; `None` for
/// the panels without such a form (the lists), or when the block is not
/// in `doc` (an empty map stands for "gone").
fn values(panel: &Panel, doc: &Document) -> Option<Map<String, Value>> {
    let c = doc.config();
    let globals = |keys: &[&str]| {
        keys.iter()
            .map(|k| (k.to_string(), Value::String(global_shown(c, k))))
            .collect::<Map<_, _>>()
    };
    let gone = Map::new;
    Some(match panel {
        Panel::Global => globals(GLOBAL_KEYS),
        Panel::Redundancy => globals(REDUNDANCY_KEYS),
        Panel::VirtualEdit(v) | Panel::Scripts(v) => block(
            c.virtual_named(v)
                .and_then(|x| serde_json::to_value(x).ok()),
            "servers",
        )
        .unwrap_or_else(gone),
        Panel::RealEdit(v, s) => block(
            c.virtual_named(v)
                .and_then(|x| x.servers.iter().find(|r| r.name == *s))
                .and_then(|r| serde_json::to_value(r).ok()),
            "",
        )
        .unwrap_or_else(gone),
        Panel::FailoverEdit(f) | Panel::FailoverScripts(f) => block(
            c.failovers
                .iter()
                .find(|x| x.name == *f)
                .and_then(|x| serde_json::to_value(x).ok()),
            "servers",
        )
        .unwrap_or_else(gone),
        Panel::VirtualList | Panel::RealList(_) | Panel::FailoverList => return None,
    })
}

/// What the form of `panel` records as loaded from `doc` (a JSON object),
/// when it has such a form.
pub fn loaded(panel: &Panel, doc: &Document) -> Option<String> {
    values(panel, doc).map(|m| Value::Object(m).to_string())
}

/// One key somebody else changed since the form was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The keyword (`timeout`), or `block` when the block itself went.
    pub key: String,
    /// Its value when the form was loaded.
    pub was: String,
    /// Its value now.
    pub now: String,
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "unset".into(),
        Some(Value::String(s)) if s.is_empty() => "unset".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The keys of the form's scope that differ between what it loaded
/// (`loaded`, from its field) and `now`. A form without the field (or
/// with one that does not parse) counts every key as changed: the save is
/// refused as before, never merged blindly.
pub fn changes(panel: &Panel, loaded: Option<&str>, now: &Document) -> Vec<KeyChange> {
    let Some(current) = values(panel, now) else {
        return Vec::new();
    };
    let Some(Value::Object(was)) = loaded.and_then(|l| serde_json::from_str(l).ok()) else {
        return vec![KeyChange {
            key: "lvs.cf".into(),
            was: "the file the form was loaded from".into(),
            now: "another version".into(),
        }];
    };
    if current.is_empty() && !was.is_empty() {
        return vec![KeyChange {
            key: "block".into(),
            was: "present".into(),
            now: "deleted or renamed".into(),
        }];
    }
    let mut keys: Vec<&String> = was.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| was.get(*k) != current.get(*k))
        .map(|k| KeyChange {
            key: k.clone(),
            was: show(was.get(k)),
            now: show(current.get(k)),
        })
        .collect()
}

/// The `loaded` field of a submitted form.
pub fn submitted(p: &Params) -> Option<&str> {
    crate::forms::param(p, LOADED)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "serial_no = 1\nprimary = 10.0.0.1\nkeepalive = 6\ndeadtime = 18\nvirtual web {\n address = 10.0.0.100 eth0:1\n timeout = 6\n server s1 {\n  address = 10.0.1.1\n  weight = 1\n }\n}\nvirtual ftp {\n address = 10.0.0.101 eth0:2\n port = 21\n timeout = 6\n}\n";

    fn doc(t: &str) -> Document {
        Document::parse("lvs.cf", t)
    }

    #[test]
    fn only_the_keys_of_the_form_count() {
        let base = doc(CF);
        let ftp = Panel::VirtualEdit("ftp".into());
        let web = Panel::VirtualEdit("web".into());
        let l_ftp = loaded(&ftp, &base).expect("a form");
        let l_web = loaded(&web, &base).expect("a form");
        // A weight of a server of web: neither virtual's form is touched
        // (a virtual's form does not show its servers).
        let weight = doc(&CF.replace("weight = 1", "weight = 3"));
        assert!(changes(&ftp, Some(&l_ftp), &weight).is_empty());
        assert!(changes(&web, Some(&l_web), &weight).is_empty());
        let s1 = Panel::RealEdit("web".into(), "s1".into());
        let l_s1 = loaded(&s1, &base).expect("a form");
        assert_eq!(
            changes(&s1, Some(&l_s1), &weight),
            [KeyChange {
                key: "weight".into(),
                was: "1".into(),
                now: "3".into()
            }]
        );
        // web's timeout: web's form conflicts, ftp's does not.
        let t = doc(&CF.replacen("timeout = 6", "timeout = 9", 1));
        assert!(changes(&ftp, Some(&l_ftp), &t).is_empty());
        assert_eq!(changes(&web, Some(&l_web), &t)[0].key, "timeout");
        // Redundancy and global settings are apart.
        let g = Panel::Global;
        let r = Panel::Redundancy;
        let (lg, lr) = (loaded(&g, &base), loaded(&r, &base));
        let k = doc(&CF.replace("keepalive = 6", "keepalive = 2"));
        assert!(changes(&g, lg.as_deref(), &k).is_empty());
        assert_eq!(changes(&r, lr.as_deref(), &k)[0].key, "keepalive");
        // Gone, or no record: refused.
        let no_ftp = doc(&CF[..CF.find("virtual ftp").expect("ftp")]);
        assert_eq!(changes(&ftp, Some(&l_ftp), &no_ftp)[0].key, "block");
        assert!(!changes(&ftp, None, &base).is_empty());
        assert!(!changes(&ftp, Some("{not json"), &base).is_empty());
        assert!(loaded(&Panel::VirtualList, &base).is_none());
    }
}
