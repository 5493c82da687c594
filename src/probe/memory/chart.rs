//! Charts of the `memory` probe: memory touched over time up to `memory.max`
//! and the kill (from the per-MiB trace), and peak against the limit per case.

use super::PROBE as MEMORY;
use crate::record::{CaseResult, Run};

use crate::chart::data::{cases, series, value};
use crate::chart::figure::{
    palette, Axis, BarGroups, Figure, Layer, Marker, Rgb, Style, Swatch, Unit, GRAY, INK,
};

/// Every chart of one run.
pub(super) fn figures(run: &Run) -> Vec<Figure> {
    let mem: Vec<&CaseResult> = cases(run, MEMORY).collect();
    // Usage charts per limit (`above-64MiB` → `64MiB`), smallest limit first.
    let mut limits: Vec<(u64, String)> =
        mem.iter().map(|c| (limit_of(c), limit_label(c))).collect();
    limits.sort();
    limits.dedup();
    let mut out: Vec<Figure> = limits
        .iter()
        .filter_map(|(_, l)| {
            let group: Vec<&CaseResult> = mem
                .iter()
                .copied()
                .filter(|c| limit_label(c) == *l)
                .collect();
            usage_chart(l, &group)
        })
        .collect();
    out.extend(peak_chart(&mem));
    out
}

/// What the case does: `below`, `above`, `killed`, `high`.
fn kind(c: &CaseResult) -> &str {
    c.config_str("kind")
        .unwrap_or_else(|| c.case.split('-').next().unwrap_or(""))
}

fn limit_of(c: &CaseResult) -> u64 {
    c.config::<u64>("limit_bytes")
        .or_else(|| value(c, "limit_bytes"))
        .unwrap_or(0)
}

/// The limit part of the case id, used in chart ids.
fn limit_label(c: &CaseResult) -> String {
    match c.case.split_once('-') {
        Some((_, l)) if !l.is_empty() => l.to_string(),
        _ => Unit::Bytes.human(limit_of(c) as f64).replace(' ', ""),
    }
}

fn kind_color(kind: &str, i: usize) -> Rgb {
    match kind {
        "below" => palette(2),
        "above" => palette(3),
        "killed" => palette(1),
        "high" => palette(4),
        _ => palette(i),
    }
}

/// How the worker ended, for the marker: an OOM kill (SIGKILL and the counter
/// moved), the harness's SIGKILL, or nothing.
fn ending(c: &CaseResult) -> Option<&'static str> {
    if value(c, "oom_killed") == Some(1) {
        Some("OOM kill")
    } else if kind(c) == "killed" {
        Some("SIGKILL (harness)")
    } else {
        None
    }
}

/// `memory-usage-<limit>`: memory touched over time, from `trace_time` (ns since
/// the worker started) and `trace_touched` (bytes), one line per case, with
/// memory.max (`limit_bytes`), memory.high (`high_bytes`, if recorded) and the
/// kill marked (at the last trace point plus `time_to_kill`). `None` when no
/// case has the trace.
fn usage_chart(label: &str, group: &[&CaseResult]) -> Option<Figure> {
    let mut fig = Figure::new(
        format!("memory-usage-{label}"),
        format!("Memory touched over time, memory.max {label}: up to the limit and the kill"),
        MEMORY,
        Axis::linear("time since the worker started", Unit::Ns).zero_based(),
        Axis::linear("memory touched", Unit::Bytes).zero_based(),
    );
    let mut limits: Vec<u64> = Vec::new();
    let mut highs: Vec<u64> = Vec::new();
    for (i, c) in group.iter().enumerate() {
        let (Some(t), Some(b)) = (series(c, "trace_time"), series(c, "trace_touched")) else {
            continue;
        };
        let pts: Vec<(f64, f64)> = t
            .values
            .iter()
            .zip(&b.values)
            .map(|(t, b)| (*t as f64, *b as f64))
            .collect();
        let Some(&(t_last, b_last)) = pts.last() else {
            continue;
        };
        let style = Style::line(kind_color(kind(c), i));
        fig.line(pts, style);
        let peak = value(c, "peak_bytes")
            .map(|p| format!(" (peak {})", Unit::Bytes.human(p as f64)))
            .unwrap_or_default();
        fig.entry(format!("{}{peak}", c.case), Swatch::Line(style));
        for (metric, seen) in [("limit_bytes", &mut limits), ("high_bytes", &mut highs)] {
            if let Some(l) = value(c, metric) {
                if !seen.contains(&l) {
                    seen.push(l);
                }
            }
        }
        if let Some(what) = ending(c) {
            let at = (
                t_last + value(c, "time_to_kill").unwrap_or(0) as f64,
                b_last,
            );
            let s = Style::points(style.color, Marker::Cross);
            fig.line(vec![at], s);
            fig.layer(Layer::Label {
                at,
                text: what.into(),
                centred: false,
            });
        }
    }
    if !fig.has_data() {
        return None;
    }
    for l in limits {
        let s = Style::line(INK).dashed().thin();
        fig.layer(Layer::HLine {
            y: l as f64,
            style: s,
        });
        fig.entry(
            format!("memory.max {}", Unit::Bytes.human(l as f64)),
            Swatch::Line(s),
        );
    }
    for h in highs {
        let s = Style::line(GRAY).dotted();
        fig.layer(Layer::HLine {
            y: h as f64,
            style: s,
        });
        fig.entry(
            format!("memory.high {}", Unit::Bytes.human(h as f64)),
            Swatch::Line(s),
        );
    }
    fig.entry("×: the worker was killed", Swatch::Note);
    fig.fit();
    Some(fig)
}

/// `memory-peak`: per case, memory.max, the peak charge and the bytes touched.
fn peak_chart(mem: &[&CaseResult]) -> Option<Figure> {
    let measured: Vec<&CaseResult> = mem
        .iter()
        .copied()
        .filter(|c| value(c, "limit_bytes").is_some() || value(c, "touched_bytes").is_some())
        .collect();
    if measured.is_empty() {
        return None;
    }
    let names = measured.iter().map(|c| c.case.clone()).collect();
    let mut fig = Figure::new(
        "memory-peak",
        "Memory per case: memory.max, peak charge and bytes touched",
        MEMORY,
        Axis::categories("case", names),
        Axis::linear("memory", Unit::Bytes).zero_based(),
    );
    let metrics = ["limit_bytes", "peak_bytes", "touched_bytes"];
    let colors = [GRAY, palette(0), palette(1)];
    let groups: BarGroups = measured
        .iter()
        .map(|c| {
            metrics
                .iter()
                .map(|m| value(c, m).map(|v| (v as f64, None)))
                .collect()
        })
        .collect();
    fig.bars(&groups, &colors);
    for (g, c) in measured.iter().enumerate() {
        if let Some(what) = ending(c) {
            let top = metrics
                .iter()
                .filter_map(|m| value(c, m))
                .max()
                .unwrap_or(0);
            fig.layer(Layer::Label {
                at: (g as f64, top as f64),
                text: what.replace(" (harness)", ""),
                centred: true,
            });
        }
    }
    for (label, c) in ["memory.max", "peak charge", "touched"]
        .into_iter()
        .zip(colors)
    {
        fig.entry(label, Swatch::Bar(c));
    }
    fig.fit();
    Some(fig)
}
