//! Measuring a `cpu_quota` case and judging it: spinners in a cgroup with the
//! quota, cpu.stat read every millisecond to find the period boundaries, an
//! unlimited reference spinner before and after (what the host could give).
//! Also the CPU accounting helpers `cpu_weight` shares.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroup::{Cgroup, Controller, CpuMax, CpuStat, Layout, Scope};
use crate::interrupt;
use super::{QuotaCase, PROBE};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::cpuspin::{Spinners, ThreadReport};

use crate::probe::ProbeError;
use crate::units::Unit;


/// The shortest run a quota verdict is given for: shorter runs span too few
/// periods for a ±5 % judgement.
pub const MIN_JUDGED: Duration = Duration::from_secs(2);

/// How long the unlimited reference spinner runs before and after a case.
const REFERENCE: Duration = Duration::from_millis(300);

/// How often cpu.stat is read while a case runs: to find the period
/// boundaries (nr_periods changing) and the usage in each period.
const POLL: Duration = Duration::from_millis(1);

/// One reading of the counters, with the time it was taken.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub at: Duration,
    pub stat: CpuStat,
}

/// Spins in `cg` for `d`, reading cpu.stat every [`POLL`]; returns the readings
/// (the first just before the spinners start) and the spinners' reports.
fn spin_for(
    exe: &Path,
    cg: &Cgroup,
    threads: u32,
    idle: u32,
    d: Duration,
) -> Result<(Vec<Reading>, Vec<ThreadReport>), ProbeError> {
    let mut s = Spinners::start(exe, cg, threads, idle)?;
    let t = Instant::now();
    let mut readings = vec![Reading {
        at: t.elapsed(),
        stat: cg.cpu_stat()?,
    }];
    s.signal();
    let mut stopped = Ok(());
    while t.elapsed() < d {
        if let Err(e) = interrupt::sleep(POLL) {
            stopped = Err(e);
            break;
        }
        readings.push(Reading {
            at: t.elapsed(),
            stat: cg.cpu_stat()?,
        });
    }
    let reports = s.stop().unwrap_or_default();
    stopped?;
    Ok((readings, reports))
}

/// The counters over whole periods: from the first reading after nr_periods
/// first moved to the first reading after it last moved, so the window starts
/// and ends at a refill of the quota (a window cut anywhere else is off by up
/// to a quota, 5 % of a 2 s run at 100 ms periods). Falls back to the whole run
/// when fewer than two boundaries were seen. Also returns the usage of each
/// stretch between consecutive boundaries.
pub fn period_window(readings: &[Reading]) -> (CpuStat, Duration, Vec<u64>) {
    let edges: Vec<usize> = (1..readings.len())
        .filter(|&i| readings[i].stat.nr_periods != readings[i - 1].stat.nr_periods)
        .collect();
    let (a, b) = match (edges.first(), edges.last()) {
        (Some(&i), Some(&j)) if j > i => (i, j),
        _ => (0, readings.len().saturating_sub(1)),
    };
    let per_period = edges
        .windows(2)
        .filter(|w| readings[w[1]].stat.nr_periods - readings[w[0]].stat.nr_periods == 1)
        .map(|w| {
            readings[w[1]]
                .stat
                .usage
                .saturating_sub(readings[w[0]].stat.usage)
                .as_nanos() as u64
        })
        .collect();
    match (readings.get(a), readings.get(b)) {
        (Some(x), Some(y)) => (
            delta(&x.stat, &y.stat),
            y.at.saturating_sub(x.at),
            per_period,
        ),
        _ => (CpuStat::default(), Duration::ZERO, per_period),
    }
}

pub(crate) fn delta(a: &CpuStat, b: &CpuStat) -> CpuStat {
    CpuStat {
        usage: b.usage.saturating_sub(a.usage),
        nr_periods: b.nr_periods.saturating_sub(a.nr_periods),
        nr_throttled: b.nr_throttled.saturating_sub(a.nr_throttled),
        throttled: b.throttled.saturating_sub(a.throttled),
    }
}

/// CPU share in % of one CPU.
pub(crate) fn pct(usage: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        usage.as_secs_f64() / wall.as_secs_f64() * 100.0
    }
}

/// Percentages are recorded in hundredths of a percent (unit `pct_x100`).
pub(crate) fn x100(p: f64) -> u64 {
    (p.max(0.0) * 100.0).round() as u64
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

/// What a quota case expects, given what the kernel counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaJudgement {
    pub achieved_pct: f64,
    pub expected_pct: f64,
    pub error_pct: f64,
    pub throttled_ratio: f64,
}

