//! Reading what charts need out of a [`Run`]: the cases of a probe, a metric's
//! raw values or summary, settings from a case's config, empirical CDFs.

use crate::record::{CaseResult, Run, Series, Status, Summary};

/// The measured cases of `probe`, in run order (skipped cases have no data).
pub fn cases<'a>(run: &'a Run, probe: &'a str) -> impl Iterator<Item = &'a CaseResult> {
    run.cases
        .iter()
        .filter(move |c| c.probe == probe && c.verdict.status != Status::Skip)
}

/// The raw values of `metric`, if the case has any.
pub fn series<'a>(case: &'a CaseResult, metric: &str) -> Option<&'a Series> {
    case.series
        .iter()
        .find(|s| s.metric == metric && !s.values.is_empty())
}

/// The summary of `metric`: from the raw values when present (a live run),
/// else the stored one (a run read back without its samples).
pub fn summary(case: &CaseResult, metric: &str) -> Option<Summary> {
    series(case, metric)
        .and_then(Summary::of)
        .or_else(|| case.summaries.iter().find(|s| s.metric == metric).cloned())
}

/// A single-valued metric (the first raw value, or the summary's median).
pub fn value(case: &CaseResult, metric: &str) -> Option<u64> {
    match series(case, metric) {
        Some(s) => s.values.first().copied(),
        None => case
            .summaries
            .iter()
            .find(|s| s.metric == metric)
            .map(|s| s.p50),
    }
}

pub fn config_str<'a>(case: &'a CaseResult, key: &str) -> Option<&'a str> {
    case.config.get(key)?.as_str()
}

pub fn config_u64(case: &CaseResult, key: &str) -> Option<u64> {
    case.config.get(key)?.as_u64()
}

pub fn config_f64(case: &CaseResult, key: &str) -> Option<f64> {
    case.config.get(key)?.as_f64()
}

/// A `Duration` as serde writes it (`{"secs": .., "nanos": ..}`), in ns.
pub fn config_ns(case: &CaseResult, key: &str) -> Option<u64> {
    let d = case.config.get(key)?;
    let nanos = d.get("nanos")?.as_u64()?;
    if nanos >= 1_000_000_000 {
        return None;
    }
    d.get("secs")?
        .as_u64()?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos)
}

/// Largest number of points a CDF line keeps: beyond it, evenly spaced quantiles.
const CDF_POINTS: usize = 1000;

/// The empirical CDF of `values` as a staircase of (value, fraction ≤ value),
/// from (min, 0) to (max, 1); empty for no values.
pub fn cdf(values: &[u64]) -> Vec<(f64, f64)> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    if n > CDF_POINTS {
        let mut pts = vec![(v[0] as f64, 0.0)];
        pts.extend((1..=CDF_POINTS).map(|i| {
            let q = i as f64 / CDF_POINTS as f64;
            let idx = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            (v[idx] as f64, q)
        }));
        return pts;
    }
    let mut pts = vec![(v[0] as f64, 0.0)];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[j + 1] == v[i] {
            j += 1;
        }
        let x = v[i] as f64;
        let before = i as f64 / n as f64;
        let after = (j + 1) as f64 / n as f64;
        if pts.last() != Some(&(x, before)) {
            pts.push((x, before));
        }
        pts.push((x, after));
        i = j + 1;
    }
    pts
}

/// `0,1` or `0-3` as a sorted list of CPU numbers (`None` if malformed).
pub fn cpus(list: &str) -> Option<Vec<u32>> {
    list.parse::<crate::cpulist::CpuList>()
        .ok()
        .map(|l| l.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_is_a_staircase_to_one() {
        assert_eq!(
            cdf(&[30, 10, 20, 20]),
            vec![
                (10.0, 0.0),
                (10.0, 0.25),
                (20.0, 0.25),
                (20.0, 0.75),
                (30.0, 0.75),
                (30.0, 1.0)
            ]
        );
        assert!(cdf(&[]).is_empty());
        let big: Vec<u64> = (0..10_000).collect();
        let c = cdf(&big);
        assert_eq!(c.len(), CDF_POINTS + 1);
        assert_eq!(c.last(), Some(&(9_999.0, 1.0)));
        assert_eq!(c[CDF_POINTS / 2], (4_999.0, 0.5));
    }
}
