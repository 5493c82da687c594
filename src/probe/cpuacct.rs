//! `cpuacct`: does the kernel charge a cgroup the CPU time its tasks ran? A
//! cgroup's spinners (`isobench worker cpu-spin`) keep their own record of when
//! they were on a CPU (CLOCK_MONOTONIC gaps, see `workload::cpuspin`): the
//! witness the kernel's accounting is compared with, over the window between
//! two bracketed reads of the accounting files (v1 cpuacct.usage,
//! .usage_percpu, .stat; v2 cpu.stat usage_usec, user_usec, system_usec).
//!
//! Three checks: the total charge lies within ±`tolerance_pct` (plus
//! [`CHARGE_SLACK`]) of what the spinners ran; on v1 the per-CPU charge lies
//! only on the CPUs of the group's cpuset (v2 has no per-CPU file: said so, not
//! checked); and a user-space spinner is charged as user time (at least
//! `user_min_pct` of user + system).

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::charge::{self, bracketed, ms, own_bounds};
use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::{Controller, CpuAcct, Scope, Version};
use crate::cpulist::CpuList;
use crate::host::CpuTimes;
use crate::interrupt;
use crate::markdown::{value, verdict_word, Align, Table};
use crate::ns::now_ns;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::spec::{Checked, HostLimits, Keys};
use crate::units::{pct_x100 as x100, Unit};
use crate::workload::cpuspin::Spinners;

/// The probe.
pub struct Cpuacct;

pub use super::charge::CHARGE_SLACK;

/// Most time the kernel may charge on CPUs outside the group's cpuset between
/// the reads: none of its tasks may run there, so anything beyond rounding is
/// a mis-accounted CPU.
pub const OUTSIDE_SLACK: Duration = Duration::from_millis(1);

/// Below this share of the CPU the spinners could use, the host was too busy
/// for the charge to be judged against them: a guest whose host takes the CPU
/// away without steal accounting may charge its tasks for time they never
/// saw, and the slack weighs more on little time. The bound is low because
/// this shared 2-CPU host, with a TCG guest and builds beside it, charged
/// within +0.9 % at 33 % given and +1.4 % at 21 %, and a ×1.25 fault at 25 %
/// given must still fail.
pub const MIN_GIVEN_PCT: f64 = 10.0;

/// Below this share of the CPU they could use, the spinners were switched out
/// for other tasks so often that an over-charge no larger than the time they
/// were away cannot be told from the cost of those switches (the kernel
/// charges from the pick, the spinner sees itself from its first clock read):
/// the TCG guest beside eight busy loops at ten times the weight charged 62 ms
/// to a spinner that saw 33 … 42 ms of a 369 ms window (10 % given). An
/// under-charge still fails, and so does any over-charge on a host that gave
/// the spinners the CPU.
pub const CONTENDED_GIVEN_PCT: f64 = 50.0;

/// The `cpuacct` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuacctSpec {
    /// The cases; none: one thread pinned to the last CPU (where there are two
    /// or more) and two threads on every CPU.
    #[serde(default)]
    pub case: Vec<AcctCaseSpec>,
    #[serde(default = "default_duration_ms")]
    pub duration_ms: u64,
    /// Allowed |charged − own| / own, % (plus [`CHARGE_SLACK`]).
    #[serde(default = "default_tolerance")]
    pub tolerance_pct: f64,
    /// Least share of user + system that must be user time, %.
    #[serde(default = "default_user_min")]
    pub user_min_pct: f64,
}

/// One case of the section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcctCaseSpec {
    pub threads: u32,
    /// The group's cpuset; none: every CPU.
    #[serde(default)]
    pub cpus: Option<String>,
}

fn default_duration_ms() -> u64 {
    1000
}
fn default_tolerance() -> f64 {
    10.0
}
fn default_user_min() -> f64 {
    90.0
}

/// One accounting case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcctCase {
    /// `t<threads>` or `t<threads>-cpu<list>`.
    pub id: String,
    pub threads: u32,
    pub cpus: Option<CpuList>,
    pub duration: Duration,
    pub tolerance_pct: f64,
    pub user_min_pct: f64,
}

impl Probe for Cpuacct {
    const ID: &'static str = "cpuacct";
    const TITLE: &'static str = "CPU accounting (cpuacct, cpu.stat)";
    const GROUP: Group = Group::Fidelity;
    type Section = CpuacctSpec;

