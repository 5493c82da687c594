//! Records: the in-memory results every sink reads. A probe fills them, analysis
//! sets verdicts, sinks only format. `run.json` is these types serialized.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::host::Host;
pub use crate::units::Unit;

/// The version of the run.json / summary.csv / samples schema. Renaming or
/// removing a probe, case or metric id, a field or a column, or changing a unit,
/// is a schema change; adding one is not (readers ignore what they do not know).
pub const SCHEMA_VERSION: u32 = 1;

/// What "inconclusive" means, in the words every generated file uses (report.md,
/// junit.xml, results.ktap, the comparisons), so a reader meets one definition.
pub const INCONCLUSIVE_MEANS: &str = "the measurement could not decide (the reason says why: \
     a busy host, a run too short, a thread that never ran, …)";

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// The measurement could not decide: its reason says why (a busy host, a
    /// run too short, a thread that never ran, …). Not the kernel's fault, and
    /// not a pass: see [`INCONCLUSIVE_MEANS`], the one wording every output uses.
    Inconclusive,
    /// Not applicable here (missing controller, v2-only feature on v1, ...).
    Skip,
}

impl Status {
    /// How bad a verdict is, for picking the worst of several: fail, then
    /// inconclusive, skip, pass.
    pub fn severity(self) -> u8 {
        match self {
            Status::Pass => 0,
            Status::Skip => 1,
            Status::Inconclusive => 2,
            Status::Fail => 3,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Inconclusive => "inconclusive",
            Status::Skip => "skip",
        })
    }
}

/// A verdict always carries its reason, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub status: Status,
    pub reason: String,
}

impl Verdict {
    pub fn pass(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Pass,
            reason: reason.into(),
        }
    }
    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            reason: reason.into(),
        }
    }
    pub fn inconclusive(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Inconclusive,
            reason: reason.into(),
        }
    }
    pub fn skip(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Skip,
            reason: reason.into(),
        }
    }
}

/// Raw values of one metric, in the order measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// Stable snake_case id, e.g. `create`, `set_cpu_max`.
    pub metric: String,
    pub unit: Unit,
    pub values: Vec<u64>,
}

impl Series {
    pub fn new(metric: &str, unit: Unit, values: Vec<u64>) -> Series {
        Series {
            metric: metric.into(),
            unit,
            values,
        }
    }
}

/// Distribution of one metric: quantiles exact (nearest rank) up to
/// [`EXACT_UP_TO`] samples, from an HDR histogram at 3 significant digits above
/// that; mean, min and max always exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub metric: String,
    pub unit: Unit,
    pub n: u64,
    pub mean: f64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// Metrics whose id starts with this are time series (a trace of placement or
/// progress), kept as raw samples for charts; a distribution of them means nothing.
pub const TRACE_PREFIX: &str = "trace_";

/// Up to this many samples a summary's quantiles are exact: sorting is cheap, and
/// an HDR bucket's top (e.g. 1057791 for a page-multiple 1056768) would read as a
/// measured value.
pub const EXACT_UP_TO: usize = 100_000;

impl Summary {
    /// Summarises a series; `None` when it is empty or a trace.
    pub fn of(series: &Series) -> Option<Summary> {
        if series.metric.starts_with(TRACE_PREFIX) {
            return None;
        }
        let v = &series.values;
        let max = *v.iter().max()?;
        let min = *v.iter().min()?;
        const QUANTILES: [f64; 4] = [0.50, 0.90, 0.99, 0.999];
        let [p50, p90, p99, p999] = if v.len() <= EXACT_UP_TO {
            let mut sorted = v.clone();
            sorted.sort_unstable();
            // Nearest rank: the smallest value with at least p of the samples at or below it.
            QUANTILES.map(|p| {
                let rank = (p * sorted.len() as f64).ceil() as usize;
                sorted[rank.clamp(1, sorted.len()) - 1]
            })
        } else {
            let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, max.max(2), 3).ok()?;
            for &x in v {
                h.saturating_record(x);
            }
            QUANTILES.map(|p| h.value_at_quantile(p).clamp(min, max))
        };
        Some(Summary {
            metric: series.metric.clone(),
            unit: series.unit.clone(),
            n: v.len() as u64,
            mean: v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64,
            min,
            p50,
            p90,
            p99,
            p999,
            max,
        })
    }
}

/// A signed figure derived from samples, with its 95 % confidence interval: a
/// difference that may be negative and may not be resolved (the interval
/// spans 0), which a [`Summary`] of unsigned quantiles cannot hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub metric: String,
    pub unit: Unit,
    /// The point estimate.
    pub value: f64,
    /// The 95 % confidence interval.
    pub ci_lo: f64,
    pub ci_hi: f64,
    /// Samples behind it (of each side, for a difference).
    pub n: u64,
    /// How it was computed, for readers.
    pub method: String,
}

