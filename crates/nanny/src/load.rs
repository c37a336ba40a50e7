//! Load monitoring (`load_monitor`): which command to run, how to read its output,
//! and Piranha's weight formula. Pure.

use std::net::IpAddr;

/// The command to run for a server's load, or `None` for `load_monitor = none`:
/// [`exec_policy::load_monitor_template`] with `%h` replaced by `addr`.
/// Piranha only appended `uptime` when the remote shell was literally `rsh`
/// or `ssh`; we always do.
pub fn load_command(load_monitor: &str, rsh_command: &str, addr: IpAddr) -> Option<Vec<String>> {
    exec_policy::load_monitor_template(load_monitor, rsh_command).map(|t| with_address(&t, addr))
}

/// A load command template with `%h` replaced by `addr`.
pub fn with_address(template: &[String], addr: IpAddr) -> Vec<String> {
    template
        .iter()
        .map(|w| match w.as_str() {
            "%h" => addr.to_string(),
            _ => w.clone(),
        })
        .collect()
}

/// Why a load could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// No `load` word in the output.
    #[error("failed to read remote load")]
    NoLoad,
    /// A number could not be parsed.
    #[error("bad load average returned: {0}")]
    Bad(String),
}

/// Read the 1-minute load average the way Piranha did: first `load`, then the
/// first `:` after it, skip two characters, read digits and dots up to `,` or
/// blank. Fixed: when no `:` follows `load` (BSD `ruptime`: `load 0.52, ...`)
/// the number after `load` is read instead of failing.
pub fn parse_load(output: &str) -> Result<f64, LoadError> {
    let at = output.find("load").ok_or(LoadError::NoLoad)?;
    let rest = &output[at + 4..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let num_start = match rest[..line_end].find(':') {
        Some(c) => {
            // Piranha skipped exactly two characters (": "); be tolerant of
            // extra blanks.
            rest[c + 1..].trim_start_matches([' ', '\t'])
        }
        None => {
            // ruptime form: "load 0.52, 0.58, 0.59"; also "load average 0.5".
            let r =
                rest.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == ' ' || c == '\t');
            r
        }
    };
    let num: String = num_start
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if num.is_empty() {
        let shown: String = num_start.chars().take(20).collect();
        return Err(LoadError::Bad(shown));
    }
    num.parse::<f64>().map_err(|_| LoadError::Bad(num))
}

/// Piranha's load formula. `current` must already be >= `w` (the slow start
/// is over). Returns the new weight if it must be applied.
///
/// * L < 1: new = current + (W/2) * cbrt(1 - L), capped at scale * W;
/// * L > 1: new = current - (W/2) * cbrt(L - 1), floored at W;
/// * L == 1 or L < 0: no change;
/// * truncated, and applied only if |new - current| >= W/4 (integer division).
pub fn load_weight(current: u32, w: u32, scale: u32, load: f64) -> Option<u32> {
    if load.is_nan() || load < 0.0 || load == 1.0 || w == 0 {
        return None;
    }
    let half = (w / 2) as f64;
    let cur = current as f64;
    let max = w as f64 * scale.max(1) as f64;
    let new = if load < 1.0 {
        (cur + half * (1.0 - load).cbrt()).min(max)
    } else {
        (cur - half * (load - 1.0).cbrt()).max(w as f64)
    };
    let new = new.trunc() as u32;
    let delta = new.abs_diff(current);
    if new != current && delta >= w / 4 {
        Some(new)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_outputs() {
        // procps uptime
        assert_eq!(
            parse_load(" 10:15:01 up 3 days,  2:01,  1 user,  load average: 0.52, 0.58, 0.59\n"),
            Ok(0.52)
        );
        // busybox uptime
        assert_eq!(
            parse_load(" 10:15:01 up 12 min,  0 users,  load average: 1.00, 0.58, 0.59"),
            Ok(1.0)
        );
        // uptime with many users and a long uptime
        assert_eq!(
            parse_load("14:02  up 120 days, 22:23, 14 users, load average: 12.40, 11.02, 9.87"),
            Ok(12.4)
        );
        // BSD/macOS uptime uses "load averages:"
        assert_eq!(
            parse_load("10:15  up 3 days,  2:01, 2 users, load averages: 2.05 1.90 1.80"),
            Ok(2.05)
        );
        // rup (Linux netkit)
        assert_eq!(
            parse_load("10.0.1.11         up  2 days, 23:12,  load average: 0.00, 0.01, 0.05\n"),
            Ok(0.0)
        );
        // ruptime: Piranha failed here; we read it
        assert_eq!(
            parse_load("web1          up  3+02:01,     1 user,   load 0.52, 0.58, 0.59\n"),
            Ok(0.52)
        );
        assert_eq!(
            parse_load("rsh: connection refused"),
            Err(LoadError::NoLoad)
        );
        assert!(matches!(
            parse_load("load average: n/a"),
            Err(LoadError::Bad(_))
        ));
    }

    #[test]
    fn formula() {
        // W = 100, idle server: + 50 * cbrt(1) = +50
        assert_eq!(load_weight(100, 100, 10, 0.0), Some(150));
        // capped at 10 W
        assert_eq!(load_weight(960, 100, 10, 0.0), Some(1000));
        assert_eq!(load_weight(990, 100, 10, 0.0), None); // |delta| < W/4
        assert_eq!(load_weight(1000, 100, 10, 0.0), None);
        // loaded: L = 9 -> - 50 * 2 = -100, floored at W
        assert_eq!(load_weight(300, 100, 10, 9.0), Some(200));
        assert_eq!(load_weight(150, 100, 10, 9.0), Some(100));
        // |delta| < W/4 (25): L = 0.9 -> +50*cbrt(0.1) = 23.2 -> not applied
        assert_eq!(load_weight(100, 100, 10, 0.9), None);
        // L = 0.8 -> +50*0.5848 = 29.2 -> applied (129)
        assert_eq!(load_weight(100, 100, 10, 0.8), Some(129));
        // L == 1 and negative: nothing
        assert_eq!(load_weight(100, 100, 10, 1.0), None);
        assert_eq!(load_weight(100, 100, 10, -1.0), None);
        // small W: W/2 = 0 -> nothing ever changes (as Piranha)
        assert_eq!(load_weight(1, 1, 10, 0.0), None);
        // W = 4: W/2 = 2, W/4 = 1
        assert_eq!(load_weight(4, 4, 10, 0.0), Some(6));
    }

    #[test]
    fn commands() {
        let a: IpAddr = "10.0.1.11".parse().unwrap();
        assert_eq!(load_command("none", "rsh", a), None);
        assert_eq!(
            load_command("uptime", "ssh -o BatchMode=yes", a).unwrap(),
            ["ssh", "-o", "BatchMode=yes", "10.0.1.11", "uptime"]
        );
        assert_eq!(
            load_command("rsh", "rsh", a).unwrap(),
            ["rsh", "10.0.1.11", "uptime"]
        );
        assert_eq!(load_command("rup", "rsh", a).unwrap(), ["rup", "10.0.1.11"]);
        assert_eq!(
            load_command("ruptime", "rsh", a).unwrap(),
            ["ruptime", "10.0.1.11"]
        );
    }
}
