//! Comparing runs (other kernels, machines, or days): lines up the same probe,
//! case and metric across runs, in the order the runs met them, so a report can
//! show one table per metric with a column per run. Only computes; the Markdown
//! comes from [`crate::sink::markdown::compare`].

use std::path::Path;

use crate::gate::{self, GateOptions, GateReport};
use crate::record::{CaseResult, Run, Status, Summary};

/// One probe across the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRows {
    pub probe: String,
    /// Every case any run has, with each run's verdicts, one a repetition
    /// (empty: the run lacks the case).
    pub cases: Vec<(String, Vec<Vec<Status>>)>,
    pub metrics: Vec<MetricRows>,
}

/// One run's value of a metric in a case, with the case's worst verdict
/// (`None`: not measured there). Over several repetitions, p50 and p99 are the
/// medians of the repetitions' own and `n` counts every sample.
pub type Cell = Option<(Summary, Status)>;

/// The column each run's change is measured against: the first run whose CPU
/// was emulated as much as its own. Timings under emulation (TCG) are
/// indicative only and say nothing against a real CPU's, so the host's
/// column is the reference of real CPUs and the first guest that of the guests.
pub fn references(runs: &[&Run]) -> Vec<usize> {
    runs.iter()
        .map(|r| {
            runs.iter()
                .position(|x| x.host.emulated() == r.host.emulated())
                .unwrap_or(0)
        })
        .collect()
}

/// Each run against its reference with the regression gate's statistics
/// (`None` for a reference itself), so a reader can tell a kernel difference
/// from noise.
pub fn deltas(runs: &[(String, Run)]) -> Vec<Option<GateReport>> {
    let refs = references(&runs.iter().map(|(_, r)| r).collect::<Vec<_>>());
    let opts = GateOptions {
        // Comparing kernels is the point here.
        across_hosts: true,
        ..GateOptions::default()
    };
    runs.iter()
        .enumerate()
        .map(|(i, (l, r))| {
            let j = refs[i];
            (j != i).then(|| gate::compare((&runs[j].0, &runs[j].1), (l, r), &opts))
        })
        .collect()
}

