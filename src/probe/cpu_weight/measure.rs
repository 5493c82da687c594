//! Measuring a `cpu_weight` case and judging it: sibling groups with different
//! weights, their spinners on the same CPUs, started together. The witness is
//! the spinners' own clocks (their on-CPU stretches, see `workload::cpuspin`):
//! each group's share of the CPU the groups used, per 100 ms slice, against its
//! weight's share, judged with the 95 % confidence interval over the slices.
//! The groups' cpu.stat usage must agree with the spinners' clocks.

use std::path::Path;
use std::time::Duration;

use super::{WeightCase, PROBE};
use crate::cgroup::{Controller, Layout, Scope};
use crate::interrupt;
use crate::ns::now_ns;
use crate::probe::charge::{self, bracketed, ms, own_between, Bracketed, CHARGE_SLACK};
use crate::probe::ProbeError;
use crate::record::{CaseResult, Measured, Series, Summary, Verdict};
use crate::stats::{run_longer, Band, Decision, MeanCi};
use crate::units::{pct_x100 as x100, Unit};
use crate::workload::cpuspin::{Spinners, ThreadReport};

/// The slices each group's share is measured in.
const SLICE_NS: u64 = 100_000_000;

/// One group's share of the CPU the groups used, over the slices, against its
/// weight's share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupShare {
    pub weight: u64,
    /// Its weight's share of the weights, %.
    pub expected_pct: f64,
    /// The mean of its per-slice shares, %, with its 95 % interval; none
    /// without a slice in which the groups ran.
    pub ci: Option<MeanCi>,
}

impl GroupShare {
    /// The measured share, % (0 without a slice).
    pub fn share_pct(&self) -> f64 {
        self.ci.map_or(0.0, |c| c.mean)
    }

    /// (share − expected) / expected, %.
    pub fn error_pct(&self) -> f64 {
        (self.share_pct() - self.expected_pct) / self.expected_pct * 100.0
    }

    /// "25.12% ±0.31" (the interval in percentage points; hundredths, as on
    /// a quiet host the interval is only a few of them wide).
    fn measured(&self) -> String {
        match self.ci {
            Some(c) if c.half_width.is_finite() => {
                format!("{:.2}% ±{:.2}", c.mean, c.half_width)
            }
            Some(c) => format!("{:.2}% (one slice: no interval)", c.mean),
            None => "no slice".into(),
        }
    }
}

/// Each group's share over the slices (`slice_shares[slice][group]`, %)
/// against its weight's share of the weights.
pub fn group_shares(weights: &[u64], slice_shares: &[Vec<f64>]) -> Vec<GroupShare> {
    let wsum: u64 = weights.iter().sum();
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| {
            let shares: Vec<f64> = slice_shares
                .iter()
                .filter_map(|s| s.get(i).copied())
                .collect();
            GroupShare {
                weight,
                expected_pct: weight as f64 / wsum.max(1) as f64 * 100.0,
                ci: MeanCi::of(&shares),
            }
        })
        .collect()
}

/// What a weight case is decided on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Per group, its own on-CPU time over the window (the spinners' clocks).
    pub own: Vec<Duration>,
    /// Per group, cpu.stat usage between its two reads.
    pub cgroup: Vec<Duration>,
    /// Per group, its spinners' own time over the window its cpu.stat usage
    /// covers, as far as the reads pin it down: at least what they ran between
    /// the reads, at most from the start of the first read to the end of the
    /// second. A read is a moment somewhere inside its syscall, and on a busy
    /// host the harness may wait tens of ms in one (a heavy competing cgroup in
    /// the TCG guest: 16 ms of the heavy group's spinning). Empty: `own`, exactly.
    pub charge_own: Vec<(Duration, Duration)>,
    /// Per slice, each group's share of the groups' total, %.
    pub slice_shares: Vec<Vec<f64>>,
    pub wall: Duration,
}

/// The verdict of a weight case.
pub fn verdict(case: &WeightCase, ev: &Evidence) -> Verdict {
    let tol = case.tolerance_pct;
    let shares = group_shares(&case.weights, &ev.slice_shares);
    let total = crate::units::pct(ev.own.iter().sum(), ev.wall);
    let capacity = case.cpus.len() as f64 * 100.0;
    let numbers = format!(
        "{}; the groups used {total:.0}% of {capacity:.0}%",
        split_text(&shares, ev.slice_shares.len())
    );
    if let Some(v) = accounting(ev, tol, &numbers) {
        return v;
    }
    if total < capacity * 0.5 {
        return Verdict::inconclusive(format!(
            "the host left the groups too little CPU to split: {numbers}"
        ));
    }
    split_verdict(&shares, tol, &numbers)
}

