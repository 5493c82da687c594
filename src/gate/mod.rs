//! The CI regression gate: `isobench compare BASE CUR` compares two run
//! folders, case by case, and says which figures regressed, improved or stayed
//! within the noise — or why it cannot tell.
//!
//! The unit of evidence is a repetition (a fresh run of a case's workers), not
//! a sample: samples of one process share that process's luck, and on a shared
//! 2-CPU machine a namespace p50 moves ±15–25 % from one run to the next. So a
//! figure is the median of each repetition; with at least
//! [`stats::MIN_REPETITIONS`] a side the change is the Hodges–Lehmann shift of
//! those medians with a bootstrap interval over repetitions and a one-sided
//! Mann–Whitney U, Holm-corrected over every figure gated. With fewer, a
//! bootstrap over the samples gives an interval marked as weak evidence, which
//! can report a slowdown but never fails a gate.

pub mod baseline;
pub mod render;
pub mod stats;

use serde::Serialize;

use crate::probe::Group;
use crate::record::{CaseResult, Run, Status};
use crate::units::Unit;
use stats::{Call, Direction, RatioInterval};

/// How the gate judges.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// τ: a change within ±τ % is noise (default 10).
    pub threshold_pct: f64,
    /// Per-metric τ (`--metric-threshold latency=15`), over the default.
    pub metric_thresholds: Vec<(String, f64)>,
    /// The significance level of the Holm-corrected test.
    pub alpha: f64,
    /// Judge figures of different hosts too (`isobench report` across
    /// kernels, where the difference is the point); the gate does not.
    pub across_hosts: bool,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            threshold_pct: 10.0,
            metric_thresholds: Vec::new(),
            alpha: 0.05,
            across_hosts: false,
        }
    }
}

impl GateOptions {
    fn threshold_for(&self, metric: &str) -> f64 {
        self.metric_thresholds
            .iter()
            .rev()
            .find(|(m, _)| m == metric)
            .map_or(self.threshold_pct, |(_, t)| *t)
    }
}

/// Metrics of latency probes that are not gated: teardown of network
/// namespaces is asynchronous and its drain time follows the kernel's RCU and
/// worker scheduling more than the code under test; the interleaved clones
/// without a namespace repeat the `none-clone` case.
const NOT_GATED: [&str; 3] = ["drain", "sustained_drain", "baseline_latency"];

/// The direction of a metric of a latency probe, if it is gated.
fn direction(metric: &str, unit: &Unit) -> Option<Direction> {
    if NOT_GATED.contains(&metric) || metric.starts_with(crate::record::TRACE_PREFIX) {
        return None;
    }
    match unit {
        Unit::Ns => Some(Direction::LowerIsBetter),
        Unit::OpsPerS | Unit::BytesPerS => Some(Direction::HigherIsBetter),
        _ => None,
    }
}

/// The gate's call on one figure, as written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Regressed,
    Improved,
    WithinNoise,
    Inconclusive,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Regressed => "regressed",
            Outcome::Improved => "improved",
            Outcome::WithinNoise => "within noise",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// One gated figure: a metric of a case in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    pub probe: String,
    pub case: String,
    pub metric: String,
    pub unit: Unit,
    /// `lower_is_better` or `higher_is_better`.
    pub better: &'static str,
    /// Repetitions with this metric, each side.
    pub base_repetitions: usize,
    pub cur_repetitions: usize,
    /// Median of the repetitions' medians, each side.
    pub base_median: f64,
    pub cur_median: f64,
    /// cur / base with its 95 % interval.
    pub ratio: Option<f64>,
    pub ratio_lo: Option<f64>,
    pub ratio_hi: Option<f64>,
    /// One-sided Mann–Whitney p (repetitions path), and Holm-adjusted.
    pub p: Option<f64>,
    pub p_adjusted: Option<f64>,
    /// The interval comes from samples, not repetitions (fewer than
    /// [`stats::MIN_REPETITIONS`] a side).
    pub weak: bool,
    pub threshold_pct: f64,
    pub outcome: Outcome,
    pub reason: String,
}

