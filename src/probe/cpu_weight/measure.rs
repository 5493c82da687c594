//! Measuring a `cpu_weight` case: sibling groups with different weights, their
//! spinners on the same CPUs, started together; each group's share of the CPU
//! they used against its weight's share.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{WeightCase, PROBE};
use crate::cgroup::{Cgroup, Controller, CpuStat, Layout, Scope};
use crate::interrupt;
use crate::units::{pct, pct_x100 as x100};
use crate::probe::ProbeError;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::workload::cpuspin::Spinners;
use crate::units::Unit;

/// Each group's share of the groups' total CPU, against its weight's share.
pub fn share_errors(usage: &[Duration], weights: &[u64]) -> Vec<(f64, f64, f64)> {
    let total: f64 = usage.iter().map(Duration::as_secs_f64).sum();
    let wsum: u64 = weights.iter().sum();
    usage
        .iter()
        .zip(weights)
        .map(|(u, &w)| {
            let share = if total > 0.0 {
                u.as_secs_f64() / total * 100.0
            } else {
                0.0
            };
            let want = w as f64 / wsum as f64 * 100.0;
            (share, want, (share - want) / want * 100.0)
        })
        .collect()
}

/// Runs one CPU-weight case: sibling groups with different weights, their
/// spinners all on the same CPUs, started together.
pub fn run_weight(
    scope: &mut Scope,
    layout: &Layout,
    case: &WeightCase,
    exe: &Path,
) -> Result<CaseResult, ProbeError> {
    let mut result = Measured::new(PROBE, &case.id, case);
    for c in [Controller::Cpu, Controller::Cpuset] {
        if layout.placement(c).version.is_none() {
            result.judge(                Verdict::skip(format!("the {c} controller is not available on this host")));
            return Ok(result.finish());
        }
    }
    let mut groups = Vec::new();
    let outcome = (|| -> Result<Result<(Vec<Duration>, Duration), String>, ProbeError> {
        for (i, &w) in case.weights.iter().enumerate() {
            let cg = scope.create(&format!("weight-{}-g{i}", case.id))?;
            groups.push(cg.clone());
            if let Err(e) = cg
                .set_cpus(&case.cpus)
                .and_then(|()| cg.set_cpu_weight(w).map(drop))
            {
                return Ok(Err(format!("group {i}: {e}")));
            }
        }
        let mut spinners = Vec::new();
        for cg in &groups {
            spinners.push(Spinners::start(exe, cg, case.threads, 0)?);
        }
        let before: Vec<CpuStat> = groups
            .iter()
            .map(Cgroup::cpu_stat)
            .collect::<Result<_, _>>()?;
        let t = Instant::now();
        for s in &mut spinners {
            s.signal();
        }
        let slept = interrupt::sleep(case.duration);
        let after: Vec<CpuStat> = groups
            .iter()
            .map(Cgroup::cpu_stat)
            .collect::<Result<_, _>>()?;
        let wall = t.elapsed();
        for s in spinners {
            let _ = s.stop();
        }
        slept?;
        Ok(Ok((
            before
                .iter()
                .zip(&after)
                .map(|(a, b)| b.since(a).usage)
                .collect(),
            wall,
        )))
    })();
    for g in groups.iter().rev() {
        scope.remove(g)?;
    }
    let (usage, wall) = match outcome? {
        Ok(x) => x,
        Err(e) => {
            result.judge(Verdict::fail(e));
            return Ok(result.finish());
        }
    };
    let errors = share_errors(&usage, &case.weights);
    let worst = errors.iter().map(|e| e.2.abs()).fold(0.0, f64::max);
    result.series = vec![
        Series::new(
            "share_pct",
            Unit::PctX100,
            errors.iter().map(|e| x100(e.0)).collect(),
        ),
        Series::new(
            "expected_share_pct",
            Unit::PctX100,
            errors.iter().map(|e| x100(e.1)).collect(),
        ),
        Series::new("share_ratio_error_pct", Unit::PctX100, vec![x100(worst)]),
        Series::new(
            "usage",
            Unit::Ns,
            usage.iter().map(|u| u.as_nanos() as u64).collect(),
        ),
    ];
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    let total = pct(usage.iter().sum(), wall);
    let capacity = case.cpus.len() as f64 * 100.0;
    let split: Vec<String> = errors
        .iter()
        .zip(&case.weights)
        .map(|(e, w)| format!("weight {w}: {:.1}% (expected {:.1}%)", e.0, e.1))
        .collect();
    let numbers = format!(
        "{}; worst error {worst:.1}%; the groups used {total:.0}% of {capacity:.0}%",
        split.join(", ")
    );
    result.judge(if total < capacity * 0.5 {
        Verdict {
            status: crate::record::Status::Inconclusive,
            reason: format!("the host left the groups too little CPU to split: {numbers}"),
        }
    } else if worst <= case.tolerance_pct {
        Verdict::pass(format!("{numbers}; within ±{}%", case.tolerance_pct))
    } else {
        Verdict::fail(format!("{numbers}; outside ±{}%", case.tolerance_pct))
    });
    Ok(result.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_against_weights() {
        let e = share_errors(
            &[Duration::from_millis(330), Duration::from_millis(670)],
            &[100, 200],
        );
        assert!((e[0].0 - 33.0).abs() < 1e-9 && (e[0].1 - 100.0 / 3.0).abs() < 1e-9);
        assert!(e[1].2.abs() < 1.0);
    }
}
