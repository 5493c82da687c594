//! Bootstrap confidence intervals of a statistic of two samples, for figures
//! whose sampling distribution has no simple formula (the difference of two
//! medians of skewed latencies, a ratio of medians). Percentile bootstrap with a fixed seed:
//! the same samples always give the same interval, so a report can be
//! regenerated bit for bit.

/// Resamples drawn: the 2.5 % and 97.5 % quantiles of 2000 draws move by well
/// under a bucket of the samples' own resolution from one seed to the next.
pub const RESAMPLES: usize = 2000;

/// The seed (any fixed value: determinism, not secrecy).
const SEED: u64 = 0x1505_BE2C;

/// A signed estimate with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// Whether the interval excludes 0: the sign of the difference is known.
    pub fn resolved(&self) -> bool {
        self.lo > 0.0 || self.hi < 0.0
    }
}

/// The median of `v` (the mean of the two middle values for an even count);
/// reorders `v`.
pub fn median(v: &mut [u64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (_, &mut hi, _) = v.select_nth_unstable(n / 2);
    if n % 2 == 1 {
        return Some(hi as f64);
    }
    // The lower middle is the largest value left of the upper one.
    let lo = v[..n / 2].iter().copied().max().unwrap_or(hi);
    Some((lo as f64 + hi as f64) / 2.0)
}

/// The median of `v` (the mean of the two middle values for an even count);
/// reorders `v`. The values are ordered by [`f64::total_cmp`], so a NaN never
/// panics but lands at an end: callers pass finite values.
pub fn median_f64(v: &mut [f64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (_, &mut hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return Some(hi);
    }
    let lo = v[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(hi);
    Some((lo + hi) / 2.0)
}

/// median(a) − median(b) with a percentile-bootstrap 95 % interval: both
/// samples resampled with replacement [`RESAMPLES`] times. None when either
/// sample is empty.
pub fn median_difference(a: &[u64], b: &[u64]) -> Option<Interval> {
    let value = median(&mut a.to_vec())? - median(&mut b.to_vec())?;
    let (lo, hi) = percentile_interval(a, b, |ra, rb| Some(median(ra)? - median(rb)?))?;
    Some(Interval { value, lo, hi })
}

/// The 95 % percentile-bootstrap interval `(lo, hi)` of `statistic` of two
/// samples: each is resampled with replacement (to its own size, `a` then `b`
/// from one seeded generator) [`RESAMPLES`] times, and the 2.5 % and 97.5 %
/// quantiles of the statistic over the resamples are returned. The statistic
/// gets the resamples as scratch buffers it may reorder.
///
/// None when either sample is empty, or when the statistic is undefined (None
/// or NaN) on any resample: dropping those resamples would bias the interval
/// toward the resamples where it happens to exist.
pub fn percentile_interval<T, F>(a: &[T], b: &[T], mut statistic: F) -> Option<(f64, f64)>
where
    T: Copy,
    F: FnMut(&mut [T], &mut [T]) -> Option<f64>,
{
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut rng = fastrand::Rng::with_seed(SEED);
    let (mut ra, mut rb) = (a.to_vec(), b.to_vec());
    let mut values = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        ra.iter_mut().for_each(|x| *x = a[rng.usize(..a.len())]);
        rb.iter_mut().for_each(|x| *x = b[rng.usize(..b.len())]);
        values.push(statistic(&mut ra, &mut rb).filter(|v| !v.is_nan())?);
    }
    values.sort_by(f64::total_cmp);
    Some((
        quantile_of_sorted(&values, 0.025)?,
        quantile_of_sorted(&values, 0.975)?,
    ))
}

/// The `q` quantile of ascending `sorted` by nearest rank, no interpolation
/// (the rule `median_difference` has always used).
fn quantile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    sorted
        .get(((q * last as f64).round() as usize).min(last))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3, 1, 2]), Some(2.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn f64_medians() {
        assert_eq!(median_f64(&mut [3.0, -1.0, 2.0]), Some(2.0));
        assert_eq!(median_f64(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median_f64(&mut [0.5]), Some(0.5));
        assert_eq!(median_f64(&mut []), None);
    }

    #[test]
    fn an_interval_needs_both_samples_and_a_statistic_defined_everywhere() {
        let a = [1u64, 2, 3];
        assert_eq!(percentile_interval(&a, &[], |_, _| Some(0.0)), None);
        assert_eq!(percentile_interval(&[], &a, |_, _| Some(0.0)), None);
        assert_eq!(percentile_interval(&a, &a, |_, _| None), None);
        assert_eq!(percentile_interval(&a, &a, |_, _| Some(f64::NAN)), None);
        // A constant statistic has a zero-width interval at the constant.
        assert_eq!(
            percentile_interval(&a, &a, |_, _| Some(7.0)),
            Some((7.0, 7.0))
        );
    }

    /// A spread of values around `center`, the same shape every time.
    fn around(center: u64, n: u64) -> Vec<u64> {
        (0..n).map(|i| center + (i * 37 % 100)).collect()
    }

    #[test]
    fn a_clear_shift_is_resolved_with_its_sign() {
        let d = median_difference(&around(1500, 200), &around(1000, 200)).unwrap();
        assert!((d.value - 500.0).abs() < 1e-9, "{d:?}");
        assert!(
            d.lo > 450.0 && d.hi < 550.0 && d.lo <= d.value && d.value <= d.hi,
            "{d:?}"
        );
        assert!(d.resolved());
        let neg = median_difference(&around(1000, 200), &around(1500, 200)).unwrap();
        assert!(neg.value < 0.0 && neg.hi < 0.0 && neg.resolved(), "{neg:?}");
    }

    #[test]
    fn no_shift_is_not_resolved_and_is_repeatable() {
        let a = around(1000, 100);
        let b: Vec<u64> = a.iter().rev().map(|v| v + 1).collect();
        let d = median_difference(&a, &b).unwrap();
        assert!(d.lo < 0.0 && d.hi > 0.0 && !d.resolved(), "{d:?}");
        assert_eq!(median_difference(&a, &b), Some(d));
        assert_eq!(median_difference(&[], &b), None);
    }
}
