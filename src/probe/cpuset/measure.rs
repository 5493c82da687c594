//! Measuring a `cpuset` case: every thread of the placement worker samples
//! sched_getcpu() continuously and records each change of CPU with its time;
//! this module changes the cpuset and judges.

use std::path::Path;
use std::time::Duration;

use super::{CpusetCase, PROBE};
use crate::cgroup::{Controller, Layout, Scope};
use crate::cpulist::CpuList;
use crate::interrupt;
use crate::ns::now_ns;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::allowed_cpus;
use crate::workload::cpuspin::{Spinners, ThreadReport};

use crate::probe::ProbeError;
use crate::units::Unit;

/// How long the spinners run on the first set before the first change, and
/// between changes: far longer than a migration takes (µs … ms), so a busy host
/// delaying a thread's next time slice is not mistaken for a cpuset failure.
pub(super) const SETTLE: Duration = Duration::from_millis(200);

/// Samples on allowed CPUs, and all samples.
pub fn on_allowed(reports: &[ThreadReport], allowed: &CpuList) -> (u64, u64) {
    let mut on = 0;
    let mut total = 0;
    for r in reports {
        for &(cpu, n) in &r.per_cpu {
            total += n;
            if allowed.contains(cpu) {
                on += n;
            }
        }
    }
    (on, total)
}

/// Why a cpuset change was not seen to take effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missed {
    /// A thread did not run at all between the change and the next (by its
    /// own clock): the host, not the kernel's cpuset, kept it off the CPUs.
    NotRun(String),
    /// A thread ran but never on the new set, or left it again: a failure.
    Wrong(String),
}

/// For each cpuset change `(time written, new set)` up to `end` (when the
/// threads stopped): how long until every thread had been seen on the new set
/// (0 for a thread already on it); a thread that arrives must stay inside the
/// set until the next change.
pub fn migration_latencies(
    reports: &[ThreadReport],
    changes: &[(u64, CpuList)],
    end: u64,
) -> Vec<Result<u64, Missed>> {
    changes
        .iter()
        .enumerate()
        .map(|(i, (t_w, target))| {
            let next = changes.get(i + 1).map_or(end, |c| c.0);
            let mut worst = 0;
            for (thread, r) in reports.iter().enumerate() {
                let at_write = r
                    .moves
                    .iter()
                    .rev()
                    .find(|(t, _)| t <= t_w)
                    .map(|&(_, c)| c);
                let arrived = if at_write.is_some_and(|c| target.contains(c)) {
                    *t_w
                } else {
                    match r
                        .moves
                        .iter()
                        .find(|(t, c)| t > t_w && *t < next && target.contains(*c))
                    {
                        Some(&(t, _)) => {
                            worst = worst.max(t - t_w);
                            t
                        }
                        None if r.oncpu_between(*t_w, next) == 0 && !r.oncpu.is_empty() => {
                            return Err(Missed::NotRun(format!(
                                "thread {thread} did not run at all between change {i} and the next"
                            )))
                        }
                        None => {
                            return Err(Missed::Wrong(format!(
                                "thread {thread} never ran on CPUs {target} after change {i}"
                            )))
                        }
                    }
                };
                if let Some(&(t, c)) = r
                    .moves
                    .iter()
                    .find(|(t, c)| *t > arrived && *t < next && !target.contains(*c))
                {
                    return Err(Missed::Wrong(format!(
                        "thread {thread} left CPUs {target} for CPU {c} {} µs after change {i}",
                        (t - t_w) / 1000
                    )));
                }
            }
            Ok(worst)
        })
        .collect()
}

/// Runs one case.
pub fn run(
    scope: &mut Scope,
    layout: &Layout,
    case: &CpusetCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    if layout.placement(Controller::Cpuset).version.is_none() {
        result.judge(Verdict::skip(layout.absence(Controller::Cpuset)));
        return Ok(result.finish());
    }
    let cg = scope.create(&format!("cpuset-{}", case.id))?;
    let outcome = measure(&cg, case, exe, &mut result);
    scope.remove(&cg)?;
    if let Err(e) = outcome? {
        result.judge(Verdict::fail(e));
    }
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    Ok(result.finish())
}