impl Estimate {
    /// Whether the interval excludes 0.
    pub fn resolved(&self) -> bool {
        self.ci_lo > 0.0 || self.ci_hi < 0.0
    }
}

/// One case of one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub probe: String,
    pub case: String,
    /// Which repetition of the case this is (1-based), in a run that repeats
    /// its latency cases; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition: Option<u32>,
    /// The case's settings as run (free-form, for readers).
    pub config: serde_json::Value,
    pub summaries: Vec<Summary>,
    /// Signed figures with their intervals (absent in folders of isobench ≤ 0.1.0 and where none was made).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub estimates: Vec<Estimate>,
    pub verdict: Verdict,
    /// Relative path of the raw samples in the run folder.
    pub samples_file: Option<String>,
    /// Raw samples. Their values go to `samples_file` only; run.json keeps the
    /// metric and unit of each one as `samples_columns`, in column order, because
    /// a CSV header `<metric>_<unit>` cannot be split back (both contain `_`).
    /// A loaded run has them refilled from the CSV ([`crate::folder::load`]).
    #[serde(
        rename = "samples_columns",
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "columns"
    )]
    pub series: Vec<Series>,
    /// Wall time of the whole case as run, in ns (absent in runs of isobench ≤ 0.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ns: Option<u64>,
}

/// `series` in run.json: `[{"metric": …, "unit": …}, …]` without the values.
mod columns {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Series, Unit};

    #[derive(Serialize, Deserialize)]
    struct Column<'a> {
        #[serde(borrow)]
        metric: std::borrow::Cow<'a, str>,
        unit: Unit,
    }

    pub fn serialize<S: Serializer>(series: &[Series], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(series.iter().map(|x| Column {
            metric: x.metric.as_str().into(),
            unit: x.unit.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Series>, D::Error> {
        let columns = Vec::<Column>::deserialize(d)?;
        Ok(columns
            .into_iter()
            .map(|c| Series::new(&c.metric, c.unit, Vec::new()))
            .collect())
    }
}

impl CaseResult {
    /// A finished case: it cannot exist without its verdict. `config` is the case as run.
    pub fn new(probe: &str, case: &str, config: impl Serialize, verdict: Verdict) -> CaseResult {
        CaseResult {
            probe: probe.into(),
            case: case.into(),
            repetition: None,
            config: serde_json::to_value(config).unwrap_or_default(),
            summaries: Vec::new(),
            estimates: Vec::new(),
            verdict,
            samples_file: None,
            series: Vec::new(),
            elapsed_ns: None,
        }
    }

    /// A finished case from its raw series, summarised as the probes summarise
    /// them (fixtures, benches and tools that build records by hand).
    pub fn measured(
        probe: &str,
        case: &str,
        config: impl Serialize,
        series: Vec<Series>,
        verdict: Verdict,
    ) -> CaseResult {
        CaseResult {
            summaries: series.iter().filter_map(Summary::of).collect(),
            series,
            ..CaseResult::new(probe, case, config, verdict)
        }
    }

    /// A setting of the case as run, read back typed (`"limit_bytes"` as `u64`,
    /// `"quota"` as `Duration`): the one reader of `config`, for reports and
    /// charts. `None` where the record does not hold it or holds something else
    /// (a run folder from elsewhere may hold anything).
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        T::deserialize(self.config.get(key)?).ok()
    }

    /// A text setting of the case as run, borrowed from the record.
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config.get(key)?.as_str()
    }

    /// The case id with its repetition, where there is one: `mnt-clone#2`. For
    /// lists that name every record (JUnit, KTAP, the terminal).
    pub fn label(&self) -> String {
        match self.repetition {
            Some(r) => format!("{}#{r}", self.case),
            None => self.case.clone(),
        }
    }

    /// The summary of `metric`, if it was measured.
    pub fn summary(&self, metric: &str) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.metric == metric)
    }

    /// The estimate of `metric`, if one was made.
    pub fn estimate(&self, metric: &str) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.metric == metric)
    }

    /// The raw values of `metric` (empty when not measured or not loaded).
    pub fn values(&self, metric: &str) -> &[u64] {
        self.series
            .iter()
            .find(|s| s.metric == metric)
            .map_or(&[], |s| &s.values)
    }
}

/// A case being measured: everything of a [`CaseResult`] but the verdict,
/// which the probe sets when it has judged. [`Measured::finish`] makes the
/// record; a case that reached no verdict is recorded as failed (a bug in the
/// probe), never as a pass.
#[derive(Debug, Clone)]
pub struct Measured {
    pub probe: String,
    pub case: String,
    pub config: serde_json::Value,
    pub summaries: Vec<Summary>,
    pub estimates: Vec<Estimate>,
    pub series: Vec<Series>,
    pub verdict: Option<Verdict>,
}

