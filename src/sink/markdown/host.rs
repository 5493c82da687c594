//! The host fingerprint as table rows: what a reader needs to trust or compare
//! the numbers (kernel, CONFIG_HZ, CPUs, cgroup layout, load), in one place for
//! the run report and the comparison.

use crate::host::Host;
use crate::units::human_u64;
use crate::units::Unit;

/// `(row title, value)` for each fact of the fingerprint, in reading order;
/// the kernel command line is left out (too long for a cell: see [`cmdline`]).
pub fn rows(h: &Host) -> Vec<(&'static str, String)> {
    let controllers: Vec<String> = h
        .controllers
        .iter()
        .filter(|c| c.version != "none")
        .map(|c| format!("{} {}", c.controller, c.version))
        .collect();
    let sched: Vec<String> = h.sched.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let pressure: Vec<String> = [
        ("cpu", h.pressure.cpu_some_avg10_pct),
        ("memory", h.pressure.memory_some_avg10_pct),
        ("io", h.pressure.io_some_avg10_pct),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k} {v:.2}%")))
    .collect();
    vec![
        ("host name", h.hostname.clone()),
        ("kernel", h.kernel_release.clone()),
        ("kernel version", h.kernel_version.clone()),
        (
            "CONFIG_HZ",
            h.config_hz
                .map_or("unknown (no kernel config found)".into(), |hz| {
                    hz.to_string()
                }),
        ),
        (
            "preemption",
            h.preemption.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("CPU", format!("{} ({})", h.cpu_model, h.arch)),
        (
            "CPUs online",
            format!("{} ({})", h.cpus_online_count, h.cpus_online),
        ),
        (
            "memory",
            format!(
                "{}, swap {}",
                human_u64(h.memory_total_bytes, &Unit::Bytes),
                match h.swap_total_bytes {
                    0 => "none".to_string(),
                    s => human_u64(s, &Unit::Bytes),
                }
            ),
        ),
        ("virtualisation", h.virtualization.clone()),
        ("cgroup layout", h.cgroup_layout.clone()),
        ("controllers", or_none(controllers.join(", "))),
        ("scheduler", or_none(sched.join(", "))),
        (
            "pressure (some, avg10)",
            if pressure.is_empty() {
                "no PSI".into()
            } else {
                pressure.join(", ")
            },
        ),
        (
            "busy",
            format!(
                "{} — {}",
                if h.busy { "yes, expect noise" } else { "no" },
                h.busy_basis()
            ),
        ),
        ("load (1 min)", format!("{:.2}", h.load_avg_1m)),
        ("root", if h.is_root { "yes" } else { "no" }.into()),
    ]
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

/// The kernel command line as a code line (it can be hundreds of characters).
pub fn cmdline(h: &Host) -> String {
    if h.kernel_cmdline.is_empty() {
        return String::new();
    }
    format!("Kernel command line:\n\n```\n{}\n```\n\n", h.kernel_cmdline)
}
