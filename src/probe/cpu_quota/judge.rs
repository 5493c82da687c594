//! Judging a `cpu_quota` case — pure functions over what was measured.
//!
//! The witness is the workers' own clocks: every spinner records when it was on
//! a CPU (CLOCK_MONOTONIC reads, see `workload::cpuspin`), so the CPU a quota
//! delivered is known without the kernel's cgroup accounting under test. The
//! window is cut at the kernel's period boundaries (where `nr_periods` moved, so
//! it starts and ends at a refill of the quota), and split into single periods:
//! the delivered share is the mean over those periods, with its 95 % confidence
//! interval. The kernel's counters confirm and are checked, never the only
//! witness:
//! - `nr_periods` must match the window (one per period), and not be 0 under a quota;
//! - cpu.stat usage over the same window must agree with the workers' own clocks.
//!
//! The order of the checks matters: over-delivery is judged before the
//! contention gate (a busy host cannot make a group get *more* CPU), and a
//! shortfall is blamed on the kernel only when the host could give the CPU.

use std::time::Duration;

use super::QuotaCase;
use crate::cgroup::CpuStat;
use crate::record::Verdict;
use crate::stats::{against, Against, MeanCi};
use crate::units::{human_u64, Unit};

/// The shortest run judged at the case's tolerance: shorter runs span too few
/// periods, and are judged at a tolerance widened by √(2 s / run), stated.
pub const MIN_JUDGED: Duration = Duration::from_secs(2);

/// The widest tolerance a scenario may ask for: wider would accept a quota that
/// is not there (±100 % accepts 0 CPU).
pub const MAX_TOLERANCE_PCT: f64 = 50.0;

/// One reading of the counters and its CLOCK_MONOTONIC time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub at_ns: u64,
    pub stat: CpuStat,
}

/// One period of the window: its time span and the usage cpu.stat counted in it
/// (none where the window is not cut at the kernel's boundaries).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chunk {
    pub from_ns: u64,
    pub to_ns: u64,
    pub cgroup_usage_ns: Option<u64>,
}

impl Chunk {
    pub fn wall_ns(&self) -> u64 {
        self.to_ns.saturating_sub(self.from_ns)
    }
}

/// The measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub from_ns: u64,
    pub to_ns: u64,
    /// cpu.stat over the window.
    pub stat: CpuStat,
    pub chunks: Vec<Chunk>,
    /// Whether the window is cut at the kernel's period boundaries.
    pub at_boundaries: bool,
}

impl Window {
    pub fn wall(&self) -> Duration {
        Duration::from_nanos(self.to_ns.saturating_sub(self.from_ns))
    }
}

/// The window over whole periods: from the first reading after nr_periods first
/// moved to the first reading after it last moved, so it starts and ends at a
/// refill of the quota, with one chunk per single period between. Without two
/// boundaries (no quota in force), the whole run, in chunks of one `period`.
pub fn window(readings: &[Reading], period: Duration) -> Window {
    let edges: Vec<usize> = (1..readings.len())
        .filter(|&i| readings[i].stat.nr_periods != readings[i - 1].stat.nr_periods)
        .collect();
    if let (Some(&a), Some(&b)) = (edges.first(), edges.last()) {
        if b > a {
            let chunks = edges
                .windows(2)
                .filter(|w| readings[w[1]].stat.nr_periods - readings[w[0]].stat.nr_periods == 1)
                .map(|w| Chunk {
                    from_ns: readings[w[0]].at_ns,
                    to_ns: readings[w[1]].at_ns,
                    cgroup_usage_ns: Some(
                        readings[w[1]]
                            .stat
                            .usage
                            .saturating_sub(readings[w[0]].stat.usage)
                            .as_nanos() as u64,
                    ),
                })
                .collect();
            return Window {
                from_ns: readings[a].at_ns,
                to_ns: readings[b].at_ns,
                stat: readings[b].stat.since(&readings[a].stat),
                chunks,
                at_boundaries: true,
            };
        }
    }
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Window {
            from_ns: 0,
            to_ns: 0,
            stat: CpuStat::default(),
            chunks: Vec::new(),
            at_boundaries: false,
        };
    };
    let p = (period.as_nanos() as u64).max(1);
    let n = last.at_ns.saturating_sub(first.at_ns) / p;
    Window {
        from_ns: first.at_ns,
        to_ns: last.at_ns,
        stat: last.stat.since(&first.stat),
        chunks: (0..n)
            .map(|i| Chunk {
                from_ns: first.at_ns + i * p,
                to_ns: first.at_ns + (i + 1) * p,
                cgroup_usage_ns: None,
            })
            .collect(),
        at_boundaries: false,
    }
}

