//! `ns_latency`: what each namespace costs to create and enter, per kind and
//! method, serially and from N parallel workers; how fast network namespaces
//! can be created and destroyed for a sustained period (their teardown is
//! asynchronous); and whether each kind isolates what it should.
//!
//! The timing happens in re-executed single-threaded workers
//! (`isobench worker ns-bench`); the probe starts them, collects their samples
//! and judges.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::chart::Figure;
use crate::ns::{Method, NsKind};
use crate::record::{CaseResult, Run};
use crate::spec::{Checked, HostLimits, Keys};

mod chart;
mod measure;
mod report;

#[cfg(test)]
pub(crate) use measure::cost_over;
/// Timed samples of one namespace operation in a fresh worker (for the benches).
pub use measure::sample;

/// The probe id.
pub const PROBE: &str = "ns_latency";

/// The probe.
pub struct NsLatency;

/// The `ns_latency` section: namespace creation latency per kind and method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NsSpec {
    /// Namespace kinds: mnt pid net ipc uts user cgroup time, all (every flag at
    /// once) and none (a plain process, the baseline). Default: every kind.
    #[serde(default = "default_kinds")]
    pub kinds: Vec<String>,
    /// clone, unshare, setns. Default: all three.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Timed operations per case and worker.
    #[serde(default = "default_iterations")]
    pub iterations: u64,
    /// Operations run and discarded before timing starts.
    #[serde(default = "default_warmup")]
    pub warmup: u64,
    /// Parallel workers for the scaling cases (`-c<N>`); 1 is the serial case, which
    /// always runs. Default: the number of online CPUs.
    pub concurrency: Option<Vec<u32>>,
    /// Length of the sustained create+destroy loop for kinds with a network
    /// namespace, ms (0: off).
    #[serde(default = "default_rate_ms")]
    pub rate_ms: u64,
    /// How long to wait for network namespace teardown after a case, ms.
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
    /// Verify the isolation each kind gives.
    #[serde(default = "default_true")]
    pub verify: bool,
    /// Include the `noop` case (an empty timed operation: the measurement floor).
    #[serde(default = "default_true")]
    pub noop: bool,
}

fn default_kinds() -> Vec<String> {
    NsKind::EVERY.iter().map(|k| k.to_string()).collect()
}
fn default_methods() -> Vec<String> {
    Method::ALL.iter().map(|m| m.to_string()).collect()
}
fn default_iterations() -> u64 {
    200
}
fn default_warmup() -> u64 {
    20
}
fn default_rate_ms() -> u64 {
    1000
}
fn default_drain_timeout_ms() -> u64 {
    30_000
}
fn default_true() -> bool {
    true
}

/// One namespace-latency case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NsCase {
    /// `noop`, `<kind>-<method>`, or `<kind>-<method>-c<N>` for N parallel workers.
    pub id: String,
    /// `None` for the noop case.
    pub kind: Option<NsKind>,
    pub method: Option<Method>,
    pub workers: u32,
    pub iterations: u64,
    pub warmup: u64,
    /// Sustained create+destroy loop length (serial cases of kinds with a network namespace).
    pub rate: Option<Duration>,
    pub drain_timeout: Duration,
}

/// The isolation check of one kind: `<kind>-isolation`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyCase {
    pub id: String,
    pub kind: NsKind,
}

impl Probe for NsLatency {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "Namespace creation";
    const GROUP: Group = Group::Latency;
    type Section = NsSpec;

    fn validate(ns: &NsSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.non_empty("kinds", &ns.kinds, "names no kind")?;
        for v in &ns.kinds {
            v.parse::<NsKind>()
                .map_err(|e| k.invalid("kinds", format!("{v:?}"), e))?;
        }
        k.non_empty("methods", &ns.methods, "names no method")?;
        for m in &ns.methods {
            m.parse::<Method>()
                .map_err(|e| k.invalid("methods", format!("{m:?}"), e))?;
        }
        k.range("iterations", ns.iterations, 1..=1_000_000)?;
        k.at_most("warmup", ns.warmup, 100_000, "")?;
        k.each_range_says(
            "concurrency",
            ns.concurrency.iter().flatten(),
            1..=1024,
            "must be 1 … 1024 workers",
        )?;
        k.at_most("rate_ms", ns.rate_ms, 60_000, "")?;
        k.at_most("drain_timeout_ms", ns.drain_timeout_ms, 600_000, "")
    }

    fn expand(spec: &NsSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let (cases, verify) = cases(spec, env);
        let mut out = super::boxed(cases);
        out.extend(super::boxed(verify));
        out
    }

