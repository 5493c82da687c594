//! `perf_event`: does perf's cgroup mode count exactly the cgroup's tasks? A
//! spinner runs inside a cgroup under a CPU quota and another, unlimited,
//! outside it (a sibling cgroup) on the same CPUs, while a software cpu-clock
//! counter per CPU counts the inside cgroup (`perf_event_open` with
//! PERF_FLAG_PID_CGROUP, see `cgroup::perf` for why cpu-clock). The count must
//! match the inside spinner's own clock (its on-CPU stretches) and the
//! cgroup's CPU usage within ±`tolerance_pct` (plus [`CHARGE_SLACK`]), and
//! must leave the outside spinner out. Whether the machine has a hardware PMU
//! is reported (a VM often has none), never judged; where it has one, the
//! cgroup's instructions are counted and recorded too.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::charge::{self, bracketed, mid, ms, own_bounds};
use super::{Case, Ctx, Group, HostFacts, PlanEnv, Probe, ProbeError, Readiness};
use crate::cgroup::perf::{self, CgroupCounters, Event, Reading};
use crate::cgroup::{Cgroup, CgroupError, Controller, CpuMax, CpuStat, Scope};
use crate::cpulist::CpuList;
use crate::host::CpuTimes;
use crate::interrupt;
use crate::markdown::{value, verdict_word, Align, Table};
use crate::ns::now_ns;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::spec::{Checked, HostLimits, Keys};
use crate::units::{pct_x100 as x100, Unit};
use crate::workload::cpuspin::{Spinners, ThreadReport};

pub use super::charge::CHARGE_SLACK;

/// The probe.
pub struct PerfEvent;

/// The quota's period.
const PERIOD: Duration = Duration::from_millis(100);

/// The `perf_event` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerfSpec {
    /// The inside cgroup's CPU quota, % of one CPU (period 100 ms).
    #[serde(default = "default_quota")]
    pub quota_pct: u32,
    #[serde(default = "default_duration_ms")]
    pub duration_ms: u64,
    /// Allowed |counted − own| / own, % (plus [`CHARGE_SLACK`]).
    #[serde(default = "default_tolerance")]
    pub tolerance_pct: f64,
}

fn default_quota() -> u32 {
    50
}
fn default_duration_ms() -> u64 {
    1500
}
fn default_tolerance() -> f64 {
    10.0
}

/// The one perf_event case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfCase {
    /// `q<quota_pct>`.
    pub id: String,
    pub quota_pct: u32,
    pub duration: Duration,
    pub tolerance_pct: f64,
}

impl Probe for PerfEvent {
    const ID: &'static str = "perf_event";
    const TITLE: &'static str = "perf_event cgroup mode";
    const GROUP: Group = Group::Fidelity;
    type Section = PerfSpec;

    fn validate(s: &PerfSpec, _host: &HostLimits) -> Checked {
        let k = Keys::new(Self::ID);
        k.range_says(
            "quota_pct",
            s.quota_pct,
            10..=90,
            "a quota of 10 … 90 % of one CPU leaves the outside spinner room on the same CPU",
        )?;
        k.range("duration_ms", s.duration_ms, 300..=600_000)?;
        k.tolerance_pct("tolerance_pct", s.tolerance_pct, 100.0)
    }

    fn expand(s: &PerfSpec, env: &PlanEnv) -> Vec<Box<dyn Case>> {
        super::boxed(vec![PerfCase {
            id: format!("q{}", s.quota_pct),
            quota_pct: s.quota_pct,
            duration: env.millis(s.duration_ms, 500),
            tolerance_pct: s.tolerance_pct,
        }])
    }

    fn readiness(host: &HostFacts) -> Readiness {
        let r = host.cgroups(host.controller(Controller::PerfEvent));
        let paranoid = match perf::paranoid() {
            Some(p) => format!("perf_event_paranoid {p} (root, CAP_PERFMON, passes it)"),
            None => {
                return Readiness::new(
                    false,
                    "the kernel has no perf events (no /proc/sys/kernel/perf_event_paranoid)",
                )
            }
        };
        r.and(Readiness::new(
            true,
            format!("{paranoid}; {}", pmu_text(&perf::hardware_pmu())),
        ))
    }

    fn report(cases: &[&CaseResult]) -> String {
        report(cases)
    }
}