    fn validate(s: &CpuacctSpec, host: &HostLimits) -> Checked {
        let k = Keys::new(Self::ID);
        for c in &s.case {
            k.range("case.threads", c.threads, 1..=64)?;
            if let Some(cpus) = &c.cpus {
                k.cpu_list("case.cpus", cpus, &host.online_cpus, "CPU")?;
            }
        }
        k.range("duration_ms", s.duration_ms, 100..=600_000)?;
        k.tolerance_pct("tolerance_pct", s.tolerance_pct, 100.0)?;
        k.range_says(
            "user_min_pct",
            s.user_min_pct,
            0.0..=100.0,
            "a share of user + system, %",
        )
    }

    fn expand(s: &CpuacctSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        let duration = env.millis(s.duration_ms, 300);
        let specs: Vec<(u32, Option<CpuList>)> = if s.case.is_empty() {
            let last = env.online_cpus.iter().last();
            let pinned = (env.cpu_count() >= 2)
                .then(|| last.map(|c| CpuList::new([c])))
                .flatten();
            vec![(1, pinned), (2, None)]
        } else {
            s.case
                .iter()
                .map(|c| (c.threads, c.cpus.as_deref().and_then(|v| v.parse().ok())))
                .collect()
        };
        let cases = specs
            .into_iter()
            .map(|(threads, cpus)| AcctCase {
                id: match &cpus {
                    Some(c) => format!("t{threads}-cpu{}", c.to_string().replace(',', "_")),
                    None => format!("t{threads}"),
                },
                threads,
                cpus,
                duration,
                tolerance_pct: s.tolerance_pct,
                user_min_pct: s.user_min_pct,
            })
            .collect();
        super::boxed(cases)
    }

    fn readiness(host: &HostFacts) -> Readiness {
        let per_cpu = match host.version(Controller::Cpuacct) {
            Some(Version::V1) => "per-CPU usage from cpuacct.usage_percpu",
            Some(Version::V2) => "cgroup v2 has no per-CPU usage file: that check is skipped",
            None => "",
        };
        let r = host.controller(Controller::Cpuacct);
        let r = if per_cpu.is_empty() {
            r
        } else {
            r.and(Readiness::new(true, per_cpu))
        };
        host.cgroups(r)
    }

    fn report(cases: &[&CaseResult]) -> String {
        report(cases)
    }
}

impl Case for AcctCase {
    fn id(&self) -> &str {
        &self.id
    }
    fn expected(&self) -> Option<Duration> {
        Some(self.duration)
    }
    fn run(&self, ctx: &mut Ctx) -> Result<CaseResult, ProbeError> {
        run(self, ctx.scope, ctx.exe)
    }
}

/// What an accounting case is judged on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub threads: u32,
    /// The CPUs the group may use (its effective cpuset), `None` without a
    /// cpuset controller.
    pub cpus: Option<CpuList>,
    /// How many CPUs the spinners could use.
    pub usable_cpus: u32,
    /// What the accounting files moved between the two reads.
    pub charged: CpuAcct,
    /// The spinners' own on-CPU time over the charged window, as far as the
    /// reads pin it down: at least what they ran between the reads, at most
    /// from the start of the first read to the end of the second.
    pub own: (Duration, Duration),
    /// The CPUs the spinners saw themselves on (sched_getcpu samples).
    pub own_cpus: Vec<u32>,
    /// The window, from before the first read to after the second.
    pub wall: Duration,
    /// Where the time of the group's CPUs went between the reads, as the
    /// kernel saw it (/proc/stat); `None` where it could not be read.
    pub cpu_times: Option<CpuTimes>,
    /// The kernel's clocksource, if known: the spinners read the clock
    /// constantly, and without a vDSO every read is a system call.
    pub clocksource: Option<String>,
}

impl Evidence {
    /// The middle of the spinners' own time.
    pub fn own_mid(&self) -> Duration {
        charge::mid(self.own)
    }

    /// (charged − own) / own, % (0 when they did not run).
    pub fn error_pct(&self) -> f64 {
        let own = self.own_mid().as_secs_f64();
        if own > 0.0 {
            (self.charged.usage.as_secs_f64() - own) / own * 100.0
        } else {
            0.0
        }
    }

