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
                "  {:<17} {:<6} {}",
                f.name,
                if f.ready { "ready" } else { "no" },
                f.detail,
            );
        }
        s
    }
}
