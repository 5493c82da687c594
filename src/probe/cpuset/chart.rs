//! Cpuset charts: where each spinner thread ran over time, and how long a cpuset
//! change took to reach every thread.

use std::collections::BTreeMap;

use super::PROBE as CPUSET;
use crate::chart::data::{cases, cpus, series, summary, value};
use crate::chart::figure::{palette, Axis, Figure, Layer, Marker, Style, Swatch, Unit, GREEN_TINT};
use crate::record::{CaseResult, Run};

/// Most CPU changes of one thread a placement chart shows.
const MAX_MOVES: usize = 60;

/// `cpuset-placement-<case>`: the CPU of each spinner thread over time, from the
/// probe's record of each thread's CPU changes (`trace_thread`, `trace_time`,
/// `trace_cpu`; `move_*` in folders written before the rename); a long trace only
/// up to [`MAX_MOVES`] changes of one thread.
pub(super) fn placement_chart(c: &CaseResult) -> Option<Figure> {
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
    let allowed = c.config_str("cpus").and_then(cpus).unwrap_or_default();
    let move_to = c.config_str("move_to").and_then(cpus);
    let last_move = t.values.iter().copied().max().unwrap_or(0);
    let full_end = match (
        &move_to,
        c.config::<std::time::Duration>("duration")
            .map(|d| d.as_nanos() as u64),
    ) {
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
            c.config_str("cpus").unwrap_or("?"),
            crate::cpulist::CpuList::new(to.iter().copied())
        ),
        (None, Some(pct)) => format!(
            "cpuset {}: CPU per thread ({pct}% of samples on CPUs {})",
            c.case,
            c.config_str("cpus").unwrap_or("?")
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
pub(super) fn migrate_chart(run: &Run) -> Option<Figure> {
    let mut fig = Figure::new(
        "cpuset-migrate-latency",
        "cpuset change: time until every thread ran on the new CPUs",
        CPUSET,
        Axis::linear("cpuset change", Unit::Count),
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
