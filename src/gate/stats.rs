//! The gate's statistics: is the current run of a case worse than the base
//! run, by more than a threshold, beyond what the noise explains?
//!
//! The unit of evidence is a *repetition* — a fresh worker process running the
//! case — which gives one median. Samples inside a repetition share its
//! process, its placement and its cache state, so they are not independent:
//! run to run, a latency p50 here moves by ±15–25 % while a repetition's own
//! samples look far tighter. Hence:
//!
//! - the change is a ratio cur / base, estimated by the Hodges–Lehmann shift
//!   of the repetition medians in log space ([`hodges_lehmann_log_shift`]);
//! - its 95 % interval is a bootstrap over repetitions, not samples
//!   ([`ratio_interval_over_repetitions`]), needing [`MIN_REPETITIONS`] a side;
//! - a one-sided Mann–Whitney test over the repetition medians
//!   ([`mann_whitney_one_sided`]), Holm-adjusted over all the cases of a
//!   comparison ([`holm`]), guards the "regressed" call against the many
//!   cases compared at once;
//! - with fewer repetitions, only the weak path is left: a bootstrap over the
//!   raw samples ([`ratio_interval_over_samples`]), which ignores run-to-run
//!   noise and must be reported as weak evidence;
//! - [`classify`] turns an interval (and a p-value) into a [`Call`].

use crate::bootstrap;

/// Repetitions a side below which the repetition bootstrap gives no interval:
/// resampling 1 value gives a zero-width "interval", 2 values only a handful
/// of distinct resamples — neither is a 95 % interval.
pub const MIN_REPETITIONS: usize = 3;

/// Pairs (n · m) up to which, without ties, [`mann_whitney_one_sided`] counts
/// the exact distribution of U (at most C(40, 20) ≈ 1.4 · 10¹¹ arrangements,
/// which a u64 holds); past it the normal approximation, already within
/// 0.006 of the exact tail at 8 a side, serves.
pub const EXACT_MAX_PAIRS: usize = 400;

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Latencies, durations: a larger value is worse.
    LowerIsBetter,
    /// Throughputs, rates: a smaller value is worse.
    HigherIsBetter,
}

impl Direction {
    /// `value` on a scale where larger is worse, for rank tests (an order
    /// reversal, not a size: only comparisons of the result mean anything).
    fn worse_scale(self, value: f64) -> f64 {
        match self {
            Direction::LowerIsBetter => value,
            Direction::HigherIsBetter => -value,
        }
    }
}

/// A ratio cur / base (in the metric's own terms: ×1.30 is 30 % more of
/// whatever the metric counts) with its 95 % interval `lo` … `hi`.
///
/// Not [`bootstrap::Interval`]: that one is a signed difference whose
/// "resolved" means excluding 0, which a ratio always does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioInterval {
    /// The point estimate, cur / base.
    pub ratio: f64,
    /// The lower bound of the 95 % interval.
    pub lo: f64,
    /// The upper bound of the 95 % interval.
    pub hi: f64,
}

impl RatioInterval {
    /// The same interval oriented so that above 1 means worse: unchanged for
    /// [`Direction::LowerIsBetter`], inverted (bounds swapped) for
    /// [`Direction::HigherIsBetter`], where a throughput ×0.80 is ×1.25 worse.
    pub fn worse_ratio(&self, direction: Direction) -> RatioInterval {
        match direction {
            Direction::LowerIsBetter => *self,
            Direction::HigherIsBetter => RatioInterval {
                ratio: 1.0 / self.ratio,
                lo: 1.0 / self.hi,
                hi: 1.0 / self.lo,
            },
        }
    }

    /// Whether the bounds are a usable interval of a ratio: positive and in
    /// order (false for NaN bounds).
    fn is_valid(&self) -> bool {
        self.lo > 0.0 && self.lo <= self.hi
    }
}

/// The Hodges–Lehmann estimate of the log of the change: the median of all
/// n · m pairwise differences ln(cur_j) − ln(base_i). The change ratio is
/// `exp(shift)`; in log space a ×1.3 and a ×(1/1.3) are equally far from ×1,
/// and the median of pairs resists one odd repetition where a ratio of means
/// would not.
///
/// None when either side is empty or holds a value that is not finite and
/// positive. Such values are rejected, not skipped: a zero throughput or
/// latency median is a failed or broken repetition, which the caller must
/// report as such rather than have it silently left out of the evidence.
pub fn hodges_lehmann_log_shift(base: &[f64], cur: &[f64]) -> Option<f64> {
    log_shift(&logs(base)?, &logs(cur)?, &mut Vec::new())
}

/// The natural logs of `values`; None when empty or when any value is not
/// finite and positive.
fn logs(values: &[f64]) -> Option<Vec<f64>> {
    if values.is_empty() {
        return None;
    }
    values
        .iter()
        .map(|&v| (v.is_finite() && v > 0.0).then(|| v.ln()))
        .collect()
}