/// Expected usage is what the periods that elapsed allow (nr_periods × quota),
/// but never more than the threads can use in the wall time.
pub fn judge_quota(
    stat: &CpuStat,
    wall: Duration,
    quota: Duration,
    threads: u32,
) -> QuotaJudgement {
    let by_periods = quota.as_secs_f64() * stat.nr_periods as f64;
    let by_threads = wall.as_secs_f64() * threads as f64;
    let expected = if stat.nr_periods == 0 {
        by_threads
    } else {
        by_periods.min(by_threads)
    };
    let achieved = stat.usage.as_secs_f64();
    QuotaJudgement {
        achieved_pct: pct(stat.usage, wall),
        expected_pct: if wall.is_zero() {
            0.0
        } else {
            expected / wall.as_secs_f64() * 100.0
        },
        error_pct: if expected > 0.0 {
            (achieved - expected) / expected * 100.0
        } else {
            0.0
        },
        throttled_ratio: if stat.nr_periods == 0 {
            0.0
        } else {
            stat.nr_throttled as f64 / stat.nr_periods as f64
        },
    }
}

/// The verdict of a quota case, from the judgement and the reference spinner.
pub fn quota_verdict(
    case: &QuotaCase,
    j: &QuotaJudgement,
    available_pct: f64,
    nominal_pct: f64,
) -> Verdict {
    let tol = case.tolerance_pct;
    let numbers = format!(
        "achieved {:.2}% of a CPU, expected {:.2}% (nominal {:.1}%), error {:+.2}%, {:.0}% of periods throttled",
        j.achieved_pct,
        j.expected_pct,
        nominal_pct,
        j.error_pct,
        j.throttled_ratio * 100.0
    );
    let allowed = nominal_pct.min(case.threads as f64 * 100.0);
    if available_pct < allowed * (1.0 - tol / 100.0) {
        return Verdict {
            status: crate::record::Status::Inconclusive,
            reason: format!("the host gave an unlimited spinner only {available_pct:.1}% of a CPU, the limit allows {allowed:.1}%: {numbers}"),
        };
    }
    if case.duration < MIN_JUDGED {
        return Verdict {
            status: crate::record::Status::Inconclusive,
            reason: format!(
                "a {} ms run is too short to judge (the tolerance applies from {} s): {numbers}",
                case.duration.as_millis(),
                MIN_JUDGED.as_secs()
            ),
        };
    }
    // The throttling-bug signature: clearly under the quota while most periods were throttled.
    if j.error_pct < -2.0 * tol && j.throttled_ratio > 0.5 {
        return Verdict::fail(format!(
            "throttled while under quota (the signature fixed by de53fd7aedb1): {numbers}"
        ));
    }
    if j.error_pct.abs() <= tol {
        Verdict::pass(format!("{numbers}; within ±{tol}%"))
    } else if case.quota < Duration::from_millis(5) && j.error_pct > 0.0 {
        Verdict::fail(format!("{numbers}; over ±{tol}% — a quota below the 5 ms bandwidth slice over-delivers by up to a slice per CPU"))
    } else {
        Verdict::fail(format!("{numbers}; outside ±{tol}%"))
    }
}

/// What an unlimited spinner with `threads` threads gets on this host now, % of a CPU.
fn available(scope: &mut Scope, exe: &Path, name: &str, threads: u32) -> Result<f64, ProbeError> {
    let cg = scope.create(name)?;
    let r = spin_for(exe, &cg, threads, 0, REFERENCE);
    scope.remove(&cg)?;
    let (readings, _) = r?;
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Ok(0.0);
    };
    Ok(pct(
        last.stat.usage.saturating_sub(first.stat.usage),
        last.at.saturating_sub(first.at),
    ))
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
        result.judge(Verdict::skip("the cpu controller is not available on this host"));
        return Ok(result.finish());
    }
    let before = available(scope, exe, &format!("quota-{}-ref", case.id), case.threads)?;
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
    let Some(run) = run else { return Ok(result.finish()) };
    let (readings, reports) = run?;
    let (stat, wall, per_period) = period_window(&readings);
    let after = available(scope, exe, &format!("quota-{}-ref", case.id), case.threads)?;
    let j = judge_quota(&stat, wall, case.quota, case.threads);
    let nominal = case.quota.as_secs_f64() / case.period.as_secs_f64() * 100.0;
    let own: u64 = reports.iter().map(|r| r.cpu_time_ns).sum();
    // The whole run (not the period-aligned window), to compare with the threads' own clocks.
    let run_usage = match (readings.first(), readings.last()) {
        (Some(a), Some(b)) => b.stat.usage.saturating_sub(a.stat.usage).as_nanos() as u64,
        _ => 0,
    };
    let usage_ns = stat.usage.as_nanos() as u64;
    result.series = vec![
        Series::new("achieved_pct", Unit::PctX100, vec![x100(j.achieved_pct)]),
        Series::new("expected_pct", Unit::PctX100, vec![x100(j.expected_pct)]),
        Series::new("error_pct", Unit::PctX100, vec![x100(j.error_pct.abs())]),
        Series::new("usage", Unit::Ns, vec![usage_ns]),
        Series::new("threads_cpu_time", Unit::Ns, vec![own]),
        Series::new("periods", Unit::Count, vec![stat.nr_periods]),
        Series::new("throttled_periods", Unit::Count, vec![stat.nr_throttled]),
        Series::new(
            "throttled_time",
            Unit::Ns,
            vec![stat.throttled.as_nanos() as u64],
        ),
        Series::new("available_pct", Unit::PctX100, vec![x100(before), x100(after)]),
        Series::new("window", Unit::Ns, vec![wall.as_nanos() as u64]),
        Series::new("period_usage", Unit::Ns, per_period),
    ];
    if let (Some(a), Some(b)) = (psi0, psi1) {
        result.series.push(Series::new(
            "psi_cpu_some_pct",
            Unit::PctX100,
            vec![x100(
                (b - a) as f64 / wall.as_micros().max(1) as f64 * 100.0,
            )],
        ));
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(quota_verdict(case, &j, before.min(after), nominal));
    if own > 0 {
        let diff = (run_usage as f64 - own as f64) / own as f64 * 100.0;
        if let Some(v) = &mut result.verdict {
            v.reason.push_str(&format!(
                "; cgroup usage vs the threads' own CPU time {diff:+.2}%"
            ));
        }
    }
    Ok(result.finish())
}