impl Case for PerfCase {
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

/// "hardware PMU: none …" / "hardware PMU present".
fn pmu_text(pmu: &Result<bool, nix::errno::Errno>) -> String {
    match pmu {
        Ok(true) => "hardware PMU present (instructions counted too)".into(),
        Ok(false) => "no hardware PMU (a VM without a virtual one): software cpu-clock only".into(),
        Err(e) => format!("hardware PMU unknown (an instructions counter was refused: {e})"),
    }
}

/// What a perf_event case is judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// cpu-clock counted for the inside cgroup between the reads, per CPU.
    pub counted: Vec<Reading>,
    /// The inside cgroup's CPU usage (cpu.stat / cpuacct.usage) between the reads.
    pub usage: Duration,
    /// The inside and outside spinners' own on-CPU time over the window, at
    /// least (between the reads) and at most (around them).
    pub inside: (Duration, Duration),
    pub outside: (Duration, Duration),
    pub wall: Duration,
    pub quota_pct: u32,
    /// Instructions counted for the inside cgroup; `None` without a PMU.
    pub instructions: Option<u64>,
    /// Whether there is a hardware PMU, as [`perf::hardware_pmu`] said.
    pub pmu: Result<bool, nix::errno::Errno>,
    /// The outside cgroup's CPU usage between the reads.
    pub outside_usage: Duration,
    /// How many CPUs the spinners shared, and where their time went as the
    /// kernel saw it (/proc/stat; `None` where it could not be read).
    pub cpus: u32,
    pub cpu_times: Option<CpuTimes>,
}

impl Evidence {
    pub fn counted_total(&self) -> Duration {
        Duration::from_nanos(self.counted.iter().map(|r| r.value).sum())
    }

    /// Time the spinners saw themselves away from their CPUs that the kernel
    /// saw neither idle nor used by anything but the two cgroups, and charged
    /// as theirs (see [`charge::unseen`]).
    pub fn unseen(&self) -> Option<Duration> {
        charge::unseen(
            self.cpu_times,
            self.usage + self.outside_usage,
            self.inside.0 + self.outside.0,
            self.wall * self.cpus.max(1),
        )
    }
}

/// The verdict of a perf_event case.
pub fn verdict(case: &PerfCase, ev: &Evidence) -> Verdict {
    let tol = case.tolerance_pct;
    let k = tol / 100.0;
    let slack = CHARGE_SLACK.as_secs_f64();
    let counted = ev.counted_total();
    let (c, u) = (counted.as_secs_f64(), ev.usage.as_secs_f64());
    let both = mid(ev.inside) + mid(ev.outside);
    let numbers = format!(
        "cpu-clock counted {:.1} ms for the cgroup; its spinner ran {:.1} … {:.1} ms by its own clock under a {}% quota, the outside spinner {:.1} … {:.1} ms, in {:.0} ms; the cgroup's CPU usage {:.1} ms; counted/(inside+outside) {:.0}%; {}",
        ms(counted),
        ms(ev.inside.0),
        ms(ev.inside.1),
        ev.quota_pct,
        ms(ev.outside.0),
        ms(ev.outside.1),
        ms(ev.wall),
        ms(ev.usage),
        if both.is_zero() { 0.0 } else { c / both.as_secs_f64() * 100.0 },
        match ev.instructions {
            Some(n) => format!("{} ({n} instructions counted)", pmu_text(&ev.pmu)),
            None => pmu_text(&ev.pmu),
        }
    );
    let floor = ev.inside.0.as_secs_f64() * (1.0 - k) - slack;
    if c < floor {
        return Verdict::fail(format!(
            "perf counted less than the cgroup's spinner ran (below {:.1} ms: −{tol}% and {} ms): {numbers}",
            floor * 1e3,
            CHARGE_SLACK.as_millis()
        ));
    }
    let quota_s = ev.wall.as_secs_f64() * f64::from(ev.quota_pct) / 100.0;
    if mid(ev.inside).as_secs_f64() < quota_s * 0.5 {
        return Verdict::inconclusive(format!(
            "the host gave the cgroup's spinner under half its quota ({:.1} of {:.1} ms): too busy to judge: {numbers}",
            ms(mid(ev.inside)),
            quota_s * 1e3
        ));
    }
    if mid(ev.outside).as_secs_f64() < ev.wall.as_secs_f64() * 0.1 {
        return Verdict::inconclusive(format!(
            "the outside spinner ran under 10% of the window: nothing to show the count leaves out: {numbers}"
        ));
    }
    let ceiling = ev.inside.1.as_secs_f64() * (1.0 + k) + slack;
    let agrees_with_usage = (c - u).abs() <= u * k + slack;
    if c > ceiling && agrees_with_usage {
        let excess = c - ev.inside.1.as_secs_f64();
        if let Some(unseen) = ev
            .unseen()
            .filter(|u| excess <= u.as_secs_f64() * (1.0 + k) + slack)
        {
            return Verdict::inconclusive(format!(
                "stolen time: the spinners were away {:.0} ms that the kernel saw neither idle nor used by others (the CPU was taken from under it without steal accounting, as a QEMU TCG guest on a busy host is), and counted them as the cgroups': the count cannot be judged against the spinner: {numbers}",
                ms(unseen)
            ));
        }
        // perf and the cgroup's usage both run on the scheduler's clock: when
        // they agree and both exceed the spinner's own, the kernel charged
        // the cgroup time its task did not see itself run (a TCG guest of
        // 5.10 does: the README's "Compare kernels"), not someone else's.
        return Verdict::fail(format!(
            "the kernel counted more than the cgroup's spinner ran by its own clock, perf and the cgroup's usage alike (above {:.1} ms: +{tol}% and {} ms): {numbers}",
            ceiling * 1e3,
            CHARGE_SLACK.as_millis()
        ));
    }
    if c > ceiling {
        return Verdict::fail(format!(
            "perf counted more than the cgroup's spinner ran (above {:.1} ms: +{tol}% and {} ms), so not only the cgroup's tasks: {numbers}",
            ceiling * 1e3,
            CHARGE_SLACK.as_millis()
        ));
    }
    if !agrees_with_usage {
        return Verdict::fail(format!(
            "perf's count and the cgroup's CPU usage disagree by more than ±{tol}% and {} ms: {numbers}",
            CHARGE_SLACK.as_millis()
        ));
    }
    Verdict::pass(format!(
        "perf counted the cgroup's tasks only, within ±{tol}% (and {} ms) of its spinner's own clock and of the cgroup's usage: {numbers}",
        CHARGE_SLACK.as_millis()
    ))
}

