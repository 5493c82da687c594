//! Comparing runs (other kernels, machines, or days): lines up the same probe,
//! case and metric across runs, in the order the runs met them, so a report can
//! show one table per metric with a column per run. Only computes; the Markdown
//! comes from [`crate::sink::markdown::compare`].

use std::path::Path;

use crate::record::{Run, Status, Summary};

/// One probe across the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRows {
    pub probe: String,
    /// Every case any run has, with each run's verdict (`None`: the run lacks it).
    pub cases: Vec<(String, Vec<Option<Status>>)>,
    pub metrics: Vec<MetricRows>,
}

/// One run's value of a metric in a case, with the case's verdict (`None`: not measured there).
pub type Cell = Option<(Summary, Status)>;

/// One metric of a probe across the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRows {
    pub metric: String,
    pub unit: String,
    /// Cases that have this metric in some run, with each run's summary and verdict.
    pub rows: Vec<(String, Vec<Cell>)>,
}

/// Pushes `x` unless present; returns its position.
fn index_of<T: PartialEq>(v: &mut Vec<T>, x: T) -> usize {
    match v.iter().position(|y| *y == x) {
        Some(i) => i,
        None => {
            v.push(x);
            v.len() - 1
        }
    }
}

/// Aligns `runs` probe by probe, case by case, metric by metric.
pub fn align(runs: &[&Run]) -> Vec<ProbeRows> {
    let mut probes: Vec<String> = Vec::new();
    for r in runs {
        for c in &r.cases {
            index_of(&mut probes, c.probe.clone());
        }
    }
    probes
        .into_iter()
        .map(|probe| {
            let mut cases: Vec<String> = Vec::new();
            let mut metrics: Vec<(String, String)> = Vec::new();
            for r in runs {
                for c in r.cases.iter().filter(|c| c.probe == probe) {
                    index_of(&mut cases, c.case.clone());
                    for s in &c.summaries {
                        index_of(&mut metrics, (s.metric.clone(), s.unit.to_string()));
                    }
                }
            }
            let find = |r: &Run, case: &str| {
                r.cases
                    .iter()
                    .find(|c| c.probe == probe && c.case == case)
                    .cloned()
            };
            let case_rows = cases
                .iter()
                .map(|case| {
                    (
                        case.clone(),
                        runs.iter()
                            .map(|r| find(r, case).map(|c| c.verdict.status))
                            .collect(),
                    )
                })
                .collect();
            let metric_rows = metrics
                .into_iter()
                .map(|(metric, unit)| {
                    let rows = cases
                        .iter()
                        .filter_map(|case| {
                            let cells: Vec<Cell> = runs
                                .iter()
                                .map(|r| {
                                    let c = find(r, case)?;
                                    let s = c.summaries.iter().find(|s| {
                                        s.metric == *metric && s.unit.id() == unit.as_str()
                                    })?;
                                    Some((s.clone(), c.verdict.status))
                                })
                                .collect();
                            cells
                                .iter()
                                .any(Option::is_some)
                                .then(|| (case.clone(), cells))
                        })
                        .collect();
                    MetricRows { metric, unit, rows }
                })
                .collect();
            ProbeRows {
                probe,
                cases: case_rows,
                metrics: metric_rows,
            }
        })
        .collect()
}

/// A run's label: the folder name, prefixed with the kernel release unless the
/// name already says it (default folders are `<UTC time>-<kernel release>`).
pub fn label(dir: &Path, run: &Run) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    if name.contains(&run.host.kernel_release) {
        name
    } else {
        format!("{} {name}", run.host.kernel_release)
    }
}

/// Makes labels unique by appending ` #2`, ` #3`, … to repeats.
pub fn unique(labels: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let mut candidate = l.clone();
        let mut n = 1;
        while out.contains(&candidate) {
            n += 1;
            candidate = format!("{l} #{n}");
        }
        out.push(candidate);
    }
    out
}

/// Relative change from `a` to `b` in percent (`None` when `a` is 0).
pub fn change_pct(a: u64, b: u64) -> Option<f64> {
    (a != 0).then(|| (b as f64 - a as f64) / a as f64 * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CaseResult, Series, Verdict};

    fn case(probe: &str, id: &str, values: Vec<u64>, verdict: Verdict) -> CaseResult {
        let s = Series::new("latency", crate::units::Unit::Ns, values);
        CaseResult::measured(probe, id, (), vec![s], verdict)
    }

    #[test]
    fn aligns_cases_missing_from_one_run() {
        let mut a = crate::sink::fixture::run();
        a.cases = vec![
            case("ns_latency", "mnt-clone", vec![10, 20], Verdict::pass("")),
            case("ns_latency", "net-clone", vec![30], Verdict::pass("")),
        ];
        let mut b = a.clone();
        b.cases = vec![case(
            "ns_latency",
            "net-clone",
            vec![40],
            Verdict::fail("x"),
        )];
        let t = align(&[&a, &b]);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0].cases,
            [
                ("mnt-clone".to_string(), vec![Some(Status::Pass), None]),
                (
                    "net-clone".to_string(),
                    vec![Some(Status::Pass), Some(Status::Fail)]
                )
            ]
        );
        let rows = &t[0].metrics[0].rows;
        assert!(rows[0].1[1].is_none());
        assert_eq!(rows[1].1[1].as_ref().unwrap().0.p50, 40);
    }

    #[test]
    fn labels() {
        let run = crate::sink::fixture::run();
        let rel = run.host.kernel_release.clone();
        assert_eq!(
            label(Path::new(&format!("results/20260101T000000Z-{rel}")), &run),
            format!("20260101T000000Z-{rel}")
        );
        assert_eq!(
            label(Path::new("/x/default"), &run),
            format!("{rel} default")
        );
        assert_eq!(
            unique(vec!["a".into(), "a".into(), "b".into()]),
            ["a", "a #2", "b"]
        );
        assert_eq!(change_pct(100, 112), Some(12.0));
        assert_eq!(change_pct(0, 1), None);
    }
}