#[cfg(test)]
mod tests {
    use super::*;

    fn stat(usage_ms: u64, periods: u64, throttled: u64) -> CpuStat {
        CpuStat {
            usage: Duration::from_millis(usage_ms),
            nr_periods: periods,
            nr_throttled: throttled,
            throttled: Duration::ZERO,
        }
    }

    fn case(quota_ms: u64, threads: u32) -> QuotaCase {
        QuotaCase {
            id: "t".into(),
            quota: Duration::from_millis(quota_ms),
            period: Duration::from_millis(100),
            threads,
            idle_threads: 0,
            duration: Duration::from_secs(2),
            tolerance_pct: 5.0,
        }
    }

    #[test]
    fn expected_comes_from_the_periods_that_elapsed() {
        // 20 periods of 25 ms quota over 2 s: 500 ms expected; 510 achieved → +2 %.
        let j = judge_quota(
            &stat(510, 20, 20),
            Duration::from_secs(2),
            Duration::from_millis(25),
            1,
        );
        assert!((j.expected_pct - 25.0).abs() < 1e-9);
        assert!((j.error_pct - 2.0).abs() < 1e-9);
        assert_eq!(
            quota_verdict(&case(25, 1), &j, 99.0, 25.0).status,
            crate::record::Status::Pass
        );
        // A quota above what the threads can use: expected is the threads' wall time.
        let j = judge_quota(
            &stat(1990, 20, 0),
            Duration::from_secs(2),
            Duration::from_millis(150),
            1,
        );
        assert!((j.expected_pct - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_run_is_not_judged() {
        let j = judge_quota(
            &stat(300, 3, 3),
            Duration::from_millis(300),
            Duration::from_millis(100),
            1,
        );
        let mut c = case(100, 1);
        c.duration = Duration::from_millis(300);
        let v = quota_verdict(&c, &j, 99.0, 100.0);
        assert_eq!(v.status, crate::record::Status::Inconclusive);
        assert!(v.reason.contains("too short"), "{}", v.reason);
    }

    #[test]
    fn busy_host_is_inconclusive_and_the_bug_signature_fails() {
        let j = judge_quota(
            &stat(300, 20, 20),
            Duration::from_secs(2),
            Duration::from_millis(50),
            1,
        );
        let v = quota_verdict(&case(50, 1), &j, 30.0, 50.0);
        assert_eq!(
            v.status,
            crate::record::Status::Inconclusive,
            "{}",
            v.reason
        );
        let v = quota_verdict(&case(50, 1), &j, 99.0, 50.0);
        assert_eq!(v.status, crate::record::Status::Fail);
        assert!(
            v.reason.contains("throttled while under quota"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn the_window_runs_from_refill_to_refill() {
        let r = |ms: u64, usage_ms: u64, periods: u64| Reading {
            at: Duration::from_millis(ms),
            stat: stat(usage_ms, periods, periods),
        };
        // The group burns its 25 ms right at the start (a full pool), then 25 ms after each refill.
        let readings = [
            r(0, 0, 0),
            r(20, 25, 0),
            r(101, 26, 1),
            r(140, 51, 1),
            r(201, 51, 2),
            r(240, 76, 2),
            r(301, 76, 3),
            r(330, 90, 3),
        ];
        let (s, wall, per) = period_window(&readings);
        assert_eq!(s.nr_periods, 2);
        assert_eq!(s.usage, Duration::from_millis(50));
        assert_eq!(wall, Duration::from_millis(200));
        assert_eq!(per, vec![25_000_000, 25_000_000]);
        let j = judge_quota(&s, wall, Duration::from_millis(25), 1);
        assert!(j.error_pct.abs() < 1e-9, "{j:?}");
    }

}