/// Everything a quota verdict is decided on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub window: Window,
    /// The workers' own on-CPU time in the window, ns.
    pub own_ns: u64,
    /// The workers' own on-CPU time per chunk, % of one CPU.
    pub own_chunks_pct: Vec<f64>,
    /// What an unlimited spinner with the same threads got on this host around
    /// the case (its own clock), % of one CPU.
    pub available_pct: f64,
    /// How much more CPU the kernel counted for that unlimited spinner than it
    /// saw itself run, % (0 on a quiet host; in a guest whose vCPUs the host
    /// preempts, the stolen time): the control for the accounting cross-check.
    pub steal_pct: f64,
}

/// The figures a verdict states (and the case records).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Delivered, by the workers' own clocks, % of one CPU.
    pub achieved_pct: f64,
    /// quota / period, capped by what the threads can use, % of one CPU.
    pub expected_pct: f64,
    /// (achieved − expected) / expected, %.
    pub error_pct: f64,
    /// cpu.stat usage over the same window, % of one CPU.
    pub cgroup_pct: f64,
    /// The tolerance applied (the case's, widened for a short run).
    pub tolerance_pct: f64,
}

fn pct_of(ns: u64, wall: Duration) -> f64 {
    crate::units::pct(Duration::from_nanos(ns), wall)
}

/// What the quota allows the case's threads, % of one CPU.
pub fn expected_pct(case: &QuotaCase) -> f64 {
    let nominal = case.quota.as_secs_f64() / case.period.as_secs_f64() * 100.0;
    nominal.min(case.threads as f64 * 100.0)
}

/// The tolerance a run of `duration` is judged at: the case's, widened by
/// √(MIN_JUDGED / duration) below [`MIN_JUDGED`], never above [`MAX_TOLERANCE_PCT`].
pub fn tolerance_pct(case: &QuotaCase) -> f64 {
    let base = case.tolerance_pct.min(MAX_TOLERANCE_PCT);
    if case.duration >= MIN_JUDGED || case.duration.is_zero() {
        base
    } else {
        (base * (MIN_JUDGED.as_secs_f64() / case.duration.as_secs_f64()).sqrt())
            .min(MAX_TOLERANCE_PCT)
    }
}