/// The median of the pairwise differences `cur_j − base_i` of two samples
/// already in log space; `diffs` is scratch space reused across resamples.
fn log_shift(base: &[f64], cur: &[f64], diffs: &mut Vec<f64>) -> Option<f64> {
    diffs.clear();
    diffs.extend(base.iter().flat_map(|b| cur.iter().map(move |c| c - b)));
    bootstrap::median_f64(diffs)
}

/// The change ratio cur / base of repetition medians — exp of
/// [`hodges_lehmann_log_shift`] — with a 95 % percentile-bootstrap interval:
/// each side's repetitions resampled with replacement
/// ([`bootstrap::RESAMPLES`] times, fixed seed, so a comparison is repeatable
/// bit for bit) and the shift recomputed on each resample.
///
/// None with fewer than [`MIN_REPETITIONS`] repetitions on either side (use
/// [`ratio_interval_over_samples`], the weak path) or on values the shift
/// rejects. With few repetitions the percentile bootstrap is, if anything,
/// too narrow; the Mann–Whitney test is the check on it.
pub fn ratio_interval_over_repetitions(base: &[f64], cur: &[f64]) -> Option<RatioInterval> {
    if base.len() < MIN_REPETITIONS || cur.len() < MIN_REPETITIONS {
        return None;
    }
    let (base, cur) = (logs(base)?, logs(cur)?);
    let mut diffs = Vec::with_capacity(base.len() * cur.len());
    let shift = log_shift(&base, &cur, &mut diffs)?;
    let (lo, hi) = bootstrap::percentile_interval(&base, &cur, |b, c| log_shift(b, c, &mut diffs))?;
    // exp is increasing: the quantiles of exp(shift) are exp of its quantiles.
    Some(RatioInterval {
        ratio: shift.exp(),
        lo: lo.exp(),
        hi: hi.exp(),
    })
}

/// The change ratio median(cur) / median(base) of raw samples (each side's
/// samples pooled over its repetitions), with a 95 % percentile-bootstrap
/// interval resampling the samples.
///
/// The weak-evidence path, for fewer than [`MIN_REPETITIONS`] repetitions a
/// side: samples of one process are not independent, so this interval shows
/// the noise inside a run, not the ±15–25 % from run to run, and is too narrow
/// for a claim about the code. A call made from it must say so.
///
/// None when either side is empty, or when a median — of the samples or of
/// any resample — is 0 (no ratio; see [`hodges_lehmann_log_shift`] on why
/// zeros are not skipped).
pub fn ratio_interval_over_samples(base: &[u64], cur: &[u64]) -> Option<RatioInterval> {
    let ratio = ratio_of_medians(&mut base.to_vec(), &mut cur.to_vec())?;
    let (lo, hi) = bootstrap::percentile_interval(base, cur, ratio_of_medians)?;
    Some(RatioInterval { ratio, lo, hi })
}

/// median(cur) / median(base); reorders both; None unless both are positive.
fn ratio_of_medians(base: &mut [u64], cur: &mut [u64]) -> Option<f64> {
    let (b, c) = (bootstrap::median(base)?, bootstrap::median(cur)?);
    (b > 0.0 && c > 0.0).then(|| c / b)
}

/// The one-sided Mann–Whitney (Wilcoxon rank-sum) p-value for H1 "cur is
/// worse than base" — larger for [`Direction::LowerIsBetter`], smaller for
/// [`Direction::HigherIsBetter`] — over the repetition medians of each side:
/// P(U ≥ U_observed) under "both sides come from one distribution", U
/// counting the (base, cur) pairs where cur is worse (a tie counts ½).
///
/// Exact (the U distribution counted by dynamic programming) when n · m ≤
/// [`EXACT_MAX_PAIRS`] and no value is tied; otherwise the normal
/// approximation with the tie-corrected variance and a continuity correction
/// of ½. A rank test because repetition medians are few and skewed, and it
/// makes no assumption on their distribution. Note the floor it implies:
/// see [`mann_whitney_min_p`].
///
/// None when either side is empty or holds a value that is not finite.
pub fn mann_whitney_one_sided(base: &[f64], cur: &[f64], direction: Direction) -> Option<f64> {
    if base.is_empty() || cur.is_empty() || !base.iter().chain(cur).all(|v| v.is_finite()) {
        return None;
    }
    let ranks = RankSum::of(base, cur, direction);
    let (n, m) = (base.len(), cur.len());
    if n.saturating_mul(m) <= EXACT_MAX_PAIRS && ranks.tie_term == 0.0 {
        // Without ties U is a whole number.
        exact_upper_tail(n, m, ranks.u.round() as usize)
    } else {
        Some(normal_upper_tail(ranks.u, n, m, ranks.tie_term))
    }
}

/// The smallest one-sided p-value the exact Mann–Whitney test can give with
/// `n` and `m` values a side, complete separation: 1 / C(n + m, n). With 3
/// repetitions a side it is 1/20 = 0.05, so p < 0.05 is impossible; with 4,
/// 1/70 ≈ 0.014; with 5, 1/252 ≈ 0.004. After Holm over k cases the smallest
/// p is multiplied by up to k: the gate can use this to say "more
/// repetitions needed" instead of an unreachable test.
pub fn mann_whitney_min_p(n: usize, m: usize) -> f64 {
    // C(n + m, n) = Π_{k=1..n} (m + k) / k, kept as its reciprocal.
    (1..=n).fold(1.0, |p, k| p * k as f64 / (m + k) as f64)
}

