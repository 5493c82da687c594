//! The net_cls and net_prio probes against the real kernel: where the
//! controller is on a cgroup v1 hierarchy (the pure-v1 guest) both must pass;
//! where it is bound to none (this kind of hybrid host) or the host is cgroup
//! v2 only, the expected verdict is a skip that says exactly why. Either way
//! nothing may be left behind (cgroups, workers, the namespace holder).

mod common;

use common::{privileged, serial};
use isobench::cgroup::{Controller, Layout, LayoutKind, Version};

const BODY: &str =
    "[net_cls]\nclasses = [3]\npackets = 50\n[net_prio]\npriorities = [6]\npackets = 50\n";

/// Every case of the run: (probe, case, status, reason).
fn verdicts(tmp: &std::path::Path) -> Vec<(String, String, String, String)> {
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.join("out/run.json")).unwrap()).unwrap();
    run["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&c["probe"]),
                s(&c["case"]),
                s(&c["verdict"]["status"]),
                s(&c["verdict"]["reason"]),
            )
        })
        .collect()
}

/// Which iproute2 `tc` the harness would use (none: the net_cls case skips, naming the package).
fn have_tc() -> bool {
    isobench::workload::net::find_tc().is_ok()
}

#[test]
fn net_cls_and_net_prio_pass_where_mounted_and_skip_precisely_elsewhere() {
    if !privileged("net_cls_and_net_prio") {
        return;
    }
    let _g = serial();
    let layout = Layout::detect().unwrap();
    let (out, tmp) = common::run_scenario(BODY);
    let code = out.status.code();
    let vs = verdicts(tmp.path());
    assert_eq!(vs.len(), 2, "{vs:?}");
    for (probe, case, status, reason) in &vs {
        eprintln!("{probe}/{case}: {status}: {reason}");
        let c = if probe == "net_cls" {
            Controller::NetCls
        } else {
            Controller::NetPrio
        };
        let name = c.to_string();
        if layout.placement(c).version == Some(Version::V1) {
            if c == Controller::NetCls && !have_tc() {
                assert_eq!(status, "skip", "{reason}");
                assert!(reason.contains("iproute2"), "{reason}");
                assert!(
                    !common::strict(),
                    "tc (iproute2) missing under ISOBENCH_STRICT=1"
                );
                continue;
            }
            assert_eq!(status, "pass", "{probe}/{case}: {reason}");
            assert!(reason.contains(" 50 sent, 50 of 50 seen"), "{reason}");
        } else if layout.kind == LayoutKind::Unified {
            assert_eq!(status, "skip", "{reason}");
            assert!(
                reason.starts_with(&format!("cgroup v2 has no {name}")),
                "{reason}"
            );
        } else {
            assert_eq!(status, "skip", "{reason}");
            assert!(
                reason.starts_with(&format!("{name} is bound to no cgroup v1 hierarchy"))
                    || reason.starts_with(&format!("{name} is bound to cgroup v1 hierarchy"))
                    || reason.starts_with(&format!("this kernel has no {name}")),
                "{reason}"
            );
            assert!(
                reason.contains("isobench does not mount") || reason.contains("CONFIG_"),
                "{reason}"
            );
        }
    }
    assert!(
        code == Some(0),
        "exit {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No worker or namespace holder of the run is left.
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("worker net-send") || c.contains("worker net-hold"))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
}