/// The counters' and the usage's values, read together between two clock reads.
struct Values {
    clock: Vec<Reading>,
    instructions: Option<Vec<Reading>>,
    stat: CpuStat,
    outside: CpuStat,
    cpu_times: Option<CpuTimes>,
}

enum Failure {
    Cgroup(CgroupError),
    Perf(perf::PerfError),
}

fn values(
    (cg, outside, cpus): (&Cgroup, &Cgroup, &CpuList),
    clock: &CgroupCounters,
    instr: Option<&CgroupCounters>,
) -> Result<Values, Failure> {
    let c = clock.read().map_err(Failure::Perf)?;
    let i = instr
        .map(CgroupCounters::read)
        .transpose()
        .map_err(Failure::Perf)?;
    let stat = cg.cpu_stat().map_err(Failure::Cgroup)?;
    let out = outside.cpu_stat().map_err(Failure::Cgroup)?;
    Ok(Values {
        clock: c,
        instructions: i,
        stat,
        outside: out,
        cpu_times: crate::host::cpu_times(cpus),
    })
}

/// A perf_event_open refusal that says the host cannot run the probe (not
/// privileged, no such event or no cgroup mode) is a skip; any other a fail.
fn perf_verdict(e: &perf::PerfError) -> Verdict {
    use nix::errno::Errno;
    match e.errno() {
        Errno::EACCES | Errno::EPERM | Errno::ENOENT | Errno::EOPNOTSUPP | Errno::ENOSYS => {
            Verdict::skip(format!("perf_event cgroup mode is not available here: {e}"))
        }
        _ => Verdict::fail(e.to_string()),
    }
}

fn run(case: &PerfCase, scope: &mut Scope, exe: &Path) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PerfEvent::ID, &case.id, case);
    let inside = scope.create(&format!("perf-{}-in", case.id))?;
    let outside = scope.create(&format!("perf-{}-out", case.id))?;
    let outcome = measure(case, &inside, &outside, exe);
    scope.remove(&outside)?;
    scope.remove(&inside)?;
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

