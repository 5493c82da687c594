//! Charts of the `cpu_quota` probe: achieved against configured quota, and the
//! error per case, of one run and of several.

use std::collections::BTreeMap;

use super::PROBE as QUOTA;
use crate::record::Run;

use crate::chart::data::{cases, value};
use crate::chart::figure::{
    number, palette, Axis, Figure, Layer, Marker, Style, Swatch, Unit, GRAY, GREEN_TINT,
};

/// Every chart of one run.
pub(super) fn figures(run: &Run) -> Vec<Figure> {
    let mut out = Vec::new();
    out.extend(quota_chart(run));
    out.extend(quota_error_chart(run));
    out
}

/// One cpu_quota case, in percent of one CPU.
struct QuotaPoint {
    /// quota / period.
    configured: f64,
    achieved: f64,
    /// What the kernel should give (the quota, or less when fewer threads run).
    expected: Option<f64>,
    /// Legend group: (fibtest last, period, threads).
    group: (bool, u64, u64),
}

fn quota_points(run: &Run) -> Vec<QuotaPoint> {
    cases(run, QUOTA)
        .filter_map(|c| {
            let pct = |m: &str| value(c, m).map(|v| v as f64 / 100.0);
            let achieved = pct("achieved_pct")?;
            let expected = pct("expected_pct");
            let configured = match (
                c.config::<std::time::Duration>("quota")
                    .map(|d| d.as_nanos() as u64),
                c.config::<std::time::Duration>("period")
                    .map(|d| d.as_nanos() as u64),
            ) {
                (Some(q), Some(p)) if p > 0 => q as f64 / p as f64 * 100.0,
                _ => expected?,
            };
            let fibtest =
                c.config::<u64>("idle_threads").is_some_and(|n| n > 0) || c.case == "fibtest";
            Some(QuotaPoint {
                configured,
                achieved,
                expected,
                group: (
                    fibtest,
                    c.config::<std::time::Duration>("period")
                        .map(|d| d.as_nanos() as u64)
                        .unwrap_or(0),
                    c.config::<u64>("threads").unwrap_or(0),
                ),
            })
        })
        .collect()
}

fn group_label((fibtest, period, threads): (bool, u64, u64)) -> String {
    let t = if threads == 1 { "thread" } else { "threads" };
    if fibtest {
        format!("fibtest ({threads} busy {t} + idle threads)")
    } else if period == 0 {
        format!("{threads} {t}")
    } else {
        format!("period {}, {threads} {t}", Unit::Ns.human(period as f64))
    }
}

/// Markers that stay visible on top of each other: a dot inside a ring, a cross
/// over both.
const OVERLAY: [Marker; 4] = [Marker::Ring, Marker::Dot, Marker::Cross, Marker::Triangle];

fn threads_marker(threads: u64) -> Marker {
    OVERLAY[(threads.max(1) as usize - 1).min(OVERLAY.len() - 1)]
}

/// Both axes of an achieved-against-configured chart: log, the same range, so
/// the ideal line is the diagonal; returns the axes and the range.
fn quota_axes(values: impl IntoIterator<Item = f64>) -> (Axis, Axis, (f64, f64)) {
    let mut x = Axis::log("configured quota (quota / period)", Unit::Pct);
    x.fit(values);
    let r = x.data_range();
    let y = Axis::log("achieved CPU (% of one CPU)", Unit::Pct).range(r.0, r.1);
    (x, y, r)
}

/// The ideal line and the tolerance lines of an achieved-against-configured
/// chart whose axes span `lo..hi`.
fn ideal_lines(fig: &mut Figure, (lo, hi): (f64, f64), tol: Option<f64>) {
    let ideal = Style::line(GRAY).thin();
    fig.line(vec![(lo, lo), (hi, hi)], ideal);
    fig.entry("ideal: achieved = configured", Swatch::Line(ideal));
    if let Some(t) = tol {
        let s = Style::line(GRAY).dotted().thin();
        // A tolerance of 100 % or more has no lower line (y = 0 on a log axis).
        for f in [1.0 + t / 100.0, 1.0 - t / 100.0]
            .into_iter()
            .filter(|f| *f > 0.0)
        {
            // y = f·x, clipped to the square.
            let (a, b) = ((lo / f).max(lo), (hi / f).min(hi));
            fig.line(vec![(a, a * f), (b, b * f)], s);
        }
        fig.entry(format!("±{}% tolerance", number(t)), Swatch::Line(s));
    }
}

fn tolerance(run: &Run) -> Option<f64> {
    cases(run, QUOTA).find_map(|c| c.config::<f64>("tolerance_pct"))
}

/// `cpu-quota`: achieved CPU against the configured quota.
fn quota_chart(run: &Run) -> Option<Figure> {
    let pts = quota_points(run);
    if pts.is_empty() {
        return None;
    }
    let (x, y, range) = quota_axes(pts.iter().flat_map(|p| [p.configured, p.achieved]));
    let mut fig = Figure::new(
        "cpu-quota",
        "CPU quota: achieved against configured (cgroup usage over whole periods)",
        QUOTA,
        x,
        y,
    );
    ideal_lines(&mut fig, range, tolerance(run));
    for (i, (g, points)) in groups(&pts).into_iter().enumerate() {
        let style = Style::points(palette(i), threads_marker(g.2));
        fig.line(
            points.iter().map(|p| (p.configured, p.achieved)).collect(),
            style,
        );
        fig.entry(group_label(g), Swatch::Line(style));
    }
    // Where the threads cannot use the whole quota, the kernel owes less.
    let capped: Vec<(f64, f64)> = pts
        .iter()
        .filter_map(|p| {
            let e = p.expected?;
            ((e - p.configured).abs() > p.configured * 0.02).then_some((p.configured, e))
        })
        .collect();
    if !capped.is_empty() {
        let s = Style::points(GRAY, Marker::Cross);
        fig.line(capped, s);
        fig.entry("expected (capped by the threads)", Swatch::Line(s));
    }
    Some(fig)
}

