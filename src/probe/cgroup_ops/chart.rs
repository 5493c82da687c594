//! Charts of the `cgroup_ops` probe: operation latency against the number of
//! sibling cgroups, of one run and of several.

use super::PROBE as OPS;
use crate::record::{CaseResult, Run};

use crate::chart::data::{cases, summary};
use crate::chart::figure::{palette, Axis, Figure, Marker, Style, Swatch, Unit};

/// `s<N>` cases with their sibling count, fewest siblings first.
fn ops_cases(run: &Run) -> Vec<(u64, &CaseResult)> {
    let mut v: Vec<(u64, &CaseResult)> = cases(run, OPS)
        .filter_map(|c| {
            let n = c
                .config::<u64>("siblings")
                .or_else(|| c.case.strip_prefix('s').and_then(|n| n.parse().ok()))?;
            Some((n, c))
        })
        .collect();
    v.sort_by_key(|(n, _)| *n);
    v
}

/// The timed operations (metrics in ns), in the order the probe records them.
fn operations<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Vec<String> {
    let mut ops: Vec<String> = Vec::new();
    for c in cases {
        let names = c
            .series
            .iter()
            .map(|s| (&s.metric, &s.unit))
            .chain(c.summaries.iter().map(|s| (&s.metric, &s.unit)));
        for (m, u) in names {
            if *u == crate::units::Unit::Ns && !ops.contains(m) {
                ops.push(m.clone());
            }
        }
    }
    ops
}

fn op_name(metric: &str) -> String {
    metric.trim_end_matches("_latency").replace('_', " ")
}

/// The sibling axis: log when the counts span a factor of ten or more, ticks at
/// the counts measured.
fn siblings_axis(counts: &[u64]) -> Axis {
    let ticks: Vec<f64> = counts.iter().map(|n| *n as f64).collect();
    let (lo, hi) = (
        counts.iter().copied().min().unwrap_or(1),
        counts.iter().copied().max().unwrap_or(1),
    );
    let label = "sibling cgroups";
    if lo > 0 && hi >= 10 * lo {
        Axis::log(label, Unit::Count).ticks(ticks)
    } else {
        Axis::linear(label, Unit::Count).ticks(ticks)
    }
}

/// p50 (solid, dots) and p99 (dashed) of `metric` against sibling count.
fn op_lines(fig: &mut Figure, cases: &[(u64, &CaseResult)], metric: &str, style: Style) -> bool {
    let pts: Vec<(f64, f64, f64)> = cases
        .iter()
        .filter_map(|(n, c)| {
            let s = summary(c, metric)?;
            Some((*n as f64, s.p50 as f64, s.p99 as f64))
        })
        .collect();
    if pts.is_empty() {
        return false;
    }
    fig.line(
        pts.iter().map(|p| (p.0, p.1)).collect(),
        style.marker(Marker::Dot),
    );
    fig.line(
        pts.iter().map(|p| (p.0, p.2)).collect(),
        style.dashed().thin(),
    );
    true
}

/// `cgroup-ops-siblings`: every operation's p50 and p99 against sibling count.
pub(super) fn ops_chart(run: &Run) -> Option<Figure> {
    let cases = ops_cases(run);
    if cases.is_empty() {
        return None;
    }
    let counts: Vec<u64> = cases.iter().map(|(n, _)| *n).collect();
    let mut fig = Figure::new(
        "cgroup-ops-siblings",
        "cgroup operation latency against the number of sibling cgroups",
        OPS,
        siblings_axis(&counts),
        Axis::log("latency", Unit::Ns),
    );
    for (i, op) in operations(cases.iter().map(|(_, c)| *c)).iter().enumerate() {
        let style = Style::line(palette(i));
        if op_lines(&mut fig, &cases, op, style) {
            fig.entry(op_name(op), Swatch::Line(style.marker(Marker::Dot)));
        }
    }
    fig.entry("solid: p50, dashed: p99", Swatch::Note);
    fig.has_data().then(|| {
        fig.fit();
        fig
    })
}

/// `compare-cgroup-ops-<operation>`: one operation's p50 and p99 against
/// sibling count, a line per run.
pub(crate) fn compare(runs: &[(String, Run)]) -> Vec<Figure> {
    let per_run: Vec<(&str, Vec<(u64, &CaseResult)>)> = runs
        .iter()
        .map(|(l, r)| (l.as_str(), ops_cases(r)))
        .collect();
    let mut counts: Vec<u64> = per_run
        .iter()
        .flat_map(|(_, c)| c.iter().map(|(n, _)| *n))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    let ops = operations(per_run.iter().flat_map(|(_, c)| c.iter().map(|(_, c)| *c)));
    let mut out = Vec::new();
    for op in ops {
        let mut fig = Figure::new(
            format!(
                "compare-cgroup-ops-{}",
                op.trim_end_matches("_latency").replace('_', "-")
            ),
            format!(
                "cgroup {} latency against sibling cgroups, per run",
                op_name(&op)
            ),
            OPS,
            siblings_axis(&counts),
            Axis::log("latency", Unit::Ns),
        );
        for (i, (label, cases)) in per_run.iter().enumerate() {
            let style = Style::line(palette(i));
            if op_lines(&mut fig, cases, &op, style) {
                fig.entry(*label, Swatch::Line(style.marker(Marker::Dot)));
            }
        }
        fig.entry("solid: p50, dashed: p99", Swatch::Note);
        if fig.has_data() {
            fig.fit();
            out.push(fig);
        }
    }
    out
}