/// A case's verdict in both runs, where it matters to the gate.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictRow {
    pub probe: String,
    pub case: String,
    /// None: the case is not in that run.
    pub base: Option<Status>,
    pub cur: Option<Status>,
    /// A verdict that was not `fail` and now is: always a regression.
    pub regressed: bool,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    pub base: String,
    pub cur: String,
    pub threshold_pct: f64,
    pub alpha: f64,
    /// Why no figure can be decided (different hosts, a busy host), if so.
    pub incomparable: Option<String>,
    pub metrics: Vec<MetricRow>,
    /// Verdicts that differ, and cases present in one run only.
    pub verdicts: Vec<VerdictRow>,
}

impl GateReport {
    /// Regressed figures plus verdicts that became `fail`.
    pub fn regressions(&self) -> usize {
        self.metrics
            .iter()
            .filter(|m| m.outcome == Outcome::Regressed)
            .count()
            + self.verdicts.iter().filter(|v| v.regressed).count()
    }

    pub fn count(&self, o: Outcome) -> usize {
        self.metrics.iter().filter(|m| m.outcome == o).count()
    }

    /// 0 nothing regressed; 1 something did (or, `strict`, something could not
    /// be decided).
    pub fn exit_code(&self, strict: bool) -> u8 {
        let undecided = self.count(Outcome::Inconclusive) > 0 || self.incomparable.is_some();
        u8::from(self.regressions() > 0 || (strict && undecided))
    }
}

/// The host fields whose difference makes two runs' figures incomparable,
/// and whether either host was busy.
pub fn incomparable(base: &Run, cur: &Run) -> Option<String> {
    let (a, b) = (&base.host, &cur.host);
    let fields: [(&str, String, String); 5] = [
        ("kernel", a.kernel_release.clone(), b.kernel_release.clone()),
        ("CPU model", a.cpu_model.clone(), b.cpu_model.clone()),
        (
            "CPU count",
            a.cpus_online_count.to_string(),
            b.cpus_online_count.to_string(),
        ),
        (
            "cgroup layout",
            a.cgroup_layout.clone(),
            b.cgroup_layout.clone(),
        ),
        (
            "virtualisation",
            a.virtualization.clone(),
            b.virtualization.clone(),
        ),
    ];
    let mut why: Vec<String> = fields
        .iter()
        .filter(|(_, x, y)| x != y)
        .map(|(k, x, y)| format!("{k} {x:?} vs {y:?}"))
        .collect();
    for (side, h) in [("base", a), ("current", b)] {
        if busy(h) {
            why.push(format!(
                "the {side} run's host was busy ({} when it started)",
                h.busy_basis()
            ));
        }
    }
    (!why.is_empty()).then(|| format!("the runs are not comparable: {}", why.join("; ")))
}

/// Whether a run's host was too busy for its figures to be compared: as the
/// run judged it from its CPU sample; a run recorded before the sample
/// existed, by a load average above the CPU count (its own `busy`, above half
/// of them, a run just before it on the same machine reached by itself: the
/// one-minute average still counts it).
fn busy(h: &crate::host::Host) -> bool {
    match h.cpu_sample {
        Some(_) => h.busy,
        None => h.load_avg_1m > h.cpus_online_count as f64,
    }
}

/// Whether a record belongs to a latency probe (the figures the gate compares).
fn is_latency(c: &CaseResult) -> bool {
    crate::probe::find(&c.probe).is_some_and(|p| p.group() == Group::Latency)
}

/// Per repetition of a case, the median of `metric` (repetitions with no value skipped).
fn medians(records: &[&CaseResult], metric: &str) -> Vec<f64> {
    records
        .iter()
        .filter_map(|c| crate::bootstrap::median(&mut c.values(metric).to_vec()))
        .collect()
}

