//! `cpu_weight`: is the CPU split between sibling groups the split their
//! weights (cpu.weight, cpu.shares) say? Each group's spinners share the same
//! CPUs; each group's share of the CPU the groups used is compared with its
//! weight's share.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::cpulist::CpuList;
use crate::record::CaseResult;
use crate::spec::{Checked, HostLimits, Keys};

mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "cpu_weight";

/// The probe.
pub struct CpuWeight;

/// The `cpu_weight` section: CPU split between sibling groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSpec {
    /// Each list is one case: sibling groups with these weights (v2 scale).
    #[serde(default = "default_weights")]
    pub weights: Vec<Vec<u64>>,
    /// The CPUs every group's spinners share (default: CPU 0).
    #[serde(default = "default_weight_cpus")]
    pub cpus: String,
    /// Spinning threads per group.
    #[serde(default = "default_one")]
    pub threads: u32,
    #[serde(default = "default_duration_ms")]
    pub duration_ms: u64,
    /// Allowed |share − expected share| / expected share, %.
    #[serde(default = "default_weight_tol")]
    pub tolerance_pct: f64,
}

fn default_weights() -> Vec<Vec<u64>> {
    vec![vec![100, 200], vec![100, 300, 600]]
}
fn default_weight_cpus() -> String {
    "0".into()
}
fn default_one() -> u32 {
    1
}
fn default_duration_ms() -> u64 {
    2000
}
fn default_weight_tol() -> f64 {
    10.0
}

/// One CPU-weight case: sibling groups sharing `cpus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightCase {
    /// `w<w1>-<w2>...`.
    pub id: String,
    pub weights: Vec<u64>,
    pub cpus: CpuList,
    pub threads: u32,
    pub duration: Duration,
    pub tolerance_pct: f64,
}

impl Probe for CpuWeight {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "CPU weight (cpu.weight, cpu.shares)";
    const GROUP: Group = Group::Fidelity;
    type Section = WeightSpec;

    fn validate(s: &WeightSpec, host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.cpu_list("cpus", &s.cpus, &host.online_cpus, "CPU")?;
        for case in &s.weights {
            k.ensure(
                case.len() >= 2 && case.iter().all(|x| (1..=10_000).contains(x)),
                "weights",
                format!("{case:?}"),
                "a case needs at least two weights, each 1 … 10000",
            )?;
        }
        k.range("threads", s.threads, 1..=64)?;
        k.range("duration_ms", s.duration_ms, 100..=600_000)?;
        k.tolerance_pct("tolerance_pct", s.tolerance_pct, 100.0)
    }

    fn expand(s: &WeightSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let duration = env.millis(s.duration_ms, 300);
        s.weights
            .iter()
            .map(|ws| {
                let names: Vec<String> = ws.iter().map(u64::to_string).collect();
                Box::new(WeightCase {
                    id: format!("w{}", names.join("-")),
                    weights: ws.clone(),
                    cpus: s.cpus.parse().unwrap_or_default(),
                    threads: s.threads,
                    duration,
                    tolerance_pct: s.tolerance_pct,
                }) as Box<dyn Case>
            })
            .collect()
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(host.controller(Controller::Cpu))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::weight(cases)
    }
}

impl Case for WeightCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(self.duration)
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run_weight(ctx.scope, ctx.layout, self, ctx.exe)
    }
}
