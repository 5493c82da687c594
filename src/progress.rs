//! Time left of a run, for the progress line. Pure bookkeeping: the CLI feeds
//! it the runner's events and redraws only then (no timer thread in the
//! harness).
//!
//! Each case still to run is estimated as the time the scenario tells it to run
//! (its `expected` time, zero where the scenario does not say) plus what a case
//! of its probe takes beyond that. That extra is the mean over the probe's
//! finished cases (those with an expected time apart from those without: a
//! namespace case with a sustained-rate loop does other work than the plain
//! ones), pulled towards a prior of [`PRIOR_EXTRA`] as if [`PRIOR_WEIGHT`]
//! cases had taken it. The pull is what keeps the estimate from jumping: the
//! first case of a probe is often its least typical (the namespace probe
//! starts with `noop`, 9 ms, and goes on to cases of 0.1–1.5 s), and a plain
//! per-probe mean, with the median of whatever finished for probes not yet
//! started, had a run with 69 namespace cases to go "under a second left"
//! right after `noop`. Measured on the default scenario, the extra is additive
//! rather than proportional (a 4 s quota case takes 0.7 s more, a 250 ms
//! life-cycle case 0.1 s more), so the expected time is not scaled.
//!
//! The harness also spends time between cases (the text files are rewritten
//! after each one: some 50 ms in a debug build), counted for each case still
//! to run at the mean gap seen so far.

use std::collections::BTreeMap;
use std::time::Duration;

/// What a case of a probe with no finished case is taken to need beyond its
/// expected time: a worker or two started, a cgroup made and removed, a few
/// hundred operations timed (the default scenario's cases without an expected
/// time took 10 ms … 1.5 s, most 50–300 ms, on a 2-CPU VM).
pub const PRIOR_EXTRA: Duration = Duration::from_millis(200);

/// How many cases' worth of weight the prior has against a probe's own.
pub const PRIOR_WEIGHT: f64 = 3.0;

/// The estimate's state.
#[derive(Debug, Clone, Default)]
pub struct Eta {
    /// Every case of the plan, in order: its probe and expected time, if known.
    planned: Vec<(String, Option<Duration>)>,
    /// Per probe: the sum of what its finished cases took beyond their
    /// expected time (s; negative when a case ended early, e.g. skipped), and
    /// their number.
    /// Keyed by probe and whether the case has an expected time: a
    /// namespace case with a sustained-rate loop and drain does other work
    /// than the plain ones, and its extra says nothing of theirs.
    extra: BTreeMap<(String, bool), (f64, u32)>,
    /// Time spent between cases (writing the results), summed, and the gaps.
    between: (Duration, u32),
    /// Cases finished.
    finished: usize,
}

impl Eta {
    /// An estimate for a plan of cases `(probe, expected time)`, in order.
    pub fn new<S: Into<String>>(cases: impl IntoIterator<Item = (S, Option<Duration>)>) -> Eta {
        Eta {
            planned: cases.into_iter().map(|(p, e)| (p.into(), e)).collect(),
            ..Eta::default()
        }
    }

    /// Records that the case at plan index `index` took `elapsed`.
    pub fn finished(&mut self, index: usize, elapsed: Duration) {
        let Some((probe, expected)) = self.planned.get(index) else {
            return;
        };
        let extra = elapsed.as_secs_f64() - expected.unwrap_or_default().as_secs_f64();
        let e = self
            .extra
            .entry((probe.clone(), expected.is_some()))
            .or_default();
        e.0 += extra;
        e.1 += 1;
        self.finished += 1;
    }

    /// Records that the harness spent `gap` between a case's end and the next
    /// case's start.
    pub fn between(&mut self, gap: Duration) {
        self.between.0 += gap;
        self.between.1 += 1;
    }

