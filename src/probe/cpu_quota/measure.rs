//! Measuring a `cpu_quota` case: spinners in a cgroup with the quota, each
//! keeping its own record of when it ran; cpu.stat read every millisecond to
//! find the period boundaries; an unlimited reference spinner before and after
//! (what the host could give). The verdict is `judge`'s.

use std::path::Path;
use std::time::{Duration, Instant};

use super::judge::{verdict, window, Evidence, Reading};
use super::{QuotaCase, PROBE};
use crate::cgroup::{Cgroup, Controller, CpuMax, Layout, Scope};
use crate::interrupt;
use crate::ns::now_ns;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::units::{pct, pct_x100 as x100};
use crate::workload::cpuspin::{Spinners, ThreadReport};

use crate::probe::ProbeError;
use crate::units::Unit;

/// How long the unlimited reference spinner runs before and after a case.
const REFERENCE: Duration = Duration::from_millis(300);

/// How often cpu.stat is read while a case runs: to find the period
/// boundaries (nr_periods changing) and the usage in each period.
const POLL: Duration = Duration::from_millis(1);

/// The spinners' reports, or why they gave none.
type Reports = Result<Vec<ThreadReport>, String>;

/// A cpu.stat reading, timed at the middle of the read: the counters are
/// taken somewhere inside the syscall, and on a busy host the harness may wait
/// in it for ms.
fn read(cg: &Cgroup) -> Result<Reading, crate::cgroup::CgroupError> {
    let start_ns = now_ns();
    let stat = cg.cpu_stat()?;
    Ok(Reading {
        at_ns: start_ns + (now_ns().saturating_sub(start_ns)) / 2,
        stat,
    })
}

/// Spins in `cg` for `d`, reading cpu.stat every [`POLL`]; returns the readings
/// (the first just before the spinners start) and the spinners' reports, or why
/// they gave none (a missing report is a failed case, never an empty one).
fn spin_for(
    exe: &Path,
    cg: &Cgroup,
    threads: u32,
    idle: u32,
    d: Duration,
) -> Result<(Vec<Reading>, Reports), ProbeError> {
    let mut s = Spinners::start(exe, cg, threads, idle)?;
    let t = Instant::now();
    let mut readings = vec![read(cg)?];
    s.signal();
    let mut stopped = Ok(());
    while t.elapsed() < d {
        if let Err(e) = interrupt::sleep(POLL) {
            stopped = Err(e);
            break;
        }
        readings.push(read(cg)?);
    }
    let reports = s.stop().and_then(|r| {
        if r.len() == (threads + idle) as usize {
            Ok(r)
        } else {
            Err(format!(
                "{} of {} threads reported",
                r.len(),
                threads + idle
            ))
        }
    });
    stopped?;
    Ok((readings, reports))
}

/// The workers' own on-CPU time between two CLOCK_MONOTONIC times.
fn own_ns(reports: &[ThreadReport], from: u64, to: u64) -> u64 {
    reports.iter().map(|r| r.oncpu_between(from, to)).sum()
}

/// What an unlimited spinner with `threads` threads gets on this host now, % of
/// a CPU by its own clocks; and how much more the kernel counted for it than
/// it saw itself run, % (the control for the accounting cross-check).
fn available(
    scope: &mut Scope,
    exe: &Path,
    name: &str,
    threads: u32,
) -> Result<(f64, f64), ProbeError> {
    let cg = scope.create(name)?;
    let r = spin_for(exe, &cg, threads, 0, REFERENCE);
    scope.remove(&cg)?;
    let (readings, reports) = r?;
    let (Some(first), Some(last), Ok(reports)) = (readings.first(), readings.last(), reports)
    else {
        return Ok((0.0, 0.0));
    };
    let own = own_ns(&reports, first.at_ns, last.at_ns);
    let counted = last.stat.since(&first.stat).usage.as_nanos() as f64;
    let wall = Duration::from_nanos(last.at_ns.saturating_sub(first.at_ns));
    let steal = if own > 0 {
        ((counted - own as f64) / own as f64 * 100.0).max(0.0)
    } else {
        0.0
    };
    Ok((pct(Duration::from_nanos(own), wall), steal))
}

