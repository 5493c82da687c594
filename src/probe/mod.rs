//! Probes: one unit per question. A probe owns everything about its question —
//! its scenario section (type, defaults, validation), its case type and the
//! expansion of the section into cases, measuring a case and judging it (pure
//! verdict functions), its part of report.md and its charts, and what
//! `isobench check` says about it. The [`Probe`] trait is that contract, and the
//! `registry!` macro below is the one list of all probes: the scenario's sections,
//! the plan, the runner, `check`, the report and the chart list iterate over it.
//!
//! Adding a probe: one module under `src/probe/` implementing [`Probe`], and one
//! line in the registry. A probe measures and returns records; it never prints.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cgroup::{Controller, Layout, Scope, Version};
use crate::chart::Figure;
use crate::cpulist::CpuList;
use crate::host::Host;
use crate::record::{CaseResult, Run};
use crate::spec::{Checked, HostLimits};

/// Why a probe could not produce a result at all (a failed check is a verdict, not this).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    #[error("start worker {}: {source}", path.display())]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a probe's part stands in report.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// How fast a primitive is.
    Latency,
    /// Whether a limit is enforced as configured.
    Fidelity,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Latency => "Latency",
            Group::Fidelity => "Fidelity",
        }
    }
}

/// What the expansion of a section needs to know about the run and the host.
#[derive(Debug, Clone)]
pub struct PlanEnv {
    /// One repetition with short durations (`isobench run --quick`).
    pub quick: bool,
    pub online_cpus: CpuList,
}

impl PlanEnv {
    /// `full`, or `min(full, short)` in a quick run.
    pub fn shorten<T: Ord>(&self, full: T, short: T) -> T {
        if self.quick {
            full.min(short)
        } else {
            full
        }
    }

    /// A duration in ms from the scenario, shortened to `short_ms` in a quick run.
    pub fn millis(&self, full_ms: u64, short_ms: u64) -> Duration {
        Duration::from_millis(self.shorten(full_ms, short_ms))
    }

    pub fn cpu_count(&self) -> u32 {
        self.online_cpus.len() as u32
    }
}

/// What a case runs with.
pub struct Ctx<'a> {
    /// The harness's cgroups: every cgroup a case makes comes from here and is removed by it.
    pub scope: &'a mut Scope,
    pub layout: &'a Layout,
    /// The isobench binary, re-executed as the workers.
    pub exe: &'a Path,
    pub host: &'a Host,
}

/// One case of a plan, ready to run.
pub trait Case: Debug {
    /// The case id, unique within its probe.
    fn id(&self) -> &str;
    /// How long the case runs by design, where its settings say (a duration,
    /// a hold, the pauses of its repetitions): a lower bound for the time-left
    /// estimate. `None` where only the host decides (operations timed).
    fn expected(&self) -> Option<Duration> {
        None
    }
    /// Measures the case and judges it.
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError>;
    /// Whether it needs cgroups of the harness's own: a run that can make
    /// none (not root, nothing delegated) goes on only for cases that don't.
    fn needs_cgroups(&self) -> bool {
        true
    }
}

/// Typed cases as a plan holds them.
pub fn boxed<C: Case + 'static>(cases: Vec<C>) -> Vec<Box<dyn Case>> {
    cases
        .into_iter()
        .map(|c| Box::new(c) as Box<dyn Case>)
        .collect()
}

/// Whether a probe can run on this host, and why not (or what it will use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub detail: String,
}

impl Readiness {
    pub fn new(ready: bool, detail: impl Into<String>) -> Readiness {
        Readiness {
            ready,
            detail: detail.into(),
        }
    }

    /// Both must be ready; the details joined.
    pub fn and(self, other: Readiness) -> Readiness {
        Readiness::new(
            self.ready && other.ready,
            format!("{}; {}", self.detail, other.detail),
        )
    }
}

/// What `isobench check` knows about the host, for each probe's readiness.
#[derive(Debug, Clone)]
pub struct HostFacts {
    pub layout: Option<Layout>,
    pub is_root: bool,
    /// The harness may create cgroups under its own cgroup in every hierarchy.
    pub can_create_cgroups: bool,
}

impl HostFacts {
    /// The cgroup version that holds `c`, if this process can use it.
    pub fn version(&self, c: Controller) -> Option<Version> {
        self.layout.as_ref().and_then(|l| l.placement(c).version)
    }

    /// Whether controller `c` is there, and on which version.
    pub fn controller(&self, c: Controller) -> Readiness {
        match self.version(c) {
            Some(v) => Readiness::new(true, format!("{c} controller on cgroup {v}")),
            None => Readiness::new(
                false,
                format!("no {c} controller available to this process"),
            ),
        }
    }

    /// `r`, unless the harness cannot make cgroups at all (not root, or no
    /// writable own cgroup): a cgroup probe's common requirement.
    pub fn cgroups(&self, r: Readiness) -> Readiness {
        if !self.is_root {
            Readiness::new(false, format!("needs root (CAP_SYS_ADMIN); {}", r.detail))
        } else if !self.can_create_cgroups {
            Readiness::new(
                false,
                format!("cannot create cgroups under the own cgroup; {}", r.detail),
            )
        } else {
            r
        }
    }
}

