//! Measuring a `cpu_weight` case and judging it: sibling groups with different
//! weights, their spinners on the same CPUs, started together. The witness is
//! the spinners' own clocks (their on-CPU stretches, see `workload::cpuspin`):
//! each group's share of the CPU the groups used, per 100 ms slice, against its
//! weight's share, judged with the 95 % confidence interval over the slices.
//! The groups' cpu.stat usage must agree with the spinners' clocks.

use std::path::Path;
use std::time::Duration;

use super::{WeightCase, PROBE};
use crate::cgroup::{Cgroup, Controller, CpuStat, Layout, Scope};
use crate::interrupt;
use crate::ns::now_ns;
use crate::probe::ProbeError;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::stats::{against, Against, MeanCi};
use crate::units::{pct_x100 as x100, Unit};
use crate::workload::cpuspin::{Spinners, ThreadReport};

/// The slices each group's share is measured in.
const SLICE_NS: u64 = 100_000_000;

/// Each group's share of the groups' total, against its weight's share:
/// (share %, wanted %, relative error %).
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

/// What a weight case is decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Per group, its own on-CPU time over the window (the spinners' clocks).
    pub own: Vec<Duration>,
    /// Per group, cpu.stat usage over the same window.
    pub cgroup: Vec<Duration>,
    /// Per slice, each group's share of the groups' total, %.
    pub slice_shares: Vec<Vec<f64>>,
    pub wall: Duration,
}

/// The verdict of a weight case.
pub fn verdict(case: &WeightCase, ev: &Evidence) -> Verdict {
    let tol = case.tolerance_pct;
    let errors = share_errors(&ev.own, &case.weights);
    let worst = errors.iter().map(|e| e.2.abs()).fold(0.0, f64::max);
    let total = crate::units::pct(ev.own.iter().sum(), ev.wall);
    let capacity = case.cpus.len() as f64 * 100.0;
    let split: Vec<String> = errors
        .iter()
        .zip(&case.weights)
        .map(|(e, w)| format!("weight {w}: {:.1}% (expected {:.1}%)", e.0, e.1))
        .collect();
    let numbers = format!(
        "{} by the spinners' own clocks; worst error {worst:.1}%; the groups used {total:.0}% of {capacity:.0}%",
        split.join(", ")
    );
    // Each group's cpu.stat against its spinners' own clocks: a group charged
    // less than its spinners ran was missed. The kernel may count the same
    // share more in every group (interrupts handled on the tasks' time, a
    // guest's stolen time: +11 % seen under TCG); what matters for a split is
    // that it charges every group alike.
    let excess: Vec<f64> = ev
        .own
        .iter()
        .zip(&ev.cgroup)
        .map(|(own, cg)| {
            let own_s = own.as_secs_f64();
            if own_s > 0.0 {
                (cg.as_secs_f64() - own_s) / own_s * 100.0
            } else {
                0.0
            }
        })
        .collect();
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    if let Some(i) = excess.iter().position(|&e| e < -tol) {
        return Verdict::fail(format!(
            "group {i}'s cpu.stat usage ({:.0} ms) is less than its spinners ran by their own clocks ({:.0} ms) over the same window: {numbers}",
            ms(&ev.cgroup[i]),
            ms(&ev.own[i])
        ));
    }
    let spread = excess.iter().cloned().fold(f64::MIN, f64::max)
        - excess.iter().cloned().fold(f64::MAX, f64::min);
    if excess.len() > 1 && spread > tol {
        let each: Vec<String> = excess.iter().map(|e| format!("{e:+.1}%")).collect();
        return Verdict::fail(format!(
            "the kernel charged the groups unlike what their spinners ran ({} against their own clocks): {numbers}",
            each.join(", ")
        ));
    }
    if total < capacity * 0.5 {
        return Verdict::inconclusive(format!(
            "the host left the groups too little CPU to split: {numbers}"
        ));
    }
    let mut straddles = Vec::new();
    for (i, e) in errors.iter().enumerate() {
        let shares: Vec<f64> = ev.slice_shares.iter().filter_map(|s| s.get(i).copied()).collect();
        let Some(ci) = MeanCi::of(&shares) else {
            return Verdict::fail(format!("no slice to judge group {i} by: {numbers}"));
        };
        let want = e.1;
        match against(&ci, want * (1.0 - tol / 100.0), want * (1.0 + tol / 100.0)) {
            Against::Inside => {}
            Against::Above | Against::Below => {
                return Verdict::fail(format!(
                    "weight {}: {:.1}% ± {:.1} of the CPU over {} slices, expected {want:.1}% ± {tol}%: {numbers}",
                    case.weights[i], ci.mean, ci.half_width, ci.n
                ))
            }
            Against::Straddles => straddles.push((i, ci, want)),
        }
    }
    match straddles.first() {
        None => Verdict::pass(format!("{numbers}; within ±{tol}%")),
        Some((i, ci, want)) => {
            let margin = (ci.mean - want).abs().max(want * tol / 100.0 / 4.0);
            let secs = ci.n_for(margin) as f64 * SLICE_NS as f64 / 1e9;
            Verdict::inconclusive(format!(
                "the measurement cannot decide for weight {} ({:.1}% ± {:.1}, expected {want:.1}% ± {tol}%): run longer: {:.0} s; {numbers}",
                case.weights[*i],
                ci.mean,
                ci.half_width,
                secs.ceil()
            ))
        }
    }
}

