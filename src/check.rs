//! `isobench check`: what this host offers — the fingerprint, where each
//! controller lives, privileges, and for each probe family whether it can run
//! here and, if not, why.

use std::path::Path;

use serde::Serialize;

use crate::cgroup::{Controller, Layout, Version};
use crate::host::Host;

/// One probe family's readiness on this host.
#[derive(Debug, Clone, Serialize)]
pub struct Family {
    pub name: &'static str,
    /// The host meets the family's requirements.
    pub ready: bool,
    /// Why not, or what it will use.
    pub detail: String,
    /// Whether this build of isobench implements the probe yet.
    pub implemented: bool,
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
    let place = |c: Controller| layout.as_ref().and_then(|l| l.placement(c).version);
    let ctl = |c: Controller| match place(c) {
        Some(v) => (true, format!("{c} controller on cgroup {v}")),
        None => (
            false,
            format!("no {c} controller available to this process"),
        ),
    };
    let both = |a: Controller, b: Controller| {
        let (ra, da) = ctl(a);
        let (rb, db) = ctl(b);
        (ra && rb, format!("{da}; {db}"))
    };
    let ns_missing: Vec<&str> = ["mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"]
        .into_iter()
        .filter(|k| !Path::new(&format!("/proc/self/ns/{k}")).exists())
        .collect();
    let gate = |(ok, detail): (bool, String)| -> (bool, String) {
        if !is_root {
            (false, format!("needs root (CAP_SYS_ADMIN); {detail}"))
        } else if !can_create {
            (
                false,
                format!("cannot create cgroups under the own cgroup; {detail}"),
            )
        } else {
            (ok, detail)
        }
    };
    let io_dev = Path::new(crate::loopdev::LOOP_CONTROL).exists();
    let fam = |name, (ready, detail): (bool, String), implemented| Family {
        name,
        ready,
        detail,
        implemented,
    };
    let families = vec![
        fam(
            "ns_latency",
            if !is_root {
                (
                    false,
                    "needs root (CAP_SYS_ADMIN) to create every namespace type".into(),
                )
            } else if ns_missing.is_empty() {
                (true, "all of mnt pid net ipc uts user cgroup time".into())
            } else {
                (
                    false,
                    format!(
                        "this kernel lacks namespace types: {}",
                        ns_missing.join(" ")
                    ),
                )
            },
            true,
        ),
        fam(
            "cgroup_lifecycle",
            gate((
                layout.is_some(),
                layout
                    .as_ref()
                    .map_or("no cgroups".into(), |l| l.kind.to_string()),
            )),
            true,
        ),
        fam(
            "cgroup_ops",
            gate((layout.is_some(), "mkdir, attach, rmdir latency".into())),
            true,
        ),
        fam("cpuset", gate(ctl(Controller::Cpuset)), true),
        fam(
            "cpu_quota",
            gate(both(Controller::Cpu, Controller::Cpuacct)),
            true,
        ),
        fam("cpu_weight", gate(ctl(Controller::Cpu)), true),
        fam("memory", gate(ctl(Controller::Memory)), true),
        fam(
            "io",
            gate({
                let (ok, d) = ctl(Controller::Io);
                if io_dev {
                    (ok, format!("{d}; loop devices available"))
                } else {
                    (
                        false,
                        format!("{d}; no /dev/loop-control to make a test device (modprobe loop)"),
                    )
                }
            }),
            true,
        ),
        fam("pids", gate(ctl(Controller::Pids)), true),
        fam(
            "freezer",
            gate(match place(Controller::Freezer) {
                Some(Version::V1) => (true, "freezer controller on cgroup v1".into()),
                Some(Version::V2) => (true, "cgroup.freeze on cgroup v2".into()),
                None => (false, "no freezer".into()),
            }),
            true,
        ),
    ];
    CheckReport {
        host,
        layout,
        layout_error,
        is_root,
        can_create_cgroups: can_create,
        families,
    }
}

impl CheckReport {
    /// The human-readable form.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let h = &self.host;
        let mut s = String::new();
        let _ = writeln!(s, "host");
        let _ = writeln!(
            s,
            "  kernel        {} ({})",
            h.kernel_release, h.kernel_version
        );
        let _ = writeln!(s, "  cmdline       {}", h.kernel_cmdline);
        let _ = writeln!(
            s,
            "  CONFIG_HZ     {}",
            h.config_hz.map_or("unknown".into(), |v| v.to_string())
        );
        let _ = writeln!(
            s,
            "  preemption    {}",
            h.preemption.as_deref().unwrap_or("unknown")
        );
        let _ = writeln!(
            s,
            "  cpu           {} × {} (online {})",
            h.cpus_online_count, h.cpu_model, h.cpus_online
        );
        let _ = writeln!(
            s,
            "  memory        {} MiB, swap {} MiB",
            h.memory_total_bytes >> 20,
            h.swap_total_bytes >> 20
        );
        let _ = writeln!(s, "  virtualization {}", h.virtualization);
        let _ = writeln!(
            s,
            "  load (1 min)  {:.2}{}",
            h.load_avg_1m,
            if h.busy {
                "  (busy: results will be noisy)"
            } else {
                ""
            }
        );
        let psi = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}%"));
        let _ = writeln!(
            s,
            "  pressure      cpu {} memory {} io {} (some, avg10)",
            psi(h.pressure.cpu_some_avg10_pct),
            psi(h.pressure.memory_some_avg10_pct),
            psi(h.pressure.io_some_avg10_pct)
        );
        for (k, v) in &h.sched {
            let _ = writeln!(s, "  {k:<13} {v}");
        }
        let _ = writeln!(s, "\ncgroups");
        match (&self.layout, &self.layout_error) {
            (Some(l), _) => {
                let _ = writeln!(s, "  layout        {}", l.kind);
                for hier in &l.hierarchies {
                    let _ = writeln!(
                        s,
                        "  {} {:<28} [{}] own: {}",
                        hier.version,
                        hier.mount_point.display(),
                        hier.controllers.join(","),
                        hier.own_dir
                            .as_ref()
                            .map_or("(not visible)".into(), |d| d.display().to_string())
                    );
                }
                let _ = writeln!(s, "  controller    version  directory");
                for p in &h.controllers {
                    let _ = writeln!(
                        s,
                        "  {:<13} {:<8} {}",
                        p.controller,
                        p.version,
                        p.own_dir.as_deref().unwrap_or("-")
                    );
                }
            }
            (None, Some(e)) => {
                let _ = writeln!(s, "  {e}");
            }
            (None, None) => {}
        }
        let _ = writeln!(s, "\nprivileges");
        let _ = writeln!(
            s,
            "  root          {}",
            if self.is_root { "yes" } else { "no" }
        );
        let _ = writeln!(
            s,
            "  create cgroups {}",
            if self.can_create_cgroups {
                "yes (under the own cgroup)"
            } else {
                "no"
            }
        );
        let _ = writeln!(s, "\nprobe families");
        for f in &self.families {
            let _ = writeln!(
                s,
                "  {:<17} {:<6} {}{}",
                f.name,
                if f.ready { "ready" } else { "no" },
                f.detail,
                if f.implemented {
                    ""
                } else {
                    "  (probe not in this build yet)"
                }
            );
        }
        s
    }
}
