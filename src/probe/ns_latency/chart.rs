//! Charts of the `ns_latency` probe: latency CDFs per namespace kind, p50/p99
//! per method, latency against the number of parallel workers, and their
//! comparison across runs.

use super::PROBE;
use crate::ns::NsKind;
use crate::record::{CaseResult, Run};

use crate::chart::data::{cases, cdf, series, summary};
use crate::chart::figure::{
    palette, Axis, BarGroups, Dash, Figure, Marker, Rgb, Style, Swatch, Unit, INK,
};

/// The methods, in the order charts show them.
pub(crate) const METHODS: [&str; 3] = ["clone", "unshare", "setns"];

/// One latency case: `<kind>-<method>` or `<kind>-<method>-c<N>`.
pub(crate) struct NsRow<'a> {
    pub kind: String,
    pub method: &'static str,
    pub workers: u32,
    pub case: &'a CaseResult,
}

/// The latency cases of a run (noop and the isolation checks left out). Kind,
/// method and workers come from the case's config, or from its id for a config
/// that lacks them.
pub(crate) fn ns_cases(run: &Run) -> Vec<NsRow<'_>> {
    cases(run, PROBE)
        .filter_map(|c| {
            let mut parts = c.case.split('-');
            let (id_kind, id_method) = (parts.next(), parts.next());
            let id_workers = parts
                .next()
                .and_then(|p| p.strip_prefix('c'))
                .and_then(|n| n.parse().ok());
            let kind = c.config_str("kind").or(id_kind)?.to_string();
            let method = c.config_str("method").or(id_method)?;
            let method = METHODS.into_iter().find(|m| *m == method)?;
            let workers = c
                .config::<u64>("workers")
                .map(|w| w as u32)
                .or(id_workers)
                .unwrap_or(1);
            Some(NsRow {
                kind,
                method,
                workers,
                case: c,
            })
        })
        .collect()
}

/// Position of a kind in the order charts use: the `none` baseline first, then
/// the kernel's kinds as the probe lists them, then unknown kinds.
fn kind_rank(kind: &str) -> usize {
    if kind == NsKind::None.to_string() {
        return 0;
    }
    NsKind::EVERY
        .iter()
        .filter(|k| **k != NsKind::None)
        .position(|k| k.to_string() == kind)
        .map_or(NsKind::EVERY.len(), |p| p + 1)
}

/// The kinds present, in chart order.
fn kinds<'a>(cases: impl IntoIterator<Item = &'a NsRow<'a>>) -> Vec<String> {
    let mut k: Vec<String> = cases.into_iter().map(|c| c.kind.clone()).collect();
    k.sort_by(|a, b| kind_rank(a).cmp(&kind_rank(b)).then(a.cmp(b)));
    k.dedup();
    k
}

/// A kind's colour, the same in every chart: the baseline is dark.
fn kind_color(kind: &str) -> Rgb {
    match kind_rank(kind) {
        0 => INK,
        r => palette(r - 1),
    }
}

fn method_dash(method: &str) -> Dash {
    match method {
        "clone" => Dash::Solid,
        "unshare" => Dash::Dashed,
        _ => Dash::Dotted,
    }
}

fn method_color(method: &str) -> Rgb {
    palette(METHODS.iter().position(|m| *m == method).unwrap_or(0))
}

fn find<'a>(
    cases: &'a [NsRow<'a>],
    kind: &str,
    method: &str,
    workers: u32,
) -> Option<&'a NsRow<'a>> {
    cases
        .iter()
        .find(|c| c.kind == kind && c.method == method && c.workers == workers)
}

/// Every chart of one run.
pub(super) fn figures(run: &Run) -> Vec<Figure> {
    let cases = ns_cases(run);
    let mut out = Vec::new();
    for m in METHODS {
        out.extend(cdf_chart(&cases, m));
    }
    out.extend(methods_chart(&cases));
    for m in METHODS {
        out.extend(concurrency_chart(&cases, m));
    }
    out
}