    /// The share of the CPU they could use that the spinners got, %.
    pub fn given_pct(&self) -> f64 {
        let capacity =
            self.wall.as_secs_f64() * f64::from(self.threads.min(self.usable_cpus).max(1));
        if capacity > 0.0 {
            self.own_mid().as_secs_f64() / capacity * 100.0
        } else {
            0.0
        }
    }

    /// User time's share of user + system, % (`None` when both are 0).
    /// The user/system split is sampled at the tick: how many 10 ms ticks
    /// (USER_HZ, cpuacct.stat's unit; v2's split is scaled from the same
    /// kind of samples) the charge spans, at least 1.
    pub fn ticks_sampled(&self) -> u64 {
        let t = self.charged.user + self.charged.system;
        (t.as_millis() as u64 / 10).max(1)
    }

    /// The user share's 95 % interval (Wilson score) over the ticks
    /// sampled, %: 4 of 5 ticks user (80 %) is 38 … 96 %, not a
    /// spinner charged for system time.
    pub fn user_share_ci(&self) -> Option<(f64, f64)> {
        let p = self.user_pct()? / 100.0;
        let n = self.ticks_sampled() as f64;
        let z = 1.96_f64;
        let d = 1.0 + z * z / n;
        let centre = (p + z * z / (2.0 * n)) / d;
        let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
        Some((
            ((centre - half) * 100.0).max(0.0),
            ((centre + half) * 100.0).min(100.0),
        ))
    }

    /// Whether the spinners' clock reads enter the kernel (no vDSO).
    pub fn clock_is_syscall(&self) -> bool {
        self.clocksource
            .as_deref()
            .is_some_and(|c| !crate::host::clocksource_has_vdso(c))
    }

    pub fn user_pct(&self) -> Option<f64> {
        let u = self.charged.user.as_secs_f64();
        let all = u + self.charged.system.as_secs_f64();
        (all > 0.0).then(|| u / all * 100.0)
    }

    /// Time the spinners saw themselves away from their CPUs that the kernel
    /// saw neither idle nor used by anything but the group, and charged as
    /// the group's (see [`charge::unseen`]).
    pub fn unseen(&self) -> Option<Duration> {
        charge::unseen(
            self.cpu_times,
            self.charged.usage,
            self.own.0,
            self.wall * self.usable_cpus,
        )
    }

    /// What the kernel charged on CPUs outside the group's cpuset (`None`
    /// without a per-CPU file or a cpuset).
    pub fn outside(&self) -> Option<Duration> {
        let (per_cpu, cpus) = (self.charged.per_cpu.as_ref()?, self.cpus.as_ref()?);
        Some(
            per_cpu
                .iter()
                .enumerate()
                .filter(|(c, _)| !cpus.contains(*c as u32))
                .map(|(_, d)| *d)
                .sum(),
        )
    }
}