/// The measurement; `Ok(Err(reason))` is a failed check.
fn measure(
    cg: &crate::cgroup::Cgroup,
    case: &CpusetCase,
    exe: &Path,
    result: &mut Measured,
) -> Result<Result<(), String>, ProbeError> {
    if let Err(e) = cg.set_cpus(&case.cpus) {
        return Ok(Err(format!("set cpus: {e}")));
    }
    let mut spinners = Spinners::start(exe, cg, case.threads, 0)?;
    let pid = spinners.pid();
    let mut problems = Vec::new();
    // What the kernel says the tasks may use, before they run.
    for &tid in std::iter::once(&pid).chain(&spinners.tids) {
        match allowed_cpus(tid) {
            Some(a) if a == case.cpus => {}
            Some(a) => problems.push(format!(
                "task {tid} has Cpus_allowed_list {a}, cpuset.cpus is {}",
                case.cpus
            )),
            None => problems.push(format!("cannot read Cpus_allowed_list of task {tid}")),
        }
    }
    match cg.effective_cpus() {
        Ok(e) if e == case.cpus => {}
        Ok(e) => problems.push(format!("cpuset effective cpus {e}, wanted {}", case.cpus)),
        Err(e) => problems.push(e.to_string()),
    }
    spinners.signal();
    let start = now_ns();
    let mut changes: Vec<(u64, CpuList)> = Vec::new();
    let slept = match &case.move_to {
        None => interrupt::sleep(case.duration),
        Some(to) => (|| {
            interrupt::sleep(SETTLE)?;
            for r in 0..case.migrations {
                let target = if r % 2 == 0 { to } else { &case.cpus };
                let t = now_ns();
                if let Err(e) = cg.set_cpus(target) {
                    problems.push(format!("change {r} to {target}: {e}"));
                    break;
                }
                changes.push((t, target.clone()));
                interrupt::sleep(SETTLE)?;
            }
            Ok(())
        })(),
    };
    let reports = spinners.stop();
    slept?;
    let end = now_ns();
    let reports = match reports {
        Ok(r) if r.len() == case.threads as usize => r,
        Ok(r) => {
            return Ok(Err(format!(
                "{} of {} spinning threads reported",
                r.len(),
                case.threads
            )))
        }
        Err(e) => return Ok(Err(e)),
    };
    // Every thread must have sampled, unless it never ran (the host's doing).
    let mut not_run = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        if r.per_cpu.is_empty() {
            if r.oncpu_between(start, end) == 0 {
                not_run.push(format!("thread {i} did not run at all"));
            } else {
                problems.push(format!(
                    "thread {i} ran but reported no sched_getcpu() sample"
                ));
            }
        }
    }
    // The placement time series, for charts: (thread, time since start, cpu).
    let moves: Vec<(u64, u64, u64)> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.moves
                .iter()
                .map(move |&(t, c)| (i as u64, t.saturating_sub(start), c as u64))
        })
        .collect();
    match &case.move_to {
        None => {
            let (on, total) = on_allowed(&reports, &case.cpus);
            let pct = (on * 100).checked_div(total).unwrap_or(0);
            result
                .series
                .push(Series::new("on_allowed_pct", Unit::Pct, vec![pct]));
            result
                .series
                .push(Series::new("samples", Unit::Count, vec![total]));
            result
                .series
                .push(Series::new("off_allowed", Unit::Count, vec![total - on]));
            if total == 0 && not_run.is_empty() {
                problems.push("no sched_getcpu() samples".into());
            } else if on < total {
                let off: Vec<String> = reports
                    .iter()
                    .flat_map(|r| {
                        r.per_cpu
                            .iter()
                            .filter(|(c, _)| !case.cpus.contains(*c))
                            .map(|(c, n)| format!("{n} on CPU {c}"))
                    })
                    .collect();
                problems.push(format!(
                    "{} of {total} samples outside CPUs {} ({})",
                    total - on,
                    case.cpus,
                    off.join(", ")
                ));
            }
            if problems.is_empty() && not_run.is_empty() {
                result.judge(Verdict::pass(format!(
                    "{total} sched_getcpu() samples from {} threads, 100% on CPUs {}; Cpus_allowed_list and effective cpus match",
                    case.threads, case.cpus
                )));
            }
        }
        Some(to) => {
            let lat = migration_latencies(&reports, &changes, end);
            let ok: Vec<u64> = lat
                .iter()
                .filter_map(|l| l.as_ref().ok().copied())
                .collect();
            for l in &lat {
                match l {
                    Err(Missed::Wrong(e)) => problems.push(e.clone()),
                    Err(Missed::NotRun(e)) => not_run.push(e.clone()),
                    Ok(_) => {}
                }
            }
            result
                .series
                .push(Series::new("migrate_latency", Unit::Ns, ok.clone()));
            if problems.is_empty() && not_run.is_empty() {
                let s = Summary::of(&Series::new("m", Unit::Ns, ok))
                    .map(|s| (s.p50, s.max))
                    .unwrap_or((0, 0));
                result.judge(Verdict::pass(format!(
                    "{} cpuset changes between {} and {}: every thread ran on the new set after p50 {} µs, max {} µs",
                    changes.len(),
                    case.cpus,
                    to,
                    s.0 / 1000,
                    s.1 / 1000
                )));
            }
        }
    }
    result.series.push(Series::new(
        "trace_thread",
        Unit::Index,
        moves.iter().map(|m| m.0).collect(),
    ));
    result.series.push(Series::new(
        "trace_time",
        Unit::Ns,
        moves.iter().map(|m| m.1).collect(),
    ));
    result.series.push(Series::new(
        "trace_cpu",
        Unit::Cpu,
        moves.iter().map(|m| m.2).collect(),
    ));
    if problems.is_empty() && !not_run.is_empty() {
        result.judge(Verdict::inconclusive(format!(
            "the host kept threads off every CPU, so placement could not be seen: {}",
            not_run.join("; ")
        )));
    }
    Ok(if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(per_cpu: &[(u32, u64)], moves: &[(u64, u32)]) -> ThreadReport {
        ThreadReport {
            per_cpu: per_cpu.to_vec(),
            moves: moves.to_vec(),
            cpu_time_ns: 0,
            oncpu: Vec::new(),
        }
    }

    #[test]
    fn samples_on_allowed_cpus() {
        let r = [thread(&[(0, 90), (1, 10)], &[]), thread(&[(0, 100)], &[])];
        assert_eq!(on_allowed(&r, &"0".parse().unwrap()), (190, 200));
        assert_eq!(on_allowed(&r, &"0-1".parse().unwrap()), (200, 200));
    }

    #[test]
    fn migration_latency_is_the_slowest_thread() {
        let one: CpuList = "1".parse().unwrap();
        let zero: CpuList = "0".parse().unwrap();
        let r = [
            thread(&[], &[(0, 0), (1_050, 1), (2_300, 0)]),
            thread(&[], &[(0, 0), (1_200, 1), (2_100, 0)]),
        ];
        let l = migration_latencies(&r, &[(1_000, one.clone()), (2_000, zero.clone())], 3_000);
        assert_eq!(l, vec![Ok(200), Ok(300)]);
        // A thread already on the target costs nothing; one that never arrives is named.
        let stuck = [thread(&[], &[(0, 0)]), thread(&[], &[(0, 1)])];
        let l = migration_latencies(&stuck, &[(1_000, one.clone())], 3_000);
        assert!(
            matches!(&l[0], Err(Missed::Wrong(e)) if e.contains("thread 0 never ran on CPUs 1"))
        );
        // Arriving and then leaving the set before the next change is a failure.
        let left = [thread(&[], &[(0, 0), (1_050, 1), (1_500, 0)])];
        let l = migration_latencies(&left, &[(1_000, one.clone())], 3_000);
        assert!(
            matches!(&l[0], Err(Missed::Wrong(e)) if e.contains("left CPUs 1")),
            "{l:?}"
        );
        // A thread that did not run at all (by its own clock) is the host's doing.
        let mut idle = thread(&[], &[(0, 0)]);
        idle.oncpu = vec![(0, 900)];
        let l = migration_latencies(&[idle], &[(1_000, one)], 3_000);
        assert!(matches!(&l[0], Err(Missed::NotRun(_))), "{l:?}");
    }
}