fn measure(
    case: &PerfCase,
    inside: &Cgroup,
    outside: &Cgroup,
    exe: &Path,
) -> Result<Result<Evidence, Verdict>, ProbeError> {
    for c in [Controller::PerfEvent, Controller::Cpu, Controller::Cpuacct] {
        if !inside.has(c) {
            return Ok(Err(Verdict::skip(format!(
                "the {c} controller is not available on this host"
            ))));
        }
    }
    let online = crate::host::online_cpus();
    // Both spinners on one CPU, where a cpuset allows it: the quota then
    // leaves the outside spinner the rest of that CPU, and every other
    // CPU's counter must stay near 0.
    let mut shared = online.clone();
    if inside.has(Controller::Cpuset) && online.len() >= 2 {
        shared = CpuList::new(online.iter().last());
        for cg in [inside, outside] {
            if let Err(e) = cg.set_cpus(&shared) {
                return Ok(Err(Verdict::fail(format!("set cpuset.cpus: {e}"))));
            }
        }
    }
    let quota = PERIOD * case.quota_pct / 100;
    if let Err(e) = inside.set_cpu_max(&CpuMax {
        quota: Some(quota),
        period: PERIOD,
    }) {
        return Ok(Err(Verdict::fail(format!("set the quota: {e}"))));
    }
    let dir = inside.dir(Controller::PerfEvent)?.path.clone();
    let clock = match CgroupCounters::open(&dir, &online, Event::CpuClock) {
        Ok(c) => c,
        Err(e) => return Ok(Err(perf_verdict(&e))),
    };
    let pmu = perf::hardware_pmu();
    let instr = match pmu {
        Ok(true) => CgroupCounters::open(&dir, &online, Event::Instructions).ok(),
        _ => None,
    };
    let mut sp_in = Spinners::start(exe, inside, 1, 0)?;
    let mut sp_out = Spinners::start(exe, outside, 1, 0)?;
    sp_in.signal();
    sp_out.signal();
    let from = now_ns();
    let read = || bracketed(|| values((inside, outside, &shared), &clock, instr.as_ref()));
    let before = read();
    let slept = interrupt::sleep(case.duration);
    let after = read();
    let to = now_ns();
    let (r_in, r_out) = (sp_in.stop(), sp_out.stop());
    slept?;
    let (before, after) = match (before, after) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(Failure::Cgroup(e)), _) | (_, Err(Failure::Cgroup(e))) => return Err(e.into()),
        (Err(Failure::Perf(e)), _) | (_, Err(Failure::Perf(e))) => {
            return Ok(Err(Verdict::fail(e.to_string())))
        }
    };
    let (r_in, r_out) = match (r_in, r_out) {
        (Ok(a), Ok(b)) if a.len() == 1 && b.len() == 1 => (a, b),
        _ => return Ok(Err(Verdict::fail("a spinner did not report"))),
    };
    let window = |r: &[ThreadReport]| own_bounds(r, &before, &after);
    let (was, now) = (&before.read, &after.read);
    Ok(Ok(Evidence {
        counted: perf::since(&now.clock, &was.clock),
        usage: now.stat.since(&was.stat).usage,
        inside: window(&r_in),
        outside: window(&r_out),
        wall: Duration::from_nanos(to.saturating_sub(from)),
        quota_pct: case.quota_pct,
        instructions: match (&now.instructions, &was.instructions) {
            (Some(a), Some(b)) => Some(perf::since(a, b).iter().map(|r| r.value).sum()),
            _ => None,
        },
        pmu,
        outside_usage: now.outside.since(&was.outside).usage,
        cpus: shared.len() as u32,
        cpu_times: charge::cpu_times_since(was.cpu_times, now.cpu_times),
    }))
}

/// What a case records.
fn series(ev: &Evidence) -> Vec<Series> {
    let ns = |d: Duration| d.as_nanos() as u64;
    let own = mid(ev.inside).as_secs_f64();
    let err = if own > 0.0 {
        (ev.counted_total().as_secs_f64() - own) / own * 100.0
    } else {
        0.0
    };
    let mut out = vec![
        Series::new("counted", Unit::Ns, vec![ns(ev.counted_total())]),
        Series::new(
            "counted_percpu",
            Unit::Ns,
            ev.counted.iter().map(|r| r.value).collect(),
        ),
        Series::new("usage", Unit::Ns, vec![ns(ev.usage)]),
        Series::new("inside_own_cpu_time", Unit::Ns, vec![ns(mid(ev.inside))]),
        Series::new("outside_own_cpu_time", Unit::Ns, vec![ns(mid(ev.outside))]),
        Series::new("count_error_pct", Unit::PctX100, vec![x100(err.abs())]),
        Series::new(
            "hardware_pmu",
            Unit::Count,
            vec![u64::from(ev.pmu == Ok(true))],
        ),
    ];
    if let Some(n) = ev.instructions {
        out.push(Series::new("instructions", Unit::Count, vec![n]));
    }
    out
}