/// The cases grouped for the legend, in a fixed order.
fn groups(pts: &[QuotaPoint]) -> BTreeMap<(bool, u64, u64), Vec<&QuotaPoint>> {
    let mut groups: BTreeMap<(bool, u64, u64), Vec<&QuotaPoint>> = BTreeMap::new();
    for p in pts {
        groups.entry(p.group).or_default().push(p);
    }
    groups
}

/// The signed error of a case against what the kernel owed, in percent.
fn error_pct(p: &QuotaPoint) -> f64 {
    let owed = p.expected.unwrap_or(p.configured);
    let e = (p.achieved - owed) / owed * 100.0;
    // Nothing owed (an empty record): no error to draw rather than an infinite one.
    if e.is_finite() {
        e
    } else {
        0.0
    }
}

/// Series `k` of `n` drawn at `x` moved a little sideways (on a log axis), so
/// points of different series at the same x stay apart.
fn dodge(x: f64, k: usize, n: usize) -> f64 {
    x * 10f64.powf(0.02 * (k as f64 - (n as f64 - 1.0) / 2.0))
}

/// An error chart: the y axis symmetric around 0 and the tolerance shaded.
fn error_figure(
    id: &str,
    title: &str,
    errors: impl Iterator<Item = f64>,
    configured: impl Iterator<Item = f64>,
    tol: Option<f64>,
) -> Figure {
    let t = tol.unwrap_or(0.0);
    let m = errors.map(f64::abs).fold(t, f64::max).max(1.0) * 1.15;
    let mut x = Axis::log("configured quota (quota / period)", Unit::Pct);
    x.fit(configured.flat_map(|c| [c * 0.85, c * 1.15]));
    let mut fig = Figure::new(
        id,
        title,
        QUOTA,
        x,
        Axis::linear("error, achieved − expected", Unit::Pct).range(-m, m),
    );
    if t > 0.0 {
        fig.layer(Layer::Band {
            x: None,
            y: (-t, t),
            color: GREEN_TINT,
        });
        fig.entry(
            format!("within ±{}% tolerance", number(t)),
            Swatch::Band(GREEN_TINT),
        );
    }
    fig.layer(Layer::HLine {
        y: 0.0,
        style: Style::line(GRAY).thin(),
    });
    fig
}

/// `cpu-quota-error`: per case, how far the achieved CPU is from what the
/// kernel owed (the quota, or less when fewer threads ran), against the quota.
fn quota_error_chart(run: &Run) -> Option<Figure> {
    let pts = quota_points(run);
    if pts.is_empty() {
        return None;
    }
    let mut fig = error_figure(
        "cpu-quota-error",
        "CPU quota: error of the achieved CPU against the expected, per case",
        pts.iter().map(error_pct),
        pts.iter().map(|p| p.configured),
        tolerance(run),
    );
    let groups = groups(&pts);
    let n = groups.len();
    for (i, (g, points)) in groups.into_iter().enumerate() {
        let style = Style::points(palette(i), threads_marker(g.2));
        fig.line(
            points
                .iter()
                .map(|p| (dodge(p.configured, i, n), error_pct(p)))
                .collect(),
            style,
        );
        fig.entry(group_label(g), Swatch::Line(style));
    }
    Some(fig)
}

/// `compare-cpu-quota` and `compare-cpu-quota-error`: achieved against
/// configured, and the error, one colour per run (runs without the probe left out).
pub(super) fn compare(runs: &[(String, Run)]) -> Vec<Figure> {
    // (run index, label, points, tolerance): a run keeps its colour in every chart.
    let per_run: Vec<(usize, &str, Vec<QuotaPoint>, Option<f64>)> = runs
        .iter()
        .enumerate()
        .map(|(i, (l, r))| (i, l.as_str(), quota_points(r), tolerance(r)))
        .filter(|(_, _, p, _)| !p.is_empty())
        .collect();
    if per_run.is_empty() {
        return Vec::new();
    }
    let all = per_run
        .iter()
        .flat_map(|(_, _, p, _)| p.iter().flat_map(|p| [p.configured, p.achieved]));
    let (x, y, range) = quota_axes(all);
    let tol = per_run.iter().find_map(|(_, _, _, t)| *t);
    let mut fig = Figure::new(
        "compare-cpu-quota",
        "CPU quota per run: achieved against configured",
        QUOTA,
        x,
        y,
    );
    ideal_lines(&mut fig, range, tol);
    let mut err = error_figure(
        "compare-cpu-quota-error",
        "CPU quota per run: error of the achieved CPU against the expected",
        per_run
            .iter()
            .flat_map(|(_, _, p, _)| p.iter().map(error_pct)),
        per_run
            .iter()
            .flat_map(|(_, _, p, _)| p.iter().map(|p| p.configured)),
        tol,
    );
    let n = per_run.len();
    for (k, (i, label, pts, _)) in per_run.iter().enumerate() {
        let style = Style::points(palette(*i), OVERLAY[*i % OVERLAY.len()]);
        fig.line(
            pts.iter().map(|p| (p.configured, p.achieved)).collect(),
            style,
        );
        fig.entry(*label, Swatch::Line(style));
        err.line(
            pts.iter()
                .map(|p| (dodge(p.configured, k, n), error_pct(p)))
                .collect(),
            style,
        );
        err.entry(*label, Swatch::Line(style));
    }
    vec![fig, err]
}