/// Every group's share with its interval against its weight's, and the worst error.
fn split_text(shares: &[GroupShare], slices: usize) -> String {
    let each: Vec<String> = shares
        .iter()
        .enumerate()
        .map(|(i, g)| {
            format!(
                "group {i} (weight {}): {} (expected {:.1}%)",
                g.weight,
                g.measured(),
                g.expected_pct
            )
        })
        .collect();
    let worst = shares
        .iter()
        .map(|g| g.error_pct().abs())
        .fold(0.0, f64::max);
    format!(
        "{} by the spinners' own clocks (mean and 95% CI over {slices} slices of {} ms); worst error {worst:.1}%",
        each.join(", "),
        SLICE_NS / 1_000_000
    )
}

/// Each group's cpu.stat against its spinners' own clocks: a group charged
/// less than its spinners ran was missed. The kernel may count the same share
/// more in every group (interrupts handled on the tasks' time, a guest's
/// stolen time: +11 % seen under TCG); what matters for a split is that it
/// charges every group alike. None when the accounting is consistent.
fn accounting(ev: &Evidence, tol: f64, numbers: &str) -> Option<Verdict> {
    // How far a group's charge may be off whatever the share, ms.
    let slack_ms = ms(CHARGE_SLACK);
    // Each group's excess against the middle of what it ran over the window.
    let mid_s: Vec<f64> = (0..ev.own.len())
        .map(|i| match ev.charge_own.get(i) {
            Some(&b) => charge::mid(b).as_secs_f64(),
            None => ev.own[i].as_secs_f64(),
        })
        .collect();
    let excess: Vec<f64> = mid_s
        .iter()
        .zip(&ev.cgroup)
        .map(|(&own_s, cg)| {
            if own_s > 0.0 {
                (cg.as_secs_f64() - own_s) / own_s * 100.0
            } else {
                0.0
            }
        })
        .collect();
    // Per group, its own time (ms) over the charged window: at least, at most.
    let bounds = |i: usize| {
        ev.charge_own
            .get(i)
            .map_or((ms(ev.own[i]), ms(ev.own[i])), |&(lo, hi)| (ms(lo), ms(hi)))
    };
    // How far the charge lies outside what the spinners ran at `rate` % more, ms.
    let off_ms = |i: usize, rate: f64| {
        let (lo, hi) = bounds(i);
        let k = 1.0 + rate / 100.0;
        let cg = ms(ev.cgroup[i]);
        (lo * k - cg).max(cg - hi * k).max(0.0)
    };
    if let Some(i) = (0..ev.own.len().min(ev.cgroup.len())).find(|&i| {
        let (lo, _) = bounds(i);
        let cg = ms(ev.cgroup[i]);
        cg < lo * (1.0 - tol / 100.0) && lo - cg > slack_ms
    }) {
        return Some(Verdict::fail(format!(
            "group {i}'s cpu.stat usage ({:.0} ms) is less than its spinners ran by their own clocks (at least {:.0} ms) between the reads: {numbers}",
            ms(ev.cgroup[i]),
            bounds(i).0
        )));
    }
    let spread = excess.iter().cloned().fold(f64::MIN, f64::max)
        - excess.iter().cloned().fold(f64::MAX, f64::min);
    // Unlike only when no common rate (all groups together, or any one
    // group's) charges every group within the slack.
    let charged_s: f64 = ev.cgroup.iter().map(Duration::as_secs_f64).sum();
    let overall = (charged_s / mid_s.iter().sum::<f64>().max(1e-9) - 1.0) * 100.0;
    let alike = std::iter::once(overall)
        .chain(excess.iter().copied())
        .any(|rate| (0..excess.len()).all(|i| off_ms(i, rate) <= slack_ms));
    if excess.len() > 1 && spread > tol && !alike {
        let each: Vec<String> = excess.iter().map(|e| format!("{e:+.1}%")).collect();
        return Some(Verdict::fail(format!(
            "the kernel charged the groups unlike what their spinners ran ({} against their own clocks): {numbers}",
            each.join(", ")
        )));
    }
    None
}