/// U of the cur side and the ties, from the ranks of both sides pooled.
struct RankSum {
    /// Pairs where cur is worse than base, ties counted ½.
    u: f64,
    /// Σ (t³ − t) over groups of t tied values (0 without ties).
    tie_term: f64,
}

impl RankSum {
    fn of(base: &[f64], cur: &[f64], direction: Direction) -> RankSum {
        let mut pooled: Vec<(f64, bool)> = base
            .iter()
            .map(|&v| (direction.worse_scale(v), false))
            .chain(cur.iter().map(|&v| (direction.worse_scale(v), true)))
            .collect();
        pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut rank_sum, mut tie_term, mut start) = (0.0, 0.0, 0);
        while start < pooled.len() {
            let value = pooled[start].0;
            let end = start + pooled[start..].iter().take_while(|p| p.0 == value).count();
            // Ranks start + 1 … end (1-based) share their mean.
            let mid_rank = (start + 1 + end) as f64 / 2.0;
            let in_cur = pooled[start..end].iter().filter(|p| p.1).count();
            rank_sum += mid_rank * in_cur as f64;
            let t = (end - start) as f64;
            tie_term += t * t * t - t;
            start = end;
        }
        let m = cur.len() as f64;
        RankSum {
            u: rank_sum - m * (m + 1.0) / 2.0,
            tie_term,
        }
    }
}

/// P(U ≥ `u`) for `n` base and `m` cur values, no ties: the arrangements with
/// U ≥ u over all C(n + m, n).
fn exact_upper_tail(n: usize, m: usize, u: usize) -> Option<f64> {
    let counts = u_counts(n, m);
    let total: u64 = counts.iter().sum();
    let above: u64 = counts.get(u..)?.iter().sum();
    Some(above as f64 / total as f64)
}

/// How many of the C(n + m, n) orderings of `n` base and `m` cur values give
/// each U = 0 … n · m (U: pairs where cur is above base). The largest value
/// is either a base value (it is above no cur: the counts of (n − 1, m)) or a
/// cur one (above all n base: the counts of (n, m − 1) shifted by n).
fn u_counts(n: usize, m: usize) -> Vec<u64> {
    // `row[j]`: the counts for (i, j), i the base values placed so far.
    let mut row: Vec<Vec<u64>> = vec![vec![1]; m + 1];
    for i in 1..=n {
        let mut next: Vec<Vec<u64>> = Vec::with_capacity(m + 1);
        next.push(vec![1]);
        for j in 1..=m {
            let mut c = vec![0u64; i * j + 1];
            for (u, &k) in row[j].iter().enumerate() {
                c[u] += k;
            }
            for (u, &k) in next[j - 1].iter().enumerate() {
                c[u + i] += k;
            }
            next.push(c);
        }
        row = next;
    }
    row.pop().unwrap_or_default()
}

/// P(U ≥ `u`) by the normal approximation: mean n·m/2, variance
/// n·m/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))), N = n + m, continuity
/// correction ½. 1 when every value is tied: no order, no evidence.
fn normal_upper_tail(u: f64, n: usize, m: usize, tie_term: f64) -> f64 {
    let (n, m) = (n as f64, m as f64);
    let total = n + m;
    let variance = n * m / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    if variance.is_nan() || variance <= 0.0 {
        return 1.0;
    }
    upper_normal((u - n * m / 2.0 - 0.5) / variance.sqrt())
}

/// P(Z ≥ z) for a standard normal Z.
fn upper_normal(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, Chebyshev fit (Numerical Recipes'
/// `erfcc`), relative error below 1.2 · 10⁻⁷ everywhere: far finer than any
/// p-value threshold. std has no stable erf.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ]
    .iter()
    .rev()
    .fold(0.0, |acc, &c| acc * t + c);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Holm–Bonferroni adjusted p-values, in the order given: the k-th smallest
/// (from 0) of m is multiplied by m − k, made non-decreasing along the sorted
/// order and capped at 1. Comparing an adjusted p with α keeps the chance of
/// any false "regressed" among all the cases of a comparison at most α —
/// with dozens of cases, an unadjusted 0.05 would flag one by chance in most
/// runs. NaN counts as 1 (no evidence), and values are clamped to [0, 1].
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let clean = |p: f64| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p_values[a]).total_cmp(&clean(p_values[b])));
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0_f64;
    for (k, &i) in order.iter().enumerate() {
        running = running.max((m - k) as f64 * clean(p_values[i])).min(1.0);
        adjusted[i] = running;
    }
    adjusted
}

/// What the gate says of one figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Worse by more than the threshold, beyond the noise.
    Regressed,
    /// Better by more than the threshold, beyond the noise.
    Improved,
    /// Any change lies within the threshold either way.
    WithinNoise,
    /// The evidence cannot decide; the reason says why, with the numbers.
    Inconclusive(String),
}

