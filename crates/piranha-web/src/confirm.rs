//! Which actions need a confirmation (pure). Destructive or disruptive
//! ones (DELETE, (DE)ACTIVATE, DISABLE of redundancy, APPLY, COPY TO
//! BACKUP, RESTORE) first show what will change; they happen only when the
//! form comes back with [`CONFIRM`].

use crate::forms::{param, Params};
use crate::panel::{List, ListButton, Panel};

/// The field of the CONFIRM button.
pub const CONFIRM: &str = "confirm";

/// Whether the request carries the confirmation.
pub fn confirmed(p: &Params) -> bool {
    param(p, CONFIRM) == Some("1")
}

/// The action a panel's POST asks for, when it needs a confirmation: its
/// title for the confirmation page.
pub fn question(panel: &Panel, p: &Params) -> Option<String> {
    if let Some(list) = panel.list() {
        let button = param(p, list.button_field()).and_then(ListButton::parse)?;
        let name = param(p, crate::panel::SELECTED).unwrap_or("");
        let noun = list.noun();
        let of = match &list {
            List::Servers(v) => format!(" of virtual server {v}"),
            _ => String::new(),
        };
        return match button {
            ListButton::Delete => Some(format!("DELETE {noun} {name}{of}")),
            ListButton::Toggle => Some(format!("(DE)ACTIVATE {noun} {name}{of}")),
            ListButton::Add | ListButton::Edit => None,
        };
    }
    match panel {
        Panel::Redundancy
            if param(p, "redundancy_action").or(param(p, "full_enable")) == Some("DISABLE") =>
        {
            Some("DISABLE redundancy".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn destructive_actions_ask_and_the_others_do_not() {
        let del = p(&[("virtual_service", "DELETE"), ("selected", "web")]);
        assert_eq!(
            question(&Panel::VirtualList, &del).as_deref(),
            Some("DELETE virtual server web")
        );
        let tog = p(&[("real_service", "(DE)ACTIVATE"), ("selected", "s1")]);
        assert_eq!(
            question(&Panel::RealList("web".into()), &tog).as_deref(),
            Some("(DE)ACTIVATE real server s1 of virtual server web")
        );
        let fo = p(&[("failover_service", "DELETE"), ("selected", "f")]);
        assert!(question(&Panel::FailoverList, &fo).is_some());
        for (k, v) in [
            ("virtual_service", "ADD"),
            ("virtual_service", "EDIT"),
            ("enter", "1"),
        ] {
            assert_eq!(question(&Panel::VirtualList, &p(&[(k, v)])), None, "{v}");
        }
        let off = p(&[("redundancy_action", "DISABLE")]);
        assert!(question(&Panel::Redundancy, &off).is_some());
        let accept = p(&[("redundancy_action", "ACCEPT")]);
        assert_eq!(question(&Panel::Redundancy, &accept), None);
        assert_eq!(question(&Panel::Global, &off), None);
        assert!(confirmed(&p(&[("confirm", "1")])));
        assert!(!confirmed(&p(&[("confirm", "yes")])));
    }
}
