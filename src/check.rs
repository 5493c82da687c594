//! `isobench check`: what this host offers — the fingerprint, where each
//! controller lives, privileges, and for each probe family whether it can run
//! here and, if not, why.

use std::path::Path;

use serde::Serialize;

use crate::cgroup::Layout;
use crate::host::Host;
use crate::probe::HostFacts;

/// One probe family's readiness on this host.
#[derive(Debug, Clone, Serialize)]
pub struct Family {
    pub name: &'static str,
    /// The host meets the family's requirements.
    pub ready: bool,
    /// Why not, or what it will use.
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub host: Host,
    pub layout: Option<Layout>,
    pub layout_error: Option<String>,
    pub is_root: bool,
    /// The harness may create cgroups under its own cgroup in every hierarchy.
    pub can_create_cgroups: bool,
    pub families: Vec<Family>,
}

fn writable(p: &Path) -> bool {
    nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// Builds the report; never fails (what is missing is the report's content).
pub fn report() -> CheckReport {
    let (layout, layout_error) = match Layout::detect() {
        Ok(l) => (Some(l), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let host = Host::probe(layout.as_ref());
    let is_root = host.is_root;
    let can_create = layout.as_ref().is_some_and(|l| {
        l.hierarchies
            .iter()
            .filter(|h| h.own_dir.is_some())
            .all(|h| h.own_dir.as_deref().is_some_and(writable))
    });
    let facts = HostFacts {
        layout: layout.clone(),
        is_root,
        can_create_cgroups: can_create,
    };
    let families = crate::probe::ALL
        .iter()
        .map(|p| {
            let r = p.readiness(&facts);
            Family {
                name: p.id(),
                ready: r.ready,
                detail: r.detail,
            }
        })
        .collect();
    CheckReport {
        host,
        layout,
        layout_error,
        is_root,
        can_create_cgroups: can_create,
        families,
    }
}

/// Appends `rows` as a table indented by two, the last column wrapped under
/// itself at `width` (a long kernel command line, a family's details).
fn table(out: &mut String, rows: &[Vec<String>], width: usize) {
    crate::textable::table(out, rows, 2, Some(width));
}

/// A label and value row.
fn row(label: &str, value: impl Into<String>) -> Vec<String> {
    vec![label.to_string(), value.into()]
}

impl CheckReport {
    /// The human-readable form, its lines wrapped at `width` characters.
    pub fn to_text(&self, width: usize) -> String {
        let h = &self.host;
        let mut s = String::new();
        s.push_str("host\n");
        let psi = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}%"));
        let mut host = vec![
            row(
                "kernel",
                format!("{} ({})", h.kernel_release, h.kernel_version),
            ),
            row("cmdline", h.kernel_cmdline.clone()),
            row(
                "CONFIG_HZ",
                h.config_hz.map_or("unknown".into(), |v| v.to_string()),
            ),
            row("preemption", h.preemption.as_deref().unwrap_or("unknown")),
            row(
                "cpu",
                format!(
                    "{} × {} (online {})",
                    h.cpus_online_count, h.cpu_model, h.cpus_online
                ),
            ),
            row(
                "memory",
                format!(
                    "{} MiB, swap {} MiB",
                    h.memory_total_bytes >> 20,
                    h.swap_total_bytes >> 20
                ),
            ),
            row("virtualization", h.virtualization.clone()),
            row(
                "busy",
                format!(
                    "{}: {}",
                    if h.busy {
                        "yes, results will be noisy"
                    } else {
                        "no"
                    },
                    h.busy_basis()
                ),
            ),
            row("load (1 min)", format!("{:.2}", h.load_avg_1m)),
            row(
                "pressure",
                format!(
                    "cpu {} memory {} io {} (some, avg10)",
                    psi(h.pressure.cpu_some_avg10_pct),
                    psi(h.pressure.memory_some_avg10_pct),
                    psi(h.pressure.io_some_avg10_pct)
                ),
            ),
        ];
        for (i, (k, v)) in h.sched.iter().enumerate() {
            host.push(row(
                if i == 0 { "scheduler" } else { "" },
                format!("{k} = {v}"),
            ));
        }
        table(&mut s, &host, width);
        s.push_str("\ncgroups\n");
        match (&self.layout, &self.layout_error) {
            (Some(l), _) => {
                table(&mut s, &[row("layout", l.kind.to_string())], width);
                let mut hier = vec![vec![
                    "hierarchy".to_string(),
                    "controllers".into(),
                    "own cgroup".into(),
                ]];
                hier.extend(l.hierarchies.iter().map(|h| {
                    vec![
                        format!("{} {}", h.version, h.mount_point.display()),
                        h.controllers.join(","),
                        h.own_dir
                            .as_ref()
                            .map_or("(not visible)".into(), |d| d.display().to_string()),
                    ]
                }));
                table(&mut s, &hier, width);
                s.push('\n');
                let mut ctl = vec![vec![
                    "controller".to_string(),
                    "version".into(),
                    "directory".into(),
                ]];
                ctl.extend(h.controllers.iter().map(|p| {
                    vec![
                        p.controller.clone(),
                        p.version.clone(),
                        p.own_dir.clone().unwrap_or_else(|| "-".into()),
                    ]
                }));
                table(&mut s, &ctl, width);
            }
            (None, Some(e)) => table(&mut s, &[vec![e.clone()]], width),
            (None, None) => {}
        }
        s.push_str("\nprivileges\n");
        table(
            &mut s,
            &[
                row("root", if self.is_root { "yes" } else { "no" }),
                row(
                    "create cgroups",
                    if self.can_create_cgroups {
                        "yes (under the own cgroup)"
                    } else {
                        "no"
                    },
                ),
            ],
            width,
        );
        s.push_str("\nprobe families\n");
        let families: Vec<Vec<String>> = self
            .families
            .iter()
            .map(|f| {
                vec![
                    f.name.to_string(),
                    if f.ready { "ready" } else { "no" }.into(),
                    f.detail.clone(),
                ]
            })
            .collect();
        table(&mut s, &families, width);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_longest_cell_and_the_last_wraps_under_itself() {
        let mut out = String::new();
        table(
            &mut out,
            &[
                row("cpu", "2"),
                row("virtualization", "kvm (unknown)"),
                row("cmdline", "a ".repeat(60).trim_end()),
            ],
            80,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  cpu             2");
        assert_eq!(lines[1], "  virtualization  kvm (unknown)");
        assert!(lines.len() > 3, "{out}");
        for l in &lines[2..] {
            assert_eq!(
                &l[..18],
                if l.starts_with("  cmdline") {
                    "  cmdline         "
                } else {
                    "                  "
                },
                "{out}"
            );
            assert!(l.chars().count() <= 80, "{out}");
        }
    }

    #[test]
    fn the_text_says_what_busy_was_judged_by() {
        let report = CheckReport {
            host: crate::sink::fixture::host(),
            layout: None,
            layout_error: Some("no cgroup mounted".into()),
            is_root: true,
            can_create_cgroups: false,
            families: vec![],
        };
        let text = report.to_text(120);
        assert!(
            text.contains("  busy            no: CPUs 4 % busy and a task waiting for one 1 % of the time, over 1 s (/proc/stat, PSI)\n"),
            "{text}"
        );
        assert!(
            text.contains("  scheduler       sched_cfs_bandwidth_slice_us = 5000\n"),
            "{text}"
        );
    }
}