    fn readiness(host: &HostFacts) -> Readiness {
        let missing: Vec<&str> = ["mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"]
            .into_iter()
            .filter(|k| !std::path::Path::new(&format!("/proc/self/ns/{k}")).exists())
            .collect();
        if !missing.is_empty() {
            Readiness::new(
                false,
                format!("this kernel lacks namespace types: {}", missing.join(" ")),
            )
        } else if host.is_root {
            Readiness::new(true, "all of mnt pid net ipc uts user cgroup time")
        } else if let Some(why) = crate::ns::user_namespaces_blocked() {
            Readiness::new(false, why)
        } else {
            Readiness::new(
                true,
                "all of mnt pid net ipc uts user cgroup time, through a user namespace of its own (not root)",
            )
        }
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::ns_latency(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        chart::figures(run)
    }

    fn compare_figures(runs: &[(String, Run)]) -> Vec<Figure> {
        chart::compare(runs)
    }
}

/// The cases of one section: noop, every kind × method serially in the
/// scenario's order, then the concurrency levels; and the isolation checks.
/// (No case needs another first: a clone's namespace cost comes from clones
/// without a namespace timed beside it, in the same workers.)
fn cases(spec: &NsSpec, env: &PlanEnv) -> (Vec<NsCase>, Vec<VerifyCase>) {
    let mut kinds: Vec<NsKind> = Vec::new();
    for k in spec.kinds.iter().filter_map(|k| k.parse().ok()) {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let methods: Vec<Method> = spec.methods.iter().filter_map(|m| m.parse().ok()).collect();
    let iterations = env.shorten(spec.iterations, 20);
    let warmup = env.shorten(spec.warmup, 2);
    let levels: Vec<u32> = spec
        .concurrency
        .clone()
        .unwrap_or_else(|| vec![env.cpu_count().max(1)]);
    let drain_timeout = Duration::from_millis(spec.drain_timeout_ms);
    let rate = (spec.rate_ms > 0).then(|| env.millis(spec.rate_ms, 200));
    let case = |kind: Option<NsKind>, method: Option<Method>, workers: u32, id: String| NsCase {
        id,
        kind,
        method,
        workers,
        iterations,
        warmup,
        rate: match (kind, method) {
            (Some(k), Some(Method::Clone | Method::Unshare)) if k.has_net() && workers == 1 => rate,
            _ => None,
        },
        drain_timeout,
    };
    let mut out = Vec::new();
    if spec.noop {
        out.push(case(None, None, 1, "noop".into()));
    }
    for &k in &kinds {
        for &m in &methods {
            out.push(case(Some(k), Some(m), 1, format!("{k}-{m}")));
        }
    }
    for &n in levels.iter().filter(|&&n| n > 1) {
        for &k in &kinds {
            for &m in &methods {
                out.push(case(Some(k), Some(m), n, format!("{k}-{m}-c{n}")));
            }
        }
    }
    let verify = if spec.verify {
        kinds
            .into_iter()
            .filter(|k| *k != NsKind::None)
            .map(|kind| VerifyCase {
                id: format!("{kind}-isolation"),
                kind,
            })
            .collect()
    } else {
        Vec::new()
    };
    (out, verify)
}

impl Case for NsCase {
    fn id(&self) -> &str {
        &self.id
    }
    /// The sustained-rate loop's length, where the case has one (the timed
    /// operations' cost is the host's: unknown before they ran).
    fn expected(&self) -> Option<Duration> {
        self.rate
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run_case(self, ctx.exe, !ctx.host.is_root)
    }
    fn needs_cgroups(&self) -> bool {
        false
    }
}

impl Case for VerifyCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run_verify(self.kind, ctx.exe, !ctx.host.is_root)
    }
    fn needs_cgroups(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_cases_keep_the_scenario_order_and_add_concurrency() {
        let s: NsSpec =
            toml::from_str("kinds = [\"none\", \"net\", \"none\"]\nmethods = [\"clone\", \"setns\"]\nconcurrency = [1, 2]\n")
                .unwrap();
        let env = PlanEnv {
            quick: false,
            online_cpus: "0-1".parse().unwrap(),
        };
        let (p, verify) = cases(&s, &env);
        let ids: Vec<&str> = p.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "noop",
                "none-clone",
                "none-setns",
                "net-clone",
                "net-setns",
                "none-clone-c2",
                "none-setns-c2",
                "net-clone-c2",
                "net-setns-c2"
            ]
        );
        assert!(
            p[3].rate.is_some(),
            "net-clone gets the sustained-rate loop"
        );
        assert!(p[4].rate.is_none() && p[7].rate.is_none());
        assert_eq!(p[7].workers, 2);
        let kinds: Vec<NsKind> = verify.iter().map(|v| v.kind).collect();
        assert_eq!(kinds, vec![NsKind::Net]);
    }
}
