//! Charts of the `cpu_quota` probe (achieved against configured quota) and of
//! the `cpuset` probe (where each thread ran over time, migration latency).

use std::collections::BTreeMap;

use crate::probe::cpu::QUOTA;
use crate::probe::cpuset::PROBE as CPUSET;
use crate::record::{CaseResult, Run};

use super::data::{
    cases, config_f64, config_ns, config_str, config_u64, cpus, series, summary, value,
};
use super::figure::{
    number, palette, Axis, Figure, Layer, Marker, Style, Swatch, Unit, GRAY, GREEN_TINT,
};

/// Every chart of one run.
pub(crate) fn figures(run: &Run) -> Vec<Figure> {
    let mut out = Vec::new();
    out.extend(quota_chart(run));
    out.extend(quota_error_chart(run));
    for c in cases(run, CPUSET) {
        out.extend(placement_chart(c));
    }
    out.extend(migrate_chart(run));
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
            let configured = match (config_ns(c, "quota"), config_ns(c, "period")) {
                (Some(q), Some(p)) if p > 0 => q as f64 / p as f64 * 100.0,
                _ => expected?,
            };
            let fibtest =
                config_u64(c, "idle_threads").is_some_and(|n| n > 0) || c.case == "fibtest";
            Some(QuotaPoint {
                configured,
                achieved,
                expected,
                group: (
                    fibtest,
                    config_ns(c, "period").unwrap_or(0),
                    config_u64(c, "threads").unwrap_or(0),
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
    cases(run, QUOTA).find_map(|c| config_f64(c, "tolerance_pct"))
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
pub(crate) fn compare(runs: &[(String, Run)]) -> Vec<Figure> {
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

/// Most CPU changes of one thread a placement chart shows.
const MAX_MOVES: usize = 60;

/// `cpuset-placement-<case>`: the CPU of each spinner thread over time, from the
/// probe's record of each thread's CPU changes (`trace_thread`, `trace_time`,
/// `trace_cpu`; `move_*` in folders written before the rename); a long trace only
/// up to [`MAX_MOVES`] changes of one thread.
fn placement_chart(c: &CaseResult) -> Option<Figure> {
    let either = |now: &str, before: &str| series(c, now).or_else(|| series(c, before));
    let (Some(th), Some(t), Some(cpu)) = (
        either("trace_thread", "move_thread"),
        either("trace_time", "move_time"),
        either("trace_cpu", "move_cpu"),
    ) else {
        return None;
    };
    let mut per_thread: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    for ((th, t), cpu) in th.values.iter().zip(&t.values).zip(&cpu.values) {
        per_thread.entry(*th).or_default().push((*t, *cpu));
    }
    let allowed = config_str(c, "cpus").and_then(cpus).unwrap_or_default();
    let move_to = config_str(c, "move_to").and_then(cpus);
    let last_move = t.values.iter().copied().max().unwrap_or(0);
    let full_end = match (&move_to, config_ns(c, "duration")) {
        (None, Some(d)) => d.max(last_move),
        _ => last_move,
    };
    // A long trace is shown up to the busiest thread's MAX_MOVES-th change:
    // past that the steps merge into a block.
    let end = per_thread
        .values_mut()
        .filter(|m| m.len() > MAX_MOVES)
        .map(|m| {
            m.sort_unstable();
            m[MAX_MOVES].0
        })
        .min()
        .unwrap_or(full_end);
    for m in per_thread.values_mut() {
        m.retain(|(t, _)| *t <= end);
    }
    let max_cpu = cpu
        .values
        .iter()
        .copied()
        .chain(allowed.iter().map(|c| *c as u64))
        .chain(move_to.iter().flatten().map(|c| *c as u64))
        .max()
        .unwrap_or(0);
    let names = (0..=max_cpu).map(|c| format!("CPU {c}")).collect();
    let title = match (&move_to, value(c, "on_allowed_pct")) {
        (Some(to), _) => format!(
            "cpuset {}: CPU per thread, cpuset.cpus alternating {} ↔ {}",
            c.case,
            config_str(c, "cpus").unwrap_or("?"),
            crate::cpulist::CpuList::new(to.iter().copied())
        ),
        (None, Some(pct)) => format!(
            "cpuset {}: CPU per thread ({pct}% of samples on CPUs {})",
            c.case,
            config_str(c, "cpus").unwrap_or("?")
        ),
        (None, None) => format!("cpuset {}: CPU per thread over time", c.case),
    };
    let title = if end < full_end {
        format!(
            "{title}, first {} of {}",
            Unit::Ns.human(end as f64),
            Unit::Ns.human(full_end as f64)
        )
    } else {
        title
    };
    let mut fig = Figure::new(
        format!("cpuset-placement-{}", c.case),
        title,
        CPUSET,
        Axis::linear("time since the spinners started", Unit::Ns).range(0.0, end.max(1) as f64),
        Axis::categories("CPU", names),
    );
    if move_to.is_none() && !allowed.is_empty() {
        for a in &allowed {
            fig.layer(Layer::Band {
                x: None,
                y: (*a as f64 - 0.45, *a as f64 + 0.45),
                color: GREEN_TINT,
            });
        }
        fig.entry("allowed (cpuset.cpus)", Swatch::Band(GREEN_TINT));
    }
    let n = per_thread.len();
    // Threads on the same CPU drawn a little apart, so each stays visible.
    let spread = (0.4 / n.max(1) as f64).min(0.2);
    for (k, (thread, mut moves)) in per_thread.into_iter().enumerate() {
        moves.sort_unstable();
        let off = (k as f64 - (n as f64 - 1.0) / 2.0) * spread;
        let mut pts = Vec::with_capacity(moves.len() * 2 + 1);
        let mut prev: Option<f64> = None;
        for (t, cpu) in &moves {
            let y = *cpu as f64 + off;
            if let Some(p) = prev {
                pts.push((*t as f64, p));
            }
            pts.push((*t as f64, y));
            prev = Some(y);
        }
        if let Some(y) = prev {
            pts.push((end as f64, y));
        }
        let style = Style::line(palette(k));
        fig.line(pts, style);
        fig.entry(format!("thread {thread}"), Swatch::Line(style));
    }
    fig.fit();
    Some(fig)
}

/// `cpuset-migrate-latency`: per cpuset change of the `move-*` cases, how long
/// until every thread had run on the new set.
fn migrate_chart(run: &Run) -> Option<Figure> {
    let mut fig = Figure::new(
        "cpuset-migrate-latency",
        "cpuset change: time until every thread ran on the new CPUs",
        CPUSET,
        Axis::linear("cpuset change", Unit::Plain),
        Axis::linear("latency", Unit::Ns).zero_based(),
    );
    for (i, c) in cases(run, CPUSET).enumerate() {
        let Some(s) = series(c, "migrate_latency") else {
            continue;
        };
        let style = Style::line(palette(i)).marker(Marker::Dot);
        fig.line(
            s.values
                .iter()
                .enumerate()
                .map(|(k, v)| ((k + 1) as f64, *v as f64))
                .collect(),
            style,
        );
        let p50 = summary(c, "migrate_latency").map_or(0, |s| s.p50);
        fig.entry(
            format!("{} (p50 {})", c.case, Unit::Ns.human(p50 as f64)),
            Swatch::Line(style),
        );
    }
    fig.has_data().then(|| {
        fig.fit();
        fig
    })
}