fn report(cases: &[&CaseResult]) -> String {
    let mut t = Table::new([
        ("case", Align::Left),
        ("counted", Align::Right),
        ("inside spinner", Align::Right),
        ("cgroup usage", Align::Right),
        ("outside spinner", Align::Right),
        ("error", Align::Right),
        ("hardware PMU", Align::Right),
        ("verdict", Align::Left),
    ]);
    for c in cases {
        if c.summary("counted").is_none() {
            t.unmeasured(vec![c.case.clone()], c);
            continue;
        }
        t.row(vec![
            c.case.clone(),
            value(c, "counted"),
            value(c, "inside_own_cpu_time"),
            value(c, "usage"),
            value(c, "outside_own_cpu_time"),
            value(c, "count_error_pct"),
            match c.values("hardware_pmu").first() {
                Some(1) => "yes".into(),
                Some(_) => "none".into(),
                None => "—".into(),
            },
            verdict_word(c.verdict.status),
        ]);
    }
    format!(
        "A software cpu-clock counter per CPU in perf's cgroup mode counts a cgroup whose spinner runs under a quota, while an unlimited spinner runs outside it on the same CPU; the count is compared with the inside spinner's own clock and the cgroup's CPU usage (the error is absolute, its sign in the reason).\n\n{}\n",
        t.render()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn case() -> PerfCase {
        PerfCase {
            id: "q50".into(),
            quota_pct: 50,
            duration: Duration::from_millis(1500),
            tolerance_pct: 10.0,
        }
    }

    /// Counted `counted_ms` on CPU 1; the inside spinner ran `in_ms`, the outside `out_ms`.
    fn ev(counted_ms: u64, usage_ms: u64, in_ms: u64, out_ms: u64) -> Evidence {
        let d = Duration::from_millis;
        let r = |cpu, ms: u64| Reading {
            cpu,
            value: ms * 1_000_000,
            enabled_ns: 1_500_000_000,
            running_ns: 1_500_000_000,
        };
        Evidence {
            counted: vec![r(0, 0), r(1, counted_ms)],
            usage: d(usage_ms),
            inside: (d(in_ms), d(in_ms + 1)),
            outside: (d(out_ms), d(out_ms + 1)),
            wall: d(1500),
            quota_pct: 50,
            instructions: None,
            pmu: Ok(false),
            outside_usage: d(out_ms),
            cpus: 1,
            cpu_times: None,
        }
    }

    #[test]
    fn counting_the_cgroup_only_passes() {
        let v = verdict(&case(), &ev(752, 751, 748, 745));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason.contains("counted/(inside+outside) 50%"),
            "{}",
            v.reason
        );
        assert!(v.reason.contains("no hardware PMU"), "{}", v.reason);
    }

    #[test]
    fn a_spinner_left_outside_the_cgroup_fails() {
        // cgroup.procs ignored: the cgroup is empty, perf counts nothing.
        let v = verdict(&case(), &ev(0, 0, 1490, 0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("perf counted less than the cgroup's spinner ran"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn counting_the_outside_spinner_fails() {
        let v = verdict(&case(), &ev(1497, 751, 748, 745));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason.contains("so not only the cgroup's tasks"),
            "{}",
            v.reason
        );
        assert!(
            v.reason.contains("counted/(inside+outside) 100%"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_kernel_clock_ahead_of_the_spinner_is_said_so() {
        // The 5.10 TCG guest: perf 756.7 ms, usage 761.2 ms, the spinner 423.3 ms.
        let mut e = ev(757, 761, 423, 451);
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason.starts_with("the kernel counted more than the cgroup's spinner ran by its own clock, perf and the cgroup's usage alike"),
            "{}",
            v.reason
        );
        // …unless the kernel saw the CPU busy with the two cgroups alone: the
        // time the spinners missed was taken from under it.
        e.outside_usage = Duration::from_millis(760);
        e.cpu_times = Some(CpuTimes {
            busy: Duration::from_millis(1525),
            idle: Duration::ZERO,
            steal: Duration::ZERO,
        });
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason.starts_with("stolen time: the spinners were away"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn perf_and_the_usage_must_agree() {
        let v = verdict(&case(), &ev(752, 600, 748, 745));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason
                .starts_with("perf's count and the cgroup's CPU usage disagree"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_busy_host_or_an_idle_outside_is_inconclusive() {
        let v = verdict(&case(), &ev(300, 300, 300, 700));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        let v = verdict(&case(), &ev(752, 751, 748, 20));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason.contains("the outside spinner ran under 10%"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn the_pmu_is_reported_not_judged() {
        let mut e = ev(752, 751, 748, 745);
        e.pmu = Ok(true);
        e.instructions = Some(123);
        let v = verdict(&case(), &e);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason.contains("(123 instructions counted)"),
            "{}",
            v.reason
        );
        assert_eq!(
            series(&e)
                .iter()
                .find(|s| s.metric == "hardware_pmu")
                .unwrap()
                .values,
            [1]
        );
    }
}