/// The call on a change ratio `interval` (cur / base, 95 %) against a
/// threshold of `threshold_pct` % (τ = threshold_pct / 100).
///
/// Let the worse-ratio be the interval oriented so that above 1 means worse
/// ([`RatioInterval::worse_ratio`]: bounds inverted for
/// [`Direction::HigherIsBetter`]). The thresholds are symmetric in log space:
/// worse beyond ×(1 + τ), better beyond ×1/(1 + τ). For a higher-is-better
/// metric and τ = 10 %, a regression is thus a fall below ×0.909 (−9.1 %).
///
/// - [`Call::Regressed`]: the whole worse-ratio interval lies above 1 + τ
///   *and* either `p_adjusted` is None (the weak path, where the interval
///   alone decides) or `p_adjusted` < `alpha`; with the interval beyond but
///   p not below α, [`Call::Inconclusive`] saying so.
/// - [`Call::Improved`]: the whole worse-ratio interval lies below 1/(1 + τ).
///   The interval alone decides: the p-value tests the other side, and an
///   improvement fails no build.
/// - [`Call::WithinNoise`]: the whole interval lies within
///   [1/(1 + τ), 1 + τ], bounds included.
/// - Otherwise [`Call::Inconclusive`], the reason giving the interval, which
///   threshold it crosses and by how many points — "slower, but not clearly
///   beyond the threshold" when it lies wholly on the worse side of ×1 yet
///   reaches below 1 + τ (a real but possibly small slowdown), "faster, but
///   …" in mirror. Also Inconclusive for an invalid interval (bounds not
///   positive and in order) or threshold (not finite, negative).
pub fn classify(
    interval: &RatioInterval,
    p_adjusted: Option<f64>,
    direction: Direction,
    threshold_pct: f64,
    alpha: f64,
) -> Call {
    if !interval.is_valid() {
        return Call::Inconclusive(format!("no valid interval: {interval:?}"));
    }
    if !(threshold_pct.is_finite() && threshold_pct >= 0.0) {
        return Call::Inconclusive(format!("threshold {threshold_pct}% is not a percentage"));
    }
    let edges = Edges::new(direction, threshold_pct / 100.0);
    let worse = interval.worse_ratio(direction);
    if worse.lo > edges.up {
        return regressed_if_significant(interval, &edges, p_adjusted, alpha);
    }
    if worse.hi < edges.down {
        return Call::Improved;
    }
    if worse.lo >= edges.down && worse.hi <= edges.up {
        return Call::WithinNoise;
    }
    Call::Inconclusive(straddle_reason(interval, &worse, &edges))
}

/// The thresholds: `down` = 1/(1 + τ) and `up` = 1 + τ on the worse-ratio
/// scale, and where they fall on the metric's own cur / base scale.
struct Edges {
    down: f64,
    up: f64,
    /// The regression threshold as a cur / base ratio.
    regression: f64,
    /// The improvement threshold as a cur / base ratio.
    improvement: f64,
    direction: Direction,
}

impl Edges {
    fn new(direction: Direction, tau: f64) -> Edges {
        let (down, up) = (1.0 / (1.0 + tau), 1.0 + tau);
        let (regression, improvement) = match direction {
            Direction::LowerIsBetter => (up, down),
            Direction::HigherIsBetter => (down, up),
        };
        Edges {
            down,
            up,
            regression,
            improvement,
            direction,
        }
    }

    /// The end of a cur / base interval on the worse side.
    fn worst_end(&self, interval: &RatioInterval) -> f64 {
        match self.direction {
            Direction::LowerIsBetter => interval.hi,
            Direction::HigherIsBetter => interval.lo,
        }
    }

    /// The end of a cur / base interval on the better side.
    fn best_end(&self, interval: &RatioInterval) -> f64 {
        match self.direction {
            Direction::LowerIsBetter => interval.lo,
            Direction::HigherIsBetter => interval.hi,
        }
    }
}

/// Regressed when the test agrees (or there is none: the weak path);
/// otherwise Inconclusive with both numbers.
fn regressed_if_significant(
    interval: &RatioInterval,
    edges: &Edges,
    p_adjusted: Option<f64>,
    alpha: f64,
) -> Call {
    match p_adjusted {
        None => Call::Regressed,
        Some(p) if p < alpha => Call::Regressed,
        Some(p) => Call::Inconclusive(format!(
            "{} lies beyond the regression threshold {}, but the adjusted p = {p:.3} \
             is not below α = {alpha}",
            describe(interval),
            threshold(edges.regression),
        )),
    }
}