/// The verdict of an accounting case.
pub fn verdict(case: &AcctCase, ev: &Evidence) -> Verdict {
    let tol = case.tolerance_pct;
    let (lo, hi) = ev.own;
    let usage = ev.charged.usage;
    let user = ev.user_pct();
    let numbers = format!(
        "charged {:.1} ms (user {:.0} ms, system {:.0} ms); the spinners ran {:.1} … {:.1} ms by their own clocks ({:+.1}% against the middle) in {:.0} ms with {} thread(s) on {} CPU(s)",
        ms(usage),
        ms(ev.charged.user),
        ms(ev.charged.system),
        ms(lo),
        ms(hi),
        ev.error_pct(),
        ms(ev.wall),
        ev.threads,
        ev.usable_cpus,
    );
    let k = tol / 100.0;
    let floor = lo.as_secs_f64() * (1.0 - k) - CHARGE_SLACK.as_secs_f64();
    if usage.as_secs_f64() < floor {
        return Verdict::fail(format!(
            "the kernel charged less than the spinners ran (below {:.1} ms: −{tol}% and {} ms): {numbers}",
            floor * 1e3,
            CHARGE_SLACK.as_millis()
        ));
    }
    if ev.given_pct() < MIN_GIVEN_PCT {
        return Verdict::inconclusive(format!(
            "the host gave the spinners {:.0}% of the CPU they could use (under {MIN_GIVEN_PCT}%): too busy to judge the charge against them: {numbers}",
            ev.given_pct()
        ));
    }
    let ceiling = hi.as_secs_f64() * (1.0 + k) + CHARGE_SLACK.as_secs_f64();
    if usage.as_secs_f64() > ceiling {
        let excess = usage.saturating_sub(hi).as_secs_f64();
        if let Some(unseen) = ev
            .unseen()
            .filter(|u| excess <= u.as_secs_f64() * (1.0 + k) + CHARGE_SLACK.as_secs_f64())
        {
            return Verdict::inconclusive(format!(
                "stolen time: the spinners were away {:.0} ms that the kernel saw neither idle nor used by others (the CPU was taken from under it without steal accounting, as a QEMU TCG guest on a busy host is), and charged them as the group's: the charge cannot be judged: {numbers}",
                ms(unseen)
            ));
        }
        let away = ev
            .wall
            .mul_f64(f64::from(ev.threads.min(ev.usable_cpus).max(1)))
            .saturating_sub(lo);
        if ev.given_pct() < CONTENDED_GIVEN_PCT && excess <= away.as_secs_f64() {
            return Verdict::inconclusive(format!(
                "contended: the host gave the spinners {:.0}% of the CPU they could use (under {CONTENDED_GIVEN_PCT}%), and the {:.1} ms charged beyond what they ran lies within the {:.0} ms they were switched out for other tasks: the kernel's switching cost and an over-charge cannot be told apart: {numbers}",
                ev.given_pct(),
                excess * 1e3,
                ms(away)
            ));
        }
        return Verdict::fail(format!(
            "the kernel charged more than the spinners ran (above {:.1} ms: +{tol}% and {} ms): {numbers}",
            ceiling * 1e3,
            CHARGE_SLACK.as_millis()
        ));
    }
    let per_cpu_note = match (&ev.charged.per_cpu, &ev.cpus) {
        (None, _) => {
            "cgroup v2 has no per-CPU usage file: the per-CPU split is not checked".to_string()
        }
        (Some(_), None) => "no cpuset controller: the per-CPU split is not checked".to_string(),
        (Some(per_cpu), Some(cpus)) => {
            let outside = ev.outside().unwrap_or_default();
            if outside > OUTSIDE_SLACK {
                return Verdict::fail(format!(
                    "the kernel charged {:.1} ms on CPUs outside the group's cpuset {cpus}: {numbers}",
                    ms(outside)
                ));
            }
            let sum: Duration = per_cpu.iter().sum();
            let diff = sum.abs_diff(usage);
            if diff.as_secs_f64() > usage.as_secs_f64() * 0.01 + CHARGE_SLACK.as_secs_f64() {
                return Verdict::fail(format!(
                    "the per-CPU usage adds up to {:.1} ms, not the {:.1} ms charged: {numbers}",
                    ms(sum),
                    ms(usage)
                ));
            }
            format!(
                "per-CPU usage only on the cpuset {cpus} ({:.3} ms elsewhere)",
                ms(outside)
            )
        }
    };
    let user_note = match (user, ev.user_share_ci()) {
        (None, _) | (_, None) => {
            return Verdict::fail(format!(
                "neither user nor system time was charged: {numbers}"
            ))
        }
        (Some(u), Some(_)) if ev.clock_is_syscall() => format!(
            "{u:.1}% user time, not judged: the clocksource {} has no vDSO, so every clock read of the spinners is a system call",
            ev.clocksource.as_deref().unwrap_or("?")
        ),
        (Some(u), Some((_, hi))) if hi < case.user_min_pct => {
            return Verdict::fail(format!(
                "a user-space spinner was charged {u:.1}% user time (95% CI up to {hi:.1}% over the {} ticks sampled; at least {}% expected): {numbers}",
                ev.ticks_sampled(),
                case.user_min_pct
            ))
        }
        (Some(u), Some((lo, hi))) => format!(
            "{u:.1}% user time (95% CI {lo:.1} … {hi:.1}% over {} ticks; at least {}%)",
            ev.ticks_sampled(),
            case.user_min_pct
        ),
    };
    Verdict::pass(format!(
        "the charge lies within ±{tol}% (and {} ms) of what the spinners ran; {user_note}; {per_cpu_note}: {numbers}",
        CHARGE_SLACK.as_millis()
    ))
}