/// Each group's share of the groups' own on-CPU time in every whole slice of `[from, to]`.
fn slice_shares(groups: &[Vec<ThreadReport>], from: u64, to: u64) -> Vec<Vec<f64>> {
    (0..to.saturating_sub(from) / SLICE_NS)
        .map(|k| {
            let (a, b) = (from + k * SLICE_NS, from + (k + 1) * SLICE_NS);
            let per: Vec<u64> = groups
                .iter()
                .map(|g| g.iter().map(|r| r.oncpu_between(a, b)).sum())
                .collect();
            let total: u64 = per.iter().sum();
            per.iter()
                .map(|&p| {
                    if total == 0 {
                        0.0
                    } else {
                        p as f64 / total as f64 * 100.0
                    }
                })
                .collect()
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
            result.judge(Verdict::skip(format!(
                "the {c} controller is not available on this host"
            )));
            return Ok(result.finish());
        }
    }
    let mut groups = Vec::new();
    let outcome = (|| -> Result<Result<Evidence, String>, ProbeError> {
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
        for s in &mut spinners {
            s.signal();
        }
        let from = now_ns();
        let before: Vec<CpuStat> = groups
            .iter()
            .map(Cgroup::cpu_stat)
            .collect::<Result<_, _>>()?;
        let slept = interrupt::sleep(case.duration);
        let after: Vec<CpuStat> = groups
            .iter()
            .map(Cgroup::cpu_stat)
            .collect::<Result<_, _>>()?;
        let to = now_ns();
        let mut reports = Vec::new();
        for (i, s) in spinners.into_iter().enumerate() {
            match s.stop() {
                Ok(r) if r.len() == case.threads as usize => reports.push(r),
                Ok(r) => {
                    return Ok(Err(format!(
                        "group {i}: {} of {} spinning threads reported",
                        r.len(),
                        case.threads
                    )))
                }
                Err(e) => return Ok(Err(format!("group {i}: the spinners did not report: {e}"))),
            }
        }
        slept?;
        Ok(Ok(Evidence {
            own: reports
                .iter()
                .map(|g| Duration::from_nanos(g.iter().map(|r| r.oncpu_between(from, to)).sum()))
                .collect(),
            cgroup: before.iter().zip(&after).map(|(a, b)| b.since(a).usage).collect(),
            slice_shares: slice_shares(&reports, from, to),
            wall: Duration::from_nanos(to.saturating_sub(from)),
        }))
    })();
    for g in groups.iter().rev() {
        scope.remove(g)?;
    }
    let ev = match outcome? {
        Ok(x) => x,
        Err(e) => {
            result.judge(Verdict::fail(e));
            return Ok(result.finish());
        }
    };
    let errors = share_errors(&ev.own, &case.weights);
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
            ev.cgroup.iter().map(|u| u.as_nanos() as u64).collect(),
        ),
        Series::new(
            "own_cpu_time",
            Unit::Ns,
            ev.own.iter().map(|u| u.as_nanos() as u64).collect(),
        ),
    ];
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(verdict(case, &ev));
    Ok(result.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    #[test]
    fn shares_against_weights() {
        let e = share_errors(
            &[Duration::from_millis(250), Duration::from_millis(750)],
            &[100, 300],
        );
        assert!((e[0].0 - 25.0).abs() < 1e-9 && (e[1].1 - 75.0).abs() < 1e-9);
        assert!(e[0].2.abs() < 1e-9);
    }

    fn case() -> WeightCase {
        WeightCase {
            id: "w100-300".into(),
            weights: vec![100, 300],
            cpus: "0".parse().unwrap(),
            threads: 1,
            duration: Duration::from_secs(1),
            tolerance_pct: 10.0,
        }
    }

    fn evidence(own_ms: [u64; 2], cgroup_ms: [u64; 2], slices: &[[f64; 2]]) -> Evidence {
        Evidence {
            own: own_ms.iter().map(|&m| Duration::from_millis(m)).collect(),
            cgroup: cgroup_ms.iter().map(|&m| Duration::from_millis(m)).collect(),
            slice_shares: slices.iter().map(|s| s.to_vec()).collect(),
            wall: Duration::from_secs(1),
        }
    }

    #[test]
    fn weights_honoured_pass_ignored_fail() {
        let good = [[25.0, 75.0], [24.5, 75.5], [25.5, 74.5], [25.0, 75.0]];
        let v = verdict(&case(), &evidence([250, 750], [251, 749], &good));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        // Weights ignored: an even split.
        let even = [[50.0, 50.0], [49.0, 51.0], [51.0, 49.0], [50.0, 50.0]];
        let v = verdict(&case(), &evidence([500, 500], [500, 500], &even));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        // The spinners were never in the groups: the groups counted nothing.
        let v = verdict(&case(), &evidence([500, 500], [0, 0], &even));
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("less than its spinners ran"), "{}", v.reason);
        // Every group charged 11 % more than its spinners saw (a TCG guest): fine.
        let v = verdict(&case(), &evidence([250, 750], [278, 833], &good));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        // One group charged 30 % more than the other, relative to what they ran.
        let v = verdict(&case(), &evidence([250, 750], [325, 750], &good));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        // A busy host left them little.
        let v = verdict(&case(), &evidence([100, 300], [100, 300], &good));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
    }
}