/// `ns-latency-cdf-<method>`: one line per kind, serial cases.
fn cdf_chart(cases: &[NsRow<'_>], method: &str) -> Option<Figure> {
    let mut fig = Figure::new(
        format!("ns-latency-cdf-{method}"),
        format!("Namespace latency with {method}: CDF per kind (1 worker)"),
        PROBE,
        Axis::log("latency", Unit::Ns),
        Axis::linear("fraction of operations", Unit::Count).range(0.0, 1.0),
    );
    for kind in kinds(
        cases
            .iter()
            .filter(|c| c.method == method && c.workers == 1),
    ) {
        let Some(c) = find(cases, &kind, method, 1) else {
            continue;
        };
        let Some(s) = series(c.case, "latency") else {
            continue;
        };
        let style = Style::line(kind_color(&kind));
        fig.line(cdf(&s.values), style);
        let p50 = summary(c.case, "latency").map_or(0, |s| s.p50);
        fig.entry(
            format!("{kind} (p50 {})", Unit::Ns.human(p50 as f64)),
            Swatch::Line(style),
        );
    }
    fig.has_data().then(|| {
        fig.fit();
        fig
    })
}

/// A bar's value and whisker: p50 and p99 of the latency.
fn p50_p99(c: &CaseResult) -> Option<(f64, Option<f64>)> {
    summary(c, "latency").map(|s| (s.p50 as f64, Some(s.p99 as f64)))
}

/// `ns-latency-methods`: for each kind, p50 (bar) and p99 (whisker) of each method.
fn methods_chart(cases: &[NsRow<'_>]) -> Option<Figure> {
    let serial: Vec<&NsRow<'_>> = cases.iter().filter(|c| c.workers == 1).collect();
    let kinds = kinds(serial.iter().copied());
    let methods: Vec<&str> = METHODS
        .into_iter()
        .filter(|m| serial.iter().any(|c| c.method == *m))
        .collect();
    let groups: BarGroups = kinds
        .iter()
        .map(|k| {
            methods
                .iter()
                .map(|m| find(cases, k, m, 1).and_then(|c| p50_p99(c.case)))
                .collect()
        })
        .collect();
    let mut fig = Figure::new(
        "ns-latency-methods",
        "Namespace latency by method: p50 (bar), p99 (whisker), 1 worker",
        PROBE,
        Axis::categories("namespace kind", kinds.clone()),
        Axis::log("latency", Unit::Ns),
    );
    let colors: Vec<Rgb> = methods.iter().map(|m| method_color(m)).collect();
    fig.bars(&groups, &colors);
    for m in &methods {
        fig.entry(*m, Swatch::Bar(method_color(m)));
    }
    fig.entry("bar: p50, whisker: p99", Swatch::Note);
    fig.has_data().then(|| {
        fig.fit();
        fig
    })
}

/// `ns-latency-concurrency-<method>`: p50 against the number of parallel
/// workers, one line per kind; only when there are two levels or more. (p99
/// lines made it unreadable; the tails are in the CDFs and the summary.)
fn concurrency_chart(cases: &[NsRow<'_>], method: &str) -> Option<Figure> {
    let mine: Vec<&NsRow<'_>> = cases.iter().filter(|c| c.method == method).collect();
    let mut levels: Vec<u32> = mine.iter().map(|c| c.workers).collect();
    levels.sort_unstable();
    levels.dedup();
    if levels.len() < 2 {
        return None;
    }
    let ticks: Vec<f64> = levels.iter().map(|l| *l as f64).collect();
    // Doublings evenly spaced.
    let x = if levels[levels.len() - 1] >= 4 * levels[0].max(1) {
        Axis::log("parallel workers", Unit::Count)
    } else {
        Axis::linear("parallel workers", Unit::Count)
    };
    let mut fig = Figure::new(
        format!("ns-latency-concurrency-{method}"),
        format!("Namespace latency with {method}: p50 against parallel workers"),
        PROBE,
        x.ticks(ticks),
        Axis::log("p50 latency per operation", Unit::Ns),
    );
    for kind in kinds(mine.iter().copied()) {
        let pts: Vec<(f64, f64)> = levels
            .iter()
            .filter_map(|l| {
                let c = find(cases, &kind, method, *l)?;
                Some((*l as f64, summary(c.case, "latency")?.p50 as f64))
            })
            .collect();
        if pts.is_empty() {
            continue;
        }
        let style = Style::line(kind_color(&kind)).marker(Marker::Dot);
        fig.line(pts, style);
        fig.entry(kind, Swatch::Line(style));
    }
    fig.has_data().then(|| {
        fig.fit();
        fig
    })
}

/// Comparison charts: per kind a CDF with one line per run and method, and per
/// method p50/p99 bars with one bar per run.
pub(super) fn compare(runs: &[(String, Run)]) -> Vec<Figure> {
    let per_run: Vec<(&str, Vec<NsRow<'_>>)> = runs
        .iter()
        .map(|(l, r)| (l.as_str(), ns_cases(r)))
        .collect();
    let all_kinds = kinds(per_run.iter().flat_map(|(_, c)| c.iter()));
    let mut out = Vec::new();
    for kind in &all_kinds {
        let mut fig = Figure::new(
            format!("compare-ns-latency-cdf-{kind}"),
            format!("Namespace {kind}: latency CDF per run and method (1 worker)"),
            PROBE,
            Axis::log("latency", Unit::Ns),
            Axis::linear("fraction of operations", Unit::Count).range(0.0, 1.0),
        );
        for (i, (label, cases)) in per_run.iter().enumerate() {
            for m in METHODS {
                let Some(s) = find(cases, kind, m, 1).and_then(|c| series(c.case, "latency"))
                else {
                    continue;
                };
                let style = Style::line(palette(i)).dash(method_dash(m));
                fig.line(cdf(&s.values), style);
                fig.entry(format!("{label} · {m}"), Swatch::Line(style));
            }
        }
        if fig.has_data() {
            fig.fit();
            out.push(fig);
        }
    }
    for m in METHODS {
        // Runs with this method only, each keeping its colour.
        let with: Vec<(usize, &str, &Vec<NsRow<'_>>)> = per_run
            .iter()
            .enumerate()
            .filter(|(_, (_, cases))| cases.iter().any(|c| c.method == m && c.workers == 1))
            .map(|(i, (l, c))| (i, *l, c))
            .collect();
        let kinds = kinds(
            with.iter()
                .flat_map(|(_, _, c)| c.iter().filter(|c| c.method == m)),
        );
        let groups: BarGroups = kinds
            .iter()
            .map(|k| {
                with.iter()
                    .map(|(_, _, cases)| find(cases, k, m, 1).and_then(|c| p50_p99(c.case)))
                    .collect()
            })
            .collect();
        let mut fig = Figure::new(
            format!("compare-ns-latency-{m}"),
            format!("Namespace latency with {m} per run: p50 (bar), p99 (whisker)"),
            PROBE,
            Axis::categories("namespace kind", kinds),
            Axis::log("latency", Unit::Ns),
        );
        let colors: Vec<Rgb> = with.iter().map(|(i, _, _)| palette(*i)).collect();
        fig.bars(&groups, &colors);
        for (i, label, _) in &with {
            fig.entry(*label, Swatch::Bar(palette(*i)));
        }
        fig.entry("bar: p50, whisker: p99", Swatch::Note);
        if fig.has_data() {
            fig.fit();
            out.push(fig);
        }
    }
    out
}