/// Every value of `metric` over all repetitions.
fn pooled(records: &[&CaseResult], metric: &str) -> Vec<u64> {
    records
        .iter()
        .flat_map(|c| c.values(metric).iter().copied())
        .collect()
}

/// The records of each (probe, case), in first-seen order.
fn by_case(run: &Run) -> Vec<((String, String), Vec<&CaseResult>)> {
    let mut out: Vec<((String, String), Vec<&CaseResult>)> = Vec::new();
    for c in &run.cases {
        let key = (c.probe.clone(), c.case.clone());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(c),
            None => out.push((key, vec![c])),
        }
    }
    out
}

/// The worst verdict of a case's repetitions.
fn worst(records: &[&CaseResult]) -> Option<Status> {
    records
        .iter()
        .map(|c| c.verdict.status)
        .max_by_key(|s| s.severity())
}

/// Compares `cur` with `base`. Both runs must have their samples loaded
/// ([`crate::folder::load`]): the figures come from the raw samples.
pub fn compare(base: (&str, &Run), cur: (&str, &Run), opts: &GateOptions) -> GateReport {
    let incomparable = incomparable(base.1, cur.1).filter(|_| !opts.across_hosts);
    let (b, c) = (by_case(base.1), by_case(cur.1));
    let mut verdicts = Vec::new();
    let mut metrics = Vec::new();
    for (key, cur_recs) in &c {
        let base_recs = b.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let (bs, cs) = (base_recs.and_then(|v| worst(v)), worst(cur_recs));
        if bs != cs {
            verdicts.push(VerdictRow {
                probe: key.0.clone(),
                case: key.1.clone(),
                base: bs,
                cur: cs,
                regressed: cs == Some(Status::Fail) && bs.is_some_and(|s| s != Status::Fail),
            });
        }
        let Some(base_recs) = base_recs else { continue };
        if !cur_recs.first().is_some_and(|r| is_latency(r)) {
            continue;
        }
        for s in cur_recs.iter().flat_map(|r| r.series.iter()) {
            let Some(dir) = direction(&s.metric, &s.unit) else {
                continue;
            };
            if metrics
                .iter()
                .any(|m: &MetricRow| m.probe == key.0 && m.case == key.1 && m.metric == s.metric)
            {
                continue;
            }
            if let Some(row) = figure(key, &s.metric, &s.unit, dir, base_recs, cur_recs, opts) {
                metrics.push(row);
            }
        }
    }
    for (key, base_recs) in &b {
        if !c.iter().any(|(k, _)| k == key) {
            verdicts.push(VerdictRow {
                probe: key.0.clone(),
                case: key.1.clone(),
                base: worst(base_recs),
                cur: None,
                regressed: false,
            });
        }
    }
    decide(&mut metrics, opts, incomparable.as_deref());
    GateReport {
        base: base.0.to_string(),
        cur: cur.0.to_string(),
        threshold_pct: opts.threshold_pct,
        alpha: opts.alpha,
        incomparable,
        metrics,
        verdicts,
    }
}

