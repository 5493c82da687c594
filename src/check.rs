//! `isobench check`: what this host offers — the fingerprint, where each
//! controller lives, privileges, and for each probe family whether it can run
//! here and, if not, why.

use std::path::Path;

use serde::Serialize;

use crate::cgroup::{Layout, Manager, Standing, Version};
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
    /// Where and how `run` will create them, or why it cannot: the prediction.
    pub create_cgroups: String,
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
    let (can_create, create_cgroups) = match &layout {
        Some(l) => {
            let busy = crate::cgroup::others_in_own(l);
            predict(
                l,
                host.cgroup_manager.as_ref(),
                busy,
                writable,
                nix::unistd::geteuid().as_raw(),
            )
        }
        None => (false, "no: no cgroup file system found".into()),
    };
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
        create_cgroups,
        families,
    }
}

/// What `run` will do about cgroups here, as `(can create, why)`: the same
/// decisions the run makes ([`crate::delegate::decide`], the scope's leaf),
/// so that check predicts the run. `others` counts the processes beside this
/// one in the own cgroup2 cgroup.
pub fn predict(
    layout: &Layout,
    manager: Option<&Manager>,
    others: usize,
    writable: impl Fn(&Path) -> bool,
    uid: u32,
) -> (bool, String) {
    let own: Vec<_> = layout
        .hierarchies
        .iter()
        .filter(|h| h.own_dir.is_some() && !(h.version == Version::V1 && h.controllers.is_empty()))
        .collect();
    if !own.is_empty() && own.iter().all(|h| h.read_only) {
        return (
            false,
            "no: the cgroup file system is mounted read-only (an unprivileged container); the cgroup probes skip and say so, the namespace probes run".into(),
        );
    }
    if let Some(m) = manager.filter(|m| m.systemd && !m.needs_scope() && others > 0) {
        let own = m.cgroup.as_deref().unwrap_or("/");
        return (
            true,
            format!("yes, in a new systemd scope with Delegate=yes: the own cgroup {own} is delegated but holds {others} other process(es) (`run --no-systemd-scope` refuses instead)"),
        );
    }
    if let Some(m) = manager.filter(|m| m.needs_scope()) {
        let unit = m.unit.as_deref().unwrap_or("the root cgroup");
        let whose = if uid == 0 {
            "a new systemd scope with Delegate=yes".to_string()
        } else {
            "a new scope of the user's systemd with Delegate=yes, with what user@.service delegates (cpu memory pids by default)".to_string()
        };
        return (
            true,
            format!("yes, in {whose}: the own cgroup ({unit}) is systemd's and not delegated (`run --no-systemd-scope` refuses instead)"),
        );
    }
    // As the run does: without root, what is not writable is left out, its
    // cgroup cases skip, the namespace probes run.
    let mut left = layout.clone();
    let any_left = left.leave_unwritable(uid, &writable);
    let unwritable = left.unwritable_dirs();
    if !unwritable.is_empty() {
        let dirs = unwritable.join(", ");
        let hint = crate::cgroup::UNWRITABLE_HINT;
        return if !any_left {
            (
                false,
                format!("no: uid {uid} cannot write the own cgroup ({dirs}); the cgroup probes skip and say so, the namespace probes run through a user namespace; hint: {hint}"),
            )
        } else {
            (
                true,
                format!("partly: uid {uid} cannot write the own cgroup ({dirs}): the controllers there skip; hint: {hint}"),
            )
        };
    }
    let Some(v2) = layout.unified().filter(|h| h.own_dir.is_some()) else {
        return (true, "yes (under the own cgroup)".into());
    };
    match v2.standing {
        Standing::KernelRoot => (true, "yes (under the own cgroup, the kernel's root)".into()),
        _ if others > 0 => (
            false,
            format!(
                "no: the own cgroup {} ({}) holds {others} other process(es), so no controller can be enabled below it (the no-internal-process rule); hint: run isobench as its only process, or pass --cgroup-parent to an empty child",
                v2.own_path, v2.standing
            ),
        ),
        Standing::NamespaceRoot => (
            true,
            "yes, after stepping into a leaf of the container's cgroup-namespace root".into(),
        ),
        Standing::Child => (true, "yes (under the own cgroup, after stepping into a leaf)".into()),
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
                let mut top = vec![row("layout", l.kind.to_string())];
                if let Some(m) = &h.cgroup_manager {
                    top.push(row("manager", m.describe()));
                }
                table(&mut s, &top, width);
                let mut hier = vec![vec![
                    "hierarchy".to_string(),
                    "controllers".into(),
                    "own cgroup".into(),
                    "standing".into(),
                ]];
                hier.extend(l.hierarchies.iter().map(|h| {
                    vec![
                        format!("{} {}", h.version, h.mount_point.display()),
                        h.controllers.join(","),
                        h.own_dir
                            .as_ref()
                            .map_or("(not visible)".into(), |d| d.display().to_string()),
                        format!(
                            "{}{}",
                            h.standing,
                            if h.read_only { ", read-only" } else { "" }
                        ),
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
                row("create cgroups", self.create_cgroups.clone()),
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

    fn layout(mountinfo: &str, cgroup: &str) -> Layout {
        Layout::from_sources(
            crate::cgroup::layout::RootFs::Cgroup2,
            mountinfo,
            cgroup,
            |_| Some("cpuset cpu io memory pids\n".into()),
        )
        .unwrap()
    }
    const V2: &str = "26 23 0:25 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

    #[test]
    fn the_prediction_follows_the_runs_decisions() {
        let all = |_: &Path| true;
        let session = layout(V2, "0::/user.slice/user-0.slice/session-1.scope\n");
        let systemd = Manager {
            systemd: true,
            cgroup: Some("/user.slice/user-0.slice/session-1.scope".into()),
            unit: Some("session-1.scope".into()),
            ..Manager::default()
        };
        // A root login shell on a systemd host: a scope of its own.
        let (ok, why) = predict(&session, Some(&systemd), 4, all, 0);
        assert!(
            ok && why.starts_with("yes, in a new systemd scope with Delegate=yes"),
            "{why}"
        );
        assert!(why.contains("session-1.scope"), "{why}");
        // Delegated but holding others (a shell in a delegated scope): a scope too.
        let delegated = Manager {
            delegated_at: Some("/sys/fs/cgroup/x".into()),
            ..systemd.clone()
        };
        let (ok, why) = predict(&session, Some(&delegated), 1, all, 0);
        assert!(
            ok && why.contains("delegated but holds 1 other process(es)"),
            "{why}"
        );
        assert!(predict(&session, Some(&delegated), 0, all, 0).0);
        // The same session without systemd: four others in it, refused.
        let (ok, why) = predict(&session, None, 4, all, 0);
        assert!(!ok && why.contains("holds 4 other process(es)"), "{why}");
        assert!(predict(&session, None, 0, all, 0).0);
        // Not writable, not root.
        let (ok, why) = predict(&session, None, 0, |_| false, 1000);
        assert!(
            !ok && why.contains("uid 1000 cannot write the own cgroup"),
            "{why}"
        );
        assert!(
            why.contains("the namespace probes run through a user namespace"),
            "{why}"
        );
        // A container: alone in its namespace root, a leaf; read-only, no.
        let ns = layout(V2, "0::/\n").with_standing(|p| p.ends_with("cgroup.type"));
        let (ok, why) = predict(&ns, None, 0, all, 0);
        assert!(ok && why.contains("cgroup-namespace root"), "{why}");
        let ro = layout(&V2.replace(" rw,nosuid -", " ro,nosuid -"), "0::/\n");
        let (ok, why) = predict(&ro, None, 0, all, 0);
        assert!(!ok && why.contains("read-only"), "{why}");
        // The kernel's root is exempt from the no-internal-process rule.
        let root = layout(V2, "0::/\n").with_standing(|_| false);
        assert!(predict(&root, None, 9, all, 0).0);
    }

    #[test]
    fn the_text_says_what_busy_was_judged_by() {
        let report = CheckReport {
            host: crate::sink::fixture::host(),
            layout: None,
            layout_error: Some("no cgroup mounted".into()),
            is_root: true,
            can_create_cgroups: false,
            create_cgroups: "no".into(),
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
