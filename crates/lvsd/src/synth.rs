//! Synthetic lvs.cf files for the benchmarks (`benches/diff.rs` natively,
//! `lvsd-benchgen` in the guest), so that both measure the same file.

/// N virtual servers (TCP port 80, wlc, VIPs 172.16.x.y on `device:i`)
/// with M real servers each (10.x.y.z, weight 1), NAT. With
/// `changed_weight` the first real server of the middle virtual server has
/// weight 7: the one-weight reload.
pub fn lvs_cf(n: usize, m: usize, device: &str, changed_weight: bool) -> String {
    let mut s = String::from("serial_no = 1\nservice = lvs\nnetwork = nat\nhard_shutdown = 0\n");
    for i in 0..n {
        s += &format!(
            "virtual v{i} {{\n    active = 1\n    address = 172.16.{}.{} {device}:{i}\n    port = 80\n    protocol = tcp\n    scheduler = wlc\n",
            i / 256,
            i % 256
        );
        for j in 0..m {
            let w = if changed_weight && i == n / 2 && j == 0 {
                7
            } else {
                1
            };
            s += &format!(
                "    server r{j} {{\n        address = 10.{}.{}.{}\n        active = 1\n        weight = {w}\n    }}\n",
                i / 256 + 1,
                i % 256,
                j + 1
            );
        }
        s += "}\n";
    }
    s
}