/// Why an interval across a threshold decides nothing, with the numbers.
/// `worse` is `interval` as a worse-ratio; it is known to be neither wholly
/// beyond a threshold nor wholly within both.
fn straddle_reason(interval: &RatioInterval, worse: &RatioInterval, edges: &Edges) -> String {
    let iv = describe(interval);
    let past = |end: f64, edge: f64| (end - edge).abs() * 100.0;
    let over_regression = past(edges.worst_end(interval), edges.regression);
    let over_improvement = past(edges.best_end(interval), edges.improvement);
    let (reg, imp) = (threshold(edges.regression), threshold(edges.improvement));
    if worse.lo < edges.down && worse.hi > edges.up {
        format!(
            "{iv} crosses both the improvement threshold {imp}, by {over_improvement:.1} points, \
             and the regression threshold {reg}, by {over_regression:.1} points: too wide to \
             decide; more repetitions narrow it"
        )
    } else if worse.hi > edges.up && worse.lo > 1.0 {
        format!(
            "slower, but not clearly beyond the threshold: {iv} excludes no change but crosses \
             the regression threshold {reg} by {over_regression:.1} points"
        )
    } else if worse.hi > edges.up {
        format!("{iv} crosses the regression threshold {reg} by {over_regression:.1} points")
    } else if worse.hi < 1.0 {
        format!(
            "faster, but not clearly beyond the threshold: {iv} excludes no change but crosses \
             the improvement threshold {imp} by {over_improvement:.1} points"
        )
    } else {
        format!("{iv} crosses the improvement threshold {imp} by {over_improvement:.1} points")
    }
}

/// "the 95% interval ×0.970 … ×1.180 (-3.0% … +18.0%)", cur / base.
fn describe(interval: &RatioInterval) -> String {
    format!(
        "the 95% interval ×{:.3} … ×{:.3} ({} … {})",
        interval.lo,
        interval.hi,
        change_pct(interval.lo),
        change_pct(interval.hi)
    )
}

/// A threshold as a change and a ratio: "+10.0% (×1.100)".
fn threshold(ratio: f64) -> String {
    format!("{} (×{ratio:.3})", change_pct(ratio))
}

