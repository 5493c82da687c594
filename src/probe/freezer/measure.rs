//! `freezer`: how long freezing and thawing a cgroup of busy threads takes
//! (until the kernel reports frozen / thawed), and whether the threads really
//! stop: their own run time (schedstat of every task) must not move while the
//! cgroup is frozen, and must move again after the thaw.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{FreezerCase, PROBE};
use crate::cgroup::{Controller, CpuMax, Layout, Scope};
use crate::interrupt;
use crate::ns::now_ns;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::{cgroup_ran_within, cgroup_run_time_ns as run_time};

use crate::probe::ProbeError;
use crate::units::Unit;
use crate::workload::cpuspin::Spinners;

/// Time after "frozen" before progress is judged (a task may still finish
/// accounting its last slice; see `run_after_frozen` in cgroup_lifecycle).
const SETTLE: Duration = Duration::from_millis(20);
/// How long a frozen (or thawed) cgroup is watched, without a quota.
const WATCH: Duration = Duration::from_millis(30);

/// The CFS period the quota cases use.
const PERIOD: Duration = Duration::from_millis(100);

/// Time the spinners get to start before the positive control.
const START: Duration = Duration::from_millis(50);

/// How long a frozen (or thawed) cgroup of `case` is watched: under a quota,
/// "no progress" and "runs again" need a whole throttled stretch.
fn watch(case: &FreezerCase) -> Duration {
    CpuMax {
        quota: case.quota,
        period: PERIOD,
    }
    .watch_at_least(WATCH)
}

/// What `case` sleeps by design (the start, the positive control, and per
/// cycle the settling and two watches): a lower bound of its length, for the
/// time-left estimate.
pub fn slept(case: &FreezerCase) -> Duration {
    START + watch(case) + (SETTLE + 2 * watch(case)) * case.repeat
}

