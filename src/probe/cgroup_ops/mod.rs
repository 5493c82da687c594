//! `cgroup_ops`: the latency of the cgroup operations a container runtime
//! performs — mkdir (in every hierarchy the cgroup spans), setting a limit,
//! attaching a process (a cgroup.procs write; on a unified host also creating it
//! inside with clone3 + CLONE_INTO_CGROUP), rmdir — and how mkdir and rmdir
//! grow with the number of sibling cgroups.

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::chart::Figure;
use crate::record::{CaseResult, Run};
use crate::spec::{Checked, HostLimits, Keys};

mod chart;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "cgroup_ops";

/// The probe.
pub struct CgroupOps;

/// The `cgroup_ops` section: latency of the cgroup operations themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSpec {
    /// Sibling counts to measure at (`s<N>`): the operated cgroup has N-1 siblings.
    #[serde(default = "default_siblings")]
    pub siblings: Vec<u32>,
    /// Operations timed per sibling count.
    #[serde(default = "default_ops_repeat")]
    pub repeat: u32,
}

fn default_siblings() -> Vec<u32> {
    vec![1, 10, 100, 1000]
}
fn default_ops_repeat() -> u32 {
    50
}

/// One cgroup-operations case: the operated cgroup has `siblings - 1` siblings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpsCase {
    /// `s<N>`.
    pub id: String,
    pub siblings: u32,
    pub repeat: u32,
}

impl Probe for CgroupOps {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Cgroup operations";
    const GROUP: Group = Group::Latency;
    type Section = OpsSpec;

    fn validate(s: &OpsSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.non_empty("siblings", &s.siblings, "names no sibling count")?;
        k.each_range("siblings", &s.siblings, 1..=10_000)?;
        k.range("repeat", s.repeat, 1..=100_000)
    }

    fn expand(s: &OpsSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        s.siblings
            .iter()
            .map(|&n| {
                Box::new(OpsCase {
                    id: format!("s{n}"),
                    siblings: n,
                    repeat: env.shorten(s.repeat, 5),
                }) as Box<dyn Case>
            })
            .collect()
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(Readiness::new(
            host.layout.is_some(),
            "mkdir, attach, rmdir latency",
        ))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::ops(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        chart::ops_chart(run).into_iter().collect()
    }

    fn compare_figures(runs: &[(String, Run)]) -> Vec<Figure> {
        chart::compare(runs)
    }
}

impl Case for OpsCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run(ctx.scope, ctx.layout, self, ctx.exe)
    }
}