/// A ratio as a signed percent change: ×1.18 is "+18.0%", ×0.97 "-3.0%".
fn change_pct(ratio: f64) -> String {
    format!("{:+.1}%", (ratio - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAU: f64 = 10.0;
    const ALPHA: f64 = 0.05;

    /// Five repetition medians around 100, ±3 %.
    const BASE: [f64; 5] = [97.0, 100.0, 103.0, 99.0, 101.5];
    /// Another ±3 % pattern around 100, so cur is not base times a constant.
    const JITTER: [f64; 5] = [101.0, 98.0, 102.5, 100.0, 97.5];

    fn scaled(v: &[f64], by: f64) -> Vec<f64> {
        v.iter().map(|x| x * by).collect()
    }

    /// The whole repetition path: interval, one-sided test, call (one case,
    /// so Holm changes nothing).
    fn call(base: &[f64], cur: &[f64], direction: Direction) -> (RatioInterval, f64, Call) {
        let iv = ratio_interval_over_repetitions(base, cur).unwrap();
        let p = mann_whitney_one_sided(base, cur, direction).unwrap();
        let p_adj = holm(&[p])[0];
        (iv, p, classify(&iv, Some(p_adj), direction, TAU, ALPHA))
    }

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn hodges_lehmann_is_the_median_pairwise_log_ratio() {
        // Pairs ln(cur/base): ln 2, ln 4, ln 1, ln 2 → median ln 2.
        let s = hodges_lehmann_log_shift(&[1.0, 2.0], &[2.0, 4.0]).unwrap();
        assert!(close(s.exp(), 2.0, 1e-12), "{s}");
        // A constant factor is recovered exactly, whatever the spread.
        let s = hodges_lehmann_log_shift(&BASE, &scaled(&BASE, 1.3)).unwrap();
        assert!(close(s.exp(), 1.3, 1e-12), "{s}");
        // One wild repetition moves it little.
        let mut wild = scaled(&BASE, 1.3);
        wild[0] *= 10.0;
        let s = hodges_lehmann_log_shift(&BASE, &wild).unwrap();
        assert!(close(s.exp(), 1.3, 0.05), "{}", s.exp());
    }

    #[test]
    fn non_positive_or_missing_values_are_rejected() {
        assert_eq!(hodges_lehmann_log_shift(&[], &[1.0]), None);
        assert_eq!(hodges_lehmann_log_shift(&[1.0], &[]), None);
        assert_eq!(hodges_lehmann_log_shift(&[1.0, 0.0], &[1.0]), None);
        assert_eq!(hodges_lehmann_log_shift(&[1.0], &[-2.0]), None);
        assert_eq!(hodges_lehmann_log_shift(&[f64::NAN], &[1.0]), None);
        assert_eq!(hodges_lehmann_log_shift(&[f64::INFINITY], &[1.0]), None);
        let mut zero = BASE.to_vec();
        zero[2] = 0.0;
        assert_eq!(ratio_interval_over_repetitions(&zero, &BASE), None);
        assert_eq!(
            mann_whitney_one_sided(&[], &[1.0], Direction::LowerIsBetter),
            None
        );
        assert_eq!(
            mann_whitney_one_sided(&[f64::NAN], &[1.0], Direction::LowerIsBetter),
            None
        );
    }

    #[test]
    fn identical_sets_are_within_noise() {
        let (iv, p, c) = call(&BASE, &BASE, Direction::LowerIsBetter);
        assert!(
            close(iv.ratio, 1.0, 1e-12) && iv.lo < 1.0 && iv.hi > 1.0,
            "{iv:?}"
        );
        assert!(p > 0.4, "{p}");
        assert_eq!(c, Call::WithinNoise, "{iv:?}");
        let (_, _, c) = call(&BASE, &BASE, Direction::HigherIsBetter);
        assert_eq!(c, Call::WithinNoise);
    }

    #[test]
    fn thirty_percent_more_with_five_repetitions_is_a_regression_of_a_latency() {
        let cur = scaled(&JITTER, 1.3);
        let (iv, p, c) = call(&BASE, &cur, Direction::LowerIsBetter);
        assert!(iv.lo <= 1.3 && 1.3 <= iv.hi, "{iv:?}");
        assert!(close(iv.ratio, 1.3, 0.03) && iv.lo > 1.1, "{iv:?}");
        // Complete separation, 5 a side: 1/252.
        assert!(close(p, 1.0 / 252.0, 1e-12), "{p}");
        assert_eq!(c, Call::Regressed, "{iv:?}");
        // The same numbers as a throughput: 30 % more is better.
        let (_, p, c) = call(&BASE, &cur, Direction::HigherIsBetter);
        assert_eq!(p, 1.0);
        assert_eq!(c, Call::Improved);
    }

    #[test]
    fn thirty_percent_less_is_a_regression_of_a_throughput_and_a_gain_of_a_latency() {
        let cur = scaled(&JITTER, 0.7);
        let (iv, p, c) = call(&BASE, &cur, Direction::HigherIsBetter);
        assert!(iv.lo <= 0.7 && 0.7 <= iv.hi, "{iv:?}");
        assert!(close(p, 1.0 / 252.0, 1e-12), "{p}");
        assert_eq!(c, Call::Regressed, "{iv:?}");
        let worse = iv.worse_ratio(Direction::HigherIsBetter);
        assert!(
            worse.lo > 1.1 && close(worse.ratio, 1.0 / iv.ratio, 1e-12),
            "{worse:?}"
        );
        let (_, _, c) = call(&BASE, &cur, Direction::LowerIsBetter);
        assert_eq!(c, Call::Improved);
    }

    #[test]
    fn three_percent_under_a_ten_percent_threshold_is_within_noise() {
        let cur = scaled(&JITTER, 1.03);
        let (iv, _, c) = call(&BASE, &cur, Direction::LowerIsBetter);
        assert!(iv.lo > 1.0 / 1.1 && iv.hi < 1.1, "{iv:?}");
        assert_eq!(c, Call::WithinNoise, "{iv:?}");
        let (_, _, c) = call(&BASE, &cur, Direction::HigherIsBetter);
        assert_eq!(c, Call::WithinNoise);
    }

    #[test]
    fn run_to_run_noise_alone_is_not_a_regression() {
        // ±20 % around 100 on both sides, no change: the spread of a p50 here.
        let base = [80.0, 95.0, 100.0, 110.0, 120.0];
        let cur = [118.0, 85.0, 102.0, 92.0, 112.0];
        for direction in [Direction::LowerIsBetter, Direction::HigherIsBetter] {
            let (iv, p, c) = call(&base, &cur, direction);
            assert!(p > 0.3, "{p}");
            assert!(matches!(c, Call::Inconclusive(_)), "{iv:?} {c:?}");
        }
    }

    #[test]
    fn the_repetition_path_needs_three_a_side() {
        assert_eq!(ratio_interval_over_repetitions(&[100.0], &[130.0]), None);
        assert_eq!(ratio_interval_over_repetitions(&BASE[..2], &BASE), None);
        assert_eq!(ratio_interval_over_repetitions(&BASE, &BASE[..2]), None);
        assert!(ratio_interval_over_repetitions(&BASE[..3], &BASE[..3]).is_some());
    }

    #[test]
    fn the_repetition_interval_is_repeatable() {
        let cur = scaled(&JITTER, 1.1);
        assert_eq!(
            ratio_interval_over_repetitions(&BASE, &cur),
            ratio_interval_over_repetitions(&BASE, &cur)
        );
    }

    /// 200 samples spread 0 … 99 above `center`, the same shape every time.
    fn samples(center: u64) -> Vec<u64> {
        (0..200).map(|i| center + (i * 37 % 100)).collect()
    }

    #[test]
    fn one_repetition_a_side_takes_the_sample_path() {
        let (base, cur) = (samples(1000), samples(1300));
        // Medians 1049.5 and 1349.5.
        let iv = ratio_interval_over_samples(&base, &cur).unwrap();
        assert!(close(iv.ratio, 1349.5 / 1049.5, 1e-12), "{iv:?}");
        assert!(iv.lo <= iv.ratio && iv.ratio <= iv.hi && iv.lo > 1.25 && iv.hi < 1.32);
        // No test on the weak path: the interval alone decides.
        let c = classify(&iv, None, Direction::LowerIsBetter, TAU, ALPHA);
        assert_eq!(c, Call::Regressed);
        let same = ratio_interval_over_samples(&base, &samples(1000)).unwrap();
        assert_eq!(
            classify(&same, None, Direction::LowerIsBetter, TAU, ALPHA),
            Call::WithinNoise
        );
        assert_eq!(ratio_interval_over_samples(&[], &cur), None);
        assert_eq!(ratio_interval_over_samples(&[0, 0, 5], &cur), None);
    }

    #[test]
    fn mann_whitney_exact_known_values() {
        let lower = Direction::LowerIsBetter;
        // Complete separation: 1 / C(6, 3) and 1 / C(10, 5).
        let p = mann_whitney_one_sided(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], lower).unwrap();
        assert!(close(p, 0.05, 1e-12), "{p}");
        let p = mann_whitney_one_sided(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[6.0, 7.0, 8.0, 9.0, 10.0],
            lower,
        )
        .unwrap();
        assert!(close(p, 1.0 / 252.0, 1e-12), "{p}");
        // One pair swapped: U = 8 of 9, P(U ≥ 8) = 2/20.
        let p = mann_whitney_one_sided(&[1.0, 2.0, 4.0], &[3.0, 5.0, 6.0], lower).unwrap();
        assert!(close(p, 0.1, 1e-12), "{p}");
        // The other way round nothing is worse: p = 1; for a throughput it is
        // complete separation again.
        let p = mann_whitney_one_sided(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0], lower).unwrap();
        assert_eq!(p, 1.0);
        let p = mann_whitney_one_sided(
            &[4.0, 5.0, 6.0],
            &[1.0, 2.0, 3.0],
            Direction::HigherIsBetter,
        )
        .unwrap();
        assert!(close(p, 0.05, 1e-12), "{p}");
        // The counts are the Gaussian binomial coefficients: symmetric, summing to C(n+m, n).
        let c = u_counts(3, 3);
        assert_eq!(c, vec![1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
        assert_eq!(u_counts(20, 20).iter().sum::<u64>(), 137_846_528_820);
    }

    #[test]
    fn the_smallest_p_sets_a_floor_on_repetitions() {
        assert!(close(mann_whitney_min_p(3, 3), 0.05, 1e-15));
        assert!(close(mann_whitney_min_p(4, 4), 1.0 / 70.0, 1e-15));
        assert!(close(mann_whitney_min_p(5, 5), 1.0 / 252.0, 1e-15));
        // With 3 a side even complete separation is not below α = 0.05.
        let cur = scaled(&JITTER[..3], 1.5);
        let (_, p, c) = call(&BASE[..3], &cur, Direction::LowerIsBetter);
        assert!(close(p, 0.05, 1e-12), "{p}");
        let Call::Inconclusive(why) = c else {
            panic!("{c:?}")
        };
        assert!(
            why.contains("adjusted p = 0.050 is not below α = 0.05"),
            "{why}"
        );
    }

    #[test]
    fn the_normal_approximation_is_close_to_the_exact_test_at_eight_a_side() {
        let (n, m) = (8, 8);
        let mut worst: f64 = 0.0;
        for u in 0..=n * m {
            let exact = exact_upper_tail(n, m, u).unwrap();
            let approx = normal_upper_tail(u as f64, n, m, 0.0);
            worst = worst.max((exact - approx).abs());
        }
        assert!(worst < 0.01, "{worst}");
        // And on data: 16 distinct values, the public function exact at 64 pairs.
        let base = [10.0, 12.0, 13.0, 15.0, 16.0, 18.0, 21.0, 22.0];
        let cur = [14.0, 17.0, 19.0, 20.0, 23.0, 24.0, 25.0, 27.0];
        let ranks = RankSum::of(&base, &cur, Direction::LowerIsBetter);
        let exact = mann_whitney_one_sided(&base, &cur, Direction::LowerIsBetter).unwrap();
        let approx = normal_upper_tail(ranks.u, n, m, ranks.tie_term);
        assert!(
            exact < 0.05 && close(exact, approx, 0.01),
            "{exact} {approx}"
        );
    }

    #[test]
    fn ties_take_the_corrected_normal_approximation() {
        // Everything tied: no order, no evidence.
        let p = mann_whitney_one_sided(&[5.0; 4], &[5.0; 4], Direction::LowerIsBetter).unwrap();
        assert_eq!(p, 1.0);
        // Ties, clear separation otherwise: small but not exact-test small.
        let base = [1.0, 1.0, 2.0, 3.0, 3.0];
        let cur = [3.0, 4.0, 5.0, 5.0, 6.0];
        let p = mann_whitney_one_sided(&base, &cur, Direction::LowerIsBetter).unwrap();
        assert!(p > 1.0 / 252.0 && p < 0.02, "{p}");
        let ranks = RankSum::of(&base, &cur, Direction::LowerIsBetter);
        // Ties: two 1.0s, three 3.0s, two 5.0s. U: the cur 3.0 is above 3 base
        // values and tied with 2 (4), each other cur value above all 5 (20).
        assert_eq!(
            ranks.tie_term,
            (8 - 2) as f64 + (27 - 3) as f64 + (8 - 2) as f64
        );
        assert_eq!(ranks.u, 24.0);
    }

    #[test]
    fn holm_known_example() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        // Capped at 1, monotone along the sorted order, NaN as 1.
        assert_eq!(holm(&[0.5, 0.6]), vec![1.0, 1.0]);
        assert_eq!(holm(&[0.2, f64::NAN]), vec![0.4, 1.0]);
        assert_eq!(holm(&[0.01]), vec![0.01]);
        assert!(holm(&[]).is_empty());
    }

    fn iv(lo: f64, hi: f64) -> RatioInterval {
        RatioInterval {
            ratio: (lo * hi).sqrt(),
            lo,
            hi,
        }
    }

    fn inconclusive(c: Call) -> String {
        match c {
            Call::Inconclusive(why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn classify_rules() {
        let lower = Direction::LowerIsBetter;
        let higher = Direction::HigherIsBetter;
        let c = |lo, hi, p, d| classify(&iv(lo, hi), p, d, TAU, ALPHA);
        assert_eq!(c(1.15, 1.40, Some(0.01), lower), Call::Regressed);
        assert_eq!(c(1.15, 1.40, None, lower), Call::Regressed);
        assert_eq!(c(0.70, 0.85, Some(1.0), lower), Call::Improved);
        assert_eq!(c(0.95, 1.08, Some(0.3), lower), Call::WithinNoise);
        // Bounds on the thresholds are within.
        assert_eq!(c(1.0 / 1.1, 1.1, Some(0.3), lower), Call::WithinNoise);
        // A throughput: ×0.80 … ×0.85 is ×1.18 … ×1.25 worse.
        assert_eq!(c(0.80, 0.85, Some(0.01), higher), Call::Regressed);
        assert_eq!(c(1.15, 1.40, Some(1.0), higher), Call::Improved);
        // Zero threshold: any resolved change decides.
        assert_eq!(
            classify(&iv(1.01, 1.02), None, lower, 0.0, ALPHA),
            Call::Regressed
        );
    }

    #[test]
    fn inconclusive_reasons_carry_the_numbers() {
        let lower = Direction::LowerIsBetter;
        let c = |lo, hi, p, d| inconclusive(classify(&iv(lo, hi), p, d, TAU, ALPHA));
        assert_eq!(
            c(0.97, 1.18, Some(0.2), lower),
            "the 95% interval ×0.970 … ×1.180 (-3.0% … +18.0%) crosses the regression \
             threshold +10.0% (×1.100) by 8.0 points"
        );
        assert_eq!(
            c(1.04, 1.18, Some(0.2), lower),
            "slower, but not clearly beyond the threshold: the 95% interval ×1.040 … ×1.180 \
             (+4.0% … +18.0%) excludes no change but crosses the regression threshold +10.0% \
             (×1.100) by 8.0 points"
        );
        let why = c(0.85, 0.98, None, lower);
        assert!(why.starts_with("faster, but not clearly"), "{why}");
        assert!(
            why.contains("improvement threshold -9.1% (×0.909) by 5.9 points"),
            "{why}"
        );
        let why = c(0.85, 1.05, None, lower);
        assert!(why.starts_with("the 95% interval ×0.850 … ×1.050"), "{why}");
        assert!(why.ends_with("crosses the improvement threshold -9.1% (×0.909) by 5.9 points"));
        let why = c(0.80, 1.25, Some(0.4), lower);
        assert!(why.contains("crosses both"), "{why}");
        assert!(why.contains("-9.1% (×0.909), by 10.9 points,"), "{why}");
        assert!(
            why.contains("+10.0% (×1.100), by 15.0 points: too wide"),
            "{why}"
        );
        // Beyond the threshold but not significant after Holm.
        let why = c(1.15, 1.40, Some(0.07), lower);
        assert!(
            why.contains("beyond the regression threshold +10.0%"),
            "{why}"
        );
        assert!(
            why.contains("adjusted p = 0.070 is not below α = 0.05"),
            "{why}"
        );
        // A throughput down 3 … 15 %: slower, and the regression edge is ×0.909.
        let why = c(0.85, 0.97, Some(0.2), Direction::HigherIsBetter);
        assert!(
            why.starts_with("slower, but not clearly beyond the threshold"),
            "{why}"
        );
        assert!(
            why.contains("regression threshold -9.1% (×0.909) by 5.9 points"),
            "{why}"
        );
    }

    #[test]
    fn bad_input_is_inconclusive_not_a_panic() {
        let lower = Direction::LowerIsBetter;
        let bad = RatioInterval {
            ratio: 1.0,
            lo: f64::NAN,
            hi: 1.0,
        };
        assert!(matches!(
            classify(&bad, None, lower, TAU, ALPHA),
            Call::Inconclusive(_)
        ));
        assert!(matches!(
            classify(&iv(1.2, 1.1), None, lower, TAU, ALPHA),
            Call::Inconclusive(_)
        ));
        assert!(matches!(
            classify(&iv(0.0, 1.1), None, lower, TAU, ALPHA),
            Call::Inconclusive(_)
        ));
        assert!(matches!(
            classify(&iv(1.5, 1.6), None, lower, -5.0, ALPHA),
            Call::Inconclusive(_)
        ));
        assert!(matches!(
            classify(&iv(1.5, 1.6), None, lower, f64::NAN, ALPHA),
            Call::Inconclusive(_)
        ));
    }
}
