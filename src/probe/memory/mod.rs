//! `memory`: is memory.max enforced where it says, and is an OOM kill recognised
//! as one? A worker placed in its cgroup before it does anything (`isobench
//! worker mem`) touches memory below, above or up to the limit, is killed by
//! the harness (which must not count as an OOM kill), or runs under memory.high.

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::chart::Figure;
use crate::record::{CaseResult, Run};
use crate::spec::{Bytes, Checked, HostLimits, Keys};

mod chart;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "memory";

/// The smallest memory limit the probe accepts: the worker process itself
/// needs a few MiB before it touches anything.
pub const MIN_MEMORY_PROBE_BYTES: u64 = 16 << 20;

/// The probe.
pub struct Memory;

/// The `memory` section: memory.max enforced, OOM recognised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    /// memory.max values; each gets the cases `below-`, `above-`, `killed-` and
    /// (v2) `high-<limit>`.
    #[serde(default = "default_memory_limits")]
    pub limits: Vec<Bytes>,
    /// Slack allowed above the limit for the peak (the per-CPU charge batch).
    #[serde(default = "default_memory_slack")]
    pub slack: Bytes,
}

fn default_memory_limits() -> Vec<Bytes> {
    vec![Bytes(64 << 20)]
}
fn default_memory_slack() -> Bytes {
    Bytes(2 << 20)
}

/// What a memory case does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryKind {
    /// Touch half the limit: must survive.
    Below,
    /// Touch twice the limit: must be OOM-killed.
    Above,
    /// Touch half the limit, then the harness SIGKILLs it: not an OOM.
    Killed,
    /// memory.high at half the limit, touch 1 MiB past it (v2): slowed, not killed.
    High,
}

impl MemoryKind {
    const ALL: [MemoryKind; 4] = [
        MemoryKind::Below,
        MemoryKind::Above,
        MemoryKind::Killed,
        MemoryKind::High,
    ];

    /// The case id's first part.
    pub fn name(self) -> &'static str {
        match self {
            MemoryKind::Below => "below",
            MemoryKind::Above => "above",
            MemoryKind::Killed => "killed",
            MemoryKind::High => "high",
        }
    }
}

/// One memory case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryCase {
    /// `<kind>-<limit>`, e.g. `above-64MiB`.
    pub id: String,
    pub kind: MemoryKind,
    pub limit_bytes: u64,
    pub slack_bytes: u64,
}

impl Probe for Memory {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Memory limit";
    const GROUP: Group = Group::Fidelity;
    type Section = MemorySpec;

    fn validate(s: &MemorySpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.non_empty("limits", &s.limits, "names no limit")?;
        match s.limits.iter().find(|l| l.0 < MIN_MEMORY_PROBE_BYTES) {
            Some(l) => Err(k
                .invalid(
                    "limits",
                    l,
                    format!(
                        "a memory limit for this probe must be at least {}",
                        Bytes(MIN_MEMORY_PROBE_BYTES)
                    ),
                )
                .hint("the workload process itself needs a few MiB")),
            None => Ok(()),
        }
    }

    fn expand(s: &MemorySpec, _env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let mut out: Vec<Box<dyn Case>> = Vec::new();
        for l in &s.limits {
            for kind in MemoryKind::ALL {
                out.push(Box::new(MemoryCase {
                    id: format!("{}-{l}", kind.name()),
                    kind,
                    limit_bytes: l.0,
                    slack_bytes: s.slack.0,
                }));
            }
        }
        out
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(host.controller(Controller::Memory))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::memory(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        chart::figures(run)
    }
}

impl Case for MemoryCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run_memory(
            ctx.scope,
            ctx.layout,
            self,
            ctx.exe,
            ctx.host.swap_total_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_their_serde_names() {
        for k in MemoryKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
        }
    }
}