fn run(case: &AcctCase, scope: &mut Scope, exe: &Path) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(Cpuacct::ID, &case.id, case);
    let cg_probe = scope.create(&format!("acct-{}", case.id))?;
    let cg = &cg_probe;
    let outcome = (|| -> Result<Result<Evidence, Verdict>, ProbeError> {
        if !cg.has(Controller::Cpuacct) {
            return Ok(Err(Verdict::skip(
                "no CPU accounting (cpuacct, cgroup2 cpu.stat) is available on this host",
            )));
        }
        if let Some(cpus) = &case.cpus {
            if !cg.has(Controller::Cpuset) {
                return Ok(Err(Verdict::skip(format!(
                    "the case pins to CPUs {cpus}, and the cpuset controller is not available on this host"
                ))));
            }
            if let Err(e) = cg.set_cpus(cpus) {
                return Ok(Err(Verdict::fail(format!("set cpuset.cpus: {e}"))));
            }
        }
        let set = if cg.has(Controller::Cpuset) {
            Some(cg.effective_cpus()?)
        } else {
            None
        };
        let seen = set.clone().unwrap_or_else(crate::host::online_cpus);
        let usable = seen.len() as u32;
        let mut spinners = Spinners::start(exe, cg, case.threads, 0)?;
        spinners.signal();
        let from = now_ns();
        // The accounting files, and where the CPUs' time went (/proc/stat).
        let read = || cg.cpu_acct().map(|a| (a, crate::host::cpu_times(&seen)));
        let before = bracketed(read)?;
        let slept = interrupt::sleep(case.duration);
        let after = bracketed(read)?;
        let to = now_ns();
        let reports = match spinners.stop() {
            Ok(r) if r.len() == case.threads as usize => r,
            Ok(r) => {
                return Ok(Err(Verdict::fail(format!(
                    "{} of {} spinning threads reported",
                    r.len(),
                    case.threads
                ))))
            }
            Err(e) => {
                return Ok(Err(Verdict::fail(format!(
                    "the spinners did not report: {e}"
                ))))
            }
        };
        slept?;
        let mut own_cpus: Vec<u32> = reports
            .iter()
            .flat_map(|r| r.per_cpu.iter().map(|(c, _)| *c))
            .collect();
        own_cpus.sort_unstable();
        own_cpus.dedup();
        Ok(Ok(Evidence {
            threads: case.threads,
            cpus: set,
            usable_cpus: usable,
            charged: after.read.0.since(&before.read.0),
            own: own_bounds(&reports, &before, &after),
            own_cpus,
            wall: Duration::from_nanos(to.saturating_sub(from)),
            cpu_times: charge::cpu_times_since(before.read.1, after.read.1),
            clocksource: crate::host::clocksource(),
        }))
    })();
    scope.remove(cg)?;
    let ev = match outcome? {
        Ok(ev) => ev,
        Err(v) => {
            result.judge(v);
            return Ok(result.finish());
        }
    };
    result.series = series(&ev);
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(verdict(case, &ev));
    Ok(result.finish())
}

/// What a case records.
fn series(ev: &Evidence) -> Vec<Series> {
    let ns = |d: Duration| d.as_nanos() as u64;
    let mut out = vec![
        Series::new("usage", Unit::Ns, vec![ns(ev.charged.usage)]),
        Series::new("user_time", Unit::Ns, vec![ns(ev.charged.user)]),
        Series::new("system_time", Unit::Ns, vec![ns(ev.charged.system)]),
        Series::new("own_cpu_time", Unit::Ns, vec![ns(ev.own_mid())]),
        Series::new(
            "charge_error_pct",
            Unit::PctX100,
            vec![x100(ev.error_pct().abs())],
        ),
        Series::new("given_pct", Unit::PctX100, vec![x100(ev.given_pct())]),
    ];
    if let Some(u) = ev.user_pct() {
        out.push(Series::new("user_pct", Unit::PctX100, vec![x100(u)]));
    }
    if let Some(per_cpu) = &ev.charged.per_cpu {
        out.push(Series::new(
            "usage_percpu",
            Unit::Ns,
            per_cpu.iter().map(|d| ns(*d)).collect(),
        ));
    }
    if let Some(o) = ev.outside() {
        out.push(Series::new("outside_cpuset_usage", Unit::Ns, vec![ns(o)]));
    }
    out
}