/// Runs one case.
pub fn run(
    scope: &mut Scope,
    layout: &Layout,
    case: &FreezerCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if layout.placement(Controller::Freezer).version.is_none() {
        result.judge(Verdict::skip(layout.absence(Controller::Freezer)));
        return Ok(result.finish());
    }
    if case.quota.is_some() && layout.placement(Controller::Cpu).version.is_none() {
        result.judge(Verdict::skip(layout.absence(Controller::Cpu)));
        return Ok(result.finish());
    }
    let cg = scope.create(&format!("freezer-{}", case.id))?;
    let mut problems = Vec::new();
    let (mut freeze, mut thaw) = (Vec::new(), Vec::new());
    // CLOCK_MONOTONIC spans watched frozen and thawed, for the threads' own clocks.
    let (mut frozen, mut thawed) = (Vec::new(), Vec::new());
    let mut not_running = false;
    let outcome = (|| -> Result<(), ProbeError> {
        if let Some(q) = case.quota {
            if let Err(e) = cg.set_cpu_max(&CpuMax {
                quota: Some(q),
                period: PERIOD,
            }) {
                problems.push(format!("set cpu max: {e}"));
                return Ok(());
            }
        }
        let watch = watch(case);
        let mut spinners = Spinners::start(exe, &cg, case.threads, 0)?;
        // Dropped before the spinners: an interrupt while frozen must thaw
        // before they are killed and reaped.
        let _thaw = cg.thaw_on_drop();
        spinners.signal();
        interrupt::sleep(START)?;
        // The positive control: the threads run before anything is frozen, by
        // the scheduler's count and (checked after the run) their own clocks.
        // (Watched in steps up to a second: before the first freeze and after
        // each thaw a healthy thread may wait its turn on a busy host.)
        let (ran, control) = cgroup_ran_within(&cg, watch, interrupt::sleep)?;
        match ran {
            Some(true) => {}
            Some(false) => not_running = true,
            None => problems.push("cannot read the tasks' schedstat before the freeze".into()),
        }
        for r in 0..case.repeat {
            let t = Instant::now();
            if let Err(e) = cg.set_frozen(true) {
                problems.push(format!("cycle {r}: freeze: {e}"));
                break;
            }
            freeze.push(t.elapsed().as_nanos() as u64);
            interrupt::sleep(SETTLE)?;
            let a = run_time(&cg);
            let t0 = now_ns();
            interrupt::sleep(watch)?;
            frozen.push((t0, now_ns()));
            let b = run_time(&cg);
            match (a, b) {
                (Some(a), Some(b)) if b > a => problems.push(format!(
                    "cycle {r}: the frozen threads ran {} µs in {} ms",
                    (b - a) / 1000,
                    watch.as_millis()
                )),
                (Some(_), Some(_)) => {}
                _ => problems.push(format!("cycle {r}: cannot read the tasks' schedstat")),
            }
            let t = Instant::now();
            if let Err(e) = cg.set_frozen(false) {
                problems.push(format!("cycle {r}: thaw: {e}"));
                break;
            }
            thaw.push(t.elapsed().as_nanos() as u64);
            let (ran, span) = cgroup_ran_within(&cg, watch, interrupt::sleep)?;
            thawed.push(span);
            if ran != Some(true) {
                problems.push(format!(
                    "cycle {r}: the threads did not run again in the {} ms after the thaw",
                    (span.1 - span.0) / 1_000_000
                ));
            }
        }
        match spinners.stop() {
            Ok(reports) if reports.len() == case.threads as usize => {
                let own = |(a, b): (u64, u64)| -> u64 {
                    reports.iter().map(|r| r.oncpu_between(a, b)).sum()
                };
                if own(control) == 0 {
                    not_running = true;
                }
                for (r, &w) in frozen.iter().enumerate() {
                    if own(w) > 0 {
                        problems.push(format!(
                            "cycle {r}: by their own clocks the frozen threads ran {} µs",
                            own(w) / 1000
                        ));
                    }
                }
                for (r, &w) in thawed.iter().enumerate() {
                    if own(w) == 0 {
                        problems.push(format!(
                            "cycle {r}: by their own clocks the threads did not run after the thaw"
                        ));
                    }
                }
            }
            Ok(reports) => problems.push(format!(
                "{} of {} spinning threads reported",
                reports.len(),
                case.threads
            )),
            Err(e) => problems.push(format!("the spinners did not report: {e}")),
        }
        Ok(())
    })();
    scope.remove(&cg)?;
    outcome?;
    // A v2 freeze is timed to the kernel's notification on cgroup.events; a v1
    // freezer has none and is polled: its latencies are good to this resolution.
    let resolution = match layout.placement(Controller::Freezer).version {
        Some(crate::cgroup::Version::V1) => crate::cgroup::V1_POLL.as_nanos() as u64,
        _ => 0,
    };
    result.series = vec![
        Series::new("freeze_latency", Unit::Ns, freeze),
        Series::new("thaw_latency", Unit::Ns, thaw),
        Series::new("wait_resolution", Unit::Ns, vec![resolution]),
    ];
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    let p = |m: &str| {
        result
            .summaries
            .iter()
            .find(|s| s.metric == m)
            .map_or((0, 0), |s| (s.p50, s.max))
    };
    let (f, t) = (p("freeze_latency"), p("thaw_latency"));
    result.judge(if problems.is_empty() && not_running {
        Verdict::inconclusive(format!(
            "the threads did not run before the freeze (the host kept them off the CPUs), so 'no progress while frozen' could not be seen; {} cycles",
            case.repeat
        ))
    } else if problems.is_empty() {
        Verdict::pass(format!(
            "{} freeze/thaw cycles of {} spinning threads{}: no progress while frozen, running again after each thaw; freeze p50 {} µs (max {} µs), thaw p50 {} µs (max {} µs)",
            case.repeat,
            case.threads,
            case.quota.map_or(String::new(), |q| format!(" under a {} ms / 100 ms quota", q.as_millis())),
            f.0 / 1000,
            f.1 / 1000,
            t.0 / 1000,
            t.1 / 1000
        ))
    } else {
        Verdict::fail(problems.join("; "))
    });
    Ok(result.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_length_is_what_a_case_sleeps() {
        let ms = Duration::from_millis;
        let case = |quota| FreezerCase {
            id: "t2".into(),
            threads: 2,
            repeat: 5,
            quota,
        };
        // Start, control, and per cycle the settling and a frozen and a thawed watch.
        assert_eq!(slept(&case(None)), ms(50 + 30 + 5 * (20 + 2 * 30)));
        // Under a 20 ms quota a watch is a whole period and the quota.
        assert_eq!(
            slept(&case(Some(ms(20)))),
            ms(50 + 120 + 5 * (20 + 2 * 120))
        );
    }
}
