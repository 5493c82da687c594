//! `freezer`: how long freezing and thawing a cgroup of busy threads takes
//! (until the kernel reports frozen / thawed), and whether the threads really
//! stop: their own run time (schedstat of every task) must not move while the
//! cgroup is frozen, and must move again after the thaw.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroup::{Controller, CpuMax, Layout, Scope};
use crate::interrupt;
use super::{FreezerCase, PROBE};
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::cgroup_run_time_ns as run_time;

use crate::probe::ProbeError;
use crate::workload::cpuspin::Spinners;
use crate::units::Unit;


/// Time after "frozen" before progress is judged (a task may still finish
/// accounting its last slice; see `run_after_frozen` in cgroup_lifecycle).
const SETTLE: Duration = Duration::from_millis(20);
/// How long a frozen (or thawed) cgroup is watched.
const WATCH: Duration = Duration::from_millis(30);

/// Runs one case.
pub fn run(
    scope: &mut Scope,
    layout: &Layout,
    case: &FreezerCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if layout.placement(Controller::Freezer).version.is_none() {
        result.judge(Verdict::skip("no freezer on this host"));
        return Ok(result.finish());
    }
    if case.quota.is_some() && layout.placement(Controller::Cpu).version.is_none() {
        result.judge(Verdict::skip("the cpu controller is not available on this host"));
        return Ok(result.finish());
    }
    let cg = scope.create(&format!("freezer-{}", case.id))?;
    let mut problems = Vec::new();
    let (mut freeze, mut thaw) = (Vec::new(), Vec::new());
    let outcome = (|| -> Result<(), ProbeError> {
        if let Some(q) = case.quota {
            if let Err(e) = cg.set_cpu_max(&CpuMax {
                quota: Some(q),
                period: Duration::from_millis(100),
            }) {
                problems.push(format!("set cpu max: {e}"));
                return Ok(());
            }
        }
        let mut spinners = Spinners::start(exe, &cg, case.threads, 0)?;
        spinners.signal();
        interrupt::sleep(Duration::from_millis(50))?;
        for r in 0..case.repeat {
            let t = Instant::now();
            if let Err(e) = cg.set_frozen(true) {
                problems.push(format!("cycle {r}: freeze: {e}"));
                break;
            }
            freeze.push(t.elapsed().as_nanos() as u64);
            interrupt::sleep(SETTLE)?;
            let a = run_time(&cg);
            interrupt::sleep(WATCH)?;
            let b = run_time(&cg);
            match (a, b) {
                (Some(a), Some(b)) if b > a => problems.push(format!(
                    "cycle {r}: the frozen threads ran {} µs in {} ms",
                    (b - a) / 1000,
                    WATCH.as_millis()
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
            let a = run_time(&cg);
            interrupt::sleep(
                WATCH
                    + case
                        .quota
                        .map_or(Duration::ZERO, |_| Duration::from_millis(100)),
            )?;
            if run_time(&cg) <= a {
                problems.push(format!(
                    "cycle {r}: the threads did not run again after the thaw"
                ));
            }
        }
        let _ = spinners.stop();
        Ok(())
    })();
    scope.remove(&cg)?;
    outcome?;
    result.series = vec![
        Series::new("freeze_latency", Unit::Ns, freeze),
        Series::new("thaw_latency", Unit::Ns, thaw),
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
    result.judge(if problems.is_empty() {
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