/// The interval and p-value of one figure (its call comes later, in
/// [`decide`], once every p-value is known for Holm's correction).
fn figure(
    key: &(String, String),
    metric: &str,
    unit: &Unit,
    dir: Direction,
    base: &[&CaseResult],
    cur: &[&CaseResult],
    opts: &GateOptions,
) -> Option<MetricRow> {
    let (bm, cm) = (medians(base, metric), medians(cur, metric));
    if bm.is_empty() || cm.is_empty() {
        return None;
    }
    let strong = bm.len() >= stats::MIN_REPETITIONS && cm.len() >= stats::MIN_REPETITIONS;
    let interval = if strong {
        stats::ratio_interval_over_repetitions(&bm, &cm)
    } else {
        stats::ratio_interval_over_samples(&pooled(base, metric), &pooled(cur, metric))
    };
    let p = if strong {
        stats::mann_whitney_one_sided(&bm, &cm, dir)
    } else {
        None
    };
    let mid = |v: &[f64]| crate::bootstrap::median_f64(&mut v.to_vec()).unwrap_or(0.0);
    Some(MetricRow {
        probe: key.0.clone(),
        case: key.1.clone(),
        metric: metric.to_string(),
        unit: unit.clone(),
        better: match dir {
            Direction::LowerIsBetter => "lower_is_better",
            Direction::HigherIsBetter => "higher_is_better",
        },
        base_repetitions: bm.len(),
        cur_repetitions: cm.len(),
        base_median: mid(&bm),
        cur_median: mid(&cm),
        ratio: interval.map(|i| i.ratio),
        ratio_lo: interval.map(|i| i.lo),
        ratio_hi: interval.map(|i| i.hi),
        p,
        p_adjusted: None,
        weak: !strong,
        threshold_pct: opts.threshold_for(metric),
        outcome: Outcome::Inconclusive,
        reason: String::new(),
    })
}

/// Holm-corrects the p-values of the figures on the repetitions path, then
/// makes each call.
fn decide(metrics: &mut [MetricRow], opts: &GateOptions, incomparable: Option<&str>) {
    let tested: Vec<usize> = (0..metrics.len())
        .filter(|&i| metrics[i].p.is_some())
        .collect();
    let p: Vec<f64> = tested.iter().filter_map(|&i| metrics[i].p).collect();
    for (&i, adj) in tested.iter().zip(stats::holm(&p)) {
        metrics[i].p_adjusted = Some(adj);
    }
    for m in metrics.iter_mut() {
        let (outcome, reason) = call(m, opts, incomparable);
        m.outcome = outcome;
        m.reason = reason;
    }
}

/// The call on one figure, with its reason.
fn call(m: &MetricRow, opts: &GateOptions, incomparable: Option<&str>) -> (Outcome, String) {
    let (Some(ratio), Some(lo), Some(hi)) = (m.ratio, m.ratio_lo, m.ratio_hi) else {
        return (
            Outcome::Inconclusive,
            "no interval: a median of 0 or a value that is not a number".into(),
        );
    };
    let dir = if m.better == "lower_is_better" {
        Direction::LowerIsBetter
    } else {
        Direction::HigherIsBetter
    };
    let interval = RatioInterval { ratio, lo, hi };
    let figures = format!(
        "×{ratio:.3} (95% CI ×{lo:.3} … ×{hi:.3}) over {} → {} repetitions",
        m.base_repetitions, m.cur_repetitions
    );
    if let Some(why) = incomparable {
        return (Outcome::Inconclusive, format!("{why}; measured {figures}"));
    }
    let p_text = m
        .p_adjusted
        .map_or(String::new(), |p| format!(", Holm-adjusted p = {p:.3}"));
    match stats::classify(&interval, m.p_adjusted, dir, m.threshold_pct, opts.alpha) {
        Call::Regressed if m.weak => (
            Outcome::Inconclusive,
            format!(
                "weak evidence: {figures} (an interval over samples, blind to run-to-run noise) is beyond \
                 the ±{}% threshold; run at least {} repetitions a side (--repeat) to decide",
                m.threshold_pct,
                stats::MIN_REPETITIONS
            ),
        ),
        Call::Regressed => (
            Outcome::Regressed,
            format!("{figures}{p_text}: worse by more than {}%", m.threshold_pct),
        ),
        Call::Improved => (
            Outcome::Improved,
            format!("{figures}{p_text}: better by more than {}%", m.threshold_pct),
        ),
        Call::WithinNoise => (
            Outcome::WithinNoise,
            format!(
                "{figures}{p_text}: within ±{}%{}",
                m.threshold_pct,
                if m.weak { " (weak evidence: samples)" } else { "" }
            ),
        ),
        Call::Inconclusive(why) => (Outcome::Inconclusive, format!("{why}; {figures}{p_text}")),
    }
}

#[cfg(test)]
mod tests;