/// Each group's interval against its expected share ± `tol` %: every one
/// inside passes, any wholly outside fails (each such group named), else the
/// measurement cannot decide and says how long a run would.
fn split_verdict(shares: &[GroupShare], tol: f64, numbers: &str) -> Verdict {
    let mut outside = Vec::new();
    // The undecided group that needs the most slices, and how many.
    let mut undecided: Option<(usize, usize)> = None;
    for (i, g) in shares.iter().enumerate() {
        let Some(ci) = g.ci else {
            return Verdict::fail(format!("no slice to judge group {i} by: {numbers}"));
        };
        match Band::around(g.expected_pct, tol).decide(&ci) {
            Decision::Inside => {}
            Decision::Above | Decision::Below => outside.push(format!(
                "group {i} (weight {}) got {} of the groups' CPU over {} slices, outside {}",
                g.weight,
                g.measured(),
                ci.n,
                band_text(g, tol)
            )),
            Decision::Undecided { n_needed } => {
                if undecided.is_none_or(|(_, n)| n_needed > n) {
                    undecided = Some((i, n_needed));
                }
            }
        }
    }
    if !outside.is_empty() {
        return Verdict::fail(format!("{}: {numbers}", outside.join("; ")));
    }
    match undecided {
        None => Verdict::pass(format!(
            "every group's share lies within ±{tol}% of its weight's: {numbers}"
        )),
        Some((i, n)) => {
            let g = &shares[i];
            Verdict::inconclusive(format!(
                "the measurement cannot decide for group {i} (weight {}): {} against {}, its interval crosses the tolerance: {}; {numbers}",
                g.weight,
                g.measured(),
                band_text(g, tol),
                run_longer(n, Duration::from_nanos(SLICE_NS), Duration::ZERO)
            ))
        }
    }
}

/// "25.0% ±10% (22.5 … 27.5%)".
fn band_text(g: &GroupShare, tol: f64) -> String {
    let b = Band::around(g.expected_pct, tol);
    format!(
        "{:.1}% ±{tol}% ({:.1} … {:.1}%)",
        g.expected_pct, b.lo, b.hi
    )
}