/// A probe: everything about one question. Every function is associated (no
/// state); the registry turns each into a [`Registered`] entry.
pub trait Probe: 'static {
    /// Stable snake_case id: the scenario section, the `probe` column of every
    /// record. Renaming it is a schema change.
    const ID: &'static str;
    /// The heading of its part of report.md.
    const TITLE: &'static str;
    const GROUP: Group;
    /// The scenario section (serde, with its defaults).
    type Section: Serialize + DeserializeOwned + Debug + Clone + PartialEq;
    /// Checks the section against the rules and the host, before anything is created.
    fn validate(section: &Self::Section, host: &HostLimits) -> Checked;
    /// The section as cases, in the order they run.
    fn expand(section: &Self::Section, env: &PlanEnv) -> Vec<Box<dyn Case>>;
    /// Whether it can run here.
    fn readiness(host: &HostFacts) -> Readiness;
    /// Its part of report.md: tables of its cases (as run, from the record alone).
    fn report(cases: &[&CaseResult]) -> String {
        crate::markdown::generic(cases)
    }
    /// Its charts of one run.
    fn figures(_run: &Run) -> Vec<Figure> {
        Vec::new()
    }
    /// Its charts comparing several runs (label, run).
    fn compare_figures(_runs: &[(String, Run)]) -> Vec<Figure> {
        Vec::new()
    }
}

/// A probe as the registry holds it: object-safe, reading its own section of a scenario.
pub trait Registered: Sync {
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn group(&self) -> Group;
    /// Checks the probe's section, if the scenario has one.
    fn validate(&self, scenario: &Scenario, host: &HostLimits) -> Checked;
    /// The probe's cases of a scenario (none without its section).
    fn expand(&self, scenario: &Scenario, env: &PlanEnv) -> Vec<Box<dyn Case>>;
    fn readiness(&self, host: &HostFacts) -> Readiness;
    fn report(&self, cases: &[&CaseResult]) -> String;
    fn figures(&self, run: &Run) -> Vec<Figure>;
    fn compare_figures(&self, runs: &[(String, Run)]) -> Vec<Figure>;
}

/// One registry entry: a probe and where its section sits in a [`Scenario`].
struct Entry<P: Probe> {
    section: fn(&Scenario) -> Option<&P::Section>,
}

impl<P: Probe> Registered for Entry<P> {
    fn id(&self) -> &'static str {
        P::ID
    }
    fn title(&self) -> &'static str {
        P::TITLE
    }
    fn group(&self) -> Group {
        P::GROUP
    }
    fn validate(&self, scenario: &Scenario, host: &HostLimits) -> Checked {
        (self.section)(scenario).map_or(Ok(()), |s| P::validate(s, host))
    }
    fn expand(&self, scenario: &Scenario, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        (self.section)(scenario).map_or_else(Vec::new, |s| P::expand(s, env))
    }
    fn readiness(&self, host: &HostFacts) -> Readiness {
        P::readiness(host)
    }
    fn report(&self, cases: &[&CaseResult]) -> String {
        P::report(cases)
    }
    fn figures(&self, run: &Run) -> Vec<Figure> {
        P::figures(run)
    }
    fn compare_figures(&self, runs: &[(String, Run)]) -> Vec<Figure> {
        P::compare_figures(runs)
    }
}

pub mod charge;

/// The registry: `section_key => ProbeType` per probe, its module named after
/// the key. It declares the modules, the [`Scenario`] file type (one optional
/// section per probe, unknown keys rejected) and [`ALL`], in run order.
macro_rules! registry {
    ($($id:ident => $probe:ident),* $(,)?) => {
        $(pub mod $id;)*

        /// A whole scenario file: its schema, name, and one optional section per
        /// probe, keyed by the probe id. Loading and validation: [`crate::scenario`].
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Scenario {
            pub schema: u32,
            pub name: String,
            #[serde(default)]
            pub description: String,
            /// Repetitions of each latency case (fresh workers each time,
            /// interleaved across cases); `isobench run --repeat` overrides it.
            /// The unit of evidence of `isobench compare`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub repeat: Option<u32>,
            $(pub $id: Option<<$id::$probe as Probe>::Section>,)*
        }

        /// Every probe, in the order a run does them.
        pub static ALL: &[&dyn Registered] = &[
            $(&Entry::<$id::$probe> { section: |s: &Scenario| s.$id.as_ref() },)*
        ];

        #[cfg(test)]
        #[test]
        fn section_keys_are_the_probe_ids() {
            $(assert_eq!(stringify!($id), <$id::$probe as Probe>::ID);)*
        }
    };
}

registry! {
    cgroup_lifecycle => CgroupLifecycle,
    cgroup_ops => CgroupOps,
    cpuset => Cpuset,
    cpu_quota => CpuQuota,
    cpu_weight => CpuWeight,
    pids => Pids,
    memory => Memory,
    freezer => Freezer,
    io => Io,
    ns_latency => NsLatency,
    hugetlb => Hugetlb,
    devices => Devices,
    net_cls => NetCls,
    net_prio => NetPrio,
    cpuacct => Cpuacct,
    perf_event => PerfEvent,
}

/// The registered probe with this id.
pub fn find(id: &str) -> Option<&'static dyn Registered> {
    ALL.iter().copied().find(|p| p.id() == id)
}
