//! `cpu_quota`: does the kernel deliver the CPU a CFS bandwidth limit says?
//!
//! Usage comes from the kernel's own accounting (cpuacct.usage / cpu.stat
//! usage_usec, nr_periods, nr_throttled), cross-checked with the spinners' own
//! CLOCK_THREAD_CPUTIME_ID. A limit is judged against what the periods that
//! actually elapsed allow, and only when the host could give the workload that
//! much CPU: an unlimited spinner is measured on the same CPUs before and after
//! each case, and when it gets less than the limit allows, the verdict is
//! `inconclusive` with the numbers — the neighbours, not the kernel, are what
//! was measured.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::Controller;
use crate::chart::Figure;
use crate::record::{CaseResult, Run};
use crate::spec::{Checked, HostLimits, Keys};

mod chart;
pub mod judge;
mod measure;
mod report;

/// The probe id.
pub const PROBE: &str = "cpu_quota";

/// The probe.
pub struct CpuQuota;

/// The `cpu_quota` section: CFS bandwidth fidelity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Quotas as a percentage of one CPU per period.
    #[serde(default = "default_quota_pct")]
    pub quota_pct: Vec<u32>,
    /// Periods, µs (1000 … 1000000).
    #[serde(default = "default_period_us")]
    pub period_us: Vec<u64>,
    /// Spinning threads per case; default 1, 2 and the online CPUs.
    pub threads: Option<Vec<u32>>,
    /// Length of each case, ms (the tolerance applies from 2000 ms).
    #[serde(default = "default_quota_ms")]
    pub duration_ms: u64,
    /// Allowed |achieved − expected| / expected, %.
    #[serde(default = "default_quota_tol")]
    pub tolerance_pct: f64,
    /// Add the fibtest-like case: 10 % of a CPU for `fibtest_ms`, one busy
    /// thread plus mostly idle ones.
    #[serde(default = "default_true")]
    pub fibtest: bool,
    #[serde(default = "default_fibtest_ms")]
    pub fibtest_ms: u64,
}

fn default_quota_pct() -> Vec<u32> {
    vec![5, 10, 25, 50, 100, 150]
}
fn default_period_us() -> Vec<u64> {
    vec![10_000, 100_000]
}
fn default_quota_ms() -> u64 {
    2000
}
fn default_quota_tol() -> f64 {
    5.0
}
fn default_true() -> bool {
    true
}
fn default_fibtest_ms() -> u64 {
    5000
}

/// One CPU-quota case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaCase {
    /// `q<quota_us>-p<period_us>-t<threads>`, or `fibtest`.
    pub id: String,
    pub quota: Duration,
    pub period: Duration,
    pub threads: u32,
    /// Mostly idle extra threads (the fibtest case).
    pub idle_threads: u32,
    pub duration: Duration,
    pub tolerance_pct: f64,
}

/// The CFS period bounds the kernel accepts, µs.
pub const PERIOD_US: std::ops::RangeInclusive<u64> = 1000..=1_000_000;
/// The message for a period outside [`PERIOD_US`].
pub const PERIOD_REASON: &str = "a CFS period must be 1000 … 1000000 µs (1 ms … 1 s)";

impl Probe for CpuQuota {
    const ID: &'static str = PROBE;
    const TITLE: &'static str = "CPU quota (cpu.max, cpu.cfs_quota_us)";
    const GROUP: Group = Group::Fidelity;
    type Section = QuotaSpec;

    fn validate(s: &QuotaSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(PROBE);
        k.ensure(
            !s.quota_pct.is_empty() && s.quota_pct.iter().all(|p| (1..=100_000).contains(p)),
            "quota_pct",
            format!("{:?}", s.quota_pct),
            "every quota must be 1 … 100000 % of a CPU",
        )?;
        k.each_range_says("period_us", &s.period_us, PERIOD_US, PERIOD_REASON)?;
        k.non_empty("period_us", &s.period_us, "names no period")?;
        k.each_range("threads", s.threads.iter().flatten(), 1..=256)?;
        k.range("duration_ms", s.duration_ms, 100..=600_000)?;
        k.tolerance_pct("tolerance_pct", s.tolerance_pct, judge::MAX_TOLERANCE_PCT)
    }

    /// Quota × period × threads, quotas under the kernel's 1 ms minimum left out
    /// (they cannot be set), then the fibtest case.
    fn expand(s: &QuotaSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let cpus = env.cpu_count().max(1);
        let mut threads = s.threads.clone().unwrap_or_else(|| vec![1, 2, cpus]);
        threads.sort_unstable();
        threads.dedup();
        let duration = env.millis(s.duration_ms, 300);
        let mut out: Vec<Box<dyn Case>> = Vec::new();
        for &period_us in &s.period_us {
            for &pct in &s.quota_pct {
                let quota_us = period_us * pct as u64 / 100;
                if quota_us < 1000 {
                    continue;
                }
                for &t in &threads {
                    out.push(Box::new(QuotaCase {
                        id: format!("q{quota_us}-p{period_us}-t{t}"),
                        quota: Duration::from_micros(quota_us),
                        period: Duration::from_micros(period_us),
                        threads: t,
                        idle_threads: 0,
                        duration,
                        tolerance_pct: s.tolerance_pct,
                    }));
                }
            }
        }
        if s.fibtest {
            out.push(Box::new(QuotaCase {
                id: "fibtest".into(),
                quota: Duration::from_millis(10),
                period: Duration::from_millis(100),
                threads: 1,
                idle_threads: 4 * cpus,
                duration: env.millis(s.fibtest_ms, 500),
                tolerance_pct: s.tolerance_pct,
            }));
        }
        out
    }

    fn readiness(host: &HostFacts) -> Readiness {
        host.cgroups(
            host.controller(Controller::Cpu)
                .and(host.controller(Controller::Cpuacct)),
        )
    }

    fn report(cases: &[&CaseResult]) -> String {
        report::quota(cases)
    }

    fn figures(run: &Run) -> Vec<Figure> {
        chart::figures(run)
    }

    fn compare_figures(runs: &[(String, Run)]) -> Vec<Figure> {
        chart::compare(runs)
    }
}

impl Case for QuotaCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(self.duration)
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        measure::run_quota(ctx.scope, ctx.layout, self, ctx.exe)
    }
}