/// The summary of `metric` over `records` (a case's repetitions), and their worst verdict.
fn combined(records: &[&CaseResult], metric: &str, unit: &str) -> Cell {
    let found: Vec<(&Summary, Status)> = records
        .iter()
        .filter_map(|c| {
            c.summaries
                .iter()
                .find(|s| s.metric == metric && s.unit.id() == unit)
                .map(|s| (s, c.verdict.status))
        })
        .collect();
    let worst = found
        .iter()
        .map(|(_, st)| *st)
        .max_by_key(|s| s.severity())?;
    let mut s = found[0].0.clone();
    if found.len() > 1 {
        let median = |f: fn(&Summary) -> u64| {
            let mut v: Vec<u64> = found.iter().map(|(s, _)| f(s)).collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        s.p50 = median(|s| s.p50);
        s.p99 = median(|s| s.p99);
        s.n = found.iter().map(|(s, _)| s.n).sum();
        s.min = found.iter().map(|(s, _)| s.min).min().unwrap_or(s.min);
        s.max = found.iter().map(|(s, _)| s.max).max().unwrap_or(s.max);
    }
    Some((s, worst))
}

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
pub fn align<'a>(runs: &[&'a Run]) -> Vec<ProbeRows> {
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
            let find = |r: &'a Run, case: &str| -> Vec<&'a CaseResult> {
                r.cases
                    .iter()
                    .filter(|c| c.probe == probe && c.case == case)
                    .collect()
            };
            let case_rows = cases
                .iter()
                .map(|case| {
                    (
                        case.clone(),
                        runs.iter()
                            .map(|r| find(r, case).iter().map(|c| c.verdict.status).collect())
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
                                .map(|r| combined(&find(r, case), &metric, &unit))
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

/// One row of a comparison's `compare.csv`: a run's figure of a case (or,
/// for a case with no figures, just its verdicts).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FigureRow {
    /// The run's column (`A`, `B`, …) and label.
    pub column: String,
    pub label: String,
    pub kernel: String,
    pub cgroup_layout: String,
    /// `measured`, or `indicative` on an emulated CPU.
    pub timings: &'static str,
    pub probe: String,
    pub case: String,
    pub metric: String,
    pub unit: String,
    pub n: Option<u64>,
    pub p50: Option<u64>,
    pub p99: Option<u64>,
    /// The run's verdicts of the case: `pass`, or `fail 1/3` over repetitions.
    pub verdicts: String,
    /// The column this one's change is against (empty for a reference).
    pub reference: String,
    pub change_pct: Option<f64>,
    pub ci_lo_pct: Option<f64>,
    pub ci_hi_pct: Option<f64>,
    /// The gate's call on the change: regressed, improved, within_noise, inconclusive.
    pub call: String,
}

/// Every figure of every run, for `compare.csv`; `columns` names the runs,
/// `gates` are their [`deltas`].
pub fn figure_rows(
    runs: &[(String, Run)],
    columns: &[String],
    gates: &[Option<GateReport>],
) -> Vec<FigureRow> {
    let refs: Vec<&Run> = runs.iter().map(|(_, r)| r).collect();
    let reference = references(&refs);
    let mut out = Vec::new();
    for p in align(&refs) {
        for (case, statuses) in &p.cases {
            let metric_rows: Vec<&MetricRows> = p
                .metrics
                .iter()
                .filter(|m| m.rows.iter().any(|(c, _)| c == case))
                .collect();
            for (i, (label, run)) in runs.iter().enumerate() {
                if statuses[i].is_empty() {
                    continue;
                }
                let base = FigureRow {
                    column: columns[i].clone(),
                    label: label.clone(),
                    kernel: run.host.kernel_release.clone(),
                    cgroup_layout: run.host.cgroup_layout.clone(),
                    timings: if run.host.emulated() {
                        "indicative"
                    } else {
                        "measured"
                    },
                    probe: p.probe.clone(),
                    case: case.clone(),
                    metric: String::new(),
                    unit: String::new(),
                    n: None,
                    p50: None,
                    p99: None,
                    verdicts: tally_text(&statuses[i]),
                    reference: if reference[i] == i {
                        String::new()
                    } else {
                        columns[reference[i]].clone()
                    },
                    change_pct: None,
                    ci_lo_pct: None,
                    ci_hi_pct: None,
                    call: String::new(),
                };
                let mut any = false;
                for m in &metric_rows {
                    let Some((_, cells)) = m.rows.iter().find(|(c, _)| c == case) else {
                        continue;
                    };
                    let Some((s, _)) = &cells[i] else { continue };
                    any = true;
                    let mut row = base.clone();
                    row.metric = m.metric.clone();
                    row.unit = m.unit.clone();
                    (row.n, row.p50, row.p99) = (Some(s.n), Some(s.p50), Some(s.p99));
                    if reference[i] != i {
                        if let Some((b, _)) = &cells[reference[i]] {
                            row.change_pct = change_pct(b.p50, s.p50);
                        }
                        let gated = gates[i].as_ref().and_then(|g| {
                            g.metrics.iter().find(|r| {
                                r.probe == p.probe && r.case == *case && r.metric == m.metric
                            })
                        });
                        if let Some(g) = gated {
                            let pct = |x: Option<f64>| x.map(|x| (x - 1.0) * 100.0);
                            (row.ci_lo_pct, row.ci_hi_pct) = (pct(g.ratio_lo), pct(g.ratio_hi));
                            row.call = serde_json::to_value(g.outcome)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default();
                        }
                    }
                    out.push(row);
                }
                if !any {
                    out.push(base);
                }
            }
        }
    }
    out
}

/// `pass`, or the worst verdict and how many of the repetitions had it (`fail 1/3`).
pub fn tally_text(statuses: &[Status]) -> String {
    let Some(worst) = statuses.iter().copied().max_by_key(|s| s.severity()) else {
        return String::new();
    };
    let n = statuses.iter().filter(|s| **s == worst).count();
    if n == statuses.len() {
        worst.to_string()
    } else {
        format!("{worst} {n}/{}", statuses.len())
    }
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
                ("mnt-clone".to_string(), vec![vec![Status::Pass], vec![]]),
                (
                    "net-clone".to_string(),
                    vec![vec![Status::Pass], vec![Status::Fail]]
                )
            ]
        );
        let rows = &t[0].metrics[0].rows;
        assert!(rows[0].1[1].is_none());
        assert_eq!(rows[1].1[1].as_ref().unwrap().0.p50, 40);
    }

    #[test]
    fn repetitions_are_one_cell_with_the_median_and_the_worst_verdict() {
        let mut a = crate::sink::fixture::run();
        a.cases = vec![
            case(
                "ns_latency",
                "mnt-clone",
                vec![10, 10, 10],
                Verdict::pass(""),
            ),
            case(
                "ns_latency",
                "mnt-clone",
                vec![30, 30, 30],
                Verdict::fail("x"),
            ),
            case(
                "ns_latency",
                "mnt-clone",
                vec![20, 20, 20],
                Verdict::pass(""),
            ),
        ];
        let t = align(&[&a]);
        assert_eq!(
            t[0].cases[0].1,
            [vec![Status::Pass, Status::Fail, Status::Pass]]
        );
        let (s, status) = t[0].metrics[0].rows[0].1[0].clone().unwrap();
        assert_eq!((s.p50, s.n, s.min, s.max), (20, 9, 10, 30));
        assert_eq!(status, Status::Fail);
    }

    #[test]
    fn emulated_runs_are_measured_against_the_first_emulated_run() {
        let host = crate::sink::fixture::run();
        let mut guest = host.clone();
        guest.host.virtualization = "tcg (QEMU Standard PC)".into();
        assert!(guest.host.emulated() && !host.host.emulated());
        assert_eq!(references(&[&host, &guest, &host, &guest]), [0, 1, 0, 1]);
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
