//! `freezer`: how long freezing and thawing a cgroup of busy threads takes
//! (until the kernel reports frozen / thawed), and whether the threads really
//! stop: their own run time (schedstat of every task) must not move while the
//! cgroup is frozen, and must move again after the thaw.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::{Controller, Version};
use crate::chart::Figure;
use crate::record::{CaseResult, Run};
use crate::spec::{Checked, HostLimits, Keys};

mod chart;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "freezer";

/// The probe.
pub struct Freezer;

/// The `freezer` section: freeze and thaw latency, no progress while frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezerSpec {
    /// Spinning threads in the frozen cgroup.
    #[serde(default = "default_threads")]
    pub threads: u32,
    /// Freeze/thaw cycles per case.
    #[serde(default = "default_freeze_repeat")]
    pub repeat: u32,
    /// CPU quotas (% of a CPU per 100 ms) to freeze under, one case each; 0: none.
    /// A throttled task must run to freeze, so a quota shows in the latency.
    #[serde(default = "default_freeze_quota")]
    pub quota_pct: Vec<u32>,
}

fn default_threads() -> u32 {
    2
}
fn default_freeze_repeat() -> u32 {
    20
}
fn default_freeze_quota() -> Vec<u32> {
    vec![0, 20]
}

/// One freezer case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreezerCase {
    /// `t<threads>` or `t<threads>-q<pct>`.
    pub id: String,
    pub threads: u32,
    pub repeat: u32,
    /// CPU quota per 100 ms period, if any.
    pub quota: Option<Duration>,
}

impl Probe for Freezer {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Freezer";
    const GROUP: Group = Group::Fidelity;
    type Section = FreezerSpec;

    fn validate(s: &FreezerSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.range("threads", s.threads, 1..=64)?;
        k.range("repeat", s.repeat, 1..=1000)?;
        k.ensure(
            !s.quota_pct.is_empty() && s.quota_pct.iter().all(|&q| q <= 100),
            "quota_pct",
            format!("{:?}", s.quota_pct),
            "each must be 0 (no quota) … 100",
        )
    }

    fn expand(s: &FreezerSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        s.quota_pct
            .iter()
            .map(|&q| {
                Box::new(FreezerCase {
                    id: if q == 0 {
                        format!("t{}", s.threads)
                    } else {
                        format!("t{}-q{q}", s.threads)
                    },
                    threads: s.threads,
                    repeat: env.shorten(s.repeat, 3),
                    quota: (q > 0).then(|| Duration::from_millis(q as u64)),
                }) as Box<dyn Case>
            })
            .collect()
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(match host.version(Controller::Freezer) {
            Some(Version::V1) => Readiness::new(true, "freezer controller on cgroup v1"),
            Some(Version::V2) => Readiness::new(true, "cgroup.freeze on cgroup v2"),
            None => Readiness::new(false, "no freezer"),
        })
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::freezer(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        chart::freezer_chart(run).into_iter().collect()
    }
}

impl Case for FreezerCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(measure::slept(self))
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run(ctx.scope, ctx.layout, self, ctx.exe)
    }
}