    /// What a case of `probe` expected to run `expected` is estimated to take.
    fn estimate(&self, probe: &str, expected: Option<Duration>) -> f64 {
        let (sum, n) = self
            .extra
            .get(&(probe.to_string(), expected.is_some()))
            .copied()
            .unwrap_or_default();
        let extra =
            (sum + PRIOR_WEIGHT * PRIOR_EXTRA.as_secs_f64()) / (f64::from(n) + PRIOR_WEIGHT);
        let gap = match self.between {
            (_, 0) => 0.0,
            (t, n) => t.as_secs_f64() / f64::from(n),
        };
        (expected.unwrap_or_default().as_secs_f64() + extra).max(0.0) + gap
    }

    /// The time the cases from plan index `next` on will take; `None` until a
    /// case finished (before, it would be the prior alone).
    pub fn left(&self, next: usize) -> Option<Duration> {
        if self.finished == 0 {
            return None;
        }
        let s: f64 = self
            .planned
            .iter()
            .skip(next)
            .map(|(p, e)| self.estimate(p, *e))
            .sum();
        Some(Duration::from_secs_f64(s))
    }

    /// How many cases from plan index `next` on are still to run.
    pub fn cases_left(&self, next: usize) -> usize {
        self.planned.len().saturating_sub(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn nothing_before_a_case_finished_and_zero_at_the_end() {
        let mut eta = Eta::new([("ns", None), ("cpu", Some(MS(4000)))]);
        assert_eq!(eta.left(0), None);
        eta.finished(0, MS(10));
        eta.finished(1, MS(4000));
        assert_eq!(eta.left(2), Some(Duration::ZERO));
        assert_eq!(eta.cases_left(2), 0);
    }

    #[test]
    fn a_probe_without_finished_cases_is_its_expected_time_and_the_prior() {
        let mut eta = Eta::new([("lc", Some(MS(250))), ("cpu", Some(MS(4000))), ("ns", None)]);
        eta.finished(0, MS(350));
        let left = eta.left(1).unwrap().as_secs_f64();
        // cpu 4 s + 0.2 s prior; ns 0 + 0.2 s prior.
        assert!((left - 4.4).abs() < 1e-6, "{left}");
    }

    #[test]
    fn a_probe_s_own_cases_pull_its_estimate_from_the_prior() {
        let mut eta = Eta::new(std::iter::repeat_n(("ns", None::<Duration>), 11));
        eta.finished(0, MS(1000));
        // (1.0 + 3 × 0.2) / 4 = 0.4 s for each of 10.
        let left = eta.left(1).unwrap().as_secs_f64();
        assert!((left - 4.0).abs() < 1e-6, "{left}");
    }

    #[test]
    fn time_between_cases_counts_for_each_case_left() {
        let mut eta = Eta::new(std::iter::repeat_n(("x", Some(MS(1000))), 5));
        eta.finished(0, MS(1000 + 200));
        eta.between(MS(100));
        eta.finished(1, MS(1000 + 200));
        eta.between(MS(300));
        // 3 × (1 s + 0.2 s extra + 0.2 s mean gap).
        let left = eta.left(2).unwrap().as_secs_f64();
        assert!((left - 4.2).abs() < 1e-6, "{left}");
    }

    #[test]
    fn a_skipped_case_does_not_make_the_estimate_negative() {
        let mut eta = Eta::new(std::iter::repeat_n(("cpu", Some(MS(4000))), 3));
        eta.finished(0, Duration::ZERO);
        eta.finished(1, Duration::ZERO);
        assert!(eta.left(2).is_some());
        assert!(eta.left(2).unwrap() <= MS(4000));
    }

    /// The default scenario as a 2-CPU VM ran it: (probe, expected ms, took
    /// ms), in plan order; 70 namespace cases without an expected time (but
    /// the sustained-rate ones) start with the 9 ms `noop`.
    fn default_like() -> Vec<(&'static str, Option<Duration>, Duration)> {
        let mut v: Vec<(&str, Option<u64>, u64)> = Vec::new();
        for t in [376, 402, 359, 0, 332, 354, 647, 1780] {
            v.push(("cgroup_lifecycle", Some(250), t));
        }
        v.extend([("cgroup_ops", None, 31), ("cgroup_ops", None, 129)]);
        for t in [329, 338, 331] {
            v.push(("cpuset", Some(300), t));
        }
        v.push(("cpuset", Some(2200), 2250));
        v.extend([
            ("cpu_quota", Some(4000), 4690),
            ("cpu_weight", Some(1000), 1060),
        ]);
        v.push(("pids", None, 24));
        for t in [67, 118, 102, 0] {
            v.push(("memory", None, t));
        }
        v.push(("freezer", Some(480), 557));
        v.extend([("io", Some(6000), 6140), ("io", Some(6000), 6150)]);
        let ns = [
            9, 197, 71, 73, 160, 69, 107, 1460, 1130, 45, 185, 99, 107, 295, 100, 105, 324, 72, 88,
            220, 82, 43, 308, 106, 73, 1200, 1420, 71, 49, 121, 0, 499, 141, 86, 401, 105, 150,
            360, 512, 167, 409, 229, 130, 348, 199, 297, 309, 221, 189, 294, 163, 235, 254, 249,
            231, 847, 531, 201, 47, 90, 0, 12, 10, 12, 15, 9, 9, 5, 5, 7,
        ];
        for (i, t) in ns.into_iter().enumerate() {
            // net-clone, net-unshare, all-clone, all-unshare: the sustained-rate loop.
            let rate = [7, 8, 25, 26].contains(&i).then_some(500);
            v.push(("ns_latency", rate, t));
        }
        for t in [32, 42, 24, 38, 34, 29, 30, 0, 0] {
            v.push(("short", None, t));
        }
        v.extend([
            ("cpuacct", Some(1000), 1020),
            ("cpuacct", Some(1000), 1030),
            ("perf_event", Some(1500), 1580),
        ]);
        v.into_iter()
            .map(|(p, e, t)| (p, e.map(MS), MS(t)))
            .collect()
    }

    #[test]
    fn the_estimate_follows_a_default_like_run_without_jumping() {
        let cases = default_like();
        let mut eta = Eta::new(cases.iter().map(|(p, e, _)| (*p, *e)));
        let true_left = |i: usize| cases[i..].iter().map(|c| c.2).sum::<Duration>();
        let mut last: Option<f64> = None;
        for (i, (_, _, took)) in cases.iter().enumerate() {
            eta.finished(i, *took);
            let left = eta.left(i + 1).unwrap().as_secs_f64();
            let truth = true_left(i + 1).as_secs_f64();
            // Never "under a second" while many cases remain.
            if eta.cases_left(i + 1) > 10 {
                assert!(left >= 1.0, "case {i}: {left} s with many cases left");
            }
            // Within a factor of two of the truth while more than a few seconds remain.
            if truth > 5.0 {
                assert!(
                    left > truth / 2.0 && left < truth * 2.0,
                    "case {i}: estimated {left:.1} s, truly {truth:.1} s"
                );
            }
            // A case that took `took` lowers the estimate by about that much;
            // what it says of its probe's other cases moves it by a quarter at most.
            if let Some(l) = last {
                let moved = (l - took.as_secs_f64() - left).abs();
                assert!(
                    moved <= 0.25 * l,
                    "case {i}: estimate moved {moved:.1} s of {l:.1} s"
                );
            }
            last = Some(left);
        }
        // Right after noop, 69 namespace cases remain: not a fraction of a second.
        let noop = cases.iter().position(|c| c.0 == "ns_latency").unwrap();
        let mut eta = Eta::new(cases.iter().map(|(p, e, _)| (*p, *e)));
        for (i, (_, _, took)) in cases.iter().enumerate().take(noop + 1) {
            eta.finished(i, *took);
        }
        assert!(eta.left(noop + 1).unwrap() > Duration::from_secs(10));
    }
}
