//! `summary.csv` (one row per case and metric) and `samples/*.csv` (raw values).

use super::Sink;
use crate::record::{CaseResult, Run};

/// The columns of summary.csv, in order (schema version 1).
pub const SUMMARY_COLUMNS: [&str; 12] = [
    "probe", "case", "metric", "unit", "n", "mean", "p50", "p90", "p99", "max", "verdict", "reason",
];

pub struct SummaryCsv;

impl Sink for SummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    /// A case without measurements (skipped) still gets a row, with empty metric
    /// columns, so every verdict is in the file.
    fn render(&self, run: &Run) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(SUMMARY_COLUMNS)?;
        for c in &run.cases {
            let verdict = c.verdict.status.to_string();
            if c.summaries.is_empty() && c.estimates.is_empty() {
                w.write_record([
                    c.probe.as_str(),
                    &c.label(),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &verdict,
                    &c.verdict.reason,
                ])?;
            }
            for s in &c.summaries {
                w.write_record([
                    c.probe.clone(),
                    c.label(),
                    s.metric.clone(),
                    s.unit.to_string(),
                    s.n.to_string(),
                    format!("{:.1}", s.mean),
                    s.p50.to_string(),
                    s.p90.to_string(),
                    s.p99.to_string(),
                    s.max.to_string(),
                    verdict.clone(),
                    c.verdict.reason.clone(),
                ])?;
            }
            // A signed estimate (a difference) has no quantiles: n and the
            // estimate as `mean`; its interval is in run.json.
            for e in &c.estimates {
                w.write_record([
                    c.probe.clone(),
                    c.label(),
                    e.metric.clone(),
                    e.unit.to_string(),
                    e.n.to_string(),
                    format!("{:.1}", e.value),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    verdict.clone(),
                    c.verdict.reason.clone(),
                ])?;
            }
        }
        Ok(w.into_inner()?)
    }
}

/// `compare.csv` of a comparison: one row per run, case and metric.
pub fn comparison(rows: &[crate::compare::FigureRow]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    if rows.is_empty() {
        w.write_record(["column"])?;
    }
    Ok(w.into_inner()?)
}

/// A case's raw samples, one column per metric named `<metric>_<unit>`, one row per
/// sample index (a metric measured fewer times leaves its later cells empty).
pub fn samples(case: &CaseResult) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["index".to_string()];
    header.extend(
        case.series
            .iter()
            .map(|s| format!("{}_{}", s.metric, s.unit)),
    );
    w.write_record(&header)?;
    let rows = case
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0);
    for i in 0..rows {
        let mut row = vec![i.to_string()];
        row.extend(
            case.series
                .iter()
                .map(|s| s.values.get(i).map(u64::to_string).unwrap_or_default()),
        );
        w.write_record(&row)?;
    }
    Ok(w.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Series, Verdict};

    fn case(series: Vec<Series>, verdict: Verdict) -> CaseResult {
        CaseResult::measured("cgroup_lifecycle", "cpu", (), series, verdict)
    }

    #[test]
    fn samples_are_wide_with_units_in_the_header() {
        let c = case(
            vec![
                Series {
                    metric: "create".into(),
                    unit: crate::units::Unit::Ns,
                    values: vec![10, 20],
                },
                Series {
                    metric: "memory_current".into(),
                    unit: crate::units::Unit::Bytes,
                    values: vec![4096],
                },
            ],
            Verdict::pass("ok"),
        );
        let text = String::from_utf8(samples(&c).unwrap()).unwrap();
        assert_eq!(
            text,
            "index,create_ns,memory_current_bytes\n0,10,4096\n1,20,\n"
        );
    }

    #[test]
    fn summary_rows_and_a_row_for_a_skipped_case() {
        let run_case = case(
            vec![Series {
                metric: "create".into(),
                unit: crate::units::Unit::Ns,
                values: vec![100, 200, 300],
            }],
            Verdict::pass("fine, really"),
        );
        let skipped = CaseResult {
            case: "memory-high".into(),
            ..case(vec![], Verdict::skip("v2 only"))
        };
        let host = crate::sink::fixture::host();
        let run = Run {
            schema_version: 1,
            isobench_version: "0".into(),
            run_id: "r".into(),
            started_utc: "t".into(),
            finished_utc: None,
            scenarios: vec![],
            quick: false,
            host,
            cases: vec![run_case, skipped],
            stale_removed: vec![],
            interrupted: false,
            interface_files: Vec::new(),
        };
        let text = String::from_utf8(SummaryCsv.render(&run).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "probe,case,metric,unit,n,mean,p50,p90,p99,max,verdict,reason"
        );
        assert_eq!(
            lines[1],
            "cgroup_lifecycle,cpu,create,ns,3,200.0,200,300,300,300,pass,\"fine, really\""
        );
        assert_eq!(
            lines[2],
            "cgroup_lifecycle,memory-high,,,,,,,,,skip,v2 only"
        );
    }

    #[test]
    fn snapshot_of_a_fixed_run() {
        let run = crate::sink::fixture::run();
        let text = String::from_utf8(SummaryCsv.render(&run).unwrap()).unwrap();
        insta::assert_snapshot!("summary_csv", text);
        let quota = run.cases.iter().find(|c| c.probe == "cpu_quota").unwrap();
        let text = String::from_utf8(samples(quota).unwrap()).unwrap();
        insta::assert_snapshot!("samples_csv", text);
    }
}
