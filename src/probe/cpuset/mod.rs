//! `cpuset`: do spinners stay on the CPUs their cpuset allows, and how long
//! does a change of cpuset.cpus take to move them? `pin-<set>` cases sample
//! where every thread runs under one set; `move-<from>-<to>` cases change the
//! set back and forth and time how long each change takes to reach every thread.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::chart::data::cases;
use crate::chart::Figure;
use crate::cpulist::CpuList;
use crate::record::{CaseResult, Run};
use crate::spec::{Checked, HostLimits, Keys};

mod chart;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "cpuset";

/// The probe.
pub struct Cpuset;

/// The `cpuset` section: placement accuracy and migration latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpusetSpec {
    /// Sets to pin spinners to, one case each (`pin-<set>`). Default: every
    /// online CPU alone, then all of them.
    pub sets: Option<Vec<String>>,
    /// Pairs of sets to move spinners between (`move-<from>-<to>`), alternating.
    /// Default: the first two online CPUs, where there are two.
    pub moves: Option<Vec<[String; 2]>>,
    /// Spinning threads, each sampling sched_getcpu().
    #[serde(default = "default_cpuset_threads")]
    pub threads: u32,
    /// How long each pinned case samples, ms.
    #[serde(default = "default_sample_ms")]
    pub duration_ms: u64,
    /// cpuset changes per move case (the migration latency distribution).
    #[serde(default = "default_migrations")]
    pub migrations: u32,
}

fn default_cpuset_threads() -> u32 {
    2
}
fn default_sample_ms() -> u64 {
    1000
}
fn default_migrations() -> u32 {
    20
}

/// One cpuset case: spinners pinned to `cpus`, or moved between `cpus` and `move_to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpusetCase {
    /// `pin-<set>` or `move-<from>-<to>` (`,` in a set becomes `_`).
    pub id: String,
    pub cpus: CpuList,
    pub move_to: Option<CpuList>,
    pub threads: u32,
    pub duration: Duration,
    pub migrations: u32,
}

/// `0,1` → `0_1`: a set as a case-id part.
fn set_id(l: &CpuList) -> String {
    l.to_string().replace(',', "_")
}

impl Probe for Cpuset {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Cpuset placement";
    const GROUP: Group = Group::Fidelity;
    type Section = CpusetSpec;

    fn validate(s: &CpusetSpec, host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        let online = &host.online_cpus;
        for v in s.sets.iter().flatten() {
            k.cpu_list("sets", v, online, "CPU")?;
        }
        for [a, b] in s.moves.iter().flatten() {
            k.cpu_list("moves", a, online, "CPU")?;
            k.cpu_list("moves", b, online, "CPU")?;
            k.ensure(
                a != b,
                "moves",
                format!("[{a:?}, {b:?}]"),
                "a move needs two different sets",
            )?;
        }
        k.range("threads", s.threads, 1..=256)?;
        k.range("duration_ms", s.duration_ms, 10..=600_000)?;
        k.range("migrations", s.migrations, 1..=10_000)
    }

    fn expand(s: &CpusetSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let online = &env.online_cpus;
        let sets: Vec<CpuList> = match &s.sets {
            Some(v) => v.iter().filter_map(|s| s.parse().ok()).collect(),
            None => {
                let mut v: Vec<CpuList> = online.iter().map(|c| CpuList::new([c])).collect();
                if online.len() > 1 {
                    v.push(online.clone());
                }
                v
            }
        };
        let moves: Vec<(CpuList, CpuList)> = match &s.moves {
            Some(v) => v
                .iter()
                .filter_map(|[a, b]| Some((a.parse().ok()?, b.parse().ok()?)))
                .collect(),
            None => {
                let cpus: Vec<u32> = online.iter().take(2).collect();
                match cpus[..] {
                    [a, b] => vec![(CpuList::new([a]), CpuList::new([b]))],
                    _ => Vec::new(),
                }
            }
        };
        let case = |id: String, cpus: CpuList, move_to: Option<CpuList>| -> Box<dyn Case> {
            Box::new(CpusetCase {
                id,
                cpus,
                move_to,
                threads: s.threads,
                duration: env.millis(s.duration_ms, 200),
                migrations: env.shorten(s.migrations, 4),
            })
        };
        let mut out: Vec<Box<dyn Case>> = sets
            .into_iter()
            .map(|s| case(format!("pin-{}", set_id(&s)), s, None))
            .collect();
        out.extend(
            moves
                .into_iter()
                .map(|(a, b)| case(format!("move-{}-{}", set_id(&a), set_id(&b)), a, Some(b))),
        );
        out
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(host.controller(Controller::Cpuset))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::cpuset(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        let mut out: Vec<Figure> = cases(run, PROBE)
            .filter_map(chart::placement_chart)
            .collect();
        out.extend(chart::migrate_chart(run));
        out
    }
}

impl Case for CpusetCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(match self.move_to {
            None => self.duration,
            // A settling pause before the first migration and after each.
            Some(_) => measure::SETTLE * (self.migrations + 1),
        })
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run(ctx.scope, ctx.layout, self, ctx.exe)
    }
}