/// Each group's share of the groups' own on-CPU time in every whole slice of
/// `[from, to]`. A slice in which no group ran says nothing about the split
/// and is left out (counted as 0 %, it would pull every share down alike).
fn slice_shares(groups: &[Vec<ThreadReport>], from: u64, to: u64) -> Vec<Vec<f64>> {
    (0..to.saturating_sub(from) / SLICE_NS)
        .filter_map(|k| {
            let (a, b) = (from + k * SLICE_NS, from + (k + 1) * SLICE_NS);
            let per: Vec<u64> = groups
                .iter()
                .map(|g| g.iter().map(|r| r.oncpu_between(a, b)).sum())
                .collect();
            let total: u64 = per.iter().sum();
            (total > 0).then(|| {
                per.iter()
                    .map(|&p| p as f64 / total as f64 * 100.0)
                    .collect()
            })
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
            result.judge(Verdict::skip(layout.absence(c)));
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
        // Each group's cpu.stat, bracketed by the clock.
        let read = || -> Result<Vec<Bracketed<_>>, _> {
            groups
                .iter()
                .map(|cg| bracketed(|| cg.cpu_stat()))
                .collect()
        };
        let before = read()?;
        let slept = interrupt::sleep(case.duration);
        let after = read()?;
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
            own: reports.iter().map(|g| own_between(g, from, to)).collect(),
            cgroup: before
                .iter()
                .zip(&after)
                .map(|(a, b)| b.read.since(&a.read).usage)
                .collect(),
            charge_own: reports
                .iter()
                .zip(before.iter().zip(&after))
                .map(|(g, (a, b))| charge::own_bounds(g, a, b))
                .collect(),
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
    result.series = series(case, &ev);
    result.summaries = result.series.iter().filter_map(Summary::of).collect();
    result.judge(verdict(case, &ev));
    Ok(result.finish())
}

/// What a weight case records: the shares (means over the slices) with their
/// intervals, the expected shares, and both clocks per group.
fn series(case: &WeightCase, ev: &Evidence) -> Vec<Series> {
    let shares = group_shares(&case.weights, &ev.slice_shares);
    let worst = shares
        .iter()
        .map(|g| g.error_pct().abs())
        .fold(0.0, f64::max);
    let per_group = |f: &dyn Fn(&GroupShare) -> f64| shares.iter().map(|g| x100(f(g))).collect();
    let mut out = vec![
        Series::new(
            "share_pct",
            Unit::PctX100,
            per_group(&GroupShare::share_pct),
        ),
        Series::new(
            "expected_share_pct",
            Unit::PctX100,
            per_group(&|g| g.expected_pct),
        ),
        Series::new("share_ratio_error_pct", Unit::PctX100, vec![x100(worst)]),
    ];
    // An interval needs two slices; without one for every group there is none to record.
    let half_widths: Option<Vec<f64>> = shares
        .iter()
        .map(|g| g.ci.map(|c| c.half_width).filter(|h| h.is_finite()))
        .collect();
    if let Some(h) = half_widths {
        out.push(Series::new(
            "share_ci_pct",
            Unit::PctX100,
            h.iter().map(|&h| x100(h)).collect(),
        ));
    }
    out.extend([
        Series::new("slices", Unit::Count, vec![ev.slice_shares.len() as u64]),
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
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    #[test]
    fn a_few_ms_charged_over_a_short_run_is_not_unlike_charging() {
        // The TCG guest, 300 ms: +12.6 ms on 70.8 ms, +14 ms on 229 ms.
        let ms = |v: f64| Duration::from_micros((v * 1000.0) as u64);
        let ev = |own: [f64; 2], cg: [f64; 2]| Evidence {
            own: own.iter().map(|&v| ms(v)).collect(),
            cgroup: cg.iter().map(|&v| ms(v)).collect(),
            ..Evidence::default()
        };
        assert!(accounting(&ev([70.8, 229.0], [83.4, 243.0]), 10.0, "").is_none());
        // Over a second, +20 % on one group and nothing on the other is unlike.
        let v = accounting(&ev([250.0, 750.0], [300.0, 750.0]), 10.0, "").unwrap();
        assert!(v.reason.contains("unlike"), "{}", v.reason);
        // And a group charged 50 ms less than it ran was missed.
        let v = accounting(&ev([250.0, 750.0], [200.0, 750.0]), 10.0, "").unwrap();
        assert!(
            v.reason.contains("less than its spinners ran"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn what_ran_while_the_harness_was_reading_is_not_a_missed_charge() {
        // The TCG guest beside a heavy cgroup: the heavy group's spinners ran
        // 136 ms over the whole window, of which 16 ms while its cpu.stat reads
        // were pending; 120 ms charged.
        let ms = |v: u64| Duration::from_millis(v);
        let mut ev = Evidence {
            own: vec![ms(40), ms(136)],
            cgroup: vec![ms(40), ms(120)],
            charge_own: vec![(ms(39), ms(40)), (ms(120), ms(136))],
            ..Evidence::default()
        };
        assert!(accounting(&ev, 10.0, "").is_none());
        // Less than it ran between the reads, for certain: missed.
        ev.charge_own[1] = (ms(134), ms(136));
        let v = accounting(&ev, 10.0, "").unwrap();
        assert!(
            v.reason.contains(
                "(120 ms) is less than its spinners ran by their own clocks (at least 134 ms)"
            ),
            "{}",
            v.reason
        );
        // Unlike charging is judged against the bounds, too.
        ev.own = vec![ms(250), ms(750)];
        ev.charge_own = vec![(ms(250), ms(250)), (ms(740), ms(750))];
        ev.cgroup = vec![ms(300), ms(745)];
        let v = accounting(&ev, 10.0, "").unwrap();
        assert!(v.reason.contains("unlike"), "{}", v.reason);
    }

    #[test]
    fn shares_are_means_over_the_slices() {
        let g = group_shares(&[100, 300], &[vec![24.0, 76.0], vec![26.0, 74.0]]);
        assert!((g[0].share_pct() - 25.0).abs() < 1e-9 && (g[1].expected_pct - 75.0).abs() < 1e-9);
        assert!(g[0].error_pct().abs() < 1e-9);
        // s = 1.414, t(1) = 12.706: ±12.7 points over two slices.
        assert!((g[0].ci.unwrap().half_width - 12.706).abs() < 1e-3, "{g:?}");
        assert!(group_shares(&[100, 300], &[])[0].ci.is_none());
    }

    #[test]
    fn slices_in_which_no_group_ran_are_left_out() {
        let ran = |stretches: &[(u64, u64)]| ThreadReport {
            oncpu: stretches.to_vec(),
            ..ThreadReport::default()
        };
        // Slice 0: 25 / 75 ms; slice 1: nobody ran; slice 2: 30 / 70 ms.
        let ms = |m: u64| m * 1_000_000;
        let groups = [
            vec![ran(&[(0, ms(25)), (ms(200), ms(230))])],
            vec![ran(&[(ms(25), ms(100)), (ms(230), ms(300))])],
        ];
        let s = slice_shares(&groups, 0, ms(300));
        assert_eq!(s, vec![vec![25.0, 75.0], vec![30.0, 70.0]]);
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
            cgroup: cgroup_ms
                .iter()
                .map(|&m| Duration::from_millis(m))
                .collect(),
            slice_shares: slices.iter().map(|s| s.to_vec()).collect(),
            wall: Duration::from_secs(1),
            charge_own: Vec::new(),
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
        assert!(
            v.reason.contains("less than its spinners ran"),
            "{}",
            v.reason
        );
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

    /// Weights 100 : 300 at ±10 %: group 0 must get 22.5 … 27.5 %, group 1 67.5 … 82.5 %.
    fn judged(slices: &[[f64; 2]]) -> Verdict {
        verdict(&case(), &evidence([250, 750], [250, 750], slices))
    }

    #[test]
    fn a_share_wholly_inside_its_band_passes() {
        // 25.0 ± 0.65 and 75.0 ± 0.65.
        let v = judged(&[[25.0, 75.0], [24.5, 75.5], [25.5, 74.5], [25.0, 75.0]]);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!(
            v.reason.contains("group 0 (weight 100): 25.00% ±0.65"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_share_wholly_above_or_below_its_band_fails_naming_the_group() {
        // Group 0 at 30.0 ± 0.65: wholly above 27.5; group 1 (70 ± 0.65) is inside.
        let v = judged(&[[30.0, 70.0], [29.5, 70.5], [30.5, 69.5], [30.0, 70.0]]);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason.starts_with("group 0 (weight 100) got 30.00% ±0.65 of the groups' CPU over 4 slices, outside 25.0% ±10% (22.5 … 27.5%): "),
            "{}",
            v.reason
        );
        // Group 0 at 20.0 ± 0.65: wholly below 22.5.
        let v = judged(&[[20.0, 80.0], [19.5, 80.5], [20.5, 79.5], [20.0, 80.0]]);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(
            v.reason.contains("group 0 (weight 100) got 20.00% ±0.65"),
            "{}",
            v.reason
        );
        assert!(
            !v.reason.contains("group 1 (weight 300) got"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_share_straddling_its_band_asks_for_a_longer_run() {
        // Group 0 at 27.0 ± 2.9 crosses 27.5: to decide, ±0.5, 33.75 × the 4
        // slices: 136 slices of 100 ms.
        let v = judged(&[[25.0, 75.0], [29.0, 71.0], [26.0, 74.0], [28.0, 72.0]]);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason.starts_with("the measurement cannot decide for group 0 (weight 100): 27.00% ±2.90 against 25.0% ±10% (22.5 … 27.5%)"),
            "{}",
            v.reason
        );
        assert!(v.reason.contains("run longer: 14 s"), "{}", v.reason);
        // One slice has no interval: undecided, never passed.
        let v = judged(&[[25.0, 75.0]]);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(v.reason.contains("no interval"), "{}", v.reason);
    }

    #[test]
    fn the_record_carries_the_shares_and_their_intervals() {
        let ev = evidence([250, 750], [251, 749], &[[24.0, 76.0], [26.0, 74.0]]);
        let s = series(&case(), &ev);
        let values = |m: &str| s.iter().find(|x| x.metric == m).map(|x| x.values.clone());
        assert_eq!(values("share_pct"), Some(vec![2500, 7500]));
        assert_eq!(values("expected_share_pct"), Some(vec![2500, 7500]));
        assert_eq!(values("share_ci_pct"), Some(vec![1271, 1271]));
        assert_eq!(values("slices"), Some(vec![2]));
        // One slice: no interval to record.
        let ev = evidence([250, 750], [251, 749], &[[24.0, 76.0]]);
        assert!(!series(&case(), &ev)
            .iter()
            .any(|x| x.metric == "share_ci_pct"));
    }
}