impl Measured {
    pub fn new(probe: &str, case: &str, config: impl Serialize) -> Measured {
        Measured {
            probe: probe.into(),
            case: case.into(),
            config: serde_json::to_value(config).unwrap_or_default(),
            summaries: Vec::new(),
            estimates: Vec::new(),
            series: Vec::new(),
            verdict: None,
        }
    }

    /// Sets the verdict (the last one set counts).
    pub fn judge(&mut self, v: Verdict) {
        self.verdict = Some(v);
    }

    /// The record of the case.
    pub fn finish(self) -> CaseResult {
        CaseResult {
            probe: self.probe,
            case: self.case,
            repetition: None,
            config: self.config,
            summaries: self.summaries,
            estimates: self.estimates,
            verdict: self.verdict.unwrap_or_else(|| {
                Verdict::fail("the probe reached no verdict (a bug in isobench; please report it)")
            }),
            samples_file: None,
            series: self.series,
            elapsed_ns: None,
        }
    }
}

/// A whole run: the one machine-readable source of a result folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub schema_version: u32,
    pub isobench_version: String,
    pub run_id: String,
    pub started_utc: String,
    pub finished_utc: Option<String>,
    /// Scenario files (or `<default scenario>`) and their parsed content.
    pub scenarios: Vec<(String, serde_json::Value)>,
    pub quick: bool,
    pub host: Host,
    pub cases: Vec<CaseResult>,
    /// Leftovers of earlier runs removed before this one started.
    pub stale_removed: Vec<String>,
    /// Set when the run was stopped by a signal before it finished.
    pub interrupted: bool,
    /// The interface files a cgroup of this run had, over every hierarchy,
    /// sorted (`cgroup.kill`, `memory.peak`, …): what this kernel offers.
    /// Empty in runs of isobench before it was recorded.
    #[serde(default)]
    pub interface_files: Vec<String>,
}

/// How many of `statuses` are each status, in the order pass, fail,
/// inconclusive, skip (the order every count line is written in).
pub fn status_counts(statuses: impl IntoIterator<Item = Status>) -> [(Status, usize); 4] {
    let mut counts = [
        (Status::Pass, 0),
        (Status::Fail, 0),
        (Status::Inconclusive, 0),
        (Status::Skip, 0),
    ];
    for s in statuses {
        if let Some(c) = counts.iter_mut().find(|(k, _)| *k == s) {
            c.1 += 1;
        }
    }
    counts
}

impl Run {
    /// Counts of each status.
    pub fn counts(&self) -> [(Status, usize); 4] {
        status_counts(self.cases.iter().map(|c| c.verdict.status))
    }

    pub fn failed(&self) -> bool {
        self.cases.iter().any(|c| c.verdict.status == Status::Fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_series() {
        let s = Series {
            metric: "create".into(),
            unit: Unit::Ns,
            values: (1..=100).collect(),
        };
        let sum = Summary::of(&s).unwrap();
        assert_eq!(sum.n, 100);
        assert_eq!(sum.min, 1);
        assert_eq!(sum.max, 100);
        assert_eq!(sum.p50, 50);
        assert_eq!(sum.p90, 90);
        assert_eq!(sum.p99, 99);
        assert!((sum.mean - 50.5).abs() < 1e-9);
        let empty = Series {
            metric: "x".into(),
            unit: Unit::Ns,
            values: vec![],
        };
        assert!(Summary::of(&empty).is_none());
    }

    #[test]
    fn small_series_have_exact_quantiles_large_ones_three_digits() {
        let s = Series::new("remove", Unit::Ns, vec![0, 1_234_567, 9_876_543_210]);
        let sum = Summary::of(&s).unwrap();
        assert_eq!(sum.min, 0);
        assert_eq!(sum.max, 9_876_543_210);
        assert_eq!(sum.p50, 1_234_567);
        let mut values = vec![1_234_567; EXACT_UP_TO];
        values.push(9_876_543_210);
        let big = Summary::of(&Series::new("remove", Unit::Ns, values)).unwrap();
        let rel = (big.p50 as f64 - 1_234_567.0).abs() / 1_234_567.0;
        assert!(rel < 0.001, "{}", big.p50);
        assert_eq!(big.max, 9_876_543_210);
    }

    #[test]
    fn traces_are_not_summarised() {
        assert!(Summary::of(&Series::new("trace_cpu", Unit::Cpu, vec![0, 1])).is_none());
    }
}