/// PSI `some` stall time of the CPU so far, µs (None without PSI).
fn psi_cpu_total_us() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    text.lines()
        .find(|l| l.starts_with("some "))?
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("total="))?
        .parse()
        .ok()
}

/// Runs one CPU-quota case.
pub fn run_quota(
    scope: &mut Scope,
    layout: &Layout,
    case: &QuotaCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if layout.placement(Controller::Cpu).version.is_none() {
        result.judge(Verdict::skip(layout.absence(Controller::Cpu)));
        return Ok(result.finish());
    }
    let (before, steal_before) =
        available(scope, exe, &format!("quota-{}-ref", case.id), case.threads)?;
    let cg = scope.create(&format!("quota-{}", case.id))?;
    let set = cg.set_cpu_max(&CpuMax {
        quota: Some(case.quota),
        period: case.period,
    });
    let psi0 = psi_cpu_total_us();
    let run = match set {
        Ok(()) => Some(spin_for(
            exe,
            &cg,
            case.threads,
            case.idle_threads,
            case.duration,
        )),
        Err(e) => {
            result.judge(Verdict::fail(format!("set cpu max: {e}")));
            None
        }
    };
    let psi1 = psi_cpu_total_us();
    scope.remove(&cg)?;
    let Some(run) = run else {
        return Ok(result.finish());
    };
    let (readings, reports) = run?;
    let reports = match reports {
        Ok(r) => r,
        Err(e) => {
            result.judge(Verdict::fail(format!("the spinners did not report: {e}")));
            return Ok(result.finish());
        }
    };
    let (after, steal_after) =
        available(scope, exe, &format!("quota-{}-ref", case.id), case.threads)?;
    let w = window(&readings, case.period);
    let own_chunks_pct: Vec<f64> = w
        .chunks
        .iter()
        .map(|c| {
            pct(
                Duration::from_nanos(own_ns(&reports, c.from_ns, c.to_ns)),
                Duration::from_nanos(c.wall_ns()),
            )
        })
        .collect();
    let evidence = Evidence {
        own_ns: own_ns(&reports, w.from_ns, w.to_ns),
        own_chunks_pct,
        available_pct: before.min(after),
        steal_pct: steal_before.max(steal_after),
        window: w,
    };
    let (v, f) = verdict(case, &evidence);
    let w = &evidence.window;
    result.series = vec![
        Series::new("achieved_pct", Unit::PctX100, vec![x100(f.achieved_pct)]),
        Series::new("expected_pct", Unit::PctX100, vec![x100(f.expected_pct)]),
        Series::new("error_pct", Unit::PctX100, vec![x100(f.error_pct.abs())]),
        Series::new("usage", Unit::Ns, vec![w.stat.usage.as_nanos() as u64]),
        Series::new("threads_cpu_time", Unit::Ns, vec![evidence.own_ns]),
        Series::new("periods", Unit::Count, vec![w.stat.nr_periods]),
        Series::new("throttled_periods", Unit::Count, vec![w.stat.nr_throttled]),
        Series::new(
            "throttled_time",
            Unit::Ns,
            vec![w.stat.throttled.as_nanos() as u64],
        ),
        Series::new(
            "available_pct",
            Unit::PctX100,
            vec![x100(before), x100(after)],
        ),
        Series::new("window", Unit::Ns, vec![w.wall().as_nanos() as u64]),
        Series::new(
            "period_usage",
            Unit::Ns,
            w.chunks.iter().filter_map(|c| c.cgroup_usage_ns).collect(),
        ),
        Series::new(
            "own_period_pct",
            Unit::PctX100,
            evidence.own_chunks_pct.iter().map(|&p| x100(p)).collect(),
        ),
        Series::new("cgroup_pct", Unit::PctX100, vec![x100(f.cgroup_pct)]),
        Series::new("tolerance_pct", Unit::PctX100, vec![x100(f.tolerance_pct)]),
        Series::new("steal_pct", Unit::PctX100, vec![x100(evidence.steal_pct)]),
    ];
    if let (Some(a), Some(b)) = (psi0, psi1) {
        result.series.push(Series::new(
            "psi_cpu_some_pct",
            Unit::PctX100,
            vec![x100(
                (b - a) as f64 / w.wall().as_micros().max(1) as f64 * 100.0,
            )],
        ));
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(v);
    Ok(result.finish())
}