fn report(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("charged", Align::Right),
        ("spinners' own", Align::Right),
        ("error", Align::Right),
        ("user share", Align::Right),
        ("outside the cpuset", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        if c.summary("usage").is_none() {
            t.unmeasured(vec![c.case.clone()], c);
            continue;
        }
        t.row(vec![
            c.case.clone(),
            value(c, "usage"),
            value(c, "own_cpu_time"),
            value(c, "charge_error_pct"),
            value(c, "user_pct"),
            value(c, "outside_cpuset_usage"),
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "The CPU time charged to a group of spinners (v1 cpuacct.usage, .usage_percpu, .stat; v2 cpu.stat) against their own on-CPU clocks over the same window; the error is absolute (its sign is in the reason); `outside the cpuset` is v1's per-CPU usage on CPUs the group may not use (v2 has no per-CPU file).\n\n{}\n",
        t.render()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn case() -> AcctCase {
        AcctCase {
            id: "t1-cpu1".into(),
            threads: 1,
            cpus: Some(CpuList::new([1])),
            duration: Duration::from_secs(1),
            tolerance_pct: 10.0,
            user_min_pct: 90.0,
        }
    }

    /// One thread on CPU 1 of two: ran `own_ms`, charged `usage_ms` (user
    /// `user_ms`, the rest system), `cpu0_ms` of it on CPU 0.
    fn ev(own_ms: u64, usage_ms: u64, user_ms: u64, cpu0_ms: u64) -> Evidence {
        let d = Duration::from_millis;
        Evidence {
            threads: 1,
            cpus: Some(CpuList::new([1])),
            usable_cpus: 1,
            charged: CpuAcct {
                usage: d(usage_ms),
                user: d(user_ms),
                system: d(usage_ms.saturating_sub(user_ms)),
                per_cpu: Some(vec![d(cpu0_ms), d(usage_ms - cpu0_ms)]),
            },
            own: (d(own_ms), d(own_ms + 1)),
            own_cpus: vec![1],
            wall: d(1000),
            cpu_times: None,
            clocksource: None,
        }
    }

    #[test]
    fn an_honest_charge_passes() {
        let v = verdict(&case(), &ev(990, 1000, 990, 0));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason.contains("per-CPU usage only on the cpuset 1"),
            "{}",
            v.reason
        );
        // The known TCG over-charge of 6.12 (2–6 %) lies within ±10 %.
        let v = verdict(&case(), &ev(940, 1000, 990, 0));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
    }

    #[test]
    fn a_scaled_charge_fails_either_way() {
        // cpuacct.usage*0.8.
        let v = verdict(&case(), &ev(990, 792, 790, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("the kernel charged less than the spinners ran (below 881.0 ms"),
            "{}",
            v.reason
        );
        // cpuacct.usage*1.25.
        let v = verdict(&case(), &ev(990, 1238, 1230, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("the kernel charged more than the spinners ran (above 1100.1 ms"),
            "{}",
            v.reason
        );
        // 5.10 under TCG: +16 … 30 %.
        let v = verdict(&case(), &ev(800, 990, 980, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
    }

    #[test]
    fn a_short_run_has_the_slack() {
        // 100 ms: 8 ms over is within ±10 % and 10 ms.
        let mut e = ev(100, 118, 118, 0);
        e.wall = Duration::from_millis(101);
        assert_eq!(verdict(&case(), &e).status, Status::Pass);
        let mut e = ev(100, 125, 125, 0);
        e.wall = Duration::from_millis(101);
        assert_eq!(verdict(&case(), &e).status, Status::Fail);
    }

    #[test]
    fn a_busy_host_is_inconclusive_but_a_missed_charge_still_fails() {
        let v = verdict(&case(), &ev(80, 85, 85, 0));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason.contains("gave the spinners 8% of the CPU"),
            "{}",
            v.reason
        );
        // Charged nothing (the spinner was never in the group).
        let v = verdict(&case(), &ev(80, 0, 0, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
    }

    #[test]
    fn an_over_charge_while_the_spinner_was_starved_is_inconclusive() {
        // The 6.12 TCG guest beside eight busy loops at ten times the weight:
        // 62.4 ms charged, 32.9 … 42.0 ms seen in 369 ms (10 % given).
        let d = Duration::from_micros;
        let mut e = ev(0, 0, 0, 0);
        e.charged = CpuAcct {
            usage: d(62_400),
            user: d(62_000),
            system: d(400),
            per_cpu: Some(vec![d(0), d(62_400)]),
        };
        e.own = (d(32_900), d(42_000));
        e.wall = d(369_000);
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("contended: the host gave the spinners 10%"),
            "{}",
            v.reason
        );
        // The same excess with the CPU given fails.
        let v = verdict(&case(), &ev(800, 1000, 1000, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
    }

    #[test]
    fn the_user_share_is_judged_over_the_ticks_sampled() {
        // The 5.10 TCG guest under contention: 40 ms user, 10 ms system (4
        // of 5 ticks): 80 %, but 5 ticks cannot show it under 90 %.
        let mut e = ev(50, 50, 40, 0);
        e.wall = Duration::from_millis(60);
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(v.reason.contains("80.0% user time (95% CI"), "{}", v.reason);
        // 800 of 1000 ms user over 100 ticks: clearly under.
        e = ev(1000, 1000, 800, 0);
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("95% CI up to 86.7%"), "{}", v.reason);
        // Without a vDSO clock the spinners make system calls: not judged.
        e.clocksource = Some("hpet".into());
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason.contains("clocksource hpet has no vDSO"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn time_taken_from_under_the_kernel_is_inconclusive_not_a_fault() {
        let d = Duration::from_millis;
        // The 6.12 TCG guest on a busy host: CPU 1 busy 1000 ms by the
        // kernel, all of it charged to the group; the spinner saw 578 ms.
        let mut e = ev(578, 1000, 990, 0);
        e.wall = d(1004);
        e.cpu_times = Some(CpuTimes {
            busy: d(1000),
            idle: d(0),
            steal: d(0),
        });
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("stolen time: the spinners were away 426 ms"),
            "{}",
            v.reason
        );
        // ×1.25 on a quiet host: the charge exceeds what the CPU was busy with.
        let mut e = ev(990, 1238, 1230, 0);
        e.cpu_times = Some(CpuTimes {
            busy: d(1000),
            idle: d(0),
            steal: d(0),
        });
        assert_eq!(verdict(&case(), &e).status, Status::Fail);
        // ×1.25 on a busy host (25 % given): the kernel saw others run in the
        // gaps, so this is not stolen time; but the spinner was switched out
        // so often that the excess cannot be told from the switching cost.
        let mut e = ev(250, 313, 310, 0);
        e.cpu_times = Some(CpuTimes {
            busy: d(1000),
            idle: d(0),
            steal: d(0),
        });
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(v.reason.starts_with("contended:"), "{}", v.reason);
    }

    #[test]
    fn a_charge_on_another_cpu_fails() {
        let v = verdict(&case(), &ev(990, 1000, 990, 5));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("the kernel charged 5.0 ms on CPUs outside the group's cpuset 1"),
            "{}",
            v.reason
        );
        let mut e = ev(990, 1000, 990, 0);
        e.charged.per_cpu = Some(vec![Duration::ZERO, Duration::from_millis(500)]);
        let v = verdict(&case(), &e);
        assert!(
            v.reason
                .starts_with("the per-CPU usage adds up to 500.0 ms"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn user_time_is_required_of_a_user_space_spinner() {
        let v = verdict(&case(), &ev(990, 1000, 500, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("a user-space spinner was charged 50.0% user time"),
            "{}",
            v.reason
        );
        let v = verdict(&case(), &ev(990, 1000, 0, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
    }

    #[test]
    fn v2_says_the_per_cpu_split_is_not_checked() {
        let mut e = ev(990, 1000, 990, 0);
        e.charged.per_cpu = None;
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason.contains("cgroup v2 has no per-CPU usage file"),
            "{}",
            v.reason
        );
        assert!(!series(&e).iter().any(|s| s.metric == "usage_percpu"));
    }

    #[test]
    fn the_default_cases_pin_one_thread_where_there_are_two_cpus() {
        let env = |cpus: &str| PlanEnv {
            quick: false,
            online_cpus: cpus.parse().unwrap(),
        };
        let spec: CpuacctSpec = toml::from_str("").unwrap();
        let ids = |e| {
            Cpuacct::expand(&spec, &e)
                .iter()
                .map(|c| c.id().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(env("0-1")), ["t1-cpu1", "t2"]);
        assert_eq!(ids(env("0")), ["t1", "t2"]);
    }
}