/// The verdict of a quota case, and the figures it states.
pub fn verdict(case: &QuotaCase, ev: &Evidence) -> (Verdict, Figures) {
    let w = &ev.window;
    let wall = w.wall();
    let expected = expected_pct(case);
    let tol = tolerance_pct(case);
    // The witness, calibrated on this host: the unlimited reference shows how
    // much more the kernel counts than a spinner sees itself run (interrupts
    // handled on its time, a guest's stolen time); 0 on a quiet bare host.
    let cal = 1.0 + ev.steal_pct.max(0.0) / 100.0;
    let calibrated: Vec<f64> = ev.own_chunks_pct.iter().map(|p| p * cal).collect();
    let ci = MeanCi::of(&calibrated);
    let seen = pct_of(ev.own_ns, wall);
    let achieved = seen * cal;
    let figures = Figures {
        achieved_pct: ci.map_or(achieved, |c| c.mean),
        expected_pct: expected,
        error_pct: ci.map_or(0.0, |c| (c.mean - expected) / expected * 100.0),
        cgroup_pct: pct_of(w.stat.usage.as_nanos() as u64, wall),
        tolerance_pct: tol,
    };
    let f = &figures;
    let period = case.period;
    let periods_in_window = wall.as_secs_f64() / period.as_secs_f64();
    let ci_text = ci.map_or(String::new(), |c| {
        format!(" (95% CI ±{:.2} points over {} periods)", c.half_width, c.n)
    });
    let calibration = if cal > 1.0005 {
        format!(
            " (×{cal:.3}: the kernel counted {:.1}% more than an unlimited spinner saw itself run)",
            ev.steal_pct
        )
    } else {
        String::new()
    };
    let numbers = format!(
        "the workers ran {:.2}% of a CPU by their own clocks{calibration}{ci_text}, quota {} / {} allows {expected:.2}% (error {:+.2}%, tolerance ±{tol:.1}%{}); cpu.stat: {:.2}% usage, {} periods ({} throttled) in a {} window",
        f.achieved_pct,
        human_u64(case.quota.as_nanos() as u64, &Unit::Ns),
        human_u64(period.as_nanos() as u64, &Unit::Ns),
        f.error_pct,
        if tol > case.tolerance_pct.min(MAX_TOLERANCE_PCT) {
            format!(", widened for a {} ms run", case.duration.as_millis())
        } else {
            String::new()
        },
        f.cgroup_pct,
        w.stat.nr_periods,
        w.stat.nr_throttled,
        human_u64(wall.as_nanos() as u64, &Unit::Ns),
    );
    let Some(ci) = ci else {
        return (
            Verdict::fail(format!(
                "no whole period to judge: the workers reported no on-CPU time in the window, or the run was shorter than a period; {numbers}"
            )),
            figures,
        );
    };
    // One period has no interval: its point decides. A quota that let the
    // workers run 84 % in its one period (their cgroup.procs write ignored,
    // cpu.stat 0 %) has failed, and must not read "inconclusive: ±inf".
    let ci = if ci.half_width.is_finite() {
        ci
    } else {
        MeanCi {
            half_width: 0.0,
            ..ci
        }
    };
    // The kernel's own counters, checked: a quota in force counts its periods.
    if !w.stat.has_periods {
        return (
            Verdict::fail(format!(
                "cpu.stat reports no nr_periods: the kernel gives no CFS bandwidth statistics for the cgroup; {numbers}"
            )),
            figures,
        );
    }
    if w.stat.nr_periods == 0 {
        return (
            Verdict::fail(format!(
                "the quota was not applied: no CFS period elapsed (nr_periods 0) while the workers ran; {numbers}"
            )),
            figures,
        );
    }
    if (w.stat.nr_periods as f64 - periods_in_window).abs() > 1.0 + 0.02 * periods_in_window {
        return (
            Verdict::fail(format!(
                "nr_periods {} disagrees with a {} window of {:.1} periods of {}; {numbers}",
                w.stat.nr_periods,
                human_u64(wall.as_nanos() as u64, &Unit::Ns),
                periods_in_window,
                human_u64(period.as_nanos() as u64, &Unit::Ns)
            )),
            figures,
        );
    }
    // The kernel's accounting must agree with the workers' own (calibrated)
    // clocks over the same window: counting less than they ran, the cgroup
    // missed them; counting more, it charged time nobody ran.
    let band = (
        expected * (1.0 - tol / 100.0),
        expected * (1.0 + tol / 100.0),
    );
    let host_busy = ev.available_pct < band.0;
    // Stolen time is charged to the group (its quota runs out on time nobody
    // ran), so it explains the workers seeing less, never the kernel's own
    // count falling short: a 5.10 TCG guest stealing 30 % counted 20.0 % of a
    // 25 % quota, and the workers' calibrated clocks saw 21.1 %.
    let short_on_its_books = f.cgroup_pct < band.0;
    // Beyond the tolerance and beyond the measurement's own uncertainty: over
    // two periods of a 300 ms run (--quick) the per-period interval is tens of
    // points wide, and a TCG guest's 4.7-point gap there (23.76% counted, 19.04%
    // seen) was noise, not the kernel charging time nobody ran.
    let disagrees = achieved > 0.0
        && ((f.cgroup_pct - achieved) / achieved * 100.0).abs() > tol
        && (f.cgroup_pct - achieved).abs() > ci.half_width;
    let stolen = ev.steal_pct > tol && (disagrees || !short_on_its_books);
    let accounting = format!(
        "the cgroup's accounting disagrees with the workers' own clocks: cpu.stat usage {:.2}% of a CPU against {achieved:.2}% by the workers over the same window",
        f.cgroup_pct
    );
    if disagrees && f.cgroup_pct < seen {
        return (Verdict::fail(format!("{accounting}; {numbers}")), figures);
    }
    // The workers' clocks uncalibrated: stolen time only makes them read low,
    // so above the band they prove over-delivery whatever the calibration.
    let raw_above = MeanCi::of(&ev.own_chunks_pct)
        .is_some_and(|r| against(&r, band.0, band.1) == Against::Above);
    let verdict = match against(&ci, band.0, band.1) {
        // A busy host cannot give a group more than its quota: judged first,
        // unless the calibration itself is in doubt (a TCG guest beside a busy
        // host once counted 13× what a spinner saw, and ×13 made 17 % read 223 %).
        Against::Above if !stolen || raw_above => {
            Verdict::fail(format!("delivered more than the quota: {numbers}"))
        }
        Against::Inside if !disagrees => {
            Verdict::pass(format!("delivered the quota: {numbers}"))
        }
        _ if host_busy => Verdict::inconclusive(format!(
            "the host gave an unlimited spinner only {:.1}% of a CPU, the quota allows {expected:.1}%: the neighbours were measured, not the limit; {numbers}",
            ev.available_pct
        )),
        _ if stolen => Verdict::inconclusive(format!(
            "the kernel counted {:.1}% more CPU than an unlimited spinner saw itself run (time stolen by the host): the host was measured, not the limit; {numbers}",
            ev.steal_pct
        )),
        _ if disagrees => Verdict::fail(format!("{accounting}; {numbers}")),
        Against::Inside => Verdict::pass(format!("delivered the quota: {numbers}")),
        Against::Below => {
            // The de53fd7aedb1 signature: periods throttled although the group
            // used well under its quota in them.
            let quota_ns = case.quota.as_nanos() as f64;
            let starved = w
                .chunks
                .iter()
                .filter_map(|c| c.cgroup_usage_ns)
                .filter(|&u| (u as f64) < 0.8 * quota_ns)
                .count();
            let signature = w.stat.nr_throttled > 0 && starved * 2 > w.chunks.len();
            Verdict::fail(if signature {
                format!(
                    "throttled while under quota (the signature fixed by de53fd7aedb1: {starved} of {} periods used under 80% of the quota, {} throttled): {numbers}",
                    w.chunks.len(),
                    w.stat.nr_throttled
                )
            } else {
                let books = if ev.steal_pct > tol {
                    format!(
                        ", and the kernel's own count is short too ({:.2}%: the host's stolen time would have been charged to the group, not missing from it)",
                        f.cgroup_pct
                    )
                } else {
                    String::new()
                };
                format!("delivered less than the quota although the host had the CPU ({:.1}% for an unlimited spinner){books}: {numbers}", ev.available_pct)
            })
        }
        // Above with the calibration in doubt is caught by `stolen` before here.
        Against::Straddles | Against::Above => {
            let margin = (ci.mean - band.0).abs().min((band.1 - ci.mean).abs()).max(1e-9);
            Verdict::inconclusive(format!(
                "the measurement cannot decide (its interval crosses the tolerance): {}; {numbers}",
                crate::stats::run_longer(ci.n_for(margin), period, Duration::ZERO)
            ))
        }
    };
    (verdict, figures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn stat(usage_ms: u64, periods: u64, throttled: u64) -> CpuStat {
        CpuStat {
            usage: Duration::from_millis(usage_ms),
            nr_periods: periods,
            nr_throttled: throttled,
            throttled: Duration::ZERO,
            has_periods: true,
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

    const MS: u64 = 1_000_000;

    /// A window of `n` periods in which the cgroup counted `cgroup_ms` a period
    /// and the workers' own clocks `own` (ms) in each period.
    fn evidence(n: u64, cgroup_ms: u64, own: &[f64], available_pct: f64) -> Evidence {
        let chunks: Vec<Chunk> = (0..n)
            .map(|i| Chunk {
                from_ns: i * 100 * MS,
                to_ns: (i + 1) * 100 * MS,
                cgroup_usage_ns: Some(cgroup_ms * MS),
            })
            .collect();
        let own_chunks_pct: Vec<f64> = (0..n as usize).map(|i| own[i % own.len()]).collect();
        let own_ns = (own_chunks_pct.iter().sum::<f64>() * MS as f64) as u64;
        Evidence {
            window: Window {
                from_ns: 0,
                to_ns: n * 100 * MS,
                stat: stat(cgroup_ms * n, n, n),
                chunks,
                at_boundaries: true,
            },
            own_ns,
            own_chunks_pct,
            available_pct,
            steal_pct: 0.0,
        }
    }

    #[test]
    fn a_wild_calibration_cannot_make_over_delivery() {
        // Seen 17 % a period, but the reference says the kernel counts 13×.
        let mut ev = evidence(9, 25, &[17.0, 17.5], 99.0);
        ev.steal_pct = 1200.0;
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        // Seen 30 % a period by the raw clocks: over-delivery, calibration or not.
        let mut ev = evidence(20, 30, &[30.0, 30.1], 99.0);
        ev.steal_pct = 40.0;
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
    }

    #[test]
    fn stolen_time_cannot_explain_a_short_count_on_the_kernels_books() {
        // As in the 5.10 TCG guest: 30 % stolen, the cgroup counted 20 % of a
        // 25 % quota, the workers saw 16.2 % (21.1 % calibrated).
        let mut c = case(25, 1);
        c.tolerance_pct = 10.0;
        let mut ev = evidence(59, 20, &[16.2, 16.3], 99.0);
        ev.steal_pct = 29.8;
        let (v, _) = verdict(&c, &ev);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("own count is short too"), "{}", v.reason);
        // The quota counted in full, the workers seeing less: the stolen time.
        let mut ev = evidence(59, 25, &[16.2, 16.3], 99.0);
        ev.steal_pct = 29.8;
        let (v, _) = verdict(&c, &ev);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
    }

    #[test]
    fn one_period_is_judged_on_its_point() {
        // Workers never moved into the cgroup: 84 % by their clocks, 0 charged.
        let mut ev = evidence(1, 0, &[84.0], 99.0);
        ev.window.stat = stat(0, 1, 0);
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
    }

    #[test]
    fn accounting_is_judged_against_the_measurements_own_uncertainty() {
        // Two periods, seen 19 and 29% (CI ±63 points), counted 24%: undecided.
        let mut ev = evidence(2, 24, &[19.0, 29.0], 99.0);
        ev.window.stat = stat(48, 2, 2);
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_ne!(v.status, Status::Fail, "{}", v.reason);
        // Twenty periods seen at 19% ±0.1, counted 24%: the kernel charged time
        // nobody ran.
        let (v, _) = verdict(&case(25, 1), &evidence(20, 24, &[19.0, 19.1], 99.0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("accounting disagrees"), "{}", v.reason);
    }

    #[test]
    fn a_delivered_quota_passes_and_a_missing_or_wrong_one_fails() {
        let (v, f) = verdict(&case(25, 1), &evidence(20, 25, &[25.1, 24.9], 99.0));
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!((f.error_pct - 0.0).abs() < 0.01);
        // 1.2 × the quota: over-delivery fails even on a busy host.
        let (v, _) = verdict(&case(25, 1), &evidence(20, 30, &[30.0, 30.1], 10.0));
        assert_eq!(v.status, Status::Fail, "{}", v.reason);
        assert!(v.reason.contains("more than the quota"), "{}", v.reason);
        // 0.8 × the quota on a free host: fails, without naming de53fd7aedb1.
        let (v, _) = verdict(&case(25, 1), &evidence(20, 20, &[20.0, 20.1], 99.0));
        assert_eq!(v.status, Status::Fail);
        assert!(!v.reason.contains("de53fd7aedb1"), "{}", v.reason);
        // The same shortfall on a busy host: the neighbours were measured.
        let (v, _) = verdict(&case(25, 1), &evidence(20, 20, &[20.0, 20.1], 15.0));
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
    }

    #[test]
    fn a_quota_that_is_not_there_fails_on_the_kernels_own_counters_too() {
        // The whole run at 100 %, no period counted.
        let mut ev = evidence(20, 100, &[100.0], 99.0);
        ev.window.stat.nr_periods = 0;
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("not applied"), "{}", v.reason);
        // The cgroup counted nothing while the workers ran (they were never moved in).
        let ev = evidence(20, 0, &[25.0], 99.0);
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.reason.contains("disagrees with the workers"),
            "{}",
            v.reason
        );
        // It counted twice what they saw: a kernel fault on a quiet host…
        let mut ev = evidence(20, 25, &[13.0], 99.0);
        assert_eq!(verdict(&case(25, 1), &ev).0.status, Status::Fail);
        // …but the host stealing CPU when the unlimited control shows the same.
        ev.steal_pct = 40.0;
        let (v, _) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        // A small systematic difference the control shows too is calibrated away.
        let mut ev = evidence(20, 25, &[23.0, 23.1], 99.0);
        ev.steal_pct = 8.5;
        let (v, f) = verdict(&case(25, 1), &ev);
        assert_eq!(v.status, Status::Pass, "{}", v.reason);
        assert!((f.achieved_pct - 25.0).abs() < 0.2, "{f:?}");
    }

    #[test]
    fn the_signature_needs_starved_throttled_periods() {
        // The group used 10 ms of a 25 ms quota in most periods, all throttled.
        let (v, _) = verdict(&case(25, 1), &evidence(20, 10, &[10.0, 10.2], 99.0));
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.contains("de53fd7aedb1"), "{}", v.reason);
    }

    #[test]
    fn small_quotas_are_judged_with_their_uncertainty() {
        // 1 ms / 100 ms over 30 periods, as measured here: 0.90 … 1.01 %.
        let own = [0.90, 0.95, 0.96, 1.01, 1.0, 0.99, 1.02, 0.97];
        let (v, f) = verdict(&case(1, 1), &evidence(30, 1, &own, 99.0));
        assert!(
            matches!(v.status, Status::Pass | Status::Inconclusive),
            "{}",
            v.reason
        );
        assert!((f.expected_pct - 1.0).abs() < 1e-9);
        // A wide spread straddling the band asks for a longer run.
        let (v, _) = verdict(
            &case(25, 1),
            &evidence(4, 25, &[20.0, 30.0, 24.0, 27.0], 99.0),
        );
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(v.reason.contains("run longer"), "{}", v.reason);
    }

    #[test]
    fn short_runs_get_a_wider_stated_tolerance() {
        let mut c = case(25, 1);
        c.duration = Duration::from_millis(500);
        assert!((tolerance_pct(&c) - 10.0).abs() < 1e-9);
        c.tolerance_pct = 100.0;
        assert_eq!(tolerance_pct(&c), MAX_TOLERANCE_PCT);
        // A quota that is not applied still fails in a short run.
        c.tolerance_pct = 5.0;
        let mut ev = evidence(3, 100, &[100.0], 99.0);
        ev.window.stat.nr_periods = 0;
        assert_eq!(verdict(&c, &ev).0.status, Status::Fail);
    }

    #[test]
    fn the_window_runs_from_refill_to_refill() {
        let r = |ms: u64, usage_ms: u64, periods: u64| Reading {
            at_ns: ms * MS,
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
        let w = window(&readings, Duration::from_millis(100));
        assert!(w.at_boundaries);
        assert_eq!(w.stat.nr_periods, 2);
        assert_eq!(w.stat.usage, Duration::from_millis(50));
        assert_eq!(w.wall(), Duration::from_millis(200));
        let used: Vec<Option<u64>> = w.chunks.iter().map(|c| c.cgroup_usage_ns).collect();
        assert_eq!(used, vec![Some(25 * MS), Some(25 * MS)]);
        // Without boundaries: the whole run in period-long chunks.
        let flat = [r(0, 0, 0), r(350, 350, 0)];
        let w = window(&flat, Duration::from_millis(100));
        assert!(!w.at_boundaries);
        assert_eq!(w.chunks.len(), 3);
    }
}
